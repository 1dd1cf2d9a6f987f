"""The flow path and the CP-SAT path settle every stage to the same values on mid-size rounds.

Brute force cannot enumerate 40 students; both paths are exact, so they must agree.
These rounds have long lines of equally fair gender vectors, where the flow path's
convex search along a line is exercised.
"""

from __future__ import annotations

import pytest

from mobility_match.domain import StageStatus, load_vocabulary
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
