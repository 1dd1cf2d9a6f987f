"""Repair a near miss of school fairness with a CP-SAT model of part of the round.

Flows (fairness.py) reach a school rate easily but may land a few students off
the gender counts the earlier stages fixed. Here every student outside a chosen
neighbourhood keeps the offer the near miss gave, and CP-SAT decides only the
students inside, under every rule that binds stage 4: capacities left, each
school's rate, the limits of the earlier stages, and, in a network cut down to
least-cost flows, its forced and forbidden arcs (flows.Admissible). With a small
neighbourhood the model is solved in a blink; with every student free it is the
whole stage at that rate, and an infeasible answer proves the rate out of reach.

The solves use one worker and stop on deterministic time, so the same round
gives the same answer on any machine and at any load; the wall-clock limit is
only a safety net for when the round's time limit runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from mobility_match.matching.cancel import CancelCheck, Watch
from mobility_match.matching.changes import FlowCost, flow_cost
from mobility_match.matching.cpsat import (
    Effort,
    add_assignment_rules,
    groups_by,
    wall_clock_stopped,
)
from mobility_match.matching.fairness import FairnessLimits, school_floors
from mobility_match.matching.flows import Admissible
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import (
    UNPLACED,
    Assignment,
    F,
    M,
    Measures,
    Problem,
    measure,
)


class Verdict(Enum):
    """What a repair found out about a rate."""

    FOUND = "found"
    IMPOSSIBLE = "impossible"
    """No assignment of the neighbourhood reaches the rate: a proof only if all were free."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Repair:
    """The verdict, and the assignment when one was found."""

    verdict: Verdict
    assignment: Assignment | None = None
    wall_clock_stop: bool = False
    """The wall-clock safety net, not the deterministic time, ended the search."""
    deterministic_time: float = 0.0
    """CP-SAT's deterministic seconds spent, counted against the round's time limit."""


def repair(
    problem: Problem,
    admissible: Admissible | None,
    limits: FairnessLimits,
    rate: Fraction,
    start: Assignment,
    free: npt.NDArray[np.bool_],
    effort: Effort,
    cancelled: CancelCheck | None = None,
    cost: FlowCost | None = None,
) -> Repair:
    """Look for an assignment reaching `rate` within the limits that moves only `free` students.

    Students outside `free`, and locked students, keep their offer in `start`,
    which must respect capacities and the admissible rules (any flow of the
    cut-down network does). `cost` is what limits.max_cost counts (default: the
    preference cost). Raise cancel.SolveCancelled once `cancelled` says so.
    """
    cost = flow_cost(problem, None) if cost is None else cost
    movable = free & (problem.locked == UNPLACED)
    if admissible is not None:
        # A student on a pair every least-cost flow uses is there in `start` too, and
        # stays: no variable (on a re-run, most students, kept where they were).
        movable[problem.pairs.student[admissible.pair_forced]] = False
    fixed = np.where(movable, UNPLACED, start)
    usable = problem.free_pair_mask() & movable[problem.pairs.student]
    if admissible is not None:
        usable &= admissible.pair_allowed & ~admissible.offer_empty[problem.pairs.offer]
        usable &= ~admissible.student_forbidden[problem.pairs.student]
    chosen = np.flatnonzero(usable)
    student, offer = problem.pairs.student[chosen], problem.pairs.offer[chosen]
    base = measure(problem, fixed)
    left = problem.capacity - np.bincount(fixed[fixed >= 0], minlength=problem.n_offers)
    if admissible is not None:
        stranded = movable & admissible.student_forced
        stranded[student] = False
        offered = np.zeros(problem.n_offers, dtype=bool)
        offered[offer] = True
        if stranded.any() or (admissible.offer_full & ~offered & (left > 0)).any():
            return Repair(Verdict.IMPOSSIBLE)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(len(chosen))]
    add_assignment_rules(
        model, np.array([v.index for v in x], dtype=np.int64), problem, admissible, chosen, left
    )
    # Every school reaches the rate (a school with nobody movable must reach it already).
    eligible = problem.eligible_by_school()
    needed = school_floors(rate, eligible) - base.school_placed
    members = dict(groups_by(problem.school[student]))
    if any(needed[k] > 0 and k not in members for k in range(len(needed))):
        return Repair(Verdict.IMPOSSIBLE)
    for school, pairs in members.items():
        if needed[school] > 0:
            model.add(cp_model.LinearExpr.sum([x[k] for k in pairs]) >= int(needed[school]))
    _keep_earlier_stages(model, x, problem, limits, chosen, base)
    if limits.max_cost is not None:
        paid = cp_model.LinearExpr.weighted_sum(x, cost.pair[chosen].tolist())
        model.add(paid + cost.of(problem, fixed) <= limits.max_cost)
    # Start from the near miss: most of it is usually kept.
    for var, kept in zip(x, (start[student] == offer).tolist(), strict=True):
        model.add_hint(var, kept)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = effort.deterministic
    solver.parameters.max_time_in_seconds = max(0.01, effort.wall)
    # The LP relaxation of this model is a flow: with it, CP-SAT sees infeasible rates at once.
    solver.parameters.linearization_level = 2
    with Watch(cancelled, solver):
        status = solver.solve(model)
    wall = wall_clock_stopped(solver, status)
    spent = solver.deterministic_time
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array([solver.boolean_value(v) for v in x], dtype=bool)
        assignment = fixed.copy()
        assignment[student[values]] = offer[values]
        return Repair(Verdict.FOUND, assignment, wall, spent)
    if status == cp_model.INFEASIBLE:
        return Repair(Verdict.IMPOSSIBLE, deterministic_time=spent)
    return Repair(Verdict.UNKNOWN, wall_clock_stop=wall, deterministic_time=spent)


def _keep_earlier_stages(
    model: cp_model.CpModel,
    x: list[cp_model.IntVar],
    problem: Problem,
    limits: FairnessLimits,
    chosen: IntArray,
    base: Measures,
) -> None:
    """Keep placements, and gender counts or gap, within the limits."""
    gender = problem.gender[problem.pairs.student[chosen]]
    placed = [
        cp_model.LinearExpr.sum([x[k] for k in np.flatnonzero(gender == g)])
        + base.placed_by_gender[g]
        for g in range(3)
    ]
    if limits.counts is not None:
        for g in range(3):
            model.add(placed[g] == limits.counts[g])
    if limits.counts is None:
        # With exact counts the total is fixed already.
        everyone = cp_model.LinearExpr.sum(x) + base.placed
        model.add(everyone >= limits.min_placed)
        model.add(everyone <= limits.max_placed)
    e_f, e_m, _ = problem.eligible_by_gender()
    if limits.max_gap is not None and e_f and e_m:
        signed = placed[F] * e_m - placed[M] * e_f
        model.add(signed <= limits.max_gap)
        model.add(-signed <= limits.max_gap)
