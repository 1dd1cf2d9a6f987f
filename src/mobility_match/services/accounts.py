"""Accounts, sign-in, sessions, API tokens and student invitations.

Staff sign in with a password; each sign-in opens a server-side session whose
token is shown once and stored hashed, so signing out really ends it. API
tokens are the same kind of credential, named and long-lived. Students have no
password: a coordinator or teacher sends an invitation link, single-use and
expiring, that opens a session.

Failed sign-ins are rows of `login_attempt`, so the limit on password guessing
holds across worker processes. Nothing here puts a password or a token in an
audit event, a log or an error message.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.models import (
    Account,
    Credential,
    CredentialKind,
    LoginAttempt,
    Partner,
    Role,
    School,
    Student,
    utcnow,
)
from mobility_match.security import (
    hash_password,
    new_token,
    password_problem,
    token_hash,
    verify_password,
)
from mobility_match.services import audit
from mobility_match.services.errors import (
    Conflict,
    NotFound,
    Refused,
    TooManyAttempts,
    Unauthenticated,
)
from mobility_match.services.reference import ensure_partners

SIGNED_IN_KINDS = (CredentialKind.SESSION, CredentialKind.API_TOKEN)

# One message for an unknown username, a wrong password and a student's account,
# so that the answer does not tell which usernames exist.
WRONG_CREDENTIALS = "Wrong username or password."


class InvitationUsed(NotFound):
    """The invitation link exists but was used, replaced by a newer one, or has expired."""


@dataclass(frozen=True)
class SignedIn:
    """A session just opened: its token (shown once), its row and whose it is."""

    token: str
    credential: Credential
    account: Account

    @property
    def expires_at(self) -> dt.datetime:
        assert self.credential.expires_at is not None
        return self.credential.expires_at


def issue_credential(
    session: Session,
    account: Account,
    kind: CredentialKind,
    lifetime: dt.timedelta | None,
    name: str = "",
) -> tuple[str, Credential]:
    """Create a credential; return its token (shown once, never stored) and its row."""
    assert account.id is not None
    token = new_token()
    credential = Credential(
        account_id=account.id,
        kind=kind,
        token_hash=token_hash(token),
        name=name,
        expires_at=None if lifetime is None else utcnow() + lifetime,
    )
    session.add(credential)
    session.flush()
    return token, credential


def live_credential(session: Session, token: str, kinds: tuple[CredentialKind, ...]) -> Credential:
    """The unexpired, unrevoked credential of one of `kinds` for `token`; else Unauthenticated."""
    credential = session.exec(
        select(Credential).where(
            Credential.token_hash == token_hash(token), col(Credential.kind).in_(kinds)
        )
    ).first()
    now = utcnow()
    if (
        credential is None
        or credential.revoked_at is not None
        or (credential.expires_at is not None and credential.expires_at <= now)
    ):
        raise Unauthenticated("The session has ended or the token is not valid; sign in again.")
    return credential


def viewer_for_token(session: Session, token: str) -> Viewer:
    """Who a session or API token belongs to; Unauthenticated when it is not live."""
    credential = live_credential(session, token, SIGNED_IN_KINDS)
    account = session.get(Account, credential.account_id)
    if account is None or not account.active:
        raise Unauthenticated("This account is disabled.")
    return Viewer.of(account, credential.id)


def _open_session(
    session: Session, account: Account, settings: Settings, action: str, **details: object
) -> SignedIn:
    """Issue a session for `account`, audit it as `action` and commit."""
    token, credential = issue_credential(
        session, account, CredentialKind.SESSION, dt.timedelta(hours=settings.session_hours)
    )
    audit.record(
        session, Viewer.of(account, credential.id), action, "account", account.id, **details
    )
    session.commit()
    return SignedIn(token, credential, account)


# Sign-in with a password, and its limit on failures.


def _retry_after(
    session: Session, counted: ColumnElement[bool], settings: Settings, now: dt.datetime
) -> int | None:
    """Seconds until the `counted` failures fall below the limit; None if they are below."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    failures = session.exec(
        select(LoginAttempt.at)
        .where(counted, col(LoginAttempt.at) > now - window)
        .order_by(col(LoginAttempt.at))
    ).all()
    if len(failures) < settings.login_attempts:
        return None
    # Sign-in opens again when the count in the window drops below the limit.
    freed_at = failures[len(failures) - settings.login_attempts] + window
    return max(1, math.ceil((freed_at - now).total_seconds()))


def sign_in(
    session: Session, *, username: str, password: str, client: str, settings: Settings
) -> SignedIn:
    """Check a staff member's password and open a session; failures are counted and limited."""
    username = username.strip()
    client = client[:64]
    now = utcnow()
    waits = [
        _retry_after(session, col(LoginAttempt.username) == username, settings, now),
        _retry_after(session, col(LoginAttempt.client) == client, settings, now),
    ]
    if any(wait is not None for wait in waits):
        seconds = max(wait for wait in waits if wait is not None)
        session.rollback()
        raise TooManyAttempts(
            f"Too many failed sign-ins; try again in {seconds} seconds.", retry_after=seconds
        )
    # The attempt counts as a failure from now on, in the transaction that counted the
    # others, so that parallel guesses cannot all pass while their passwords are hashed.
    window = dt.timedelta(minutes=settings.login_window_minutes)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) <= now - window))
    session.add(LoginAttempt(username=username, client=client, at=now))
    account = session.exec(select(Account).where(Account.username == username)).first()
    stored_hash = None
    if account is not None and account.role is not Role.STUDENT:
        stored_hash = account.password_hash
    # Commit before hashing: on SQLite the transaction holds the write lock.
    session.commit()
    # The hash is checked even for an unknown username, so that both take as long.
    if not verify_password(password, stored_hash) or account is None:
        raise Unauthenticated(WRONG_CREDENTIALS)
    if not account.active:
        raise Unauthenticated("This account is disabled; ask a coordinator.")
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.username) == username))
    return _open_session(session, account, settings, "sign_in", client=client)


def sign_out(session: Session, viewer: Viewer) -> bool:
    """End the viewer's session (an API token stays valid); whether one was ended."""
    if viewer.credential_id is None:
        return False
    ended = session.exec(
        update(Credential)
        .where(
            col(Credential.id) == viewer.credential_id,
            col(Credential.kind) == CredentialKind.SESSION,
            col(Credential.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    ).rowcount
    if ended:
        audit.record(session, viewer, "sign_out", "account", viewer.account_id)
    session.commit()
    return bool(ended)


def get_account(session: Session, account_id: int) -> Account:
    """The account `account_id`; NotFound if there is none."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"There is no account {account_id}.")
    return account


# API tokens.


def create_api_token(
    session: Session, viewer: Viewer, *, name: str, days: float | None = None
) -> tuple[str, Credential]:
    """A named API token of the viewer, expiring after `days` (None: never); token shown once."""
    account = get_account(session, viewer.account_id)
    lifetime = None if days is None else dt.timedelta(days=days)
    token, credential = issue_credential(
        session, account, CredentialKind.API_TOKEN, lifetime, name=name.strip()
    )
    audit.record(
        session, viewer, "create_api_token", "credential", credential.id, name=credential.name
    )
    session.commit()
    return token, credential


def get_all_api_tokens(session: Session, viewer: Viewer) -> Sequence[Credential]:
    """The viewer's API tokens that are neither revoked nor expired, newest first."""
    now = utcnow()
    return session.exec(
        select(Credential)
        .where(
            Credential.account_id == viewer.account_id,
            col(Credential.kind) == CredentialKind.API_TOKEN,
            col(Credential.revoked_at).is_(None),
            (col(Credential.expires_at).is_(None)) | (col(Credential.expires_at) > now),
        )
        .order_by(col(Credential.id).desc())
    ).all()


def revoke_api_token(session: Session, viewer: Viewer, token_id: int) -> None:
    """Revoke one of the viewer's live API tokens; NotFound for anyone else's or a missing one."""
    revoked = session.exec(
        update(Credential)
        .where(
            col(Credential.id) == token_id,
            col(Credential.account_id) == viewer.account_id,
            col(Credential.kind) == CredentialKind.API_TOKEN,
            col(Credential.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    ).rowcount
    if not revoked:
        session.rollback()
        raise NotFound(f"You have no API token {token_id}.")
    audit.record(session, viewer, "revoke_api_token", "credential", token_id)
    session.commit()


# Accounts.


def _account_problems(
    session: Session,
    *,
    username: str,
    role: Role,
    password: str | None,
    school_id: str | None,
    partner: str | None,
    student_id: str | None,
) -> list[str]:
    """Every rule a new account would break, each naming its field."""
    problems = []
    if not username:
        problems.append("username: give a username")
    elif _taken(session, username):
        problems.append(f"username: {username!r} is already taken; choose another one")
    if role is Role.STUDENT:
        if password is not None:
            problems.append("password: a student has no password; students sign in by invitation")
    elif password is None:
        problems.append(f"password: a {role.value} account needs a password")
    elif problem := password_problem(password):
        problems.append(f"password: {problem}")
    if role is Role.TEACHER:
        if school_id is None:
            problems.append("school_id: a teacher account needs the school_id of its school")
        elif session.get(School, school_id) is None:
            problems.append(f"school_id: there is no school {school_id!r}")
    elif school_id is not None:
        problems.append("school_id: only a teacher account belongs to a school")
    if role is Role.PARTNER:
        codes = ", ".join(session.exec(select(Partner.code).order_by(col(Partner.code))).all())
        if partner is None:
            problems.append(f"partner: a partner account needs a partner code (one of {codes})")
        elif session.get(Partner, partner) is None:
            problems.append(f"partner: there is no partner {partner!r}; valid codes: {codes}")
    elif partner is not None:
        problems.append("partner: only a partner account belongs to a partner organisation")
    if role is Role.STUDENT:
        if student_id is None:
            problems.append("student_id: a student account needs the student_id of its student")
        elif session.get(Student, student_id) is None:
            problems.append(f"student_id: there is no student {student_id!r}")
        elif session.exec(select(Account.id).where(Account.student_id == student_id)).first():
            problems.append(f"student_id: student {student_id!r} already has an account")
    elif student_id is not None:
        problems.append("student_id: only a student account belongs to a student")
    return problems


def create_account(
    session: Session,
    viewer: Viewer | None,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str | None = None,
    school_id: str | None = None,
    partner: str | None = None,
    student_id: str | None = None,
) -> Account:
    """Create an account after checking every rule (Refused lists all that are broken)."""
    username = username.strip()
    problems = _account_problems(
        session,
        username=username,
        role=role,
        password=password,
        school_id=school_id,
        partner=partner,
        student_id=student_id,
    )
    if problems:
        session.rollback()
        raise Refused(
            "The account cannot be created: " + "; ".join(problems) + ".", problems=problems
        )
    account = Account(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        password_hash=None if password is None else hash_password(password),
        school_id=school_id,
        partner=partner,
        student_id=student_id,
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"username: {username!r} or its student was just given another account; try again."
        ) from None
    audit.record(
        session,
        viewer,
        "create_account",
        "account",
        account.id,
        username=username,
        role=role.value,
        school_id=school_id,
        partner=partner,
        student_id=student_id,
    )
    session.commit()
    return account


def create_coordinator(
    session: Session, *, username: str, display_name: str, password: str
) -> Account:
    """The first coordinator, made from the command line (the reference partners come too)."""
    ensure_partners(session)
    return create_account(
        session,
        None,
        username=username,
        display_name=display_name,
        role=Role.COORDINATOR,
        password=password,
    )


def _taken(session: Session, username: str) -> bool:
    return session.exec(select(Account.id).where(Account.username == username)).first() is not None


def username_taken(session: Session, username: str) -> bool:
    """Whether an account already has `username` (surrounding spaces ignored)."""
    taken = _taken(session, username.strip())
    session.commit()
    return taken


def get_all_accounts(session: Session) -> Sequence[Account]:
    """Every account, by username."""
    return session.exec(select(Account).order_by(col(Account.username))).all()


def _revoke_all(session: Session, account_id: int, kind: CredentialKind | None = None) -> int:
    """Revoke the account's unrevoked credentials (of one kind, if given); how many."""
    query = update(Credential).where(
        col(Credential.account_id) == account_id, col(Credential.revoked_at).is_(None)
    )
    if kind is not None:
        query = query.where(col(Credential.kind) == kind)
    return session.exec(query.values(revoked_at=utcnow())).rowcount


def deactivate_account(session: Session, viewer: Viewer, account_id: int) -> Account:
    """Disable an account and end its sessions, tokens and invitations at once."""
    account = session.exec(
        select(Account).where(Account.id == account_id).with_for_update()
    ).first()
    if account is None:
        raise NotFound(f"There is no account {account_id}.")
    if account_id == viewer.account_id:
        session.rollback()
        raise Refused("You cannot deactivate your own account; ask another coordinator.")
    account.active = False
    session.add(account)
    revoked = _revoke_all(session, account_id)
    audit.record(
        session, viewer, "deactivate_account", "account", account_id, credentials_revoked=revoked
    )
    session.commit()
    return account


# Student invitations.

NO_LONGER_VALID = (
    "This invitation link is no longer valid (used, replaced or expired); "
    "ask your teacher for a new one."
)


def _student_account(session: Session, viewer: Viewer, student: Student) -> Account:
    """The student's account, created (no password) the first time the student is invited."""
    account = session.exec(select(Account).where(Account.student_id == student.student_id)).first()
    if account is not None:
        if not account.active:
            raise Conflict(
                f"The account of student {student.student_id!r} is disabled; "
                "a coordinator disabled it on purpose."
            )
        return account
    candidates = (student.student_id, student.email.strip())
    username = next((name for name in candidates if name and not _taken(session, name)), None)
    if username is None:
        raise Conflict(
            f"Another account already uses the student_id and the e-mail of {student.student_id!r}"
            " as its username; rename that account first."
        )
    account = Account(
        username=username,
        display_name=f"{student.first_name} {student.last_name}".strip(),
        role=Role.STUDENT,
        student_id=student.student_id,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        viewer,
        "create_account",
        "account",
        account.id,
        username=username,
        role=Role.STUDENT.value,
        student_id=student.student_id,
    )
    return account


def invite_student(
    session: Session, viewer: Viewer, student_id: str, *, settings: Settings
) -> tuple[str, Credential]:
    """A new invitation link for a student in the viewer's scope; earlier unused links end."""
    # The row lock makes two simultaneous invitations of one student take turns.
    student = session.exec(
        access.students(
            viewer, select(Student).where(Student.student_id == student_id)
        ).with_for_update()
    ).first()
    if student is None:
        raise NotFound(f"There is no student {student_id!r}.")
    account = _student_account(session, viewer, student)
    assert account.id is not None
    replaced = _revoke_all(session, account.id, CredentialKind.INVITATION)
    token, credential = issue_credential(
        session, account, CredentialKind.INVITATION, dt.timedelta(days=settings.invitation_days)
    )
    assert credential.expires_at is not None
    audit.record(
        session,
        viewer,
        "invite_student",
        "student",
        student_id,
        account_id=account.id,
        expires_at=credential.expires_at.isoformat(),
        invitations_replaced=replaced,
    )
    session.commit()
    return token, credential


def _invitation(session: Session, token: str) -> tuple[Credential, Account]:
    """The live invitation of `token` and its account; NotFound or InvitationUsed otherwise."""
    credential = session.exec(
        select(Credential).where(
            Credential.token_hash == token_hash(token),
            col(Credential.kind) == CredentialKind.INVITATION,
        )
    ).first()
    if credential is None:
        raise NotFound("This invitation link is not valid; ask your teacher for a new one.")
    expired = credential.expires_at is not None and credential.expires_at <= utcnow()
    account = session.get(Account, credential.account_id)
    if credential.revoked_at is not None or expired or account is None or not account.active:
        raise InvitationUsed(NO_LONGER_VALID)
    return credential, account


def get_invitation_account(session: Session, token: str) -> Account:
    """Whom a live invitation would sign in, without using it up (mail scanners open links)."""
    _credential, account = _invitation(session, token)
    session.commit()
    return account


def accept_invitation(session: Session, token: str, *, settings: Settings) -> SignedIn:
    """Use up an invitation and open a session for its student; a link works only once."""
    credential, account = _invitation(session, token)
    now = utcnow()
    # Single use even when two requests race: only one UPDATE finds the row still unused.
    used = session.exec(
        update(Credential)
        .where(
            col(Credential.id) == credential.id,
            col(Credential.revoked_at).is_(None),
            col(Credential.expires_at).is_(None) | (col(Credential.expires_at) > now),
        )
        .values(revoked_at=now)
    ).rowcount
    if used != 1:
        session.rollback()
        raise InvitationUsed(NO_LONGER_VALID)
    return _open_session(session, account, settings, "accept_invitation", invitation=credential.id)
