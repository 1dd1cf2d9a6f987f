"""Writing the preparation checklists of a round being published.

Each placed student gets the steps of the host country's checklist data
(documents/checklists.py), dated back from the departure, out of the holidays of
the school's zone, and naming the offer's partner as the partner data does. A re-run that keeps
a student on the same offer keeps the steps already ticked. Called inside the
publish transaction of services/rounds.py; reading and ticking are in
services/checklists.py.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, insert
from sqlmodel import Session, col, select

from mobility_match.documents.checklists import Checklists
from mobility_match.documents.school_calendar import school_zone
from mobility_match.models import Assignment, ChecklistStep, Partner, Round, RoundStatus
from mobility_match.services import audit
from mobility_match.services.snapshots import placed_students


def instantiate(
    session: Session, round_: Round, previous: Round | None, checklists: Checklists
) -> int:
    """Write the checklist of every placed student of `round_`; part of the publish transaction.

    Ticks of `previous` (the published round this one replaces) carry over for
    students kept on the same offer. Return the number of steps written.
    """
    carried = _ticks_kept(session, round_, previous)
    partner_names = dict(session.exec(select(Partner.code, Partner.name)).all())
    rows = []
    for student_id, (student, offer) in sorted(placed_students(session, round_).items()):
        steps = checklists.steps_for(
            offer.country,
            start_date=offer.start_date,
            end_date=offer.end_date,
            minor=student.is_minor_on(offer.start_date),
            partner_name=partner_names.get(offer.partner),
            zone=school_zone(student.school_id),
        )
        for position, step in enumerate(steps):
            done = carried.get((student_id, step.key))
            rows.append(
                {
                    "round_id": round_.id,
                    "student_id": student_id,
                    "school_id": student.school_id,  # as the assignment copied it
                    "country": offer.country.value,
                    "key": step.key,
                    "position": position,
                    "title": step.title,
                    "explanation": step.explanation,
                    "who": step.who.value,
                    "due_on": step.due_on,
                    "check_legal": step.check_legal,
                    "legal_note": step.legal_note,
                    "done_at": done[0] if done else None,
                    "done_by": done[1] if done else None,
                    "done_by_name": done[2] if done else "",
                }
            )
    if rows:
        session.execute(insert(ChecklistStep), rows)
    return len(rows)


def _ticks_kept(
    session: Session, round_: Round, previous: Round | None
) -> dict[tuple[str, str], tuple[dt.datetime, int | None, str]]:
    """(student, step key) → tick, for students on the same offer in both rounds."""
    if previous is None:
        return {}
    same_offer = (
        select(Assignment.student_id)
        .where(Assignment.round_id == round_.id, col(Assignment.offer_id).is_not(None))
        .join(
            old := select(Assignment.student_id, Assignment.offer_id)
            .where(Assignment.round_id == previous.id)
            .subquery(),
            (old.c.student_id == Assignment.student_id) & (old.c.offer_id == Assignment.offer_id),
        )
    )
    ticked = session.exec(
        select(ChecklistStep).where(
            ChecklistStep.round_id == previous.id,
            col(ChecklistStep.done_at).is_not(None),
            col(ChecklistStep.student_id).in_(same_offer),
        )
    ).all()
    return {
        (step.student_id, step.key): (step.done_at, step.done_by, step.done_by_name)
        for step in ticked
        if step.done_at is not None
    }


def backfill(session: Session, checklists: Checklists) -> int:
    """Write the checklists of current published rounds that have none (rounds published
    before checklists existed); commit. Return the number of steps written."""
    lacking = session.exec(
        select(Round).where(
            Round.status == RoundStatus.PUBLISHED,
            col(Round.superseded_by).is_(None),
            ~exists().where(col(ChecklistStep.round_id) == Round.id),
        )
    ).all()
    written = 0
    for round_ in lacking:
        steps = instantiate(session, round_, None, checklists)
        if steps:
            audit.record(session, None, "checklist.backfill", "round", round_.id, steps=steps)
        written += steps
    session.commit()
    return written
