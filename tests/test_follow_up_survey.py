"""The graduates' follow-up: a single-use, expiring link per graduate and wave, mailed when
the wave's date comes (a minor only with a parent's consent), reminders with a new link,
a teacher's entry after a phone call, a file imported all or nothing, response rates."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.domain import load_vocabulary
from mobility_match.importing import read_students
from mobility_match.models import (
    Account,
    FollowUpAnswer,
    OutboxMail,
    Role,
    School,
    SchoolKind,
    Student,
    SurveyLink,
)
from mobility_match.services import follow_up_survey, personal_data
from mobility_match.services.follow_up_survey import AnswerInput
from tests.accounts import add_account, session_headers
from tests.factories import make_student
from tests.pages import browser, csrf_token, sign_in_as, submit, text_of

COHORT = dt.date.today().year - 1
"""A cohort whose diploma is past: its 6-month wave came in January of this year."""


@dataclass(frozen=True)
class World:
    wave_day: dt.date
    teacher_c: int
    coordinator: dict[str, str]


@pytest.fixture
def world(engine: Engine, settings: Settings) -> World:
    """A control school with an adult graduate and a minor (17 on the wave's date), and a
    pilot school with one graduate; all of cohort COHORT, with an e-mail."""
    wave_day = follow_up_survey.wave_date(COHORT, 6, settings)
    with Session(engine) as session:
        session.add(School(school_id="SCH-C", name="Lycée témoin", kind=SchoolKind.CONTROL))
        session.add(School(school_id="SCH-P", name="Lycée pilote", kind=SchoolKind.PILOT))
        session.flush()
        cohort = {"extra": (("cohort", str(COHORT)),)}
        for student in (
            make_student("G-ADULT", school_id="SCH-C", email="adult@example.org", **cohort),
            make_student(
                "G-MINOR",
                first_name="Noé",
                school_id="SCH-C",
                email="minor@example.org",
                birth_date=wave_day.replace(year=wave_day.year - 17) - dt.timedelta(days=100),
                **cohort,
            ),
            make_student("G-PILOT", school_id="SCH-P", email="pilot@example.org", **cohort),
        ):
            session.add(records.student_row(student))
        session.commit()
    teacher = add_account(engine, "t-c@example.org", Role.TEACHER, school_id="SCH-C", password=None)
    coordinator = add_account(engine, "co@example.org", Role.COORDINATOR, password=None)
    return World(wave_day, teacher, session_headers(engine, coordinator))


def _send(engine: Engine, settings: Settings, day: dt.date) -> follow_up_survey.FollowUpSent:
    with Session(engine) as session:
        return follow_up_survey.send_follow_up(session, settings, day)


def _link_of(engine: Engine, student_id: str) -> str:
    """The path of the newest follow-up link mailed to a graduate (kept with the queued mail)."""
    with Session(engine) as session:
        mails = session.exec(
            select(OutboxMail)
            .where(OutboxMail.student_id == student_id, OutboxMail.kind == "follow_up_request")
            .order_by(col(OutboxMail.id).desc())
        ).all()
    assert mails, f"no follow-up mail to {student_id}"
    assert mails[0].link
    assert "[[link]]" in mails[0].text_body
    assert mails[0].link not in mails[0].text_body
    return mails[0].link.removeprefix("http://testserver")


def test_a_link_is_single_use_and_a_minor_needs_consent(
    app: FastAPI, engine: Engine, settings: Settings, world: World
) -> None:
    """On the wave's date the adult is mailed a link, the minor without consent is not; the
    link's page asks the three questions (a GET uses nothing), a wrong answer keeps the
    link, the answer uses it up, and a second use is refused."""
    sent = _send(engine, settings, world.wave_day)
    assert (sent.requests, sent.minors_without_consent) == (2, 1)  # the adult and the pilot
    assert _send(engine, settings, world.wave_day).requests == 0  # once only
    with Session(engine) as session:
        asked = set(session.exec(select(SurveyLink.student_id)))
    assert asked == {"G-ADULT", "G-PILOT"}
    path = _link_of(engine, "G-ADULT")
    with browser(app) as page:
        shown = page.get(path)
        assert shown.status_code == 200
        assert shown.headers["cache-control"] == "no-store"
        assert 'type="radio" name="situation"' in shown.text
        token = csrf_token(shown.text)
        wrong = page.post(path, data={"csrf_token": token, "situation": "astronaut"})
        assert wrong.status_code == 422
        assert "not a situation" in text_of(wrong.text)
        answered = page.post(
            path,
            data={
                "csrf_token": token,
                "situation": "fixed_term_contract",
                "in_trade": "yes",
                "country": "DE",
            },
        )
        assert answered.status_code == 200, answered.text
        again = page.post(path, data={"csrf_token": token, "situation": "job_seeking"})
        assert again.status_code == 410
        assert page.get(path).status_code == 410
    with Session(engine) as session:
        answer = session.exec(select(FollowUpAnswer)).one()
    assert (answer.student_id, answer.wave, answer.situation.value) == (
        "G-ADULT",
        6,
        "fixed_term_contract",
    )
    assert (answer.in_trade, answer.country, answer.source.value) == (True, "DE", "link")
    # Once a parent's consent is recorded, the minor is asked at the next run.
    with Session(engine) as session:
        session.get_one(Student, "G-MINOR").guardian_consent_on = world.wave_day
        session.commit()
    assert _send(engine, settings, world.wave_day + dt.timedelta(days=1)).requests == 1


def test_a_link_expires_and_a_reminder_replaces_it(
    app: FastAPI, engine: Engine, settings: Settings, world: World
) -> None:
    """Non-respondents get a reminder after 7 days with a new link that ends the earlier
    one; an expired link no longer opens."""
    _send(engine, settings, world.wave_day)
    first = _link_of(engine, "G-PILOT")
    reminded = _send(engine, settings, world.wave_day + dt.timedelta(days=7))
    assert reminded.reminders == 0  # the links were made today, not 7 days ago
    _shift(engine, "created_at", dt.timedelta(days=-7))
    assert _send(engine, settings, dt.date.today()).reminders == 2
    second = _link_of(engine, "G-PILOT")
    assert second != first
    with browser(app) as page:
        assert page.get(first).status_code == 404  # replaced
        assert page.get(second).status_code == 200
        _shift(engine, "expires_at", dt.timedelta(days=-60))
        assert page.get(second).status_code == 410


def _shift(engine: Engine, field: str, delta: dt.timedelta) -> None:
    """Move a time of every link, as if it had been made (or expired) earlier."""
    with Session(engine) as session:
        for link in session.exec(select(SurveyLink)):
            setattr(link, field, getattr(link, field) + delta)
            session.add(link)
        session.commit()


def test_an_import_is_all_or_nothing_with_every_problem_located(
    engine: Engine, client: TestClient, world: World
) -> None:
    """A file with an unknown situation, a date before the diploma, a date in the future and
    an unknown graduate is refused with each problem by row and column, and nothing is
    stored; a right file is stored; a teacher may not import another school's graduate."""
    later = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    text = (
        "student_id,wave,situation,as_of,in_trade,country\n"
        f"G-ADULT,6,permanent_contract,{later},yes,FR\n"
        f"G-MINOR,6,astronaut,{later},,\n"
        f"G-PILOT,6,education,{COHORT}-01-02,,FR\n"
        f"G-PILOT,12,job_seeking,{future},,\n"
        f"NOBODY,6,inactive,{later},,\n"
    )
    refused = client.post(
        "/api/imports/follow-up",
        files={"file": ("suivi.csv", text.encode(), "text/csv")},
        headers=world.coordinator,
    )
    assert refused.status_code == 422, refused.text
    located = [re.match(r"suivi\.csv:(\d+):(\w+): ", p) for p in refused.json()["problems"]]
    assert [(m.group(1), m.group(2)) for m in located if m] == [
        ("3", "situation"),
        ("4", "as_of"),
        ("5", "as_of"),
        ("6", "student_id"),
    ]
    with Session(engine) as session:
        assert session.exec(select(FollowUpAnswer)).all() == []
    good = "\n".join(text.splitlines()[:2]) + f"\nG-PILOT,6,education,{later},,FR\n"
    stored = client.post(
        "/api/imports/follow-up",
        files={"file": ("suivi.csv", good.encode(), "text/csv")},
        headers=world.coordinator,
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["created"] == 2
    teacher = session_headers(engine, world.teacher_c)
    other = client.post(
        "/api/imports/follow-up",
        files={"file": ("suivi.csv", good.encode(), "text/csv")},
        headers=teacher,
    )
    assert other.status_code == 422
    assert (
        "suivi.csv:3:student_id: there is no graduate G-PILOT of your school"
        in other.json()["problems"]
    )


def test_a_teacher_records_a_situation_and_sees_the_response_rate(
    app: FastAPI, engine: Engine, world: World
) -> None:
    """On a graduate's page the teacher records a situation told on the phone (a date in the
    future is refused, nothing written) and a parent's consent; the school's response
    rate counts the answer."""
    with browser(app) as page:
        sign_in_as(page, engine, world.teacher_c)
        student_page = "/teacher/students/G-MINOR"
        opened = page.get(student_page)
        assert opened.status_code == 200, opened.text
        assert "guardian-consent" in opened.text
        future = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        form = {"wave": "6", "situation": "job_seeking", "as_of": future}
        action = f"{student_page}/follow-up"
        refused = submit(page, action, form, page=student_page)
        assert refused.status_code == 303
        assert "in the future" in text_of(page.get(student_page).text)
        with Session(engine) as session:
            assert session.exec(select(FollowUpAnswer)).all() == []
        done = submit(
            page, action, {**form, "as_of": dt.date.today().isoformat()}, page=student_page
        )
        assert done.status_code == 303
        consent = submit(
            page,
            f"{student_page}/guardian-consent",
            {"consent_on": dt.date.today().isoformat()},
            page=student_page,
        )
        assert consent.status_code == 303
        rates = text_of(page.get("/teacher/follow-up").text)
    assert "Lycée témoin" in rates
    assert "Lycée pilote" not in rates
    assert re.search(r"50[,.]0\s?%", rates), rates
    with Session(engine) as session:
        minor = session.get_one(Student, "G-MINOR")
        answer = session.exec(select(FollowUpAnswer)).one()
    assert minor.guardian_consent_on == dt.date.today()
    assert (answer.student_id, answer.source.value) == ("G-MINOR", "teacher")


def test_personal_data_cover_the_follow_up(
    engine: Engine, settings: Settings, world: World
) -> None:
    """A graduate's export holds the follow-up answers and links (without their secret);
    the erasure deletes the links and keeps the answers under the opaque reference."""
    _send(engine, settings, world.wave_day)
    with Session(engine) as session:
        coordinator = session.exec(select(Account).where(Account.role == Role.COORDINATOR)).one()
        viewer = Viewer.of(coordinator)
        follow_up_survey.record_answer(
            session, viewer, "G-ADULT", 6, AnswerInput("job_seeking"), settings
        )
        exported = personal_data.export_person(session, viewer, "G-ADULT").data
        erased = personal_data.erase_person(
            session, viewer, "G-ADULT", confirm="G-ADULT", today=dt.date.today()
        )
        session.commit()
    assert [a["situation"] for a in exported["follow_up_answers"]] == ["job_seeking"]
    assert len(exported["survey_links"]) == 1
    assert "token_hash" not in exported["survey_links"][0]
    assert (erased.deleted["survey_links"], erased.pseudonymised["follow_up_answers"]) == (1, 1)
    with Session(engine) as session:
        kept = session.exec(select(FollowUpAnswer)).one()
        assert kept.student_id == erased.reference
        assert set(session.exec(select(SurveyLink.student_id))) == {"G-PILOT"}


def test_the_cohort_column_is_read_checked_and_defaulted(tmp_path: Path) -> None:
    """students.csv's optional `cohort` is the diploma's year; a wrong one is a problem at
    its row and column; an empty cell (or no column) gives the year availability starts."""
    header = (
        "student_id,first_name,last_name,gender,birth_date,school_id,diploma,trade,"
        "available_from,available_to,cohort\n"
    )
    rows = [
        "A1,Léa,Martin,F,2008-03-14,SCH,BAC_PRO,commerce,2026-09-01,2026-12-01,2025\n",
        "A2,Hugo,Bernard,M,2008-03-14,SCH,CAP,commerce,2026-09-01,2026-12-01,\n",
        "A3,Inès,Petit,F,2008-03-14,SCH,CAP,commerce,2026-09-01,2026-12-01,26\n",
    ]
    path = tmp_path / "students.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    students, problems = read_students(path, load_vocabulary())
    assert [(p.row, p.column) for p in problems] == [(4, "cohort")]
    assert "not a cohort" in problems[0].message
    assert [records.student_row(s).cohort for s in students] == [2025, 2026]
    path.write_text(header.replace(",cohort", "") + rows[0].replace(",2025\n", "\n"), "utf-8")
    (student,), _ = read_students(path, load_vocabulary())
    assert records.student_row(student).cohort == 2026
