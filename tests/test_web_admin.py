"""The coordinators' administration pages: accounts, sign-in blocks, the audit log, schools;
and the API routes for new passwords and sign-in blocks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from mobility_match.api import accounts_admin
from mobility_match.models import Account, AuditEvent, LoginAttempt, Role, utcnow
from tests.accounts import PASSWORD, add_account, add_school, session_headers
from tests.pages import browser, follow, new_signed_in, submit, text_of
from tests.published import publish_small_round


@pytest.fixture
def coordinator(app: FastAPI, engine: Engine) -> Iterator[TestClient]:
    """A coordinator's browser; school S1 exists."""
    add_school(engine, "S1")
    with browser(app) as pages:
        new_signed_in(pages, engine, "admin@x.example", Role.COORDINATOR)
        yield pages


def shown_password(html: str) -> str:
    found = re.search(r'id="password">([^<]+)<', html)
    assert found, "the page shows no password"
    return found.group(1)


def api_login(client: TestClient, username: str, password: str) -> int:
    answer = client.post("/api/auth/login", json={"username": username, "password": password})
    return answer.status_code


def test_a_teacher_account_is_created_with_a_password_shown_once_that_signs_in(
    coordinator: TestClient, client: TestClient, engine: Engine
) -> None:
    """The answer to the form shows a random password (not cached, not in a cookie or a
    redirect); the API sign-in accepts it; the account page never shows it again."""
    created = submit(
        coordinator,
        "/coordinator/accounts",
        {
            "role": "teacher",
            "username": "prof@s1.example",
            "display_name": "Anne Prof",
            "school_id": "S1",
        },
        page="/coordinator/accounts",
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    assert "location" not in created.headers
    password = shown_password(created.text)
    assert password not in created.headers.get("set-cookie", "")
    assert "Compte créé" in text_of(created.text)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "prof@s1.example")).one()
        assert account.role is Role.TEACHER
        assert account.school_id == "S1"
        assert password not in (account.password_hash or "")
        details = [event.details for event in session.exec(select(AuditEvent)).all()]
    assert password not in str(details)
    assert api_login(client, "prof@s1.example", password) == 200
    listing = coordinator.get("/coordinator/accounts")
    assert "prof@s1.example" in listing.text
    assert password not in listing.text


def test_a_refused_account_shows_each_problem_next_to_its_field(
    coordinator: TestClient, engine: Engine
) -> None:
    """A teacher without a school and a taken username: both said at their fields, 422,
    nothing created."""
    add_account(engine, "taken@x.example", Role.COORDINATOR)
    refused = submit(
        coordinator,
        "/coordinator/accounts",
        {"role": "teacher", "username": "taken@x.example", "school_id": ""},
        page="/coordinator/accounts",
    )
    assert refused.status_code == 422
    assert re.search(r'id="error-username">[^<]*already taken', refused.text)
    assert re.search(r'id="error-school_id">[^<]*needs the school_id', refused.text)
    assert 'id="password"' not in refused.text


def test_a_new_password_ends_the_old_one_and_the_sessions(
    coordinator: TestClient, client: TestClient, engine: Engine
) -> None:
    """After "new password", the old password fails, the new one works once shown, and the
    account's open sessions no longer sign anything in."""
    account_id = add_account(engine, "partner@x.example", Role.PARTNER, partner="OFAJ")
    old_session = session_headers(engine, account_id)
    assert client.get("/api/auth/me", headers=old_session).status_code == 200
    reset = submit(
        coordinator, f"/coordinator/accounts/{account_id}/password", page="/coordinator/accounts"
    )
    assert reset.status_code == 200
    assert reset.headers["cache-control"] == "no-store"
    password = shown_password(reset.text)
    assert client.get("/api/auth/me", headers=old_session).status_code == 401
    assert api_login(client, "partner@x.example", PASSWORD) == 401
    assert api_login(client, "partner@x.example", password) == 200
    with Session(engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert "account.reset_password" in actions


def failures_just_now(engine: Engine) -> None:
    """Date every failed sign-in now: a pair's first delay (2 seconds) runs from its last
    failure, and a slow machine must not see it end during the test."""
    with Session(engine) as session:
        session.exec(update(LoginAttempt).values(at=utcnow()))
        session.commit()


def test_a_blocked_username_is_listed_and_unblocked(
    coordinator: TestClient, client: TestClient, engine: Engine
) -> None:
    """Five wrong passwords from one address make the username wait there (even the right
    password is refused); the accounts page lists the username and the address; after
    "Unblock", the right password signs in at once."""
    add_account(engine, "guessed@x.example", Role.TEACHER, school_id="S1")
    for _ in range(5):
        assert api_login(client, "guessed@x.example", "wrong password") == 401
    failures_just_now(engine)
    assert api_login(client, "guessed@x.example", PASSWORD) == 429
    page = coordinator.get("/coordinator/accounts")
    blocked = page.text[
        page.text.index('id="blocked-heading"') : page.text.index('id="create-heading"')
    ]
    assert "guessed@x.example" in blocked
    assert "<td>testclient</td>" in blocked
    lifted = submit(
        coordinator,
        "/coordinator/accounts/unblock",
        {"username": "guessed@x.example"},
        page="/coordinator/accounts",
    )
    assert "guessed@x.example peut de nouveau se connecter" in text_of(
        follow(coordinator, lifted).text
    )
    assert api_login(client, "guessed@x.example", PASSWORD) == 200
    page = coordinator.get("/coordinator/accounts")
    assert "Aucun identifiant n'est bloqué" in text_of(page.text)


def test_deactivating_an_account_stops_its_sign_in(
    coordinator: TestClient, client: TestClient, engine: Engine
) -> None:
    """A deactivated account's password no longer signs in."""
    account_id = add_account(engine, "leaving@x.example", Role.TEACHER, school_id="S1")
    done = submit(
        coordinator, f"/coordinator/accounts/{account_id}/deactivate", page="/coordinator/accounts"
    )
    assert "désactivé" in text_of(follow(coordinator, done).text)
    assert api_login(client, "leaving@x.example", PASSWORD) == 401


def test_the_audit_log_filters_by_action(coordinator: TestClient, engine: Engine) -> None:
    """Filtered by an action, the log lists those events only, newest first."""
    for name in ("one", "two"):
        submit(
            coordinator,
            "/coordinator/accounts",
            {"role": "coordinator", "username": f"{name}@x.example"},
            page="/coordinator/accounts",
        )
    submit(
        coordinator,
        "/coordinator/schools/S1",
        {"name": "Lycée Un", "kind": "pilot"},
        page="/coordinator/schools/S1",
    )
    page = coordinator.get("/coordinator/audit", params={"action": "create_account"})
    assert page.status_code == 200
    rows = re.findall(r"<tbody>(.*?)</tbody>", page.text, re.S)[0]
    assert rows.count("<tr>") == 2
    assert "school.update" not in rows
    assert rows.index("two@x.example") < rows.index("one@x.example")
    assert "2 événements" in text_of(page.text)
    unfiltered = coordinator.get("/coordinator/audit")
    assert "school.update" in unfiltered.text
    bad = coordinator.get("/coordinator/audit", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "AAAA-MM-JJ" in text_of(bad.text)


def test_the_school_page_shows_its_overdue_steps_only(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """School A's page lists its placed students' overdue steps and none of school B's; the
    schools page counts each school's students."""
    publish_small_round(engine, client)
    with browser(app) as pages:
        new_signed_in(pages, engine, "admin@x.example", Role.COORDINATOR)
        school = pages.get("/coordinator/schools/SCH-A")
        schools = pages.get("/coordinator/schools")
    assert school.status_code == 200
    shown = text_of(school.text)
    assert "Étapes de préparation en retard" in shown
    assert "Bernard" in shown  # Hugo Bernard, placed in the UK from school A
    assert "Petit" not in shown  # Chloé Petit is school B's
    assert re.search(r"\d+ étapes en retard", shown)
    assert 'href="/schools/SCH-A/documents"' in school.text
    assert "/api/checklists/overdue.csv?school_id=SCH-A" in school.text
    assert "Jean Moulin" in text_of(schools.text)
    row = re.search(r"SCH-A.*?</tr>", schools.text, re.S)
    assert row
    assert ">2</td>" in row.group(0)


def test_the_school_details_are_saved_or_refused_at_their_field(
    coordinator: TestClient, engine: Engine
) -> None:
    """Saved contact details are shown again; a too long city is refused next to its field."""
    saved = submit(
        coordinator,
        "/coordinator/schools/S1",
        {"name": "Lycée Un", "kind": "control", "city": "Lyon", "contact_name": "Claire"},
        page="/coordinator/schools/S1",
    )
    page = follow(coordinator, saved)
    assert 'value="Lyon"' in page.text
    assert "enregistrées" in text_of(page.text)
    refused = submit(
        coordinator,
        "/coordinator/schools/S1",
        {"name": "Lycée Un", "kind": "pilot", "city": "x" * 121},
        page="/coordinator/schools/S1",
    )
    assert refused.status_code == 422
    assert re.search(r'id="error-city">[^<]*120', refused.text)


def test_the_api_gives_a_new_password_and_lifts_a_block(
    app: FastAPI, client: TestClient, engine: Engine
) -> None:
    """POST /api/accounts/{id}/password answers the new password (not cached); blocked
    usernames are listed and lifted through the API; only coordinators may."""
    if not any(
        isinstance(route, APIRoute) and route.path == "/api/accounts/blocked"
        for route in app.routes
    ):
        app.include_router(accounts_admin.router)
    coordinator = session_headers(engine, add_account(engine, "c@x.example", Role.COORDINATOR))
    teacher = session_headers(engine, add_account(engine, "t@x.example", Role.TEACHER))
    target = add_account(engine, "target@x.example", Role.TEACHER)
    answer = client.post(f"/api/accounts/{target}/password", headers=coordinator)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert api_login(client, "target@x.example", answer.json()["password"]) == 200
    assert client.post(f"/api/accounts/{target}/password", headers=teacher).status_code == 403
    for _ in range(5):
        api_login(client, "target@x.example", "wrong password")
    failures_just_now(engine)
    listed = client.get("/api/accounts/blocked", headers=coordinator).json()
    assert [item["username"] for item in listed] == ["target@x.example"]
    lift = {"username": "target@x.example"}
    lifted = client.post("/api/accounts/blocked/lift", json=lift, headers=coordinator)
    assert lifted.json()["failures_forgotten"] == 5
    again = client.post("/api/accounts/blocked/lift", json=lift, headers=coordinator)
    assert again.json()["failures_forgotten"] == 0
    assert client.get("/api/accounts/blocked", headers=coordinator).json() == []


def test_a_blocked_address_is_listed_and_unblocked_on_the_page_and_the_api(
    coordinator: TestClient, client: TestClient, engine: Engine
) -> None:
    """Fifty failures from one address on many usernames block every new sign-in from it
    (a whole school behind it); the accounts page lists the address with its counts, and
    "Unblock" lets a teacher behind it sign in at once; the API lists and lifts it too,
    and the lift is audited."""
    add_account(engine, "behind@x.example", Role.TEACHER, school_id="S1")
    with Session(engine) as session:
        for number in range(50):
            session.add(LoginAttempt(username=f"guess{number % 7}", client="testclient"))
        session.commit()
    failures_just_now(engine)
    assert api_login(client, "behind@x.example", PASSWORD) == 429
    page = coordinator.get("/coordinator/accounts")
    listed = text_of(
        page.text[page.text.index("Adresses bloquées") : page.text.index('id="create-heading"')]
    )
    assert "testclient 50 7" in listed
    lifted = submit(
        coordinator,
        "/coordinator/accounts/unblock-address",
        {"client": "testclient"},
        page="/coordinator/accounts",
    )
    shown = text_of(follow(coordinator, lifted).text)
    assert "Les connexions depuis testclient sont de nouveau possibles" in shown
    assert "Adresses bloquées" not in shown
    assert api_login(client, "behind@x.example", PASSWORD) == 200

    headers = session_headers(engine, add_account(engine, "c2@x.example", Role.COORDINATOR))
    add_failures_from(engine, "10.9.8.7", 50)
    listed_api = client.get("/api/accounts/blocked-addresses", headers=headers).json()
    assert listed_api[0]["client"] == "10.9.8.7"
    assert (listed_api[0]["failures"], listed_api[0]["usernames"]) == (50, 1)
    lift = client.post(
        "/api/accounts/blocked-addresses/lift", json={"client": "10.9.8.7"}, headers=headers
    )
    assert lift.json()["failures_forgotten"] == 50
    assert client.get("/api/accounts/blocked-addresses", headers=headers).json() == []
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.action == "sign_in.lift_address_block")
        ).all()
    assert len(actions) == 2


def add_failures_from(engine: Engine, client: str, count: int) -> None:
    with Session(engine) as session:
        for _ in range(count):
            session.add(LoginAttempt(username="someone", client=client, at=utcnow()))
        session.commit()


def test_out_of_range_ids_and_dates_are_refused_not_errors(coordinator: TestClient) -> None:
    """An account id no integer column holds is a 422 page; the last day of the calendar
    as `until` filters nothing out (neither answers 500)."""
    for action in ("password", "deactivate"):
        answer = submit(
            coordinator,
            f"/coordinator/accounts/99999999999999999999/{action}",
            page="/coordinator/accounts",
        )
        assert answer.status_code == 422
    assert coordinator.get("/coordinator/audit?until=9999-12-31").status_code == 200


def test_a_school_contact_email_is_checked_as_on_the_teachers_form(
    coordinator: TestClient,
) -> None:
    refused = submit(
        coordinator,
        "/coordinator/schools/S1",
        {"name": "Lycée Un", "kind": "pilot", "contact_email": "not an address"},
        page="/coordinator/schools/S1",
    )
    assert refused.status_code == 422
    assert re.search(r'id="error-contact_email">[^<]*not an e-mail address', refused.text)
