"""Changes through the API with the session cookie must come from our own pages.

A browser sends the cookie with any request, whoever's page makes it; a form or a
`text/plain` fetch of another site needs no permission to be sent. So a change
authorised by the cookie alone is refused when the browser says it comes from
another site (`Origin`, `Sec-Fetch-Site`); a bearer token, which no browser sends on
its own, needs no such proof.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from mobility_match import records
from mobility_match.models import Credential, CredentialKind, Role, Round
from tests.accounts import add_school
from tests.factories import make_student
from tests.pages import browser, new_signed_in

EVIL = "http://evil.example"


def _rounds(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Round)).one()


def test_a_change_with_the_cookie_from_another_site_is_refused(
    app: FastAPI, engine: Engine
) -> None:
    """With the session cookie, a POST whose Origin is another site, or that the browser
    marks cross-site, is refused with 403 and creates nothing; from our own origin it works."""
    with browser(app) as client:
        new_signed_in(client, engine, "c@x.example", Role.COORDINATOR)
        body = {"name": "Tour"}
        forged = client.post("/api/rounds", json=body, headers={"Origin": EVIL})
        marked = client.post("/api/rounds", json=body, headers={"Sec-Fetch-Site": "cross-site"})
        assert forged.status_code == 403
        assert marked.status_code == 403
        assert _rounds(engine) == 0
        ours = client.post(
            "/api/rounds",
            json=body,
            headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        )
        assert ours.status_code == 201
        assert _rounds(engine) == 1


def test_a_forged_text_plain_post_gets_no_invitation_link(app: FastAPI, engine: Engine) -> None:
    """The forgery the issue showed — a `text/plain` POST from another site asking for a
    student's sign-in link with a teacher's cookie — gets no link and issues none."""
    add_school(engine, "S1")
    with Session(engine) as session:
        session.add(records.student_row(make_student("S-1", school_id="S1")))
        session.commit()
    with browser(app) as client:
        new_signed_in(client, engine, "t@x.example", Role.TEACHER, school_id="S1")
        forged = client.post(
            "/api/students/S-1/invitation",
            content=b"x",
            headers={"Origin": EVIL, "Content-Type": "text/plain"},
        )
    assert forged.status_code == 403
    assert "invite" not in forged.text
    with Session(engine) as session:
        invitations = session.exec(
            select(func.count())
            .select_from(Credential)
            .where(Credential.kind == CredentialKind.INVITATION)
        ).one()
    assert invitations == 0


def test_a_bearer_token_needs_no_origin_proof(app: FastAPI, engine: Engine) -> None:
    """A script with a bearer token may send any Origin: the token is not ambient."""
    with browser(app) as client:
        new_signed_in(client, engine, "c@x.example", Role.COORDINATOR)
        token = client.cookies.get("mobility_match_session")
        client.cookies.clear()
        answer = client.post(
            "/api/rounds",
            json={"name": "Tour"},
            headers={"Origin": EVIL, "Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201


def test_reading_with_the_cookie_from_anywhere_changes_nothing_and_is_allowed(
    app: FastAPI, engine: Engine
) -> None:
    """GET is not a change: a page's link to a PDF or an export works from any referrer
    (what it returns is not readable by another site anyway)."""
    with browser(app) as client:
        new_signed_in(client, engine, "c@x.example", Role.COORDINATOR)
        answer = client.get("/api/rounds", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 200
