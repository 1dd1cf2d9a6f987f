"""A round's assignments as people see them, and the answers to published placements.

Students confirm or decline until the round's deadline, and may change their
mind until then: a confirmation can always be turned into a refusal; a refusal
can be taken back only while no re-run of the round has started since it, because
a re-run counts the freed place and may give it to someone else (the place is
held for the student until then: nobody else is placed on it in this round). A
host's withdrawal marks the placements on its offer. Every read is scoped by
access.py.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.models import (
    Assignment,
    Response,
    Round,
    RoundStatus,
    School,
    utcnow,
)
from mobility_match.services import audit, mail
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


def list_assignments(
    session: Session, viewer: Viewer, round_id: int, *, limit: int | None = None, offset: int = 0
) -> list[Assignment]:
    """A round's assignments within the viewer's scope, by student id (`limit` of them from
    `offset`, or all)."""
    get_round(session, viewer, round_id)
    return list(
        session.exec(
            access.assignments(viewer)
            .where(Assignment.round_id == round_id)
            .order_by(col(Assignment.student_id))
            .offset(offset)
            .limit(limit)
        )
    )


PLACED = "placed"
UNPLACED = "unplaced"
"""Values of the `reason` filter besides the reason codes: every placed, every unplaced."""

SORTS: dict[str, tuple[Any, ...]] = {
    "name": (col(Assignment.last_name), col(Assignment.first_name)),
    "school": (col(School.name), col(Assignment.school_id)),
    "gender": (col(Assignment.gender),),
    "trade": (col(Assignment.trade),),
    "country": (col(Assignment.country),),
    "company": (col(Assignment.company_name),),
    "city": (col(Assignment.city),),
    "dates": (col(Assignment.start_date), col(Assignment.end_date)),
    "rank": (col(Assignment.preference_rank),),
    "locked": (col(Assignment.locked),),
    "response": (col(Assignment.response),),
    "reason": (col(Assignment.reason_code),),
}
"""The columns the review table sorts by; ties are broken by student id."""


@dataclass(frozen=True)
class AssignmentFilters:
    """What the review table is narrowed to; an empty value does not filter."""

    school: str = ""
    country: str = ""
    sector: str = ""
    gender: str = ""
    reason: str = ""
    """A reason code of the unplaced, PLACED or UNPLACED."""


@dataclass(frozen=True)
class AssignmentPage:
    """One page of a round's assignments, filtered and sorted, with the count of them all."""

    rows: list[Assignment]
    total: int
    """How many assignments match the filters (on every page)."""
    page: int
    pages: int
    size: int
    school_names: dict[str, str]
    """The names of the schools of `rows` (a school without a row of its own: its id)."""


def page_assignments(
    session: Session,
    viewer: Viewer,
    round_id: int,
    filters: AssignmentFilters,
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    size: int = 50,
) -> AssignmentPage:
    """A page of the round's assignments within the viewer's scope, filtered, sorted and
    counted by the database (a 10,000-student round reads one page, not every row).

    An unknown sort is by name; a page past the last is the last.
    """
    get_round(session, viewer, round_id)
    query = access.assignments(viewer).where(Assignment.round_id == round_id)
    for value, column in (
        (filters.school, Assignment.school_id),
        (filters.country, Assignment.country),
        (filters.sector, Assignment.sector),
        (filters.gender, Assignment.gender),
    ):
        if value:
            query = query.where(column == value)
    if filters.reason == PLACED:
        query = query.where(col(Assignment.offer_id).is_not(None))
    elif filters.reason == UNPLACED:
        query = query.where(col(Assignment.offer_id).is_(None))
    elif filters.reason:
        query = query.where(Assignment.reason_code == filters.reason)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    size = max(1, size)
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    columns = SORTS.get(sort, SORTS["name"])
    if sort == "school":
        query = query.outerjoin(School, col(School.school_id) == col(Assignment.school_id))
    order = [c.desc().nulls_last() if descending else c.asc().nulls_last() for c in columns]
    rows = list(
        session.exec(
            query.order_by(*order, col(Assignment.student_id)).offset((page - 1) * size).limit(size)
        )
    )
    names = school_names(session, {row.school_id for row in rows})
    return AssignmentPage(rows, total, page, pages, size, names)


def school_names(session: Session, ids: Collection[str]) -> dict[str, str]:
    """The name of each school of `ids` (its id when it has no name or no row)."""
    found = session.exec(
        select(School.school_id, School.name).where(col(School.school_id).in_(ids))
    ).all()
    names = {school_id: name for school_id, name in found if name}
    return {school_id: names.get(school_id, school_id) for school_id in ids}


def round_schools(session: Session, viewer: Viewer, round_id: int) -> list[tuple[str, str]]:
    """(id, name) of every school with an assignment in the round you may see, by name; a
    name that two schools share is followed by each one's id."""
    get_round(session, viewer, round_id)
    scoped = access.assignments(viewer).where(Assignment.round_id == round_id).subquery()
    ids = session.exec(select(scoped.c.school_id).distinct()).all()
    shown = list(school_names(session, ids).items())
    twice = {name for name, n in Counter(name for _id, name in shown).items() if n > 1}
    shown = [(i, f"{name} ({i})" if name in twice else name) for i, name in shown]
    return sorted(shown, key=lambda pair: (pair[1].casefold(), pair[0]))


def places_taken(session: Session, viewer: Viewer, round_id: int) -> dict[str, int]:
    """Offer id → how many of the round's students (that you may see) are placed on it."""
    get_round(session, viewer, round_id)
    scoped = (
        access.assignments(viewer)
        .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
        .subquery()
    )
    counted = session.exec(
        select(scoped.c.offer_id, func.count()).group_by(scoped.c.offer_id)
    ).all()
    return {offer_id: count for offer_id, count in counted if offer_id is not None}


def my_placements(session: Session, viewer: Viewer) -> list[tuple[Assignment, Round]]:
    """The viewer's (a student's) assignments in published rounds, newest round first."""
    rows = session.exec(
        access.assignments(viewer)
        .where(Assignment.student_id == viewer.student_id)
        .order_by(col(Assignment.round_id).desc())
    ).all()
    return [(row, session.get_one(Round, row.round_id)) for row in rows]


def answer_problems(
    session: Session, assignment: Assignment, round_: Round, response: Response, today: dt.date
) -> list[str]:
    """Why the student's `response` (confirmed or declined) cannot be recorded now; empty
    when it can (the same answer again is no change, and allowed)."""
    problems = []
    if assignment.offer_id is None:
        problems.append("There is no placement to answer: you were not placed in this round.")
    elif assignment.response is Response.WITHDRAWN:
        problems.append("The host withdrew this offer; a new round will propose another one.")
    elif response is Response.CONFIRMED and assignment.response is Response.DECLINED:
        rerun = rerun_since(session, round_, assignment.responded_at)
        if rerun is not None:
            problems.append(
                f"You declined this placement, and round {rerun} (a re-run of this round) "
                "was started since: your place may go to another student, so the refusal "
                "cannot be taken back here; ask your coordinator."
            )
    if round_.superseded_by is not None:
        problems.append(f"Round {round_.superseded_by} replaces this round: answer there.")
    elif round_.response_deadline is not None and today > round_.response_deadline:
        problems.append(
            f"The deadline to answer was {round_.response_deadline.isoformat()}: "
            "your answer can no longer be given or changed; ask your teacher."
        )
    return problems


def rerun_since(session: Session, round_: Round, since: dt.datetime | None) -> int | None:
    """The first re-run of `round_` started at or after `since` (any re-run when None)."""
    query = select(Round.id).where(Round.previous_round_id == round_.id)
    if since is not None:
        query = query.where(col(Round.created_at) >= since)
    return session.exec(query.order_by(col(Round.id))).first()


def respond(
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    confirm: bool,
    today: dt.date,
) -> Assignment:
    """A student confirms or declines a published placement, or changes his or her answer,
    until the round's deadline (answer_problems says what may change)."""
    if viewer.student_id != student_id:
        raise NotFound(f"Round {round_id} has no assignment for student {student_id}.")
    found = get_assignment(session, viewer, round_id, student_id)
    # Checked on the locked row, so that two answers at once take turns.
    assignment = session.exec(
        select(Assignment)
        .where(Assignment.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    round_ = session.get_one(Round, round_id)
    response = Response.CONFIRMED if confirm else Response.DECLINED
    problems = answer_problems(session, assignment, round_, response, today)
    if problems:
        raise Refused("The answer cannot be recorded.", problems=problems)
    if assignment.response is response:
        session.commit()
        return assignment  # the same answer again (a form sent twice): nothing changes
    before = assignment.response
    details = {} if before in (None, Response.PENDING) else {"changed_from": str(before)}
    _answer(session, viewer, assignment, response, **details)
    session.commit()
    return assignment


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


def on_offer_withdrawn(
    session: Session, viewer: Viewer, offer_id: str, settings: Settings | None = None
) -> int:
    """Mark published placements on a withdrawn offer as withdrawn by the host (no commit);
    with `settings`, the students concerned and their teachers get a mail in the same
    transaction (services/mail.py).

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
    if settings is not None:
        mail.enqueue_withdrawal(session, offer_id, rows, settings)
    return len(rows)


@dataclass(frozen=True)
class AnswerOrigin:
    """Who gave a student's latest answer, and through which invitation link."""

    actor: str
    at: dt.datetime
    invitation_id: int | None
    issued_by: str
    """The username of whoever made that invitation link ("" if unknown)."""
    issuer_role: str


def answer_origin(session: Session, assignment: Assignment) -> AnswerOrigin | None:
    """Who gave the latest answer of an assignment the caller may see, from the audit log
    (None: not answered by the student)."""
    event = audit.last_event(
        session,
        "assignment",
        f"{assignment.round_id}/{assignment.student_id}",
        ("assignment.confirm", "assignment.decline"),
    )
    if event is None:
        return None
    invitation = event.details.get("via_invitation")
    return AnswerOrigin(
        event.actor,
        event.at,
        invitation if isinstance(invitation, int) else None,
        str(event.details.get("invitation_issued_by", "")),
        str(event.details.get("invitation_issuer_role", "")),
    )
