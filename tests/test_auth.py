"""Signing in and out, the limit on failed sign-ins, API tokens, accounts, invitations.

Every test goes through HTTP on a real migrated database (SQLite, or PostgreSQL
when MOBILITY_MATCH_TEST_DATABASE_URL is set), except the command-line test,
which runs `create-coordinator` on a fresh SQLite file it migrates itself.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mobility_match.api.app import create_app
from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.cli import app as cli_app
from mobility_match.config import Settings, get_settings
from mobility_match.db import make_engine
from mobility_match.domain import Diploma
from mobility_match.models import (
    Account,
    AuditEvent,
    Credential,
    CredentialKind,
    KnownSignIn,
    LoginAttempt,
    Role,
    Student,
    utcnow,
)
from mobility_match.security import token_hash
from mobility_match.services import invitations, sessions
from mobility_match.services.errors import Gone, TooManyAttempts, Unauthenticated
from tests.accounts import PASSWORD, add_account, add_school, bearer

NEW_PASSWORD = "a much longer secret phrase"


def add_student(
    engine: Engine, student_id: str, school_id: str, *, first_name: str = "Léa", email: str = ""
) -> None:
    with Session(engine) as session:
        session.add(
            Student(
                student_id=student_id,
                first_name=first_name,
                last_name="Martin",
                email=email,
                gender="F",
                birth_date=dt.date(2006, 3, 14),
                school_id=school_id,
                diploma=Diploma.BAC_PRO.value,
                trade="commerce",
                available_from=dt.date(2027, 4, 1),
                available_to=dt.date(2027, 7, 31),
            )
        )
        session.commit()


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, object]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def sign_in_status(client: TestClient, username: str, password: str = PASSWORD) -> int:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    status: int = response.status_code
    return status


@pytest.fixture
def coordinator(engine: Engine) -> int:
    return add_account(engine, "coord", Role.COORDINATOR)


@pytest.fixture
def school(engine: Engine) -> str:
    """Two schools, LP-A with student S1 (Léa) and LP-B with student S2."""
    add_school(engine, "LP-A")
    add_school(engine, "LP-B")
    add_student(engine, "S1", "LP-A")
    add_student(engine, "S2", "LP-B", email="s2@example.org")
    return "LP-A"


@pytest.fixture
def client_at(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """Clients of the same app seen from other addresses (their startup is not run again)."""
    made: list[TestClient] = []

    def make(host: str) -> TestClient:
        made.append(TestClient(app, client=(host, 50000)))
        return made[-1]

    yield make
    for other in made:
        other.close()


def invite(client: TestClient, headers: dict[str, str], student_id: str = "S1") -> str:
    """Invite a student; return the path of the link (/invite/…)."""
    response = client.post(f"/api/students/{student_id}/invitation", headers=headers)
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    assert url.startswith("http://testserver/invite/")
    return url.removeprefix("http://testserver")


# Signing in and out.


def test_login_returns_session_and_account(client: TestClient, coordinator: int) -> None:
    """A right password opens a session: a token, its end, and the public account."""
    response = client.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at", "account"}
    assert body["account"]["id"] == coordinator
    assert body["account"]["role"] == "coordinator"
    assert "password_hash" not in response.text
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (utcnow() + dt.timedelta(hours=12))) < dt.timedelta(minutes=1)


def test_login_sets_http_only_strict_cookie(client: TestClient, coordinator: int) -> None:
    """The session cookie is HttpOnly, SameSite=Strict, lives as long as the session."""
    response = client.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={response.json()['token']};")
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert "max-age=43200" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_cookie_is_secure_when_configured(
    settings: Settings, engine: Engine, coordinator: int
) -> None:
    """With secure_cookies set, the session cookie carries the Secure flag."""
    app = create_app(settings.model_copy(update={"secure_cookies": True}), engine)
    with TestClient(app) as client:
        response = client.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    assert "; secure" in response.headers["set-cookie"].lower()


def test_wrong_password_and_unknown_user_answer_alike(client: TestClient, coordinator: int) -> None:
    """A wrong password and an unknown username get the same 401 and message."""
    wrong = client.post("/api/auth/login", json={"username": "coord", "password": "nope" * 3})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"] == sessions.WRONG_CREDENTIALS
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert "set-cookie" not in wrong.headers


def test_student_cannot_sign_in_with_a_password(
    client: TestClient, engine: Engine, school: str
) -> None:
    """A student account signs in by invitation only, even if a password hash were stored."""
    add_account(engine, "S1", Role.STUDENT, student_id="S1")
    response = client.post("/api/auth/login", json={"username": "S1", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json()["detail"] == sessions.WRONG_CREDENTIALS


def test_disabled_account_cannot_sign_in(client: TestClient, engine: Engine) -> None:
    """A deactivated account is refused even with the right password."""
    account_id = add_account(engine, "gone", Role.COORDINATOR)
    with Session(engine) as session:
        account = session.get_one(Account, account_id)
        account.active = False
        session.add(account)
        session.commit()
    response = client.post("/api/auth/login", json={"username": "gone", "password": PASSWORD})
    assert response.status_code == 401
    assert "disabled" in response.json()["detail"]


def test_cookie_alone_authenticates(client: TestClient, coordinator: int) -> None:
    """After login, the cookie without any Authorization header identifies the person."""
    login(client, "coord")
    response = client.get("/api/auth/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": coordinator,
        "username": "coord",
        "display_name": "coord",
        "role": "coordinator",
        "school_id": None,
        "partner": None,
        "student_id": None,
        "active": True,
    }
    client.cookies.clear()
    assert client.get("/api/auth/me").status_code == 401


def test_me_of_a_teacher(client: TestClient, engine: Engine, school: str) -> None:
    """/api/auth/me gives the teacher's school and no password hash."""
    add_account(engine, "teacher", Role.TEACHER, school_id="LP-A")
    response = client.get("/api/auth/me", headers=bearer(client, "teacher"))
    assert response.json()["school_id"] == "LP-A"
    assert "password" not in response.text


def test_logout_ends_the_session(client: TestClient, coordinator: int) -> None:
    """After logout the same token is refused and the cookie is cleared."""
    headers = bearer(client, "coord")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    response = client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204
    assert SESSION_COOKIE in response.headers["set-cookie"]
    assert SESSION_COOKIE not in client.cookies
    after = client.get("/api/auth/me", headers=headers)
    assert after.status_code == 401
    assert after.headers["www-authenticate"] == "Bearer"


def test_logout_with_an_api_token_keeps_the_token(client: TestClient, coordinator: int) -> None:
    """Logging out with an API token does not revoke the token (only sessions end)."""
    token = client.post(
        "/api/auth/tokens", json={"name": "script"}, headers=bearer(client, "coord")
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 200


# The limit on failed sign-ins.


def fail(client: TestClient, username: str, times: int) -> None:
    for _ in range(times):
        response = client.post(
            "/api/auth/login", json={"username": username, "password": "wrong password"}
        )
        assert response.status_code == 401, response.text


def add_failures(engine: Engine, username: str, clients: list[str]) -> None:
    """Failed sign-ins of `username`, one from each of `clients`, as sign_in records them."""
    with Session(engine) as session:
        for client in clients:
            session.add(LoginAttempt(username=username, client=client, at=utcnow()))
        session.commit()


def date_failures(engine: Engine, seconds_ago: float) -> None:
    """Move every failed sign-in to `seconds_ago` seconds before now."""
    with Session(engine) as session:
        at = utcnow() - dt.timedelta(seconds=seconds_ago)
        session.exec(update(LoginAttempt).values(at=at))
        session.commit()


def test_failures_from_other_addresses_do_not_lock_the_username(
    client: TestClient, client_at: Callable[[str], TestClient], coordinator: int
) -> None:
    """Five failures of one username from other addresses, or five from one address, do not
    stop the right password from a new address; only the guessing address waits (429)."""
    for number in range(5):
        fail(client_at(f"10.0.0.{number}"), "coord", 1)
    guesser = client_at("10.0.0.9")
    fail(guesser, "coord", 5)
    refused = guesser.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert "token" not in refused.json()
    assert sign_in_status(client_at("10.0.1.1"), "coord") == 200


def test_one_address_failures_slow_only_that_address_at_its_higher_limit(
    client: TestClient, client_at: Callable[[str], TestClient], engine: Engine, coordinator: int
) -> None:
    """Failures from one address on several usernames do not stop another user behind that
    address; at the per-address limit (50) the address gets 429, except for an account that
    signed in from it before; other addresses are not concerned."""
    school = client_at("192.0.2.7")
    for number in range(5):
        fail(school, f"guess{number}", 2)
    assert sign_in_status(school, "coord") == 200
    add_failures(engine, "guess", ["192.0.2.7"] * 40)
    refused = school.post("/api/auth/login", json={"username": "other", "password": PASSWORD})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert sign_in_status(school, "coord") == 200
    assert sign_in_status(client, "coord") == 200


def test_the_delay_of_a_pair_grows_and_ends(
    client: TestClient, engine: Engine, coordinator: int
) -> None:
    """From the fifth failure of a (username, address) pair, each attempt waits 2, 4, 8 …
    seconds after the last failure (Retry-After says how long); then it may try again."""
    fail(client, "coord", 5)
    date_failures(engine, 0)
    response = client.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 2
    date_failures(engine, 3)
    fail(client, "coord", 1)
    response = client.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    assert response.status_code == 429
    assert 3 <= int(response.headers["retry-after"]) <= 4
    date_failures(engine, 5)
    fail(client, "coord", 1)
    response = client.post("/api/auth/login", json={"username": "coord", "password": PASSWORD})
    assert response.status_code == 429
    assert 7 <= int(response.headers["retry-after"]) <= 8
    date_failures(engine, 9)
    assert sign_in_status(client, "coord") == 200


def test_a_known_address_is_not_slowed_by_a_distributed_guess(
    client: TestClient, client_at: Callable[[str], TestClient], engine: Engine, coordinator: int
) -> None:
    """After 20 failures of a username from many addresses, addresses that never signed in
    to it wait; one it signed in from in the last 90 days does not."""
    login(client, "coord")
    add_failures(engine, "coord", [f"10.0.{n}.1" for n in range(20)])
    refused = client_at("10.9.9.9").post(
        "/api/auth/login", json={"username": "coord", "password": PASSWORD}
    )
    assert refused.status_code == 429
    assert sign_in_status(client, "coord") == 200
    with Session(engine) as session:
        session.exec(update(KnownSignIn).values(last_at=utcnow() - dt.timedelta(days=91)))
        session.commit()
    assert sign_in_status(client, "coord") == 429


def test_success_clears_the_failures_of_the_pair(
    client: TestClient, client_at: Callable[[str], TestClient], coordinator: int
) -> None:
    """A successful sign-in forgets its (username, address) pair's failures: N-1 more are
    allowed again from there."""
    fail(client, "coord", 4)
    login(client, "coord")
    fail(client, "coord", 4)
    login(client, "coord")


def test_parallel_guesses_of_one_pair_cannot_all_pass(
    engine: Engine, settings: Settings, coordinator: int
) -> None:
    """Eight simultaneous wrong passwords of a pair one failure below its limit: one is
    checked, the seven others wait (each attempt counts before its password is hashed)."""
    add_failures(engine, "coord", ["192.0.2.9"] * 4)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def guess() -> None:
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                sessions.sign_in(
                    session,
                    username="coord",
                    password="wrong",
                    client="192.0.2.9",
                    settings=settings,
                )
                outcomes.append("signed in")
            except Unauthenticated:
                outcomes.append("checked")
            except TooManyAttempts:
                outcomes.append("waits")

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["checked"] + ["waits"] * 7


# API tokens.


def test_api_token_create_list_revoke(client: TestClient, coordinator: int) -> None:
    """A token is shown once, works as a bearer, is listed without its value, and revokes."""
    headers = bearer(client, "coord")
    created = client.post("/api/auth/tokens", json={"name": "nightly import"}, headers=headers)
    assert created.status_code == 201
    token = created.json()
    assert token["expires_at"] is None
    assert token["name"] == "nightly import"
    as_token = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/auth/me", headers=as_token).json()["username"] == "coord"
    listed = client.get("/api/auth/tokens", headers=headers)
    assert listed.json() == [{k: v for k, v in token.items() if k != "token"}]
    assert token["token"] not in listed.text
    assert client.delete(f"/api/auth/tokens/{token['id']}", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=as_token).status_code == 401
    assert client.get("/api/auth/tokens", headers=headers).json() == []


def test_api_token_with_days_expires(client: TestClient, coordinator: int) -> None:
    """A token made with `days` expires that many days later."""
    created = client.post(
        "/api/auth/tokens", json={"name": "short", "days": 2}, headers=bearer(client, "coord")
    ).json()
    expires_at = dt.datetime.fromisoformat(created["expires_at"])
    assert abs(expires_at - (utcnow() + dt.timedelta(days=2))) < dt.timedelta(minutes=1)


def test_someone_elses_token_is_not_found(
    client: TestClient, engine: Engine, coordinator: int
) -> None:
    """Revoking another person's token, or a missing one, is 404, and the token still works."""
    add_account(engine, "partner", Role.PARTNER, partner="OFAJ")
    theirs = client.post(
        "/api/auth/tokens", json={"name": "theirs"}, headers=bearer(client, "partner")
    ).json()
    mine = bearer(client, "coord")
    assert client.delete(f"/api/auth/tokens/{theirs['id']}", headers=mine).status_code == 404
    assert client.delete("/api/auth/tokens/9999", headers=mine).status_code == 404
    as_theirs = {"Authorization": f"Bearer {theirs['token']}"}
    assert client.get("/api/auth/me", headers=as_theirs).status_code == 200


def test_student_cannot_create_api_tokens(
    client: TestClient, coordinator: int, school: str
) -> None:
    """API tokens are for staff: a student gets 403."""
    path = invite(client, bearer(client, "coord"))
    student = {"Authorization": f"Bearer {client.post(path).json()['token']}"}
    response = client.post("/api/auth/tokens", json={"name": "mine"}, headers=student)
    assert response.status_code == 403
    assert client.get("/api/auth/tokens", headers=student).status_code == 403


# Accounts.


def create(client: TestClient, headers: dict[str, str], **fields: object) -> dict[str, object]:
    body = {"username": "new", "display_name": "New Person", **fields}
    response = client.post("/api/accounts", json=body, headers=headers)
    answer: dict[str, object] = {"status": response.status_code, **response.json()}
    return answer


def test_coordinator_creates_staff_accounts_that_can_sign_in(
    client: TestClient, coordinator: int, school: str
) -> None:
    """A teacher and a partner account are created, listed, and sign in."""
    headers = bearer(client, "coord")
    teacher = create(
        client, headers, username="prof", role="teacher", password=NEW_PASSWORD, school_id="LP-A"
    )
    assert teacher["status"] == 201
    assert teacher["school_id"] == "LP-A"
    assert "password_hash" not in teacher
    partner = create(
        client, headers, username="ofaj", role="partner", password=NEW_PASSWORD, partner="OFAJ"
    )
    assert partner["status"] == 201
    listed = client.get("/api/accounts", headers=headers)
    assert {account["username"] for account in listed.json()} == {"coord", "prof", "ofaj"}
    assert "password" not in listed.text
    login(client, "prof", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"role": "coordinator"}, "password"),
        ({"role": "coordinator", "password": "short"}, "password"),
        ({"role": "teacher", "password": NEW_PASSWORD}, "school_id"),
        ({"role": "teacher", "password": NEW_PASSWORD, "school_id": "NOPE"}, "school_id"),
        ({"role": "partner", "password": NEW_PASSWORD}, "partner"),
        ({"role": "partner", "password": NEW_PASSWORD, "partner": "NOPE"}, "partner"),
        ({"role": "coordinator", "password": NEW_PASSWORD, "partner": "OFAJ"}, "partner"),
        ({"role": "student"}, "student_id"),
        ({"role": "student", "student_id": "NOPE"}, "student_id"),
        ({"role": "student", "student_id": "S1", "password": NEW_PASSWORD}, "password"),
        ({"role": "coordinator", "password": NEW_PASSWORD, "username": "coord"}, "username"),
    ],
)
def test_account_rules_name_the_field(
    client: TestClient, coordinator: int, school: str, fields: dict[str, object], field: str
) -> None:
    """Each broken rule refuses the account with a 422 whose problem names the field."""
    answer = create(client, bearer(client, "coord"), **fields)
    assert answer["status"] == 422
    problems = answer["problems"]
    assert isinstance(problems, list)
    assert [problem.split(":")[0] for problem in problems] == [field]
    assert field in str(answer["detail"])


def test_every_broken_rule_is_listed(client: TestClient, coordinator: int, school: str) -> None:
    """An account breaking several rules gets all of them listed at once."""
    answer = create(
        client, bearer(client, "coord"), username="coord", role="teacher", password="short"
    )
    problems = answer["problems"]
    assert isinstance(problems, list)
    assert [problem.split(":")[0] for problem in problems] == ["username", "password", "school_id"]


def test_student_account_and_unknown_role(
    client: TestClient, coordinator: int, school: str
) -> None:
    """A student account needs only its student; an unknown role is a 422 naming `role`."""
    headers = bearer(client, "coord")
    assert create(client, headers, role="student", student_id="S1")["status"] == 201
    again = create(client, headers, username="other", role="student", student_id="S1")
    assert again["problems"] == ["student_id: student 'S1' already has an account"]
    unknown = create(client, headers, role="admin", password=NEW_PASSWORD)
    assert unknown["status"] == 422
    assert unknown["errors"][0]["field"] == "body.role"  # type: ignore[index]


def test_only_coordinators_manage_accounts(
    client: TestClient, engine: Engine, coordinator: int, school: str
) -> None:
    """A teacher may neither list nor create accounts (403)."""
    add_account(engine, "teacher", Role.TEACHER, school_id="LP-A")
    headers = bearer(client, "teacher")
    assert client.get("/api/accounts", headers=headers).status_code == 403
    answer = create(client, headers, role="coordinator", password=NEW_PASSWORD)
    assert answer["status"] == 403


def test_deactivation_ends_every_credential(
    client: TestClient, engine: Engine, coordinator: int, school: str
) -> None:
    """Deactivating an account ends its sessions and tokens and refuses its sign-in."""
    teacher_id = add_account(engine, "teacher", Role.TEACHER, school_id="LP-A")
    teacher = bearer(client, "teacher")
    token = client.post("/api/auth/tokens", json={"name": "t"}, headers=teacher).json()["token"]
    headers = bearer(client, "coord")
    response = client.post(f"/api/accounts/{teacher_id}/deactivate", headers=headers)
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert client.get("/api/auth/me", headers=teacher).status_code == 401
    as_token = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=as_token).status_code == 401
    refused = client.post("/api/auth/login", json={"username": "teacher", "password": PASSWORD})
    assert refused.status_code == 401
    assert client.post("/api/accounts/9999/deactivate", headers=headers).status_code == 404


def test_coordinator_cannot_deactivate_themself(client: TestClient, coordinator: int) -> None:
    """Deactivating one's own account is refused, so nobody locks the service out by mistake."""
    headers = bearer(client, "coord")
    response = client.post(f"/api/accounts/{coordinator}/deactivate", headers=headers)
    assert response.status_code == 422
    assert client.get("/api/auth/me", headers=headers).status_code == 200


# Secrets never leak.


def test_invalid_login_body_never_echoes_the_password(client: TestClient) -> None:
    """A 422 on a too-long or malformed login names the field but never shows the password."""
    secret = "hunter2-" + "x" * 2000
    too_long = client.post("/api/auth/login", json={"username": "coord", "password": secret})
    assert too_long.status_code == 422
    assert "hunter2" not in too_long.text
    assert too_long.json()["errors"][0]["field"] == "body.password"
    malformed = client.post("/api/auth/login", json={"username": ["a"], "password": "hunter2-zz"})
    assert malformed.status_code == 422
    assert "hunter2" not in malformed.text


def test_no_secret_in_the_audit_log(
    client: TestClient, engine: Engine, coordinator: int, school: str
) -> None:
    """Sign-in, tokens, accounts and invitations leave audit events, none holding a secret."""
    session_token = login(client, "coord")["token"]
    assert isinstance(session_token, str)
    headers = {"Authorization": f"Bearer {session_token}"}
    api_token = client.post("/api/auth/tokens", json={"name": "t"}, headers=headers).json()
    create(
        client, headers, username="prof", role="teacher", password=NEW_PASSWORD, school_id="LP-A"
    )
    path = invite(client, headers)
    invitation_token = path.removeprefix("/invite/")
    student_token = client.post(path).json()["token"]
    client.post("/api/auth/logout", headers=headers)
    secrets = [PASSWORD, NEW_PASSWORD, session_token, api_token["token"], invitation_token]
    secrets += [student_token, *(token_hash(secret) for secret in secrets)]
    with Session(engine) as session:
        events = session.exec(select(AuditEvent)).all()
    actions = {event.action for event in events}
    assert {"sign_in", "create_api_token", "create_account", "invite_student"} <= actions
    assert {"accept_invitation", "sign_out"} <= actions
    for event in events:
        text = event.model_dump_json()
        assert not [secret for secret in secrets if secret in text], event


# Student invitations.


def test_invitation_page_does_not_use_the_link(
    client: TestClient, coordinator: int, school: str
) -> None:
    """Opening the link twice shows (in French first) whom it signs in; the POST still works."""
    path = invite(client, bearer(client, "coord"))
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Bonjour Léa" in page.text
        assert f'<form method="post" action="{path}/accept">' in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    client.cookies.clear()
    signed_in = client.post(path)
    assert signed_in.status_code == 200
    assert signed_in.json()["account"]["role"] == "student"
    assert signed_in.json()["account"]["student_id"] == "S1"
    assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
    assert client.get("/api/auth/me").json()["student_id"] == "S1"


def test_invitation_works_once(client: TestClient, coordinator: int, school: str) -> None:
    """A second POST is refused as gone (410), and the page then says to ask for a new link."""
    path = invite(client, bearer(client, "coord"))
    assert client.post(path).status_code == 200
    second = client.post(path)
    assert second.status_code == 410
    assert "no longer valid" in second.json()["detail"]
    page = client.get(path)
    assert page.status_code == 410
    assert "ask your teacher for a new one" in page.text


def test_unknown_invitation_page_is_404(client: TestClient) -> None:
    """A made-up link gets a 404 page asking for a new one."""
    page = client.get("/invite/not-a-real-token")
    assert page.status_code == 404
    assert "ask your teacher for a new one" in page.text
    assert client.post("/invite/not-a-real-token").status_code == 404


def test_expired_invitation_is_refused(
    client: TestClient, engine: Engine, coordinator: int, school: str
) -> None:
    """An invitation past its expiry shows the 410 page and cannot sign in (410 too)."""
    path = invite(client, bearer(client, "coord"))
    with Session(engine) as session:
        session.exec(
            update(Credential)
            .where(col(Credential.kind) == CredentialKind.INVITATION)
            .values(expires_at=utcnow() - dt.timedelta(minutes=1))
        )
        session.commit()
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410


def test_new_invitation_replaces_the_old_one(
    client: TestClient, coordinator: int, school: str
) -> None:
    """Inviting again ends the earlier unused link (410); one student account only."""
    headers = bearer(client, "coord")
    first = invite(client, headers)
    second = invite(client, headers)
    assert client.post(first).status_code == 410
    assert client.post(second).status_code == 200
    accounts_listed = client.get("/api/accounts", headers=headers).json()
    assert [a["username"] for a in accounts_listed if a["role"] == "student"] == ["S1"]


def test_invitation_expires_after_the_configured_days(
    client: TestClient, coordinator: int, school: str
) -> None:
    """The link lasts invitation_days (14 by default)."""
    response = client.post("/api/students/S1/invitation", headers=bearer(client, "coord"))
    expires_at = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert abs(expires_at - (utcnow() + dt.timedelta(days=14))) < dt.timedelta(minutes=1)


def test_teacher_invites_only_students_of_their_school(
    client: TestClient, engine: Engine, school: str
) -> None:
    """A teacher of the student's school gets 201; of another school, 404; a partner, 403."""
    add_account(engine, "teacher", Role.TEACHER, school_id="LP-A")
    add_account(engine, "partner", Role.PARTNER, partner="OFAJ")
    teacher = bearer(client, "teacher")
    assert client.post("/api/students/S1/invitation", headers=teacher).status_code == 201
    assert client.post("/api/students/S2/invitation", headers=teacher).status_code == 404
    assert client.post("/api/students/NOPE/invitation", headers=teacher).status_code == 404
    partner = bearer(client, "partner")
    assert client.post("/api/students/S1/invitation", headers=partner).status_code == 403


def test_invitation_page_escapes_the_name(
    client: TestClient, engine: Engine, coordinator: int, school: str
) -> None:
    """A name with markup is shown as text, not run as HTML."""
    add_student(engine, "S3", "LP-A", first_name="<script>alert(1)</script>")
    page = client.get(invite(client, bearer(client, "coord"), "S3"))
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_student_username_falls_back_to_email(
    client: TestClient, engine: Engine, coordinator: int, school: str
) -> None:
    """When the student_id is already someone's username, the student's e-mail is used."""
    add_account(engine, "S2", Role.COORDINATOR)
    path = invite(client, bearer(client, "coord"), "S2")
    assert client.post(path).json()["account"]["username"] == "s2@example.org"


def test_concurrent_accepts_sign_in_once(
    engine: Engine, settings: Settings, coordinator: int, school: str, client: TestClient
) -> None:
    """Eight simultaneous uses of one link: exactly one opens a session."""
    token = invite(client, bearer(client, "coord")).removeprefix("/invite/")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def accept() -> None:
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                invitations.accept_invitation(session, token, settings=settings)
                outcomes.append("signed in")
            except Gone:
                outcomes.append("refused")

    threads = [threading.Thread(target=accept) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["signed in"]


# The create-coordinator command.


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL pointing at a new, empty SQLite file; the settings cache reset around."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run_create_coordinator(username: str, input_text: str, *extra: str) -> tuple[int, str]:
    args = ["create-coordinator", "--username", username, "--display-name", "Chef", *extra]
    result = CliRunner().invoke(cli_app, args, input=input_text)
    return result.exit_code, result.output


def test_create_coordinator_then_sign_in(cli_database: str) -> None:
    """The command migrates a new database, creates the coordinator, who can then sign in."""
    code, output = run_create_coordinator("chef", NEW_PASSWORD + "\n", "--password-stdin")
    assert code == 0, output
    assert "Coordinator 'chef' created" in output
    assert "Next:" in output
    assert NEW_PASSWORD not in output
    engine = make_engine(cli_database)
    try:
        with TestClient(create_app(get_settings(), engine)) as client:
            body = login(client, "chef", NEW_PASSWORD)
            assert body["account"] == {
                "id": 1,
                "username": "chef",
                "display_name": "Chef",
                "role": "coordinator",
                "school_id": None,
                "partner": None,
                "student_id": None,
                "active": True,
            }
    finally:
        engine.dispose()


def test_create_coordinator_prompts_with_confirmation(cli_database: str) -> None:
    """Without --password-stdin the password is asked twice; a mismatch asks again."""
    typed = f"{NEW_PASSWORD}\nsomething else\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    code, output = run_create_coordinator("chef", typed)
    assert code == 0, output
    assert NEW_PASSWORD not in output


def test_create_coordinator_refusals_exit_2(cli_database: str) -> None:
    """A weak password or a taken username stops the command with status 2 and the reason."""
    code, output = run_create_coordinator("chef", "short\n", "--password-stdin")
    assert code == 2
    assert "password: a password needs at least 10 characters" in output
    assert run_create_coordinator("chef", NEW_PASSWORD + "\n", "--password-stdin")[0] == 0
    code, output = run_create_coordinator("chef", NEW_PASSWORD + "\n", "--password-stdin")
    assert code == 2
    assert "username: 'chef' is already taken" in output


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("prof", "azertyuiop"),  # a common password
        ("prof", "password1234"),
        ("prof", "Prof-of-the-year"),  # holds the username
        ("marie.curie@lycee.example", "marie.curie2027!"),  # holds the mailbox name
    ],
)
def test_a_common_password_or_one_holding_the_username_is_refused(
    client: TestClient, coordinator: int, school: str, username: str, password: str
) -> None:
    """A new account's password may not be among the first an attacker tries, nor contain
    its username; the refusal names the password field."""
    headers = bearer(client, "coord")
    refused = create(
        client, headers, username=username, role="teacher", password=password, school_id="LP-A"
    )
    assert refused["status"] == 422
    assert any(str(problem).startswith("password: ") for problem in refused["problems"])


def test_usernames_compare_without_case(
    client: TestClient, client_at: Callable[[str], TestClient], coordinator: int, school: str
) -> None:
    """ "Prof@…" and "prof@…" are one account: it signs in typed either way, a second
    account differing only in case is refused, and failures in any case share one limit."""
    headers = bearer(client, "coord")
    made = create(
        client,
        headers,
        username="Prof@Lycee.example",
        role="teacher",
        password=NEW_PASSWORD,
        school_id="LP-A",
    )
    assert made["status"] == 201
    login(client, "prof@lycee.example", NEW_PASSWORD)
    again = create(
        client,
        headers,
        username="PROF@lycee.example",
        role="teacher",
        password=NEW_PASSWORD,
        school_id="LP-A",
    )
    assert again["status"] == 422
    guesser = client_at("10.0.2.1")
    for typed in (
        "PROF@LYCEE.EXAMPLE",
        "prof@lycee.example",
        "Prof@Lycee.Example",
        "pRoF@lycee.example",
        "prof@LYCEE.example",
    ):
        fail(guesser, typed, 1)
    blocked = guesser.post(
        "/api/auth/login", json={"username": "Prof@Lycee.example", "password": NEW_PASSWORD}
    )
    assert blocked.status_code == 429
