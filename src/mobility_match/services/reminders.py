"""Reminders: the response deadline, and checklist steps due soon or overdue, by mail.

`send_reminders` is the scheduled job (the `reminders` command for cron, and once a day
in the service's mail sender). It writes its mails to the outbox with keys that name
what each reminds of, so that running it twice, or in several processes at once, sends
each reminder once:

- `deadline:<round>:<student>:<3|1>`: a placed student of the current published round
  who has not answered, 3 days (2 or 3 left) and 1 day before the response deadline;
- `steps:<student>:<ISO week>`: once a week, a student's own steps (those the student
  does) due within 7 days or overdue;
- `digest:<account>:<ISO week>`: once a week, a teacher's digest of the school's
  students' steps, and a coordinator's count per school.

Overdue is what the teacher's page counts (services/follow_up.py): not done, due before
today, on a placement still current. Nothing here commits but `send_reminders`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_
from sqlmodel import Session, col, select

from mobility_match.config import Settings
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    Response,
    Role,
    Round,
    School,
    Student,
)
from mobility_match.services import follow_up_survey, host_review, mail
from mobility_match.services.outbox import enqueue
from mobility_match.services.placements import is_current
from mobility_match.services.rounds import current_published_round

log = logging.getLogger(__name__)

AHEAD = dt.timedelta(days=7)
"""Steps due within this are reminded of."""


@dataclass(frozen=True)
class Reminders:
    """How many reminders one run wrote (a repeat writes none)."""

    deadline: int = 0
    students: int = 0
    teachers: int = 0
    coordinators: int = 0

    @property
    def total(self) -> int:
        return self.deadline + self.students + self.teachers + self.coordinators


@dataclass
class _Open:
    """A student's steps not done: overdue, and due within a week."""

    name: str
    school_id: str
    overdue: list[ChecklistStep] = field(default_factory=list)
    due: list[ChecklistStep] = field(default_factory=list)


def iso_week(today: dt.date) -> str:
    year, week, _day = today.isocalendar()
    return f"{year}-W{week:02d}"


def send_reminders(session: Session, settings: Settings, today: dt.date) -> Reminders:
    """Write today's reminders to the outbox and commit; what was already written (same
    day, same week) is not written again."""
    round_ = current_published_round(session)
    if round_ is None or round_.id is None:
        session.commit()
        return Reminders()
    deadline = _deadline_reminders(session, settings, round_, today)
    students, teachers, coordinators = _step_reminders(session, settings, round_, today)
    session.commit()
    return Reminders(deadline, students, teachers, coordinators)


def _deadline_reminders(session: Session, settings: Settings, round_: Round, today: dt.date) -> int:
    if round_.response_deadline is None:
        return 0
    days = (round_.response_deadline - today).days
    if days not in (1, 2, 3):
        return 0
    tag = 1 if days == 1 else 3
    rows = session.exec(
        select(Assignment, Student.email)
        .join(Student, col(Student.student_id) == col(Assignment.student_id))
        .where(
            Assignment.round_id == round_.id,
            col(Assignment.offer_id).is_not(None),
            col(Assignment.response).is_(None) | (col(Assignment.response) == Response.PENDING),
        )
        .order_by(col(Assignment.student_id))
    ).all()
    languages = mail.languages_of(session, [row.student_id for row, _email in rows])
    written = 0
    for assignment, email in rows:
        if not email.strip():
            continue
        written += enqueue(
            session,
            mail.compose(
                mail.DEADLINE_REMINDER,
                f"deadline:{round_.id}:{assignment.student_id}:{tag}",
                email,
                f"{assignment.first_name} {assignment.last_name}".strip(),
                languages.get(assignment.student_id, mail.LANGUAGES[0]),
                {
                    "first_name": assignment.first_name,
                    "round_name": round_.name,
                    "company": assignment.company_name,
                    "city": assignment.city,
                    "deadline": round_.response_deadline,
                    "days": days,
                    "student_page": mail.url(settings, "/student"),
                },
                settings,
                round_id=round_.id,
                student_id=assignment.student_id,
            ),
        )
    return written


def _open_steps(session: Session, round_id: int, today: dt.date) -> dict[str, _Open]:
    """Each student's steps not done and due within a week or overdue, on a placement
    still current, by student id."""
    rows = session.exec(
        select(ChecklistStep, Assignment)
        .join(
            Assignment,
            and_(
                col(Assignment.round_id) == col(ChecklistStep.round_id),
                col(Assignment.student_id) == col(ChecklistStep.student_id),
            ),
        )
        .where(
            ChecklistStep.round_id == round_id,
            col(ChecklistStep.done_at).is_(None),
            col(ChecklistStep.due_on) <= today + AHEAD,
            is_current(),
        )
        .order_by(
            col(Assignment.last_name),
            col(Assignment.first_name),
            col(ChecklistStep.due_on),
            col(ChecklistStep.position),
        )
    ).all()
    steps: dict[str, _Open] = {}
    for step, assignment in rows:
        name = f"{assignment.first_name} {assignment.last_name}".strip()
        student = steps.setdefault(step.student_id, _Open(name, assignment.school_id))
        (student.overdue if step.due_on < today else student.due).append(step)
    return steps


def _step_reminders(
    session: Session, settings: Settings, round_: Round, today: dt.date
) -> tuple[int, int, int]:
    assert round_.id is not None
    steps = _open_steps(session, round_.id, today)
    if not steps:
        return 0, 0, 0
    week = iso_week(today)
    own = {
        student_id: _Open(
            student.name,
            student.school_id,
            [s for s in student.overdue if s.who == "student"],
            [s for s in student.due if s.who == "student"],
        )
        for student_id, student in steps.items()
    }
    emails = dict(
        session.exec(
            select(Student.student_id, Student.email).where(col(Student.student_id).in_(list(own)))
        ).all()
    )
    languages = mail.languages_of(session, list(own))
    students = 0
    for student_id, student in own.items():
        address = (emails.get(student_id) or "").strip()
        if not address or not (student.overdue or student.due):
            continue
        students += enqueue(
            session,
            mail.compose(
                mail.STEPS_REMINDER,
                f"steps:{student_id}:{week}",
                address,
                student.name,
                languages.get(student_id, mail.LANGUAGES[0]),
                {
                    "first_name": student.name.split(" ")[0],
                    "overdue": student.overdue,
                    "due": student.due,
                    "student_page": mail.url(settings, "/student"),
                },
                settings,
                round_id=round_.id,
                student_id=student_id,
            ),
        )
    schools = {student.school_id for student in steps.values()}
    names = dict(
        session.exec(
            select(School.school_id, School.name).where(col(School.school_id).in_(schools))
        ).all()
    )
    by_school: dict[str, list[_Open]] = defaultdict(list)
    for student in steps.values():
        by_school[student.school_id].append(student)
    common: dict[str, Any] = {"round_name": round_.name, "week": week}
    teachers = 0
    for teacher in mail.staff(session, Role.TEACHER, schools):
        school_id = teacher.school_id or ""
        teachers += enqueue(
            session,
            mail.compose(
                mail.STEPS_DIGEST_TEACHER,
                f"digest:{teacher.account_id}:{week}",
                teacher.address,
                teacher.name,
                "fr",
                {
                    **common,
                    "recipient_name": teacher.name,
                    "scope": names.get(school_id, school_id),
                    "students": by_school[school_id],
                    "schools": None,
                    "follow_up_page": mail.url(settings, "/teacher"),
                },
                settings,
                round_id=round_.id,
                account_id=teacher.account_id,
            ),
        )
    summary = [
        {
            "name": names.get(school_id, school_id),
            "overdue": sum(len(s.overdue) for s in students_of),
            "students_late": sum(1 for s in students_of if s.overdue),
            "due": sum(len(s.due) for s in students_of),
        }
        for school_id, students_of in sorted(by_school.items(), key=lambda i: names.get(i[0], i[0]))
    ]
    coordinators = 0
    for coordinator in mail.staff(session, Role.COORDINATOR):
        coordinators += enqueue(
            session,
            mail.compose(
                mail.STEPS_DIGEST_COORDINATOR,
                f"digest:{coordinator.account_id}:{week}",
                coordinator.address,
                coordinator.name,
                "fr",
                {
                    **common,
                    "recipient_name": coordinator.name,
                    "scope": "",
                    "students": None,
                    "schools": summary,
                    "follow_up_page": mail.url(settings, f"/coordinator/rounds/{round_.id}"),
                },
                settings,
                round_id=round_.id,
                account_id=coordinator.account_id,
            ),
        )
    return students, teachers, coordinators


def run_daily(engine: Engine, settings: Settings, today: dt.date) -> None:
    """The service's daily run (from the mail sender's thread): a failure is logged, and
    tomorrow's run, or the cron command, tries again."""
    try:
        with Session(engine) as session:
            done = send_reminders(session, settings, today)
        if done.total:
            log.info("reminders of %s: %s mails", today, done.total)
    except Exception:
        log.exception("the reminders of %s failed", today)
    try:
        with Session(engine) as session:
            reviews = host_review.send_host_reviews(session, settings, today)
        if reviews.total:
            log.info("host reviews of %s: %s mails", today, reviews.total)
    except Exception:
        log.exception("the host reviews of %s failed", today)
    try:
        with Session(engine) as session:
            asked = follow_up_survey.send_follow_up(session, settings, today)
        if asked.requests or asked.reminders:
            log.info(
                "follow-up of %s: %s requests, %s reminders", today, asked.requests, asked.reminders
            )
    except Exception:
        log.exception("the follow-up requests of %s failed", today)
