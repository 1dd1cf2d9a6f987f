"""Preparation checklists over HTTP: made at publication, ticked by whoever may, overdue views."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mobility_match.models import Role
from tests.accounts import add_account, session_headers
from tests.programme import wait_for_round
from tests.published import Published, publish_small_round


@pytest.fixture
def world(engine: Engine, client: TestClient) -> Published:
    return publish_small_round(engine, client)


def checklist(client: TestClient, world: Published, student_id: str) -> dict[str, Any]:
    response = client.get(
        f"/api/rounds/{world.round_id}/placements/{student_id}/checklist",
        headers=world.coordinator,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def step(body: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in body["steps"] if s["key"] == key)
    return found


def test_publishing_gives_each_placed_student_a_dated_checklist(
    client: TestClient, world: Published
) -> None:
    """The minor in Germany gets the minor-only steps; the adult in the UK the visa steps."""
    minor = checklist(client, world, "S-MINOR")
    adult_uk = checklist(client, world, "S-UK")
    adult_pl = checklist(client, world, "S-PL")
    minor_keys = {s["key"] for s in minor["steps"]}
    uk_keys = {s["key"] for s in adult_uk["steps"]}
    pl_keys = {s["key"] for s in adult_pl["steps"]}
    assert {"exit_authorisation", "parental_consent", "youth_work_protection"} <= minor_keys
    assert not {"exit_authorisation", "parental_consent"} & (uk_keys | pl_keys)
    assert {"certificate_of_sponsorship", "visa_application"} <= uk_keys
    assert "eta" not in uk_keys  # the visa replaces it
    assert not {"certificate_of_sponsorship", "visa_application", "eta"} & (minor_keys | pl_keys)
    # Deadlines are counted back from the departure, and the end step falls on the last day.
    assert step(minor, "ceam")["due_on"] == (world.start - dt.timedelta(days=28)).isoformat()
    assert (
        step(adult_uk, "visa_application")["due_on"]
        == (world.start - dt.timedelta(days=42)).isoformat()
    )
    assert step(adult_pl, "attendance_certificate")["due_on"] == world.end.isoformat()
    dates = [s["due_on"] for s in minor["steps"]]
    assert dates == sorted(dates)
    # Legal details to check are marked, with what to check.
    assert step(adult_uk, "visa_application")["check_legal"] is True
    assert step(adult_uk, "visa_application")["legal_note"]


def test_who_may_tick_which_step(client: TestClient, engine: Engine, world: Published) -> None:
    """Students tick their own steps, teachers their school's student and teacher steps."""
    minor = checklist(client, world, "S-MINOR")
    student_step = step(minor, "ceam")["id"]
    teacher_step = step(minor, "learning_agreement")["id"]
    coordinator_step = step(minor, "travel_booked")["id"]
    other_school_step = step(checklist(client, world, "S-PL"), "ceam")["id"]

    def tick(step_id: int, headers: dict[str, str]) -> int:
        return client.put(f"/api/checklist-steps/{step_id}/done", headers=headers).status_code

    assert tick(student_step, world.minor) == 200
    assert tick(teacher_step, world.minor) == 403
    assert tick(other_school_step, world.minor) == 404
    assert tick(teacher_step, world.teacher_a) == 200
    assert tick(coordinator_step, world.teacher_a) == 403
    assert tick(other_school_step, world.teacher_a) == 404
    assert tick(coordinator_step, world.coordinator) == 200
    assert tick(student_step, world.partner) == 403

    mine = client.get("/api/me/checklist", headers=world.minor).json()
    done = {s["key"]: s["done_by"] for s in mine["steps"] if s["done_at"]}
    assert done == {
        "ceam": "S-MINOR",
        "learning_agreement": "teacher-a@example.org",
        "travel_booked": "coordinator@example.org",
    }
    assert mine["done"] == 3
    # Ticking twice keeps the first tick; unticking clears it.
    assert tick(student_step, world.teacher_a) == 200
    assert step(checklist(client, world, "S-MINOR"), "ceam")["done_by"] == "S-MINOR"
    untick = client.delete(f"/api/checklist-steps/{student_step}/done", headers=world.minor)
    assert untick.status_code == 200
    assert untick.json()["done_at"] is None
    # Another student cannot see the minor's steps at all.
    other = session_headers(
        engine, add_account(engine, "S-UK", Role.STUDENT, student_id="S-UK", password=None)
    )
    assert tick(student_step, other) == 404


def test_the_overdue_view_per_school_and_country(client: TestClient, world: Published) -> None:
    """Steps due before today and not done are overdue, grouped per school and country."""
    response = client.get("/api/checklists/overdue", headers=world.coordinator)
    assert response.status_code == 200, response.text
    body = response.json()
    groups = {(g["school_id"], g["country"]): g for g in body["groups"]}
    assert set(groups) == {("SCH-A", "DE"), ("SCH-A", "UK"), ("SCH-B", "PL")}
    today = dt.date.fromisoformat(body["today"])
    # Departure in 40 days: the identity document (90 days before) is 50 days late.
    late = {(s["student_id"], s["step"]["key"]): s for s in body["steps"]}
    assert late[("S-UK", "identity_document")]["days_late"] == 50
    assert all(dt.date.fromisoformat(s["step"]["due_on"]) < today for s in body["steps"])
    assert groups[("SCH-A", "UK")]["overdue_steps"] == sum(
        1 for s in body["steps"] if s["student_id"] == "S-UK"
    )
    assert body["overdue_steps"] == len(body["steps"]) > 3
    # Page by page, in the same order.
    first = client.get("/api/checklists/overdue?limit=2", headers=world.coordinator).json()
    rest = client.get("/api/checklists/overdue?offset=2", headers=world.coordinator).json()
    assert first["steps"] + rest["steps"] == body["steps"]
    assert first["overdue_steps"] == body["overdue_steps"]
    # Done steps leave the view.
    step_id = late[("S-UK", "identity_document")]["step"]["id"]
    client.put(f"/api/checklist-steps/{step_id}/done", headers=world.coordinator)
    again = client.get("/api/checklists/overdue?country=UK", headers=world.coordinator).json()
    assert ("S-UK", "identity_document") not in {
        (s["student_id"], s["step"]["key"]) for s in again["steps"]
    }
    assert {g["country"] for g in again["groups"]} == {"UK"}
    # A teacher sees the school's steps only, whatever the filter says.
    teacher = client.get("/api/checklists/overdue", headers=world.teacher_a).json()
    assert {g["school_id"] for g in teacher["groups"]} == {"SCH-A"}
    filtered = client.get("/api/checklists/overdue?school_id=SCH-B", headers=world.teacher_a)
    assert filtered.json()["steps"] == []


def test_the_overdue_steps_export_as_csv(client: TestClient, world: Published) -> None:
    """One row per overdue step, with the student, the step and the days late."""
    response = client.get("/api/checklists/overdue.csv?school_id=SCH-B", headers=world.coordinator)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows
    assert {row["student_id"] for row in rows} == {"S-PL"}
    assert {"step", "who", "due_on", "days_late", "company_name"} <= set(rows[0])
    xlsx = client.get("/api/checklists/overdue.xlsx", headers=world.teacher_a)
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"


def test_a_declined_placement_leaves_the_overdue_view(client: TestClient, world: Published) -> None:
    """Declining ends the preparation: its steps are no longer chased or tickable."""
    minor = checklist(client, world, "S-MINOR")
    client.post(
        f"/api/rounds/{world.round_id}/assignments/S-MINOR/response",
        json={"decision": "decline"},
        headers=world.minor,
    ).raise_for_status()
    body = client.get("/api/checklists/overdue", headers=world.coordinator).json()
    assert "S-MINOR" not in {s["student_id"] for s in body["steps"]}
    tick = client.put(f"/api/checklist-steps/{step(minor, 'ceam')['id']}/done", headers=world.minor)
    assert tick.status_code == 409
    assert client.get("/api/me/checklist", headers=world.minor).status_code == 404


@pytest.mark.slow
def test_a_rerun_keeps_the_ticks_of_students_kept_on_their_offer(
    client: TestClient, world: Published
) -> None:
    """Publishing a re-run carries ticks over; the old round's checklist is gone (410)."""
    ceam = step(checklist(client, world, "S-UK"), "ceam")["id"]
    client.put(f"/api/checklist-steps/{ceam}/done", headers=world.teacher_a).raise_for_status()
    rerun = client.post(f"/api/rounds/{world.round_id}/rerun", json={}, headers=world.coordinator)
    new_round = rerun.json()["id"]
    client.post(f"/api/rounds/{new_round}/solve", headers=world.coordinator).raise_for_status()
    wait_for_round(client, new_round, world.coordinator)
    deadline = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    client.post(
        f"/api/rounds/{new_round}/publish",
        json={"response_deadline": deadline},
        headers=world.coordinator,
    ).raise_for_status()
    kept = client.get(
        f"/api/rounds/{new_round}/placements/S-UK/checklist", headers=world.coordinator
    ).json()
    assert step(kept, "ceam")["done_by"] == "teacher-a@example.org"
    assert kept["done"] == 1
    old = client.get(
        f"/api/rounds/{world.round_id}/placements/S-UK/checklist", headers=world.coordinator
    )
    assert old.status_code == 410
