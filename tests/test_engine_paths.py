"""The flow path and the CP-SAT path settle every stage to the same values on mid-size rounds.

Brute force cannot enumerate 40 students; both paths are exact, so they must agree.
These rounds have long lines of equally fair gender vectors, where the flow path's
convex search along a line is exercised.
"""

from __future__ import annotations

import pytest

from mobility_match.demo import generate_offers, generate_students
from mobility_match.domain import RoundInput, StageStatus, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import Policy
from tests.factories import random_round

VOCABULARY = load_vocabulary()
POLICIES = [
    Policy(),
    Policy(stages=("placements", "gender_gap", "preferences")),
    Policy(stages=("placements", "preferences", "school_fairness")),
]


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("policy", POLICIES, ids=["default", "no-fairness", "no-gap"])
def test_flow_and_cp_sat_paths_agree(seed: int, policy: Policy) -> None:
    """Both paths prove the same optimum for every stage."""
    round_input = random_round(seed, n_students=36, n_offers=14, x_share=0.3)
    flow = solve_round(round_input, VOCABULARY, policy, time_limit=60)
    cp_sat = solve_round(round_input, VOCABULARY, policy, time_limit=60, cp_sat_only=True)
    assert all(s.status is StageStatus.OPTIMAL for s in flow.stages + cp_sat.stages)
    assert [(s.name, s.value) for s in flow.stages] == [(s.name, s.value) for s in cp_sat.stages]


def test_cp_sat_path_is_reproducible_even_when_the_time_limit_stops_it() -> None:
    """Two runs cut short by a one-second limit return the same placements and values.

    The limit is CP-SAT's deterministic time; the wall-clock safety net is set far
    out so that the machine's load (tests run in parallel) cannot reach it first.
    """
    offers = generate_offers(150, 2, scarce_services=True)
    round_input = RoundInput(tuple(generate_students(600, 2, offers)), tuple(offers))
    runs = [
        solve_round(
            round_input, VOCABULARY, time_limit=1.0, seed=5, cp_sat_only=True, wall_safety=60
        )
        for _ in range(2)
    ]
    assert any(s.status is StageStatus.FEASIBLE for s in runs[0].stages), "limit not reached"
    assert runs[0].reproducible
    assert runs[1].reproducible
    assert runs[0].placements == runs[1].placements
    assert [s.value for s in runs[0].stages] == [s.value for s in runs[1].stages]


def test_a_search_stopped_by_the_wall_clock_is_reported_as_not_reproducible() -> None:
    """When the wall clock, not the deterministic time, ends a search (a loaded machine),
    the result says the seed may not give the same bytes again."""
    offers = generate_offers(150, 2, scarce_services=True)
    round_input = RoundInput(tuple(generate_students(600, 2, offers)), tuple(offers))
    result = solve_round(
        round_input, VOCABULARY, time_limit=1.0, seed=5, cp_sat_only=True, wall_safety=0.01
    )
    assert not result.reproducible
    assert len(result.placements) == 600
