"""Schools at a glance for coordinators: each school with its number of students.

Only reads. A school's records are services/people.py's, its checklist steps
services/checklists.py's, the round whose placements are current follow_up.current_round.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from mobility_match.access import Viewer
from mobility_match.models import Role, School, Student
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
