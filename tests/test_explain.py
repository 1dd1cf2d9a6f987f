"""Every unplaced student gets a reason a coordinator understands; each code on a tiny case."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from mobility_match.domain import Gender, Lock, ReasonCode, RoundInput, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import Policy
from tests.factories import make_offer, make_student, need

VOCABULARY = load_vocabulary()


def _solve(round_input: RoundInput, policy: Policy | None = None):  # type: ignore[no-untyped-def]
    return solve_round(round_input, VOCABULARY, policy or Policy(), time_limit=10)


def test_no_acceptable_offer_counts_offers_by_first_rule_broken() -> None:
    """It says how many offers each rule excluded, each offer under the first rule it breaks."""
    student = make_student(trade="commerce", languages={"en": 2}, birth_date=dt.date(2010, 1, 1))
    offers = (
        make_offer("DE-001", trades=frozenset({"cuisine"})),  # trade
        make_offer("DE-002", trades=frozenset({"mv"}), sector=make_offer().sector),  # trade
        make_offer("DE-003", language_requirement=need("en:B1")),  # language
        make_offer("DE-004", start_date=dt.date(2027, 9, 6), end_date=dt.date(2027, 10, 1)),
        make_offer("DE-005"),  # age: a minor, offer takes no minors
    )
    result = _solve(RoundInput((student,), offers))
    reason = result.placements[0].reason
    assert reason is not None
    assert reason.code is ReasonCode.NO_ACCEPTABLE_OFFER
    assert "None of the 5 offers" in reason.sentence
    assert "trade 2, language 1, dates 1, age 1, preferences 0" in reason.sentence
    assert str(reason).startswith("no_acceptable_offer: ")


def test_places_taken_names_up_to_three_filled_offers_best_ranked_first() -> None:
    """A student outranked everywhere hears which offers were filled, favourite first."""
    offers = tuple(make_offer(f"DE-00{k}") for k in range(1, 6))
    wishes = ("DE-004", "DE-002", "*")
    others = tuple(make_student(f"S{k}") for k in range(1, 6))
    locks = tuple(Lock(f"S{k}", f"DE-00{k}") for k in range(1, 6))
    late = make_student("LATE", preferences=wishes, gender=Gender.M)
    result = _solve(RoundInput((*others, late), offers, locks))
    unplaced = [p for p in result.placements if p.offer_id is None]
    assert len(unplaced) == 1
    reason = unplaced[0].reason
    assert reason is not None
    assert reason.code is ReasonCode.PLACES_TAKEN
    sentence = reason.sentence
    assert sentence.startswith("All 5 acceptable offers are full")
    assert sentence.index("DE-004") < sentence.index("DE-002") < sentence.index("DE-001")
    assert "DE-003" not in sentence
    assert sentence.endswith("and 2 more.")


def test_places_taken_with_a_single_acceptable_offer() -> None:
    """With one acceptable offer, the sentence says it is the only one."""
    students = (make_student("S1"), make_student("S2", gender=Gender.M))
    result = _solve(RoundInput(students, (make_offer(),)))
    reasons = [p.reason for p in result.placements if p.reason]
    assert len(reasons) == 1
    assert reasons[0].sentence.startswith("The only acceptable offer is full")


def test_locked_unplaced_is_said_so_and_marked_locked() -> None:
    """A student a coordinator locked out stays unplaced even with a free offer."""
    round_input = RoundInput((make_student(),), (make_offer(),), (Lock("S1", None),))
    placement = _solve(round_input).placements[0]
    assert placement.offer_id is None
    assert placement.locked
    assert placement.reason is not None
    assert placement.reason.code is ReasonCode.LOCKED_UNPLACED


def test_locked_placement_is_kept_and_marked() -> None:
    """A lock puts the student on the offer even when another student wanted it more."""
    offers = (make_offer("DE-001"), make_offer("DE-002"))
    keen = make_student("S2", preferences=("DE-001",), gender=Gender.M)
    round_input = RoundInput((make_student("S1"), keen), offers, (Lock("S1", "DE-001"),))
    placements = {p.student_id: p for p in _solve(round_input).placements}
    assert placements["S1"].offer_id == "DE-001"
    assert placements["S1"].locked
    assert placements["S2"].offer_id is None
    assert placements["S2"].reason is not None
    assert placements["S2"].reason.code is ReasonCode.PLACES_TAKEN


def test_policy_tradeoff_when_tolerance_gives_up_a_placement() -> None:
    """With a third of placements to give up for balance, a free place can stay free.

    Two girls, two boys, three places: placing three leaves a gap of 1/2; placing
    one girl and one boy closes it, and the tolerance allows two placements.
    """
    offers = (make_offer("DE-001", places=3),)
    students = (
        make_student("F1"),
        make_student("F2"),
        make_student("M1", gender=Gender.M),
        make_student("M2", gender=Gender.M),
        make_student("M3", gender=Gender.M, trade="cuisine"),  # eligible for nothing
    )
    policy = Policy(stages=("placements", "gender_gap"), tolerance={"placements": Fraction(1, 3)})
    result = _solve(RoundInput(students, offers), policy)
    codes = {p.student_id: p.reason.code for p in result.placements if p.reason}
    assert codes["M3"] is ReasonCode.NO_ACCEPTABLE_OFFER
    assert sorted(codes.values()).count(ReasonCode.POLICY_TRADEOFF) == 2
    assert result.stages[0].value == 3
    assert result.stages[1].value == 0
    tradeoff = next(p.reason for p in result.placements if p.reason and p.student_id != "M3")
    assert tradeoff is not None
    assert "DE-001" in tradeoff.sentence
