"""Routes of preparation checklists: one placement's steps, ticking, the overdue steps.

Students see and tick their own steps (also under /api/me/checklist), teachers
their school's students', coordinators everyone's; the overdue view and its
export are for coordinators and teachers (their school only).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from mobility_match import exports
from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, ReadSessionDep, SchoolStaff, SessionDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.models import Assignment, ChecklistStep, Role, utcnow
from mobility_match.services import checklists
from mobility_match.services.checklists import LateStep

router = APIRouter(prefix="/api", tags=["checklists"], responses=SIGNED_IN)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID, description="The round's number.")]
StudentId = Annotated[str, Path(description="The student's id, as in students.csv.")]
StepId = Annotated[int, Path(ge=1, le=MAX_ID, description="A checklist step.")]
Preparer = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER, Role.STUDENT))]


class StepPublic(BaseModel):
    id: int
    key: str
    title: str
    explanation: str
    who: str = Field(description="student, teacher or coordinator.")
    due_on: dt.date
    overdue: bool
    check_legal: bool = Field(
        description="The coordinator should check this step's legal detail before relying on it."
    )
    legal_note: str
    done_at: dt.datetime | None
    done_by: str

    @classmethod
    def of(cls, step: ChecklistStep, today: dt.date) -> StepPublic:
        return cls(
            id=step.id or 0,
            key=step.key,
            title=step.title,
            explanation=step.explanation,
            who=step.who,
            due_on=step.due_on,
            overdue=step.done_at is None and step.due_on < today,
            check_legal=step.check_legal,
            legal_note=step.legal_note,
            done_at=step.done_at,
            done_by=step.done_by_name,
        )


class ChecklistPublic(BaseModel):
    round_id: int
    student_id: str
    first_name: str
    last_name: str
    school_id: str
    company_name: str
    country: str
    city: str
    start_date: dt.date | None
    end_date: dt.date | None
    done: int
    total: int
    steps: list[StepPublic] = Field(description="By due date.")

    @classmethod
    def of(cls, assignment: Assignment, steps: list[ChecklistStep]) -> ChecklistPublic:
        today = utcnow().date()
        return cls(
            round_id=assignment.round_id,
            student_id=assignment.student_id,
            first_name=assignment.first_name,
            last_name=assignment.last_name,
            school_id=assignment.school_id,
            company_name=assignment.company_name,
            country=assignment.country,
            city=assignment.city,
            start_date=assignment.start_date,
            end_date=assignment.end_date,
            done=sum(step.done_at is not None for step in steps),
            total=len(steps),
            steps=[StepPublic.of(step, today) for step in steps],
        )


class LateGroupPublic(BaseModel):
    school_id: str
    country: str
    students: int = Field(description="Students with at least one open step.")
    open_steps: int
    overdue_steps: int
    students_late: int


class LateStepPublic(BaseModel):
    step: StepPublic
    round_id: int
    student_id: str
    first_name: str
    last_name: str
    school_id: str
    country: str
    company_name: str
    start_date: dt.date | None
    days_late: int


class Overdue(BaseModel):
    today: dt.date
    groups: list[LateGroupPublic] = Field(description="Per school and host country.")
    overdue_steps: int = Field(description="How many steps are overdue in all.")
    steps: list[LateStepPublic] = Field(
        description="Overdue steps by school, country and due date, from `offset`, at most "
        "`limit` of them (the export has them all)."
    )


SchoolFilter = Annotated[str | None, Query(max_length=64, description="Only this school.")]
CountryFilter = Annotated[
    Literal["DE", "PL", "UK"] | None, Query(description="Only this host country.")
]
RoundFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this round.")]


@router.get(
    "/rounds/{round_id}/placements/{student_id}/checklist", responses=responses(404, 409, 410)
)
def placement_checklist(
    round_id: RoundId, student_id: StudentId, session: ReadSessionDep, viewer: Preparer
) -> ChecklistPublic:
    """A placed student's preparation steps, with who does each and by when."""
    assignment, steps = checklists.checklist(session, viewer, round_id, student_id)
    return ChecklistPublic.of(assignment, steps)


@router.put("/checklist-steps/{step_id}/done", responses=responses(404, 409, 410))
def tick(step_id: StepId, session: SessionDep, viewer: Preparer) -> StepPublic:
    """Mark a step done: students their own steps, teachers also the teacher's steps,
    coordinators any."""
    step = checklists.tick(session, viewer, step_id, done=True)
    return StepPublic.of(step, utcnow().date())


@router.delete("/checklist-steps/{step_id}/done", responses=responses(404, 409, 410))
def untick(step_id: StepId, session: SessionDep, viewer: Preparer) -> StepPublic:
    """Mark a step as not done after all (same rights as ticking it)."""
    step = checklists.tick(session, viewer, step_id, done=False)
    return StepPublic.of(step, utcnow().date())


@router.get("/checklists/overdue")
def overdue(
    session: SessionDep,
    viewer: SchoolStaff,
    school_id: SchoolFilter = None,
    country: CountryFilter = None,
    round_id: RoundFilter = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Steps per page.")] = 500,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Steps to skip.")] = 0,
) -> Overdue:
    """Open and overdue steps per school and country, and the overdue steps page by page."""
    today = utcnow().date()
    groups, late = checklists.overdue(
        session,
        viewer,
        today,
        school_id=school_id,
        country=country,
        round_id=round_id,
        limit=limit,
        offset=offset,
    )
    return Overdue(
        today=today,
        groups=[
            LateGroupPublic(
                school_id=g.school_id,
                country=g.country,
                students=g.students,
                open_steps=g.open_steps,
                overdue_steps=g.overdue_steps,
                students_late=g.students_late,
            )
            for g in groups
        ],
        overdue_steps=sum(g.overdue_steps for g in groups),
        steps=[_late_public(row, today) for row in late],
    )


OVERDUE_COLUMNS = (
    "school_id",
    "country",
    "round_id",
    "student_id",
    "last_name",
    "first_name",
    "company_name",
    "start_date",
    "step",
    "who",
    "due_on",
    "days_late",
    "check_legal",
)


@router.get(
    "/checklists/overdue.{fmt}",
    response_class=Response,
    responses={200: {"content": {media: {} for media in exports.MEDIA_TYPES.values()}}},
)
def export_overdue(
    fmt: Literal["csv", "xlsx"],
    session: SessionDep,
    viewer: SchoolStaff,
    school_id: SchoolFilter = None,
    country: CountryFilter = None,
    round_id: RoundFilter = None,
) -> Response:
    """The overdue steps as CSV or XLSX, one row per step, safe to open in a spreadsheet."""
    _groups, late = checklists.overdue(
        session, viewer, utcnow().date(), school_id=school_id, country=country, round_id=round_id
    )
    frame = pd.DataFrame(
        [
            (
                row.step.school_id,
                row.step.country,
                row.step.round_id,
                row.step.student_id,
                row.assignment.last_name,
                row.assignment.first_name,
                row.assignment.company_name,
                row.assignment.start_date,
                row.step.title,
                row.step.who,
                row.step.due_on,
                row.days_late,
                row.step.check_legal,
            )
            for row in late
        ],
        columns=list(OVERDUE_COLUMNS),
    )
    body = exports.to_csv_bytes(frame) if fmt == "csv" else exports.to_xlsx_bytes(frame, "overdue")
    return Response(
        body,
        media_type=exports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="overdue-steps.{fmt}"'},
    )


def _late_public(row: LateStep, today: dt.date) -> LateStepPublic:
    return LateStepPublic(
        step=StepPublic.of(row.step, today),
        round_id=row.step.round_id,
        student_id=row.step.student_id,
        first_name=row.assignment.first_name,
        last_name=row.assignment.last_name,
        school_id=row.step.school_id,
        country=row.step.country,
        company_name=row.assignment.company_name,
        start_date=row.assignment.start_date,
        days_late=row.days_late,
    )
