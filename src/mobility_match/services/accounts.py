"""Accounts: creating them with every rule checked, listing, deactivating, the first coordinator.

Staff accounts have a password (stored hashed); a student's account has none
and is made by its first invitation (services/invitations.py). Deactivating an
account ends all its credentials at once. Signing in, sessions and API tokens
are services/sessions.py's; nothing here opens a session, and nothing puts a
password in an audit event, a log or an error message.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from mobility_match.access import Viewer
from mobility_match.models import (
    Account,
    AuditEvent,
    Credential,
    CredentialKind,
    LoginAttempt,
    Partner,
    Role,
    School,
    Student,
    utcnow,
)
from mobility_match.security import hash_password, password_problem
from mobility_match.services import audit
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.reference import ensure_partners
from mobility_match.services.rows import require


def get_account(session: Session, account_id: int) -> Account:
    """The account `account_id`; NotFound if there is none."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"There is no account {account_id}.")
    return account


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
    elif has_username(session, username):
        problems.append(f"username: {username!r} is already taken; choose another one")
    if role is Role.STUDENT:
        if password is not None:
            problems.append("password: a student has no password; students sign in by invitation")
    elif password is None:
        problems.append(f"password: a {role.value} account needs a password")
    elif problem := password_problem(password, username):
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
    record_created(session, viewer, account)
    session.commit()
    return account


def record_created(session: Session, viewer: Viewer | None, account: Account) -> None:
    """Audit a new account (flushed, so it has its id) with whom and what it belongs to."""
    audit.record(
        session,
        viewer,
        "create_account",
        "account",
        account.id,
        username=account.username,
        role=account.role.value,
        school_id=account.school_id,
        partner=account.partner,
        student_id=account.student_id,
    )


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


def same_username(username: str) -> ColumnElement[bool]:
    """Accounts whose username is `username` in any case: usernames are e-mail addresses,
    which people type as they like (Marie.Dupont@… and marie.dupont@… are one person)."""
    return func.lower(Account.username) == username.strip().lower()


def has_username(session: Session, username: str) -> bool:
    """Whether an account has `username` (in any case), without ending the transaction."""
    return session.exec(select(Account.id).where(same_username(username))).first() is not None


def username_taken(session: Session, username: str) -> bool:
    """Whether an account already has `username` (surrounding spaces ignored)."""
    taken = has_username(session, username.strip())
    session.commit()
    return taken


def get_all_accounts(session: Session) -> Sequence[Account]:
    """Every account, by username."""
    return session.exec(select(Account).order_by(col(Account.username))).all()


def revoke_credentials(
    session: Session, account_id: int, kind: CredentialKind | None = None
) -> int:
    """Revoke the account's unrevoked credentials (of one kind, if given); how many.

    Neither committed nor audited: the caller does both, as part of its change.
    """
    query = update(Credential).where(
        col(Credential.account_id) == account_id, col(Credential.revoked_at).is_(None)
    )
    if kind is not None:
        query = query.where(col(Credential.kind) == kind)
    return session.exec(query.values(revoked_at=utcnow())).rowcount


def forget_failed_sign_ins(session: Session, username: str, client: str | None = None) -> int:
    """Delete the failed sign-ins of `username` (from every address, or only from `client`),
    which lifts its blocks; how many.

    Neither committed nor audited: the caller does both, as part of its change.
    """
    same = func.lower(LoginAttempt.username) == username.strip().lower()
    if client is not None:
        same = same & (col(LoginAttempt.client) == client)
    return session.exec(delete(LoginAttempt).where(same)).rowcount


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
    revoked = revoke_credentials(session, account_id)
    audit.record(
        session, viewer, "deactivate_account", "account", account_id, credentials_revoked=revoked
    )
    session.commit()
    return account


def set_language(session: Session, viewer: Viewer, language: str, allowed: Sequence[str]) -> None:
    """Remember the page language the viewer chose (one of `allowed`), for every later visit."""
    if language not in allowed:
        session.rollback()
        raise Refused(f"language: {language!r} is not offered; choose one of {', '.join(allowed)}.")
    session.exec(
        update(Account).where(col(Account.id) == viewer.account_id).values(language=language)
    )
    audit.record(
        session, viewer, "account.language", "account", viewer.account_id, language=language
    )
    session.commit()


# ---- for the coordinators' accounts page ---------------------------------------------

GENERATED_PASSWORD_BYTES = 12
"""A generated password holds 16 URL-safe characters (96 random bits)."""


def new_password() -> str:
    """A random password for a new or reset account, shown once to the coordinator."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


@dataclass(frozen=True)
class AccountsPage:
    """A page of accounts, the total of the filter, and when each last signed in."""

    accounts: list[Account]
    total: int
    last_sign_in: dict[int, dt.datetime]


def list_accounts(
    session: Session,
    viewer: Viewer,
    *,
    role: Role | None = None,
    limit: int = 100,
    offset: int = 0,
) -> AccountsPage:
    """Accounts by username (of one role, if given), a page at a time (coordinators)."""
    require(viewer, Role.COORDINATOR)
    conditions = [] if role is None else [col(Account.role) == role]
    total = session.exec(select(func.count()).select_from(Account).where(*conditions)).one()
    accounts = list(
        session.exec(
            select(Account)
            .where(*conditions)
            .order_by(col(Account.username))
            .offset(offset)
            .limit(limit)
        ).all()
    )
    ids = [account.id for account in accounts if account.id is not None]
    # Sign-ins are audit events: one grouped query for the page's accounts.
    last = session.exec(
        select(AuditEvent.account_id, func.max(AuditEvent.at))
        .where(col(AuditEvent.action) == "sign_in", col(AuditEvent.account_id).in_(ids))
        .group_by(col(AuditEvent.account_id))
    ).all()
    session.commit()
    return AccountsPage(
        accounts, total, {account_id: at for account_id, at in last if account_id is not None}
    )


def reset_password(session: Session, viewer: Viewer, account_id: int) -> str:
    """Give a staff account a new random password (returned, to be shown once), end its
    sessions and lift a sign-in block of its username; audited, never the password."""
    require(viewer, Role.COORDINATOR)
    account = session.exec(
        select(Account).where(Account.id == account_id).with_for_update()
    ).first()
    if account is None:
        session.rollback()
        raise NotFound(f"There is no account {account_id}.")
    if account_id == viewer.account_id:
        session.rollback()
        raise Refused("You cannot reset your own password here; ask another coordinator.")
    if account.role is Role.STUDENT:
        session.rollback()
        raise Refused("A student has no password; give the student a new invitation link.")
    if not account.active:
        session.rollback()
        raise Refused(f"The account {account.username} is deactivated; it cannot sign in.")
    password = new_password()
    account.password_hash = hash_password(password)
    session.add(account)
    ended = revoke_credentials(session, account_id, CredentialKind.SESSION)
    lifted = forget_failed_sign_ins(session, account.username)
    audit.record(
        session,
        viewer,
        "account.reset_password",
        "account",
        account_id,
        sessions_ended=ended,
        failed_sign_ins_cleared=lifted,
    )
    session.commit()
    return password
