"""A small published round for document and checklist tests: three placements, two schools.

School A sends a minor to Germany and an adult to the United Kingdom, school B
an adult to Poland. Placements start 40 days from today, so the steps due more
than 40 days before departure are already overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match import records
from mobility_match.domain import Country
from mobility_match.models import Role, School, SchoolKind
from tests.accounts import add_account, session_headers
from tests.factories import make_offer, make_student
from tests.programme import wait_for_round

START_IN_DAYS = 40


@dataclass(frozen=True)
class Published:
    """The round, its dates, and a signed-in header per person."""

    round_id: int
    start: dt.date
    end: dt.date
    coordinator: dict[str, str]
    teacher_a: dict[str, str]
    teacher_b: dict[str, str]
    partner: dict[str, str]
    minor: dict[str, str]
    """The minor student of school A (placed in Germany)."""


def publish_small_round(
    engine: Engine, client: TestClient, *, minor_first_name: str = "Inès"
) -> Published:
    """Store the schools, offers and students, solve and publish; return who is who."""
    today = dt.date.today()
    start = today + dt.timedelta(days=START_IN_DAYS)
    end = start + dt.timedelta(days=41)
    window = {"available_from": today, "available_to": end + dt.timedelta(days=30)}
    with Session(engine) as session:
        session.add(
            School(
                school_id="SCH-A",
                name="Lycée professionnel Jean Moulin",
                kind=SchoolKind.PILOT,
                address="12 rue Jean Jaurès, 69007 Lyon",
                city="Lyon",
                contact_name="Claire Besson",
                contact_email="mobilite@jean-moulin.example",
                phone="04 65 71 12 34",
            )
        )
        session.add(School(school_id="SCH-B", name="CFA des Métiers", kind=SchoolKind.PILOT))
        dates = {"start_date": start, "end_date": end, "places": 1}
        for offer in (
            make_offer("DE-1", accepts_minors=True, company_name="Leipziger Handel GmbH", **dates),
            make_offer(
                "UK-1",
                country=Country.UK,
                city="Bristol",
                address="5 Harbour Road, Bristol BS1 4RN",
                company_name="Bristol Traders Ltd",
                contact_name="Oliver Smith",
                **dates,
            ),
            make_offer(
                "PL-1",
                country=Country.PL,
                city="Kraków",
                address="ul. Długa 3, 31-147 Kraków",
                company_name="Krakowski Handel Sp. z o.o.",
                contact_name="Anna Nowak",
                **dates,
            ),
        ):
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        minor_birth = start - dt.timedelta(days=16 * 365)  # about 16 on departure
        for student, guardian in (
            (
                make_student(
                    "S-MINOR",
                    first_name=minor_first_name,
                    last_name="D'Almeida",
                    birth_date=minor_birth,
                    school_id="SCH-A",
                    preferences=("DE-1",),
                    **window,
                ),
                {"guardian_name": "Sofia D'Almeida", "guardian_phone": "06 39 98 12 34"},
            ),
            (
                make_student(
                    "S-UK",
                    first_name="Hugo",
                    last_name="Bernard",
                    school_id="SCH-A",
                    preferences=("UK-1",),
                    **window,
                ),
                {},
            ),
            (
                make_student(
                    "S-PL",
                    first_name="Chloé",
                    last_name="Petit",
                    school_id="SCH-B",
                    preferences=("PL-1",),
                    **window,
                ),
                {},
            ),
        ):
            stored = records.student_row(student)
            stored.extra = guardian
            session.add(stored)
        session.commit()
    coordinator = session_headers(
        engine, add_account(engine, "coordinator@example.org", Role.COORDINATOR)
    )
    published = Published(
        round_id=_publish(client, coordinator),
        start=start,
        end=end,
        coordinator=coordinator,
        teacher_a=session_headers(
            engine, add_account(engine, "teacher-a@example.org", Role.TEACHER, school_id="SCH-A")
        ),
        teacher_b=session_headers(
            engine, add_account(engine, "teacher-b@example.org", Role.TEACHER, school_id="SCH-B")
        ),
        partner=session_headers(
            engine, add_account(engine, "ofaj@example.org", Role.PARTNER, partner="OFAJ")
        ),
        minor=session_headers(
            engine,
            add_account(engine, "S-MINOR", Role.STUDENT, student_id="S-MINOR", password=None),
        ),
    )
    return published


def _publish(client: TestClient, coordinator: dict[str, str]) -> int:
    created = client.post("/api/rounds", json={"name": "Printemps"}, headers=coordinator)
    round_id: int = created.json()["id"]
    client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).raise_for_status()
    solved = wait_for_round(client, round_id, coordinator)
    assert solved["report"]["placed"] == 3, solved
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish",
        json={"response_deadline": deadline},
        headers=coordinator,
    ).raise_for_status()
    return round_id
