"""School fairness by max-flows alone: moves between schools, and swaps of genders.

Where an earlier stage fixed the gender counts, school fairness looks for an
assignment reaching a rate with exactly those counts. Max-flows in the residual
network of where it stands, several times faster than a steered min-cost flow, do
it most often: from the assignment so far, which keeps the counts, students of
each gender move from schools above their floor to schools below it
(SchoolNetwork.lifted); and before a steered min-cost flow, each leg of the walk
swaps the gender wanted more for the one wanted less (SchoolNetwork._swapped);
a lift that such a swap leaves short goes by way of the third gender
(SchoolNetwork._swapped_to). What they give must still be an assignment the
stage allows: acceptable pairs, places, every school at the rate, the same total
and the least preference cost, the genders moved only as a swap says.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mobility_match.matching.changes import flow_cost
from mobility_match.matching.fairness import SchoolFlow, gender_swaps
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.problem import Assignment, Problem, measure
from tests.test_fairness_steered import STEERS, SteeredCase, steered_case, top_rates


def test_gender_swaps_split_a_change_of_counts_into_swaps() -> None:
    """Each swap adds to one gender what it takes from another; together, the change."""
    for delta in ([-10, 8, 2], [5, -3, -2], [0, 4, -4], [0, 0, 0]):
        swaps = gender_swaps(np.array(delta))
        assert sum((s.tolist() for s in swaps), start=np.zeros(3, dtype=np.int64)).tolist() == delta
        for swap in swaps:
            assert swap.sum() == 0
            assert np.count_nonzero(swap) == 2


def least_cost(case: SteeredCase) -> Assignment:
    """An assignment of the case's counts and most placed at least preference cost."""
    problem = case.network.problem
    assert case.limits.counts is not None
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    free = tuple(c - k for c, k in zip(case.limits.counts, locked, strict=True))
    found = FlowNetwork(problem, flow_cost(problem, None).pair).min_cost(sum(free), free)
    assert found is not None
    return found[1]


def assert_allowed(problem: Problem, assignment: Assignment, rate: Fraction) -> None:
    """Acceptable pairs (or locks), places kept, every school at `rate` at least."""
    placed = np.flatnonzero(assignment >= 0)
    pairs = set(zip(problem.pairs.student.tolist(), problem.pairs.offer.tolist(), strict=True))
    locked = problem.locked >= 0
    assert all((s, int(assignment[s])) in pairs or locked[s] for s in placed.tolist())
    taken = np.bincount(assignment[placed], minlength=len(problem.capacity))
    assert (taken <= problem.capacity).all()
    assert measure(problem, assignment).min_school_rate >= rate


@pytest.mark.parametrize("seed", [0, 2, 3, 5])
def test_a_swap_keeps_every_limit_but_the_genders_it_moves(seed: int) -> None:
    """From a flow at each of the highest rates, toward the counts the case fixes."""
    landed = swapped_some = 0
    for edge in STEERS[:3:2]:
        case = steered_case(seed, edge)
        network, limits = case.network, case.limits
        assert limits.counts is not None
        problem = network.problem
        least = least_cost(case)
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
                assert_allowed(problem, assignment, rate)
                reached = measure(problem, assignment)
                assert reached.placed == measure(problem, start.assignment()).placed
                current = found
            if tuple(current.placed_by_gender) == limits.counts:
                # On the counts, the network's flows are the least-cost ones.
                reached = measure(problem, current.assignment())
                assert reached.preference_cost == measure(problem, least).preference_cost
                landed += 1
    assert swapped_some > 0
    assert landed > 0


@pytest.mark.parametrize("seed", [0, 2, 3, 5])
def test_moves_between_schools_lift_the_least_cost_assignment_with_its_counts(seed: int) -> None:
    """From the least-cost assignment of the counts (its flow in the network, exactly it),
    what `lifted` finds at each of the highest rates reached keeps the counts and the
    least cost, and reaches the rate; above the flow bound it finds nothing."""
    landed = 0
    for edge in STEERS[:3:2]:
        case = steered_case(seed, edge)
        network, limits = case.network, case.limits
        problem = network.problem
        least = least_cost(case)
        start = network.flow_of(least, limits)
        assert start is not None
        assert start.assignment().tolist() == least.tolist()
        assert tuple(start.placed_by_gender.tolist()) == limits.counts
        cost = measure(problem, least).preference_cost
        rates = top_rates(case, 12)
        for rate in rates:
            found = network.lifted(rate, limits, start)
            if found is None:
                continue
            landed += 1
            reached = measure(problem, found.assignment())
            assert reached.placed_by_gender == limits.counts
            assert reached.preference_cost == cost
            assert_allowed(problem, found.assignment(), rate)
        above = case.rates.index(rates[-1]) + 1
        if above < len(case.rates):
            assert network.lifted(case.rates[above], limits, start) is None
    assert landed > 0


def test_an_assignment_outside_the_network_has_no_flow() -> None:
    """Moving one student to a pair the least-cost flows never use leaves the network."""
    case = steered_case(0, STEERS[0])
    network, limits = case.network, case.limits
    least = least_cost(case)
    admissible = network.admissible
    assert admissible is not None
    closed = ~admissible.pair_allowed[network.problem.free_pair_mask()]
    placed_elsewhere = least[network.pair_student] >= 0
    pair = int(np.flatnonzero(closed & placed_elsewhere)[0])
    moved = least.copy()
    moved[network.pair_student[pair]] = network.pair_offer[pair]
    assert network.flow_of(least, limits) is not None
    assert network.flow_of(moved, limits) is None


def direct_swaps(case: SteeredCase, rate: Fraction, start: SchoolFlow) -> SchoolFlow:
    """`start` after each swap the counts call for, one after the other, nothing else."""
    network, limits = case.network, case.limits
    assert limits.counts is not None
    current = start
    for swap in gender_swaps(np.array(limits.counts) - start.placed_by_gender):
        current = network._swapped(rate, limits, current, swap) or current
    return current


@pytest.mark.parametrize("seed", [6, 10])
def test_swaps_by_way_of_the_third_gender_go_where_direct_swaps_stop(seed: int) -> None:
    """Where a swap of one gender for another stops short, one for the third and the third
    for the other may go on: never farther from the counts than the direct swaps, every
    limit kept, and at the counts on the least-cost flows."""
    nearer = 0
    for edge in STEERS:
        case = steered_case(seed, edge)
        network, limits = case.network, case.limits
        assert limits.counts is not None
        counts = np.array(limits.counts)
        problem = network.problem
        cost = measure(problem, least_cost(case)).preference_cost
        for rate in top_rates(case, 12):
            start = network.solve(rate, limits)
            assert start is not None
            direct = direct_swaps(case, rate, start)
            found = network._swapped_to(rate, limits, start, counts)
            left = int(np.abs(counts - found.placed_by_gender).sum())
            assert left <= int(np.abs(counts - direct.placed_by_gender).sum())
            nearer += left < int(np.abs(counts - direct.placed_by_gender).sum())
            assignment = found.assignment()
            assert_allowed(problem, assignment, rate)
            reached = measure(problem, assignment)
            assert reached.placed == measure(problem, start.assignment()).placed
            if not left:
                assert reached.preference_cost == cost
    assert nearer > 0
