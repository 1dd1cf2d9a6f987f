"""The round as a network flow, for the stages that are flows.

source → gender node (F, M, X) → student → offer → sink, every arc of capacity
one but gender → student (the gender's count) and offer → sink (the places left
after locks). Only students without a lock take part; locked students are
counted by the caller. Max-flow gives the most placements for any cap on each
gender's count; min-cost flow gives the smallest preference cost for exact
counts. Both are OR-tools' network solvers, exact and deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import max_flow, min_cost_flow

from mobility_match.matching.network import FIRST_GROUP, SINK, SOURCE, layout
from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import Assignment, Problem


@dataclass(frozen=True)
class Admissible:
    """Where flow may go in an assignment of least preference cost for given gender counts.

    From optimal potentials (node prices), an arc of positive reduced cost
    carries nothing in every least-cost flow, one of negative reduced cost is
    full in every one, and only arcs of zero reduced cost are free. So the
    assignments of least cost for those gender counts are exactly the flows of
    the network cut down this way that keep the counts: no cost constraint left.
    Masks are over `problem.pairs`, students and offers.
    """

    counts: tuple[int, int, int]
    pair_allowed: npt.NDArray[np.bool_]
    pair_forced: npt.NDArray[np.bool_]
    student_forced: npt.NDArray[np.bool_]
    student_forbidden: npt.NDArray[np.bool_]
    offer_full: npt.NDArray[np.bool_]
    offer_empty: npt.NDArray[np.bool_]


class FlowNetwork:
    """One network for a problem, built once and re-solved with other gender caps."""

    def __init__(self, problem: Problem, cost: IntArray | None = None) -> None:
        """`cost` per pair replaces the preference cost in min-cost flows (changes.FlowCost)."""
        self.problem = problem
        arcs = layout(problem, problem.gender, 3, cost)
        self.layout = arcs
        self.students = arcs.students
        self.pair_student, self.pair_offer = arcs.pair_student, arcs.pair_offer
        self.tails, self.heads = arcs.tails, arcs.heads
        self.capacities = arcs.capacities
        self.group_arcs, self.student_arcs = arcs.group_arcs, arcs.student_arcs
        self.pair_arcs, self.offer_arcs = arcs.pair_arcs, arcs.offer_arcs
        self._max_flow: max_flow.SimpleMaxFlow | None = None
        self._min_cost: min_cost_flow.SimpleMinCostFlow | None = None

    @property
    def free_students(self) -> int:
        """Students without a lock that have at least one acceptable offer."""
        return len(self.students)

    def _assignment(self, flows: Sequence[int] | np.ndarray) -> Assignment:
        return self.layout.assignment(self.problem, flows)

    def _group_caps(self, caps: tuple[int, int, int] | None) -> np.ndarray:
        if caps is None:
            return np.full(3, self.free_students, dtype=np.int64)
        return np.array(caps, dtype=np.int64)

    def release(self) -> None:
        """Free the solvers kept for re-solving; the next solve builds its solver again.

        Each holds every arc of the round: only one is kept at a time, and none once
        the stages of this network are over.
        """
        self._max_flow = None
        self._min_cost = None

    def max_placements(self, caps: tuple[int, int, int] | None = None) -> tuple[int, Assignment]:
        """Place as many free students as possible with at most caps[g] of gender g."""
        most = self.max_placed(caps)
        assert self._max_flow is not None
        return most, self._assignment(self._max_flow.flows(self.pair_arcs))

    def max_placed(self, caps: tuple[int, int, int] | None = None) -> int:
        """How many free students can be placed with at most caps[g] of gender g."""
        if self._max_flow is None:
            self.release()  # one solver of all the pairs at a time: at 20 million, 1.5 GB each
            self._max_flow = max_flow.SimpleMaxFlow()
            self._max_flow.add_arcs_with_capacity(self.tails, self.heads, self.capacities)
        solver = self._max_flow
        solver.set_arcs_capacity(self.group_arcs, self._group_caps(caps))
        status = solver.solve(SOURCE, SINK)
        if status != solver.OPTIMAL:
            raise RuntimeError(f"max-flow failed with status {status}")
        return int(solver.optimal_flow())

    def min_cost(
        self, total: int, caps: tuple[int, int, int] | None = None, fewest: int | None = None
    ) -> tuple[int, Assignment] | None:
        """Place exactly `total` free students (at most caps[g] of gender g) at least cost;
        with `fewest`, any number from `fewest` to `total`, at least cost over them all.

        Return None when no assignment places that many within the caps.
        """
        if self._min_cost is None:
            self.release()
            self._min_cost = min_cost_flow.SimpleMinCostFlow()
            self._min_cost.add_arcs_with_capacity_and_unit_cost(
                self.tails, self.heads, self.capacities, self.layout.costs()
            )
            # Last, source → sink: what `fewest` lets go unplaced.
            self._min_cost.add_arc_with_capacity_and_unit_cost(SOURCE, SINK, 0, 0)
        solver = self._min_cost
        for arc, cap in zip(self.group_arcs, self._group_caps(caps), strict=True):
            solver.set_arc_capacity(int(arc), int(cap))
        solver.set_arc_capacity(len(self.tails), 0 if fewest is None else total - fewest)
        solver.set_node_supply(SOURCE, total)
        solver.set_node_supply(SINK, -total)
        status = solver.solve()
        if status == solver.INFEASIBLE:
            return None
        if status != solver.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed with status {status}")
        flows = solver.flows(self.pair_arcs)
        return int(solver.optimal_cost()), self._assignment(flows)

    def least_weight_ranks(
        self, total: int, weight: IntArray, fewest: int | None = None
    ) -> tuple[dict[frozenset[int], int], dict[frozenset[int], int] | None]:
        """The ranks r(A) and, with `fewest`, the floors f(A) of every set A of genders: the
        most and the fewest free placements among the genders of A over the flows of
        `total` placements (`fewest` to `total` with `fewest`) whose weight is least.

        The (F, M, X, unplaced) vectors of those flows minimise an M-convex function
        (the least weight for given counts), so they form an M-convex set, and their
        (F, M, X) vectors a g-polymatroid, which these ranks and floors describe
        exactly (balance.GenderPolytope). Each is one min-cost flow in which the weight
        counts more than every placement together and a placement in A earns one (or,
        for a floor, costs one): a second arc source → gender of that cost is opened
        for the genders of A instead of the free one. Without `fewest` the floors
        follow from the ranks.
        """
        self.release()
        n_groups = len(self.group_arcs)
        sizes = self.capacities[self.group_arcs]
        tails = np.concatenate([self.tails, np.full(n_groups + 1, SOURCE, dtype=np.int32)])
        heads = np.concatenate(
            [self.heads, FIRST_GROUP + np.arange(n_groups, dtype=np.int32), [np.int32(SINK)]]
        )
        costs = np.zeros(len(tails), dtype=np.int64)
        costs[self.pair_arcs] = weight * (total + 1)
        extra = len(self.tails) + np.arange(n_groups)
        bypass = len(tails) - 1
        capacities = np.concatenate([self.capacities, sizes, [0]])
        capacities[bypass] = 0 if fewest is None else total - fewest
        ranks: dict[frozenset[int], int] = {frozenset(): 0}
        floors: dict[frozenset[int], int] = {frozenset(): 0}
        for sign, found in ((-1, ranks), (1, floors)):
            if sign > 0 and fewest is None:
                return ranks, None
            costs[extra] = sign
            solver = min_cost_flow.SimpleMinCostFlow()
            solver.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
            solver.set_node_supply(SOURCE, total)
            solver.set_node_supply(SINK, -total)
            for size in (1, 2, 3):
                for groups in itertools.combinations(range(n_groups), size):
                    chosen = np.isin(np.arange(n_groups), groups)
                    solver.set_arc_capacities(self.group_arcs, np.where(chosen, 0, sizes))
                    solver.set_arc_capacities(extra, np.where(chosen, sizes, 0))
                    status = solver.solve()
                    if status != solver.OPTIMAL:
                        raise RuntimeError(f"min-cost flow failed with status {status}")
                    found[frozenset(groups)] = int(np.sum(solver.flows(extra)))
        return ranks, floors

    def admissible(
        self, counts: tuple[int, int, int], solved: Assignment | None = None
    ) -> Admissible:
        """Return the arcs least-cost flows use with exactly `counts` free placements by gender.

        `solved` is what min_cost(sum(counts), counts) returned, if it was called: its
        flow is then read off the assignment instead of being solved again (the
        solver gives the same flow for the same network every time).
        """
        if solved is None:
            found = self.min_cost(sum(counts), counts)
            if found is None:
                raise ValueError(f"no assignment places {counts} students by gender")
            solved = found[1]
        flows = self._arc_flows(solved)
        capacities = self.capacities.copy()
        capacities[self.group_arcs] = counts
        reduced = self._reduced_costs(flows, capacities)
        problem = self.problem
        free = np.flatnonzero(problem.free_pair_mask())
        pair_allowed = np.zeros(len(problem.pairs), dtype=bool)
        pair_forced = np.zeros(len(problem.pairs), dtype=bool)
        pair_allowed[free] = reduced[self.pair_arcs] <= 0
        pair_forced[free] = reduced[self.pair_arcs] < 0
        student_arcs = self.student_arcs
        student_forced = np.zeros(problem.n_students, dtype=bool)
        student_forbidden = np.zeros(problem.n_students, dtype=bool)
        student_forced[self.students] = reduced[student_arcs] < 0
        student_forbidden[self.students] = reduced[student_arcs] > 0
        offer_arcs = self.offer_arcs
        return Admissible(
            counts=counts,
            pair_allowed=pair_allowed,
            pair_forced=pair_forced,
            student_forced=student_forced,
            student_forbidden=student_forbidden,
            offer_full=reduced[offer_arcs] < 0,
            offer_empty=reduced[offer_arcs] > 0,
        )

    def _arc_flows(self, assignment: Assignment) -> npt.NDArray[np.int64]:
        """The flow on every arc of the flow that gave `assignment` (but source → sink).

        Pair arcs carry the pairs used; every other arc what its node passes on.
        """
        used = assignment[self.pair_student] == self.pair_offer
        placed = assignment[self.students] >= 0
        flows = np.zeros(len(self.tails), dtype=np.int64)
        flows[self.pair_arcs] = used
        flows[self.student_arcs] = placed
        flows[self.offer_arcs] = np.bincount(self.pair_offer[used], minlength=self.problem.n_offers)
        flows[self.group_arcs] = np.bincount(
            self.problem.gender[self.students[placed]], minlength=len(self.group_arcs)
        )
        return flows

    def _reduced_costs(
        self, flows: npt.NDArray[np.int64], capacities: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int64]:
        """Reduced costs of every arc under potentials that prove `flows` optimal.

        The potentials are shortest-path distances in the residual network from a
        virtual node joined to every node at cost 0 (Bellman-Ford, vectorised;
        an optimal flow leaves no negative cycle, so it ends).
        """
        tails, heads, costs = self.tails, self.heads, self.layout.costs()
        forward, backward = flows < capacities, flows > 0
        start = np.concatenate([tails[forward], heads[backward]])
        end = np.concatenate([heads[forward], tails[backward]])
        length = np.concatenate([costs[forward], -costs[backward]])
        distance = np.zeros(
            int(max(tails.max(initial=0), heads.max(initial=0))) + 1, dtype=np.int64
        )
        for _ in range(len(distance) + 1):
            relaxed = distance.copy()
            np.minimum.at(relaxed, end, distance[start] + length)
            if (relaxed == distance).all():
                break
            distance = relaxed
        else:
            raise RuntimeError("potentials did not converge: the flow is not optimal")
        reduced: npt.NDArray[np.int64] = costs + distance[tails] - distance[heads]
        return reduced
