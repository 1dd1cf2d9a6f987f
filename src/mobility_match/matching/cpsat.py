"""The round as a CP-SAT model, for the stages that are not plain flows.

One Boolean per acceptable pair of a student without a lock; locked students
are constants. Each objective stage is an expression over those Booleans, and
once a stage is settled its allowed value becomes a constraint for the next
ones. Every objective is integer: the gender gap is minimised as
|placed_F·eligible_M − placed_M·eligible_F| and the lowest school rate through a
scaled variable whose scale makes distinct rates distinct integers; the changes
from a previous assignment (changes.py) as a weighted sum of the pairs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from mobility_match.domain import StageStatus
from mobility_match.matching.cancel import CancelCheck, Watch
from mobility_match.matching.changes import change_weights, count_changes
from mobility_match.matching.flows import Admissible
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.policy import CHANGES, MAXIMISED
from mobility_match.matching.problem import Assignment, F, M, Problem, measure

EPSILON = 1e-6
"""CP-SAT reports integer objectives as floats; this absorbs their rounding."""

ProgressFn = Callable[[str, float | None, float | None], None]
"""Called with (stage, best value so far, bound so far) while CP-SAT works."""


@dataclass(frozen=True)
class SolverSettings:
    """How CP-SAT runs: seed, workers, and whether to stop on deterministic time."""

    seed: int = 0
    workers: int = 1


@dataclass(frozen=True)
class Effort:
    """How long CP-SAT may search: deterministic seconds, and wall seconds as a safety net.

    Stopping on CP-SAT's deterministic time (about a second each on a current
    machine) keeps results reproducible: the same round stops at the same point
    whatever the machine's load. The wall-clock limit only acts if the machine
    is much slower than that.
    """

    deterministic: float
    wall: float


@dataclass(frozen=True)
class StageOutcome:
    """The best assignment a stage found, its exact value, the bound proven, and the status."""

    assignment: Assignment
    value: Fraction
    bound: Fraction
    status: StageStatus
    deterministic_time: float = 0.0
    wall_clock_stop: bool = False
    """The wall-clock safety net stopped the search before its deterministic time."""


def wall_clock_stopped(solver: cp_model.CpSolver, status: cp_model.CpSolverStatus) -> bool:
    """Whether the search ended on the wall-clock limit rather than on its deterministic
    time or a proof: only then may the same seed give another result (see Effort)."""
    if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
        return False
    parameters = solver.parameters
    return bool(
        solver.wall_time >= parameters.max_time_in_seconds * 0.99
        and solver.deterministic_time < parameters.max_deterministic_time * 0.99
    )


class _Callback(cp_model.CpSolverSolutionCallback):
    """At each solution: stop if the caller cancelled, else report progress if asked."""

    def __init__(
        self,
        stage: str,
        report: ProgressFn | None,
        scale: Callable[[float], float],
        watch: Watch,
    ) -> None:
        super().__init__()
        self._stage, self._report, self._scale, self._watch = stage, report, scale, watch

    def on_solution_callback(self) -> None:
        if self._watch.fired():
            self.stop_search()
        elif self._report is not None:
            self._report(
                self._stage,
                self._scale(self.objective_value),
                self._scale(self.best_objective_bound),
            )


class CpRound:
    """A CP-SAT model of a round, solved one objective stage after another."""

    def __init__(
        self,
        problem: Problem,
        admissible: Admissible | None = None,
        counts: tuple[int, int, int] | None = None,
        previous: IntArray | None = None,
    ) -> None:
        """Build the model; with `admissible` and `counts`, only least-cost flows with those
        placed (F, M, X), which settles placements, gap and preferences at once.

        `previous` (changes.previous_offers) is what the `changes` stage counts from.
        """
        self.problem = problem
        self.previous = previous
        model = cp_model.CpModel()
        self.model = model
        usable = problem.free_pair_mask()
        if admissible is not None:
            usable &= admissible.pair_allowed & ~admissible.offer_empty[problem.pairs.offer]
        free = np.flatnonzero(usable)
        self.pair_index = free
        self.student = problem.pairs.student[free]
        self.offer = problem.pairs.offer[free]
        self.cost = problem.pairs.cost[free]
        self.x = model.new_bool_var_series("x", pd.RangeIndex(len(free)))
        add_assignment_rules(
            model, list(self.x), problem, admissible, free, problem.residual_capacity()
        )
        locked = problem.locked_assignment()
        self.locked_measures = measure(problem, locked)
        self.placed = cp_model.LinearExpr.sum(self.x)
        self.by_gender = [self._count(problem.gender[self.student] == g) for g in range(3)]
        self.cost_expr = cp_model.LinearExpr.weighted_sum(self.x, [int(c) for c in self.cost])
        self.eligible_f, self.eligible_m, _ = problem.eligible_by_gender()
        self._gap: cp_model.IntVar | None = None
        self._fairness: tuple[cp_model.IntVar, int] | None = None
        self._changes: tuple[cp_model.LinearExpr, int] | None = None
        if counts is not None:
            for g, count in enumerate(counts):
                model.add(self.by_gender[g] + self.locked_measures.placed_by_gender[g] == count)

    def _count(self, mask: np.ndarray) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.sum([self.x[k] for k in np.flatnonzero(mask)])

    def _school_counts(self) -> list[tuple[int, cp_model.LinearExpr, int]]:
        """Return (school, placed expression without locks, placed by locks) per eligible school."""
        eligible = self.problem.eligible_by_school()
        schools = self.problem.school[self.student]
        return [
            (int(k), self._count(schools == k), int(self.locked_measures.school_placed[k]))
            for k in np.flatnonzero(eligible > 0)
        ]

    def _gap_var(self) -> cp_model.IntVar:
        """G with G ≥ |placed_F·e_M − placed_M·e_F|, created the first time it is needed."""
        if self._gap is None:
            e_f, e_m = self.eligible_f, self.eligible_m
            lf, lm, _ = self.locked_measures.placed_by_gender
            self._gap = self.model.new_int_var(0, e_f * e_m, "gender_gap")
            diff = (self.by_gender[F] + lf) * e_m - (self.by_gender[M] + lm) * e_f
            self.model.add(self._gap >= diff)
            self.model.add(self._gap >= -diff)
        return self._gap

    def _fairness_var(self) -> tuple[cp_model.IntVar, int]:
        """z with D·placed_k ≥ eligible_k·z for every school k, and the scale D.

        With D larger than the square of the largest school, two different rates
        p/e and p'/e' (e, e' ≤ that size) differ by more than 1/D, so maximising
        z = ⌊D · lowest rate⌋ maximises the lowest rate itself, exactly.
        """
        if self._fairness is None:
            eligible = self.problem.eligible_by_school()
            scale = int(eligible.max(initial=0)) ** 2 + 1
            z = self.model.new_int_var(0, scale, "school_fairness")
            for k, count, locked in self._school_counts():
                self.model.add((count + locked) * scale >= z * int(eligible[k]))
            self._fairness = (z, scale)
        return self._fairness

    def _changes_expr(self) -> tuple[cp_model.LinearExpr, int]:
        """The changes from the previous assignment, as (expression over the pairs, constant)."""
        if self._changes is None:
            if self.previous is None:
                raise ValueError("the changes stage needs the previous assignment")
            weights = change_weights(self.previous, self.student, self.offer)
            expr = cp_model.LinearExpr.weighted_sum(self.x, [int(w) for w in weights])
            self._changes = (expr, count_changes(self.previous, self.problem.locked_assignment()))
        return self._changes

    def stage_value(self, stage: str, assignment: Assignment) -> Fraction:
        """The exact value of a stage for a full assignment."""
        if stage == CHANGES:
            if self.previous is None:
                raise ValueError("the changes stage needs the previous assignment")
            return Fraction(count_changes(self.previous, assignment))
        return measure(self.problem, assignment).stage_value(stage)

    def cap_fairness(self, rate: Fraction) -> None:
        """Add a proven upper bound on the lowest school rate, so the search can stop there."""
        z, scale = self._fairness_var()
        self.model.add(z <= math.floor(rate * scale))

    def gap_is_trivial(self) -> bool:
        """The gap is 0 whatever the assignment when F or M has no eligible student."""
        return self.eligible_f == 0 or self.eligible_m == 0

    def keep(self, stage: str, allowed: Fraction) -> None:
        """Constrain every later stage to keep `stage` at `allowed` or better."""
        model = self.model
        if stage == "placements":
            model.add(self.placed + self.locked_measures.placed >= math.ceil(allowed))
        elif stage == "preferences":
            model.add(self.cost_expr + self.locked_measures.preference_cost <= math.floor(allowed))
        elif stage == "gender_gap":
            if not self.gap_is_trivial():
                limit = math.floor(allowed * self.eligible_f * self.eligible_m)
                model.add(self._gap_var() <= limit)
        elif stage == CHANGES:
            changes, constant = self._changes_expr()
            model.add(changes + constant <= math.floor(allowed))
        else:
            eligible = self.problem.eligible_by_school()
            for k, count, locked in self._school_counts():
                model.add(count + locked >= math.ceil(allowed * int(eligible[k])))

    def solve(
        self,
        stage: str,
        hint: Assignment,
        effort: Effort,
        settings: SolverSettings,
        progress: ProgressFn | None = None,
        cancelled: CancelCheck | None = None,
        proven: Fraction | None = None,
    ) -> StageOutcome:
        """Optimise one stage under the constraints kept so far, starting from `hint`.

        `proven` is a bound on the stage proven before the search (e.g. by a flow
        relaxation). The stage is OPTIMAL only when CP-SAT proves it or its value
        meets a bound proven by a solver; a search that ends without a solution
        returns the hint, FEASIBLE, with the best bound proven. Raise
        cancel.SolveCancelled, with the search stopped, once `cancelled` says so.
        """
        model = self.model
        to_value = self._set_objective(stage)
        model.clear_hints()  # type: ignore[no-untyped-call]
        chosen = hint[self.student] == self.offer
        for var, value in zip(self.x, chosen, strict=True):
            model.add_hint(var, bool(value))
        solver = cp_model.CpSolver()
        solver.parameters.random_seed = settings.seed
        solver.parameters.num_workers = settings.workers
        solver.parameters.max_deterministic_time = max(0.1, effort.deterministic)
        solver.parameters.max_time_in_seconds = max(0.1, effort.wall)
        with Watch(cancelled, solver) as watch:
            callback = None
            if progress is not None or watch.active:
                callback = _Callback(stage, progress, lambda v: float(to_value(v)), watch)
            status = solver.solve(model, callback)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            assignment = self.problem.locked_assignment()
            values = solver.boolean_values(self.x).to_numpy(dtype=bool)
            assignment[self.student[values]] = self.offer[values]
        elif status == cp_model.UNKNOWN:
            assignment = hint.copy()
        else:
            raise RuntimeError(f"CP-SAT found stage {stage} {solver.status_name(status)}")
        value = self.stage_value(stage, assignment)
        spent = solver.deterministic_time
        if status == cp_model.OPTIMAL:
            return StageOutcome(assignment, value, value, StageStatus.OPTIMAL, spent)
        wall = wall_clock_stopped(solver, status)
        # A bound counts only if proven: CP-SAT's own when it found a solution, one proven
        # before, or the stage's trivial one; and only on the right side of the value.
        bounds = [self._trivial_bound(stage)]
        if proven is not None:
            bounds.append(proven)
        if status == cp_model.FEASIBLE:
            bounds.append(to_value(solver.best_objective_bound))
        if stage in MAXIMISED:
            bound = min(b for b in bounds if b >= value)
        else:
            bound = max(b for b in bounds if b <= value)
        status_out = StageStatus.OPTIMAL if bound == value else StageStatus.FEASIBLE
        return StageOutcome(assignment, value, bound, status_out, spent, wall)

    def _trivial_bound(self, stage: str) -> Fraction:
        """A bound on the stage that holds whatever the search: every eligible student
        placed, no gap, no preference cost beyond the locks', every kept student kept,
        every school at 1."""
        locked = self.locked_measures
        if stage == "placements":
            return Fraction(locked.placed + len(np.unique(self.student)))
        if stage == "preferences":
            return Fraction(locked.preference_cost)
        if stage == "gender_gap":
            return Fraction(0)
        if stage == CHANGES:
            _, constant = self._changes_expr()
            if self.previous is None:
                raise ValueError("the changes stage needs the previous assignment")
            weights = change_weights(self.previous, self.student, self.offer)
            return Fraction(constant - int(np.count_nonzero(weights < 0)))
        return Fraction(1)

    def _set_objective(self, stage: str) -> Callable[[float], Fraction]:
        """Make `stage` the model's objective; return how to read its objective values.

        Objective values and bounds come back as floats; a maximised objective's
        bound is rounded down and a minimised one's up, so the bound stays valid.
        """
        model = self.model
        if stage == "placements":
            model.maximize(self.placed)
            offset = self.locked_measures.placed
            return lambda v: Fraction(math.floor(v + EPSILON) + offset)
        if stage == "preferences":
            model.minimize(self.cost_expr)
            offset = self.locked_measures.preference_cost
            return lambda v: Fraction(math.ceil(v - EPSILON) + offset)
        if stage == "gender_gap":
            model.minimize(self._gap_var())
            denominator = max(1, self.eligible_f * self.eligible_m)
            return lambda v: Fraction(math.ceil(v - EPSILON), denominator)
        if stage == CHANGES:
            changes, constant = self._changes_expr()
            model.minimize(changes)
            return lambda v: Fraction(math.ceil(v - EPSILON) + constant)
        z, scale = self._fairness_var()
        model.maximize(z)
        return lambda v: self._rate_bound(math.floor(v + EPSILON), scale)

    def _rate_bound(self, z: int, scale: int) -> Fraction:
        """Turn z = ⌊scale · rate⌋ into the largest school rate it allows."""
        best = Fraction(0)
        for size in self.problem.eligible_by_school():
            e = int(size)
            if e > 0:
                # The largest p ≤ e with ⌊scale·p/e⌋ ≤ z, i.e. scale·p < e·(z + 1).
                p = min(e, -(-(e * (z + 1)) // scale) - 1)
                best = max(best, Fraction(max(p, 0), e))
        return best


def groups_by(keys: IntArray) -> list[tuple[int, list[int]]]:
    """Split positions by key: (key, positions) for each key present, in key order."""
    order = np.argsort(keys, kind="stable")
    edges = np.flatnonzero(np.diff(keys[order], prepend=-1, append=-1))
    return [(int(keys[order[lo]]), order[lo:hi].tolist()) for lo, hi in itertools.pairwise(edges)]


def add_assignment_rules(
    model: cp_model.CpModel,
    x: Sequence[cp_model.IntVar],
    problem: Problem,
    admissible: Admissible | None,
    chosen: IntArray,
    left: IntArray,
) -> None:
    """Add the rules of an assignment, over the chosen pairs, with `left` places per offer."""
    student, offer = problem.pairs.student[chosen], problem.pairs.offer[chosen]
    # Each student goes to at most one offer; to exactly one when every least-cost flow places it.
    for i, members in groups_by(student):
        if admissible is not None and admissible.student_forced[i]:
            model.add_exactly_one(x[k] for k in members)
        elif len(members) > 1:
            model.add_at_most_one(x[k] for k in members)
    # Each offer takes at most its places left; exactly those when least-cost flows fill it.
    for j, members in groups_by(offer):
        taken = cp_model.LinearExpr.sum([x[k] for k in members])
        if admissible is not None and admissible.offer_full[j]:
            model.add(taken == int(left[j]))
        elif len(members) > left[j]:
            model.add(taken <= int(left[j]))
    # A pair that every least-cost flow uses stays used.
    if admissible is not None:
        for k in np.flatnonzero(admissible.pair_forced[chosen]):
            model.add(x[int(k)] == 1)
