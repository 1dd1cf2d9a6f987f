"""A published placement as documents and checklists see it: found in scope, then its facts.

Documents and checklists exist only for a placement that is current: its round
is published and not replaced by a re-run, the student is placed, and neither
the student declined nor the host withdrew. Everything here reads; nothing
changes the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from mobility_match import domain
from mobility_match.access import Viewer
from mobility_match.documents.facts import Actor, DueStep, PlacementFacts
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    HostReview,
    Response,
    Round,
    RoundStatus,
    School,
)
from mobility_match.records import GUARDIAN_COLUMNS
from mobility_match.services.answers import get_assignment
from mobility_match.services.errors import Conflict, Gone
from mobility_match.services.snapshots import placed_students, snapshot_placement

FIRST_STEPS = 5
"""How many of the checklist's earliest steps the student's letter lists."""


def is_current() -> ColumnElement[bool]:
    """In a query: the assignment is a placement still to prepare for (its round's state
    is checked apart): placed, and neither declined nor withdrawn."""
    return and_(
        col(Assignment.offer_id).is_not(None),
        col(Assignment.response).in_([Response.PENDING, Response.CONFIRMED]),
    )


def current_placement(
    session: Session, viewer: Viewer, round_id: int, student_id: str
) -> tuple[Assignment, Round]:
    """The viewer's view of a student's placement, if it is current; 404, 409 or 410 otherwise."""
    assignment = get_assignment(session, viewer, round_id, student_id)
    round_ = session.get_one(Round, round_id)
    check_current(assignment, round_)
    return assignment, round_


def check_round_current(round_: Round) -> None:
    """Refuse a round that is not published, or was replaced by a re-run."""
    if round_.status is not RoundStatus.PUBLISHED:
        raise Conflict(
            f"Round {round_.id} is {round_.status.value}: documents and checklists exist "
            "only for published placements."
        )
    if round_.superseded_by is not None:
        raise Gone(
            f"Round {round_.id} was replaced by round {round_.superseded_by}; "
            "the current placements are there."
        )


def check_current(assignment: Assignment, round_: Round) -> None:
    """Refuse a placement that is not (or no longer) one to prepare for, saying why."""
    check_round_current(round_)
    who = f"{assignment.first_name} {assignment.last_name} ({assignment.student_id})"
    if assignment.offer_id is None:
        raise Conflict(f"{who} is not placed in round {round_.id}.")
    if assignment.response is Response.DECLINED:
        raise Conflict(f"{who} declined the placement at {assignment.company_name}.")
    if assignment.response is Response.WITHDRAWN:
        raise Conflict(f"{assignment.company_name} withdrew the placement of {who}.")


def minors_without_hours(session: Session, round_: Round) -> list[Assignment]:
    """A published round's current placements of minors whose offer (in the round's
    snapshot) gives no working hours: their learning agreements leave the hours, required
    for a minor, to be written in. By last name."""
    if round_.status is not RoundStatus.PUBLISHED:
        return []
    placed = placed_students(session, round_)
    found = []
    for assignment in session.exec(
        select(Assignment)
        .where(Assignment.round_id == round_.id, is_current())
        .order_by(col(Assignment.last_name), col(Assignment.first_name))
    ):
        student, offer = placed.get(assignment.student_id, (None, None))
        if student is None or offer is None or not student.is_minor_on(offer.start_date):
            continue
        extra = domain.optional_columns(offer.extra)
        if not extra.get("working_hours"):
            found.append(assignment)
    return found


def placement_steps(session: Session, round_id: int, student_id: str) -> list[ChecklistStep]:
    """A placement's checklist steps, by due date."""
    return list(
        session.exec(
            select(ChecklistStep)
            .where(ChecklistStep.round_id == round_id, ChecklistStep.student_id == student_id)
            .order_by(col(ChecklistStep.due_on), col(ChecklistStep.position))
        )
    )


def facts_of(
    session: Session,
    assignment: Assignment,
    round_: Round,
    steps: Sequence[DueStep],
    *,
    issued_on: dt.date,
) -> PlacementFacts:
    """Gather what the documents of one current placement say; `steps` is its checklist."""
    student, found = snapshot_placement(session, round_, assignment.student_id, assignment.offer_id)
    assert found is not None, "facts_of is for placed students"
    offer = found
    school = session.get(School, student.school_id) or School(school_id=student.school_id)
    partner = domain.load_vocabulary().partners.get(offer.partner)
    guardian = _guardian(student)
    return PlacementFacts(
        round_id=round_.id or 0,
        issued_on=issued_on,
        student_id=student.student_id,
        first_name=student.first_name,
        last_name=student.last_name,
        gender=student.gender,
        birth_date=student.birth_date,
        email=student.email,
        diploma=student.diploma,
        trade=student.trade,
        minor=student.is_minor_on(offer.start_date),
        guardian_name=guardian[0],
        guardian_email=guardian[1],
        guardian_phone=guardian[2],
        school_id=school.school_id,
        school_name=school.name or school.school_id,
        school_address=school.address,
        school_city=school.city,
        school_contact_name=school.contact_name,
        school_contact_email=school.contact_email,
        school_phone=school.phone,
        offer_id=offer.offer_id,
        company_name=offer.company_name,
        company_address=offer.address,
        city=offer.city,
        country=offer.country,
        tutor_name=offer.contact_name,
        tutor_email=offer.contact_email,
        partner_code=offer.partner,
        partner_name=partner.name if partner else offer.partner,
        start_date=offer.start_date,
        end_date=offer.end_date,
        response_deadline=round_.response_deadline,
        first_steps=tuple(steps[:FIRST_STEPS]),
        school_contact_function=school.contact_function,
        project_number=round_.project_number,
        school_oid=school.oid,
        partner_oid=partner.oid if partner else "",
        **_after_return(session, assignment),
    )


def _after_return(session: Session, assignment: Assignment) -> dict[str, Any]:
    """What the host tutor's review says of the placement (dates, absences, skills), for the
    documents written after return; nothing before it. Its free comment is left out."""
    review = session.exec(
        select(HostReview).where(
            HostReview.round_id == assignment.round_id,
            HostReview.student_id == assignment.student_id,
            HostReview.offer_id == assignment.offer_id,
        )
    ).first()
    if review is None:
        return {}
    return {
        "actual_start": review.actual_start,
        "actual_end": review.actual_end,
        "days_absent": review.days_absent,
        "skills_observed": tuple(review.skills),
    }


def due_step(step: ChecklistStep) -> DueStep:
    """A stored checklist step as the documents' plain type."""
    return DueStep(
        key=step.key,
        title=step.title,
        explanation=step.explanation,
        who=Actor(step.who),
        due_on=step.due_on,
        check_legal=step.check_legal,
        legal_note=step.legal_note,
    )


def _guardian(student: domain.Student) -> Sequence[str]:
    extra = domain.optional_columns(student.extra)
    return [extra.get(column, "") for column in GUARDIAN_COLUMNS]
