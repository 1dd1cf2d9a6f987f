"""Credentials: sign-in with its failure limit, sessions, sign-out and API tokens.

Staff sign in with a password; each sign-in opens a server-side session whose
token is shown once and stored hashed, so signing out really ends it. API
tokens are the same kind of credential, named and long-lived; invitations
(services/invitations.py) are a third kind, issued here too.

Failed sign-ins are rows of `login_attempt`, so the limits on password guessing
hold across worker processes; they slow guesses down per (username, address) pair
and per address, and never lock a username outright (see sign_in). Addresses an
account signed in from are rows of `known_sign_in`. Nothing here creates or changes an account
(services/accounts.py does), and nothing puts a password or a token in an
audit event, a log or an error message.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, update
from sqlmodel import Session, col, func, select

from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.models import (
    Account,
    Credential,
    CredentialKind,
    KnownSignIn,
    LoginAttempt,
    Role,
    utcnow,
)
from mobility_match.security import new_token, token_hash, verify_password
from mobility_match.services import audit
from mobility_match.services.accounts import forget_failed_sign_ins, get_account, same_username
from mobility_match.services.errors import NotFound, TooManyAttempts, Unauthenticated
from mobility_match.services.rows import require

SIGNED_IN_KINDS = (CredentialKind.SESSION, CredentialKind.API_TOKEN)

# One message for an unknown username, a wrong password and a student's account,
# so that the answer does not tell which usernames exist.
WRONG_CREDENTIALS = "Wrong username or password."


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
    *,
    issued_by: int | None = None,
    invitation_id: int | None = None,
) -> tuple[str, Credential]:
    """Create a credential; return its token (shown once, never stored) and its row.

    `issued_by` is the account that made an invitation (or the invitation a session is
    opened with), `invitation_id` that invitation, for a session opened with one.
    """
    assert account.id is not None
    token = new_token()
    credential = Credential(
        account_id=account.id,
        kind=kind,
        token_hash=token_hash(token),
        name=name,
        expires_at=None if lifetime is None else utcnow() + lifetime,
        issued_by=issued_by,
        invitation_id=invitation_id,
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


def open_session(
    session: Session,
    account: Account,
    settings: Settings,
    action: str,
    *,
    invitation: Credential | None = None,
    **details: object,
) -> SignedIn:
    """Issue a session for `account`, audit it as `action` and commit.

    A session opened with an `invitation` keeps which one and who made it, so that every
    audit event of the session names them (services/audit.py).
    """
    token, credential = issue_credential(
        session,
        account,
        CredentialKind.SESSION,
        dt.timedelta(hours=settings.session_hours),
        issued_by=invitation.issued_by if invitation is not None else None,
        invitation_id=invitation.id if invitation is not None else None,
    )
    audit.record(
        session, Viewer.of(account, credential.id), action, "account", account.id, **details
    )
    session.commit()
    return SignedIn(token, credential, account)


# Sign-in with a password, and its limits on failures.

KNOWN_ADDRESS_DAYS = 90
"""How long an address an account signed in from keeps it clear of others' failures."""


def _failures(
    session: Session, counted: ColumnElement[bool], settings: Settings, now: dt.datetime
) -> Sequence[dt.datetime]:
    """When the `counted` failures of the window happened, oldest first."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    return session.exec(
        select(LoginAttempt.at)
        .where(counted, col(LoginAttempt.at) > now - window)
        .order_by(col(LoginAttempt.at))
    ).all()


def _wait(
    failures: Sequence[dt.datetime], limit: int, settings: Settings, now: dt.datetime
) -> int | None:
    """Seconds until these failures of the window (oldest first) fall below `limit`."""
    if len(failures) < limit:
        return None
    # Sign-in opens again when the count in the window drops below the limit.
    window = dt.timedelta(minutes=settings.login_window_minutes)
    freed_at = failures[len(failures) - limit] + window
    return max(1, math.ceil((freed_at - now).total_seconds()))


def _delay(
    failures: Sequence[dt.datetime], limit: int, settings: Settings, now: dt.datetime
) -> int | None:
    """Seconds still to wait after the last of these failures (oldest first): none below
    `limit`, then 2, 4, 8 … seconds per further failure, at most the window."""
    if len(failures) < limit:
        return None
    window = settings.login_window_minutes * 60
    delay = min(2.0 ** min(len(failures) - limit + 1, 30), window)
    left = (failures[-1] + dt.timedelta(seconds=delay) - now).total_seconds()
    return math.ceil(left) if left > 0 else None


def _known(session: Session, account: Account | None, client: str, now: dt.datetime) -> bool:
    """Whether `account` signed in from `client` in the last KNOWN_ADDRESS_DAYS."""
    if account is None:
        return False
    since = now - dt.timedelta(days=KNOWN_ADDRESS_DAYS)
    found = session.exec(
        select(KnownSignIn.id).where(
            KnownSignIn.account_id == account.id,
            KnownSignIn.client == client,
            col(KnownSignIn.last_at) > since,
        )
    ).first()
    return found is not None


def _remember(session: Session, account: Account, client: str, now: dt.datetime) -> None:
    """Record that `account` signed in from `client`; forget addresses unused for too long."""
    session.exec(
        delete(KnownSignIn).where(
            col(KnownSignIn.last_at) <= now - dt.timedelta(days=KNOWN_ADDRESS_DAYS)
        )
    )
    renewed = session.exec(
        update(KnownSignIn)
        .where(col(KnownSignIn.account_id) == account.id, col(KnownSignIn.client) == client)
        .values(last_at=now)
    ).rowcount
    if not renewed:
        assert account.id is not None
        session.add(KnownSignIn(account_id=account.id, client=client, last_at=now))


def _serialise(session: Session, username: str) -> None:
    """On PostgreSQL, make sign-ins of one username wait for each other until commit (SQLite
    transactions begin with the write lock), so that parallel guesses are counted."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(func.hashtext(f"sign_in:{username}"))))


def sign_in(
    session: Session, *, username: str, password: str, client: str, settings: Settings
) -> SignedIn:
    """Check a staff member's password and open a session; failures are counted and limited.

    Three limits, over the failures of the window (`login_window_minutes`):
    - one username from one address: from `login_attempts` failures on, each further
      attempt waits 2, 4, 8 … seconds after the last one (at most the window);
    - one address, all usernames: at `login_client_attempts` it is refused until the count
      falls below;
    - one username, all addresses: from `login_username_attempts` failures on, addresses
      that never signed in to that account wait growing delays too.
    An address the account signed in from in the last 90 days is held only to the first.
    Nothing locks a username outright. A success forgets the failures of its pair.

    The username is compared in any case, and its failures are counted under its lower
    case, so that "Marie@…" and "marie@…" share one limit.
    """
    username = username.strip().lower()
    client = client[:64]
    _serialise(session, username)
    account = session.exec(select(Account).where(same_username(username))).first()
    now = utcnow()  # once the transaction (on SQLite, the write lock) has begun
    known = _known(session, account, client, now)
    pair = col(LoginAttempt.username) == username
    pair = pair & (col(LoginAttempt.client) == client)
    waits = [
        _delay(_failures(session, pair, settings, now), settings.login_attempts, settings, now)
    ]
    if not known:
        by_client = _failures(session, col(LoginAttempt.client) == client, settings, now)
        by_username = _failures(session, col(LoginAttempt.username) == username, settings, now)
        waits += [
            _wait(by_client, settings.login_client_attempts, settings, now),
            _delay(by_username, settings.login_username_attempts, settings, now),
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
    forget_failed_sign_ins(session, username, client)
    _remember(session, account, client, utcnow())
    return open_session(session, account, settings, "sign_in", client=client)


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


# Sign-in blocks, seen and lifted by coordinators.


@dataclass(frozen=True)
class Blocked:
    """A username whose failed sign-ins in the window make it wait now: from one address
    (`client`), or, when `client` is "", from every address it never signed in from."""

    username: str
    client: str
    failures: int
    retry_after: int
    """Seconds until the block ends by itself."""


def blocked_usernames(session: Session, viewer: Viewer, settings: Settings) -> list[Blocked]:
    """Usernames waiting now after failed sign-ins, counted as sign_in counts them, by
    username and address (coordinators)."""
    require(viewer, Role.COORDINATOR)
    now = utcnow()
    recent = col(LoginAttempt.at) > now - dt.timedelta(minutes=settings.login_window_minutes)
    limit = min(settings.login_attempts, settings.login_username_attempts)
    over = (
        select(LoginAttempt.username)
        .where(recent)
        .group_by(col(LoginAttempt.username))
        .having(func.count() >= limit)
    )
    # One query: the failures in the window of the usernames that may wait, oldest first.
    found = session.exec(
        select(LoginAttempt.username, LoginAttempt.client, LoginAttempt.at)
        .where(recent, col(LoginAttempt.username).in_(over))
        .order_by(col(LoginAttempt.username), col(LoginAttempt.at))
    ).all()
    session.commit()
    failures: dict[tuple[str, str], list[dt.datetime]] = {}
    for username, client, at in found:
        failures.setdefault((username, client), []).append(at)
        failures.setdefault((username, ""), []).append(at)
    blocked = []
    for (username, client), times in failures.items():
        threshold = settings.login_attempts if client else settings.login_username_attempts
        wait = _delay(times, threshold, settings, now)
        if wait is not None:
            blocked.append(Blocked(username, client, len(times), wait))
    return sorted(blocked, key=lambda item: (item.username, item.client))


@dataclass(frozen=True)
class BlockedAddress:
    """An address refused every sign-in now (but for accounts that signed in from it
    before): too many failed sign-ins from it, on any usernames, in the window."""

    client: str
    failures: int
    usernames: int
    """How many usernames those failures tried."""
    retry_after: int
    """Seconds until the block ends by itself."""


def blocked_addresses(session: Session, viewer: Viewer, settings: Settings) -> list[BlockedAddress]:
    """Addresses at the per-address limit now, counted as sign_in counts them
    (coordinators): behind one, a whole school may be waiting."""
    require(viewer, Role.COORDINATOR)
    now = utcnow()
    recent = col(LoginAttempt.at) > now - dt.timedelta(minutes=settings.login_window_minutes)
    over = (
        select(LoginAttempt.client)
        .where(recent)
        .group_by(col(LoginAttempt.client))
        .having(func.count() >= settings.login_client_attempts)
    )
    found = session.exec(
        select(LoginAttempt.client, LoginAttempt.username, LoginAttempt.at)
        .where(recent, col(LoginAttempt.client).in_(over))
        .order_by(col(LoginAttempt.client), col(LoginAttempt.at))
    ).all()
    session.commit()
    failures: dict[str, list[dt.datetime]] = {}
    usernames: dict[str, set[str]] = {}
    for client, username, at in found:
        failures.setdefault(client, []).append(at)
        usernames.setdefault(client, set()).add(username)
    blocked = []
    for client, times in failures.items():
        wait = _wait(times, settings.login_client_attempts, settings, now)
        if wait is not None:
            blocked.append(BlockedAddress(client, len(times), len(usernames[client]), wait))
    return sorted(blocked, key=lambda item: item.client)


def lift_address_block(session: Session, viewer: Viewer, client: str) -> int:
    """Forget every failed sign-in from `client`, so that sign-ins from it are judged afresh
    (a username's own delays from it end too); how many were forgotten (coordinators;
    audited, also when there were none)."""
    require(viewer, Role.COORDINATOR)
    forgotten = session.exec(delete(LoginAttempt).where(col(LoginAttempt.client) == client))
    audit.record(
        session,
        viewer,
        "sign_in.lift_address_block",
        "address",
        client[:64],
        failed_sign_ins=forgotten.rowcount,
    )
    session.commit()
    return int(forgotten.rowcount)


def lift_block(session: Session, viewer: Viewer, username: str) -> int:
    """Forget the failed sign-ins of `username` from every address, so that it may sign in
    again at once; how many were forgotten (coordinators; audited, also when there were none)."""
    require(viewer, Role.COORDINATOR)
    forgotten = forget_failed_sign_ins(session, username)
    account_id = session.exec(select(Account.id).where(same_username(username))).first()
    audit.record(
        session,
        viewer,
        "account.lift_block",
        "account",
        account_id if account_id is not None else "",
        username=username,
        failed_sign_ins=forgotten,
    )
    session.commit()
    return forgotten
