"""The time limit bounds the whole round on the wall clock, and a round cut short claims no proof.

A round whose search cannot finish in time (1,000 students, services offers
scarce, the default stages reversed: every stage a CP-SAT search) returns within
a generous multiple of its limit, with every stage either proven or FEASIBLE
with a bound on the right side of its value. The bound asserted on the wall
clock is a behavioural guarantee (seconds, not minutes), not a benchmark.
"""

from __future__ import annotations

import time

import pytest
from benchmarks.cohorts import benchmark_round

from mobility_match.domain import RoundInput, RoundResult, StageStatus, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import MAXIMISED, STAGES, Policy

VOCABULARY = load_vocabulary()
REVERSED = Policy(stages=tuple(reversed(STAGES)))
LIMIT = 1.0


@pytest.fixture(scope="module")
def hard_round() -> RoundInput:
    return benchmark_round(1000, 1, scarce_services=True)


def _bounds_hold(result: RoundResult) -> None:
    for stage in result.stages:
        if stage.name in MAXIMISED:
            assert stage.bound >= stage.value, stage
        else:
            assert stage.bound <= stage.value, stage
        if stage.status is StageStatus.OPTIMAL:
            assert stage.bound == stage.value, stage


def test_a_round_cut_short_returns_within_its_limit(hard_round: RoundInput) -> None:
    """One second for a round whose searches need far more: back within a few seconds,
    every student answered, every stage there, none claiming a proof it lacks."""
    started = time.monotonic()
    result = solve_round(hard_round, VOCABULARY, REVERSED, time_limit=LIMIT, seed=3)
    elapsed = time.monotonic() - started
    assert elapsed < 4 * LIMIT
    assert len(result.placements) == len(hard_round.students)
    assert [s.name for s in result.stages] == list(REVERSED.stages)
    assert any(s.status is StageStatus.FEASIBLE for s in result.stages), "the search finished"
    _bounds_hold(result)


def test_a_deadline_that_has_passed_skips_the_searches(hard_round: RoundInput) -> None:
    """With the deadline gone before the first search (a tiny wall-clock share), no
    search runs: the hint stands, FEASIBLE with a proven bound, and the result says
    the same seed may give another answer."""
    result = solve_round(
        hard_round, VOCABULARY, REVERSED, time_limit=LIMIT, seed=3, wall_safety=1e-6
    )
    assert not result.reproducible
    assert len(result.placements) == len(hard_round.students)
    assert [s.name for s in result.stages] == list(REVERSED.stages)
    _bounds_hold(result)
    assert all(s.seconds < LIMIT for s in result.stages)
