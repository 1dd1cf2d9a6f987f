"""Swaps of one gender for another by max-flows, the first step of each leg of the walk.

Where an earlier stage fixed the gender counts, school fairness looks for an
assignment reaching a rate with exactly those counts. Before a steered min-cost
flow, each leg of SchoolNetwork.balanced tries a max-flow in the residual network
of where it stands, open only to placing the gender wanted more and unplacing the
one wanted less (SchoolNetwork._swapped): several times faster, and where it lands
no steered flow is needed. What it gives must still be an assignment the stage
allows: acceptable pairs, places, every school at the rate, the same total and
preference cost, the genders moved only as the swap says.
"""

from __future__ import annotations

import numpy as np
import pytest

from mobility_match.matching.changes import flow_cost
from mobility_match.matching.fairness import gender_swaps
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.problem import measure
from tests.test_fairness_steered import STEERS, SteeredCase, steered_case, top_rates


def test_gender_swaps_split_a_change_of_counts_into_swaps() -> None:
    """Each swap adds to one gender what it takes from another; together, the change."""
    for delta in ([-10, 8, 2], [5, -3, -2], [0, 4, -4], [0, 0, 0]):
        swaps = gender_swaps(np.array(delta))
        assert sum((s.tolist() for s in swaps), start=np.zeros(3, dtype=np.int64)).tolist() == delta
        for swap in swaps:
            assert swap.sum() == 0
            assert np.count_nonzero(swap) == 2


def least_cost(case: SteeredCase) -> int:
    """The least preference cost of an assignment with the case's counts and most placed."""
    problem = case.network.problem
    assert case.limits.counts is not None
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    free = tuple(c - k for c, k in zip(case.limits.counts, locked, strict=True))
    found = FlowNetwork(problem, flow_cost(problem, None).pair).min_cost(sum(free), free)
    assert found is not None
    return measure(problem, found[1]).preference_cost


@pytest.mark.parametrize("seed", [0, 2, 3, 5])
def test_a_swap_keeps_every_limit_but_the_genders_it_moves(seed: int) -> None:
    """From a flow at each of the highest rates, toward the counts the case fixes."""
    landed = swapped_some = 0
    for edge in STEERS[:3:2]:
        case = steered_case(seed, edge)
        network, limits = case.network, case.limits
        assert limits.counts is not None
        problem = network.problem
        for rate in top_rates(case, 12):
            start = network.solve(rate, limits)
            assert start is not None
            current = start
            for swap in gender_swaps(np.array(limits.counts) - start.placed_by_gender):
                found = network._swapped(rate, limits, current, swap)
                if found is None:
                    continue
                swapped_some += 1
                moved = found.placed_by_gender - current.placed_by_gender
                taker, giver = int(np.argmax(swap)), int(np.argmin(swap))
                assert 0 < moved[taker] <= swap[taker]
                assert moved[giver] == -moved[taker]
                assert np.count_nonzero(moved) == 2
                assignment = found.assignment()
                placed = np.flatnonzero(assignment >= 0)
                pairs = set(
                    zip(problem.pairs.student.tolist(), problem.pairs.offer.tolist(), strict=True)
                )
                locked = problem.locked >= 0
                assert all((s, int(assignment[s])) in pairs or locked[s] for s in placed.tolist())
                taken = np.bincount(assignment[placed], minlength=len(problem.capacity))
                assert (taken <= problem.capacity).all()
                reached = measure(problem, assignment)
                assert reached.min_school_rate >= rate
                assert reached.placed == measure(problem, start.assignment()).placed
                current = found
            if tuple(current.placed_by_gender) == limits.counts:
                # On the counts, the network's flows are the least-cost ones.
                reached = measure(problem, current.assignment())
                assert reached.preference_cost == least_cost(case)
                landed += 1
    assert swapped_some > 0
    assert landed > 0
