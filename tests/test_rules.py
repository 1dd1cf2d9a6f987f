"""Each hard rule alone, on a pair that passes and a pair that fails; and the vectorised
evaluation of the rules (pairs.py) agreeing with the rules themselves."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mobility_match.domain import Country, Sector, load_vocabulary
from mobility_match.matching.pairs import RuleTable, adult_from
from mobility_match.matching.rules import (
    HARD_RULES,
    age_rule,
    dates_rule,
    failed_rule,
    language_rule,
    preference_cost,
    preference_rank,
    preferences_rule,
    trade_rule,
    why_not,
)
from tests.factories import make_offer, make_student, need, random_round

VOCABULARY = load_vocabulary()


def test_trade_rule_accepts_a_listed_trade() -> None:
    """It accepts an offer that lists the student's trade."""
    offer = make_offer(trades=frozenset({"commerce", "accueil"}))
    assert trade_rule(make_student(trade="accueil"), offer, VOCABULARY)


def test_trade_rule_rejects_an_unlisted_trade() -> None:
    """It rejects an offer for other trades of the same sector."""
    assert not trade_rule(make_student(trade="cuisine"), make_offer(), VOCABULARY)


def test_trade_rule_star_takes_every_trade_of_the_sector_only() -> None:
    """`*` takes every trade of the offer's sector and none of the other sector."""
    offer = make_offer(trades=frozenset(), sector=Sector.PRODUCTION)
    assert trade_rule(make_student(trade="mv"), offer, VOCABULARY)
    assert not trade_rule(make_student(trade="coiffure"), offer, VOCABULARY)


def test_language_rule_accepts_one_alternative_met() -> None:
    """German B1 or English B2: English B2 alone is enough."""
    offer = make_offer(language_requirement=need("de:B1|en:B2"))
    assert language_rule(make_student(languages={"en": 4}), offer, VOCABULARY)


def test_language_rule_rejects_a_level_below_every_alternative() -> None:
    """English B1 meets neither German B1 nor English B2."""
    offer = make_offer(language_requirement=need("de:B1|en:B2"))
    assert not language_rule(make_student(languages={"en": 3}), offer, VOCABULARY)


def test_language_rule_no_requirement_accepts_anyone() -> None:
    """An offer without a requirement accepts a student who speaks no listed language."""
    assert language_rule(make_student(languages={}), make_offer(), VOCABULARY)


def test_dates_rule_accepts_a_period_inside_the_window() -> None:
    """A placement from 3 May to 11 June fits a window from 1 April to 31 July."""
    assert dates_rule(make_student(), make_offer(), VOCABULARY)


def test_dates_rule_rejects_a_period_ending_after_the_window() -> None:
    """A window ending on 10 June cannot hold a placement ending on 11 June."""
    student = make_student(available_to=dt.date(2027, 6, 10))
    assert not dates_rule(student, make_offer(), VOCABULARY)


def test_age_rule_minor_needs_an_offer_taking_minors() -> None:
    """A 17-year-old goes to a German offer that takes minors, not to one that does not."""
    minor = make_student(birth_date=dt.date(2010, 1, 5))
    assert age_rule(minor, make_offer(accepts_minors=True), VOCABULARY)
    assert not age_rule(minor, make_offer(accepts_minors=False), VOCABULARY)


def test_age_rule_uk_never_takes_a_minor() -> None:
    """A UK offer marked as taking minors still refuses a minor: the visa needs 18+."""
    minor = make_student(birth_date=dt.date(2010, 1, 5))
    uk = make_offer("UK-001", country=Country.UK, accepts_minors=True)
    assert not age_rule(minor, uk, VOCABULARY)
    assert "UK offer" in (why_not(minor, uk, VOCABULARY) or "")


def test_age_rule_counts_the_birthday_as_of_age() -> None:
    """A student turning 18 on the start date is of age that day, not the day before."""
    offer = make_offer(start_date=dt.date(2027, 5, 3))
    assert age_rule(make_student(birth_date=dt.date(2009, 5, 3)), offer, VOCABULARY)
    assert not age_rule(make_student(birth_date=dt.date(2009, 5, 4)), offer, VOCABULARY)


def test_leap_day_births_come_of_age_on_first_of_march() -> None:
    """Born on 29 February 2008: of age on 1 March 2026, still a minor on 28 February."""
    assert adult_from(dt.date(2008, 2, 29)) == dt.date(2026, 3, 1)
    student = make_student(birth_date=dt.date(2008, 2, 29))
    assert student.is_minor_on(dt.date(2026, 2, 28))
    assert not student.is_minor_on(dt.date(2026, 3, 1))


def test_preferences_rule_without_star_limits_to_what_is_listed() -> None:
    """Listing only Poland excludes a German offer; adding `*` lets it back in."""
    assert not preferences_rule(make_student(preferences=("PL",)), make_offer(), VOCABULARY)
    assert preferences_rule(make_student(preferences=("PL", "*")), make_offer(), VOCABULARY)


def test_preferences_rule_empty_accepts_everything() -> None:
    """A student who listed nothing accepts every feasible offer."""
    assert preferences_rule(make_student(preferences=()), make_offer(), VOCABULARY)


def test_preference_rank_is_the_first_entry_the_offer_meets() -> None:
    """The rank is that of the first entry met: here the country, listed before the id."""
    student = make_student(preferences=("UK", "DE", "DE-001", "*"))
    assert preference_rank(student, make_offer("DE-001")) == 2
    assert preference_cost(student, make_offer("DE-001")) == 1
    assert preference_rank(make_student(preferences=()), make_offer()) is None
    assert preference_cost(make_student(preferences=()), make_offer()) == 0


def test_failed_rule_names_the_first_rule_broken() -> None:
    """A pair breaking trade and dates is reported under trade, the first in the list."""
    student = make_student(trade="mv", available_to=dt.date(2027, 5, 1))
    rule = failed_rule(student, make_offer(), VOCABULARY)
    assert rule is not None
    assert rule.name == "trade"
    assert [r.name for r in HARD_RULES] == ["trade", "language", "dates", "age", "preferences"]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_vectorised_rules_agree_with_each_rule(seed: int) -> None:
    """The acceptable pairs computed in blocks are exactly the pairs every rule accepts."""
    round_input = random_round(seed, n_students=25, n_offers=12, x_share=0.1, varied=True)
    students, offers = round_input.students, round_input.offers
    table = RuleTable(students, offers, VOCABULARY)
    pairs = table.acceptable_pairs()
    got = set(zip(pairs.student.tolist(), pairs.offer.tolist(), strict=True))
    expected = {
        (i, j)
        for i, s in enumerate(students)
        for j, o in enumerate(offers)
        if failed_rule(s, o, VOCABULARY) is None
    }
    assert got == expected
    for k in range(len(pairs)):
        s, o = students[pairs.student[k]], offers[pairs.offer[k]]
        assert pairs.cost[k] == preference_cost(s, o)
    for i, student in enumerate(students):
        checks = table.checks(np.array([i]), np.arange(len(offers)))
        for rule in HARD_RULES:
            expected_row = [rule.check(student, o, VOCABULARY) for o in offers]
            assert checks[rule.name][0].tolist() == expected_row, rule.name


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_exclusion_counts_follow_the_first_rule_each_offer_breaks(seed: int) -> None:
    """Per student, offers are counted under the first hard rule they break, as rules.py says."""
    round_input = random_round(seed, n_students=15, n_offers=12, x_share=0.1, varied=True)
    table = RuleTable(round_input.students, round_input.offers, VOCABULARY)
    # All students at once, as the explanations of a round ask.
    counts = table.exclusions(np.arange(len(round_input.students)))
    for i, student in enumerate(round_input.students):
        expected = dict.fromkeys((rule.name for rule in HARD_RULES), 0)
        for offer in round_input.offers:
            rule = failed_rule(student, offer, VOCABULARY)
            if rule is not None:
                expected[rule.name] += 1
        assert {name: int(c[i]) for name, c in counts.items()} == expected
