"""Retention of the evaluation: the command says what it would do and changes nothing;
with --apply, the evaluated graduates' names, e-mails, addresses, phones and birth dates
go, and their answers stay under the keyed pseudonym of the export."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from mobility_match import records
from mobility_match.cli import app as cli
from mobility_match.config import get_settings
from mobility_match.models import (
    Account,
    AnswerSource,
    Assignment,
    AuditEvent,
    FollowUpAnswer,
    HostReview,
    OutboxMail,
    PlacementOutcome,
    PlacementOutcomeKind,
    Response,
    Role,
    Round,
    RoundSnapshot,
    RoundStatus,
    School,
    Situation,
    Student,
    SurveyKind,
    SurveyLink,
)
from mobility_match.services.pseudonymised import pseudonym
from tests.factories import make_student

KEY = "a test key of the evaluation's pseudonyms, 32+ chars"
PERSONAL = (
    "Léa",
    "Martin",
    "lea.martin@mail.example",
    "06 12 34 56 78",
    "4 rue des Lilas",
    "Sofia Martin",
    "2006-03-14",
)
"""What names the evaluated graduate S-1 (the test searches the whole database for each)."""


def _store(engine: Engine) -> None:
    """Two graduates of cohort 2026 (one answered everything, with an account, mails, a
    link and a published placement) and one graduate of no evaluated cohort."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée A"))
        session.flush()
        for student_id, cohort, first, last, email in (
            ("S-1", 2026, "Léa", "Martin", "lea.martin@mail.example"),
            ("S-2", 2026, "Hugo", "Bernard", ""),
            ("S-3", None, "Chloé", "Petit", "chloe@mail.example"),
        ):
            born = dt.date(2006, 3, 14) if cohort else dt.date(2005, 9, 2)
            row = records.student_row(
                make_student(
                    student_id, first_name=first, last_name=last, email=email, birth_date=born
                )
            )
            row.cohort = cohort
            if student_id == "S-1":
                row.extra = {
                    "guardian_name": "Sofia Martin",
                    "guardian_phone": "06 12 34 56 78",
                    "address": "4 rue des Lilas, 69007 Lyon",
                }
            session.add(row)
        session.flush()
        session.add(
            Account(username="lea.martin@mail.example", role=Role.STUDENT, student_id="S-1")
        )
        round_ = Round(name="Printemps", status=RoundStatus.PUBLISHED)
        session.add(round_)
        session.flush()
        assert round_.id is not None
        entry = json.loads(
            json.dumps(records.student_row(make_student("S-1")).model_dump(mode="json"))
        )
        entry.update(first_name="Léa", last_name="Martin", email="lea.martin@mail.example")
        offer = {"offer_id": "DE-1", "start_date": "2026-05-04", "end_date": "2026-06-12"}
        session.add(RoundSnapshot(round_id=round_.id, students=[entry], offers=[offer]))
        session.add(
            Assignment(
                round_id=round_.id,
                student_id="S-1",
                first_name="Léa",
                last_name="Martin",
                school_id="LP-A",
                gender="F",
                offer_id="DE-1",
                response=Response.CONFIRMED,
            )
        )
        session.add(
            PlacementOutcome(
                round_id=round_.id,
                student_id="S-1",
                offer_id="DE-1",
                outcome=PlacementOutcomeKind.COMPLETED,
                note="Léa a tout fini.",
            )
        )
        session.add(
            HostReview(
                round_id=round_.id,
                student_id="S-1",
                offer_id="DE-1",
                days_absent=1,
                skills=["teamwork"],
                comment="Léa Martin war sehr zuverlässig.",
            )
        )
        for student_id, wave, situation in (
            ("S-1", 6, Situation.FIXED_TERM_CONTRACT),
            ("S-1", 12, Situation.PERMANENT_CONTRACT),
            ("S-2", 6, Situation.EDUCATION),
            ("S-3", 6, Situation.JOB_SEEKING),
        ):
            session.add(
                FollowUpAnswer(
                    student_id=student_id,
                    wave=wave,
                    situation=situation,
                    as_of=dt.date(2027, 1, 5),
                    source=AnswerSource.LINK,
                )
            )
        session.add(
            SurveyLink(
                kind=SurveyKind.FOLLOW_UP,
                token_hash="0" * 64,
                student_id="S-1",
                wave=12,
                recipient="lea.martin@mail.example",
                expires_at=dt.datetime(2027, 8, 1, tzinfo=dt.UTC),
            )
        )
        session.add(
            OutboxMail(
                key="follow_up:S-1:12",
                kind="follow_up_request",
                audience="student",
                recipient="lea.martin@mail.example",
                recipient_name="Léa Martin",
                language="fr",
                subject="Votre situation",
                text_body="Bonjour Léa",
                html_body="<p>Bonjour Léa</p>",
                student_id="S-1",
            )
        )
        session.add(
            AuditEvent(
                actor="teacher@school.example",
                action="student.update",
                object_type="student",
                object_id="S-1",
                details={"email": "lea.martin@mail.example"},
            )
        )
        session.commit()


def _dump(engine: Engine) -> dict[str, list[Any]]:
    """Every row of every table, as text."""
    with engine.connect() as connection:
        return {
            table.name: sorted(
                json.dumps(list(row), default=str, ensure_ascii=False)
                for row in connection.execute(select(table))
            )
            for table in SQLModel.metadata.sorted_tables
        }


def _command(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MOBILITY_MATCH_EVALUATION_END", "2027-06-30")
    monkeypatch.setenv("MOBILITY_MATCH_EVALUATION_RETENTION_MONTHS", "12")
    monkeypatch.setenv("MOBILITY_MATCH_PSEUDONYM_KEY", KEY)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["evaluation-retention", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_a_dry_run_changes_nothing_and_apply_keeps_the_answers_under_the_pseudonym(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the end of the retention nothing is due; on the day, the command lists what
    it would do and changes nothing; --apply erases what names the evaluated graduates and
    keeps their answers, outcome and review under the export's pseudonym; the graduate of
    no evaluated cohort is untouched; a second run has nothing to do."""
    _store(engine)
    before = _dump(engine)
    status, early = _command(database_url, monkeypatch, "--today", "2028-06-29")
    assert status == 0
    assert "Nothing is due on 2028-06-29" in early
    status, listed = _command(database_url, monkeypatch, "--today", "2028-06-30")
    assert status == 0, listed
    assert "To do on 2028-06-30" in listed
    assert "2 graduates" in listed
    assert "2026 (2)" in listed
    assert "follow_up_answers 3" in listed
    assert "host_reviews 1" in listed
    assert "Nothing was changed" in listed
    assert _dump(engine) == before

    status, done = _command(database_url, monkeypatch, "--today", "2028-06-30", "--apply")
    assert status == 0, done
    assert "Done on 2028-06-30" in done
    after = json.dumps(_dump(engine), ensure_ascii=False)
    for word in PERSONAL:
        assert word not in after, word
    assert "Chloé" in after
    assert "chloe@mail.example" in after
    one, two = pseudonym(KEY, "S-1"), pseudonym(KEY, "S-2")
    with Session(engine) as session:
        answers = {
            (a.student_id, a.wave): a.situation
            for a in session.exec(select(FollowUpAnswer)).scalars()
        }
        assert answers == {
            (one, 6): Situation.FIXED_TERM_CONTRACT,
            (one, 12): Situation.PERMANENT_CONTRACT,
            (two, 6): Situation.EDUCATION,
            ("S-3", 6): Situation.JOB_SEEKING,
        }
        review = session.exec(select(HostReview)).scalars().one()
        assert (review.student_id, review.days_absent, review.skills) == (one, 1, ["teamwork"])
        assert review.comment == "[…] war sehr zuverlässig."
        outcome = session.exec(select(PlacementOutcome)).scalars().one()
        assert (outcome.student_id, outcome.outcome) == (one, PlacementOutcomeKind.COMPLETED)
        record = session.get_one(Student, one)
        assert (record.first_name, record.email, record.extra) == ("", "", {})
        assert (record.birth_date, record.gender, record.cohort) == (dt.date(2006, 1, 1), "F", 2026)
        assert session.get(Student, "S-1") is None
        assert session.exec(select(Account)).scalars().all() == []
        assert session.exec(select(SurveyLink)).scalars().all() == []
        assert session.exec(select(OutboxMail)).scalars().all() == []
        assert session.exec(select(Assignment)).scalars().one().student_id == one
        logged = session.exec(
            text("SELECT action FROM audit_event WHERE action LIKE 'evaluation.%'")
        ).all()
        assert sorted(row[0] for row in logged) == [
            "evaluation.pseudonymise",
            "evaluation.pseudonymise",
            "evaluation.retention",
        ]
    status, again = _command(database_url, monkeypatch, "--today", "2028-06-30", "--apply")
    assert status == 0
    assert "Nothing to do" in again
