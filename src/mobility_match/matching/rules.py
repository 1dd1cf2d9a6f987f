"""The hard rules: when a (student, offer) pair is acceptable at all.

Each rule is one function with the same signature, listed once in HARD_RULES,
in the order in which explanations count exclusions. "Why was Léa not sent to
Kraków?" is answered by reading this list. The solver only ever sees pairs that
pass every rule; nothing here knows about capacities, locks or objectives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mobility_match.domain import ANY_OTHER, Country, Offer, Student, Vocabulary


def trade_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: the offer lists the student's trade, or is open to every trade of its sector."""
    if offer.takes_every_trade:
        trade = vocabulary.trades.get(student.trade)
        return trade is not None and trade.sector is offer.sector
    return student.trade in offer.trades


def language_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: the student meets one alternative of the language requirement, if any."""
    if not offer.language_requirement:
        return True
    return any(
        student.languages.get(need.lang, 0) >= need.level for need in offer.language_requirement
    )


def dates_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: the student's availability window contains the whole placement period."""
    return student.available_from <= offer.start_date and offer.end_date <= student.available_to


def age_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: a student under 18 on the start date needs an offer that takes minors.

    An offer in the United Kingdom never does, whatever its file says: a work
    placement there needs a visa that requires the trainee to be 18 or over.
    """
    return offer.takes_minors or not student.is_minor_on(offer.start_date)


def preferences_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: a student who listed preferences without `*` only goes where they point."""
    return not student.preferences or preference_rank(student, offer) is not None


@dataclass(frozen=True)
class HardRule:
    """A named hard rule, with the phrase used when it excludes offers."""

    name: str
    check: Callable[[Student, Offer, Vocabulary], bool]
    excluded_phrase: str
    """Completes "N offers …" in an explanation."""


HARD_RULES: tuple[HardRule, ...] = (
    HardRule("trade", trade_rule, "are for another trade"),
    HardRule("language", language_rule, "need a language level the student does not have"),
    HardRule("dates", dates_rule, "fall outside the student's availability window"),
    HardRule("age", age_rule, "do not take minors"),
    HardRule("preferences", preferences_rule, "are not among the student's preferences"),
)
"""Every hard rule, in the order explanations count them."""


def preference_rank(student: Student, offer: Offer) -> int | None:
    """Return the 1-based rank of the first preference the offer satisfies, or None.

    An entry is satisfied by the offer's id, its country, or `*`. None also when the
    student listed no preference at all.
    """
    for rank, entry in enumerate(student.preferences, start=1):
        if entry in (offer.offer_id, offer.country.value, ANY_OTHER):
            return rank
    return None


def preference_cost(student: Student, offer: Offer) -> int:
    """Return rank − 1: a first choice costs the same as having listed no preference."""
    rank = preference_rank(student, offer)
    return 0 if rank is None else rank - 1


def failed_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> HardRule | None:
    """Return the first hard rule the pair breaks, or None when the pair is acceptable."""
    for rule in HARD_RULES:
        if not rule.check(student, offer, vocabulary):
            return rule
    return None


def broken_rules(student: Student, offer: Offer, vocabulary: Vocabulary) -> tuple[HardRule, ...]:
    """Return every hard rule the pair breaks, in HARD_RULES order (empty: acceptable)."""
    return tuple(rule for rule in HARD_RULES if not rule.check(student, offer, vocabulary))


def is_acceptable(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Tell whether a pair passes every hard rule."""
    return failed_rule(student, offer, vocabulary) is None


def why_not(student: Student, offer: Offer, vocabulary: Vocabulary) -> str | None:
    """Return a sentence saying which hard rule the pair breaks, or None if it breaks none."""
    rule = failed_rule(student, offer, vocabulary)
    if rule is None:
        return None
    if rule.name == "trade":
        listed = "every trade of " + offer.sector.value
        if not offer.takes_every_trade:
            listed = ", ".join(sorted(offer.trades))
        return f"trade rule: the offer is for {listed}, not {student.trade}"
    if rule.name == "language":
        needs = " or ".join(str(need) for need in offer.language_requirement)
        return f"language rule: the offer needs {needs}, which the student does not have"
    if rule.name == "dates":
        return (
            f"dates rule: the placement runs {offer.start_date} to {offer.end_date}, outside "
            f"the student's window {student.available_from} to {student.available_to}"
        )
    if rule.name == "age":
        where = "a UK offer" if offer.country is Country.UK else "an offer that takes no minors"
        return f"age rule: the student is under 18 on {offer.start_date} and this is {where}"
    return "preferences rule: the offer is not among the student's preferences"


__all__ = [
    "HARD_RULES",
    "HardRule",
    "age_rule",
    "broken_rules",
    "dates_rule",
    "failed_rule",
    "is_acceptable",
    "language_rule",
    "preference_cost",
    "preference_rank",
    "preferences_rule",
    "trade_rule",
]
