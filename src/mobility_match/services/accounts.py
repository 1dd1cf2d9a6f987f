"""Accounts, sign-in, sessions, API tokens and student invitations.

Staff sign in with a password; each sign-in opens a server-side session whose
token is shown once and stored hashed, so signing out really ends it. API
tokens are the same kind of credential, named and long-lived. Students have no
password: a coordinator or teacher sends an invitation link, single-use and
expiring, that opens a session.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.models import Account, Credential, CredentialKind, utcnow
from mobility_match.security import new_token, token_hash
from mobility_match.services.errors import Unauthenticated

SIGNED_IN_KINDS = (CredentialKind.SESSION, CredentialKind.API_TOKEN)


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
