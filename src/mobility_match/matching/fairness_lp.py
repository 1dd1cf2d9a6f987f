"""The school-fairness stage as a linear programme, gender limits included: a tight bound.

The flow relaxation of fairness.py drops the gender constraint, and where gender
binds its bound can stand far above the optimum: CP-SAT then searches for a
proof it rarely finds (the stage's heavy tail). The linear relaxation of the
whole stage (every rule that binds it but integrality) is solved by GLOP in
about a second at 10,000 students and bounds the stage from above, once rounded
down to the rates that exist; it is most often the optimum itself. Its basic
solution is a flow but for a few fractional students, around whom a small CP-SAT
repair (repair.py) looks for an assignment that reaches the rate. The simplex
starts from an assignment already found, not from nobody placed (a cold start
walked some 13,000 pivots at 10,000 students), and each rate's floors are an
update of a few bounds to a solver that keeps its basis.

In dense rounds nearly every pair is admissible: one column per pair would hold
tens of millions of columns, and the model, its copies in MathOpt and GLOP,
gigabytes. There the LP starts with a few columns per student and generates the
others: every pair is priced from the duals in numpy, from a few bytes per pair,
and those that could raise the objective are added until none can; only then is
its optimum the bound (and an infeasible LP is proven so by a first phase over
every column too).

Only a bound and a starting point come from floating point: values and
assignments are always measured exactly, and the bound is rounded up by a
margin far below the gap between two rates that exist.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.math_opt import (
    callback_pb2,
    model_parameters_pb2,
    model_pb2,
    model_update_pb2,
    parameters_pb2,
    result_pb2,
    solution_pb2,
    sparse_containers_pb2,
)
from ortools.math_opt.core.python import solver as mathopt_solver

from mobility_match.matching.changes import FlowCost
from mobility_match.matching.fairness import FairnessLimits
from mobility_match.matching.flows import Admissible
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import UNPLACED, Assignment, F, M, Problem

FloatArray = npt.NDArray[np.float64]
Coefficients = npt.NDArray[np.floating[Any]]
"""Per pair, a row's coefficients: 32 bits where every value is an integer a float of 32
bits holds exactly (_compact), else 64."""

TOLERANCE = 1e-6
"""What the LP's floating point may be off by; distinct rates differ by more than 1e-6
as long as schools have under a thousand eligible students."""


FULL_LP_PAIRS = 1_000_000
"""Up to this many pairs the LP holds every column; above, it generates them."""

DUAL_ITERATIONS = 150
"""Pivots of the dual simplex after a change of floors before the primal takes over
(_solve_once): where the dual suits, it needs 5 to 130; where it does not, 1,000 to
14,000."""

SETTLED = (
    result_pb2.TERMINATION_REASON_OPTIMAL,
    result_pb2.TERMINATION_REASON_INFEASIBLE,
    # Every variable is bounded: an LP that is infeasible or unbounded is infeasible.
    result_pb2.TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED,
)
"""How GLOP ends when it has decided the LP: optimal, or no solution."""

GENERATE_SHARE = 0.125
"""Below FULL_LP_PAIRS too, the LP generates its columns when those it starts with are
fewer than this share of all: dense rounds (dozens of acceptable offers per student, of
which it starts with 7 at most), where the whole LP of 10,000 students takes 5 to 8 s of
solves and the generated one under 1 s. Sparse rounds start with a fifth of their columns
or more, and there the generated LP, degenerate, re-solves slowly after each batch of
columns: whole, it is two to three times faster."""

SPARE_COLUMNS = 4
"""A generated LP starts with the start's pairs and, per student, this many toward offers
the start leaves places in, and FIRST_COLUMNS others."""

FIRST_COLUMNS = 2

MIN_COLUMNS_PER_ROUND = 10_000
"""At most this many columns (or one per row, if more) are added at a time, the best priced."""

PRICE_TOLERANCE = 1e-9
"""A column prices out when its reduced cost is above this."""


class Unsolved(Exception):
    """The LP was stopped (by the round's deadline) before its optimum: no bound from it."""


@dataclass(frozen=True)
class Relaxation:
    """The LP optimum of the lowest school rate, and where its solution is integral."""

    rate: float
    integral: Assignment
    """The students whose LP solution is one whole pair, on it; UNPLACED for the others."""
    fractional: npt.NDArray[np.bool_]
    """Students split between pairs (or partly placed) in the LP solution."""


def _compact(values: npt.NDArray[np.signedinteger[Any]]) -> Coefficients:
    """Integer coefficients as floats of 32 bits when they hold them all exactly, else 64."""
    exact = not len(values) or int(np.abs(values).max()) < 1 << 24
    return values.astype(np.float32 if exact else np.float64)


class _Rows:
    """The rows of an LP, kept per pair in compact arrays, in complemented variables.

    A column whose pair the start uses stands for 1 − x: its coefficients change
    sign and each row's bounds move by what it adds at zero (`shifts`). Each block
    of rows holds, per pair, the row it has an entry in (−1: none) and the entry's
    coefficient (1 when not given): a few bytes per pair, whatever columns the LP
    holds, from which any set of columns is written or priced.
    """

    def __init__(self, flipped: npt.NDArray[np.bool_]) -> None:
        self.n = len(flipped) - 1
        self.flipped = flipped[: self.n]
        self.started = np.flatnonzero(self.flipped)
        """The pairs the start uses (complemented): few, one per student placed."""
        self.count = 0
        self.blocks: list[tuple[int, int, npt.NDArray[np.int32] | None, Coefficients | None]] = []
        """Per block: first row, number of rows, row per pair (None: the single row) and
        coefficient per pair (None: 1)."""
        self.lows: list[FloatArray] = []
        self.highs: list[FloatArray] = []
        self.shifts: list[FloatArray] = []
        self.z_rows: list[IntArray] = []
        self.z_coefficients: list[FloatArray] = []

    def add(
        self,
        row_of_pair: npt.NDArray[np.int32] | None,
        coefficients: Coefficients | None,
        lows: FloatArray,
        highs: FloatArray,
    ) -> list[int]:
        """Add len(lows) rows: pair j has coefficients[j] (1 if None) in row row_of_pair[j]
        counted from the first new row (none if −1; with row_of_pair None, in the single
        new row where its coefficient is not zero); return the new rows' indices."""
        n_rows = len(lows)
        # Only the start's pairs shift a row: a few, not one weight per pair.
        started = self.started
        weights = np.ones(len(started)) if coefficients is None else coefficients[started]
        weights = weights.astype(float)
        if row_of_pair is None:
            shifts = np.array([weights.sum()])
        else:
            rows = row_of_pair[started]
            on = rows >= 0
            shifts = np.bincount(rows[on], weights=weights[on], minlength=n_rows)
        self.blocks.append((self.count, n_rows, row_of_pair, coefficients))
        self.lows.append(np.asarray(lows, dtype=float) - shifts)
        self.highs.append(np.asarray(highs, dtype=float) - shifts)
        self.shifts.append(shifts.astype(float))
        self.count += n_rows
        return list(range(self.count - n_rows, self.count))

    def add_z(self, rows: list[int], coefficients: FloatArray) -> None:
        """Give the column z (never complemented) its coefficients in rows already added."""
        self.z_rows.append(np.asarray(rows, dtype=np.int64))
        self.z_coefficients.append(coefficients)

    def entries(self, pairs: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        """The matrix entries of the columns of `pairs`: rows, positions in `pairs` and
        coefficients."""
        rows: list[IntArray] = []
        positions: list[IntArray] = []
        coefficients: list[FloatArray] = []
        everywhere = np.arange(len(pairs), dtype=np.int64)
        for first, _, row_of_pair, values in self.blocks:
            given = np.ones(len(pairs)) if values is None else values[pairs]
            if row_of_pair is None:
                at = np.flatnonzero(given != 0)
                row = np.zeros(len(at), dtype=np.int64)
            else:
                local = row_of_pair[pairs]
                at = np.flatnonzero(local >= 0)
                row = local[at].astype(np.int64)
            rows.append(row + first)
            positions.append(everywhere[at])
            sign = np.where(self.flipped[pairs[at]], -1.0, 1.0)
            coefficients.append(given[at].astype(np.float64) * sign)
        return np.concatenate(rows), np.concatenate(positions), np.concatenate(coefficients)

    def price(self, duals: FloatArray, chunk: int = 1 << 21) -> FloatArray:
        """Σ over rows of dual · coefficient, per pair (uncomplemented), in chunks of pairs."""
        total = np.zeros(self.n)
        weights = []
        for first, n_rows, row_of_pair, _ in self.blocks:
            if row_of_pair is None:
                weights.append(np.array([duals[first]]))
            else:  # the last entry, 0, for pairs without a row in the block
                weights.append(np.append(duals[first : first + n_rows], 0.0))
        for start in range(0, self.n, chunk):
            part = slice(start, min(self.n, start + chunk))
            for (_, _, row_of_pair, values), weight in zip(self.blocks, weights, strict=True):
                if row_of_pair is None:
                    total[part] += weight[0] if values is None else weight[0] * values[part]
                elif values is None:
                    total[part] += weight[row_of_pair[part]]
                else:
                    total[part] += weight[row_of_pair[part]] * values[part]
        return total


class StageLp:
    """The linear relaxation of the stage in one network, built once, solved at several floors.

    GLOP keeps its basis from one solve to the next: changing the schools' floors
    and solving again costs a fraction of the first solve. Above FULL_LP_PAIRS pairs
    (dense rounds, where nearly every pair is admissible) the LP holds only some
    of its columns and generates the others: see `_generate`.
    """

    def __init__(
        self,
        problem: Problem,
        admissible: Admissible | None,
        limits: FairnessLimits,
        cost: FlowCost,
        start: Assignment | None = None,
        full_lp_pairs: int | None = None,
        whole_start: Assignment | None = None,
        dual_iterations: int = DUAL_ITERATIONS,
    ) -> None:
        """Maximise z, the lowest school rate, over fractional assignments within the limits.

        `start`, an assignment that keeps every limit but maybe the gender counts (a
        flow of the network), is where the simplex starts: the pairs it uses are
        complemented (x = 1 − y), so that all-zero variables are that assignment and
        a cold solve walks from it, not from nobody placed. With more pairs than
        `full_lp_pairs` (FULL_LP_PAIRS by default) columns are generated. `whole_start`,
        if given, replaces `start` when the LP holds every column: a flow nearer the
        gender limits starts the whole LP nearer its optimum (a third of its time on the
        rounds where gender binds), where it makes a generated LP, which holds the
        start's pairs, slower. `dual_iterations` caps the dual simplex of each solve
        after the first (0: the primal only).
        """
        self.problem = problem
        usable = problem.free_pair_mask()
        if admissible is not None:
            usable &= admissible.pair_allowed & ~admissible.offer_empty[problem.pairs.offer]
            usable &= ~admissible.student_forbidden[problem.pairs.student]
        # Pairs every least-cost flow uses are constants, like locks: a smaller LP.
        base = problem.locked_assignment()
        if admissible is not None:
            fixed = usable & admissible.pair_forced
            base[problem.pairs.student[fixed]] = problem.pairs.offer[fixed]
            usable &= base[problem.pairs.student] == UNPLACED
        self.locked_assignment = base
        """Locked students and the fixed pairs' students on their offers; the others unplaced."""
        # What the constants place, counted directly (measure() would also price them).
        fixed_students = base >= 0
        self.school_placed = np.bincount(
            problem.school[fixed_students], minlength=len(problem.school_ids)
        )
        fixed_by_gender = np.bincount(problem.gender[fixed_students], minlength=3).tolist()
        fixed_placed = int(fixed_students.sum())
        chosen = np.flatnonzero(usable)
        del usable
        student, offer = problem.pairs.student[chosen], problem.pairs.offer[chosen]
        self.student, self.offer = student, offer
        n = len(chosen)
        self.n_pairs = n
        self.empty = False
        """No assignment at all within the rules (then every solve says so)."""
        # The pairs come sorted by student: their runs number the students without a sort.
        if n and bool((student[1:] >= student[:-1]).all()):
            first = np.ones(n, dtype=bool)
            first[1:] = student[1:] != student[:-1]
            students = student[first]
            by_student = np.cumsum(first, dtype=np.int32) - 1
        else:
            students, inverse = np.unique(student, return_inverse=True)
            by_student = inverse.astype(np.int32)
        left = problem.capacity - np.bincount(base[base >= 0], minlength=problem.n_offers)
        flipped = np.zeros(n + 1, dtype=bool)
        if start is not None:
            flipped[:n] = start[student] == offer
        # The columns the LP starts with: all of them, or (generated) the start's pairs and,
        # per student, a few toward offers with places the start leaves.
        spare = left - np.bincount(offer[flipped[:n]], minlength=problem.n_offers)
        towards = spare[offer] > 0
        # Per pair, its rank in its student's run, among all pairs and toward spare places.
        run_start = np.flatnonzero(np.r_[True, by_student[1:] != by_student[:-1]])
        run_start = run_start.astype(np.int32)
        before = np.cumsum(towards, dtype=np.int32)
        before -= towards
        rank_spare = before - before[run_start][by_student]
        rank = np.arange(n, dtype=np.int32) - run_start[by_student]
        first_columns = np.flatnonzero(
            flipped[:n] | (towards & (rank_spare < SPARE_COLUMNS)) | (rank < FIRST_COLUMNS)
        )
        del spare, towards, before, rank_spare, rank, run_start
        if full_lp_pairs is not None:
            self.generated = n > full_lp_pairs
        else:
            # Generating pays when the LP would start with a small share of its columns
            # (dense rounds: dozens of acceptable offers per student; the priced columns
            # then stay few), and is a must when every column would not fit.
            self.generated = n > FULL_LP_PAIRS or len(first_columns) < GENERATE_SHARE * n
        if whole_start is not None and not self.generated:
            flipped[:n] = whole_start[student] == offer
        self.flipped = flipped
        self._rows = _Rows(flipped)
        inf = math.inf
        # Each student at most one pair; exactly one when every least-cost flow places it.
        exact = np.zeros(len(students), dtype=bool)
        if admissible is not None:
            forced = np.flatnonzero(admissible.student_forced & (base == UNPLACED))
            self.empty |= not np.isin(forced, students).all()
            exact = admissible.student_forced[students]
        self._rows.add(by_student, None, np.where(exact, 1.0, -inf), np.ones(len(students)))
        # Each offer at most its places left; exactly those when least-cost flows fill it.
        members = np.bincount(offer, minlength=problem.n_offers)
        full = np.zeros(problem.n_offers, dtype=bool)
        if admissible is not None:
            full = admissible.offer_full & (left > 0)
        self.empty |= bool((full & (members == 0)).any())
        binding = np.flatnonzero((members > 0) & (full | (members > left)))
        row_of_offer = np.full(problem.n_offers, -1, dtype=np.int32)
        row_of_offer[binding] = np.arange(len(binding))
        self._rows.add(
            row_of_offer[offer],
            None,
            np.where(full[binding], left[binding], -inf).astype(float),
            left[binding].astype(float),
        )
        # Every school places at least z of its eligible students, and its floor.
        self.eligible = problem.eligible_by_school()
        self.schools = np.flatnonzero(self.eligible > 0)
        row_of_school = np.full(len(self.eligible), -1, dtype=np.int32)
        row_of_school[self.schools] = np.arange(len(self.schools))
        school_rows = row_of_school[problem.school[student]]
        self.members = np.bincount(school_rows[school_rows >= 0], minlength=len(self.schools))
        k = len(self.schools)
        rate_rows = self._rows.add(
            school_rows, None, -self.school_placed[self.schools].astype(float), np.full(k, inf)
        )
        self._rows.add_z(rate_rows, -self.eligible[self.schools].astype(float))
        self.floor_rows = self._rows.add(school_rows, None, np.zeros(k), np.full(k, inf))
        # The earlier stages: gender counts, or total, gap and cost within their limits.
        gender = problem.gender[student]
        if limits.counts is not None:
            wanted = np.array(limits.counts, dtype=float) - np.array(fixed_by_gender)
            self._rows.add(gender.astype(np.int32), None, wanted, wanted)
        else:
            self._rows.add(
                None,
                None,
                np.array([limits.min_placed - fixed_placed], dtype=float),
                np.array([limits.max_placed - fixed_placed], dtype=float),
            )
        e_f, e_m, _ = problem.eligible_by_gender()
        if limits.max_gap is not None and e_f and e_m:
            lf, lm, _ = fixed_by_gender
            signed = _compact(np.where(gender == F, e_m, np.where(gender == M, -e_f, 0)))
            constant = lf * e_m - lm * e_f
            self._rows.add(
                None,
                signed,
                np.array([-limits.max_gap - constant], dtype=float),
                np.array([limits.max_gap - constant], dtype=float),
            )
        del gender
        if limits.max_cost is not None and admissible is None:
            paid = cost.of(problem, self.locked_assignment)
            self._rows.add(
                None,
                _compact(cost.pair[chosen]),
                np.array([-inf]),
                np.array([limits.max_cost - paid], dtype=float),
            )
        del chosen
        self.shifts = np.concatenate(self._rows.shifts)
        """Per row, what its complemented variables add to it at zero (see `start`)."""
        self.lows = np.concatenate(self._rows.lows)
        self.highs = np.concatenate(self._rows.highs)
        initial = first_columns if self.generated else np.arange(n)
        m = len(initial)
        self.z = m
        """The variable id of z: after the first columns, before any generated one."""
        self.var_of_pair = np.full(n, -1, dtype=np.int32)
        self.var_of_pair[initial] = np.arange(m)
        self.pair_of_var = np.r_[initial, -1]
        """Per variable id, its pair (−1: z or an artificial column)."""
        self.artificial: dict[tuple[int, int], int] = {}
        """Per row and direction (±1), the id of its artificial column (phase one)."""
        model = model_pb2.ModelProto()
        model.variables.ids.extend(range(m + 1))
        model.variables.lower_bounds.extend([0.0] * (m + 1))
        model.variables.upper_bounds.extend([1.0] * (m + 1))
        model.variables.integers.extend([False] * (m + 1))
        model.objective.maximize = True
        model.objective.linear_coefficients.ids.append(self.z)
        model.objective.linear_coefficients.values.append(1.0)
        model.linear_constraints.ids.extend(range(self._rows.count))
        model.linear_constraints.lower_bounds.extend(self.lows.tolist())
        model.linear_constraints.upper_bounds.extend(self.highs.tolist())
        rows, columns, coefficients = self._rows.entries(initial)
        z_rows = np.concatenate(self._rows.z_rows)
        rows = np.concatenate([rows, z_rows])
        columns = np.concatenate([columns, np.full(len(z_rows), m, dtype=np.int64)])
        coefficients = np.concatenate([coefficients, *self._rows.z_coefficients])
        _write_matrix(model.linear_constraint_matrix, rows, columns, coefficients)
        del rows, columns, coefficients
        # GLOP through MathOpt's incremental solver: a change of floors is an update of a
        # few bounds, where pywraplp copies the whole LP into GLOP again at every solve.
        self.solver = mathopt_solver.new(
            parameters_pb2.SOLVER_TYPE_GLOP, model, parameters_pb2.SolverInitializerProto()
        )
        del model
        self.parameters = parameters_pb2.SolveParametersProto()
        # Presolve costs more than it saves on these LPs, solved again at every floor.
        self.parameters.glop.use_preprocessing = False
        self.model_parameters = model_parameters_pb2.ModelSolveParametersProto()
        # Only the primal values are read (and the rows' duals to price columns).
        if not self.generated:
            self.model_parameters.dual_values_filter.filter_by_ids = True
        self.model_parameters.reduced_costs_filter.filter_by_ids = True
        self.rounds = 0
        """Columns generated so far: how many times some were added."""
        self.dual_iterations = dual_iterations
        self.dual_first = False
        """Whether the next solves start with the dual simplex (_solve_once)."""
        self.solved = False
        """Whether GLOP has solved this LP once (it then keeps a basis)."""
        self.basis: solution_pb2.BasisProto | None = None
        """The basis of the last optimum, over `basis_columns` columns."""
        self.basis_columns = 0

    def solve(
        self, floor_rate: Fraction | None = None, wall: float = math.inf
    ) -> Relaxation | None:
        """Maximise the lowest school rate; None if no fractional assignment exists.

        With `floor_rate`, every school must also place ⌈floor_rate · eligible⌉: the LP
        of that rate, whose solution is the one to round. Raise Unsolved when `wall`
        seconds (the round's deadline) end the LP first.
        """
        if self.empty:
            return None
        update = model_update_pb2.ModelUpdateProto()
        floors = update.linear_constraint_updates.lower_bounds
        for k, index, members in zip(
            self.schools.tolist(), self.floor_rows, self.members.tolist(), strict=True
        ):
            needed = 0
            if floor_rate is not None:
                needed = math.ceil(floor_rate * int(self.eligible[k])) - int(self.school_placed[k])
                if needed > members:
                    return None
            low = float(max(needed, 0)) - float(self.shifts[index])
            self.lows[index] = low
            floors.ids.append(index)
            floors.values.append(low)
        self._update(update)
        ends = time.monotonic() + min(wall, 1e6)
        # The first solve walks from the start; the later ones from the last basis.
        self.dual_first = self.solved and self.dual_iterations > 0
        self.solved = True
        try:
            answer = self._generate(ends)
            if answer is None:
                if not self.generated or not self._feasible(ends):
                    return None
                answer = self._generate(ends)
                if answer is None:  # phase one found it feasible: only rounding disagrees
                    raise Unsolved("the LP of school fairness is feasible by a hair only")
        finally:
            self.dual_first = False
        solved = answer.solutions[0].primal_solution.variable_values
        values = np.zeros(len(self.pair_of_var))
        values[np.asarray(solved.ids, dtype=np.int64)] = np.asarray(solved.values, dtype=float)
        rate = float(values[self.z])
        held = self.pair_of_var >= 0
        pairs, x = self.pair_of_var[held], values[held]
        x = np.where(self.flipped[pairs], 1 - x, x)
        whole = x > 1 - TOLERANCE
        integral = self.locked_assignment.copy()
        integral[self.student[pairs[whole]]] = self.offer[pairs[whole]]
        fractional = np.zeros(self.problem.n_students, dtype=bool)
        fractional[self.student[pairs[(x > TOLERANCE) & ~whole]]] = True
        return Relaxation(rate, integral, fractional)

    def _update(self, update: model_update_pb2.ModelUpdateProto) -> None:
        if not self.solver.update(update):
            raise RuntimeError("GLOP could not take an update of the LP of school fairness")

    def _solve_once(self, ends: float) -> result_pb2.SolveResultProto | None:
        """Solve the LP as it holds its columns now: None if infeasible.

        After a change of floors (`dual_first`) the dual simplex goes first: the basis
        kept is still dual feasible, and it most often needs a few dozen pivots where
        the primal needs hundreds. On some LPs it needs thousands instead: after
        `dual_iterations` pivots the primal simplex takes over, from the basis the dual
        started from. A number of pivots, unlike seconds, is the same on every machine.
        """
        left = ends - time.monotonic()
        if left <= 0:
            raise Unsolved("the LP of school fairness ended with TERMINATION_REASON_TIME_LIMIT")
        glop = self.parameters.glop
        glop.use_dual_simplex = self.dual_first
        if self.dual_first:
            self.parameters.iteration_limit = self.dual_iterations
        else:
            self.parameters.ClearField("iteration_limit")
        answer = self._glop(ends)
        # The dual cut short (GLOP reports its iteration limit as LIMIT_UNDETERMINED), or
        # stopped for any other reason: the primal decides, from the basis the dual
        # started from (from where it stopped, the primal may need thousands of pivots).
        if self.dual_first and answer.termination.reason not in SETTLED:
            if self.basis is not None and self.basis_columns == len(self.pair_of_var):
                self.model_parameters.initial_basis.CopyFrom(self.basis)
            glop.use_dual_simplex = False
            self.parameters.ClearField("iteration_limit")
            try:
                answer = self._glop(ends)
            finally:
                self.model_parameters.ClearField("initial_basis")
        reason = answer.termination.reason
        if reason == result_pb2.TERMINATION_REASON_OPTIMAL and answer.solutions:
            self.basis = answer.solutions[0].basis
            self.basis_columns = len(self.pair_of_var)
        if reason not in SETTLED:
            name = result_pb2.TerminationReasonProto.Name(reason)
            raise Unsolved(f"the LP of school fairness ended with {name}")
        if reason != result_pb2.TERMINATION_REASON_OPTIMAL:
            return None
        return answer

    def _glop(self, ends: float) -> result_pb2.SolveResultProto:
        """One call of GLOP, given the time left until `ends` (10 ms at least)."""
        left = ends - time.monotonic()
        self.parameters.time_limit.FromMilliseconds(max(10, int(left * 1000)))
        return self.solver.solve(
            self.parameters,
            self.model_parameters,
            None,
            callback_pb2.CallbackRegistrationProto(),
            None,
            None,
        )

    def _generate(self, ends: float) -> result_pb2.SolveResultProto | None:
        """Solve, then add the columns the duals price out, until none does: the optimum
        over every column. None if the columns held admit no solution (a proof of
        infeasibility only when all columns are held: see `_feasible`).

        A pair's column has objective 0, so its reduced cost is minus the dual-weighted
        sum of its rows; a column out of the LP is at zero (its pair unused: the start's
        pairs are all held), so none with a positive reduced cost means that no column
        can raise the objective, the LP's optimum with every column."""
        while True:
            answer = self._solve_once(ends)
            if answer is None or not self.generated:
                return answer
            dual = answer.solutions[0].dual_solution.dual_values
            duals = np.zeros(self._rows.count)
            duals[np.asarray(dual.ids, dtype=np.int64)] = np.asarray(dual.values, dtype=float)
            reduced = self._rows.price(duals)
            np.negative(reduced, out=reduced)
            reduced[self.var_of_pair >= 0] = -math.inf
            candidates = np.flatnonzero(reduced > PRICE_TOLERANCE)
            if len(candidates) == 0:
                return answer
            most = max(MIN_COLUMNS_PER_ROUND, len(self.lows))
            if len(candidates) > most:
                best = np.argpartition(-reduced[candidates], most - 1)[:most]
                candidates = np.sort(candidates[best])
            del reduced
            self._add_columns(candidates)
            # New columns at zero keep the basis primal feasible, not dual feasible.
            self.dual_first = False

    def _add_columns(self, pairs: IntArray) -> None:
        first = len(self.pair_of_var)
        ids = np.arange(first, first + len(pairs))
        self.var_of_pair[pairs] = ids
        self.pair_of_var = np.r_[self.pair_of_var, pairs]
        update = model_update_pb2.ModelUpdateProto()
        update.new_variables.ids.extend(ids.tolist())
        update.new_variables.lower_bounds.extend([0.0] * len(pairs))
        update.new_variables.upper_bounds.extend([1.0] * len(pairs))
        update.new_variables.integers.extend([False] * len(pairs))
        rows, positions, coefficients = self._rows.entries(pairs)
        _write_matrix(
            update.linear_constraint_matrix_updates, rows, positions + first, coefficients
        )
        self._update(update)
        self.rounds += 1

    def _feasible(self, ends: float) -> bool:
        """Phase one over every column: whether the LP's rows admit a solution at all.

        An artificial column per row that the held columns at zero break covers what
        the row misses; their sum minimised, columns generated by the same prices, is
        zero exactly when some fractional assignment keeps every row. They are then
        held at zero and z is the objective again."""
        update = model_update_pb2.ModelUpdateProto()
        new = update.new_variables
        matrix: list[tuple[int, int, float]] = []
        broken = [(int(r), 1) for r in np.flatnonzero(self.lows > TOLERANCE)]
        broken += [(int(r), -1) for r in np.flatnonzero(self.highs < -TOLERANCE)]
        for row, direction in broken:
            if (row, direction) not in self.artificial:
                column = len(self.pair_of_var)
                self.artificial[row, direction] = column
                self.pair_of_var = np.r_[self.pair_of_var, -1]
                new.ids.append(column)
                new.lower_bounds.append(0.0)
                new.upper_bounds.append(math.inf)
                new.integers.append(False)
                matrix.append((row, column, float(direction)))
        matrix.sort()
        for row, column, coefficient in matrix:
            update.linear_constraint_matrix_updates.row_ids.append(row)
            update.linear_constraint_matrix_updates.column_ids.append(column)
            update.linear_constraint_matrix_updates.coefficients.append(coefficient)
        artificial = sorted(self.artificial.values())
        objective = update.objective_updates.linear_coefficients
        objective.ids.extend(sorted([self.z, *artificial]))
        objective.values.extend([0.0 if v == self.z else -1.0 for v in objective.ids])
        bounds = update.variable_updates.upper_bounds
        fresh = set(new.ids)
        old = [v for v in artificial if v not in fresh]
        bounds.ids.extend(old)
        bounds.values.extend([math.inf] * len(old))
        self._update(update)
        try:
            answer = self._generate(ends)
        finally:
            back = model_update_pb2.ModelUpdateProto()
            objective = back.objective_updates.linear_coefficients
            objective.ids.extend(sorted([self.z, *artificial]))
            objective.values.extend([1.0 if v == self.z else 0.0 for v in objective.ids])
            back.variable_updates.upper_bounds.ids.extend(artificial)
            back.variable_updates.upper_bounds.values.extend([0.0] * len(artificial))
            self._update(back)
        if answer is None:
            raise Unsolved("the first phase of the LP of school fairness found no solution")
        return bool(answer.solutions[0].primal_solution.objective_value >= -TOLERANCE)


def _write_matrix(
    matrix: sparse_containers_pb2.SparseDoubleMatrixProto,
    rows: IntArray,
    columns: IntArray,
    coefficients: FloatArray,
) -> None:
    """Write matrix entries in row then column order, as MathOpt wants them."""
    order = np.lexsort((columns, rows))
    matrix.row_ids.extend(rows[order].tolist())
    matrix.column_ids.extend(columns[order].tolist())
    matrix.coefficients.extend(coefficients[order].tolist())


def rate_bound(rates: list[Fraction], optimum: float) -> int:
    """The index of the highest rate that exists at or below an LP optimum (-1: none)."""
    return (
        int(np.searchsorted(np.array([float(r) for r in rates]), optimum + TOLERANCE, "right")) - 1
    )
