"""Routes of a signed-in student: his or her own placements and preparation checklist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from mobility_match.access import Viewer
from mobility_match.api.checklists import ChecklistPublic
from mobility_match.api.deps import ReadSessionDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.api.rounds import AssignmentPublic
from mobility_match.models import Role
from mobility_match.services import answers, checklists

router = APIRouter(prefix="/api/me", tags=["students"], responses=SIGNED_IN)

Student = Annotated[Viewer, Depends(allow(Role.STUDENT))]


class PlacementPublic(BaseModel):
    round_id: int
    round_name: str
    response_deadline: str | None
    replaced_by: int | None = Field(
        description="The newer round that replaces this one: the placement to answer is there."
    )
    assignment: AssignmentPublic


@router.get("/placements")
def my_placements(session: ReadSessionDep, viewer: Student) -> list[PlacementPublic]:
    """Your placements in published rounds, the newest first."""
    return [
        PlacementPublic(
            round_id=round_.id or 0,
            round_name=round_.name,
            response_deadline=(
                round_.response_deadline.isoformat() if round_.response_deadline else None
            ),
            replaced_by=round_.superseded_by,
            assignment=AssignmentPublic.of(row),
        )
        for row, round_ in answers.my_placements(session, viewer)
    ]


@router.get("/checklist", responses=responses(404, 409, 410))
def my_checklist(session: ReadSessionDep, viewer: Student) -> ChecklistPublic:
    """Your current placement's preparation steps, by date; tick yours with
    PUT /api/checklist-steps/{step_id}/done."""
    assignment, steps = checklists.my_checklist(session, viewer)
    return ChecklistPublic.of(assignment, steps)
