"""Tests of the schools and students routes: who sees which, filters and pages, school changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mobility_match import records
from mobility_match.models import AuditEvent, Role, School, SchoolKind
from tests.accounts import add_school, signed_in
from tests.factories import make_student


@dataclass(frozen=True)
class People:
    """Authorization headers of one person per role."""

    coordinator: dict[str, str]
    teacher: dict[str, str]
    student: dict[str, str]
    partner: dict[str, str]


@pytest.fixture
def people(engine: Engine) -> People:
    """Schools LP-A (4 students) and LP-B (2 students), and one person per role.

    The teacher teaches at LP-A; the student is A1 (Léa Martin) of LP-A.
    """
    add_school(engine, "LP-A")
    add_school(engine, "LP-B", SchoolKind.CONTROL)
    cohort = [
        make_student("A1", school_id="LP-A", first_name="Léa", last_name="Martin"),
        make_student("A2", school_id="LP-A", first_name="Hugo", last_name="Bernard", trade="mv"),
        make_student("A3", school_id="LP-A", first_name="Inès", last_name="Martinez"),
        make_student("A4", school_id="LP-A", first_name="Léo", last_name="Petit", trade="mv"),
        make_student("B1", school_id="LP-B", first_name="Emma", last_name="Martin"),
        make_student("B2", school_id="LP-B", first_name="Nathan", last_name="Roux"),
    ]
    with Session(engine) as session:
        session.add_all(records.student_row(student) for student in cohort)
        session.commit()
    return People(
        coordinator=signed_in(engine, "coord", Role.COORDINATOR),
        teacher=signed_in(engine, "teacher", Role.TEACHER, school_id="LP-A"),
        student=signed_in(engine, "A1", Role.STUDENT, student_id="A1"),
        partner=signed_in(engine, "ofaj", Role.PARTNER, partner="OFAJ"),
    )


def student_ids(client: TestClient, who: dict[str, str], query: str = "") -> list[str]:
    response = client.get(f"/api/students{query}", headers=who)
    assert response.status_code == 200, response.text
    return [student["student_id"] for student in response.json()["data"]]


# Schools.


def test_coordinators_see_every_school_and_teachers_their_own(
    client: TestClient, people: People
) -> None:
    """Coordinators list every school; a teacher lists only the school they teach at."""
    everything = client.get("/api/schools", headers=people.coordinator).json()
    assert [(s["school_id"], s["name"], s["kind"]) for s in everything] == [
        ("LP-A", "Lycée LP-A", "pilot"),
        ("LP-B", "Lycée LP-B", "control"),
    ]
    own = client.get("/api/schools", headers=people.teacher).json()
    assert [school["school_id"] for school in own] == ["LP-A"]


def test_students_and_partners_may_not_list_schools(client: TestClient, people: People) -> None:
    """Students and partners get 403 on the schools."""
    for who in (people.student, people.partner):
        assert client.get("/api/schools", headers=who).status_code == 403
        assert client.get("/api/schools/LP-A", headers=who).status_code == 403


def test_another_school_is_not_found_for_a_teacher(client: TestClient, people: People) -> None:
    """A teacher gets their own school, and 404 for another one, as for one that does not exist."""
    assert client.get("/api/schools/LP-A", headers=people.teacher).status_code == 200
    other = client.get("/api/schools/LP-B", headers=people.teacher)
    missing = client.get("/api/schools/NOPE", headers=people.teacher)
    assert other.status_code == missing.status_code == 404
    assert client.get("/api/schools/LP-B", headers=people.coordinator).status_code == 200


def test_a_coordinator_adds_and_changes_a_school(
    client: TestClient, engine: Engine, people: People
) -> None:
    """A new school is created (201), a taken id is 409, and a change is audited."""
    body = {
        "school_id": "CFA-C",
        "name": "CFA du Bâtiment",
        "kind": "control",
        "contact_name": "Paul Roche",
        "phone": "04 65 71 00 01",
    }
    created = client.post("/api/schools", json=body, headers=people.coordinator)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "address": "",
        "city": "",
        "contact_email": "",
        "contact_function": "",
        "oid": "",
        **body,
    }
    again = client.post("/api/schools", json=body, headers=people.coordinator)
    assert again.status_code == 409
    changed = client.put(
        "/api/schools/CFA-C",
        json={"name": "CFA BTP", "kind": "pilot"},
        headers=people.coordinator,
    )
    assert changed.status_code == 200, changed.text
    # Contact details not sent are kept: clients that know only name and kind lose nothing.
    assert changed.json() == {**created.json(), "name": "CFA BTP", "kind": "pilot"}
    with Session(engine) as session:
        school = session.get_one(School, "CFA-C")
        assert (school.name, school.kind) == ("CFA BTP", SchoolKind.PILOT)
        events = session.exec(
            select(AuditEvent).where(AuditEvent.object_id == "CFA-C").order_by(col(AuditEvent.id))
        ).all()
    assert [event.action for event in events] == ["school.create", "school.update"]
    assert events[1].details == {"changed": ["kind", "name"]}


def test_only_coordinators_change_schools(client: TestClient, people: People) -> None:
    """A teacher may not add or change a school (403); an unknown school to change is 404."""
    body = {"school_id": "CFA-C", "name": "CFA", "kind": "pilot"}
    assert client.post("/api/schools", json=body, headers=people.teacher).status_code == 403
    change = {"name": "Renamed", "kind": "pilot"}
    assert client.put("/api/schools/LP-A", json=change, headers=people.teacher).status_code == 403
    missing = client.put("/api/schools/NOPE", json=change, headers=people.coordinator)
    assert missing.status_code == 404


# Students.


def test_each_role_sees_the_students_of_its_scope(client: TestClient, people: People) -> None:
    """Coordinators see all students, a teacher the school's, a student only themselves."""
    assert student_ids(client, people.coordinator) == ["A2", "B1", "A1", "A3", "A4", "B2"]
    assert student_ids(client, people.teacher) == ["A2", "A1", "A3", "A4"]
    assert student_ids(client, people.student) == ["A1"]
    assert client.get("/api/students", headers=people.partner).status_code == 403


def test_a_student_outside_ones_scope_is_not_found(client: TestClient, people: People) -> None:
    """Another school's student, or another student, answers 404 like a missing one."""
    assert client.get("/api/students/B1", headers=people.teacher).status_code == 404
    assert client.get("/api/students/A2", headers=people.student).status_code == 404
    assert client.get("/api/students/NOPE", headers=people.coordinator).status_code == 404
    assert client.get("/api/students/A1", headers=people.partner).status_code == 403
    own = client.get("/api/students/A1", headers=people.student)
    assert own.status_code == 200
    body = own.json()
    assert body["first_name"] == "Léa"
    assert body["languages"] == {"en": "B1"}
    assert body["birth_date"] == dt.date(2006, 3, 14).isoformat()
    assert body["version"] == 1


def test_students_are_filtered_by_school_trade_and_name(client: TestClient, people: People) -> None:
    """Filters narrow the list; name words match first or last names, ignoring case."""
    coordinator = people.coordinator
    assert student_ids(client, coordinator, "?school_id=LP-B") == ["B1", "B2"]
    assert student_ids(client, coordinator, "?trade=MV") == ["A2", "A4"]
    assert student_ids(client, coordinator, "?q=martin") == ["B1", "A1", "A3"]
    assert student_ids(client, coordinator, "?q=LÉA%20martin") == ["A1"]
    assert student_ids(client, coordinator, "?q=PET&school_id=LP-A&trade=mv") == ["A4"]
    assert student_ids(client, coordinator, "?q=%25") == []
    # A filter never widens a scope.
    assert student_ids(client, people.teacher, "?school_id=LP-B") == []


def test_students_come_in_pages_with_the_total_count(client: TestClient, people: People) -> None:
    """limit and offset cut the sorted list; count is the number of matches in all pages."""
    first = client.get("/api/students?limit=4", headers=people.coordinator).json()
    second = client.get("/api/students?limit=4&offset=4", headers=people.coordinator).json()
    assert first["count"] == second["count"] == 6
    assert [s["student_id"] for s in first["data"] + second["data"]] == [
        "A2",
        "B1",
        "A1",
        "A3",
        "A4",
        "B2",
    ]
    too_many = client.get("/api/students?limit=501", headers=people.coordinator)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "query.limit"
    negative = client.get("/api/students?offset=-1", headers=people.coordinator)
    assert negative.status_code == 422
