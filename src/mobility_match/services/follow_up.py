"""A school's students as its teachers follow them: the placement of each in the current
published round, the student's answer and the checklist's progress, in one query.

The current round is the latest published round not replaced by a re-run. Counts of
steps are made by the database (a school of hundreds of students stays one query);
nothing here changes the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    Response,
    Round,
    RoundStatus,
    School,
    Student,
)
from mobility_match.services.people import MAX_PAGE, get_school
from mobility_match.services.placements import is_current


class Standing(StrEnum):
    """Where a student stands in the current round (what a teacher filters by)."""

    CONFIRMED = "confirmed"
    PENDING = "pending"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    UNPLACED = "unplaced"
    ABSENT = "absent"
    """Not in the round (added after it, or of a control school)."""
    LATE = "late"
    """Not a standing of its own: placed with at least one overdue checklist step."""


@dataclass(frozen=True)
class StudentProgress:
    """One student, the assignment in the current round (None: not in it), and the steps."""

    student: Student
    assignment: Assignment | None
    steps: int
    steps_done: int
    steps_late: int

    @property
    def standing(self) -> Standing:
        return standing_of(self.assignment)


@dataclass(frozen=True)
class SchoolFollowUp:
    """One page of a school's students, how many match, and how many stand where."""

    school: School
    round: Round | None
    students: list[StudentProgress]
    count: int
    total: int
    """The school's students, whatever their standing."""
    standings: dict[Standing, int]


def standing_of(assignment: Assignment | None) -> Standing:
    if assignment is None:
        return Standing.ABSENT
    if assignment.offer_id is None:
        return Standing.UNPLACED
    if assignment.response is Response.CONFIRMED:
        return Standing.CONFIRMED
    if assignment.response is Response.DECLINED:
        return Standing.DECLINED
    if assignment.response is Response.WITHDRAWN:
        return Standing.WITHDRAWN
    return Standing.PENDING


def current_round(session: Session, viewer: Viewer) -> Round | None:
    """The latest published round not replaced by a re-run, if the viewer may see one."""
    return session.exec(
        access.rounds(viewer)
        .where(Round.status == RoundStatus.PUBLISHED, col(Round.superseded_by).is_(None))
        .order_by(col(Round.id).desc())
    ).first()


def _standing_condition(standing: Standing, late: ColumnElement[int]) -> ColumnElement[bool]:
    response = col(Assignment.response)
    placed = col(Assignment.offer_id).is_not(None)
    conditions: dict[Standing, ColumnElement[bool]] = {
        Standing.CONFIRMED: and_(placed, response == Response.CONFIRMED),
        Standing.PENDING: and_(placed, response.is_(None) | (response == Response.PENDING)),
        Standing.DECLINED: and_(placed, response == Response.DECLINED),
        Standing.WITHDRAWN: and_(placed, response == Response.WITHDRAWN),
        Standing.UNPLACED: and_(
            col(Assignment.id).is_not(None), col(Assignment.offer_id).is_(None)
        ),
        Standing.ABSENT: col(Assignment.id).is_(None),
        Standing.LATE: func.coalesce(late, 0) > 0,
    }
    return conditions[standing]


def school_follow_up(
    session: Session,
    viewer: Viewer,
    school_id: str,
    today: dt.date,
    *,
    standing: Standing | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SchoolFollowUp:
    """The school's students by name, each with the placement, the answer and the checklist
    progress in the current round; `standing` filters; NotFound outside the viewer's scope."""
    school = get_school(session, viewer, school_id)
    round_ = current_round(session, viewer)
    round_id = round_.id if round_ is not None else -1
    steps = (
        sql_select(
            col(ChecklistStep.student_id).label("student_id"),
            func.count().label("total"),
            func.count(col(ChecklistStep.done_at)).label("done"),
            func.count(
                case(
                    (
                        and_(
                            col(ChecklistStep.done_at).is_(None), col(ChecklistStep.due_on) < today
                        ),
                        1,
                    )
                )
            ).label("late"),
        )
        .where(col(ChecklistStep.round_id) == round_id, col(ChecklistStep.school_id) == school_id)
        .group_by(col(ChecklistStep.student_id))
        .subquery()
    )
    # Steps count only while the placement is current (a declined one has nothing to do).
    late = case((is_current(), steps.c.late), else_=0)
    joined = (
        sql_select(Student, Assignment, steps.c.total, steps.c.done, late.label("late"))
        .outerjoin(
            Assignment,
            and_(
                col(Assignment.round_id) == round_id,
                col(Assignment.student_id) == Student.student_id,
            ),
        )
        .outerjoin(steps, steps.c.student_id == Student.student_id)
        .where(col(Student.school_id) == school_id)
    )
    counts = session.execute(
        sql_select(
            func.count(),
            *(func.count(case((_standing_condition(s, late), 1))) for s in Standing),
        )
        .select_from(Student)
        .outerjoin(
            Assignment,
            and_(
                col(Assignment.round_id) == round_id,
                col(Assignment.student_id) == Student.student_id,
            ),
        )
        .outerjoin(steps, steps.c.student_id == Student.student_id)
        .where(col(Student.school_id) == school_id)
    ).one()
    standings = dict(zip(Standing, counts[1:], strict=True))
    if standing is not None:
        joined = joined.where(_standing_condition(standing, late))
        count = standings[standing]
    else:
        count = counts[0]
    rows = session.execute(
        joined.order_by(col(Student.last_name), col(Student.first_name), col(Student.student_id))
        .offset(offset)
        .limit(min(limit, MAX_PAGE))
    ).all()
    session.commit()
    return SchoolFollowUp(
        school,
        round_,
        [
            StudentProgress(
                student,
                assignment,
                total or 0,
                done or 0,
                (late_steps or 0) if total else 0,
            )
            for student, assignment, total, done, late_steps in rows
        ],
        count,
        counts[0],
        standings,
    )


def current_placements(
    session: Session, viewer: Viewer, round_id: int, school_id: str
) -> list[Assignment]:
    """The school's current placements in the round, by name (documents exist for these)."""
    get_school(session, viewer, school_id)
    return list(
        session.exec(
            access.assignments(viewer)
            .where(
                Assignment.round_id == round_id,
                Assignment.school_id == school_id,
                is_current(),
            )
            .order_by(col(Assignment.last_name), col(Assignment.first_name))
        )
    )


def student_assignment(
    session: Session, viewer: Viewer, round_id: int, student_id: str
) -> Assignment | None:
    """The student's assignment in the round, within the viewer's scope (None: not in it)."""
    return session.exec(
        access.assignments(viewer).where(
            Assignment.round_id == round_id, Assignment.student_id == student_id
        )
    ).first()
