"""The arcs every flow model of a round shares: source → group → student → offer → sink.

Groups are genders for the placement and preference stages (flows.py) and
schools for school fairness (fairness.py); students are those without a lock
that have an acceptable offer. Arc capacities are one per student and per pair,
the places left after locks per offer, and each group's number of students.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mobility_match.matching.pairs import IntArray, PairArray, SomeInts
from mobility_match.matching.problem import Assignment, Problem

SOURCE, SINK, FIRST_GROUP = 0, 1, 2

ArcArray = npt.NDArray[np.int32]
"""Arc indexes, as OR-tools' network solvers take them."""


@dataclass(frozen=True)
class Layout:
    """Parallel arc arrays, and where each kind of arc sits in them."""

    students: PairArray
    """The students of the network, by index in the round."""
    pair_student: PairArray
    pair_offer: PairArray
    pair_cost: SomeInts
    tails: npt.NDArray[np.int32]
    heads: npt.NDArray[np.int32]
    capacities: npt.NDArray[np.int32]
    """OR-tools takes 64 bits and converts these while it copies them."""
    group_arcs: ArcArray
    student_arcs: ArcArray
    pair_arcs: ArcArray
    offer_arcs: ArcArray
    """Where each kind of arc sits: consecutive runs, in the order above."""
    n_nodes: int

    @property
    def pair_slice(self) -> slice:
        """The pair arcs as a slice (they are consecutive): a view where indexes would copy."""
        first = len(self.group_arcs) + len(self.student_arcs)
        return slice(first, first + len(self.pair_arcs))

    def costs(self) -> IntArray:
        """Per arc: the pair's cost (preference, or the cost given) on pair arcs, 0 elsewhere.

        Built when a solver or a proof needs it, not kept: at 20 million pairs, 160 MB.
        """
        costs = np.zeros(len(self.tails), dtype=np.int64)
        costs[self.pair_slice] = self.pair_cost
        return costs

    @property
    def bypass_arc(self) -> int:
        """The source → sink arc of a layout made with `bypass` (the last arc)."""
        return len(self.tails) - 1

    def assignment(self, problem: Problem, pair_flows: npt.ArrayLike) -> Assignment:
        """Turn flows on the pair arcs into an assignment, locked students included."""
        assignment = problem.locked_assignment()
        used = np.asarray(pair_flows) > 0
        assignment[self.pair_student[used]] = self.pair_offer[used]
        return assignment


def layout(
    problem: Problem,
    group: IntArray,
    n_groups: int,
    cost: IntArray | None = None,
    *,
    bypass: bool = False,
) -> Layout:
    """Lay out the network with students grouped by `group` (one entry per student).

    `cost` (per pair of `problem.pairs`) replaces the preference cost on pair arcs,
    e.g. with the changes of a re-run first (changes.FlowCost). With `bypass`, one
    more arc, source → sink of capacity 0, comes last (`bypass_arc`).

    A round of 50,000 students may have 20 million pairs: the pair arrays are the
    problem's own when no student is locked (views, not copies), and the arc arrays
    are filled in place in their final types, with no wider temporary.
    """
    free = problem.free_pair_mask()
    pairs = problem.pairs
    pair_cost_all = pairs.cost if cost is None else cost
    if free.all():
        pair_student, pair_offer, pair_cost = pairs.student, pairs.offer, pair_cost_all
    else:
        pair_student, pair_offer = pairs.student[free], pairs.offer[free]
        pair_cost = pair_cost_all[free]
    del free
    students = np.unique(pair_student)
    n_students, n_pairs, n_offers = len(students), len(pair_student), problem.n_offers
    first_student = FIRST_GROUP + n_groups
    first_offer = first_student + n_students
    node = np.full(problem.n_students, -1, dtype=np.int32)
    node[students] = first_student + np.arange(n_students, dtype=np.int32)
    # Arcs in order: source → group, group → student, student → offer, offer → sink.
    first_student_arc = n_groups
    first_pair_arc = first_student_arc + n_students
    first_offer_arc = first_pair_arc + n_pairs
    n_arcs = first_offer_arc + n_offers + int(bypass)
    tails = np.empty(n_arcs, dtype=np.int32)
    heads = np.empty(n_arcs, dtype=np.int32)
    tails[:first_student_arc] = SOURCE
    heads[:first_student_arc] = FIRST_GROUP + np.arange(n_groups)
    tails[first_student_arc:first_pair_arc] = FIRST_GROUP + group[students]
    heads[first_student_arc:first_pair_arc] = first_student + np.arange(n_students)
    np.take(node, pair_student, out=tails[first_pair_arc:first_offer_arc])
    np.add(pair_offer, first_offer, out=heads[first_pair_arc:first_offer_arc], casting="unsafe")
    tails[first_offer_arc : first_offer_arc + n_offers] = first_offer + np.arange(n_offers)
    heads[first_offer_arc : first_offer_arc + n_offers] = SINK
    capacities = np.ones(n_arcs, dtype=np.int32)
    capacities[:first_student_arc] = np.bincount(group[students], minlength=n_groups)
    capacities[first_offer_arc : first_offer_arc + n_offers] = problem.residual_capacity()
    if bypass:
        tails[-1], heads[-1], capacities[-1] = SOURCE, SINK, 0
    return Layout(
        students=students,
        pair_student=pair_student,
        pair_offer=pair_offer,
        pair_cost=pair_cost,
        tails=tails,
        heads=heads,
        capacities=capacities,
        group_arcs=np.arange(n_groups, dtype=np.int32),
        student_arcs=np.arange(first_student_arc, first_pair_arc, dtype=np.int32),
        pair_arcs=np.arange(first_pair_arc, first_offer_arc, dtype=np.int32),
        offer_arcs=np.arange(first_offer_arc, first_offer_arc + n_offers, dtype=np.int32),
        n_nodes=first_offer + n_offers,
    )
