"""Interchangeable offers merged for the steered min-cost flows (offer_classes.py).

Where no pair costs anything, offers that the same students reach are one node for
the solver, and the merged flow is shared out among them. Checked here: on a tiny
network by hand, offers that owe places (a lower bound) stay apart from offers that
hold more than they owe (a forced pair), or the merged flow would let one's forced
student pay the other's debt; on the benchmark's networks, every steered flow solved
merged keeps every bound of the network and reaches the least that the network
solved whole reaches.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from mobility_match.matching.fairness import _min_cost_flows, steered_excess
from mobility_match.matching.network import SINK, SOURCE
from mobility_match.matching.offer_classes import OfferClasses
from tests.test_fairness_steered import STEERS, WEIGHED, steered_case, top_rates

SCHOOL, S1, S2, S3, O1, O2, O3 = 2, 3, 4, 5, 6, 7, 8
# (tail, head, lower, capacity, cost): two optional students who cost 1 each to place,
# one whose placement in O1 is forced; O2 must be full; O3 takes the same students as
# O2 and owes places too (the two may be one); the bypass takes who is not placed.
ARCS = [
    (SOURCE, SCHOOL, 0, 3, 0),
    (SCHOOL, S1, 0, 1, 1),
    (SCHOOL, S2, 0, 1, 1),
    (SCHOOL, S3, 1, 1, 0),
    (S1, O1, 0, 1, 0),  # the pairs, from here
    (S1, O2, 0, 1, 0),
    (S2, O1, 0, 1, 0),
    (S2, O2, 0, 1, 0),
    (S3, O1, 1, 1, 0),  # forced
    (S1, O3, 0, 1, 0),
    (S2, O3, 0, 1, 0),
    (O1, SINK, 0, 2, 0),  # the offers, from here
    (O2, SINK, 1, 1, 0),  # full
    (O3, SINK, 1, 2, 0),
    (SOURCE, SINK, 0, 3, 0),  # bypass
]
PAIRS = slice(4, 11)
PAIR_OFFER = np.array([0, 1, 0, 1, 0, 2, 2])
OFFER_ARCS = np.array([11, 12, 13])


def by_hand() -> tuple[npt.NDArray[np.int64], ...]:
    columns = zip(*ARCS, strict=True)
    tails, heads, lower, capacities, costs = (np.array(column) for column in columns)
    supplies = np.zeros(9, dtype=np.int64)
    supplies[SOURCE], supplies[SINK] = 3, -3
    np.subtract.at(supplies, tails, lower)
    np.add.at(supplies, heads, lower)
    return tails, heads, lower, capacities, costs, supplies


def test_offers_owing_places_stay_apart_from_offers_holding_more() -> None:
    """O1 holds a forced student and owes nothing; O2 and O3, with O1's students, owe a place
    each. Merged with O1, O2's debt would be paid by the forced student, who cannot leave O1:
    one student fewer placed than the network needs. O2 and O3 are one class, and the flow
    shared out keeps every bound and costs what the whole network's least-cost flow does."""
    tails, heads, lower, capacities, costs, supplies = by_hand()
    fixed = supplies.copy()
    fixed[SOURCE] -= 3
    fixed[SINK] += 3
    solver = np.flatnonzero(capacities > lower)
    classes = OfferClasses(
        tails.astype(np.int32),
        heads.astype(np.int32),
        capacities,
        lower,
        fixed,
        PAIRS,
        PAIR_OFFER,
        OFFER_ARCS,
        solver,
    )
    assert classes.node_map[O1] != classes.node_map[O2]
    assert classes.node_map[O2] == classes.node_map[O3]
    residual = (capacities - lower)[solver]
    solved = _min_cost_flows(
        [classes.tails, classes.heads, classes.merge(residual), classes.costs(costs[solver])],
        classes.supplies(supplies),
    )
    assert solved is not None
    flows = lower.copy()
    flows[solver] += classes.share_out(solved, residual, supplies)
    assert ((flows >= lower) & (flows <= capacities)).all()
    balance = np.bincount(tails, flows, 9) - np.bincount(heads, flows, 9)
    assert balance.tolist() == [3, -3] + [0] * 7
    whole = _min_cost_flows([tails[solver], heads[solver], residual, costs[solver]], supplies)
    assert whole is not None
    assert int(costs @ flows) == int(costs[solver] @ whole) == 2  # both optional students


@pytest.mark.parametrize("seed", [0, 2])
def test_steered_flows_with_offers_merged_are_the_networks_least(seed: int) -> None:
    """At the top rates of the benchmark's networks, for every steer a walk or a proof uses,
    the flow solved with interchangeable offers merged keeps every arc's bounds and every
    node's balance, and reaches the least of the steer that the whole network reaches."""
    checked = 0
    for edge in STEERS[:3:2]:
        whole = steered_case(seed, edge)
        case = replace(whole, rates=top_rates(whole, 8))
        network, limits = case.network, case.limits
        classes = network._offer_classes()
        assert len(classes.tails) < len(network._tails) * 0.9  # offers were merged
        for rate in case.rates:
            bounds = network._bounds(rate, limits)
            assert bounds is not None
            for steer in (*STEERS, WEIGHED):
                merged = network.solve(rate, limits, steer)
                plain = network.solve(rate, limits, steer, merge_offers=False)
                assert (merged is None) == (plain is None)
                if merged is None or plain is None:
                    continue
                flows = merged.flows.astype(np.int64)
                assert ((flows >= bounds[0]) & (flows <= bounds[1])).all()
                n = network._n_nodes
                balance = np.bincount(network._tails, flows, n)
                balance -= np.bincount(network._heads, flows, n)
                assert not np.delete(balance, [SOURCE, SINK]).any()
                assert steered_excess(steer, merged.placed_by_gender, (0, 0, 0)) == (
                    steered_excess(steer, plain.placed_by_gender, (0, 0, 0))
                ), (seed, edge, steer, rate)
                assert merged.lowest_rate >= rate
                checked += 1
    assert checked >= 50
