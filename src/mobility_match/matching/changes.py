"""Re-running a round: as few changes as possible from the assignment published before.

When an offer is withdrawn or a student added after publication, coordinators
re-run the round, and must not see half the placements move for one withdrawal.
So solve_round, given the previous assignment, adds a stage `changes` right
after `placements`: the number of students of the previous assignment whose
outcome differs now (on another offer, unplaced, or newly placed), minimised.
Students absent from the previous assignment never count; one whose previous
offer left the round counts whatever happens, since nobody can keep it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from mobility_match.matching.pairs import IntArray
from mobility_match.matching.policy import CHANGES, Policy
from mobility_match.matching.problem import UNPLACED, Assignment, Problem

ABSENT = -3
"""In a previous-offer array: the student was not in the previous assignment."""
GONE = -4
"""In a previous-offer array: the student's previous offer is no longer in the round."""


def previous_offers(problem: Problem, previous: Mapping[str, str | None]) -> IntArray:
    """Per student: the index of its previous offer, UNPLACED, GONE or ABSENT.

    Ids of students no longer in the round are ignored.
    """
    offer_index = {o.offer_id: j for j, o in enumerate(problem.round_input.offers)}
    before = np.full(problem.n_students, ABSENT, dtype=np.int64)
    for i, student in enumerate(problem.round_input.students):
        if student.student_id in previous:
            offer_id = previous[student.student_id]
            before[i] = UNPLACED if offer_id is None else offer_index.get(offer_id, GONE)
    return before


def count_changes(before: IntArray, assignment: Assignment) -> int:
    """Count the students present before whose offer (or absence of one) differs now."""
    counted = before != ABSENT
    return int(np.count_nonzero(assignment[counted] != before[counted]))


def change_weights(before: IntArray, student: IntArray, offer: IntArray) -> IntArray:
    """Per pair: how choosing it moves the count of changes, from its student left unplaced.

    A student can take at most one pair, so the count of an assignment is the
    count with every free student unplaced plus the weights of the pairs chosen:
    +1 for a student unplaced before, -1 for its previous offer, 0 otherwise
    (so 0 for students ABSENT, and GONE, whatever the offer).
    """
    was = before[student]
    weight: IntArray = (offer != was).astype(np.int64) - (was != UNPLACED).astype(np.int64)
    return weight


def previous_hint(problem: Problem, before: IntArray) -> Assignment:
    """The previous assignment where it still holds, as a starting point for CP-SAT.

    Locks first, as they are; then each unlocked student keeps its previous offer
    if the pair is still acceptable and the offer has a place left, in student order.
    """
    hint = problem.locked_assignment()
    left = problem.residual_capacity().copy()
    pairs = problem.pairs
    kept = problem.free_pair_mask() & (before[pairs.student] == pairs.offer)
    for i, j in zip(pairs.student[kept].tolist(), pairs.offer[kept].tolist(), strict=True):
        if left[j] > 0:
            hint[i] = j
            left[j] -= 1
    return hint


def with_changes_stage(policy: Policy) -> Policy:
    """The policy with `changes` right after `placements`, or first without placements."""
    stages = [s for s in policy.stages if s != CHANGES]
    at = stages.index("placements") + 1 if "placements" in stages else 0
    stages.insert(at, CHANGES)
    return replace(policy, stages=tuple(stages))
