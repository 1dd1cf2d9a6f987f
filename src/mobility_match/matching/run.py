"""The state of one solve: stages settled so far, the time left, the CP-SAT model if any.

Shared by the two ways through a round (flow_path.py and the CP-SAT path in
engine.py), so that both record stages, keep their values and share time alike,
and both poll the caller's cancellation check at the start of every stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from mobility_match.domain import StageResult, StageStatus
from mobility_match.matching.cancel import CancelCheck, check
from mobility_match.matching.changes import FlowCost, flow_cost
from mobility_match.matching.cpsat import CpRound, Effort, SolverSettings, unsearched
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.policy import Policy
from mobility_match.matching.problem import Assignment, Problem
from mobility_match.matching.stages import Stage

WALL_SAFETY = 1.0
"""The wall-clock deadline of the whole round, as a multiple of the time limit."""
DETERMINISTIC_SHARE = 0.5
"""CP-SAT's deterministic seconds for the whole round, as a share of the time limit.

A deterministic second takes about a wall second on an idle current machine;
the other half of the limit is for building models, flows and a busy machine,
so that the deterministic time, not the wall clock, usually ends a search."""


@dataclass(frozen=True)
class Progress:
    """Where a round is: the stage under way (1-based index of n) and its best value and bound."""

    stage: str
    index: int
    total: int
    best: float | None = None
    bound: float | None = None


ProgressCallback = Callable[[Progress], None]


class RoundRun:
    """One solve of a round under a policy, stage after stage."""

    def __init__(
        self,
        problem: Problem,
        policy: Policy,
        time_limit: float,
        settings: SolverSettings,
        progress: ProgressCallback | None,
        previous: IntArray | None = None,
        cancelled: CancelCheck | None = None,
        wall_safety: float = WALL_SAFETY,
        started: float | None = None,
    ) -> None:
        """`previous` (changes.previous_offers) is needed by a policy with the changes stage.

        The wall-clock deadline is `wall_safety` times the time limit after `started`
        (time.monotonic(), default now): the caller starts the clock before preparing.
        """
        self.problem = problem
        self.policy = policy
        self.time_limit = time_limit
        self.deterministic_used = 0.0
        """CP-SAT's deterministic seconds spent so far: what stage budgets are taken from."""
        self.wall_clock_stops = 0
        """Searches the wall clock ended or skipped (the result may then vary)."""
        start = time.monotonic() if started is None else started
        self.wall_deadline = start + wall_safety * time_limit
        self.settings = settings
        self.progress = progress
        self.previous = previous
        self.cancelled = cancelled
        self.results: list[StageResult] = []
        self.allowed: dict[Stage, Fraction] = {}
        """Per settled stage, the worst value later stages may reach."""
        self._cp: CpRound | None = None
        self._flow_cost: FlowCost | None = None

    @property
    def flow_cost(self) -> FlowCost:
        """What flows minimise per pair: preference cost, behind the changes on a re-run."""
        if self._flow_cost is None:
            self._flow_cost = flow_cost(self.problem, self.previous)
        return self._flow_cost

    @property
    def cp(self) -> CpRound:
        """The CP-SAT model of the round, built on first use with every stage settled so far."""
        if self._cp is None:
            self._cp = CpRound(self.problem, previous=self.previous)
            for stage, allowed in self.allowed.items():
                self._cp.keep(stage, allowed)
        return self._cp

    def effort(self, stage: Stage) -> Effort:
        """The share of the time left for `stage`: an equal part with the stages after it.

        Counted first in CP-SAT's deterministic time, so that shares, and so results,
        are the same from run to run; the wall clock's share of what is left before
        the deadline stops a slow or busy machine (the result then says it may vary).
        """
        stages = self.policy.stages
        left = len(stages) - stages.index(stage)
        budget = self.time_limit * DETERMINISTIC_SHARE
        deterministic = max(0.0, budget - self.deterministic_used) / left
        return Effort(deterministic, self.wall_left() / left)

    def wall_left(self) -> float:
        """Wall seconds left before the round's deadline."""
        return max(0.0, self.wall_deadline - time.monotonic())

    def out_of_time(self) -> bool:
        """Whether the deadline has passed; what it cuts short counts as a wall-clock stop."""
        if self.wall_left() > 0:
            return False
        self.wall_clock_stops += 1
        return True

    def report(self, stage: Stage, best: float | None = None, bound: float | None = None) -> None:
        if self.progress is not None:
            index = self.policy.stages.index(stage) + 1
            self.progress(Progress(stage, index, len(self.policy.stages), best, bound))

    def started(self, stage: Stage) -> float:
        """Begin a stage: raise cancel.SolveCancelled if the caller cancelled, else report it."""
        check(self.cancelled)
        self.report(stage)
        return time.perf_counter()

    def record(
        self,
        stage: Stage,
        value: Fraction,
        since: float,
        method: str,
        bound: Fraction | None = None,
        status: StageStatus = StageStatus.OPTIMAL,
    ) -> Fraction:
        """Record a stage's outcome and return the value later stages must keep."""
        seconds = time.perf_counter() - since
        bound = value if bound is None else bound
        self.results.append(StageResult(stage, value, bound, status, seconds, method))
        self.allowed[stage] = Stage(stage).spec.allowed(value, self.policy.tolerance_of(stage))
        if self._cp is not None:
            self._cp.keep(stage, self.allowed[stage])
        return self.allowed[stage]

    def cp_stage(
        self,
        stage: Stage,
        hint: Assignment,
        since: float | None = None,
        model: CpRound | None = None,
        proven: Fraction | None = None,
    ) -> Assignment:
        """Settle one stage with CP-SAT in its share of the time left, and keep it.

        `model` replaces the round's own model, e.g. one cut down to least-cost flows;
        `proven` is a bound on the stage proven before (CpRound.solve). Past the round's
        deadline, neither model nor search: the hint stays, FEASIBLE unless it meets a
        bound (cpsat.unsearched).
        """
        if since is None:
            since = self.started(stage)
        if self.out_of_time():
            outcome = unsearched(self.problem, stage, hint, self.previous, proven)
        else:
            model = self.cp if model is None else model
            effort = self.effort(stage)  # after building the model, which takes its time
            outcome = model.solve(
                stage, hint, effort, self.settings, self.report, self.cancelled, proven
            )
        self.deterministic_used += outcome.deterministic_time
        self.wall_clock_stops += outcome.wall_clock_stop
        self.record(stage, outcome.value, since, "cp-sat", outcome.bound, outcome.status)
        return outcome.assignment
