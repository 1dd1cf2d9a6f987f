"""The outcome of a published placement: recorded by a teacher (own school), a partner (own
offers) or a coordinator; refused with the field named, nothing written, when wrong."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.models import (
    Account,
    Assignment,
    AuditEvent,
    PlacementOutcome,
    Response,
    Role,
    Round,
    RoundSnapshot,
    RoundStatus,
    School,
    SchoolKind,
    utcnow,
)
from mobility_match.services.rounds import create_round
from tests.accounts import add_account, session_headers
from tests.factories import make_student
from tests.pages import browser, sign_in_as, submit, text_of

TODAY = dt.date.today()
START, END = TODAY - dt.timedelta(days=60), TODAY - dt.timedelta(days=10)


@dataclass(frozen=True)
class World:
    round_id: int
    draft_id: int
    coordinator: dict[str, str]
    teacher_a: dict[str, str]
    partner: dict[str, str]
    partner_id: int


def _placement(round_id: int, student_id: str, school_id: str, offer: str | None) -> Assignment:
    partner = {"DE-1": "OFAJ", "PL-1": "ABC_WIEDZY"}.get(offer or "")
    return Assignment(
        round_id=round_id,
        student_id=student_id,
        school_id=school_id,
        first_name="Léa",
        last_name=f"Martin {student_id}",
        offer_id=offer,
        partner=partner,
        company_name=f"Firma {offer}" if offer else "",
        city="Leipzig" if offer else "",
        country="DE" if offer else "",
        start_date=START if offer else None,
        end_date=END if offer else None,
        response=Response.CONFIRMED if offer else None,
        eligible=True,
    )


@pytest.fixture
def world(engine: Engine) -> World:
    """A published round (placements ended 10 days ago) in schools A and B, and a draft."""
    with Session(engine) as session:
        session.add(School(school_id="SCH-A", name="Lycée A", kind=SchoolKind.PILOT))
        session.add(School(school_id="SCH-B", name="Lycée B", kind=SchoolKind.PILOT))
        session.flush()
        students = [
            records.student_row(make_student(sid, school_id=school))
            for sid, school in (("S-A", "SCH-A"), ("S-B", "SCH-B"), ("S-U", "SCH-A"))
        ]
        session.add_all(students)
        published = Round(name="Printemps", status=RoundStatus.PUBLISHED, published_at=utcnow())
        draft = Round(name="Brouillon", status=RoundStatus.SOLVED)
        session.add_all([published, draft])
        session.flush()
        assert published.id is not None
        assert draft.id is not None
        session.add(
            RoundSnapshot(
                round_id=published.id,
                students=[records.student_snapshot(s) for s in students],
                offers=[],
            )
        )
        session.add_all(
            [
                _placement(published.id, "S-A", "SCH-A", "DE-1"),
                _placement(published.id, "S-B", "SCH-B", "PL-1"),
                _placement(published.id, "S-U", "SCH-A", None),
                _placement(draft.id, "S-A", "SCH-A", "DE-1"),
            ]
        )
        session.commit()
        round_id, draft_id = published.id, draft.id
    partner_id = add_account(
        engine, "ofaj@example.org", Role.PARTNER, partner="OFAJ", password=None
    )
    return World(
        round_id,
        draft_id,
        session_headers(
            engine, add_account(engine, "coord@example.org", Role.COORDINATOR, password=None)
        ),
        session_headers(
            engine,
            add_account(
                engine, "teacher-a@example.org", Role.TEACHER, school_id="SCH-A", password=None
            ),
        ),
        session_headers(engine, partner_id),
        partner_id,
    )


def _put(
    client: TestClient, world: World, student: str, headers: dict[str, str], **body: object
) -> httpx.Response:
    return client.put(
        f"/api/rounds/{world.round_id}/placements/{student}/outcome", json=body, headers=headers
    )


def _stored(engine: Engine, round_id: int, student_id: str) -> PlacementOutcome | None:
    with Session(engine) as session:
        return session.exec(
            select(PlacementOutcome).where(
                PlacementOutcome.round_id == round_id, PlacementOutcome.student_id == student_id
            )
        ).first()


def test_each_role_records_an_outcome_in_its_scope(
    engine: Engine, client: TestClient, world: World
) -> None:
    """A teacher records the outcome of the school's student, the partner changes it for its
    own offer (version 2), a coordinator records any; each change is audited."""
    answer = _put(client, world, "S-A", world.teacher_a, outcome="completed")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "completed"
    day = (START + dt.timedelta(days=20)).isoformat()
    answer = _put(
        client,
        world,
        "S-A",
        world.partner,
        outcome="interrupted",
        interrupted_on=day,
        reason="health",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 2
    assert _put(client, world, "S-B", world.coordinator, outcome="not_started").status_code == 200
    stored = _stored(engine, world.round_id, "S-A")
    assert stored is not None
    assert stored.reason is not None
    assert (stored.outcome.value, stored.interrupted_on, stored.reason.value) == (
        "interrupted",
        START + dt.timedelta(days=20),
        "health",
    )
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "placement_outcome.record")
        ).all()
    assert len(events) == 3
    assert events[1].details["before"]["outcome"] == "completed"


def test_outcomes_outside_the_scope_are_missing(client: TestClient, world: World) -> None:
    """Another school's student (teacher) or another partner's placement answers 404; a
    student who is not placed, or a round not published, is refused (409)."""
    assert _put(client, world, "S-B", world.teacher_a, outcome="completed").status_code == 404
    assert _put(client, world, "S-B", world.partner, outcome="completed").status_code == 404
    assert _put(client, world, "S-U", world.teacher_a, outcome="completed").status_code == 409
    draft = client.put(
        f"/api/rounds/{world.draft_id}/placements/S-A/outcome",
        json={"outcome": "completed"},
        headers=world.coordinator,
    )
    assert draft.status_code == 409
    assert "not published" in draft.json()["detail"]


def test_bad_outcomes_are_refused_naming_the_field(
    engine: Engine, client: TestClient, world: World
) -> None:
    """An unknown outcome or reason, an interruption without date or reason or outside the
    placement, are refused as RFC 9457 problems naming the field; nothing is written."""
    unknown = _put(client, world, "S-A", world.teacher_a, outcome="finished")
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in unknown.json()["errors"]] == ["body.outcome"]
    reason = _put(client, world, "S-A", world.teacher_a, outcome="interrupted", reason="boredom")
    assert [e["field"] for e in reason.json()["errors"]] == ["body.reason"]
    missing = _put(client, world, "S-A", world.teacher_a, outcome="interrupted")
    assert missing.status_code == 422
    problems = missing.json()["problems"]
    assert any(p.startswith("interrupted_on: ") for p in problems), problems
    assert any(p.startswith("reason: ") for p in problems), problems
    outside = _put(
        client,
        world,
        "S-A",
        world.teacher_a,
        outcome="interrupted",
        interrupted_on=(END + dt.timedelta(days=1)).isoformat(),
        reason="host",
    )
    assert outside.status_code == 422
    assert "outside the placement" in outside.json()["problems"][0]
    assert _stored(engine, world.round_id, "S-A") is None


def test_partner_records_an_outcome_from_its_placements_page(
    app: FastAPI, engine: Engine, world: World
) -> None:
    """The partner's placements page has an outcome form per placement; a wrong date is
    said in the next page's message, a right one recorded and shown."""
    with browser(app) as page:
        sign_in_as(page, engine, world.partner_id)
        action = f"/partner/placements/{world.round_id}/S-A/outcome"
        form = {"next": "/partner/placements", "outcome": "interrupted", "reason": "family"}
        refused = submit(
            page, action, {**form, "interrupted_on": "2000-01-01"}, page="/partner/placements"
        )
        assert refused.status_code == 303
        shown = text_of(page.get("/partner/placements").text)
        assert "outside the placement" in shown
        day = (START + dt.timedelta(days=3)).isoformat()
        done = submit(page, action, {**form, "interrupted_on": day}, page="/partner/placements")
        assert done.status_code == 303
        assert action in page.get("/partner/placements").text
    assert _stored(engine, world.round_id, "S-A") is not None


def test_a_round_takes_the_available_students_of_pilot_schools_only(engine: Engine) -> None:
    """Graduates of control schools, and the pilots' graduates of an earlier cohort (kept
    for the follow-up, their availability over), are stored like the others but a round's
    snapshot leaves them out."""
    today = dt.date.today()
    with Session(engine) as session:
        session.add(School(school_id="SCH-P", name="Pilote", kind=SchoolKind.PILOT))
        session.add(School(school_id="SCH-C", name="Témoin", kind=SchoolKind.CONTROL))
        session.flush()
        for student_id, school_id, available_to in (
            ("PILOT-1", "SCH-P", today + dt.timedelta(days=200)),
            ("PILOT-PAST", "SCH-P", today - dt.timedelta(days=1)),
            ("CONTROL-1", "SCH-C", today + dt.timedelta(days=200)),
        ):
            student = make_student(student_id, school_id=school_id)
            row = records.student_row(student)
            row.available_from = today - dt.timedelta(days=300)
            row.available_to = available_to
            session.add(row)
        session.commit()
    coordinator_id = add_account(engine, "c@example.org", Role.COORDINATOR, password=None)
    with Session(engine) as session:
        viewer = Viewer.of(session.get_one(Account, coordinator_id))
        round_ = create_round(session, viewer, name="R")
        snapshot = session.get_one(RoundSnapshot, round_.id)
    ids = [student["student_id"] for student in snapshot.students]
    assert ids == ["PILOT-1"]
