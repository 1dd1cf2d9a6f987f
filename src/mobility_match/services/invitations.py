"""Student invitations: single-use, expiring sign-in links sent by a coordinator or teacher.

Students have no password. Inviting a student in the viewer's scope creates
the student's account the first time, ends the earlier unused links and every
session of the student, and issues a new one; using the link opens a session
once. Looking at a link (GET) never uses it up, because mail scanners open links
before the student does. Nothing here puts a token in an audit event, a log or
an error message.

The teacher who makes a link sees it (to hand it out), so could use it first.
Against that: the link works once, the session it opens remembers the
invitation and who made it (every audit event of that session names them), a
student who opens a used link is told when it was used, and the new link he or
she then asks for ends the session opened with the old one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.models import Account, Credential, CredentialKind, Role, Student, utcnow
from mobility_match.security import token_hash
from mobility_match.services import audit, mail
from mobility_match.services.accounts import has_username, record_created, revoke_credentials
from mobility_match.services.errors import Conflict, Gone, NotFound
from mobility_match.services.sessions import SignedIn, issue_credential, open_session

NO_LONGER_VALID = (
    "This invitation link is no longer valid (used, replaced or expired); "
    "ask your teacher for a new one."
)


class InvitationUsed(Gone):
    """The link was used already, at `used_at` (a session was opened with it)."""

    def __init__(self, used_at: dt.datetime) -> None:
        super().__init__(
            f"This invitation link is no longer valid: it was already used on "
            f"{used_at:%Y-%m-%d at %H:%M} UTC. If it was not you, ask your teacher for a new "
            "one; a new link ends the session opened with this one."
        )
        self.used_at = used_at


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
    username = next((name for name in candidates if name and not has_username(session, name)), None)
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
    record_created(session, viewer, account)
    return account


def invitation_url(settings: Settings, token: str) -> str:
    """The link a student opens to sign in with the invitation `token`."""
    return f"{settings.public_url.rstrip('/')}/invite/{token}"


def invite_student(
    session: Session, viewer: Viewer, student_id: str, *, settings: Settings
) -> tuple[str, Credential]:
    """A new invitation link for a student in the viewer's scope; earlier unused links end,
    and so does every session of the student (whoever used an earlier link is signed out)."""
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
    replaced = revoke_credentials(session, account.id, CredentialKind.INVITATION)
    ended = revoke_credentials(session, account.id)  # its sessions (and any other credential)
    token, credential = issue_credential(
        session,
        account,
        CredentialKind.INVITATION,
        dt.timedelta(days=settings.invitation_days),
        issued_by=viewer.account_id,
    )
    assert credential.expires_at is not None
    assert credential.id is not None
    mails = mail.enqueue_invitation(
        session,
        student,
        credential.id,
        invitation_url(settings, token),
        credential.expires_at,
        settings,
        account.language,
    )
    audit.record(
        session,
        viewer,
        "invite_student",
        "student",
        student_id,
        account_id=account.id,
        invitation=credential.id,
        expires_at=credential.expires_at.isoformat(),
        invitations_replaced=replaced,
        sessions_ended=ended,
        mailed_to=[m.audience for m in mails],
    )
    session.commit()
    return token, credential


def _invitation(session: Session, token: str) -> tuple[Credential, Account]:
    """The live invitation of `token` and its account; NotFound if unknown, Gone if used up."""
    credential = session.exec(
        select(Credential).where(
            Credential.token_hash == token_hash(token),
            col(Credential.kind) == CredentialKind.INVITATION,
        )
    ).first()
    if credential is None:
        raise NotFound("This invitation link is not valid; ask your teacher for a new one.")
    if credential.revoked_at is not None:
        used_at = _used_at(session, credential)
        if used_at is not None:
            raise InvitationUsed(used_at)
    expired = credential.expires_at is not None and credential.expires_at <= utcnow()
    account = session.get(Account, credential.account_id)
    if credential.revoked_at is not None or expired or account is None or not account.active:
        raise Gone(NO_LONGER_VALID)
    return credential, account


def _used_at(session: Session, invitation: Credential) -> dt.datetime | None:
    """When a session was opened with `invitation` (None: never)."""
    return session.exec(
        select(Credential.created_at).where(
            Credential.invitation_id == invitation.id,
            col(Credential.kind) == CredentialKind.SESSION,
        )
    ).first()


def get_invitation_account(session: Session, token: str) -> Account:
    """Whom a live invitation would sign in, without using it up (mail scanners open links)."""
    _credential, account = _invitation(session, token)
    session.commit()
    return account


def get_invitation_first_name(session: Session, token: str) -> str:
    """The first name of the student a live invitation would sign in (nothing is used up),
    for the page that greets him or her; the account's name if the student row is gone."""
    _credential, account = _invitation(session, token)
    student = session.get(Student, account.student_id) if account.student_id else None
    session.commit()
    return student.first_name if student is not None else account.display_name


def accept_invitation(
    session: Session, token: str, *, settings: Settings, signed_in_as: str | None = None
) -> SignedIn:
    """Use up an invitation and open a session for its student; a link works only once.

    `signed_in_as` names the staff account whose session the browser that used the link
    still held (a teacher trying the link is then plain in the audit log).
    """
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
        raise Gone(NO_LONGER_VALID)
    extra = {"browser_signed_in_as": signed_in_as} if signed_in_as else {}
    return open_session(
        session, account, settings, "accept_invitation", invitation=credential, **extra
    )


# ---- what became of a student's last link (the teacher's page) -------------------------


@dataclass(frozen=True)
class LinkState:
    """The student's newest invitation: who made it, and whether and when it was used."""

    invitation_id: int
    issued_at: dt.datetime
    issued_by: str
    """The username of the account that made it ("" if unknown)."""
    expires_at: dt.datetime | None
    used_at: dt.datetime | None
    session_live: bool
    """Whether the session opened with it is still open."""
    revoked: bool
    """Whether it no longer works for a reason other than expiry (used, account disabled)."""

    @property
    def state(self) -> str:
        """`used`, `unused` (still works), `expired` or `ended` (revoked without use)."""
        if self.used_at is not None:
            return "used"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "ended" if self.revoked else "unused"


def last_link(session: Session, viewer: Viewer, student_id: str) -> LinkState | None:
    """What became of the newest invitation of a student in the viewer's scope (None: the
    student was never invited); NotFound outside the scope."""
    student = session.exec(
        access.students(viewer, select(Student).where(Student.student_id == student_id))
    ).first()
    if student is None:
        raise NotFound(f"There is no student {student_id!r}.")
    invitation = session.exec(
        select(Credential)
        .join(Account, col(Account.id) == col(Credential.account_id))
        .where(Account.student_id == student_id, col(Credential.kind) == CredentialKind.INVITATION)
        .order_by(col(Credential.id).desc())
    ).first()
    if invitation is None:
        return None
    issuer = session.get(Account, invitation.issued_by) if invitation.issued_by else None
    opened = session.exec(
        select(Credential).where(
            Credential.invitation_id == invitation.id,
            col(Credential.kind) == CredentialKind.SESSION,
        )
    ).first()
    now = utcnow()
    live = (
        opened is not None
        and opened.revoked_at is None
        and (opened.expires_at is None or opened.expires_at > now)
    )
    assert invitation.id is not None
    return LinkState(
        invitation.id,
        invitation.created_at,
        issuer.username if issuer is not None else "",
        invitation.expires_at,
        opened.created_at if opened is not None else None,
        live,
        invitation.revoked_at is not None,
    )
