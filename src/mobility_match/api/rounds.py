"""Routes of matching rounds: create, solve in the background, review, adjust, publish, answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from mobility_match import exports
from mobility_match.access import Viewer
from mobility_match.api.deps import (
    MAX_ID,
    ChecklistsDep,
    Coordinator,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
    allow,
)
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.domain import bare_sentence
from mobility_match.models import Assignment, Role, Round, utcnow
from mobility_match.report_model import RoundReport
from mobility_match.services import answers, reproducibility, review, rounds
from mobility_match.services.solving import Solver
from mobility_match.statistics import RoundStatistics

router = APIRouter(prefix="/api/rounds", tags=["rounds"], responses=SIGNED_IN)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID, description="The round's number.")]
StudentId = Annotated[str, Path(description="The student's id, as in students.csv.")]
Student = Annotated[Viewer, Depends(allow(Role.STUDENT))]


class RoundCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    policy: str = Field(default="", max_length=2000, description="Policy TOML (CONTRACT.md).")
    time_limit: float | None = Field(default=None, gt=0, le=3600, description="Seconds.")
    seed: int = Field(default=0, ge=0, le=MAX_ID)
    project_number: str = Field(
        default="",
        max_length=40,
        description="The Erasmus+ project (grant agreement) number of the round's mobilities, "
        "e.g. 2026-1-FR01-KA121-VET-000123456; printed on learning agreements.",
    )


class RoundPublic(BaseModel):
    id: int
    name: str
    status: str
    version: int
    policy: str
    time_limit: float
    seed: int
    previous_round_id: int | None
    superseded_by: int | None
    created_at: dt.datetime
    solved_at: dt.datetime | None
    published_at: dt.datetime | None
    response_deadline: dt.date | None
    project_number: str = Field(description="Erasmus+ project number; empty when not given.")
    progress: dict[str, Any] | None
    error: str
    notes: list[str] = Field(description="Locks of the previous round that could not be kept.")
    report: RoundReport | None = Field(
        description="The solve's report (CONTRACT.md's report, with the reproducibility record "
        "of the solve); coordinators only."
    )

    @classmethod
    def of(cls, round_: Round, viewer: Viewer) -> RoundPublic:
        data = round_.model_dump()
        if not viewer.is_coordinator:
            data["report"] = None
        return cls.model_validate(data)


class AssignmentPublic(BaseModel):
    round_id: int
    student_id: str
    first_name: str
    last_name: str
    school_id: str
    eligible: bool
    offer_id: str | None
    partner: str | None
    company_name: str
    country: str
    city: str
    start_date: dt.date | None
    end_date: dt.date | None
    preference_rank: int | None
    locked: bool
    reason_code: str
    reason: str
    response: str | None
    responded_at: dt.datetime | None

    @classmethod
    def of(cls, row: Assignment) -> AssignmentPublic:
        """The row as the API shows it; the reason without the "code: " that rows stored
        before reasons were kept without their code may hold."""
        public = cls.model_validate(row.model_dump())
        public.reason = bare_sentence(row.reason_code, row.reason)
        return public


class Move(BaseModel):
    offer_id: str | None = Field(description="The offer to place the student on; null: unplace.")


class Solve(BaseModel):
    again: bool = Field(
        default=False,
        description="Solve a solved round again, replacing its result once the new one is "
        "complete (without it, a solved round answers 409).",
    )


class Publish(BaseModel):
    response_deadline: dt.date = Field(description="Last day placed students may answer.")


class Decision(BaseModel):
    decision: Literal["confirm", "decline"]


class Rerun(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class PlacePublic(BaseModel):
    offer_id: str
    company_name: str
    city: str
    country: str


class ChangePublic(BaseModel):
    student_id: str
    before: str | None = Field(description="The offer in the first round (null: unplaced).")
    after: str | None = Field(description="The offer in the other round (null: unplaced).")
    first_name: str
    last_name: str
    school_id: str
    school_name: str
    before_place: PlacePublic | None
    after_place: PlacePublic | None

    @classmethod
    def of(cls, change: review.Change) -> ChangePublic:
        return cls.model_validate(asdict(change))


def _solver(request: Request) -> Solver:
    solver: Solver = request.app.state.solver
    return solver


SolverDep = Annotated[Solver, Depends(_solver)]


@router.get("")
def list_rounds(session: ReadSessionDep, viewer: ViewerDep) -> list[RoundPublic]:
    """The rounds you may see (coordinators: all; others: published ones), newest first."""
    return [RoundPublic.of(r, viewer) for r in rounds.list_rounds(session, viewer)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_round(
    body: RoundCreate, session: SessionDep, viewer: Coordinator, settings: SettingsDep
) -> RoundPublic:
    """Create a draft round on a snapshot of the current students and open offers."""
    round_ = rounds.create_round(
        session, viewer, **body.model_dump(), default_time_limit=settings.solve_time_limit
    )
    return RoundPublic.of(round_, viewer)


@router.get("/{round_id}", responses=responses(404))
def get_round(
    round_id: RoundId, session: SessionDep, viewer: ViewerDep, solver: SolverDep
) -> RoundPublic:
    """A round, with the progress of its solve while it runs (poll this)."""
    return RoundPublic.of(rounds.get_live_round(session, viewer, round_id, solver.recover), viewer)


@router.post(
    "/{round_id}/solve", status_code=status.HTTP_202_ACCEPTED, responses=responses(404, 409)
)
def solve(
    round_id: RoundId,
    session: SessionDep,
    viewer: Coordinator,
    solver: SolverDep,
    body: Annotated[Solve | None, Body()] = None,
) -> RoundPublic:
    """Start solving the round in the background; 409 if it is running, published, or
    solved without {"again": true}."""
    again = body is not None and body.again
    attempt = rounds.request_solve(session, viewer, round_id, solver.lease, again=again)
    solver.start(round_id, attempt)
    return RoundPublic.of(rounds.get_round(session, viewer, round_id), viewer)


@router.post("/{round_id}/cancel", responses=responses(404, 409))
def cancel(
    round_id: RoundId, session: SessionDep, viewer: Coordinator, solver: SolverDep
) -> RoundPublic:
    """Stop the round's solve; it goes back to draft (or to its previous result)."""
    round_ = rounds.cancel_solve(session, viewer, round_id)
    solver.cancel(round_id)
    return RoundPublic.of(round_, viewer)


@router.get("/{round_id}/statistics", responses=responses(404, 409))
def statistics(round_id: RoundId, session: ReadSessionDep, viewer: Coordinator) -> RoundStatistics:
    """Placed by gender, country, sector and school; the gender gap; reasons of the unplaced.

    The figures of the round's report, exports and pages (one model); a group with nobody
    eligible has a null rate."""
    return review.statistics(session, viewer, round_id)


@router.get("/{round_id}/assignments", responses=responses(404))
def list_assignments(
    round_id: RoundId,
    session: ReadSessionDep,
    viewer: ViewerDep,
    limit: Annotated[
        int | None, Query(ge=1, le=5000, description="At most this many (default: all).")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Assignments to skip.")] = 0,
) -> list[AssignmentPublic]:
    """The round's assignments you may see (your school's, your offers', your own), by
    student id; page through them with `limit` and `offset`."""
    rows = answers.list_assignments(session, viewer, round_id, limit=limit, offset=offset)
    return [AssignmentPublic.of(a) for a in rows]


@router.get("/{round_id}/assignments/{student_id}", responses=responses(404))
def get_assignment(
    round_id: RoundId, student_id: StudentId, session: ReadSessionDep, viewer: ViewerDep
) -> AssignmentPublic:
    """One student's assignment in the round."""
    return AssignmentPublic.of(answers.get_assignment(session, viewer, round_id, student_id))


@router.post("/{round_id}/assignments/{student_id}/lock", responses=responses(404, 409))
def lock(
    round_id: RoundId, student_id: StudentId, session: SessionDep, viewer: Coordinator
) -> AssignmentPublic:
    """Keep this placement (or non-placement) when the round is solved again."""
    return AssignmentPublic.of(review.lock(session, viewer, round_id, student_id))


@router.delete("/{round_id}/assignments/{student_id}/lock", responses=responses(404, 409))
def unlock(
    round_id: RoundId, student_id: StudentId, session: SessionDep, viewer: Coordinator
) -> AssignmentPublic:
    """Let the next solve place this student freely."""
    return AssignmentPublic.of(review.unlock(session, viewer, round_id, student_id))


@router.post("/{round_id}/assignments/{student_id}/move", responses=responses(404, 409))
def move(
    round_id: RoundId,
    student_id: StudentId,
    body: Move,
    session: SessionDep,
    viewer: Coordinator,
) -> AssignmentPublic:
    """Move a student to another offer (every hard rule checked; 422 with the reasons)."""
    return AssignmentPublic.of(review.move(session, viewer, round_id, student_id, body.offer_id))


class RuleBreakPublic(BaseModel):
    rule: str = Field(description="The hard rule: trade, language, dates, age or preferences.")
    variant: str = Field(
        description="trade_sector: an offer for every trade of its sector; "
        "age_uk: an offer in the United Kingdom; else the rule's name."
    )
    facts: dict[str, str] = Field(description="What shows it (dates ISO, levels CEFR).")


class HolderPublic(BaseModel):
    student_id: str | None = Field(description="Null: a student you may not see.")
    rank: int | None = Field(description="The rank of the offer in the holder's preferences.")
    locked: bool


class StageValuePublic(BaseModel):
    stage: str
    before: str = Field(description="The value as the round stands, exact (n or p/q).")
    after: str = Field(description="The value with the student on the offer, exact.")
    worse: bool


class MovedPublic(BaseModel):
    student_id: str | None = Field(description="Null: a student you may not see.")
    before: str | None
    after: str | None


class StudentLockPublic(BaseModel):
    offer_id: str | None = Field(description="Null: locked out of the round.")
    declined_in: int | None = Field(description="The round whose placement was declined.")


class OfferWhyPublic(BaseModel):
    offer_id: str
    rank: int | None = Field(description="The rank of the offer in the student's preferences.")
    verdict: Literal[
        "rules", "placed_here", "locked", "held_by_locks", "stage", "tie", "possible", "taken"
    ] = Field(
        description="rules: hard rules broken; stage: `stage` would get worse; tie: "
        "as good a round places the student there; possible: the round could improve; "
        "taken: every place is taken (`holders`), the stage is not computed (coordinators "
        "only: it solves the round again)."
    )
    broken: list[RuleBreakPublic]
    places: int
    holders: list[HolderPublic]
    move: Literal["added", "solved"] | None = Field(
        description="added: a free place, nobody else moves; "
        "solved: the round solved again with the student locked on the offer."
    )
    stage: str | None = Field(description="The first stage, in policy order, that changes.")
    values: list[StageValuePublic] = Field(description="Every stage, before and after.")
    proven: bool = Field(description="False: a solve stopped before proving its stages.")
    moved: list[MovedPublic] = Field(description="Others placed differently in the round found.")
    lock: StudentLockPublic | None
    heading: str
    sentences: list[str]


class ChoicePublic(BaseModel):
    entry: str = Field(description="A country the student listed.")
    rank: int
    offers: int
    acceptable: int
    rule_counts: dict[str, int]


class TradeoffPublic(StageValuePublic):
    offer_id: str


class WhyNotPublic(BaseModel):
    round_id: int
    student_id: str
    language: Literal["fr", "en"]
    offer_id: str | None = Field(description="Where the student is placed (null: unplaced).")
    rank: int | None
    situation: str = Field(description="placed, or the reason code of an unplaced student.")
    listed_preferences: bool
    lock: StudentLockPublic | None
    summary: list[str] = Field(description="Where the student is, in `language`.")
    choices: list[ChoicePublic]
    offers: list[OfferWhyPublic] = Field(description="Without `offer`: the offers examined.")
    more: list[str] = Field(description="Offers past `limit`, not examined.")
    rule_counts: dict[str, int] = Field(description="Without any acceptable offer: per rule.")
    asked: OfferWhyPublic | None = Field(description="The explanation of `offer`, if asked.")
    tradeoff: TradeoffPublic | None = Field(
        description="policy_tradeoff: a free offer and the stage adding the student would worsen."
    )


Preparer = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER, Role.STUDENT))]


@router.get("/{round_id}/assignments/{student_id}/why-not", responses=responses(404, 409))
def why_not(
    round_id: RoundId,
    student_id: StudentId,
    session: ReadSessionDep,
    viewer: Preparer,
    offer: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Why not this offer (default: the choices ranked "
            "higher, or every acceptable offer of an unplaced student).",
        ),
    ] = None,
    language: Annotated[
        Literal["fr", "en"] | None, Query(description="Default: yours, else French.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10, description="Offers examined at most.")] = 3,
) -> WhyNotPublic:
    """Why the student is not on an offer: every hard rule broken, else who holds its places
    and the stage of the policy a move would worsen, with its values (changes nothing).

    For a full offer, that stage takes solving the round again: only coordinators get it
    (a short solve, kept for the round as it stands); others get who holds the places."""
    from mobility_match.services import why_not  # noqa: PLC0415

    answer = why_not.explain(
        session, viewer, round_id, student_id, offer, language=language, limit=limit
    )
    return WhyNotPublic.model_validate(answer.as_data())


@router.post("/{round_id}/assignments/{student_id}/response", responses=responses(404, 409))
def respond(
    round_id: RoundId,
    student_id: StudentId,
    body: Decision,
    session: SessionDep,
    viewer: Student,
) -> AssignmentPublic:
    """Confirm or decline your placement, until the round's deadline."""
    row = answers.respond(
        session, viewer, round_id, student_id, body.decision == "confirm", utcnow().date()
    )
    return AssignmentPublic.of(row)


@router.post("/{round_id}/publish", responses=responses(404, 409))
def publish(
    round_id: RoundId,
    body: Publish,
    session: SessionDep,
    viewer: Coordinator,
    checklists: ChecklistsDep,
    settings: SettingsDep,
) -> RoundPublic:
    """Publish a solved round: students, teachers and partners see its assignments, each
    placed student gets a preparation checklist, and each student with an e-mail a mail."""
    round_ = rounds.publish(
        session,
        viewer,
        round_id,
        body.response_deadline,
        utcnow().date(),
        checklists,
        settings=settings,
    )
    return RoundPublic.of(round_, viewer)


@router.post(
    "/{round_id}/rerun", status_code=status.HTTP_201_CREATED, responses=responses(404, 409)
)
def rerun(
    round_id: RoundId, body: Rerun, session: SessionDep, viewer: Coordinator, settings: SettingsDep
) -> RoundPublic:
    """A new draft round from current data that will change as few placements as possible."""
    round_ = rounds.rerun(
        session, viewer, round_id, name=body.name, default_time_limit=settings.solve_time_limit
    )
    return RoundPublic.of(round_, viewer)


@router.get("/{round_id}/diff/{other_round_id}", responses=responses(404, 409))
def diff(
    round_id: RoundId,
    other_round_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The round to compare with.")],
    session: SessionDep,
    viewer: Coordinator,
) -> list[ChangePublic]:
    """The students placed differently in the other round than in this one."""
    changes = review.diff(session, viewer, round_id, other_round_id)
    return [ChangePublic.of(change) for change in changes]


@router.get(
    "/{round_id}/export/{table}.{fmt}",
    response_class=Response,
    responses={
        200: {"content": {media: {} for media in exports.MEDIA_TYPES.values()}},
        **responses(404, 409),
    },
)
def export(
    round_id: RoundId,
    table: Literal["assignments", "statistics"],
    fmt: Literal["csv", "xlsx"],
    session: SessionDep,
    viewer: Coordinator,
) -> Response:
    """The round's assignments or statistics as CSV or XLSX, safe to open in a spreadsheet."""
    round_ = rounds.get_round(session, viewer, round_id)
    data, result = review.current_result(session, round_)
    if table == "assignments":
        frame = exports.assignments_frame(data, result)
    else:
        frame = exports.statistics_frame(review.statistics(session, viewer, round_id))
    if fmt == "csv":
        body = exports.to_csv_bytes(frame)  # the CONTRACT's columns, nothing else
    else:
        body = exports.to_xlsx_bytes(frame, table, reproducibility.round_about(round_))
    filename = f"round-{round_id}-{table}.{fmt}"
    return Response(
        body,
        media_type=exports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
