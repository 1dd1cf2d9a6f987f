"""Who is placed in a partner organisation's companies, after publication.

One function gives the rows that the partner's page, its CSV/XLSX downloads
and the API's JSON all show: the placed students of current published rounds
(published and not replaced by a re-run) on the partner's offers, with the
student's trade, the dates, the company, the school and its contact, and the
student's answer. Placements the host withdrew are left out; declined ones are
kept, marked so, since the partner needs to know the place is free again.
Access is access.py's: a partner sees its own organisation's placements,
coordinators every partner's. Everything here reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.models import Assignment, Response, Role, Round, RoundStatus, School
from mobility_match.services.rows import require
from mobility_match.services.snapshots import snapshot_objects


@dataclass(frozen=True)
class HostPlacement:
    """One placed student as the host side sees it."""

    round_id: int
    offer_id: str
    company_name: str
    city: str
    student_id: str
    first_name: str
    last_name: str
    trade: str
    start_date: dt.date | None
    end_date: dt.date | None
    school_id: str
    school_name: str
    school_contact_name: str
    school_contact_email: str
    school_phone: str
    response: Response


PLACEMENT_COLUMNS: tuple[str, ...] = tuple(HostPlacement.__dataclass_fields__)
"""The columns of the downloads, in the order of HostPlacement's fields."""


def host_placements(
    session: Session, viewer: Viewer, *, offer_id: str | None = None
) -> list[HostPlacement]:
    """The placed students of current published rounds on the viewer's offers (one offer's
    when `offer_id` is given), by company, start date and name."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    current = select(Round.id).where(
        Round.status == RoundStatus.PUBLISHED, col(Round.superseded_by).is_(None)
    )
    query = access.assignments(viewer).where(
        col(Assignment.round_id).in_(current),
        col(Assignment.offer_id).is_not(None),
        col(Assignment.response).in_([Response.PENDING, Response.CONFIRMED, Response.DECLINED]),
    )
    if offer_id is not None:
        query = query.where(Assignment.offer_id == offer_id)
    assignments = list(session.exec(query))
    trades = _trades(session, {row.round_id for row in assignments})
    schools = _schools(session, {row.school_id for row in assignments})
    rows = [
        _placement(row, trades.get((row.round_id, row.student_id), ""), schools.get(row.school_id))
        for row in assignments
    ]
    return sorted(
        rows,
        key=lambda p: (
            p.company_name.casefold(),
            p.start_date or dt.date.max,
            p.last_name.casefold(),
            p.first_name.casefold(),
            p.student_id,
        ),
    )


def _trades(session: Session, round_ids: set[int]) -> dict[tuple[int, str], str]:
    """Each student's trade in the round's snapshot (the trade the round was solved on)."""
    found: dict[tuple[int, str], str] = {}
    for round_id in round_ids:
        students, _offers = snapshot_objects(session, session.get_one(Round, round_id))
        found.update(((round_id, student.student_id), student.trade) for student in students)
    return found


def _schools(session: Session, school_ids: set[str]) -> dict[str, School]:
    """The schools of the placed students: the partner writes to their contact."""
    if not school_ids:
        return {}
    query = select(School).where(col(School.school_id).in_(sorted(school_ids)))
    return {school.school_id: school for school in session.exec(query)}


def _placement(row: Assignment, trade: str, school: School | None) -> HostPlacement:
    assert row.offer_id is not None
    assert row.response is not None
    return HostPlacement(
        round_id=row.round_id,
        offer_id=row.offer_id,
        company_name=row.company_name,
        city=row.city,
        student_id=row.student_id,
        first_name=row.first_name,
        last_name=row.last_name,
        trade=trade,
        start_date=row.start_date,
        end_date=row.end_date,
        school_id=row.school_id,
        school_name=school.name if school else row.school_id,
        school_contact_name=school.contact_name if school else "",
        school_contact_email=school.contact_email if school else "",
        school_phone=school.phone if school else "",
        response=row.response,
    )
