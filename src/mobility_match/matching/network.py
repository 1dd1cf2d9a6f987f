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

from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import Assignment, Problem

SOURCE, SINK, FIRST_GROUP = 0, 1, 2


@dataclass(frozen=True)
class Layout:
    """Parallel arc arrays, and where each kind of arc sits in them."""

    students: IntArray
    """The students of the network, by index in the round."""
    pair_student: IntArray
    pair_offer: IntArray
    pair_cost: IntArray
    tails: npt.NDArray[np.int32]
    heads: npt.NDArray[np.int32]
    capacities: IntArray
    costs: IntArray
    """Preference cost (or the cost given) on pair arcs, 0 elsewhere."""
    group_arcs: IntArray
    student_arcs: IntArray
    pair_arcs: IntArray
    offer_arcs: IntArray
    n_nodes: int

    def assignment(self, problem: Problem, pair_flows: npt.ArrayLike) -> Assignment:
        """Turn flows on the pair arcs into an assignment, locked students included."""
        assignment = problem.locked_assignment()
        used = np.asarray(pair_flows) > 0
        assignment[self.pair_student[used]] = self.pair_offer[used]
        return assignment


def layout(
    problem: Problem, group: IntArray, n_groups: int, cost: IntArray | None = None
) -> Layout:
    """Lay out the network with students grouped by `group` (one entry per student).

    `cost` (per pair of `problem.pairs`) replaces the preference cost on pair arcs,
    e.g. with the changes of a re-run first (changes.FlowCost).
    """
    free = problem.free_pair_mask()
    pair_student = problem.pairs.student[free]
    pair_offer = problem.pairs.offer[free]
    pair_cost = (problem.pairs.cost if cost is None else cost)[free]
    students = np.unique(pair_student)
    n_students, n_pairs, n_offers = len(students), len(pair_student), problem.n_offers
    first_student = FIRST_GROUP + n_groups
    first_offer = first_student + n_students
    node = np.full(problem.n_students, -1, dtype=np.int64)
    node[students] = first_student + np.arange(n_students)
    tails = np.concatenate(
        [
            np.full(n_groups, SOURCE),
            FIRST_GROUP + group[students],
            node[pair_student],
            first_offer + np.arange(n_offers),
        ]
    ).astype(np.int32)
    heads = np.concatenate(
        [
            FIRST_GROUP + np.arange(n_groups),
            first_student + np.arange(n_students),
            first_offer + pair_offer,
            np.full(n_offers, SINK),
        ]
    ).astype(np.int32)
    capacities = np.concatenate(
        [
            np.bincount(group[students], minlength=n_groups),
            np.ones(n_students + n_pairs),
            problem.residual_capacity(),
        ]
    ).astype(np.int64)
    costs = np.concatenate([np.zeros(n_groups + n_students), pair_cost, np.zeros(n_offers)]).astype(
        np.int64
    )
    first_pair_arc = n_groups + n_students
    return Layout(
        students=students,
        pair_student=pair_student,
        pair_offer=pair_offer,
        pair_cost=pair_cost,
        tails=tails,
        heads=heads,
        capacities=capacities,
        costs=costs,
        group_arcs=np.arange(n_groups),
        student_arcs=np.arange(n_groups, first_pair_arc),
        pair_arcs=np.arange(first_pair_arc, first_pair_arc + n_pairs),
        offer_arcs=first_pair_arc + n_pairs + np.arange(n_offers),
        n_nodes=first_offer + n_offers,
    )
