"""The gender polytope: reachable (F, M, X) placement vectors, and the facts the flow path uses."""

from __future__ import annotations

import itertools

import pytest

from mobility_match.domain import load_vocabulary
from mobility_match.matching.balance import GenderPolytope, compute_ranks, convex_minimum, lines
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.problem import prepare
from tests.factories import random_round

VOCABULARY = load_vocabulary()


def _polytope(seed: int, n_students: int, n_offers: int) -> tuple[GenderPolytope, FlowNetwork]:
    problem = prepare(random_round(seed, n_students, n_offers, x_share=0.3), VOCABULARY)
    network = FlowNetwork(problem)
    most, _ = network.max_placements()
    e_f, e_m, _ = problem.eligible_by_gender()
    ranks = compute_ranks(lambda caps: network.max_placements(caps)[0], network.free_students)
    return GenderPolytope(ranks, most, (0, 0, 0), e_f, e_m), network


def _reachable_by_brute_force(seed: int, n_students: int, n_offers: int) -> set[tuple[int, ...]]:
    problem = prepare(random_round(seed, n_students, n_offers, x_share=0.3), VOCABULARY)
    choices = [[-1, *problem.offers_of(i).tolist()] for i in range(problem.n_students)]
    reached = set()
    for assignment in itertools.product(*choices):
        load = [0] * problem.n_offers
        counts = [0, 0, 0]
        for i, j in enumerate(assignment):
            if j >= 0:
                load[j] += 1
                counts[int(problem.gender[i])] += 1
        if all(load[j] <= problem.capacity[j] for j in range(problem.n_offers)):
            reached.add(tuple(counts))
    return reached


@pytest.mark.parametrize("seed", range(12))
def test_vectors_of_most_placements_are_exactly_those_reachable(seed: int) -> None:
    """Every vector the polytope yields is reachable, and every reachable one is yielded."""
    polytope, _ = _polytope(seed, 7, 4)
    reached = _reachable_by_brute_force(seed, 7, 4)
    most = max(sum(v) for v in reached)
    expected = {v for v in reached if sum(v) == most}
    yielded = set(polytope.vectors(limit=10**9))
    assert yielded == expected
    assert polytope.smallest_gap() == min(polytope.gap(a, b) for a, b, _ in expected)


@pytest.mark.parametrize("seed", range(30))
def test_least_cost_is_convex_along_each_line_of_equal_gap(seed: int) -> None:
    """Along a line of equally fair vectors the least preference cost never bends down."""
    polytope, network = _polytope(seed, 60, 20)
    for limit in (polytope.smallest_gap(), polytope.smallest_gap() + 50):
        for line in lines(list(polytope.vectors(limit)), polytope):
            costs = []
            for vector in line:
                solved = network.min_cost(sum(vector), vector)
                assert solved is not None
                costs.append(solved[0])
            for k in range(1, len(costs) - 1):
                assert costs[k - 1] + costs[k + 1] >= 2 * costs[k], costs


def test_convex_minimum_finds_a_minimum_on_plateaus() -> None:
    """The binary search lands on a minimum, plateaus included."""
    for values in ([5, 3, 3, 3, 4], [1, 1, 1], [9, 7, 5, 3], [2, 4, 8], [4]):
        k = convex_minimum(lambda i, v=values: v[i], len(values))  # type: ignore[misc]
        assert values[k] == min(values)


@pytest.mark.parametrize("x_share", [0.0, 0.3])
def test_known_ranks_spare_max_flows_and_change_nothing(x_share: float) -> None:
    """The most placements already known, and a gender with nobody free, spare max-flows
    (one, and three more without X) and give the ranks computed one max-flow each."""
    problem = prepare(random_round(3, 80, 25, x_share=x_share), VOCABULARY)
    network = FlowNetwork(problem)
    most, _ = network.max_placements()
    calls: list[tuple[int, int, int]] = []

    def counted(caps: tuple[int, int, int]) -> int:
        calls.append(caps)
        return network.max_placed(caps)

    one_each = compute_ranks(network.max_placed, network.free_students)
    sizes = network.capacities[network.group_arcs].tolist()
    assert (sizes[2] == 0) == (x_share == 0.0)
    spared = compute_ranks(counted, network.free_students, most, (sizes[0], sizes[1], sizes[2]))
    assert spared == one_each
    assert len(calls) == (6 if sizes[2] else 3)
