"""A solved round's report as one typed model: what `--report FILE` writes and rounds store.

`RoundReport` is the JSON report of CONTRACT.md (its keys first, then extra detail),
built once from the round's result and statistics (`round_report`). The command line
writes it (reporting.py), a solve on the server stores it in `Round.report` with the
reproducibility record added, and the API documents it in OpenAPI. A stored report
is read back with `stored_report`: reports written by older versions load too (a key
they lack takes its default; a key this model does not know is kept as it is).

This module must not format anything for people or files: reporting.py and the pages do.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mobility_match.domain import RoundResult, StageResult, StageStatus
from mobility_match.matching.policy import Policy
from mobility_match.matching.stages import Stage
from mobility_match.statistics import RoundStatistics

Number = int | float
"""A stage's value: a whole count (placements, ranks, changes) as an int, a rate as a float."""


class StageReport(BaseModel):
    """What one objective stage reached, in the order the stages were solved."""

    model_config = ConfigDict(extra="allow")

    name: Stage = Field(description="The stage, as policy files name it.")
    value: Number = Field(
        description="The value reached: a number of students or a sum of ranks (whole), or a "
        "rate from 0 to 1."
    )
    bound: Number = Field(
        description="The best value proven possible; equal to value when status is OPTIMAL."
    )
    status: StageStatus = Field(
        description="OPTIMAL: the value is proven best; FEASIBLE: the best found in the time."
    )
    value_exact: str | None = Field(
        default=None, description='The value as an exact fraction, e.g. "11/12".'
    )
    bound_exact: str | None = Field(default=None, description="The bound as an exact fraction.")
    seconds: float | None = Field(default=None, description="Seconds the stage took.")
    method: str | None = Field(
        default=None,
        description='How the stage was settled, e.g. "flow", "flow+lp", "cp-sat".',
    )


class GroupCounts(BaseModel):
    """Students of a sector or a school: how many, how many eligible, how many placed."""

    model_config = ConfigDict(extra="allow")

    students: int = Field(ge=0)
    eligible: int = Field(ge=0, description="Those with at least one acceptable offer.")
    placed: int = Field(ge=0)


class HostCounts(BaseModel):
    """Offers and places of a host country, and how many students were placed there."""

    model_config = ConfigDict(extra="allow")

    offers: int = Field(ge=0)
    places: int = Field(ge=0)
    placed: int = Field(ge=0)


class PolicyReport(BaseModel):
    """The matching policy the round was solved under."""

    model_config = ConfigDict(extra="allow")

    stages: list[Stage] = Field(description="The objective stages, in order.")
    tolerance: dict[Stage, float] = Field(
        default_factory=dict,
        description="How much of a stage's optimum later stages may give up (CONTRACT.md).",
    )


class RoundReport(BaseModel):
    """The report of a solved round (CONTRACT.md's `--report FILE`), with extra detail."""

    model_config = ConfigDict(extra="allow")

    students: int = Field(ge=0, description="Students of the round.")
    offers: int = Field(ge=0)
    places: int = Field(ge=0, description="Places of all the offers.")
    placed: int = Field(ge=0, description="Students placed.")
    placed_by_gender: dict[str, int] = Field(description='Placed, by gender: {"F", "M", "X"}.')
    eligible_by_gender: dict[str, int] = Field(
        description="Students with at least one acceptable offer, by gender."
    )
    gender_gap: float = Field(
        description="|placement rate of F − of M| among eligible students, from 0 to 1."
    )
    preference_cost: int = Field(
        ge=0, description="The sum over placed students of preference_rank − 1."
    )
    min_school_rate: float = Field(
        description="The lowest placement rate among schools, over their eligible students."
    )
    stages: list[StageReport] = Field(description="One per objective stage, in solve order.")
    solve_seconds: float = Field(description="Seconds the whole solve took.")
    acceptable_pairs: int = Field(
        default=0, ge=0, description="(student, offer) pairs passing every hard rule."
    )
    unplaced_by_reason: dict[str, int] = Field(
        default_factory=dict, description="Unplaced students by reason code (CONTRACT.md)."
    )
    by_country: dict[str, HostCounts] = Field(default_factory=dict)
    by_sector: dict[str, GroupCounts] = Field(default_factory=dict)
    by_school: dict[str, GroupCounts] = Field(default_factory=dict)
    policy: PolicyReport | None = Field(default=None)
    seed: int | None = Field(default=None, description="The solver's seed.")
    reproducible: bool = Field(
        default=True,
        description="False when the wall clock (the time limit), not the solver's "
        "deterministic time, stopped a search: the same seed may give another result.",
    )
    inputs_sha256: str | None = Field(
        default=None,
        description="Solves on the server: the SHA-256 of the inputs (students, offers, "
        "locks, policy).",
    )
    software: dict[str, str] | None = Field(
        default=None, description="Solves on the server: the versions that solved the round."
    )
    time_limit: float | None = Field(
        default=None, description="Solves on the server: the round's time limit, in seconds."
    )

    def data(self) -> dict[str, Any]:
        """The report as JSON data: the keys it was given (none of the defaults an older
        report lacked, nor the server's keys a report of the command line never has)."""
        return self.model_dump(mode="json", exclude_unset=True)


def _number(value: Fraction) -> Number:
    return int(value) if value.denominator == 1 else float(value)


def stage_report(stage: StageResult) -> StageReport:
    return StageReport(
        name=Stage(stage.name),
        value=_number(stage.value),
        bound=_number(stage.bound),
        status=stage.status,
        value_exact=str(stage.value),
        bound_exact=str(stage.bound),
        seconds=round(stage.seconds, 3),
        method=stage.method,
    )


def round_report(
    result: RoundResult, statistics: RoundStatistics, policy: Policy, seed: int
) -> RoundReport:
    """The report of a solved round, from its result and its statistics."""
    return RoundReport(
        students=statistics.students,
        offers=statistics.offers,
        places=statistics.places,
        placed=statistics.placed,
        placed_by_gender={g: f.placed for g, f in statistics.by_gender.items()},
        eligible_by_gender={g: f.eligible for g, f in statistics.by_gender.items()},
        gender_gap=statistics.gender_gap,
        preference_cost=statistics.preference_cost,
        min_school_rate=statistics.min_school_rate,
        stages=[stage_report(stage) for stage in result.stages],
        solve_seconds=round(result.solve_seconds, 3),
        acceptable_pairs=result.acceptable_pairs,
        unplaced_by_reason=statistics.unplaced_by_reason,
        # The counts written out: the statistics' rates are not in the report.
        by_country={
            c: HostCounts(offers=f.offers, places=f.places, placed=f.placed)
            for c, f in statistics.by_country.items()
        },
        by_sector={
            s: GroupCounts(students=f.students, eligible=f.eligible, placed=f.placed)
            for s, f in statistics.by_sector.items()
        },
        by_school={
            s: GroupCounts(students=f.students, eligible=f.eligible, placed=f.placed)
            for s, f in statistics.by_school.items()
        },
        policy=PolicyReport(
            stages=list(policy.stages),
            tolerance={Stage(k): float(v) for k, v in policy.tolerance.items()},
        ),
        seed=seed,
        reproducible=result.reproducible,
    )


def stored_report(data: Mapping[str, Any] | None) -> RoundReport | None:
    """A report as a round stores it (JSON), typed; None for a round without one."""
    return RoundReport.model_validate(data) if data else None
