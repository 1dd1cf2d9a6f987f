"""Where the walk of school fairness stops short of the gender counts at the bound.

The walk steers flows toward the counts and keeps the cycles that bring it nearer;
where none does, the swaps of a lift, by way of the third gender too, may still land
(a few max-flows), before the linear relaxation of the whole stage is solved.
"""

from __future__ import annotations

from fractions import Fraction

from benchmarks.run import sweep_round

from mobility_match.domain import StageStatus, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.stages import Stage

VOCABULARY = load_vocabulary()


def test_swaps_where_the_walk_stops_settle_the_stage_without_the_lp() -> None:
    """A round of 3,000 students, genders drawn at random, whose walk at the bound stops
    three students off: the swaps land, and the stage is proven by flows alone."""
    result = solve_round(sweep_round(3000, 31, "mixed genders"), VOCABULARY, time_limit=60)
    assert all(stage.status is StageStatus.OPTIMAL for stage in result.stages)
    fairness = next(stage for stage in result.stages if stage.name is Stage.SCHOOL_FAIRNESS)
    assert fairness.method == "flow"


def test_a_walk_steering_every_gender_off_its_count_lands() -> None:
    """A round of 3,000 students, genders drawn at random, where two genders stand on the
    same side of their counts, about as far off: a walk that left each out of its steer in
    turn (the nearer half of the way) swung between two steers and never landed (three
    minutes of CP-SAT, and a lower rate, unproven). Steering every gender off its count
    lands, proven by flows."""
    result = solve_round(sweep_round(3000, 6, "mixed genders"), VOCABULARY, time_limit=60)
    assert all(stage.status is StageStatus.OPTIMAL for stage in result.stages)
    fairness = next(stage for stage in result.stages if stage.name is Stage.SCHOOL_FAIRNESS)
    assert fairness.method == "flow"
    assert fairness.value == Fraction(47, 58)
