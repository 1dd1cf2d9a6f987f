"""An import that would change who a stored student is, or a student in a published round,
applies only once the importer confirms that list: over the API (a dry run, then the same
file with the confirmation code) and on the pages (the preview flags them; applying it
confirms exactly what it showed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mobility_match.demo import generate_students, students_frame
from mobility_match.models import AuditEvent, Role, Student
from tests.accounts import add_account, session_headers
from tests.factories import make_student
from tests.files import csv_bytes
from tests.pages import browser, hidden_value, new_signed_in, submit, text_of
from tests.programme import sample_offers
from tests.published import publish_small_round
from tests.test_imports_http import import_samples, upload

CONFIRMATION_NEEDED = "https://mobility-match.example/problems/confirmation-needed"


@pytest.fixture
def coordinator(engine: Engine) -> dict[str, str]:
    account = add_account(engine, "coord", Role.COORDINATOR, password=None)
    return session_headers(engine, account)


def stored(engine: Engine) -> dict[str, tuple[str, str, dt.date, int]]:
    with Session(engine) as session:
        return {
            s.student_id: (s.first_name, s.last_name, s.birth_date, s.version)
            for s in session.exec(select(Student))
        }


def dry_run(client: TestClient, headers: dict[str, str], data: bytes) -> Any:
    files = [("file", ("cohort.csv", data, "text/csv"))]
    return client.post("/api/imports/students/dry-run", files=files, headers=headers)


def confirmed(client: TestClient, headers: dict[str, str], data: bytes, code: str) -> Any:
    files = [("file", ("cohort.csv", data, "text/csv"))]
    return client.post(
        "/api/imports/students", files=files, data={"confirm": code}, headers=headers
    )


def test_renaming_or_changing_a_birth_date_needs_the_dry_run_s_confirmation(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """A reused id with another name or birth date is refused with the list (nothing
    written); the dry run gives the same list and its code; the file sent again with that
    code applies it, and the audit keeps who was confirmed."""
    import_samples(client, coordinator)
    cohort = students_frame(generate_students(30, 4, sample_offers()))
    upload(client, "students", coordinator, ("cohort.csv", csv_bytes(cohort)))
    before = stored(engine)
    changed = cohort.copy()
    renamed, reborn = changed.loc[3, "student_id"], changed.loc[8, "student_id"]
    old_name = f"{changed.loc[3, 'first_name']} {changed.loc[3, 'last_name']}"
    changed.loc[3, "first_name"] = "Yasmine"
    changed.loc[8, "birth_date"] = "2001-01-02"
    data = csv_bytes(changed)

    refused = upload(client, "students", coordinator, ("cohort.csv", data))
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["type"] == CONFIRMATION_NEEDED
    listed = {item["student_id"]: item for item in body["to_confirm"]}
    assert set(listed) == {renamed, reborn}
    assert listed[renamed]["stored_name"] == old_name
    assert listed[renamed]["identity"]["first_name"][1] == "Yasmine"
    assert listed[reborn]["identity"] == {
        "birth_date": [before[reborn][2].isoformat(), "2001-01-02"]
    }
    assert stored(engine) == before

    plan = dry_run(client, coordinator, data)
    assert plan.status_code == 200, plan.text
    planned = plan.json()
    assert (planned["created"], planned["updated"], planned["unchanged"]) == (0, 2, 28)
    assert planned["to_confirm"] == body["to_confirm"]
    assert planned["confirmation"] == body["confirmation"]
    assert stored(engine) == before

    wrong = confirmed(client, coordinator, data, "0" * 24)
    assert wrong.status_code == 409
    assert stored(engine) == before

    applied = confirmed(client, coordinator, data, planned["confirmation"])
    assert applied.status_code == 200, applied.text
    assert applied.json()["updated"] == 2
    after = stored(engine)
    assert after[renamed][0] == "Yasmine"
    assert after[reborn][2] == dt.date(2001, 1, 2)
    with Session(engine) as session:
        event = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "students.import")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert event is not None
    assert sorted(event.details["confirmed"]) == sorted([renamed, reborn])


def test_other_changes_need_no_confirmation(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """A changed e-mail of a student in no published round is applied at once."""
    import_samples(client, coordinator)
    cohort = students_frame(generate_students(10, 5, sample_offers()))
    upload(client, "students", coordinator, ("cohort.csv", csv_bytes(cohort)))
    changed = cohort.copy()
    changed.loc[2, "email"] = "nouvelle.adresse@example.org"
    plan = dry_run(client, coordinator, csv_bytes(changed)).json()
    assert (plan["to_confirm"], plan["confirmation"]) == ([], "")
    applied = upload(client, "students", coordinator, ("cohort.csv", csv_bytes(changed)))
    assert applied.status_code == 200, applied.text
    assert applied.json()["updated"] == 1


def _s_uk_file(email: str) -> bytes:
    """Hugo Bernard of the small published round, as a students file, with `email`."""
    today = dt.date.today()
    end = today + dt.timedelta(days=40 + 41)
    student = make_student(
        "S-UK",
        first_name="Hugo",
        last_name="Bernard",
        school_id="SCH-A",
        preferences=("UK-1",),
        available_from=today,
        available_to=end + dt.timedelta(days=30),
        email=email,
    )
    frame: pd.DataFrame = students_frame([student])
    return csv_bytes(frame)


def test_a_student_in_a_published_round_is_changed_only_once_confirmed(
    client: TestClient, engine: Engine
) -> None:
    """Even a change of e-mail, for a student in a published round, is listed with the
    round's name and applied only with the code."""
    published = publish_small_round(engine, client)
    data = _s_uk_file("hugo.bernard@example.org")
    refused = upload(client, "students", published.coordinator, ("s-uk.csv", data))
    assert refused.status_code == 409, refused.text
    (item,) = refused.json()["to_confirm"]
    assert (item["student_id"], item["identity"]) == ("S-UK", {})
    assert item["published_rounds"] == ["Printemps"]
    assert item["changed"] == ["email"]
    code = refused.json()["confirmation"]
    files = [("file", ("s-uk.csv", data, "text/csv"))]
    applied = client.post(
        "/api/imports/students",
        files=files,
        data={"confirm": code},
        headers=published.coordinator,
    )
    assert applied.status_code == 200, applied.text
    with Session(engine) as session:
        assert session.get_one(Student, "S-UK").email == "hugo.bernard@example.org"


def test_the_page_flags_a_new_birth_date_and_applying_confirms_what_it_showed(
    app: FastAPI, client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """The preview shows the stored birth date; "Apply" imports it. When the database
    changed in between (another change to confirm), the preview comes back instead."""
    import_samples(client, coordinator)
    cohort = students_frame(generate_students(10, 6, sample_offers()))
    upload(client, "students", coordinator, ("cohort.csv", csv_bytes(cohort)))
    student_id = cohort.loc[1, "student_id"]
    old_birth = cohort.loc[1, "birth_date"]
    changed = cohort.copy()
    changed.loc[1, "birth_date"] = "2002-02-03"
    changed.loc[5, "first_name"] = "Zélie"  # not renamed yet: nothing to confirm for her
    with browser(app) as pages:
        new_signed_in(pages, engine, "coord-pages", Role.COORDINATOR)
        sent = submit(
            pages,
            "/coordinator/imports/students",
            page="/coordinator/imports",
            files=[("file", ("cohort.csv", csv_bytes(changed), "text/csv"))],
        )
        preview_url = sent.headers["location"]
        preview = pages.get(preview_url)
        shown = text_of(preview.text)
        assert "La date de naissance change" in shown
        assert f"Enregistrée aujourd'hui : {old_birth}" in shown
        confirm = hidden_value(preview.text, "confirm")
        # Meanwhile someone else renames a stored student: the file now renames him too.
        with Session(engine) as session:
            other = session.get_one(Student, cohort.loc[5, "student_id"])
            other.first_name = "Autre"
            session.add(other)
            session.commit()
        stale = submit(pages, f"{preview_url}/apply", {"confirm": confirm}, page=preview_url)
        assert stale.status_code == 422
        assert "Le nom change" in text_of(stale.text)
        assert stored(engine)[student_id][2].isoformat() == old_birth
        again = hidden_value(stale.text, "confirm")
        assert again != confirm
        applied = submit(pages, f"{preview_url}/apply", {"confirm": again}, page=preview_url)
        assert applied.status_code == 303, text_of(applied.text)[:1000]
    assert stored(engine)[student_id][2] == dt.date(2002, 2, 3)
