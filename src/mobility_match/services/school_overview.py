"""Schools at a glance for coordinators: each school with its number of students, and the
round whose placements are current (the latest published one not replaced by a re-run).

Only reads. A school's records are services/people.py's, its checklist steps
services/checklists.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from mobility_match.access import Viewer
from mobility_match.models import Role, Round, RoundStatus, School, Student
from mobility_match.services.rows import require


@dataclass(frozen=True)
class SchoolSummary:
    school: School
    students: int


def school_summaries(session: Session, viewer: Viewer) -> list[SchoolSummary]:
    """Every school, by id, with how many students it has (one grouped query)."""
    require(viewer, Role.COORDINATOR)
    counts = dict(
        session.exec(select(Student.school_id, func.count()).group_by(col(Student.school_id))).all()
    )
    schools = session.exec(select(School).order_by(col(School.school_id))).all()
    session.commit()
    return [SchoolSummary(school, counts.get(school.school_id, 0)) for school in schools]


def current_round(session: Session, viewer: Viewer) -> Round | None:
    """The latest published round not replaced by a re-run, if any (coordinators)."""
    require(viewer, Role.COORDINATOR)
    found = session.exec(
        select(Round)
        .where(col(Round.status) == RoundStatus.PUBLISHED, col(Round.superseded_by).is_(None))
        .order_by(col(Round.published_at).desc(), col(Round.id).desc())
    ).first()
    session.commit()
    return found
