"""The school-fairness stage as a linear programme, gender limits included: a tight bound.

The flow relaxation of fairness.py drops the gender constraint, and where gender
binds its bound can stand far above the optimum: CP-SAT then searches for a
proof it rarely finds (the stage's heavy tail). The linear relaxation of the
whole stage (every rule that binds it but integrality) is solved by GLOP in a
fraction of a second and bounds the stage from above, once rounded down to the
rates that exist; it is most often the optimum itself. Its basic solution is a
flow but for a few fractional students, around whom a small CP-SAT repair
(repair.py) looks for an assignment that reaches the rate.

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
from ortools.linear_solver import linear_solver_pb2, pywraplp

from mobility_match.matching.changes import FlowCost
from mobility_match.matching.cpsat import groups_by
from mobility_match.matching.fairness import FairnessLimits
from mobility_match.matching.flows import Admissible
from mobility_match.matching.problem import UNPLACED, Assignment, F, M, Problem, measure

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
    ) -> None:
        """Maximise z, the lowest school rate, over fractional assignments within the limits."""
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
        locked = measure(problem, base)
        self.school_placed = locked.school_placed
        chosen = np.flatnonzero(usable)
        student, offer = problem.pairs.student[chosen], problem.pairs.offer[chosen]
        self.student, self.offer = student, offer
        n = len(chosen)
        self.n_pairs = n
        self.empty = False
        """No assignment at all within the rules (then every solve says so)."""
        model = linear_solver_pb2.MPModelProto(maximize=True)
        for _ in range(n):
            model.variable.add(lower_bound=0.0, upper_bound=1.0)
        z = n
        model.variable.add(lower_bound=0.0, upper_bound=1.0, objective_coefficient=1.0)

        def row(members: list[int], coefficients: list[float], low: float, high: float) -> int:
            constraint = model.constraint.add(lower_bound=low, upper_bound=high)
            constraint.var_index.extend(members)
            constraint.coefficient.extend(coefficients)
            return len(model.constraint) - 1

        def ones(members: list[int]) -> list[float]:
            return [1.0] * len(members)

        inf = math.inf
        # Each student at most one pair; exactly one when every least-cost flow places it.
        by_student = dict(groups_by(student))
        if admissible is not None:
            forced = np.flatnonzero(admissible.student_forced & (base == UNPLACED))
            self.empty |= any(int(i) not in by_student for i in forced)
        for i, members in by_student.items():
            exact = admissible is not None and bool(admissible.student_forced[i])
            row(members, ones(members), 1.0 if exact else -inf, 1.0)
        # Each offer at most its places left; exactly those when least-cost flows fill it.
        left = problem.capacity - np.bincount(base[base >= 0], minlength=problem.n_offers)
        by_offer = dict(groups_by(offer))
        for j in range(problem.n_offers):
            members = by_offer.get(j, [])
            full = admissible is not None and bool(admissible.offer_full[j]) and left[j] > 0
            self.empty |= full and not members
            if members and (full or len(members) > left[j]):
                row(members, ones(members), float(left[j]) if full else -inf, float(left[j]))
        # Every school places at least z of its eligible students, and its floor.
        self.eligible = problem.eligible_by_school()
        by_school = dict(groups_by(problem.school[student]))
        self.schools = np.flatnonzero(self.eligible > 0)
        self.members = np.array([len(by_school.get(k, [])) for k in self.schools.tolist()])
        self.floor_rows: list[int] = []
        for k in self.schools.tolist():
            members = by_school.get(k, [])
            placed = float(self.school_placed[k])
            row([*members, z], [*ones(members), -float(self.eligible[k])], -placed, inf)
            self.floor_rows.append(row(members, ones(members), 0.0, inf))
        # The earlier stages: gender counts, or total, gap and cost within their limits.
        gender = problem.gender[student]
        every = list(range(n))
        if limits.counts is not None:
            for g in range(3):
                members = np.flatnonzero(gender == g).tolist()
                wanted = float(limits.counts[g] - locked.placed_by_gender[g])
                row(members, ones(members), wanted, wanted)
        else:
            row(
                every,
                ones(every),
                float(limits.min_placed - locked.placed),
                float(limits.max_placed - locked.placed),
            )
        e_f, e_m, _ = problem.eligible_by_gender()
        if limits.max_gap is not None and e_f and e_m:
            lf, lm, _ = locked.placed_by_gender
            signed = np.where(gender == F, e_m, np.where(gender == M, -e_f, 0)).astype(float)
            constant = lf * e_m - lm * e_f
            row(every, signed.tolist(), -limits.max_gap - constant, limits.max_gap - constant)
        if limits.max_cost is not None and admissible is None:
            paid = cost.of(problem, self.locked_assignment)
            limit = float(limits.max_cost - paid)
            row(every, cost.pair[chosen].astype(float).tolist(), -inf, limit)
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        if self.solver is None or self.solver.LoadModelFromProto(model) != "":
            raise RuntimeError("GLOP could not load the LP of school fairness")
        self.constraints = self.solver.constraints()
        # Presolve costs more than it saves on these LPs, solved again at every floor.
        self.solver.SetSolverSpecificParametersAsString("use_preprocessing: false")

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
        for k, index, members in zip(
            self.schools.tolist(), self.floor_rows, self.members.tolist(), strict=True
        ):
            needed = 0
            if floor_rate is not None:
                needed = math.ceil(floor_rate * int(self.eligible[k])) - int(self.school_placed[k])
                if needed > members:
                    return None
            self.constraints[index].SetLb(float(max(needed, 0)))
        self.solver.SetTimeLimit(max(10, int(min(wall, 1e6) * 1000)))
        status = self.solver.Solve()
        if status == pywraplp.Solver.INFEASIBLE:
            return None
        if status != pywraplp.Solver.OPTIMAL:
            raise Unsolved(f"the LP of school fairness ended with status {status}")
        answer = linear_solver_pb2.MPSolutionResponse()
        self.solver.FillSolutionResponseProto(answer)
        values = np.asarray(answer.variable_value, dtype=float)
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
