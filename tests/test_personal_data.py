"""A student's personal data: the export holds everything, erasure leaves no trace of the
person but keeps the programme's figures, retention lists then erases what is due.

On the small published round of tests/published.py (Inès D'Almeida, a minor of school A
placed in Leipzig, her guardian Sofia D'Almeida), every kind of record about her is made
through the API and the services: a document, a ticked step, an invitation, a failed
sign-in, an upload waiting for its preview, a school's documents ZIP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text
from sqlmodel import Session, SQLModel
from sqlmodel import select as sql_select
from typer.testing import CliRunner

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.cli import app as cli
from mobility_match.config import get_settings
from mobility_match.documents.rendering import DocumentKind
from mobility_match.models import (
    Account,
    Assignment,
    AuditEvent,
    ChecklistStep,
    Job,
    PlacementDocument,
    Role,
    RoundSnapshot,
    Student,
    UploadDraft,
)
from mobility_match.services import drafts, jobs, personal_data
from tests.accounts import add_account, session_headers
from tests.factories import make_student
from tests.pages import browser, submit, text_of
from tests.programme import wait_for_round
from tests.published import Published, publish_small_round

MINOR = "S-MINOR"
NAMES = ("Inès", "D'Almeida", "Almeida", "06 39 98 12 34")
"""The minor's names and her guardian's: none may be left anywhere after her erasure."""


def _viewer(engine: Engine, username: str) -> Viewer:
    with Session(engine) as session:
        account = session.exec(sql_select(Account).where(Account.username == username)).one()
        return Viewer.of(account)


def _birth_date(engine: Engine, student_id: str = MINOR) -> str:
    with Session(engine) as session:
        return session.get_one(Student, student_id).birth_date.isoformat()


def _xlsx(student_id: str) -> bytes:
    """A students file as a spreadsheet holding the student's row."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["student_id", "first_name"])
    sheet.append([student_id, "Inès"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def world(app: FastAPI, engine: Engine, client: TestClient) -> Published:
    """The published round, and every kind of record about the minor."""
    published = publish_small_round(engine, client)
    invited = client.post(f"/api/students/{MINOR}/invitation", headers=published.teacher_a)
    assert invited.status_code in (200, 201), invited.text
    # A new invitation may end the student's sessions: open one again, as the link would.
    with Session(engine) as session:
        account = session.exec(sql_select(Account).where(Account.username == MINOR)).one()
    published = dataclasses.replace(published, minor=session_headers(engine, account.id or 0))
    base = f"/api/rounds/{published.round_id}/placements/{MINOR}"
    made = client.post(
        f"{base}/documents", json={"kind": "student_letter"}, headers=published.teacher_a
    )
    assert made.status_code == 201, made.text
    with Session(engine) as session:
        step = session.exec(
            sql_select(ChecklistStep).where(
                ChecklistStep.student_id == MINOR, ChecklistStep.who == "student"
            )
        ).first()
        assert step is not None
    ticked = client.put(f"/api/checklist-steps/{step.id}/done", headers=published.minor)
    assert ticked.status_code == 200, ticked.text
    failed = client.post("/api/auth/login", json={"username": MINOR, "password": "not-this-one"})
    assert failed.status_code == 401
    with Session(engine, expire_on_commit=False) as session:
        coordinator = _viewer(engine, "coordinator@example.org")
        drafts.create_draft(
            session,
            coordinator,
            "students",
            [(f"student_id;first_name\n{MINOR};Inès\nS-OTHER;Paul\n".encode(), "eleves.csv")],
        )
        drafts.create_draft(session, coordinator, "students", [(_xlsx(MINOR), "eleves.xlsx")])
        job = jobs.create_documents_zip(
            session,
            _viewer(engine, "teacher-a@example.org"),
            published.round_id,
            "SCH-A",
            [DocumentKind.STUDENT_LETTER],
            settings=app.state.settings,
        )
    app.state.jobs.start(job.id).result(timeout=120)
    return published


def _export(client: TestClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    data: dict[str, Any] = json.loads(archive.read("person.json"))
    data["_files"] = {name: archive.read(name) for name in archive.namelist()}
    return data


def test_the_export_holds_every_kind_of_record_about_the_student(
    engine: Engine, client: TestClient, world: Published
) -> None:
    """A student's own export holds the record, the account, sessions and invitations
    without secrets, sign-ins, the assignment, the snapshot entry, the checklist, the PDF,
    the upload and the job holding the student, and the audit events about her."""
    data = _export(client, "/api/me/personal-data", world.minor)
    files = data.pop("_files")
    assert set(personal_data.EXPORT_KEYS) <= set(data)
    assert data["student"]["first_name"] == "Inès"
    assert data["student"]["extra"]["guardian_name"] == "Sofia D'Almeida"
    assert data["account"]["username"] == MINOR
    assert "password_hash" not in data["account"]
    assert {row["kind"] for row in data["sessions"]} == {"session"}
    assert len(data["invitations"]) == 1
    assert data["failed_sign_ins"][0]["username"] == MINOR.lower()
    (assignment,) = data["assignments"]
    assert (assignment["offer_id"], assignment["round"]["status"]) == ("DE-1", "published")
    (snapshot,) = data["round_snapshots"]
    assert snapshot["student"]["birth_date"] == _birth_date(engine)
    assert any(step["done_at"] for step in data["checklist_steps"])
    (document,) = data["documents"]
    assert files[document["file"]].startswith(b"%PDF")
    assert [draft["file_name"] for draft in data["upload_drafts"]] == ["eleves.csv", "eleves.xlsx"]
    assert [job["kind"] for job in data["jobs"]] == ["documents_zip"]
    actions = {event["action"] for event in data["audit_events"]}
    assert {"invite_student", "checklist.tick", "document.generate"} <= actions, actions
    whole = json.dumps(data, ensure_ascii=False)
    assert "token_hash" not in whole
    assert "Hugo" not in whole
    assert "Chloé" not in whole
    assert "README.txt" in files


def test_who_may_export_whose_data(engine: Engine, client: TestClient, world: Published) -> None:
    """The student and a teacher of the school and a coordinator export; another school's
    teacher and another student get 404 as for a missing student; a partner 403. Each export
    is in the audit log."""
    path = f"/api/students/{MINOR}/personal-data"
    other_student = session_headers(
        engine, add_account(engine, "S-UK", Role.STUDENT, student_id="S-UK", password=None)
    )
    for headers in (world.minor, world.teacher_a, world.coordinator):
        assert client.get(path, headers=headers).status_code == 200
    assert client.get(path, headers=world.teacher_b).status_code == 404
    assert client.get(path, headers=other_student).status_code == 404
    assert client.get(path, headers=world.partner).status_code == 403
    assert (
        client.get("/api/students/NOBODY/personal-data", headers=world.coordinator).status_code
        == 404
    )
    assert client.get("/api/me/personal-data", headers=world.teacher_a).status_code == 403
    with Session(engine) as session:
        exports = session.exec(
            sql_select(AuditEvent).where(AuditEvent.action == personal_data.EXPORT_ACTION)
        ).all()
    assert [e.object_id for e in exports] == [MINOR] * 3
    assert {e.actor for e in exports} == {MINOR, "teacher-a@example.org", "coordinator@example.org"}


def _dump(engine: Engine) -> str:
    """Every row of every table, as text (bytes columns decoded as far as they go)."""
    parts = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes):
                        parts.append(value.decode("latin-1"))
                    else:
                        parts.append(json.dumps(value, ensure_ascii=False, default=str))
    return "\n".join(parts)


@pytest.mark.parametrize("read_everything", [False, True], ids=["asked", "scanned"])
def test_erasure_leaves_no_trace_and_keeps_the_figures(
    app: FastAPI,
    engine: Engine,
    client: TestClient,
    world: Published,
    monkeypatch: pytest.MonkeyPatch,
    read_everything: bool,
) -> None:
    """Once she declined, erasing the minor removes her names, her guardian, her birth date
    and her id from every table and every snapshot; the round's statistics stay the same;
    pages, exports and a re-run of the round still work; one event logs the erasure, with
    nothing but the opaque reference. Alike when the rows are found by the database (one
    person) or by reading every audit event and snapshot (many persons, as retention does)."""
    if read_everything:
        monkeypatch.setattr(personal_data, "FEW", 0)
    round_id = world.round_id
    birth = _birth_date(engine)
    declined = client.post(
        f"/api/rounds/{round_id}/assignments/{MINOR}/response",
        json={"decision": "decline"},
        headers=world.minor,
    )
    assert declined.status_code == 200, declined.text
    statistics = client.get(f"/api/rounds/{round_id}/statistics", headers=world.coordinator)
    before = _dump(engine)
    assert all(word in before for word in (*NAMES, birth, MINOR))

    erased = client.post(
        f"/api/students/{MINOR}/erasure", json={"confirm": MINOR}, headers=world.coordinator
    )

    assert erased.status_code == 200, erased.text
    reference = erased.json()["reference"]
    after = _dump(engine)
    left = [word for word in (*NAMES, birth, MINOR) if word.lower() in after.lower()]
    assert not left, left
    assert reference in after
    with Session(engine) as session:
        (snapshot,) = session.exec(sql_select(RoundSnapshot)).all()
        entry = next(s for s in snapshot.students if s["student_id"] == reference)
        assert (entry["gender"], entry["school_id"], entry["trade"]) == ("F", "SCH-A", "commerce")
        row = session.exec(sql_select(Assignment).where(Assignment.student_id == reference)).one()
        assert (row.offer_id, row.gender, row.school_id, row.country) == (
            "DE-1",
            "F",
            "SCH-A",
            "DE",
        )
        documents = sql_select(PlacementDocument).where(PlacementDocument.student_id == reference)
        assert session.exec(documents).all() == []
        assert session.exec(sql_select(UploadDraft)).all() == []  # both held her row
        assert session.exec(sql_select(Job)).all() == []  # the school's ZIP held her letter
        (logged,) = session.exec(
            sql_select(AuditEvent).where(AuditEvent.action == personal_data.ERASE_ACTION)
        ).all()
    assert logged.object_id == reference
    assert logged.actor == "coordinator@example.org"
    assert logged.details["reason"] == "request"
    assert client.get(f"/api/rounds/{round_id}/statistics", headers=world.coordinator).json() == (
        statistics.json()
    )
    assert (
        client.get(f"/api/students/{MINOR}/personal-data", headers=world.coordinator).status_code
        == 404
    )
    exported = client.get(
        f"/api/rounds/{round_id}/export/assignments.csv", headers=world.coordinator
    )
    assert exported.status_code == 200
    assert reference in exported.text
    rerun = client.post(f"/api/rounds/{round_id}/rerun", json={}, headers=world.coordinator)
    assert rerun.status_code == 201, rerun.text
    new_round = rerun.json()["id"]
    client.post(f"/api/rounds/{new_round}/solve", headers=world.coordinator).raise_for_status()
    solved = wait_for_round(client, new_round, world.coordinator)
    assert solved["status"] == "solved", solved
    assert solved["report"]["students"] == 2  # the erased person is no longer in the programme
    # Last: leaving the page client's block stops the application's solver.
    with browser(app) as page:
        page.cookies.set("mobility_match_session", world.coordinator["Authorization"][7:])
        for path in (
            f"/coordinator/rounds/{round_id}/assignments",
            f"/coordinator/rounds/{round_id}/statistics",
            f"/coordinator/rounds/{round_id}/students/{reference}",
        ):
            shown = page.get(path)
            assert shown.status_code == 200, path
            assert "Inès" not in text_of(shown.text)


def test_erasure_is_refused_unconfirmed_or_during_a_current_placement(
    engine: Engine, client: TestClient, world: Published
) -> None:
    """Without the id repeated, or while the student holds a placement being prepared, the
    erasure is refused (422, 409 saying how to end it) and nothing changes; ending the
    placement explicitly records it declined and erases. Only coordinators erase."""
    path = f"/api/students/{MINOR}/erasure"
    assert client.post(path, json={"confirm": MINOR}, headers=world.teacher_a).status_code == 403
    unconfirmed = client.post(path, json={"confirm": "S-UK"}, headers=world.coordinator)
    assert unconfirmed.status_code == 422
    assert MINOR in unconfirmed.json()["problems"][0]
    placed = client.post(path, json={"confirm": MINOR}, headers=world.coordinator)
    assert placed.status_code == 409
    assert "DE-1" in placed.json()["detail"]
    assert "declines" in placed.json()["detail"]
    assert _birth_date(engine)  # still there
    ended = client.post(
        path, json={"confirm": MINOR, "end_placement": True}, headers=world.coordinator
    )
    assert ended.status_code == 200, ended.text
    with Session(engine) as session:
        row = session.exec(
            sql_select(Assignment).where(Assignment.student_id == ended.json()["reference"])
        ).one()
        assert row.response == "declined"
        assert session.get(Student, MINOR) is None


def test_an_erasure_that_fails_at_its_last_step_changes_nothing(
    engine: Engine, client: TestClient, world: Published
) -> None:
    """If the database fails on the erasure's last statement (the student row), the whole
    erasure is rolled back: names, documents, audit events and snapshot are as before."""
    client.post(
        f"/api/rounds/{world.round_id}/assignments/{MINOR}/response",
        json={"decision": "decline"},
        headers=world.minor,
    ).raise_for_status()
    before = _dump(engine)

    def fail_on_the_student_row(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("DELETE FROM student "):
            raise RuntimeError("the database went away")

    event.listen(engine, "before_cursor_execute", fail_on_the_student_row)
    try:
        with Session(engine) as session, pytest.raises(RuntimeError):
            personal_data.erase_person(
                session,
                _viewer(engine, "coordinator@example.org"),
                MINOR,
                confirm=MINOR,
                today=dt.date.today(),
            )
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_the_student_row)
    assert _dump(engine) == before


def test_a_coordinator_erases_through_the_pages_after_a_confirmation_step(
    app: FastAPI, engine: Engine, client: TestClient, world: Published
) -> None:
    """The coordinator's student page links to the export and to the erasure; the erasure
    page asks to type the id; the wrong id is refused on the page, the right one erases."""
    with browser(app) as page:
        page.cookies.set("mobility_match_session", world.coordinator["Authorization"][7:])
        student_page = page.get(f"/coordinator/rounds/{world.round_id}/students/S-UK")
        assert "/coordinator/students/S-UK/erasure" in student_page.text
        assert "/students/S-UK/personal-data" in student_page.text
        form = "/coordinator/students/S-UK/erasure"
        asked = page.get(form)
        assert asked.status_code == 200
        assert "Hugo Bernard" in text_of(asked.text)
        wrong = submit(page, form, {"confirm": "S-PL", "end_placement": "on"}, page=form)
        assert wrong.status_code == 422
        assert _birth_date(engine, "S-UK")
        done = submit(page, form, {"confirm": "S-UK", "end_placement": "on"}, page=form)
        assert done.status_code == 303, done.text
        shown = page.get(done.headers["location"])
        assert shown.status_code == 200
        assert "erased-" in shown.text
    with Session(engine) as session:
        assert session.get(Student, "S-UK") is None


def test_the_student_and_the_teacher_download_from_their_pages(
    app: FastAPI, engine: Engine, world: Published
) -> None:
    """The student's page offers "Mes données"; the teacher's student page an export link;
    both download the ZIP."""
    with browser(app) as page:
        page.cookies.set("mobility_match_session", world.minor["Authorization"][7:])
        home = page.get("/student")
        assert "/student/personal-data" in home.text
        assert "Mes données" in text_of(home.text)
        answer = page.get("/student/personal-data")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/zip"
    with browser(app) as page:
        page.cookies.set("mobility_match_session", world.teacher_a["Authorization"][7:])
        listed = page.get("/teacher")
        assert f"/students/{MINOR}/personal-data" in listed.text
        answer = page.get(f"/students/{MINOR}/personal-data")
        assert answer.status_code == 200
        assert page.get("/students/S-PL/personal-data").status_code == 404


def _retention(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MOBILITY_MATCH_RETENTION_DAYS_AFTER_COHORT_END", "1095")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["retention", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_retention_lists_then_erases_what_is_due(
    engine: Engine,
    client: TestClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three years after the cohort's last placement ended, `retention` lists its students
    (with the cohort's end and the day they became due) and erases nothing; `--apply` erases
    them, each logged; a student imported since, in no round yet, is kept."""
    published = publish_small_round(engine, client)
    with Session(engine) as session:
        session.add(records.student_row(make_student("S-NEW", school_id="SCH-A")))
        session.commit()
    due_day = published.end + dt.timedelta(days=1095)
    early = (due_day - dt.timedelta(days=1)).isoformat()

    status, listed = _retention(database_url, monkeypatch, "--today", early)
    assert status == 0, listed
    assert "Nothing is due" in listed

    status, listed = _retention(database_url, monkeypatch, "--today", due_day.isoformat())
    assert status == 0, listed
    for student_id in ("S-MINOR", "S-UK", "S-PL"):
        assert student_id in listed
    assert published.end.isoformat() in listed
    assert "S-NEW" not in listed
    assert _birth_date(engine)  # listing erases nothing

    status, applied = _retention(
        database_url, monkeypatch, "--today", due_day.isoformat(), "--apply"
    )
    assert status == 0, applied
    assert "3 students erased" in applied
    with Session(engine) as session:
        assert [s.student_id for s in session.exec(sql_select(Student))] == ["S-NEW"]
        logged = session.exec(
            sql_select(AuditEvent).where(AuditEvent.action == personal_data.ERASE_ACTION)
        ).all()
        assert [e.details["reason"] for e in logged] == ["retention"] * 3
        assert {e.actor for e in logged} == {"system"}
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM assignment")).scalar_one()
    assert kept == 3  # the round's figures stay, under references


def test_a_round_not_yet_published_loses_the_erased_student(
    engine: Engine, client: TestClient, world: Published
) -> None:
    """A solved round under review keeps no trace of an erased student, not even a
    reference: no placement can ever be published for someone erased. Its review still
    works, and its notes say why its report counts one student more."""
    coordinator = world.coordinator
    created = client.post("/api/rounds", json={"name": "Été"}, headers=coordinator)
    review = created.json()["id"]
    client.post(f"/api/rounds/{review}/solve", headers=coordinator).raise_for_status()
    assert wait_for_round(client, review, coordinator)["status"] == "solved"

    erased = client.post(
        f"/api/students/{MINOR}/erasure",
        json={"confirm": MINOR, "end_placement": True},
        headers=coordinator,
    )

    assert erased.status_code == 200, erased.text
    reference = erased.json()["reference"]
    assert erased.json()["pseudonymised"]["left_unpublished_rounds"] == 1
    rows = client.get(f"/api/rounds/{review}/assignments", headers=coordinator).json()
    assert {row["student_id"] for row in rows} == {"S-UK", "S-PL"}
    statistics = client.get(f"/api/rounds/{review}/statistics", headers=coordinator)
    assert statistics.status_code == 200
    with Session(engine) as session:
        snapshot = session.get_one(RoundSnapshot, review)
        assert {s["student_id"] for s in snapshot.students} == {"S-UK", "S-PL"}
        published = session.get_one(RoundSnapshot, world.round_id)
        assert reference in {s["student_id"] for s in published.students}
    round_ = client.get(f"/api/rounds/{review}", headers=coordinator).json()
    assert any("erased" in note for note in round_["notes"]), round_["notes"]
