"""The flow bound of school fairness, searched from the top down by the cuts of max-flows.

Without the gender constraint, a lowest school rate holds when a flow with lower
bounds (each school's floor) exists. Where the max-flow finds none, its minimum cut
(Hoffman's condition) falls short by a deficit that only the floors of the schools
inside it can make up: every lower rate where they drop by less is out of reach too
(SchoolNetwork.within_reach), and flow_path._relaxation_bound jumps there. A cut
that rules out a reachable rate would make the stage's proven bound false: checked
here against a max-flow at every rate, on plain networks and on networks cut down
to the least-cost flows of fixed gender counts.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from mobility_match.matching.fairness import FairnessLimits, SchoolNetwork, Shortfall
from mobility_match.matching.flow_path import _relaxation_bound
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.problem import measure
from tests.test_fairness_steered import STEERS, SteeredCase, steered_case


def plain(case: SteeredCase, max_cost: int | None = None) -> SteeredCase:
    """The case's round on the whole network, the total placed kept, gender free; with
    `max_cost`, the preference cost watched (min-cost flows, which give no cut)."""
    return SteeredCase(
        SchoolNetwork(case.run.problem, cost=case.run.flow_cost),
        FairnessLimits(
            min_placed=case.limits.min_placed,
            max_placed=case.limits.max_placed,
            max_cost=max_cost,
            max_gap=None,
        ),
        case.rates,
        case.run,
    )


def least_cost(case: SteeredCase) -> int:
    """The least preference cost of placing the case's total."""
    problem = case.run.problem
    locked = measure(problem, problem.locked_assignment())
    found = FlowNetwork(problem, case.run.flow_cost.pair).min_cost(
        case.limits.max_placed - locked.placed
    )
    assert found is not None
    return measure(problem, found[1]).preference_cost


def reachable(case: SteeredCase) -> list[bool]:
    """Per rate of the case, whether a flow of its network reaches it (gender aside)."""
    return [case.network.reach(rate, case.limits) is not None for rate in case.rates]


@pytest.mark.parametrize("seed", [0, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("network", ["whole", "least-cost"])
def test_cuts_rule_out_only_rates_out_of_reach(seed: int, network: str) -> None:
    """Every rate a max-flow's cut says out of reach is: no flow reaches it. And the bound,
    from any rate reached, is the highest rate reached (-1 when that one is not)."""
    case = steered_case(seed, STEERS[seed % len(STEERS)])
    if network == "whole":
        case = plain(case)
    reached = reachable(case)
    top = max(i for i, ok in enumerate(reached) if ok)
    ruled_out = 0
    for index, rate in enumerate(case.rates):
        found = case.network.relaxed(rate, case.limits)
        assert isinstance(found, Fraction) == reached[index], rate
        if not isinstance(found, Shortfall):
            continue
        assert found.deficit > 0
        for lower in range(index - 1, -1, -1):
            if not case.network.within_reach(found, case.rates[lower]):
                assert not reached[lower], (rate, case.rates[lower])
                ruled_out += 1
    assert ruled_out > 0  # the cuts do rule out rates below the one tried
    for first in {0, top // 2, top, min(top + 1, len(case.rates) - 1)}:
        expected = top if first <= top else -1
        assert _relaxation_bound(case.run, case.network, case.limits, case.rates, first) == (
            expected
        )


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_the_bound_where_cost_is_watched_is_the_highest_rate_reached(seed: int) -> None:
    """With a preference cost to keep (a tolerance on preferences), flows are min-cost
    flows, which give no cut: the bound is found by halving, and is the same."""
    case = steered_case(seed, STEERS[seed % len(STEERS)])
    case = plain(case, least_cost(case) + 3)
    assert not case.network.gives_cuts(case.limits)
    reached = reachable(case)
    top = max(i for i, ok in enumerate(reached) if ok)
    for rate in case.rates[top : top + 3]:
        assert not isinstance(case.network.relaxed(rate, case.limits), Shortfall)
    for first in {0, top // 2, top, min(top + 1, len(case.rates) - 1)}:
        expected = top if first <= top else -1
        assert _relaxation_bound(case.run, case.network, case.limits, case.rates, first) == (
            expected
        )
