"""Flows steered by a cost per gender prove rates out of reach, and their prices lower the bound.

Where the gender counts an earlier stage fixed bind school fairness, the flow bound
(school rates without gender) stands above the optimum. A min-cost flow steered by a
cost per gender gives, at a rate, the least of steer · counts over every flow there;
above the counts' own, no assignment reaches that rate. The reduced costs of its
school arcs (floor prices) bound how much lower floors can lower that least, which
rules out lower rates without solving them, and flow_path._steered_bound relies on
it to lower the bound to the optimum in a flow or two. A price too low would be a
false proof: checked here against the steered flow of every lower rate.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pytest
from benchmarks.cohorts import benchmark_round
from benchmarks.run import sweep_round

from mobility_match.domain import RoundInput, load_vocabulary
from mobility_match.matching.changes import flow_cost
from mobility_match.matching.cpsat import SolverSettings
from mobility_match.matching.fairness import (
    Beyond,
    FairnessLimits,
    SchoolFlow,
    SchoolNetwork,
    candidate_rates,
    choose_cycles,
    steered_excess,
)
from mobility_match.matching.flow_path import _steered_bound
from mobility_match.matching.flows import FlowNetwork
from mobility_match.matching.policy import DEFAULT_POLICY
from mobility_match.matching.problem import Assignment, measure, prepare
from mobility_match.matching.repair import Effort, Verdict, repair
from mobility_match.matching.run import RoundRun

VOCABULARY = load_vocabulary()
STEERS = ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (1, -1, 0), (-1, 1, 0), (1, 0, -1))
WEIGHED = (-31, 30, 32)
"""A steer like those of a walk on a face: one steer weighed by the students, plus another."""


@dataclass(frozen=True)
class SteeredCase:
    """A round's network cut down to its least-cost flows, with the exact counts to keep."""

    network: SchoolNetwork
    limits: FairnessLimits
    rates: list[Fraction]
    run: RoundRun


def steered_case(
    seed: int, steer: tuple[int, int, int], round_input: RoundInput | None = None
) -> SteeredCase:
    """The round of `seed` (or `round_input`), its counts those of the most placements
    steered by `steer`: at the edge of what the round allows, where higher school rates do
    not keep them."""
    if round_input is None:
        round_input = benchmark_round(300, seed, scarce_services=True)
    problem = prepare(round_input, VOCABULARY)
    cost = flow_cost(problem, None)
    flows = FlowNetwork(problem, cost.pair)
    most = measure(problem, flows.max_placements()[1]).placed
    free = FairnessLimits(min_placed=most, max_placed=most, max_cost=None, max_gap=None)
    edge = SchoolNetwork(problem, cost=cost).solve(Fraction(0), free, steer)
    assert edge is not None
    counts = edge.placed_by_gender
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    cut = tuple(int(counts[g]) - locked[g] for g in range(3))
    network = SchoolNetwork(problem, flows.admissible((cut[0], cut[1], cut[2])), cost)
    limits = FairnessLimits(
        min_placed=most,
        max_placed=most,
        max_cost=None,
        max_gap=None,
        counts=(int(counts[0]), int(counts[1]), int(counts[2])),
    )
    run = RoundRun(problem, DEFAULT_POLICY, 60, SolverSettings(), None, started=time.monotonic())
    return SteeredCase(network, limits, candidate_rates(problem.eligible_by_school()), run)


def steered_solves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """The steers of the steered flows SchoolNetwork.solve is asked for from now on (the
    real solver still solves each), in order."""
    steered: list[tuple[int, int, int]] = []
    solve = SchoolNetwork.solve

    def counted(
        self: SchoolNetwork,
        rate: Fraction,
        limits: FairnessLimits,
        gender_cost: tuple[int, int, int] = (0, 0, 0),
        merge_offers: bool = True,
    ) -> SchoolFlow | None:
        if any(gender_cost):
            steered.append(gender_cost)
        return solve(self, rate, limits, gender_cost, merge_offers)

    monkeypatch.setattr(SchoolNetwork, "solve", counted)
    return steered


def least_values(case: SteeredCase, steer: tuple[int, int, int]) -> list[int | None]:
    """Per rate of the case, the least of steer · counts over the network's flows (None:
    no flow)."""
    values: list[int | None] = []
    for rate in case.rates:
        flow = case.network.solve(rate, case.limits, steer)
        values.append(
            None if flow is None else steered_excess(steer, flow.placed_by_gender, (0, 0, 0))
        )
    return values


def top_rates(case: SteeredCase, window: int) -> list[Fraction]:
    """The `window` highest rates some flow of the case's network reaches."""
    rates = case.rates
    top = max(
        i for i, rate in enumerate(rates) if case.network.reach(rate, case.limits) is not None
    )
    return rates[max(0, top + 1 - window) : top + 1]


def assert_reaches(case: SteeredCase, assignment: Assignment, rate: Fraction) -> None:
    """The assignment keeps the case's gender counts and every school reaches `rate`."""
    reached = measure(case.network.problem, assignment)
    assert tuple(reached.placed_by_gender) == case.limits.counts
    assert reached.min_school_rate >= rate


@pytest.mark.parametrize("seed", [0, 2, 3, 5])
def test_floor_prices_never_rule_out_a_reachable_rate(seed: int) -> None:
    """At every rate where a steered flow proves the counts out of reach, its least minus
    the floor prices of each lower rate's floor drops is at most that rate's least; the
    bound lowered from there is the highest rate the steered flows do not rule out, and
    what max-flows swap to the counts there keeps them and reaches it; where the counts
    meet the steer's least, the walk is told to keep to that face, and what it finds at
    every such rate keeps them and reaches it. (The seeds are those whose counts at the
    edge bind school fairness.)"""
    proofs = lowered = swaps = on_face = 0
    for edge, steer in itertools.product(STEERS[:3:2], (*STEERS, WEIGHED)):
        whole = steered_case(seed, edge)
        case = replace(whole, rates=top_rates(whole, 40))
        network, limits, rates = case.network, case.limits, case.rates
        assert limits.counts is not None
        least = least_values(case, steer)
        target = sum(c * t for c, t in zip(steer, limits.counts, strict=True))
        # The higher the rate, the fewer the flows: the least never falls.
        assert None not in least
        assert least == sorted(least)
        within = [j for j, value in enumerate(least) if value is not None and value <= target]
        if max(map(abs, steer)) <= 1:
            # Where the counts meet the steer's least, the walk keeps to that face.
            for j in (j for j in within if least[j] == target):
                walked = network.balanced(rates[j], limits, face=steer).assignment
                if walked is not None:
                    on_face += 1
                    assert_reaches(case, walked, rates[j])
        for i, rate in enumerate(rates):
            value = least[i]
            if value is None or value <= target:
                continue
            flow = network.solve(rate, limits, steer)
            assert flow is not None
            proof = Beyond(steer, flow, rate, limits.counts)
            assert proof.excess == value - target
            proofs += 1
            prices = network.floor_prices(proof, limits)
            assert prices is not None
            assert (prices >= 0).all()
            floors = network.lower_bounds(rate)
            for j in range(i):
                lower = least[j]
                assert lower is not None
                drop = floors - network.lower_bounds(rates[j])
                assert lower >= value - int((prices * drop).sum()), (steer, rate, rates[j])
            if within and within[0] < i:
                # From a rate reached, the bound lowered by prices and flows is the
                # highest rate the steered flows do not rule out.
                found, face, swapped = _steered_bound(
                    case.run, network, limits, rates, within[0], i, proof
                )
                assert found == within[-1], (steer, rate)
                # Max-flows swapped a flow to the counts there; or else, with the counts on
                # the face of the steer's least, the walk is told to keep to it (above).
                unit = max(map(abs, steer)) <= 1
                if swapped is None:
                    assert (face is not None) == (least[found] == target and unit)
                else:
                    assert face is None
                    swaps += 1
                    assert_reaches(case, swapped, rates[found])
                assert face is None or face == steer
                lowered += 1
    assert proofs > 0
    assert lowered > 0
    assert swaps > 0
    assert on_face > 0


def test_a_walk_that_stops_short_proves_one_gender_beyond_reach() -> None:
    """Counts at the edge of the fewest girls: at higher rates every flow places more girls
    than they fix. The walk's steers follow the signs of what is left to move and may pass
    those counts by without proving anything; the least of the girls' count alone proves
    it, and CP-SAT, with every student free, finds no assignment either."""
    case = steered_case(6, (1, 0, 0))
    network, limits = case.network, case.limits
    problem = network.problem
    everyone = np.ones(problem.n_students, dtype=bool)
    proofs = 0
    for rate in top_rates(case, 6):
        attempt = network.balanced(rate, limits, exchanges=False)
        if attempt.beyond is None:
            continue
        assert attempt.beyond.steer == (1, 0, 0)  # the least of the girls, nothing else
        proofs += 1
        assert attempt.assignment is None
        assert attempt.nearest is not None
        assert attempt.beyond.excess > 0
        least = network.solve(rate, limits, attempt.beyond.steer)
        assert least is not None
        assert steered_excess(attempt.beyond.steer, least.placed_by_gender, limits.counts) > 0
        checked = repair(
            problem,
            network.admissible,
            limits,
            rate,
            attempt.nearest.assignment(),
            everyone,
            Effort(deterministic=60.0, wall=60.0),
        )
        assert checked.verdict is Verdict.IMPOSSIBLE, rate
    assert proofs > 0


def test_no_lone_steer_for_a_count_some_flow_already_passes() -> None:
    """A gender whose count a flow seen at the rate already has on the far side of the
    counts cannot be proven beyond reach by its own least or most: no flow for it."""
    case = steered_case(6, (1, 0, 0))
    network, limits = case.network, case.limits
    assert limits.counts is not None
    rate = top_rates(case, 6)[-1]
    start = network.solve(rate, limits)
    assert start is not None
    placed = start.placed_by_gender
    left = np.array(limits.counts) - placed
    off = [g for g in range(3) if left[g]]
    assert off
    steers = network._lone_steers(start, limits, placed.copy(), placed.copy())
    assert sorted(int(np.flatnonzero(s)[0]) for s in steers) == sorted(off)
    for steer in steers:
        gender = int(np.flatnonzero(steer)[0])
        assert steer[gender] == -np.sign(left[gender])
    # A flow seen with that gender's count at the counts' own rules its steer out.
    gender = off[0]
    low, high = placed.copy(), placed.copy()
    low[gender] = high[gender] = limits.counts[gender]
    kept = network._lone_steers(start, limits, np.minimum(low, placed), np.maximum(high, placed))
    assert all(int(np.flatnonzero(s)[0]) != gender for s in kept)
    assert len(kept) == len(steers) - 1


def test_a_gender_pushed_hardest_and_still_short_is_ruled_out_by_its_own_steer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A walk's steer pushes the most placed women up harder than either other gender, and
    its least-cost flow still places fewer than the counts: the most placed women alone
    prove the counts out of reach (a round of 1,000 students, genders drawn at random, at
    the edge of the most women placed). That flow is a least-cost flow of women alone
    too, which its potentials settling show: one steered flow in all, where the walk
    took three (a second leg, then the least of women by a flow of its own). The proof
    is checked on the whole network, offers not merged."""
    case = steered_case(3, (-1, 0, 0), sweep_round(1000, 3, "mixed genders"))
    network, limits = case.network, case.limits
    assert limits.counts is not None
    steered = steered_solves(monkeypatch)
    rate = Fraction(24, 29)
    attempt = network.balanced(rate, limits)
    assert attempt.beyond is not None
    assert attempt.assignment is None
    assert attempt.beyond.steer == (-1, 0, 0)
    assert len(steered) == 1
    # The leg's steer weighs women most, and its flow fell short of their count.
    (first,) = steered
    assert first[0] < min(first[1:])
    least = network.solve(rate, limits, (-1, 0, 0), merge_offers=False)
    assert least is not None
    most_women = int(least.placed_by_gender[0])
    assert int(attempt.beyond.flow.placed_by_gender[0]) == most_women < limits.counts[0]
    assert steered_excess((-1, 0, 0), attempt.beyond.flow.placed_by_gender, limits.counts) > 0


@pytest.mark.parametrize("seed", [0, 2])
def test_a_steer_on_a_face_gives_what_the_two_steers_weighed_give(seed: int) -> None:
    """On a face (the flows whose counts meet a steer's least), a walk's flow is the least of
    another steer among them. Fixing the arcs that the face's potentials price above or
    below nothing, and solving the other steer alone on the rest, gives the value of the
    two steers weighed into one cost (the face's by the number of students): the same
    least on both, at every rate where the counts lie on the face."""
    checked = 0
    for face in ((-1, 0, 0), (1, 0, -1)):
        whole = steered_case(seed, face)
        case = replace(whole, rates=top_rates(whole, 12))
        network, limits = case.network, case.limits
        assert limits.counts is not None
        weight = len(network.students) + 1
        for rate in case.rates:
            on_face = network.solve(rate, limits, face)
            if on_face is None or steered_excess(face, on_face.placed_by_gender, limits.counts):
                continue
            for steer in STEERS:
                found = network._on_face(rate, limits, on_face, face, steer)
                assert found is not None
                weighed = tuple(weight * f + s for f, s in zip(face, steer, strict=True))
                least = network.solve(rate, limits, weighed)
                assert least is not None
                for cost in (face, steer):
                    assert steered_excess(cost, found.placed_by_gender, (0, 0, 0)) == (
                        steered_excess(cost, least.placed_by_gender, (0, 0, 0))
                    ), (seed, face, steer, rate)
                assert found.lowest_rate >= rate
                assert found.cost == least.cost
                checked += 1
    assert checked >= 20


@pytest.mark.parametrize(("seed", "edge"), [(1, (0, -1, 0)), (11, (0, -1, 0))])
def test_cycles_bring_one_gender_and_a_swap_the_other_two(
    seed: int, edge: tuple[int, int, int]
) -> None:
    """Where no subset of the cycles between a flow and a steered one lands on the counts,
    cycles may still bring one gender's count there and the two others nearer, and a
    max-flow swap of those two does the rest: what it finds keeps the exact counts, every
    bound, and the rate. (The seeds are those where it lands most often.)"""
    case = steered_case(seed, edge)
    network, limits = case.network, case.limits
    assert limits.counts is not None
    target = np.array(limits.counts)
    tried = landed = 0
    for rate in top_rates(case, 6):
        start = network.solve(rate, limits)
        bounds = network._bounds(rate, limits)
        if start is None or bounds is None or not (target - start.placed_by_gender).any():
            continue
        delta = target - start.placed_by_gender
        for steer in STEERS:
            aimed = network.solve(rate, limits, steer)
            assert aimed is not None
            cycles = start.cycles_to(aimed)
            changes = [c.gender_change for c in cycles]
            if choose_cycles((int(delta[0]), int(delta[1])), changes) is not None:
                continue
            tried += 1
            found = network._one_gender_then_swap(rate, limits, start, cycles, target)
            if found is None:
                continue
            landed += 1
            assert tuple(found.placed_by_gender.tolist()) == limits.counts
            flows = found.flows.astype(np.int64)
            assert ((flows >= bounds[0]) & (flows <= bounds[1])).all()
            assert_reaches(case, found.assignment(), rate)
    assert landed >= 8, (tried, landed)


def test_steers_equal_up_to_a_cost_on_every_gender_share_their_least() -> None:
    """Where every flow places as many students, a cost added to every gender, or a positive
    factor, changes no flow's rank: a least-cost flow of one steer is one of the other
    (its value is the other's least, solved on its own), and the network reuses it."""
    case = steered_case(0, (-1, 0, 0))
    network, limits = case.network, case.limits
    assert limits.min_placed == limits.max_placed
    for rate in top_rates(case, 3):
        for one, other in (
            ((0, 0, 1), (-1, -1, 1)),
            ((1, 0, 0), (2, 0, 0)),
            ((-1, 0, 1), (0, 1, 2)),
        ):
            first = network.solve(rate, limits, one)
            assert first is not None
            assert network.solve(rate, limits, other) is first
            alone = network.solve(rate, limits, other, merge_offers=False)
            assert alone is not None
            assert steered_excess(other, first.placed_by_gender, (0, 0, 0)) == steered_excess(
                other, alone.placed_by_gender, (0, 0, 0)
            )
