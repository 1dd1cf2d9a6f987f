"""School fairness: the repair of a near miss, the flows' attempt, and the stage's optimum.

The repair is checked alone on a four-student round where each answer can be
read off by hand; the whole stage against the CP-SAT path on random rounds
larger than brute force allows.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mobility_match.domain import Gender, Lock, RoundInput, StageStatus, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.fairness import FairnessLimits, SchoolNetwork
from mobility_match.matching.problem import Problem, measure, prepare
from mobility_match.matching.repair import Effort, Verdict, repair
from tests.factories import make_offer, make_student, random_round

VOCABULARY = load_vocabulary()
EFFORT = Effort(deterministic=10.0, wall=10.0)
ONE_GIRL_ONE_BOY = FairnessLimits(2, 2, None, None, (1, 1, 0))


def two_schools(locks: tuple[Lock, ...] = ()) -> Problem:
    """Girl A and boy B in LP-A want commerce; boys C and girl D in LP-B want cuisine.

    One place in commerce (DE-001), one in cuisine (DE-002).
    """
    students = (
        make_student("A", gender=Gender.F, school_id="LP-A"),
        make_student("B", gender=Gender.M, school_id="LP-A"),
        make_student("C", gender=Gender.M, school_id="LP-B", trade="cuisine"),
        make_student("D", gender=Gender.F, school_id="LP-B", trade="cuisine"),
    )
    offers = (make_offer("DE-001"), make_offer("DE-002", trades=frozenset({"cuisine"})))
    return prepare(RoundInput(students, offers, locks), VOCABULARY)


def near_miss() -> np.ndarray:
    """Both boys placed: every school at 1/2, but two boys where one girl and one boy are due."""
    return np.array([-1, 0, 1, -1], dtype=np.int64)


def free(*students: int) -> np.ndarray:
    mask = np.zeros(4, dtype=bool)
    mask[list(students)] = True
    return mask


def test_repair_moves_the_neighbourhood_to_the_gender_counts() -> None:
    """It swaps boy B for girl A when those two are free, and keeps the others."""
    problem = two_schools()
    found = repair(problem, None, ONE_GIRL_ONE_BOY, Fraction(1, 2), near_miss(), free(0, 1), EFFORT)
    assert found.verdict is Verdict.FOUND
    assert found.assignment is not None
    assert found.assignment.tolist() == [0, -1, 1, -1]
    assert measure(problem, found.assignment).placed_by_gender == (1, 1, 0)


def test_repair_cannot_move_students_outside_the_neighbourhood() -> None:
    """With only boy C free no girl can be placed: impossible there, which proves nothing."""
    problem = two_schools()
    found = repair(problem, None, ONE_GIRL_ONE_BOY, Fraction(1, 2), near_miss(), free(2), EFFORT)
    assert found.verdict is Verdict.IMPOSSIBLE
    assert found.assignment is None


def test_repair_with_everyone_free_proves_a_rate_out_of_reach() -> None:
    """Two places cannot give each school a rate of 1 with two students each."""
    problem = two_schools()
    found = repair(
        problem, None, ONE_GIRL_ONE_BOY, Fraction(1), near_miss(), free(0, 1, 2, 3), EFFORT
    )
    assert found.verdict is Verdict.IMPOSSIBLE


def test_repair_never_moves_a_locked_student() -> None:
    """Boy B locked on commerce stays: girl D replaces boy C in cuisine instead."""
    problem = two_schools((Lock("B", "DE-001"),))
    found = repair(
        problem, None, ONE_GIRL_ONE_BOY, Fraction(1, 2), near_miss(), free(0, 1, 2, 3), EFFORT
    )
    assert found.assignment is not None
    assert found.assignment.tolist() == [-1, 0, -1, 1]


def test_balanced_proves_a_rate_above_the_relaxation_out_of_reach() -> None:
    """No flow gives both schools a rate of 1: the attempt has no nearest flow."""
    problem = two_schools()
    attempt = SchoolNetwork(problem).balanced(Fraction(1), ONE_GIRL_ONE_BOY)
    assert attempt.nearest is None
    assert attempt.assignment is None


def test_balanced_lands_on_the_gender_counts_when_cycles_allow() -> None:
    """At rate 1/2 flows reach one girl and one boy placed."""
    problem = two_schools()
    attempt = SchoolNetwork(problem).balanced(Fraction(1, 2), ONE_GIRL_ONE_BOY)
    assert attempt.assignment is not None
    measures = measure(problem, attempt.assignment)
    assert measures.placed_by_gender == (1, 1, 0)
    assert measures.min_school_rate == Fraction(1, 2)


@pytest.mark.parametrize("seed", range(8))
def test_a_proven_fairness_equals_the_cp_sat_paths(seed: int) -> None:
    """Where the flow path proves stage 4 optimal, the CP-SAT path proves the same value."""
    round_input = random_round(seed, n_students=70, n_offers=28, x_share=0.25, varied=True)
    flow = solve_round(round_input, VOCABULARY, time_limit=60)
    cp_sat = solve_round(round_input, VOCABULARY, time_limit=60, cp_sat_only=True)
    assert [s.status for s in flow.stages] == [StageStatus.OPTIMAL] * 4
    assert all(s.status is StageStatus.OPTIMAL for s in cp_sat.stages)
    assert [(s.name, s.value) for s in flow.stages] == [(s.name, s.value) for s in cp_sat.stages]
