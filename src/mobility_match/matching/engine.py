"""Solve a round: the objective stages of the policy, one after the other, exactly.

Two ways through, with the same answers (tests hold them to it):

- the flow path (flow_path.py), for policies that start with `placements`
  followed by `gender_gap` and/or `preferences`, as the default does;
- the CP-SAT path for every other policy: each stage a CP-SAT solve, with the
  previous stage's assignment as hint.

A re-run against a previously published assignment (`previous`) adds the stage
`changes` after placements (changes.py). It takes the flow path whenever the
policy would without it: placements then changes is a min-cost max-flow, each
pair costing its change; otherwise the CP-SAT path, first hinted with that
min-cost max-flow. A caller's `cancelled` check is polled between stages and
during CP-SAT searches (cancel.py).

Each stage reports its value, its proven bound and its status. The engine takes
plain domain objects and returns plain results: no files, no database.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction

from mobility_match.domain import RoundInput, RoundResult, Vocabulary
from mobility_match.matching.cancel import CancelCheck, SolveCancelled
from mobility_match.matching.changes import previous_offers, with_changes_stage
from mobility_match.matching.cpsat import SolverSettings
from mobility_match.matching.explain import explain
from mobility_match.matching.flow_path import FLOW_STAGES, solve_by_flows
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.policy import DEFAULT_POLICY, Policy
from mobility_match.matching.problem import Assignment, prepare
from mobility_match.matching.run import WALL_SAFETY, Progress, ProgressCallback, RoundRun
from mobility_match.matching.stages import SolvePath, Stage
from mobility_match.wording.why import name_tradeoffs

__all__ = [
    "CancelCheck",
    "Progress",
    "ProgressCallback",
    "SolveCancelled",
    "solve_round",
    "uses_flow_path",
]


def uses_flow_path(policy: Policy) -> bool:
    """Tell whether the policy's stages can be settled by network flows (but school fairness).

    A re-run's policy (with `changes`) does whenever the policy without it does,
    `changes` being right after placements: placements then changes is then one
    min-cost max-flow.
    """
    stages = policy.stages
    if Stage.CHANGES in stages:
        if stages[1:2] != (Stage.CHANGES,):
            return False
        stages = tuple(s for s in stages if s != Stage.CHANGES)
    if not stages or stages[0] != Stage.PLACEMENTS:
        return False
    # Flows settle the stages after placements; what flows settle only with LP and
    # repairs (school fairness) must come last, every earlier stage being kept by flows.
    if any(SolvePath.FLOW not in s.spec.settled_by for s in stages[1:-1]):
        return False
    rest = [s for s in stages[1:] if s in FLOW_STAGES]
    if rest in ([], [Stage.GENDER_GAP], [Stage.PREFERENCES]):
        return True
    no_slack = (
        policy.tolerance_of(Stage.PLACEMENTS) == 0 and policy.tolerance_of(Stage.GENDER_GAP) == 0
    )
    return rest == [Stage.GENDER_GAP, Stage.PREFERENCES] and no_slack


def _solve_by_cp_sat(run: RoundRun) -> Assignment:
    """Settle each stage with CP-SAT, each hinted with the assignment of the stage before.

    The first is hinted with a max-flow assignment, which, when re-running, has
    the fewest changes among them (a min-cost max-flow of the change weights): a
    stage that times out without a solution returns its hint, so the hint must
    be feasible, and this one already settles placements then changes.
    """
    network = FlowNetwork(run.problem, run.flow_cost.pair)
    most, assignment = network.max_placements()
    if run.previous is not None:
        solved = network.min_cost(most)
        if solved is None:
            raise RuntimeError(f"no flow places the {most} students a max-flow places")
        assignment = solved[1]
    for stage in run.policy.stages:
        if stage == Stage.GENDER_GAP and run.cp.gap_is_trivial():
            run.record(stage, Fraction(0), run.started(stage), "cp-sat")
            continue
        assignment = run.cp_stage(stage, assignment)
    return assignment


@contextmanager
def _long_lived() -> Iterator[None]:
    """Leave what exists now (the round, its problem, the caller's objects) out of the
    garbage collector's full passes while the stages and explanations run.

    They allocate many small objects (cycles of flows, CP-SAT models, reasons), which
    trigger full collections; each walks every object of the process, 40-70 ms at
    10,000 students, a tenth of the stages' time. What exists before is alive
    throughout, so walking it finds nothing: gc.freeze sets it aside, gc.unfreeze
    gives it back to the collector afterwards (nothing is kept longer). Solves in
    other threads meanwhile only lose the same saving.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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
    previous: Mapping[str, str | None] | None = None,
    cancelled: CancelCheck | None = None,
    wall_safety: float = WALL_SAFETY,
) -> RoundResult:
    """Solve a round under a policy; every student gets an offer or a reason.

    `cp_sat_only` settles every stage with CP-SAT even where flows could: slower,
    and meant for cross-checking the flow path on the same round.

    `previous` (student id → offer id, None for unplaced) is the assignment
    published before: the stage `changes` then keeps as many of its students'
    outcomes as the stages before it allow. `cancelled` is polled between stages
    and during searches; once it returns True, SolveCancelled is raised.

    `time_limit` is the wall seconds the whole round may take (times `wall_safety`,
    1 but in tests), counted from this call: searches and flow loops stop at that
    deadline, and what is left after it (explaining every placement) is only a
    small margin. Searches are first limited in CP-SAT's deterministic time, half the
    limit in all (run.DETERMINISTIC_SHARE), so that the same seed gives the same
    result on any machine; when the wall clock ends or skips a search instead, the
    result says it may not be reproducible (`RoundResult.reproducible`).
    """
    started = time.perf_counter()
    clock = time.monotonic()
    problem = prepare(round_input, vocabulary)
    if Stage.CHANGES in policy.stages and previous is None:
        raise ValueError(f"the {Stage.CHANGES.value!r} stage needs the previous assignment")
    before = None if previous is None else previous_offers(problem, previous)
    if previous is not None:
        policy = with_changes_stage(policy)
    settings = SolverSettings(seed=seed, workers=workers)
    run = RoundRun(
        problem, policy, time_limit, settings, progress, before, cancelled, wall_safety, clock
    )
    flows = uses_flow_path(policy) and not cp_sat_only
    with _long_lived():
        assignment = solve_by_flows(run) if flows else _solve_by_cp_sat(run)
        placements = explain(problem, assignment, vocabulary)
        # A free offer kept free names the stage that keeps it so (wording/why.py).
        placements = name_tradeoffs(problem, assignment, run.policy, placements, run.previous)
    return RoundResult(
        placements=tuple(placements),
        stages=tuple(run.results),
        acceptable_pairs=len(problem.pairs),
        solve_seconds=time.perf_counter() - started,
        eligible=tuple(bool(e) for e in problem.eligible),
        reproducible=run.wall_clock_stops == 0,
    )
