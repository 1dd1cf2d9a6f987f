"""Preparation checklists: seen, ticked by whoever may, watched for lateness.

services/preparation.py writes them when a round is published. Who may tick:
the student his or her own `student` steps, a teacher the `student` and
`teacher` steps of the school's students, a coordinator any.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, CursorResult, case, distinct, func, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.documents.facts import Actor
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    Role,
    Round,
    RoundStatus,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.errors import Forbidden, NotFound
from mobility_match.services.placements import current_placement, is_current, placement_steps

MAY_TICK: dict[Role, frozenset[Actor]] = {
    Role.COORDINATOR: frozenset(Actor),
    Role.TEACHER: frozenset({Actor.STUDENT, Actor.TEACHER}),
    Role.STUDENT: frozenset({Actor.STUDENT}),
}
"""Whose steps each role may tick (within what it may see)."""


def checklist(
    session: Session, viewer: Viewer, round_id: int, student_id: str
) -> tuple[Assignment, list[ChecklistStep]]:
    """A current placement's steps, by date, within the viewer's scope."""
    assignment, _round = current_placement(session, viewer, round_id, student_id)
    return assignment, placement_steps(session, round_id, student_id)


def my_checklist(session: Session, viewer: Viewer) -> tuple[Assignment, list[ChecklistStep]]:
    """The signed-in student's current placement and its steps; 404 when there is none."""
    current = session.exec(
        access.assignments(viewer)
        .join(Round, col(Round.id) == Assignment.round_id)
        .where(
            Assignment.student_id == viewer.student_id,
            col(Round.superseded_by).is_(None),
            is_current(),
        )
        .order_by(col(Assignment.round_id).desc())
    ).first()
    if current is None:
        raise NotFound("You have no current placement, so no preparation checklist yet.")
    return current, placement_steps(session, current.round_id, current.student_id)


def tick(session: Session, viewer: Viewer, step_id: int, *, done: bool) -> ChecklistStep:
    """Mark a step done (or not done again); who may depends on whose step it is."""
    step = session.get(ChecklistStep, step_id)
    if step is None:
        raise NotFound(f"There is no checklist step {step_id}.")
    # Scope and currency: someone else's step answers exactly like a missing one.
    try:
        current_placement(session, viewer, step.round_id, step.student_id)
    except NotFound:
        raise NotFound(f"There is no checklist step {step_id}.") from None
    if Actor(step.who) not in MAY_TICK.get(viewer.role, frozenset()):
        raise Forbidden(
            f"Step {step_id} ({step.title}) is for the {step.who} to do; "
            f"a {viewer.role.value} may not tick it."
        )
    values = (
        {"done_at": utcnow(), "done_by": viewer.account_id, "done_by_name": viewer.username}
        if done
        else {"done_at": None, "done_by": None, "done_by_name": ""}
    )
    # Only a real change is written and audited: ticking twice keeps the first tick.
    changed = session.execute(
        update(ChecklistStep)
        .where(
            col(ChecklistStep.id) == step_id,
            col(ChecklistStep.done_at).is_(None)
            if done
            else col(ChecklistStep.done_at).is_not(None),
        )
        .values(**values)
    )
    assert isinstance(changed, CursorResult)
    if changed.rowcount:
        audit.record(
            session,
            viewer,
            "checklist.tick" if done else "checklist.untick",
            "checklist_step",
            step_id,
            round_id=step.round_id,
            student_id=step.student_id,
            key=step.key,
        )
    session.commit()
    session.refresh(step)
    return step


@dataclass(frozen=True)
class LateStep:
    """An overdue step with what the coordinator needs to chase it."""

    step: ChecklistStep
    assignment: Assignment
    days_late: int


@dataclass(frozen=True)
class LateGroup:
    """Per school and country: students with open steps, open steps, overdue steps."""

    school_id: str
    country: str
    students: int
    """Students with at least one open step."""
    open_steps: int
    overdue_steps: int
    students_late: int


def overdue(
    session: Session,
    viewer: Viewer,
    today: dt.date,
    *,
    school_id: str | None = None,
    country: str | None = None,
    round_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[LateGroup], list[LateStep]]:
    """Open steps of current placements counted per school and country, and the late ones
    (from `offset`, at most `limit` of them; the groups count them all).

    The counts are made by the database (a round of 10,000 students has over 100,000
    steps); only the late steps asked for are read as rows.
    """
    conditions: list[ColumnElement[bool]] = [
        # Each step with its assignment and its round:
        col(Assignment.round_id) == ChecklistStep.round_id,
        col(Assignment.student_id) == ChecklistStep.student_id,
        col(Round.id) == ChecklistStep.round_id,
        col(Round.status) == RoundStatus.PUBLISHED,
        col(Round.superseded_by).is_(None),
        is_current(),
        col(ChecklistStep.done_at).is_(None),
        access.checklist_scope(viewer),
    ]
    if school_id is not None:
        conditions.append(col(ChecklistStep.school_id) == school_id)
    if country is not None:
        conditions.append(col(ChecklistStep.country) == country)
    if round_id is not None:
        conditions.append(col(ChecklistStep.round_id) == round_id)
    late = col(ChecklistStep.due_on) < today
    student = col(ChecklistStep.student_id)
    # SQLAlchemy's select: sqlmodel's is typed for at most four columns.
    counts = session.execute(
        sql_select(
            col(ChecklistStep.school_id),
            col(ChecklistStep.country),
            func.count(distinct(student)),
            func.count(),
            func.count(case((late, 1))),
            func.count(distinct(case((late, student)))),
        )
        .where(*conditions)
        .group_by(col(ChecklistStep.school_id), col(ChecklistStep.country))
        .order_by(col(ChecklistStep.school_id), col(ChecklistStep.country))
    ).all()
    rows = session.exec(
        select(ChecklistStep, Assignment)
        .where(*conditions, late)
        .order_by(
            col(ChecklistStep.school_id),
            col(ChecklistStep.country),
            col(ChecklistStep.due_on),
            col(ChecklistStep.student_id),
            col(ChecklistStep.position),
            col(ChecklistStep.id),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    groups = [LateGroup(*row) for row in counts]
    return groups, [
        LateStep(step, assignment, (today - step.due_on).days) for step, assignment in rows
    ]
