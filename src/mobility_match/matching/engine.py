"""Solve a round: the objective stages of the policy, one after the other, exactly.

Two ways through, with the same answers (tests hold them to it):

- the flow path, for policies that start with `placements` followed by
  `gender_gap` and/or `preferences` (the default): max-flow for placements, the
  gender polytope (balance.py) for the gap, min-cost flows along its optimal
  lines for preferences; then CP-SAT only for `school_fairness`, which is not a
  flow, starting from the flow solution;
- the CP-SAT path for every other policy: each stage a CP-SAT solve, with the
  previous stage's assignment as hint.

Each stage reports its value, its proven bound and its status. The engine takes
plain domain objects and returns plain results: no files, no database.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from mobility_match.domain import (
    RoundInput,
    RoundResult,
    StageResult,
    StageStatus,
    Vocabulary,
)
from mobility_match.matching.balance import (
    GenderPolytope,
    Vector,
    compute_ranks,
    convex_minimum,
    lines,
)
from mobility_match.matching.cpsat import CpRound, SolverSettings
from mobility_match.matching.explain import explain
from mobility_match.matching.fairness import (
    FairnessLimits,
    SchoolNetwork,
    candidate_rates,
    highest,
)
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.policy import DEFAULT_POLICY, Policy
from mobility_match.matching.problem import Assignment, Problem, measure, prepare

FLOW_STAGES = ("gender_gap", "preferences")


@dataclass(frozen=True)
class Progress:
    """Where a round is: the stage under way (1-based index of n) and its best value and bound."""

    stage: str
    index: int
    total: int
    best: float | None = None
    bound: float | None = None


ProgressCallback = Callable[[Progress], None]


def uses_flow_path(policy: Policy) -> bool:
    """Tell whether the policy's stages can be settled by network flows (but school fairness)."""
    stages = policy.stages
    if not stages or stages[0] != "placements":
        return False
    rest = [s for s in stages[1:] if s != "school_fairness"]
    if "school_fairness" in stages[1:] and stages[-1] != "school_fairness":
        return False
    if rest in ([], ["gender_gap"], ["preferences"]):
        return True
    no_slack = policy.tolerance_of("placements") == 0 and policy.tolerance_of("gender_gap") == 0
    return rest == ["gender_gap", "preferences"] and no_slack


class _Run:
    """The state of one solve: the problem, the stages done, the time left."""

    def __init__(
        self,
        problem: Problem,
        policy: Policy,
        time_limit: float,
        settings: SolverSettings,
        progress: ProgressCallback | None,
    ) -> None:
        self.problem = problem
        self.policy = policy
        self.deadline = time.monotonic() + time_limit
        self.settings = settings
        self.progress = progress
        self.results: list[StageResult] = []
        self.allowed: dict[str, Fraction] = {}
        """Per settled stage, the worst value later stages may reach."""
        self._cp: CpRound | None = None

    @property
    def cp(self) -> CpRound:
        if self._cp is None:
            self._cp = CpRound(self.problem)
        return self._cp

    def started(self, stage: str) -> float:
        if self.progress is not None:
            index = self.policy.stages.index(stage) + 1
            self.progress(Progress(stage, index, len(self.policy.stages)))
        return time.perf_counter()

    def record(
        self,
        stage: str,
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
        self.allowed[stage] = self.policy.allowed(stage, value)
        return self.allowed[stage]

    def cp_stage(self, stage: str, hint: Assignment, since: float | None = None) -> Assignment:
        """Settle one stage with CP-SAT, give it its share of the time left, and keep it."""
        if since is None:
            since = self.started(stage)
        stages = self.policy.stages
        left = len(stages) - stages.index(stage)
        seconds = max(0.0, self.deadline - time.monotonic()) / left
        index = stages.index(stage) + 1

        def report(name: str, best: float | None, bound: float | None) -> None:
            if self.progress is not None:
                self.progress(Progress(name, index, len(stages), best, bound))

        outcome = self.cp.solve(stage, hint, seconds, self.settings, report)
        allowed = self.record(stage, outcome.value, since, "cp-sat", outcome.bound, outcome.status)
        self.cp.keep(stage, allowed)
        return outcome.assignment

    def keep_in_cp(self, stage: str, allowed: Fraction) -> None:
        """Carry a stage settled by flows over to the CP-SAT model, if one will be needed."""
        if "school_fairness" in self.policy.stages:
            self.cp.keep(stage, allowed)


def _flow_path(run: _Run) -> Assignment:
    problem, policy = run.problem, run.policy
    network = FlowNetwork(problem)
    locked = measure(problem, problem.locked_assignment())
    since = run.started("placements")
    free_max, assignment = network.max_placements()
    allowed = run.record("placements", Fraction(free_max + locked.placed), since, "flow")
    run.keep_in_cp("placements", allowed)
    min_free = int(allowed) - locked.placed
    stages = [s for s in policy.stages if s in FLOW_STAGES]
    e_f, e_m, _ = problem.eligible_by_gender()
    polytope: GenderPolytope | None = None
    gap_limit: int | None = None
    if "gender_gap" in stages:
        since = run.started("gender_gap")
        polytope = GenderPolytope(
            compute_ranks(lambda caps: network.max_placements(caps)[0], network.free_students),
            min_free,
            locked.placed_by_gender,
            e_f,
            e_m,
        )
        best = polytope.smallest_gap()
        allowed = run.record("gender_gap", Fraction(best, max(1, e_f * e_m)), since, "flow")
        run.keep_in_cp("gender_gap", allowed)
        gap_limit = int(allowed * e_f * e_m)
        if "preferences" not in stages:
            caps = polytope.most_placements(gap_limit)
            placed, assignment = network.max_placements(caps)
            _check_reached(placed, sum(caps))
    if "preferences" in stages:
        since = run.started("preferences")
        if polytope is None or gap_limit is None:
            cost, assignment = _least_cost(network, min_free, None)
        else:
            cost, assignment = _least_cost_balanced(network, polytope, gap_limit)
        allowed = run.record("preferences", Fraction(cost + locked.preference_cost), since, "flow")
        run.keep_in_cp("preferences", allowed)
    if "school_fairness" in policy.stages:
        limits = FairnessLimits(
            min_placed=int(run.allowed["placements"]),
            max_placed=free_max + locked.placed,
            max_cost=int(run.allowed["preferences"]) if "preferences" in stages else None,
            max_gap=gap_limit,
        )
        assignment = _fairness(run, assignment, limits)
    return assignment


def _fairness(run: _Run, assignment: Assignment, limits: FairnessLimits) -> Assignment:
    """Settle school fairness after flow stages: the flow bound, then flows or CP-SAT to reach it.

    The rate of the assignment so far is reachable; the relaxation without the
    gender constraint gives the highest rate that might be. When a flow keeping
    the gender gap reaches that rate, it is optimal; otherwise CP-SAT searches
    between the two, told the bound.
    """
    problem = run.problem
    since = run.started("school_fairness")
    network = SchoolNetwork(problem)
    rates = candidate_rates(problem.eligible_by_school())
    reached = measure(problem, assignment).min_school_rate
    first = bisect.bisect_left(rates, reached)
    rates = rates[first:]
    best = rates[highest(rates, lambda rate: network.solve(rate, limits) is not None)]
    balanced = network.balanced(best, limits)
    if balanced is not None:
        run.record("school_fairness", measure(problem, balanced).min_school_rate, since, "flow")
        return balanced
    run.cp.cap_fairness(best)
    return run.cp_stage("school_fairness", assignment, since)


def _check_reached(placed: int, wanted: int) -> None:
    if placed != wanted:
        raise RuntimeError(f"flow placed {placed} students where {wanted} are reachable")


def _least_cost(network: FlowNetwork, total: int, caps: Vector | None) -> tuple[int, Assignment]:
    solved = network.min_cost(total, caps)
    if solved is None:
        raise RuntimeError(f"no flow places {total} students within {caps}")
    return solved


def _least_cost_balanced(
    network: FlowNetwork, polytope: GenderPolytope, gap_limit: int
) -> tuple[int, Assignment]:
    """Least preference cost over every vector of most placements and gap within the limit.

    Trivial when the gap cannot differ (a gender has no eligible student); else
    the vectors lie on at most two lattice lines, along which the cost is convex.
    """
    if polytope.eligible_f == 0 or polytope.eligible_m == 0:
        return _least_cost(network, polytope.min_total, None)
    cache: dict[Vector, int] = {}

    def cost(vector: Vector) -> int:
        if vector not in cache:
            cache[vector] = _least_cost(network, sum(vector), vector)[0]
        return cache[vector]

    best: Vector | None = None
    for line in lines(list(polytope.vectors(gap_limit)), polytope):
        k = convex_minimum(lambda i, line=line: cost(line[i]), len(line))  # type: ignore[misc]
        if best is None or (cost(line[k]), line[k]) < (cost(best), best):
            best = line[k]
    if best is None:
        raise RuntimeError("no vector reaches the smallest gender gap")
    return _least_cost(network, sum(best), best)


def _cp_path(run: _Run) -> Assignment:
    problem = run.problem
    assignment = FlowNetwork(problem).max_placements()[1]
    for stage in run.policy.stages:
        if stage == "gender_gap" and run.cp.gap_is_trivial():
            since = run.started(stage)
            run.record(stage, Fraction(0), since, "cp-sat")
            continue
        assignment = run.cp_stage(stage, assignment)
    return assignment


def solve_round(
    round_input: RoundInput,
    vocabulary: Vocabulary,
    policy: Policy = DEFAULT_POLICY,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    cp_sat_only: bool = False,
) -> RoundResult:
    """Solve a round under a policy; every student gets an offer or a reason.

    `cp_sat_only` settles every stage with CP-SAT even where flows could: slower,
    and meant for cross-checking the flow path on the same round.
    """
    started = time.perf_counter()
    problem = prepare(round_input, vocabulary)
    run = _Run(problem, policy, time_limit, SolverSettings(seed=seed, workers=workers), progress)
    flows = uses_flow_path(policy) and not cp_sat_only
    assignment = _flow_path(run) if flows else _cp_path(run)
    placements = explain(problem, assignment, vocabulary)
    return RoundResult(
        placements=tuple(placements),
        stages=tuple(run.results),
        acceptable_pairs=len(problem.pairs),
        solve_seconds=time.perf_counter() - started,
        eligible=tuple(bool(e) for e in problem.eligible),
    )
