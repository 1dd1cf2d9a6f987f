"""The objective stages of a round: one named thing per stage, and what is known of it.

Each stage is a member of `Stage`, whose value is the name policy files, reports and
the API use, and has one `StageSpec`: whether it is maximised or minimised, what it
measures (a count of students, a sum of ranks, a rate) and so how a tolerance gives
part of its optimum up, which ways through a round settle it exactly, whether a policy
file may name it, and its label on the coordinator's pages (English, the pages'
message to translate). Code that needs to know one of these asks the spec rather than
comparing names.

Nothing here measures or solves (problem.py measures; flow_path.py and cpsat.py solve),
and nothing here imports the rest of the engine, so that the engine, the services and
the pages can all import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class Stage(StrEnum):
    """An objective stage, by the name policy files and reports give it."""

    PLACEMENTS = "placements"
    GENDER_GAP = "gender_gap"
    PREFERENCES = "preferences"
    SCHOOL_FAIRNESS = "school_fairness"
    CHANGES = "changes"
    """Internal: added by the engine to a re-run (changes.py); a policy file cannot name it."""

    @property
    def spec(self) -> StageSpec:
        return STAGE_SPECS[self]


class Direction(StrEnum):
    MAXIMISE = "maximise"
    MINIMISE = "minimise"


class Measure(StrEnum):
    """What a stage's value counts, and so what its tolerance means."""

    STUDENTS = "students"
    """A number of students: the tolerance is a share of the optimum, in whole students."""
    RANKS = "ranks"
    """A sum of preference ranks (rank − 1 each): a share of the optimum, in whole ranks."""
    RATE = "rate"
    """A rate from 0 to 1: the tolerance is in rate points (0.02 is 2 points)."""


class Unit(StrEnum):
    """How the pages show a stage's value."""

    NUMBER = "number"
    """A count of students or of ranks."""
    PERCENT = "percent"
    """A rate, as a percentage."""
    POINTS = "points"
    """A gap between two rates, in percentage points."""


class SolvePath(StrEnum):
    """A way through a round that can settle a stage exactly (prove its optimum)."""

    FLOW = "flow"
    """Network flows alone: max-flow, min-cost flow, the gender polytope (flow_path.py)."""
    FLOW_LP_REPAIR = "flow+lp+repair"
    """Flows with a proven bound, the linear relaxation, and CP-SAT repairs of a few
    students (flow_path.py, fairness.py, fairness_lp.py, repair.py): proven when they meet."""
    CP_SAT = "cp-sat"
    """The whole round as a CP-SAT model (cpsat.py), within its time limit."""


@dataclass(frozen=True)
class StageSpec:
    """Everything the engine, the reports and the pages know of one stage."""

    stage: Stage
    direction: Direction
    measure: Measure
    settled_by: frozenset[SolvePath]
    label: str
    """The stage's name on the coordinator's pages (English; the pages translate it)."""
    summary: str
    """One sentence saying what the stage does, on the same pages."""
    in_policy: bool = True
    """Whether a policy file may name the stage (`changes` is the engine's own)."""
    unit: Unit = Unit.NUMBER
    """How the pages show its value."""

    @property
    def maximised(self) -> bool:
        return self.direction is Direction.MAXIMISE

    def allowed(self, optimum: Fraction, tolerance: Fraction = Fraction(0)) -> Fraction:
        """The worst value later stages may reach when this stage's best is `optimum`.

        Counts give up a share of their optimum, rounded to what can be counted
        (placements = 0.05 keeps at least 95 % of the most placements); rates give up
        rate points (gender_gap = 0.02: a gap up to 2 points above the smallest).
        """
        if self.measure is Measure.RATE:
            if self.maximised:
                return max(Fraction(0), optimum - tolerance)
            return optimum + tolerance
        if self.maximised:
            return Fraction(math.ceil(optimum * (1 - tolerance)))
        return Fraction(math.floor(optimum * (1 + tolerance)))

    def worse(self, value: Fraction, than: Fraction) -> bool:
        """Whether `value` is strictly worse than `than` for this stage."""
        return value < than if self.maximised else value > than

    def best(self, values: Iterable[Fraction]) -> Fraction:
        """The best of some values of this stage."""
        return max(values) if self.maximised else min(values)

    def tightest_bound(self, bounds: Iterable[Fraction], value: Fraction) -> Fraction:
        """Of proven bounds, the closest to a value reached on the side a bound must be
        (above it when maximising, below when minimising)."""
        if self.maximised:
            return min(b for b in bounds if b >= value)
        return max(b for b in bounds if b <= value)


def _spec(
    stage: Stage,
    direction: Direction,
    measure: Measure,
    paths: Iterable[SolvePath],
    label: str,
    summary: str,
    *,
    in_policy: bool = True,
    unit: Unit = Unit.NUMBER,
) -> tuple[Stage, StageSpec]:
    spec = StageSpec(stage, direction, measure, frozenset(paths), label, summary, in_policy, unit)
    return stage, spec


_BY_FLOWS = (SolvePath.FLOW, SolvePath.CP_SAT)

STAGE_SPECS: Mapping[Stage, StageSpec] = dict(
    [
        _spec(
            Stage.PLACEMENTS,
            Direction.MAXIMISE,
            Measure.STUDENTS,
            _BY_FLOWS,
            "Placements",
            "Place as many students as possible.",
        ),
        _spec(
            Stage.GENDER_GAP,
            Direction.MINIMISE,
            Measure.RATE,
            _BY_FLOWS,
            "Gender balance",
            "Bring the placement rates of eligible girls and boys as close as possible.",
            unit=Unit.POINTS,
        ),
        _spec(
            Stage.PREFERENCES,
            Direction.MINIMISE,
            Measure.RANKS,
            _BY_FLOWS,
            "Students' choices",
            "Give students their best-ranked choices (a first choice costs nothing).",
        ),
        _spec(
            Stage.SCHOOL_FAIRNESS,
            Direction.MAXIMISE,
            Measure.RATE,
            (SolvePath.FLOW_LP_REPAIR, SolvePath.CP_SAT),
            "Fairness between schools",
            "Raise the lowest placement rate among the schools.",
            unit=Unit.PERCENT,
        ),
        _spec(
            Stage.CHANGES,
            Direction.MINIMISE,
            Measure.STUDENTS,
            _BY_FLOWS,
            "Stability",
            "Change as few placements of the published round as possible (re-runs only).",
            in_policy=False,
        ),
    ]
)
"""One spec per stage."""

POLICY_STAGES: tuple[Stage, ...] = tuple(s for s in Stage if STAGE_SPECS[s].in_policy)
"""Every stage a policy may name, in the default order."""


def spec_of(stage: str) -> StageSpec:
    """The spec of a stage given by its name; raise ValueError for an unknown one."""
    return STAGE_SPECS[Stage(stage)]
