"""Routes of what a round is reported with: the price of fairness and the funder's file.

Coordinators only. The price of fairness is asked for (POST, computed in the
background: services/fairness_price.py) and then read (GET); the Beneficiary
Module file lists a published round's mobilities for the Erasmus+ report
(services/beneficiary_module.py). The round's reproducibility record (the
SHA-256 of its inputs, its seed, the software's versions) is in its report.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from mobility_match import exports
from mobility_match.api.deps import MAX_ID, Coordinator, SessionDep
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.api.rounds import SolverDep
from mobility_match.services import beneficiary_module, fairness_price

router = APIRouter(prefix="/api/rounds", tags=["round reports"], responses=SIGNED_IN)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID, description="The round's number.")]


class VariantPublic(BaseModel):
    name: Literal["round", "without_gender_gap", "without_school_fairness"]
    dropped: str | None = Field(description="The stage left out of the round's policy.")
    in_policy: bool = Field(
        description="False: the round's policy has no such stage; the figures are the round's."
    )
    stages: list[str] = Field(description="The stages solved, in order.")
    students: int
    placed: int
    gender_gap: float = Field(description="|placed/eligible of F − of M|, a fraction.")
    preference_cost: int
    min_school_rate: float = Field(description="The lowest placement rate of a school.")
    proven: bool = Field(description="False: a stage stopped before proving its optimum.")
    seconds: float


class FairnessPricePublic(BaseModel):
    status: Literal["none", "running", "done", "failed"] = Field(
        description="none: never asked for; failed: see `error`, ask again."
    )
    current: bool = Field(
        description="Computed on the inputs the round's result was solved on (a re-solve "
        "with other locks makes it out of date)."
    )
    requested_at: str | None = None
    finished_at: str | None = None
    error: str = ""
    inputs_sha256: str | None = Field(default=None, description="The inputs it was solved on.")
    variants: list[VariantPublic] = Field(
        default_factory=list,
        description="The round, then without gender balance, then without school fairness.",
    )

    @classmethod
    def of(cls, price: dict[str, Any]) -> FairnessPricePublic:
        return cls.model_validate(price)


@router.get("/{round_id}/fairness-price", responses=responses(404))
def get_fairness_price(
    round_id: RoundId, session: SessionDep, viewer: Coordinator
) -> FairnessPricePublic:
    """The round beside the same round solved without gender balance and without school
    fairness: placements, gender gap, preference cost and lowest school rate of each."""
    return FairnessPricePublic.of(fairness_price.get(session, viewer, round_id))


@router.post(
    "/{round_id}/fairness-price",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409),
)
def compute_fairness_price(
    round_id: RoundId, session: SessionDep, viewer: Coordinator, solver: SolverDep
) -> FairnessPricePublic:
    """Compute the price of fairness in the background (two more solves, each up to the
    round's time limit); poll the GET. 409 without a result, or while it is computed."""
    attempt = fairness_price.request(session, viewer, round_id)
    engine = session.get_bind().engine
    solver.run_later(lambda stop: fairness_price.run(engine, round_id, attempt, stop))
    return FairnessPricePublic.of(fairness_price.get(session, viewer, round_id))


@router.get(
    "/{round_id}/beneficiary-module.csv",
    response_class=Response,
    responses={
        200: {"content": {exports.MEDIA_TYPES["csv"]: {}}},
        **responses(404, 409),
    },
)
def beneficiary_module_csv(
    round_id: RoundId,
    session: SessionDep,
    viewer: Coordinator,
    grant_agreement: Annotated[
        str,
        Query(
            max_length=40,
            description="The project's number (e.g. 2025-1-FR01-KA121-VET-000123456), "
            "written in the column Grant Agreement No.; empty: the round's project number.",
        ),
    ] = "",
) -> Response:
    """The published round's mobilities as the Erasmus+ Beneficiary Module imports them
    (KA121-VET, KA122-VET): one row per confirmed placement that started."""
    frame = beneficiary_module.mobility_rows(session, viewer, round_id, grant_agreement)
    return Response(
        exports.to_csv_bytes(frame),
        media_type=exports.MEDIA_TYPES["csv"],
        headers={
            "Content-Disposition": (
                f'attachment; filename="round-{round_id}-beneficiary-module.csv"'
            )
        },
    )
