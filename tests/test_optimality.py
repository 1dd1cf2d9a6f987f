"""Every stage the engine reports equals the one found by enumerating all assignments.

Tiny random rounds (up to 6 students, 4 offers) with random policies: stage
orders, subsets and tolerances, and locks. The brute force below shares no code
with the engine but the hard rules themselves.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator, Sequence
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobility_match.domain import (
    Country,
    Gender,
    Lock,
    Offer,
    RoundInput,
    Sector,
    StageStatus,
    load_vocabulary,
)
from mobility_match.matching.engine import solve_round, uses_flow_path
from mobility_match.matching.policy import STAGES, Policy
from mobility_match.matching.rules import is_acceptable, preference_rank
from tests.factories import make_offer, make_student, need

VOCABULARY = load_vocabulary()
TRADES = {"commerce": Sector.SERVICES, "cuisine": Sector.SERVICES, "mv": Sector.PRODUCTION}
WINDOWS = [
    (dt.date(2027, 4, 1), dt.date(2027, 7, 31)),
    (dt.date(2027, 4, 1), dt.date(2027, 5, 31)),
    (dt.date(2027, 6, 1), dt.date(2027, 9, 30)),
]
PERIODS = [
    (dt.date(2027, 5, 3), dt.date(2027, 5, 28)),
    (dt.date(2027, 6, 7), dt.date(2027, 7, 16)),
]


@st.composite
def offers_strategy(draw: st.DrawFn) -> list[Offer]:
    offers = []
    for j in range(draw(st.integers(1, 4))):
        country = draw(st.sampled_from(list(Country)))
        trade = draw(st.sampled_from(sorted(TRADES)))
        star = draw(st.booleans())
        start, end = draw(st.sampled_from(PERIODS))
        offers.append(
            make_offer(
                f"{country.value}-{j}",
                country=country,
                sector=TRADES[trade],
                trades=frozenset() if star else frozenset({trade}),
                places=draw(st.integers(1, 2)),
                start_date=start,
                end_date=end,
                language_requirement=draw(
                    st.sampled_from([(), need("de:A2"), need("en:B2|de:B1")])
                ),
                accepts_minors=draw(st.booleans()),
            )
        )
    return offers


@st.composite
def round_strategy(draw: st.DrawFn) -> RoundInput:
    offers = draw(offers_strategy())
    wish_pool = [o.offer_id for o in offers] + ["DE", "PL", "UK", "*"]
    students = []
    for i in range(draw(st.integers(1, 6))):
        start, end = draw(st.sampled_from(WINDOWS))
        wishes = draw(st.lists(st.sampled_from(wish_pool), max_size=3, unique=True))
        students.append(
            make_student(
                f"S{i}",
                gender=draw(st.sampled_from([Gender.F, Gender.F, Gender.M, Gender.M, Gender.X])),
                school_id=draw(st.sampled_from(["LP-A", "LP-B", "CFA-C"])),
                trade=draw(st.sampled_from(sorted(TRADES))),
                birth_date=draw(st.sampled_from([dt.date(2005, 1, 9), dt.date(2009, 12, 1)])),
                available_from=start,
                available_to=end,
                languages=draw(st.sampled_from([{}, {"en": 3}, {"de": 2}, {"en": 4, "de": 3}])),
                preferences=tuple(wishes) if draw(st.booleans()) else (),
            )
        )
    locks = []
    taken: dict[str, int] = {}
    for student in students:
        if draw(st.integers(0, 9)) == 0:
            choices = [
                o
                for o in offers
                if is_acceptable(student, o, VOCABULARY) and taken.get(o.offer_id, 0) < o.places
            ]
            offer = draw(st.sampled_from([None, *choices]))
            if offer is not None:
                taken[offer.offer_id] = taken.get(offer.offer_id, 0) + 1
            locks.append(Lock(student.student_id, None if offer is None else offer.offer_id))
    return RoundInput(tuple(students), tuple(offers), tuple(locks))


@st.composite
def policy_strategy(draw: st.DrawFn) -> Policy:
    if draw(st.integers(0, 2)) == 0:
        return Policy()
    stages = draw(st.permutations(STAGES))[: draw(st.integers(1, 4))]
    tolerance = {name: Fraction(draw(st.sampled_from([0, 0, 10, 25, 50])), 100) for name in stages}
    return Policy(stages=tuple(stages), tolerance=tolerance)


# ---- brute force ----------------------------------------------------------------------


def stage_values(
    round_input: RoundInput, assignment: Sequence[int | None], eligible: Sequence[bool]
) -> dict[str, Fraction]:
    students, offers = round_input.students, round_input.offers
    placed = [j is not None for j in assignment]
    count = {
        g: sum(1 for s, e in zip(students, eligible, strict=True) if e and s.gender is g)
        for g in Gender
    }
    got = {
        g: sum(1 for s, p in zip(students, placed, strict=True) if p and s.gender is g)
        for g in Gender
    }
    gap = Fraction(0)
    if count[Gender.F] and count[Gender.M]:
        gap = abs(
            Fraction(got[Gender.F], count[Gender.F]) - Fraction(got[Gender.M], count[Gender.M])
        )
    cost = 0
    for s, j in zip(students, assignment, strict=True):
        if j is not None:
            rank = preference_rank(s, offers[j])
            cost += 0 if rank is None else rank - 1
    rates = []
    for school in {s.school_id for s in students}:
        members = [k for k, s in enumerate(students) if s.school_id == school and eligible[k]]
        if members:
            rates.append(Fraction(sum(placed[k] for k in members), len(members)))
    return {
        "placements": Fraction(sum(placed)),
        "gender_gap": gap,
        "preferences": Fraction(cost),
        "school_fairness": min(rates, default=Fraction(1)),
    }


def keeps(stage: str, value: Fraction, best: Fraction, tolerance: Fraction) -> bool:
    """The tolerance semantics of the policy, written out independently."""
    if stage == "placements":
        return value >= math.ceil(best * (1 - tolerance))
    if stage == "preferences":
        return value <= math.floor(best * (1 + tolerance))
    if stage == "gender_gap":
        return value <= best + tolerance
    return value >= best - tolerance


def feasible_assignments(
    round_input: RoundInput,
) -> Iterator[tuple[tuple[int | None, ...], dict[str, Fraction]]]:
    """Every assignment that keeps the hard rules, the places and the locks, with its values."""
    students, offers = round_input.students, round_input.offers
    acceptable = [
        [j for j, o in enumerate(offers) if is_acceptable(s, o, VOCABULARY)] for s in students
    ]
    eligible = [bool(a) for a in acceptable]
    lock = {lk.student_id: lk.offer_id for lk in round_input.locks}
    index = {o.offer_id: j for j, o in enumerate(offers)}
    choices: list[list[int | None]] = []
    for s, a in zip(students, acceptable, strict=True):
        if s.student_id in lock:
            offer_id = lock[s.student_id]
            choices.append([None] if offer_id is None else [index[offer_id]])
        else:
            choices.append([None, *a])
    for assignment in itertools.product(*choices):
        load = [0] * len(offers)
        for j in assignment:
            if j is not None:
                load[j] += 1
        if all(load[j] <= o.places for j, o in enumerate(offers)):
            yield assignment, stage_values(round_input, assignment, eligible)


def brute_force(
    round_input: RoundInput, policy: Policy
) -> tuple[dict[str, Fraction], list[tuple[int | None, ...]]]:
    """Return each stage's lexicographic optimum, and every assignment reaching them all."""
    candidates = list(feasible_assignments(round_input))
    best: dict[str, Fraction] = {}
    for stage in policy.stages:
        maximise = stage in ("placements", "school_fairness")
        values = [c[1][stage] for c in candidates]
        best[stage] = max(values) if maximise else min(values)
        tolerance = policy.tolerance_of(stage)
        if stage == policy.stages[-1]:
            tolerance = Fraction(0)  # the last stage's own optimum is what is returned
        candidates = [c for c in candidates if keeps(stage, c[1][stage], best[stage], tolerance)]
    return best, [c[0] for c in candidates]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_strategy(), policy_strategy())
def test_every_stage_equals_brute_force(round_input: RoundInput, policy: Policy) -> None:
    """It reaches, and proves, the lexicographic optimum of every stage of the policy."""
    result = solve_round(round_input, VOCABULARY, policy, time_limit=30)
    expected, optimal_assignments = brute_force(round_input, policy)
    got = {stage.name: stage.value for stage in result.stages}
    assert got == expected, f"flow path: {uses_flow_path(policy)}"
    index = {o.offer_id: j for j, o in enumerate(round_input.offers)}
    returned = tuple(None if p.offer_id is None else index[p.offer_id] for p in result.placements)
    assert returned in optimal_assignments
    assert all(stage.status is StageStatus.OPTIMAL for stage in result.stages)
    assert all(stage.bound == stage.value for stage in result.stages)


@settings(max_examples=60, deadline=None)
@given(round_strategy(), policy_strategy())
def test_cp_sat_path_agrees(round_input: RoundInput, policy: Policy) -> None:
    """The CP-SAT path alone reaches the same stage values as the brute force."""
    result = solve_round(round_input, VOCABULARY, policy, time_limit=30, cp_sat_only=True)
    assert {s.name: s.value for s in result.stages} == brute_force(round_input, policy)[0]
