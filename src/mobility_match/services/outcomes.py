"""How each published placement ended: completed, interrupted (when and why) or not started.

A teacher records it for the students of his or her school, a partner for the placements
in its own companies, a coordinator for any; each in the scope access.py gives (another
school's or partner's placement answers 404, as a missing one). Only a placement of a
published round has an outcome. Every change is audited with the value it replaced.
Values come as the words of a form or a JSON body and are checked here, each problem
naming its field; nothing is written when one is wrong. No HTTP here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.models import (
    Assignment,
    InterruptionReason,
    PlacementOutcome,
    PlacementOutcomeKind,
    Role,
    Round,
    RoundStatus,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.rows import chunks, require, saving

RECORDERS = (Role.COORDINATOR, Role.TEACHER, Role.PARTNER)
NOTE_LENGTH = 500


@dataclass(frozen=True)
class OutcomeInput:
    """An outcome as a form or a request gives it: words, checked by `record_outcome`."""

    outcome: str
    interrupted_on: dt.date | None = None
    reason: str = ""
    note: str = ""


def _placement(session: Session, viewer: Viewer, round_id: int, student_id: str) -> Assignment:
    """The viewer's placement of the student in a published round; NotFound outside the
    viewer's scope, Conflict when the round is not published or the student not placed."""
    assignment = session.exec(
        access.assignments(viewer).where(
            Assignment.round_id == round_id, Assignment.student_id == student_id
        )
    ).first()
    if assignment is None:
        raise NotFound(f"There is no placement of student {student_id!r} in round {round_id}.")
    round_ = session.get_one(Round, round_id)
    if round_.status is not RoundStatus.PUBLISHED:
        raise Conflict(
            f"Round {round_id} is not published: only a published placement has an outcome."
        )
    if assignment.offer_id is None:
        raise Conflict(f"Student {student_id!r} is not placed in round {round_id}: no outcome.")
    return assignment


def outcome_problems(
    assignment: Assignment, given: OutcomeInput, today: dt.date
) -> tuple[list[str], PlacementOutcomeKind | None, InterruptionReason | None]:
    """Every problem of `given` for this placement, as `field: sentence`, and the values."""
    problems: list[str] = []
    kinds = ", ".join(kind.value for kind in PlacementOutcomeKind)
    reasons = ", ".join(reason.value for reason in InterruptionReason)
    kind = next((k for k in PlacementOutcomeKind if k.value == given.outcome.strip()), None)
    if kind is None:
        shown = f"'{given.outcome}' is not an outcome" if given.outcome else "the outcome is empty"
        problems.append(f"outcome: {shown}; expected one of {kinds}")
    reason = next((r for r in InterruptionReason if r.value == given.reason.strip()), None)
    if given.reason.strip() and reason is None:
        problems.append(f"reason: '{given.reason}' is not a reason; expected one of {reasons}")
    if len(given.note) > NOTE_LENGTH:
        problems.append(f"note: the note has {len(given.note)} characters; at most {NOTE_LENGTH}")
    start, end = assignment.start_date, assignment.end_date
    if kind is PlacementOutcomeKind.INTERRUPTED:
        if given.interrupted_on is None:
            problems.append("interrupted_on: the date the placement was interrupted is missing")
        elif start is not None and end is not None and not start <= given.interrupted_on <= end:
            problems.append(
                f"interrupted_on: {given.interrupted_on} is outside the placement "
                f"({start} to {end}); give a date within it"
            )
        elif given.interrupted_on > today:
            problems.append(
                f"interrupted_on: {given.interrupted_on} is in the future; record the "
                "interruption once it happened"
            )
        if not given.reason.strip():
            problems.append(f"reason: the reason of the interruption is missing; one of {reasons}")
    elif kind is not None:
        if given.interrupted_on is not None:
            problems.append("interrupted_on: a date is given only for an interrupted placement")
        if given.reason.strip():
            problems.append("reason: a reason is given only for an interrupted placement")
        if kind is PlacementOutcomeKind.COMPLETED and start is not None and today < start:
            problems.append(
                f"outcome: the placement starts on {start}; it cannot be completed before"
            )
    return problems, kind, reason


def record_outcome(
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    given: OutcomeInput,
    *,
    today: dt.date | None = None,
) -> PlacementOutcome:
    """Record (or change) a published placement's outcome; Refused lists every problem,
    nothing written. Committed, with an audit event naming the value replaced."""
    require(viewer, *RECORDERS)
    today = today or utcnow().date()
    assignment = _placement(session, viewer, round_id, student_id)
    problems, kind, reason = outcome_problems(assignment, given, today)
    if problems or kind is None:
        raise Refused("The outcome of the placement is not recorded.", problems=problems)
    assert assignment.offer_id is not None
    with saving(session, "Someone else recorded this outcome at the same time; try again."):
        stored = session.exec(
            select(PlacementOutcome)
            .where(PlacementOutcome.round_id == round_id, PlacementOutcome.student_id == student_id)
            .with_for_update()
        ).first()
        before = None if stored is None else _summary(stored)
        if stored is None:
            stored = PlacementOutcome(
                round_id=round_id, student_id=student_id, offer_id=assignment.offer_id, outcome=kind
            )
        else:
            stored.version += 1
        stored.outcome = kind
        stored.interrupted_on = given.interrupted_on if reason is not None else None
        stored.reason = reason
        stored.note = given.note.strip()
        stored.offer_id = assignment.offer_id
        stored.recorded_by = viewer.account_id
        stored.recorded_at = utcnow()
        session.add(stored)
        audit.record(
            session,
            viewer,
            "placement_outcome.record",
            "placement",
            f"{round_id}:{student_id}",
            before=before,
            after=_summary(stored),
        )
    return stored


def _summary(outcome: PlacementOutcome) -> dict[str, str | None]:
    return {
        "outcome": outcome.outcome.value,
        "interrupted_on": outcome.interrupted_on.isoformat() if outcome.interrupted_on else None,
        "reason": outcome.reason.value if outcome.reason else None,
    }


def get_outcome(
    session: Session, viewer: Viewer, round_id: int, student_id: str
) -> PlacementOutcome | None:
    """The outcome of a placement in the viewer's scope (None: not recorded yet)."""
    found = outcomes_of(session, viewer, [(round_id, student_id)])
    return found.get((round_id, student_id))


def outcomes_of(
    session: Session, viewer: Viewer, placements: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], PlacementOutcome]:
    """The recorded outcomes of these (round, student) placements that the viewer sees."""
    wanted = set(placements)
    found: dict[tuple[int, str], PlacementOutcome] = {}
    for round_id in sorted({round_id for round_id, _student in wanted}):
        students = sorted(student for r, student in wanted if r == round_id)
        for batch in chunks(students):
            visible = [
                row.student_id
                for row in session.exec(
                    access.assignments(viewer).where(
                        Assignment.round_id == round_id, col(Assignment.student_id).in_(batch)
                    )
                )
            ]
            rows = session.exec(
                select(PlacementOutcome).where(
                    PlacementOutcome.round_id == round_id,
                    col(PlacementOutcome.student_id).in_(visible),
                )
            )
            found.update(((row.round_id, row.student_id), row) for row in rows)
    return found
