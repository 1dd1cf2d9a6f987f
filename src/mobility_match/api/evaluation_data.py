"""Routes that record what the evaluation follows: a placement's outcome, and a file of
graduates' follow-up situations.

Thin: who is asking (api/deps.py), then services/outcomes.py or
services/follow_up_survey.py, which check every value and scope every query. Errors
are RFC 9457 problems (api/problems.py); each refused value is named by its field, or by
file, row and column.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, UploadFile
from pydantic import BaseModel, Field

from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, SessionDep, SettingsDep, allow
from mobility_match.api.imports import read_upload
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.models import InterruptionReason, PlacementOutcomeKind, Role
from mobility_match.services import follow_up_survey, outcomes

router = APIRouter(tags=["evaluation data"], responses=SIGNED_IN)

Recorder = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER, Role.PARTNER))]
SchoolStaff = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER))]
RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]
StudentId = Annotated[str, Path(min_length=1, max_length=64)]


class OutcomeIn(BaseModel):
    """How a published placement ended."""

    outcome: PlacementOutcomeKind
    interrupted_on: dt.date | None = Field(
        default=None, description="For an interrupted placement: the day it ended early."
    )
    reason: InterruptionReason | None = Field(
        default=None, description="For an interrupted placement: why."
    )
    note: str = Field(default="", max_length=outcomes.NOTE_LENGTH)


class OutcomeOut(BaseModel):
    """A placement's recorded outcome."""

    round_id: int
    student_id: str
    offer_id: str
    outcome: PlacementOutcomeKind
    interrupted_on: dt.date | None
    reason: InterruptionReason | None
    note: str
    recorded_at: dt.datetime
    version: int


@router.put("/api/rounds/{round_id}/placements/{student_id}/outcome", responses=responses(404, 409))
def record_outcome(
    round_id: RoundId,
    student_id: StudentId,
    body: OutcomeIn,
    session: SessionDep,
    viewer: Recorder,
) -> OutcomeOut:
    """Record how a placement of a published round ended (a teacher for the school's
    students, a partner for its own offers, a coordinator for any); 422 names each field
    that is wrong (e.g. an interruption date outside the placement)."""
    given = outcomes.OutcomeInput(
        body.outcome.value,
        body.interrupted_on,
        body.reason.value if body.reason else "",
        body.note,
    )
    stored = outcomes.record_outcome(session, viewer, round_id, student_id, given)
    return OutcomeOut.model_validate(stored, from_attributes=True)


@router.post("/api/imports/follow-up", responses=responses(404, 413))
def import_follow_up(
    file: Annotated[UploadFile, File(description="A follow-up file, .csv or .xlsx.")],
    session: SessionDep,
    viewer: SchoolStaff,
    settings: SettingsDep,
) -> follow_up_survey.FollowUpImported:
    """Import graduates' situations (student_id, wave, situation, as_of; optional in_trade,
    country), all or nothing; 422 lists every problem as FILE:ROW:COLUMN. A teacher may
    import only the graduates of his or her school."""
    data, filename = read_upload(file, settings.upload_max_bytes)
    return follow_up_survey.import_answers(session, viewer, data, filename, settings)
