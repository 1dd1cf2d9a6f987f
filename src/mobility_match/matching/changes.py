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
from dataclasses import dataclass, replace

import numpy as np

from mobility_match.matching.pairs import IntArray, SomeInts
from mobility_match.matching.policy import Policy
from mobility_match.matching.problem import UNPLACED, Assignment, Problem
from mobility_match.matching.stages import Stage

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


def change_weights(before: IntArray, student: SomeInts, offer: SomeInts) -> IntArray:
    """Per pair: how choosing it moves the count of changes, from its student left unplaced.

    A student can take at most one pair, so the count of an assignment is the
    count with every free student unplaced plus the weights of the pairs chosen:
    +1 for a student unplaced before, -1 for its previous offer, 0 otherwise
    (so 0 for students ABSENT, and GONE, whatever the offer).
    """
    was = before[student]
    weight: IntArray = (offer != was).astype(np.int64) - (was != UNPLACED).astype(np.int64)
    return weight


@dataclass(frozen=True)
class FlowCost:
    """What the flows of a round minimise per pair: the preference cost, and on a re-run
    the changes first.

    On a re-run each pair costs `per_change` times its change weight plus its
    preference cost, `per_change` being more than any assignment's preference
    cost: a least-cost flow has the fewest changes, then the least preference
    cost among those, and a bound on the cost bounds both (placements, then
    changes, then preferences, as a single min-cost max-flow).
    """

    pair: SomeInts
    """Per pair of `problem.pairs`."""
    per_change: int
    """0 when not re-running."""
    before: IntArray | None

    def of(self, problem: Problem, assignment: Assignment) -> int:
        """The cost of a full assignment, locked students included."""
        cost = problem.preference_cost(assignment)
        if self.before is not None:
            cost += self.per_change * count_changes(self.before, assignment)
        return cost

    def limit(self, changes: int | None, preference_cost: int | None) -> int | None:
        """The highest cost of an assignment with at most `changes` changes (None: not a
        re-run) and a preference cost of at most `preference_cost` (None: any); None when
        neither is limited."""
        if self.before is None or changes is None:
            return preference_cost
        most = self.per_change - 1  # no assignment costs more in preferences
        within = most if preference_cost is None else min(preference_cost, most)
        return self.per_change * changes + within


def flow_cost(problem: Problem, before: IntArray | None) -> FlowCost:
    """The pairs' costs for the flows: changes weigh more than every preference cost together."""
    pairs = problem.pairs
    if before is None:
        return FlowCost(pairs.cost, 0, None)
    per_change = int(pairs.cost.max(initial=0)) * problem.n_students + 1
    weights = change_weights(before, pairs.student, pairs.offer)
    return FlowCost(pairs.cost + per_change * weights, per_change, before)


def with_changes_stage(policy: Policy) -> Policy:
    """The policy with `changes` right after `placements`, or first without placements."""
    stages: list[Stage] = [s for s in policy.stages if s != Stage.CHANGES]
    at = stages.index(Stage.PLACEMENTS) + 1 if Stage.PLACEMENTS in stages else 0
    stages.insert(at, Stage.CHANGES)
    return replace(policy, stages=tuple(stages))
