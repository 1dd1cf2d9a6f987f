"""The linear relaxation of school fairness never cuts off an assignment the stage allows.

Its bound is what lets the flow path declare school fairness OPTIMAL where gender
binds, so a constraint written too tight would be a false proof. On rounds
small enough for the CP-SAT path to prove every stage, the optimal assignment
it returns satisfies the limits it reached, so the LP of those limits (with or
without the network cut down to the least-cost flows of its gender counts) must
reach its rate, floors included, wherever its simplex starts. On the benchmark
round where gender binds, the stage is then proven in seconds, where CP-SAT alone
once took minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from benchmarks.cohorts import benchmark_round

from mobility_match.domain import StageStatus, load_vocabulary
from mobility_match.matching.changes import FlowCost, flow_cost, previous_offers
from mobility_match.matching.engine import solve_round
from mobility_match.matching.fairness import FairnessLimits
from mobility_match.matching.fairness_lp import DUAL_ITERATIONS, TOLERANCE, StageLp
from mobility_match.matching.flows import Admissible, FlowNetwork
from mobility_match.matching.problem import Assignment, Problem, measure, prepare
from tests.factories import random_round

VOCABULARY = load_vocabulary()


@pytest.mark.parametrize("seed", range(8))
def test_the_lp_keeps_the_proven_optimum_within_reach(seed: int) -> None:
    """The LP of the limits an optimal assignment reaches bounds its rate from above and
    admits the floors of that rate, in the whole network and in the cut-down one."""
    round_input = random_round(seed, n_students=30, n_offers=12, x_share=0.3, varied=True)
    result = solve_round(round_input, VOCABULARY, time_limit=60, cp_sat_only=True)
    assert all(s.status is StageStatus.OPTIMAL for s in result.stages)
    problem = prepare(round_input, VOCABULARY)
    assignment = previous_offers(problem, {p.student_id: p.offer_id for p in result.placements})
    reached = measure(problem, assignment)
    cost = flow_cost(problem, None)
    rate = reached.min_school_rate
    loose = FairnessLimits(
        min_placed=reached.placed,
        max_placed=reached.placed,
        max_cost=reached.preference_cost,
        max_gap=reached.gap_numerator,
    )
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    free = tuple(reached.placed_by_gender[g] - locked[g] for g in range(3))
    counts = (free[0], free[1], free[2])
    admissible = FlowNetwork(problem, cost.pair).admissible(counts)
    cut = FairnessLimits(
        min_placed=reached.placed,
        max_placed=reached.placed,
        max_cost=None,
        max_gap=None,
        counts=reached.placed_by_gender,
    )
    # Where the simplex starts (nobody placed, or the most placements, whatever their
    # genders) changes how fast it gets there, not where it gets.
    start = FlowNetwork(problem, cost.pair).max_placements()[1]
    for network, limits in ((None, loose), (admissible, cut)):
        optimum = StageLp(problem, network, limits, cost).solve()
        assert optimum is not None
        assert optimum.rate >= float(rate) - TOLERANCE
        started = StageLp(problem, network, limits, cost, start)
        from_start = started.solve()
        assert from_start is not None
        assert from_start.rate == pytest.approx(optimum.rate, abs=TOLERANCE)
        floors = started.solve(rate)
        assert floors is not None
        placed = floors.integral[floors.integral >= 0]
        assert (np.bincount(placed, minlength=problem.n_offers) <= problem.capacity).all()
        for i in np.flatnonzero(floors.integral >= 0):
            problem.pair_index(int(i), int(floors.integral[i]))  # an acceptable pair


def test_school_fairness_where_gender_binds_is_proven_by_the_lp() -> None:
    """A scarce round whose fairness stage flows cannot settle: the LP bound is reached,
    and the stage is OPTIMAL (it ran past a minute, FEASIBLE, with CP-SAT alone)."""
    round_input = benchmark_round(1000, 2, scarce_services=True)
    stage = solve_round(round_input, VOCABULARY, time_limit=60).stages[-1]
    assert stage.name == "school_fairness"
    assert stage.status is StageStatus.OPTIMAL
    assert stage.value == stage.bound


@dataclass(frozen=True)
class CutRound:
    """A small round's LP inputs: the whole network with loose limits, the network cut
    down to its least-cost flows with exact counts, a start, and rates to try."""

    problem: Problem
    cost: FlowCost
    start: Assignment
    networks: tuple[tuple[Admissible | None, FairnessLimits], ...]
    rates: list[Fraction]


def cut_round(seed: int) -> CutRound:
    problem = prepare(random_round(seed, n_students=60, n_offers=25, varied=True), VOCABULARY)
    cost = flow_cost(problem, None)
    network = FlowNetwork(problem, cost.pair)
    start = network.max_placements()[1]
    reached = measure(problem, start)
    loose = FairnessLimits(
        min_placed=reached.placed - 2,
        max_placed=reached.placed,
        max_cost=reached.preference_cost + 5,
        max_gap=reached.gap_numerator,
    )
    locked = measure(problem, problem.locked_assignment()).placed_by_gender
    counts = tuple(reached.placed_by_gender[g] - locked[g] for g in range(3))
    free = (counts[0], counts[1], counts[2])
    cut = FairnessLimits(
        min_placed=reached.placed,
        max_placed=reached.placed,
        max_cost=None,
        max_gap=None,
        counts=reached.placed_by_gender,
    )
    eligible = problem.eligible_by_school()
    rates = sorted({Fraction(k, int(e)) for e in eligible[eligible > 0] for k in range(int(e) + 1)})
    networks = ((None, loose), (network.admissible(free), cut))
    return CutRound(problem, cost, start, networks, rates)


@pytest.mark.parametrize("seed", range(6))
def test_generated_columns_reach_the_lp_of_every_column(seed: int) -> None:
    """Dense rounds hold only some columns and generate the others from the duals: the
    optimum, and which floors admit a solution, are those of the LP with every column,
    whatever the start (nobody placed included, which breaks the rows
    that least-cost flows fill exactly)."""
    case = cut_round(seed)
    problem, cost, rates = case.problem, case.cost, case.rates
    for admissible, limits in case.networks:
        for begin in (case.start, None):
            whole = StageLp(
                problem, admissible, limits, cost, begin, full_lp_pairs=len(problem.pairs)
            )
            generated = StageLp(problem, admissible, limits, cost, begin, full_lp_pairs=0)
            assert generated.generated
            assert not whole.generated
            for rate in [None, *rates[:: max(1, len(rates) // 8)], rates[-1]]:
                expected, found = whole.solve(rate), generated.solve(rate)
                assert (expected is None) == (found is None), rate
                if expected is not None and found is not None:
                    assert found.rate == pytest.approx(expected.rate, abs=TOLERANCE)


@pytest.mark.parametrize("seed", range(6))
def test_floors_solved_by_the_dual_simplex_or_after_it_match_the_primal(seed: int) -> None:
    """After the first solve, each change of floors starts with the dual simplex; cut
    short (here after one pivot), the primal takes over from the basis the dual started
    from. Either way, which floors admit a solution and the optimum are the primal's,
    with every column or generated ones, floors rising and falling."""
    case = cut_round(seed)
    problem, cost, rates = case.problem, case.cost, case.rates
    probes = rates[:: max(1, len(rates) // 6)]
    order: list[Fraction | None] = [None, *probes, *reversed(probes), rates[-1], None]
    for admissible, limits in case.networks:
        for full_lp_pairs in (len(problem.pairs), 0):
            lps = [
                StageLp(
                    problem,
                    admissible,
                    limits,
                    cost,
                    case.start,
                    full_lp_pairs=full_lp_pairs,
                    dual_iterations=iterations,
                )
                for iterations in (0, 1, DUAL_ITERATIONS)
            ]
            for rate in order:
                primal, *others = [lp.solve(rate) for lp in lps]
                for found in others:
                    assert (primal is None) == (found is None), rate
                    if primal is not None and found is not None:
                        assert found.rate == pytest.approx(primal.rate, abs=TOLERANCE)
