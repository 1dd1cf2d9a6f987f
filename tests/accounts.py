"""Test helpers: schools and accounts of every role, and signing them in."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.models import Account, CredentialKind, Role, School, SchoolKind
from mobility_match.security import hash_password
from mobility_match.services.sessions import issue_credential

PASSWORD = "correct horse battery"


def add_school(engine: Engine, school_id: str, kind: SchoolKind = SchoolKind.PILOT) -> None:
    with Session(engine) as session:
        session.add(School(school_id=school_id, name=f"Lycée {school_id}", kind=kind))
        session.commit()


def add_account(
    engine: Engine,
    username: str,
    role: Role,
    *,
    school_id: str | None = None,
    partner: str | None = None,
    student_id: str | None = None,
    password: str | None = PASSWORD,
) -> int:
    """Create an account (with PASSWORD unless told otherwise); return its id."""
    with Session(engine) as session:
        account = Account(
            username=username,
            display_name=username,
            role=role,
            password_hash=hash_password(password) if password else None,
            school_id=school_id,
            partner=partner,
            student_id=student_id,
        )
        session.add(account)
        session.commit()
        assert account.id is not None
        return account.id


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API; return the Authorization header of the new session."""
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def session_headers(engine: Engine, account_id: int) -> dict[str, str]:
    """Open a session for an account directly (as an invitation would); return its header."""
    with Session(engine) as session:
        account = session.get_one(Account, account_id)
        token, _ = issue_credential(session, account, CredentialKind.SESSION, None)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def signed_in(engine: Engine, username: str, role: Role, **scope: str) -> dict[str, str]:
    """The Authorization header of a new account of `role`, signed in without a password."""
    return session_headers(engine, add_account(engine, username, role, password=None, **scope))
