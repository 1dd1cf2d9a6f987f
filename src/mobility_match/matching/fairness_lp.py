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

Only a bound and a starting point come from floating point: values and
assignments are always measured exactly, and the bound is rounded up by a
margin far below the gap between two rates that exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from ortools.math_opt import (
    callback_pb2,
    model_parameters_pb2,
    model_pb2,
    model_update_pb2,
    parameters_pb2,
    result_pb2,
)
from ortools.math_opt.core.python import solver as mathopt_solver

from mobility_match.matching.changes import FlowCost
from mobility_match.matching.fairness import FairnessLimits
from mobility_match.matching.flows import Admissible
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import UNPLACED, Assignment, F, M, Problem

FloatArray = npt.NDArray[np.float64]

TOLERANCE = 1e-6
"""What the LP's floating point may be off by; distinct rates differ by more than 1e-6
as long as schools have under a thousand eligible students."""


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


class _Rows:
    """The rows of an LP as the triplets of a sparse matrix, in complemented variables.

    A column whose pair the start uses stands for 1 − x: its coefficients change
    sign and each row's bounds move by what it adds at zero (`shifts`).
    """

    def __init__(self, flipped: npt.NDArray[np.bool_]) -> None:
        self.sign = np.where(flipped, -1.0, 1.0)
        self.flipped = flipped
        self.count = 0
        self.rows: list[IntArray] = []
        self.columns: list[IntArray] = []
        self.coefficients: list[FloatArray] = []
        self.lows: list[FloatArray] = []
        self.highs: list[FloatArray] = []
        self.shifts: list[FloatArray] = []

    def add(
        self,
        rows: IntArray,
        columns: IntArray,
        coefficients: FloatArray,
        lows: FloatArray,
        highs: FloatArray,
    ) -> list[int]:
        """Add len(lows) rows, entry k at (rows[k], columns[k]) counted from the first
        new row; return the new rows' indices."""
        n_rows = len(lows)
        rows = rows.astype(np.int64)  # a gender or school code may be a narrow integer
        shifts = np.bincount(
            rows, weights=coefficients * self.flipped[columns], minlength=n_rows
        ).astype(float)
        self.rows.append(rows + self.count)
        self.columns.append(columns)
        self.coefficients.append(coefficients * self.sign[columns])
        self.lows.append(np.asarray(lows, dtype=float) - shifts)
        self.highs.append(np.asarray(highs, dtype=float) - shifts)
        self.shifts.append(shifts)
        self.count += n_rows
        return list(range(self.count - n_rows, self.count))

    def add_one(self, coefficients: FloatArray, low: float, high: float) -> None:
        """Add the row low ≤ Σ coefficients · x ≤ high over every pair."""
        columns = np.flatnonzero(coefficients)
        rows = np.zeros(len(columns), dtype=np.int64)
        self.add(rows, columns, coefficients[columns], np.array([low]), np.array([high]))

    def write(self, model: model_pb2.ModelProto) -> None:
        """Write the rows into a MathOpt model, its matrix in row then column order."""
        model.linear_constraints.ids.extend(range(self.count))
        model.linear_constraints.lower_bounds.extend(np.concatenate(self.lows).tolist())
        model.linear_constraints.upper_bounds.extend(np.concatenate(self.highs).tolist())
        rows, columns = np.concatenate(self.rows), np.concatenate(self.columns)
        order = np.lexsort((columns, rows))
        matrix = model.linear_constraint_matrix
        matrix.row_ids.extend(rows[order].tolist())
        matrix.column_ids.extend(columns[order].tolist())
        matrix.coefficients.extend(np.concatenate(self.coefficients)[order].tolist())


class StageLp:
    """The linear relaxation of the stage in one network, built once, solved at several floors.

    GLOP keeps its basis from one solve to the next: changing the schools' floors
    and solving again costs a fraction of the first solve.
    """

    def __init__(
        self,
        problem: Problem,
        admissible: Admissible | None,
        limits: FairnessLimits,
        cost: FlowCost,
        start: Assignment | None = None,
    ) -> None:
        """Maximise z, the lowest school rate, over fractional assignments within the limits.

        `start`, an assignment that keeps every limit but maybe the gender counts (a
        flow of the network), is where the simplex starts: the pairs it uses are
        complemented (x = 1 − y), so that all-zero variables are that assignment and
        a cold solve walks from it, not from nobody placed.
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
        student, offer = problem.pairs.student[chosen], problem.pairs.offer[chosen]
        self.student, self.offer = student, offer
        n = len(chosen)
        self.n_pairs = n
        self.empty = False
        """No assignment at all within the rules (then every solve says so)."""
        flipped = np.zeros(n + 1, dtype=bool)
        if start is not None:
            flipped[:n] = start[student] == offer
        self.flipped = flipped
        z = n
        self._rows = _Rows(flipped)
        inf = math.inf
        columns = np.arange(n, dtype=np.int64)
        ones = np.ones(n)
        # Each student at most one pair; exactly one when every least-cost flow places it.
        students, by_student = np.unique(student, return_inverse=True)
        exact = np.zeros(len(students), dtype=bool)
        if admissible is not None:
            forced = np.flatnonzero(admissible.student_forced & (base == UNPLACED))
            self.empty |= not np.isin(forced, students).all()
            exact = admissible.student_forced[students]
        self._rows.add(
            by_student, columns, ones, np.where(exact, 1.0, -inf), np.ones(len(students))
        )
        # Each offer at most its places left; exactly those when least-cost flows fill it.
        left = problem.capacity - np.bincount(base[base >= 0], minlength=problem.n_offers)
        members = np.bincount(offer, minlength=problem.n_offers)
        full = np.zeros(problem.n_offers, dtype=bool)
        if admissible is not None:
            full = admissible.offer_full & (left > 0)
        self.empty |= bool((full & (members == 0)).any())
        binding = np.flatnonzero((members > 0) & (full | (members > left)))
        row_of_offer = np.full(problem.n_offers, -1, dtype=np.int64)
        row_of_offer[binding] = np.arange(len(binding))
        on_binding = np.flatnonzero(row_of_offer[offer] >= 0)
        self._rows.add(
            row_of_offer[offer[on_binding]],
            on_binding,
            ones[on_binding],
            np.where(full[binding], left[binding], -inf).astype(float),
            left[binding].astype(float),
        )
        # Every school places at least z of its eligible students, and its floor.
        self.eligible = problem.eligible_by_school()
        self.schools = np.flatnonzero(self.eligible > 0)
        row_of_school = np.full(len(self.eligible), -1, dtype=np.int64)
        row_of_school[self.schools] = np.arange(len(self.schools))
        school_rows = row_of_school[problem.school[student]]
        on_school = np.flatnonzero(school_rows >= 0)
        self.members = np.bincount(school_rows[on_school], minlength=len(self.schools))
        k = len(self.schools)
        self._rows.add(
            np.concatenate([school_rows[on_school], np.arange(k)]),
            np.concatenate([on_school, np.full(k, z)]),
            np.concatenate([ones[on_school], -self.eligible[self.schools].astype(float)]),
            -self.school_placed[self.schools].astype(float),
            np.full(k, inf),
        )
        self.floor_rows = self._rows.add(
            school_rows[on_school], on_school, ones[on_school], np.zeros(k), np.full(k, inf)
        )
        # The earlier stages: gender counts, or total, gap and cost within their limits.
        gender = problem.gender[student]
        if limits.counts is not None:
            wanted = np.array(limits.counts, dtype=float) - np.array(fixed_by_gender)
            self._rows.add(gender, columns, ones, wanted, wanted)
        else:
            self._rows.add_one(
                ones, limits.min_placed - fixed_placed, limits.max_placed - fixed_placed
            )
        e_f, e_m, _ = problem.eligible_by_gender()
        if limits.max_gap is not None and e_f and e_m:
            lf, lm, _ = fixed_by_gender
            signed = np.where(gender == F, e_m, np.where(gender == M, -e_f, 0)).astype(float)
            constant = lf * e_m - lm * e_f
            self._rows.add_one(signed, -limits.max_gap - constant, limits.max_gap - constant)
        if limits.max_cost is not None and admissible is None:
            paid = cost.of(problem, self.locked_assignment)
            self._rows.add_one(cost.pair[chosen].astype(float), -inf, limits.max_cost - paid)
        self.shifts = np.concatenate(self._rows.shifts)
        """Per row, what its complemented variables add to it at zero (see `start`)."""
        model = model_pb2.ModelProto()
        model.variables.ids.extend(range(n + 1))
        model.variables.lower_bounds.extend([0.0] * (n + 1))
        model.variables.upper_bounds.extend([1.0] * (n + 1))
        model.variables.integers.extend([False] * (n + 1))
        model.objective.maximize = True
        model.objective.linear_coefficients.ids.append(z)
        model.objective.linear_coefficients.values.append(1.0)
        self._rows.write(model)
        # GLOP through MathOpt's incremental solver: a change of floors is an update of a
        # few bounds, where pywraplp copies the whole LP into GLOP again at every solve.
        self.solver = mathopt_solver.new(
            parameters_pb2.SOLVER_TYPE_GLOP, model, parameters_pb2.SolverInitializerProto()
        )
        self.parameters = parameters_pb2.SolveParametersProto()
        # Presolve costs more than it saves on these LPs, solved again at every floor.
        self.parameters.glop.use_preprocessing = False
        self.model_parameters = model_parameters_pb2.ModelSolveParametersProto()
        # Only the primal values are read: no dual values or reduced costs to copy.
        self.model_parameters.dual_values_filter.filter_by_ids = True
        self.model_parameters.reduced_costs_filter.filter_by_ids = True

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
            floors.ids.append(index)
            floors.values.append(float(max(needed, 0)) - float(self.shifts[index]))
        if not self.solver.update(update):
            raise RuntimeError("GLOP could not take new floors for the LP of school fairness")
        self.parameters.time_limit.FromMilliseconds(max(10, int(min(wall, 1e6) * 1000)))
        answer = self.solver.solve(
            self.parameters,
            self.model_parameters,
            None,
            callback_pb2.CallbackRegistrationProto(),
            None,
            None,
        )
        reason = answer.termination.reason
        if reason in (
            result_pb2.TERMINATION_REASON_INFEASIBLE,
            # Every variable is bounded: an LP that is infeasible or unbounded is infeasible.
            result_pb2.TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED,
        ):
            return None
        if reason != result_pb2.TERMINATION_REASON_OPTIMAL:
            name = result_pb2.TerminationReasonProto.Name(reason)
            raise Unsolved(f"the LP of school fairness ended with {name}")
        solved = answer.solutions[0].primal_solution.variable_values
        values = np.zeros(self.n_pairs + 1)
        values[np.asarray(solved.ids, dtype=np.int64)] = np.asarray(solved.values, dtype=float)
        values[self.flipped] = 1 - values[self.flipped]
        n = self.n_pairs
        whole = values[:n] > 1 - TOLERANCE
        integral = self.locked_assignment.copy()
        integral[self.student[whole]] = self.offer[whole]
        fractional = np.zeros(self.problem.n_students, dtype=bool)
        fractional[self.student[(values[:n] > TOLERANCE) & ~whole]] = True
        return Relaxation(float(values[n]), integral, fractional)


def rate_bound(rates: list[Fraction], optimum: float) -> int:
    """The index of the highest rate that exists at or below an LP optimum (-1: none)."""
    return (
        int(np.searchsorted(np.array([float(r) for r in rates]), optimum + TOLERANCE, "right")) - 1
    )
