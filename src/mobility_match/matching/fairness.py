"""The school-fairness stage: raise the lowest placement rate among schools.

A lowest rate t holds when every school k places at least ⌈t·eligible_k⌉ of
its students. Without the gender constraint that is a flow with lower bounds on
source → school arcs, so the best t of that relaxation, found by a binary search
over the few rates that exist (p/eligible_k), bounds the stage from above. Its
flow often keeps the gender gap of the earlier stage too, and is then optimal;
when it does not, flows with a small cost on one gender are tried, and CP-SAT
takes over from the best of them with the bound as a cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from ortools.graph.python import min_cost_flow

from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import Assignment, F, M, Problem, measure

SOURCE, SINK, FIRST_SCHOOL = 0, 1, 2
TARGETS_TRIED = 8
"""How many gender vectors, nearest first, `balanced` aims at before giving up."""


@dataclass(frozen=True)
class FairnessLimits:
    """What earlier stages let this stage do, in counts over all students (locks included)."""

    min_placed: int
    max_placed: int
    max_cost: int | None
    """Highest preference cost allowed, or None when preferences were not a stage before."""
    max_gap: int | None
    """Highest gender-gap numerator allowed, or None when the gap was not a stage before."""


class SchoolNetwork:
    """source → school → student → offer → sink, with a bypass for totals below the most."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        locked = measure(problem, problem.locked_assignment())
        self.locked = locked
        free = problem.free_pair_mask()
        self.pair_student = problem.pairs.student[free]
        self.pair_offer = problem.pairs.offer[free]
        self.pair_cost = problem.pairs.cost[free]
        students = np.unique(self.pair_student)
        self.students = students
        n_schools = len(problem.school_ids)
        self.free_by_school = np.bincount(problem.school[students], minlength=n_schools)
        self.eligible_by_school = problem.eligible_by_school()
        first_student = FIRST_SCHOOL + n_schools
        first_offer = first_student + len(students)
        node = np.full(problem.n_students, -1, dtype=np.int64)
        node[students] = first_student + np.arange(len(students))
        n_offers = problem.n_offers
        self._tails = np.concatenate(
            [
                np.full(n_schools, SOURCE),
                FIRST_SCHOOL + problem.school[students],
                node[self.pair_student],
                first_offer + np.arange(n_offers),
                [SOURCE],
            ]
        ).astype(np.int32)
        self._heads = np.concatenate(
            [
                FIRST_SCHOOL + np.arange(n_schools),
                first_student + np.arange(len(students)),
                first_offer + self.pair_offer,
                np.full(n_offers, SINK),
                [SINK],
            ]
        ).astype(np.int32)
        self._student_arcs = n_schools + np.arange(len(students))
        self._pair_arcs = n_schools + len(students) + np.arange(len(self.pair_student))
        self._capacities = np.concatenate(
            [
                self.free_by_school,
                np.ones(len(students) + len(self.pair_student)),
                problem.residual_capacity(),
                [0],
            ]
        ).astype(np.int64)
        self._bypass = len(self._tails) - 1

    def lower_bounds(self, rate: Fraction) -> IntArray:
        """Return how many free students each school must place for its rate to reach `rate`."""
        needed = np.array(
            [math.ceil(rate * int(e)) for e in self.eligible_by_school], dtype=np.int64
        )
        lower: IntArray = np.maximum(0, needed - self.locked.school_placed)
        return lower

    def solve(
        self, rate: Fraction, limits: FairnessLimits, gender_cost: tuple[int, int, int] = (0, 0, 0)
    ) -> SchoolFlow | None:
        """Place students so that every school reaches `rate`, at least preference cost.

        `gender_cost` adds a small cost per placed student of each gender, to steer
        the gender counts among the flows of least preference cost (never at the
        expense of preference cost). Return None when no flow reaches the rate
        within the placement and preference-cost limits; gender is not checked.
        """
        lower = self.lower_bounds(rate)
        most = limits.max_placed - self.locked.placed
        fewest = max(0, limits.min_placed - self.locked.placed)
        if (lower > self.free_by_school).any() or int(lower.sum()) > most:
            return None
        steer = any(gender_cost)
        weight = len(self.students) + 1 if steer else 1
        costs = np.zeros(len(self._tails), dtype=np.int64)
        costs[self._pair_arcs] = self.pair_cost * weight
        if steer:
            costs[self._student_arcs] = np.array(gender_cost)[self.problem.gender[self.students]]
        capacities = self._capacities.copy()
        n_schools = len(self.free_by_school)
        capacities[:n_schools] -= lower
        capacities[self._bypass] = most - fewest
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(self._tails, self._heads, capacities, costs)
        supplies = np.zeros(FIRST_SCHOOL + n_schools, dtype=np.int64)
        supplies[SOURCE] = most - int(lower.sum())
        supplies[SINK] = -most
        supplies[FIRST_SCHOOL:] = lower
        solver.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
        status = solver.solve()
        if status == solver.INFEASIBLE:
            return None
        if status != solver.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed with status {status}")
        flows = np.asarray(solver.flows(np.arange(len(self._tails))), dtype=np.int64)
        found = SchoolFlow(self, flows)
        if limits.max_cost is not None and found.preference_cost > limits.max_cost:
            return None
        return found

    def balanced(self, rate: Fraction, limits: FairnessLimits) -> Assignment | None:
        """Look for an assignment reaching `rate` that also keeps the gender-gap limit.

        From the flow of least preference cost, pick the nearest gender vectors
        within the gap limit; for each, steer toward it with a flow of equal
        preference cost, split the difference of the two flows into cycles, and
        apply a subset of cycles that lands exactly on the vector. Every subset
        keeps the school rates and the preference cost (the cycles of the
        difference of two optimal flows cost nothing), so only the gender counts
        need aiming. None when no target is hit: that proves nothing.
        """
        start = self.solve(rate, limits)
        if start is None:
            return None
        if limits.max_gap is None or start.gap <= limits.max_gap:
            return start.assignment()
        fixed_total = limits.min_placed == limits.max_placed
        for target in self._targets(start, limits.max_gap)[:TARGETS_TRIED]:
            delta = target - start.placed_by_gender
            if not fixed_total:
                delta[X] = 0
            steer = tuple(int(-np.sign(d)) for d in delta)
            aimed = self.solve(rate, limits, (steer[0], steer[1], steer[2]))
            if aimed is None or aimed.preference_cost != start.preference_cost:
                continue
            cycles = start.cycles_to(aimed)
            chosen = choose_cycles(
                (int(delta[F]), int(delta[M])), [c.gender_change for c in cycles]
            )
            if chosen is not None:
                flows = start.flows.copy()
                for k in chosen:
                    for arc, sign in cycles[k].arcs:
                        flows[arc] += sign
                reached = SchoolFlow(self, flows)
                if reached.gap <= limits.max_gap:
                    return reached.assignment()
        return None

    def _targets(self, start: SchoolFlow, max_gap: int) -> list[IntArray]:
        """Gender vectors within the gap limit and start's total, nearest to start first."""
        e_f, e_m, _ = self.problem.eligible_by_gender()
        total = int(start.placed_by_gender.sum())
        targets = []
        for a in range(e_f + 1):
            low = -(-(a * e_m - max_gap) // e_f)
            high = (a * e_m + max_gap) // e_f
            for b in range(max(0, low), min(e_m, high, total - a) + 1):
                targets.append(np.array([a, b, total - a - b], dtype=np.int64))
        targets.sort(key=lambda v: (int(np.abs(v - start.placed_by_gender).sum()), v.tolist()))
        return targets


@dataclass(frozen=True)
class Cycle:
    """A cycle of the difference of two flows: (arc, +1/-1) steps, and placed (F, M) it adds."""

    arcs: tuple[tuple[int, int], ...]
    gender_change: tuple[int, int]


class SchoolFlow:
    """A flow of a SchoolNetwork, with what it means for the round."""

    def __init__(self, network: SchoolNetwork, flows: IntArray) -> None:
        self.network = network
        self.flows = flows
        placed = flows[network._student_arcs] > 0
        by_gender = np.bincount(
            network.problem.gender[network.students[placed]], minlength=3
        ) + np.array(network.locked.placed_by_gender)
        self.placed_by_gender = by_gender
        e_f, e_m, _ = network.problem.eligible_by_gender()
        self.signed_gap = int(by_gender[F]) * e_m - int(by_gender[M]) * e_f if e_f and e_m else 0
        used = flows[network._pair_arcs] > 0
        self.preference_cost = int(network.pair_cost[used].sum()) + network.locked.preference_cost

    @property
    def gap(self) -> int:
        return abs(self.signed_gap)

    def assignment(self) -> Assignment:
        network = self.network
        used = self.flows[network._pair_arcs] > 0
        assignment = network.problem.locked_assignment()
        assignment[network.pair_student[used]] = network.pair_offer[used]
        return assignment

    def cycles_to(self, other: SchoolFlow) -> list[Cycle]:
        """Split other − self into cycles that each follow the sign of the difference."""
        network = self.network
        difference = other.flows - self.flows
        out: dict[int, list[tuple[int, int, int]]] = {}
        for changed in np.flatnonzero(difference).tolist():
            sign = 1 if difference[changed] > 0 else -1
            tail, head = int(network._tails[changed]), int(network._heads[changed])
            if sign < 0:
                tail, head = head, tail
            for _ in range(abs(int(difference[changed]))):
                out.setdefault(tail, []).append((head, changed, sign))
        student_gender = dict(
            zip(
                network._student_arcs.tolist(),
                network.problem.gender[network.students].tolist(),
                strict=True,
            )
        )
        cycles: list[Cycle] = []
        for first in [int(node) for node in out]:
            while out.get(first):
                path: list[tuple[int, int, int]] = []
                position = {first: 0}
                node: int = first
                while True:
                    head, arc, sign = out[node].pop()
                    path.append((node, arc, sign))
                    if head in position:
                        loop = path[position[head] :]
                        del path[position[head] :]
                        for step in loop:
                            position.pop(step[0], None)
                        genders = [(student_gender.get(arc, -1), sign) for _, arc, sign in loop]
                        change = (
                            sum(sign for g, sign in genders if g == F),
                            sum(sign for g, sign in genders if g == M),
                        )
                        cycles.append(Cycle(tuple((a, s) for _, a, s in loop), change))
                        if not path:
                            break
                        node = head
                        position[head] = len(path)
                        continue
                    position[head] = len(path)
                    node = head
        return cycles


def choose_cycles(
    wanted: tuple[int, int], changes: list[tuple[int, int]], budget: int = 100_000
) -> list[int] | None:
    """Pick cycles whose (F, M) changes add up to `wanted` exactly; None if none found.

    Cycles are grouped by their change; how many of each group to take is
    searched depth-first, most numerous groups first, pruned by the box the
    remaining groups can still reach, within a budget of steps.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for k, change in enumerate(changes):
        if change != (0, 0):
            groups.setdefault(change, []).append(k)
    kinds = sorted(groups, key=lambda c: (-len(groups[c]), c))
    # reach[i] = (min F, max F, min M, max M) the groups from i on can add.
    reach = [(0, 0, 0, 0)] * (len(kinds) + 1)
    for i in range(len(kinds) - 1, -1, -1):
        (df, dm), n = kinds[i], len(groups[kinds[i]])
        lo_f, hi_f, lo_m, hi_m = reach[i + 1]
        reach[i] = (
            lo_f + min(0, df * n),
            hi_f + max(0, df * n),
            lo_m + min(0, dm * n),
            hi_m + max(0, dm * n),
        )
    steps = 0

    def search(i: int, need_f: int, need_m: int) -> list[int] | None:
        nonlocal steps
        if need_f == 0 and need_m == 0:
            return []
        lo_f, hi_f, lo_m, hi_m = reach[i]
        if i == len(kinds) or not (lo_f <= need_f <= hi_f and lo_m <= need_m <= hi_m):
            return None
        (df, dm), members = kinds[i], groups[kinds[i]]
        for n in range(len(members) + 1):
            steps += 1
            if steps > budget:
                return None
            rest = search(i + 1, need_f - n * df, need_m - n * dm)
            if rest is not None:
                return members[:n] + rest
        return None

    return search(0, *wanted)


def candidate_rates(eligible_by_school: IntArray) -> list[Fraction]:
    """Every value the lowest school rate can take, in increasing order."""
    rates = {
        Fraction(p, int(e)) for e in set(eligible_by_school.tolist()) if e > 0 for p in range(e + 1)
    }
    return sorted(rates) or [Fraction(1)]


def highest(rates: list[Fraction], feasible: Callable[[Fraction], bool]) -> int:
    """Return the index of the highest rate for which a monotone test holds (rates[0] must hold)."""
    lo, hi = 0, len(rates) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if feasible(rates[mid]):
            lo = mid
        else:
            hi = mid - 1
    return lo
