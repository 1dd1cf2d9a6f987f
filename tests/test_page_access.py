"""The access matrix of the pages: every page × who is asking × whose object.

On a small published round (tests/published.py: school A sends Inès D'Almeida to
Leipzig with OFAJ and Hugo Bernard to Bristol; school B sends Chloé Petit to
Kraków), every GET page route is opened:

- without a session: a redirect to the sign-in page (but the public pages);
- by a teacher of school A, the partner OFAJ and the student Inès, with their own
  objects: never a server error, and never a word of what is not theirs;
- with another school's student or school, another partner's offer, another
  account's job or upload: 404 (or 403 for a page the role never opens), and
  still not a word of it.

Then every POST page route is sent, with a valid form token, by each role on
another's object: refused (403 or 404), never done. A page route missing from the
tables below fails the test, so a new page cannot dodge it.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.models import Account, ChecklistStep, Role
from mobility_match.services import drafts, jobs
from mobility_match.web.app import ROUTERS
from tests.accounts import add_account
from tests.pages import browser, text_of, token_of
from tests.published import publish_small_round

PUBLIC = {"/", "/login", "/invite/{token}", "/review/{token}", "/follow-up/{token}"}
MISSING = "999999"

FOREIGN_TO = {
    "teacher": ("Chloé", "Petit", "Krakowski", "CFA des Métiers"),
    "partner": ("Chloé", "Hugo", "Krakowski", "Bristol Traders"),
    "student": ("Hugo", "Bernard", "Chloé", "Petit", "Krakowski", "Bristol Traders"),
}
"""What each person of school A's side must never read on a page."""

HOME = {"teacher": "/teacher", "partner": "/partner", "student": "/student"}


def _page_routes(method: str) -> list[str]:
    return sorted(
        route.path_format
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and method in route.methods
    )


def _bearer_cookie(client: TestClient, header: dict[str, str]) -> None:
    client.cookies.set(SESSION_COOKIE, header["Authorization"].removeprefix("Bearer "))


@pytest.fixture
def world(app: FastAPI, engine: Engine, client: TestClient) -> dict[str, object]:
    """The small published round, a job and an upload of school B's side, and the values
    each path parameter takes: (own, someone else's)."""
    published = publish_small_round(engine, client)
    with Session(engine, expire_on_commit=False) as session:
        teacher_b = session.exec(
            select(Account).where(Account.username == "teacher-b@example.org")
        ).one()
        foreign_job = jobs.create_documents_zip(
            session,
            Viewer.of(teacher_b),
            published.round_id,
            "SCH-B",
            [],
            settings=app.state.settings,
        )
        partner_b_id = add_account(engine, "abc@example.org", Role.PARTNER, partner="ABC_WIEDZY")
        partner_b = session.get_one(Account, partner_b_id)
        foreign_draft = drafts.create_draft(
            session, Viewer.of(partner_b), "offers", [(b"offer_id\nPL-9\n", "pl.csv")]
        )
        step_b = session.exec(
            select(ChecklistStep.id).where(ChecklistStep.student_id == "S-PL")
        ).first()
    return {
        "published": published,
        "values": {
            "round_id": (str(published.round_id), str(published.round_id)),
            "other_id": (str(published.round_id), MISSING),
            "student_id": ("S-MINOR", "S-PL"),
            "school_id": ("SCH-A", "SCH-B"),
            "offer_id": ("DE-1", "PL-1"),
            "job_id": (MISSING, foreign_job.id),
            "draft": (MISSING, foreign_draft),
            "kind": ("student_letter", "learning_agreement"),
            "fmt": ("csv", "csv"),
            "step_id": (MISSING, str(step_b)),
            "document_id": (MISSING, MISSING),
            "account_id": (MISSING, MISSING),
            "token": ("not-a-link", "not-a-link"),
        },
    }


def _fill(path: str, values: dict[str, tuple[str, str]], which: int) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"{path}: no value for the path parameter {name}"
        return values[name][which]

    return re.sub(r"\{(\w+)\}", value, path)


def _signed_in(app: FastAPI, engine: Engine, world: dict[str, object]) -> dict[str, TestClient]:
    published = world["published"]
    clients = {name: browser(app) for name in ("teacher", "partner", "student")}
    _bearer_cookie(clients["teacher"], published.teacher_a)  # type: ignore[attr-defined]
    _bearer_cookie(clients["partner"], published.partner)  # type: ignore[attr-defined]
    _bearer_cookie(clients["student"], published.minor)  # type: ignore[attr-defined]
    return clients


def test_every_page_without_a_session_leads_to_sign_in(
    app: FastAPI, world: dict[str, object]
) -> None:
    """Every page but the public ones sends a browser without a session to the sign-in page,
    and coming back to it afterwards."""
    values = world["values"]
    with browser(app) as anonymous:
        for path in _page_routes("GET"):
            concrete = _fill(path, values, 0)  # type: ignore[arg-type]
            answer = anonymous.get(concrete)
            if path in PUBLIC:
                assert answer.status_code in (200, 404), path
                continue
            assert answer.status_code == 303, (path, answer.status_code)
            assert answer.headers["location"].startswith("/login?next="), path


def test_no_page_shows_another_school_s_or_partner_s_data(
    app: FastAPI, engine: Engine, world: dict[str, object]
) -> None:
    """A teacher, a partner and a student open every page, with their own objects and with
    others': pages of other roles answer 403, others' objects 404, nothing is a server
    error, and no page holds a name, company or school that is not theirs."""
    values = world["values"]
    clients = _signed_in(app, engine, world)
    for name, client in clients.items():
        with client:
            home = client.get(HOME[name])
            assert home.status_code == 200, (name, home.text[:300])
            for path in _page_routes("GET"):
                if path in PUBLIC:
                    continue
                own = _fill(path, values, 0)  # type: ignore[arg-type]
                foreign = _fill(path, values, 1)  # type: ignore[arg-type]
                for which, concrete in enumerate([own] if foreign == own else [own, foreign]):
                    answer = client.get(concrete)
                    assert answer.status_code < 500, (name, concrete, answer.status_code)
                    if which == 1 and answer.status_code != 303:
                        assert answer.status_code in (403, 404, 422), (name, concrete)
                    shown = text_of(answer.text)
                    leaked = [word for word in FOREIGN_TO[name] if word in shown]
                    assert not leaked, (name, concrete, leaked)


def test_no_form_acts_on_another_s_object(
    app: FastAPI, engine: Engine, world: dict[str, object]
) -> None:
    """Every POST page route, sent with a valid form token by a teacher, a partner and a
    student on someone else's object (or on a page of another role), is refused with 403
    or 404: nothing is done."""
    values = world["values"]
    clients = _signed_in(app, engine, world)
    allowed_prefix = {
        "teacher": ("/teacher", "/schools"),
        "partner": ("/partner",),
        "student": ("/student",),
    }
    everyone = {
        "/login",
        "/logout",
        "/language",
        "/invite/{token}/accept",
        "/review/{token}",
        "/follow-up/{token}",
    }
    for name, client in clients.items():
        with client:
            token = token_of(client)
            for path in _page_routes("POST"):
                if path in everyone:
                    continue
                concrete = _fill(path, values, 1)  # type: ignore[arg-type]
                answer = client.post(concrete, data={"csrf_token": token})
                own_pages = path.startswith(allowed_prefix[name])
                expected = (404, 422) if own_pages and "{" in path else (403,)
                if own_pages and "{" not in path:
                    continue  # a form of one's own with nothing of another's in it
                assert answer.status_code in expected, (name, concrete, answer.status_code)
