"""Who is asking, and what each role may see: the one place where queries are scoped.

Every query of students, offers, rounds and assignments made on behalf of a
person goes through a function here, which narrows it to that person's
school, partner organisation or own record. Objects outside that scope are
treated as missing (404), so nobody learns which ids exist elsewhere.
An evaluator (the scientific committee) is in no scope at all: every query here
gives it nothing; it reads the evaluation's pseudonymised figures only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, false, true
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from mobility_match.models import (
    Account,
    Assignment,
    ChecklistStep,
    Job,
    Offer,
    PlacementDocument,
    Role,
    Round,
    RoundStatus,
    School,
    Student,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person a request acts for."""

    account_id: int
    username: str
    role: Role
    school_id: str | None = None
    partner: str | None = None
    student_id: str | None = None
    credential_id: int | None = None
    language: str = ""
    """The page language the person chose ("": not chosen yet)."""

    @classmethod
    def of(cls, account: Account, credential_id: int | None = None) -> Viewer:
        assert account.id is not None
        return cls(
            account.id,
            account.username,
            account.role,
            account.school_id,
            account.partner,
            account.student_id,
            credential_id,
            account.language,
        )

    @property
    def is_coordinator(self) -> bool:
        return self.role is Role.COORDINATOR


def _none(query: SelectOfScalar[T]) -> SelectOfScalar[T]:
    return query.where(false())


def schools(viewer: Viewer, query: SelectOfScalar[School] | None = None) -> SelectOfScalar[School]:
    """Schools: all for coordinators, a teacher's own, none for others."""
    query = select(School) if query is None else query
    if viewer.is_coordinator:
        return query
    if viewer.role is Role.TEACHER:
        return query.where(School.school_id == viewer.school_id)
    return _none(query)


def students(
    viewer: Viewer, query: SelectOfScalar[Student] | None = None
) -> SelectOfScalar[Student]:
    """Students: all for coordinators, a teacher's school, a student's own record."""
    query = select(Student) if query is None else query
    if viewer.is_coordinator:
        return query
    if viewer.role is Role.TEACHER:
        return query.where(Student.school_id == viewer.school_id)
    if viewer.role is Role.STUDENT:
        return query.where(Student.student_id == viewer.student_id)
    return _none(query)


def offers(viewer: Viewer, query: SelectOfScalar[Offer] | None = None) -> SelectOfScalar[Offer]:
    """Offers: all for coordinators, a partner's own organisation's, none for others."""
    query = select(Offer) if query is None else query
    if viewer.is_coordinator:
        return query
    if viewer.role is Role.PARTNER:
        return query.where(Offer.partner == viewer.partner)
    return _none(query)


def rounds(viewer: Viewer, query: SelectOfScalar[Round] | None = None) -> SelectOfScalar[Round]:
    """Rounds: every one for coordinators; only published ones for everybody else but
    evaluators, who see none (a round leads to its placements)."""
    query = select(Round) if query is None else query
    if viewer.is_coordinator:
        return query
    if viewer.role is Role.EVALUATOR:
        return _none(query)
    return query.where(Round.status == RoundStatus.PUBLISHED)


def assignments(
    viewer: Viewer, query: SelectOfScalar[Assignment] | None = None
) -> SelectOfScalar[Assignment]:
    """Assignments: all for coordinators; of published rounds, within one's scope, for others."""
    query = select(Assignment) if query is None else query
    if viewer.is_coordinator:
        return query
    published = select(Round.id).where(Round.status == RoundStatus.PUBLISHED)
    query = query.where(col(Assignment.round_id).in_(published))
    if viewer.role is Role.TEACHER:
        return query.where(Assignment.school_id == viewer.school_id)
    if viewer.role is Role.PARTNER:
        return query.where(Assignment.partner == viewer.partner)
    if viewer.role is Role.STUDENT:
        return query.where(Assignment.student_id == viewer.student_id)
    return _none(query)


def checklist_scope(viewer: Viewer) -> ColumnElement[bool]:
    """Which checklist steps the viewer sees: all for coordinators; of published rounds, a
    teacher's school's and a student's own; none for partners (preparation is the school's)."""
    if viewer.is_coordinator:
        return true()
    published = col(ChecklistStep.round_id).in_(
        select(Round.id).where(Round.status == RoundStatus.PUBLISHED)
    )
    if viewer.role is Role.TEACHER:
        return and_(published, col(ChecklistStep.school_id) == viewer.school_id)
    if viewer.role is Role.STUDENT:
        return and_(published, col(ChecklistStep.student_id) == viewer.student_id)
    return false()


def documents(
    viewer: Viewer, query: SelectOfScalar[PlacementDocument] | None = None
) -> SelectOfScalar[PlacementDocument]:
    """Generated documents: all for coordinators, a teacher's school's, none for others."""
    query = select(PlacementDocument) if query is None else query
    if viewer.is_coordinator:
        return query
    if viewer.role is Role.TEACHER:
        return query.where(PlacementDocument.school_id == viewer.school_id)
    return _none(query)


def jobs(viewer: Viewer, query: SelectOfScalar[Job] | None = None) -> SelectOfScalar[Job]:
    """Background jobs: all for coordinators, one's own for everybody else (none for an
    evaluator, who starts none)."""
    query = select(Job) if query is None else query
    if viewer.is_coordinator:
        return query
    if viewer.role is Role.EVALUATOR:
        return _none(query)
    return query.where(Job.account_id == viewer.account_id)


def audit_fields(viewer: Viewer | None) -> dict[str, Any]:
    """The actor columns of an audit event for `viewer` (None: the system itself)."""
    if viewer is None:
        return {"account_id": None, "actor": "system"}
    return {"account_id": viewer.account_id, "actor": viewer.username}
