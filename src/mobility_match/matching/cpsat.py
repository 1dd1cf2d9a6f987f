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
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from mobility_match.domain import StageStatus
from mobility_match.matching.cancel import CancelCheck, Watch
from mobility_match.matching.changes import change_weights, count_changes
from mobility_match.matching.flows import Admissible
from mobility_match.matching.pairs import IntArray, SomeInts
from mobility_match.matching.problem import Assignment, F, M, Problem, measure
from mobility_match.matching.stages import Stage

INT_MIN, INT_MAX = cp_model.INT_MIN, cp_model.INT_MAX
EPSILON = 1e-6
"""CP-SAT reports integer objectives as floats; this absorbs their rounding."""

ProgressFn = Callable[[Stage, float | None, float | None], None]
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
    whatever the machine's load. The wall seconds are the search's share of what
    is left before the round's deadline (run.RoundRun): they act only when the
    machine is slow or busy, and the result then says it may vary.
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
        stage: Stage,
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
        self.x_index = new_booleans(model, len(free))
        """The proto index of each pair's variable: constraints, hints, objectives and values
        go by it, written straight into the proto (the expression API takes seconds per
        constraint over every pair of a large round, and the time limit covers the round)."""
        add_assignment_rules(
            model, self.x_index, problem, admissible, free, problem.residual_capacity()
        )
        locked = problem.locked_assignment()
        self.locked_measures = measure(problem, locked)
        self.eligible_f, self.eligible_m, _ = problem.eligible_by_gender()
        self._gap: cp_model.IntVar | None = None
        self._fairness: tuple[cp_model.IntVar, int] | None = None
        self._changes: tuple[IntArray, int] | None = None
        if counts is not None:
            for g, count in enumerate(counts):
                members = self.x_index[problem.gender[self.student] == g]
                wanted = count - self.locked_measures.placed_by_gender[g]
                add_linear(model, members, np.ones(len(members), dtype=np.int64), wanted, wanted)

    def _school_members(self) -> list[tuple[int, IntArray, int]]:
        """Return (school, variables of its pairs, placed by locks) per eligible school."""
        eligible = self.problem.eligible_by_school()
        members = dict(groups_by(self.problem.school[self.student]))
        return [
            (
                int(k),
                self.x_index[np.array(members.get(int(k), []), dtype=np.int64)],
                int(self.locked_measures.school_placed[k]),
            )
            for k in np.flatnonzero(eligible > 0)
        ]

    def _gap_var(self) -> cp_model.IntVar:
        """G with G ≥ |placed_F·e_M − placed_M·e_F|, created the first time it is needed."""
        if self._gap is None:
            e_f, e_m = self.eligible_f, self.eligible_m
            lf, lm, _ = self.locked_measures.placed_by_gender
            self._gap = self.model.new_int_var(0, e_f * e_m, "gender_gap")
            gender = self.problem.gender[self.student]
            # diff = e_M·placed_F − e_F·placed_M + constant, over the free pairs' variables.
            signed = np.where(gender == F, e_m, np.where(gender == M, -e_f, 0)).astype(np.int64)
            constant = lf * e_m - lm * e_f
            keep = signed != 0
            variables = np.append(self.x_index[keep], self._gap.index)
            for sign in (1, -1):  # G - sign·diff ≥ 0
                coefficients = np.append(-sign * signed[keep], 1)
                add_linear(self.model, variables, coefficients, sign * constant, INT_MAX)
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
            for k, members, locked in self._school_members():
                # D·(placed + locked) − e_k·z ≥ 0
                variables = np.append(members, z.index)
                coefficients = np.append(np.full(len(members), scale), -int(eligible[k]))
                add_linear(self.model, variables, coefficients, -scale * locked, INT_MAX)
            self._fairness = (z, scale)
        return self._fairness

    def _changes_expr(self) -> tuple[IntArray, int]:
        """The changes from the previous assignment: (weight per pair, constant)."""
        if self._changes is None:
            weights = change_weights(self.previous_offers(), self.student, self.offer)
            constant = count_changes(self.previous_offers(), self.problem.locked_assignment())
            self._changes = (weights.astype(np.int64), constant)
        return self._changes

    def stage_value(self, stage: Stage, assignment: Assignment) -> Fraction:
        """The exact value of a stage for a full assignment."""
        if stage == Stage.CHANGES:
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

    def keep(self, stage: Stage, allowed: Fraction) -> None:
        """Constrain every later stage to keep `stage` at `allowed` or better."""
        model, everyone, locked = self.model, self.x_index, self.locked_measures
        ones = np.ones(len(everyone), dtype=np.int64)
        if stage == Stage.PLACEMENTS:
            add_linear(model, everyone, ones, math.ceil(allowed) - locked.placed, INT_MAX)
        elif stage == Stage.PREFERENCES:
            high = math.floor(allowed) - locked.preference_cost
            add_linear(model, everyone, self.cost.astype(np.int64), INT_MIN, high)
        elif stage == Stage.GENDER_GAP:
            if not self.gap_is_trivial():
                limit = math.floor(allowed * self.eligible_f * self.eligible_m)
                model.add(self._gap_var() <= limit)
        elif stage == Stage.CHANGES:
            weights, constant = self._changes_expr()
            add_linear(model, everyone, weights, INT_MIN, math.floor(allowed) - constant)
        else:  # Stage.SCHOOL_FAIRNESS
            eligible = self.problem.eligible_by_school()
            for k, members, placed in self._school_members():
                needed = math.ceil(allowed * int(eligible[k])) - placed
                add_linear(model, members, np.ones(len(members), dtype=np.int64), needed, INT_MAX)

    def solve(
        self,
        stage: Stage,
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
        # In bulk through the proto: one add_hint per pair takes seconds on large rounds.
        model.clear_hints()  # type: ignore[no-untyped-call]
        chosen = hint[self.student] == self.offer
        model.proto.solution_hint.vars.extend(self.x_index.tolist())
        model.proto.solution_hint.values.extend(chosen.astype(np.int64).tolist())
        solver = cp_model.CpSolver()
        solver.parameters.random_seed = settings.seed
        solver.parameters.num_workers = settings.workers
        solver.parameters.max_deterministic_time = max(0.1, effort.deterministic)
        solver.parameters.max_time_in_seconds = max(0.05, effort.wall)
        with Watch(cancelled, solver) as watch:
            callback = None
            if progress is not None or watch.active:
                callback = _Callback(stage, progress, lambda v: float(to_value(v)), watch)
            status = solver.solve(model, callback)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            assignment = self.problem.locked_assignment()
            values = np.asarray(solver.response_proto.solution, dtype=np.int64)[self.x_index] > 0
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
        bounds = [trivial_bound(self.problem, stage, self.pair_index, self.previous)]
        if proven is not None:
            bounds.append(proven)
        if status == cp_model.FEASIBLE:
            bounds.append(to_value(solver.best_objective_bound))
        return _outcome(stage, assignment, value, bounds, spent, wall)

    def _set_objective(self, stage: Stage) -> Callable[[float], Fraction]:
        """Make `stage` the model's objective; return how to read its objective values.

        Objective values and bounds come back as floats; a maximised objective's
        bound is rounded down and a minimised one's up, so the bound stays valid.
        """
        everyone = self.x_index
        if stage == Stage.PLACEMENTS:
            self._objective(everyone, np.ones(len(everyone), dtype=np.int64), maximize=True)
            offset = self.locked_measures.placed
            return lambda v: Fraction(math.floor(v + EPSILON) + offset)
        if stage == Stage.PREFERENCES:
            self._objective(everyone, self.cost.astype(np.int64), maximize=False)
            offset = self.locked_measures.preference_cost
            return lambda v: Fraction(math.ceil(v - EPSILON) + offset)
        if stage == Stage.GENDER_GAP:
            gap = self._gap_var()
            self._objective(np.array([gap.index]), np.array([1]), maximize=False)
            denominator = max(1, self.eligible_f * self.eligible_m)
            return lambda v: Fraction(math.ceil(v - EPSILON), denominator)
        if stage == Stage.CHANGES:
            _, constant = self._changes_expr()
            weights = change_weights(self.previous_offers(), self.student, self.offer)
            self._objective(everyone, weights.astype(np.int64), maximize=False)
            return lambda v: Fraction(math.ceil(v - EPSILON) + constant)
        z, scale = self._fairness_var()
        self._objective(np.array([z.index]), np.array([1]), maximize=True)
        return lambda v: self._rate_bound(math.floor(v + EPSILON), scale)

    def _objective(self, variables: IntArray, coefficients: IntArray, *, maximize: bool) -> None:
        """Set a linear objective straight in the model's proto, by variable index.

        CpModel.minimize flattens the expression in Python, one append per term:
        seconds on large rounds, and the time limit covers the whole round.
        """
        self.model.clear_objective()  # type: ignore[no-untyped-call]
        keep = coefficients != 0
        objective = self.model.proto.objective
        objective.vars.extend(variables[keep].tolist())
        objective.coeffs.extend((-coefficients[keep] if maximize else coefficients[keep]).tolist())
        objective.scaling_factor = -1.0 if maximize else 1.0

    def previous_offers(self) -> IntArray:
        """The previous assignment the changes stage counts from."""
        if self.previous is None:
            raise ValueError("the changes stage needs the previous assignment")
        return self.previous

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


def _outcome(
    stage: Stage,
    assignment: Assignment,
    value: Fraction,
    bounds: list[Fraction],
    spent: float = 0.0,
    wall: bool = False,
) -> StageOutcome:
    """The outcome with the tightest proven bound on the right side of the value."""
    bound = Stage(stage).spec.tightest_bound(bounds, value)
    status = StageStatus.OPTIMAL if bound == value else StageStatus.FEASIBLE
    return StageOutcome(assignment, value, bound, status, spent, wall)


def unsearched(
    problem: Problem,
    stage: Stage,
    hint: Assignment,
    previous: IntArray | None = None,
    proven: Fraction | None = None,
) -> StageOutcome:
    """The outcome of a stage the round's deadline left no time to search: the hint, with
    the best bound proven before (`proven`) or the trivial one."""
    if stage == Stage.CHANGES:
        if previous is None:
            raise ValueError("the changes stage needs the previous assignment")
        value = Fraction(count_changes(previous, hint))
    else:
        value = measure(problem, hint).stage_value(stage)
    bounds = [trivial_bound(problem, stage, np.flatnonzero(problem.free_pair_mask()), previous)]
    if proven is not None:
        bounds.append(proven)
    return _outcome(stage, hint, value, bounds, wall=True)


def trivial_bound(
    problem: Problem, stage: Stage, pairs: IntArray, previous: IntArray | None
) -> Fraction:
    """A bound on the stage that holds whatever the search over `pairs` (indices of free
    pairs): every student of those pairs placed, no gap, no preference cost beyond the
    locks', every student who can be kept kept, every school at 1."""
    locked_assignment = problem.locked_assignment()
    locked = measure(problem, locked_assignment)
    student, offer = problem.pairs.student[pairs], problem.pairs.offer[pairs]
    if stage == Stage.PLACEMENTS:
        return Fraction(locked.placed + len(np.unique(student)))
    if stage == Stage.PREFERENCES:
        return Fraction(locked.preference_cost)
    if stage == Stage.GENDER_GAP:
        return Fraction(0)
    if stage == Stage.CHANGES:
        if previous is None:
            raise ValueError("the changes stage needs the previous assignment")
        weights = change_weights(previous, student, offer)
        constant = count_changes(previous, locked_assignment)
        return Fraction(constant - int(np.count_nonzero(weights < 0)))
    return Fraction(1)


def groups_by(keys: SomeInts) -> list[tuple[int, list[int]]]:
    """Split positions by key: (key, positions) for each key present, in key order."""
    order = np.argsort(keys, kind="stable")
    edges = np.flatnonzero(np.diff(keys[order], prepend=-1, append=-1))
    return [(int(keys[order[lo]]), order[lo:hi].tolist()) for lo, hi in itertools.pairwise(edges)]


def new_booleans(model: cp_model.CpModel, count: int) -> IntArray:
    """Add `count` Boolean variables to the model's proto at once; return their indices."""
    first = len(model.proto.variables)
    if count:
        model.proto.merge_text_format("variables { domain: [0, 1] } " * count)
    return np.arange(first, first + count, dtype=np.int64)


def add_linear(
    model: cp_model.CpModel,
    variables: IntArray,
    coefficients: IntArray,
    low: int,
    high: int,
) -> None:
    """Add low ≤ Σ coefficient·variable ≤ high, by variable index, straight into the proto."""
    linear = model.proto.constraints.add().linear
    linear.vars.extend(variables.tolist())
    linear.coeffs.extend(coefficients.tolist())
    linear.domain.extend([int(low), int(high)])


def add_assignment_rules(
    model: cp_model.CpModel,
    x: IntArray,
    problem: Problem,
    admissible: Admissible | None,
    chosen: IntArray,
    left: IntArray,
) -> None:
    """Add the rules of an assignment over the chosen pairs, whose variables are `x` (proto
    indices), with `left` places per offer."""
    student, offer = problem.pairs.student[chosen], problem.pairs.offer[chosen]
    constraints = model.proto.constraints
    # Each student goes to at most one offer; to exactly one when every least-cost flow places it.
    for i, members in groups_by(student):
        if admissible is not None and admissible.student_forced[i]:
            constraints.add().exactly_one.literals.extend(x[members].tolist())
        elif len(members) > 1:
            constraints.add().at_most_one.literals.extend(x[members].tolist())
    # Each offer takes at most its places left; exactly those when least-cost flows fill it.
    for j, members in groups_by(offer):
        ones = np.ones(len(members), dtype=np.int64)
        if admissible is not None and admissible.offer_full[j]:
            add_linear(model, x[members], ones, int(left[j]), int(left[j]))
        elif len(members) > left[j]:
            add_linear(model, x[members], ones, 0, int(left[j]))
    # A pair that every least-cost flow uses stays used.
    if admissible is not None:
        for k in np.flatnonzero(admissible.pair_forced[chosen]):
            add_linear(model, x[[int(k)]], np.ones(1, dtype=np.int64), 1, 1)
