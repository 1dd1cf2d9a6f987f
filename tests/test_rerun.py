"""Re-running a round against the assignment published before, and cancelling a solve.

A re-run adds the stage `changes` after placements: as few students of the
previous assignment as possible end up elsewhere. Tiny rounds are checked
against every assignment enumerated; the rest on hand-built cases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobility_match.demo import generate_offers, generate_students
from mobility_match.domain import Lock, RoundInput, RoundResult, StageStatus, load_vocabulary
from mobility_match.matching.engine import SolveCancelled, solve_round
from mobility_match.matching.policy import Policy
from tests.factories import make_offer, make_student, random_round
from tests.test_optimality import feasible_assignments, round_strategy

VOCABULARY = load_vocabulary()
MAXIMISED = ("placements", "school_fairness")

Previous = Mapping[str, str | None]


def assignment_of(result: RoundResult) -> dict[str, str | None]:
    return {p.student_id: p.offer_id for p in result.placements}


def changed(previous: Previous, result: RoundResult) -> int:
    """Students of `previous` whose offer differs in `result`, counted independently."""
    now = assignment_of(result)
    return sum(1 for s, offer in previous.items() if s in now and now[s] != offer)


def brute_force(round_input: RoundInput, policy: Policy, previous: Previous) -> dict[str, Fraction]:
    """Each stage's lexicographic optimum, `changes` right after placements, over every
    assignment of the round (policies without tolerance)."""
    students, offers = round_input.students, round_input.offers
    candidates = []
    for assignment, measured in feasible_assignments(round_input):
        measured["changes"] = Fraction(
            sum(
                1
                for s, j in zip(students, assignment, strict=True)
                if s.student_id in previous
                and previous[s.student_id] != (None if j is None else offers[j].offer_id)
            )
        )
        candidates.append(measured)
    stages = list(policy.stages)
    stages.insert(stages.index("placements") + 1 if "placements" in stages else 0, "changes")
    best: dict[str, Fraction] = {}
    for stage in stages:
        values = [c[stage] for c in candidates]
        best[stage] = max(values) if stage in MAXIMISED else min(values)
        candidates = [c for c in candidates if c[stage] == best[stage]]
    return best


POLICIES = [
    Policy(),
    Policy(stages=("placements", "preferences")),
    Policy(stages=("gender_gap", "placements")),
    Policy(stages=("preferences",)),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_strategy(), st.sampled_from(POLICIES), st.data())
def test_a_withdrawal_changes_as_few_students_as_possible(
    round_input: RoundInput, policy: Policy, data: st.DataObject
) -> None:
    """After an offer is withdrawn, it changes the fewest students the stages before allow,
    and every stage, changes included, equals the brute force's lexicographic optimum."""
    first = solve_round(round_input, VOCABULARY, policy, time_limit=30)
    withdrawn = data.draw(st.sampled_from(round_input.offers)).offer_id
    previous = {
        s: offer
        for s, offer in assignment_of(first).items()
        if data.draw(st.integers(0, 4), label=f"keep {s}") > 0  # some students are new
    }
    rerun_input = RoundInput(
        round_input.students,
        tuple(o for o in round_input.offers if o.offer_id != withdrawn),
        tuple(lk for lk in round_input.locks if lk.offer_id != withdrawn),
    )
    result = solve_round(rerun_input, VOCABULARY, policy, time_limit=30, previous=previous)
    got = {stage.name: stage.value for stage in result.stages}
    assert got == brute_force(rerun_input, policy, previous)
    assert got["changes"] == changed(previous, result)
    assert all(stage.status is StageStatus.OPTIMAL for stage in result.stages)


@pytest.mark.parametrize("seed", range(4))
def test_re_running_an_unchanged_round_changes_nothing(seed: int) -> None:
    """With its own solution as previous, it returns that solution and the same stage values."""
    round_input = random_round(seed, n_students=30, n_offers=10, varied=True)
    first = solve_round(round_input, VOCABULARY, time_limit=30)
    again = solve_round(round_input, VOCABULARY, time_limit=30, previous=assignment_of(first))
    assert {s.name: s.value for s in again.stages} == {
        "changes": 0,
        **{s.name: s.value for s in first.stages},
    }
    assert assignment_of(again) == assignment_of(first)


@pytest.mark.parametrize(
    ("policy", "names", "method"),
    [
        (
            Policy(),
            ["placements", "changes", "gender_gap", "preferences", "school_fairness"],
            "flow",
        ),
        (
            Policy(stages=("gender_gap", "placements")),
            ["gender_gap", "placements", "changes"],
            "cp-sat",
        ),
        (Policy(stages=("preferences",)), ["changes", "preferences"], "cp-sat"),
    ],
)
def test_the_changes_stage_comes_right_after_placements(
    policy: Policy, names: list[str], method: str
) -> None:
    """It inserts `changes` after placements, or first when the policy has no placements;
    a re-run takes the flow path exactly when the first solve does."""
    round_input = random_round(1, n_students=12, n_offers=5)
    result = solve_round(round_input, VOCABULARY, policy, previous={})
    assert [s.name for s in result.stages] == names
    assert next(s for s in result.stages if s.name == "changes").method == method


def two_students_one_place(locks: tuple[Lock, ...] = ()) -> RoundInput:
    """S1 and S2 both fit DE-001, which has one place."""
    return RoundInput((make_student("S1"), make_student("S2")), (make_offer("DE-001"),), locks)


def test_students_absent_from_previous_do_not_count() -> None:
    """It gives the place to the student it knows nothing of before, at no change."""
    result = solve_round(two_students_one_place(), VOCABULARY, previous={"S2": None})
    assert assignment_of(result) == {"S1": "DE-001", "S2": None}
    assert next(s for s in result.stages if s.name == "changes").value == 0


def test_a_previously_unplaced_student_who_gets_placed_counts() -> None:
    """Placements come first: one of two students unplaced before is placed, one change."""
    previous = {"S1": None, "S2": None}
    result = solve_round(two_students_one_place(), VOCABULARY, previous=previous)
    assert next(s for s in result.stages if s.name == "changes").value == 1
    assert changed(previous, result) == 1


def test_a_previous_offer_that_left_the_round_is_a_change() -> None:
    """A student whose offer is gone counts once, placed or not."""
    result = solve_round(two_students_one_place(), VOCABULARY, previous={"S1": "PL-009"})
    assert next(s for s in result.stages if s.name == "changes").value == 1
    assert next(s for s in result.stages if s.name == "placements").value == 1


def test_locks_win_over_the_previous_assignment() -> None:
    """A lock moves its student even though that changes two students."""
    round_input = two_students_one_place((Lock("S2", "DE-001"),))
    previous = {"S1": "DE-001", "S2": None}
    result = solve_round(round_input, VOCABULARY, previous=previous)
    assert assignment_of(result) == {"S1": None, "S2": "DE-001"}
    assert next(s for s in result.stages if s.name == "changes").value == 2


def test_a_lock_out_of_every_offer_wins_too() -> None:
    """A student locked out stays unplaced though it held a place before."""
    round_input = two_students_one_place((Lock("S1", None),))
    result = solve_round(round_input, VOCABULARY, previous={"S1": "DE-001", "S2": None})
    assert assignment_of(result) == {"S1": None, "S2": "DE-001"}


def test_a_policy_naming_changes_needs_a_previous_assignment() -> None:
    """It refuses the changes stage without the assignment it counts from."""
    with pytest.raises(ValueError, match="previous"):
        solve_round(two_students_one_place(), VOCABULARY, Policy(stages=("changes",)))


@pytest.mark.parametrize(
    "options",
    [{}, {"cp_sat_only": True}, {"previous": {}}],
    ids=["flow", "cp-sat", "re-run"],
)
def test_a_cancelled_solve_raises(options: dict[str, object]) -> None:
    """It raises SolveCancelled when the check says stop from the start, on every path."""
    round_input = random_round(2, n_students=20, n_offers=8)
    with pytest.raises(SolveCancelled):
        solve_round(round_input, VOCABULARY, cancelled=lambda: True, **options)  # type: ignore[arg-type]


def test_a_cancellation_stops_a_long_cp_sat_search() -> None:
    """A check that fires after 0.3 s stops a search that would run for a minute or more."""
    offers = generate_offers(375, 2, scarce_services=True)
    round_input = RoundInput(tuple(generate_students(1500, 2, offers)), tuple(offers))
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(SolveCancelled):
            solve_round(
                round_input, VOCABULARY, time_limit=60, cp_sat_only=True, cancelled=stop.is_set
            )
    finally:
        timer.cancel()
    assert time.monotonic() - started < 20
