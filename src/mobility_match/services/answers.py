"""A round's assignments as people see them, and the answers to published placements.

Students confirm or decline until the round's deadline; a host's withdrawal
marks the placements on its offer. Every read is scoped by access.py.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.models import (
    Assignment,
    Response,
    Round,
    RoundStatus,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.errors import NotFound, Refused
from mobility_match.services.rounds import get_round


def get_assignment(session: Session, viewer: Viewer, round_id: int, student_id: str) -> Assignment:
    """One student's assignment in a round, within the viewer's scope; else 404."""
    found = session.exec(
        access.assignments(viewer).where(
            Assignment.round_id == round_id, Assignment.student_id == student_id
        )
    ).first()
    if found is None:
        raise NotFound(f"Round {round_id} has no assignment for student {student_id}.")
    return found


def list_assignments(session: Session, viewer: Viewer, round_id: int) -> list[Assignment]:
    """A round's assignments within the viewer's scope, by student id."""
    get_round(session, viewer, round_id)
    return list(
        session.exec(
            access.assignments(viewer)
            .where(Assignment.round_id == round_id)
            .order_by(col(Assignment.student_id))
        )
    )


def my_placements(session: Session, viewer: Viewer) -> list[tuple[Assignment, Round]]:
    """The viewer's (a student's) assignments in published rounds, newest round first."""
    rows = session.exec(
        access.assignments(viewer)
        .where(Assignment.student_id == viewer.student_id)
        .order_by(col(Assignment.round_id).desc())
    ).all()
    return [(row, session.get_one(Round, row.round_id)) for row in rows]


def respond(
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    confirm: bool,
    today: dt.date,
) -> Assignment:
    """A student confirms or declines a published placement, until the round's deadline."""
    if viewer.student_id != student_id:
        raise NotFound(f"Round {round_id} has no assignment for student {student_id}.")
    assignment = get_assignment(session, viewer, round_id, student_id)
    round_ = session.get_one(Round, round_id)
    problems = []
    if assignment.offer_id is None:
        problems.append("There is no placement to answer: you were not placed in this round.")
    elif assignment.response is Response.WITHDRAWN:
        problems.append("The host withdrew this offer; a new round will propose another one.")
    elif assignment.response is Response.DECLINED:
        problems.append("You already declined this placement; ask your coordinator.")
    if round_.superseded_by is not None:
        problems.append(f"Round {round_.superseded_by} replaces this round: answer there.")
    elif round_.response_deadline is not None and today > round_.response_deadline:
        problems.append(f"The deadline to answer was {round_.response_deadline.isoformat()}.")
    if problems:
        raise Refused("The answer cannot be recorded.", problems=problems)
    locked = session.exec(
        select(Assignment).where(Assignment.id == assignment.id).with_for_update()
    ).one()
    _answer(session, viewer, locked, Response.CONFIRMED if confirm else Response.DECLINED)
    session.commit()
    return locked


def _answer(
    session: Session, viewer: Viewer, row: Assignment, response: Response, **details: str
) -> None:
    """Record an answer to a published placement (the student's, or the host's withdrawal)."""
    row.response = response
    row.responded_at = utcnow()
    row.version += 1
    session.add(row)
    action = {
        Response.CONFIRMED: "assignment.confirm",
        Response.DECLINED: "assignment.decline",
        Response.WITHDRAWN: "assignment.withdrawn_by_host",
    }[response]
    audit.record(
        session, viewer, action, "assignment", f"{row.round_id}/{row.student_id}", **details
    )


def on_offer_withdrawn(session: Session, viewer: Viewer, offer_id: str) -> int:
    """Mark published placements on a withdrawn offer as withdrawn by the host (no commit).

    Returns how many placements it touched; the coordinator re-runs the round.
    """
    published = select(Round.id).where(Round.status == RoundStatus.PUBLISHED)
    rows = session.exec(
        select(Assignment)
        .where(
            Assignment.offer_id == offer_id,
            col(Assignment.round_id).in_(published),
            col(Assignment.response).is_distinct_from(Response.DECLINED),
        )
        .with_for_update()
    ).all()
    for row in rows:
        _answer(session, viewer, row, Response.WITHDRAWN, offer_id=offer_id)
    return len(rows)
