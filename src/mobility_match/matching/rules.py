"""The hard rules: when a (student, offer) pair is acceptable at all.

Each rule is written once, as one class: its check of one pair, its mask over
many pairs at once (pairs.py builds a round's acceptable pairs from these), and
the sentence that explains a refusal. The rules are listed once, in HARD_RULES,
in the order in which explanations count exclusions: adding a rule is adding a
class to that list. "Why was Léa not sent to Kraków?" is answered by reading it.
The solver only ever sees pairs that pass every rule; nothing here knows about
capacities, locks or objectives.

A mask takes index arrays of students and of offers that broadcast together
(`rows[:, None]` and `cols[None, :]` for a block, or two aligned arrays for a
list of pairs) and returns the rule's verdict for each, from per-student and
per-offer columns it computes once per round (`columns`).

Besides the pair, the rules read the trade list (Vocabulary) and the preparation
checklists: where a country's visa may only be applied for by an adult, a student
must be 18 on the visa step's deadline, read from the same checklist data that
dates the student's steps (documents/checklists.py, data only, no rendering).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

from mobility_match.documents.checklists import Checklists, load_checklists
from mobility_match.domain import ADULT_AGE, ANY_OTHER, Country, Offer, Student, Vocabulary

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def adult_from(birth_date: dt.date) -> dt.date:
    """Return the first day on which a person born on `birth_date` is 18.

    Someone born on 29 February comes of age on 1 March in a common year, which
    agrees with Student.is_minor_on.
    """
    year = birth_date.year + ADULT_AGE
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return dt.date(year, 3, 1)


# ---- what the rules read besides the pair --------------------------------------------


@dataclass(frozen=True)
class AgeLimit:
    """By which day a student must be 18 to take an offer, and why."""

    day: dt.date
    """The start date, or the visa application's deadline when the offer needs a visa."""
    visa: bool
    """True when `day` is the deadline of a visa only adults may apply for."""
    minors_ok: bool
    """A minor may take the offer (it takes minors, and needs no adults-only visa)."""


_deployed_checklists: Checklists | None = None
"""The checklists of this process's deployment (its override folder), if set: see
use_checklists."""


def use_checklists(checklists: Checklists | None) -> None:
    """Make `checklists` the default of every rule in this process (None: the packaged
    ones again). The service calls it once at start with the checklists of its settings'
    folder, so that the solver, the move check, the explanations and the pages read the
    same visa deadline as the checklists and documents."""
    global _deployed_checklists  # noqa: PLW0603 - one deployment per process
    _deployed_checklists = checklists


@dataclass(frozen=True)
class RuleContext:
    """What the hard rules read besides the student and the offer."""

    vocabulary: Vocabulary
    checklists: Checklists

    @classmethod
    def of(cls, vocabulary: Vocabulary, checklists: Checklists | None = None) -> RuleContext:
        """The context of a round; without checklists, the deployment's (use_checklists),
        else the packaged ones (as the CLI uses)."""
        if checklists is None:
            checklists = _deployed_checklists or load_checklists()
        return cls(vocabulary, checklists)

    def age_limit(self, offer: Offer) -> AgeLimit:
        """Return by when a student must be 18 to take the offer."""
        deadline = self.checklists.adult_visa_deadline(
            offer.country, start_date=offer.start_date, end_date=offer.end_date
        )
        if deadline is None:
            return AgeLimit(offer.start_date, visa=False, minors_ok=offer.takes_minors)
        return AgeLimit(min(deadline, offer.start_date), visa=True, minors_ok=False)


def age_limit(offer: Offer, checklists: Checklists | None = None) -> AgeLimit:
    """Return by when a student must be 18 to take the offer (packaged checklists by default)."""
    return RuleContext.of(_NO_VOCABULARY, checklists).age_limit(offer)


_NO_VOCABULARY = Vocabulary(trades={}, partners={})
"""The age limit reads no vocabulary."""


# ---- the rule, as one definition ------------------------------------------------------

Columns = TypeVar("Columns")


class Rule(ABC, Generic[Columns]):
    """A hard rule: its check of one pair, its mask of many, its refusal's sentence."""

    name: str
    """Stable identifier: reason counts, pages and translations are keyed by it."""
    excluded_phrase: str
    """Completes "N offers …" in an explanation."""

    @abstractmethod
    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        """Tell whether the pair passes the rule."""

    @abstractmethod
    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> Columns:
        """Return what the mask reads, as arrays per student and per offer (once per round)."""

    @abstractmethod
    def mask(self, columns: Columns, rows: IntArray, cols: IntArray) -> BoolArray:
        """Tell, for students `rows` and offers `cols` (broadcast together), who passes."""

    @abstractmethod
    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        """Say, in one clause starting with the rule's name, why the pair breaks the rule."""

    def check(
        self,
        student: Student,
        offer: Offer,
        vocabulary: Vocabulary,
        checklists: Checklists | None = None,
    ) -> bool:
        """Tell whether the pair passes the rule."""
        return self.holds(student, offer, RuleContext.of(vocabulary, checklists))

    @property
    def summary(self) -> str:
        """What the rule asks, in one sentence: the first line of its docstring."""
        first = (type(self).__doc__ or self.name).strip().splitlines()[0]
        sentence = first.removeprefix("Hard rule: ")
        return sentence[:1].upper() + sentence[1:]

    def __repr__(self) -> str:
        return f"<hard rule {self.name}>"


HardRule = Rule[Any]
"""A hard rule, whatever its columns: what HARD_RULES holds."""


# ---- trade ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeColumns:
    offer_trades: BoolArray
    """Per offer and trade: the offer is open to the trade; the last column (unknown trade)
    is False everywhere."""
    trade_column: dict[str, int]
    student_trade: IntArray
    """Per student: the column of his or her trade."""

    def offers_open_to(self, column: int) -> IntArray:
        """Return the indexes of the offers open to a trade column, in order."""
        return np.flatnonzero(self.offer_trades[:, column]).astype(np.int64)


class TradeRule(Rule[TradeColumns]):
    """Hard rule: the offer lists the student's trade, or is open to every trade of its sector."""

    name = "trade"
    excluded_phrase = "are for another trade"

    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        if offer.takes_every_trade:
            trade = context.vocabulary.trades.get(student.trade)
            return trade is not None and trade.sector is offer.sector
        return student.trade in offer.trades

    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> TradeColumns:
        vocabulary = context.vocabulary
        codes = sorted(set(vocabulary.trades) | {t for o in offers for t in o.trades})
        column = {code: k for k, code in enumerate(codes)}
        offer_trades = np.zeros((len(offers), len(codes) + 1), dtype=bool)
        for j, offer in enumerate(offers):
            listed = vocabulary.trades_of(offer.sector) if offer.takes_every_trade else offer.trades
            offer_trades[j, [column[code] for code in listed]] = True
        unknown = len(codes)
        student_trade = np.array([column.get(s.trade, unknown) for s in students], dtype=np.int64)
        return TradeColumns(offer_trades, column, student_trade)

    def mask(self, columns: TradeColumns, rows: IntArray, cols: IntArray) -> BoolArray:
        return columns.offer_trades[cols, columns.student_trade[rows]]

    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        listed = "every trade of " + offer.sector.value
        if not offer.takes_every_trade:
            listed = ", ".join(sorted(offer.trades))
        return f"trade rule: the offer is for {listed}, not {student.trade}"


# ---- language -------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageColumns:
    levels: npt.NDArray[np.int8]
    """Per student and language: the CEFR rank (0: none)."""
    need_lang: IntArray
    """Per offer and alternative: the language, -1 for padding (never met)."""
    need_level: npt.NDArray[np.int8]
    has_need: BoolArray


class LanguageRule(Rule[LanguageColumns]):
    """Hard rule: the student meets one alternative of the language requirement, if any."""

    name = "language"
    excluded_phrase = "need a language level the student does not have"

    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        if not offer.language_requirement:
            return True
        return any(
            student.languages.get(need.lang, 0) >= need.level for need in offer.language_requirement
        )

    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> LanguageColumns:
        languages = sorted(
            {lang for s in students for lang in s.languages}
            | {need.lang for o in offers for need in o.language_requirement}
        )
        index = {lang: k for k, lang in enumerate(languages)}
        levels = np.zeros((len(students), max(1, len(languages))), dtype=np.int8)
        for i, student in enumerate(students):
            for lang, level in student.languages.items():
                levels[i, index[lang]] = level
        width = max((len(o.language_requirement) for o in offers), default=0)
        need_lang = np.full((len(offers), width), -1, dtype=np.int64)
        need_level = np.zeros((len(offers), width), dtype=np.int8)
        for j, offer in enumerate(offers):
            for k, need in enumerate(offer.language_requirement):
                need_lang[j, k] = index[need.lang]
                need_level[j, k] = need.level
        has_need = need_lang[:, 0] >= 0 if width else np.zeros(len(offers), dtype=bool)
        return LanguageColumns(levels, need_lang, need_level, has_need)

    def mask(self, columns: LanguageColumns, rows: IntArray, cols: IntArray) -> BoolArray:
        ok = np.broadcast_to(~columns.has_need[cols], np.broadcast_shapes(rows.shape, cols.shape))
        for k in range(columns.need_lang.shape[1]):
            lang = columns.need_lang[cols, k]
            met = columns.levels[rows, np.maximum(lang, 0)] >= columns.need_level[cols, k]
            ok = ok | (met & (lang >= 0))
        return ok

    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        needs = " or ".join(str(need) for need in offer.language_requirement)
        return f"language rule: the offer needs {needs}, which the student does not have"


# ---- dates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DatesColumns:
    available_from: IntArray
    available_to: IntArray
    start: IntArray
    end: IntArray


class DatesRule(Rule[DatesColumns]):
    """Hard rule: the student's availability window contains the whole placement period."""

    name = "dates"
    excluded_phrase = "fall outside the student's availability window"

    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        return student.available_from <= offer.start_date and offer.end_date <= student.available_to

    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> DatesColumns:
        return DatesColumns(
            np.array([s.available_from.toordinal() for s in students], dtype=np.int64),
            np.array([s.available_to.toordinal() for s in students], dtype=np.int64),
            np.array([o.start_date.toordinal() for o in offers], dtype=np.int64),
            np.array([o.end_date.toordinal() for o in offers], dtype=np.int64),
        )

    def mask(self, columns: DatesColumns, rows: IntArray, cols: IntArray) -> BoolArray:
        return (columns.available_from[rows] <= columns.start[cols]) & (
            columns.end[cols] <= columns.available_to[rows]
        )

    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        return (
            f"dates rule: the placement runs {offer.start_date} to {offer.end_date}, outside "
            f"the student's window {student.available_from} to {student.available_to}"
        )

    def by_window(self, columns: DatesColumns, rows: IntArray) -> IntArray:
        """Return `rows` ordered by the start of their windows, so that a run of them shares
        a narrow span of dates (pairs.py then looks only at the offers inside it)."""
        return rows[np.argsort(columns.available_from[rows], kind="stable")]

    def within_span(self, columns: DatesColumns, rows: IntArray, cols: IntArray) -> IntArray:
        """Return the offers of `cols` that fall inside the span of all the rows' windows:
        the others break this rule for every student of `rows`."""
        lo = columns.available_from[rows].min()
        hi = columns.available_to[rows].max()
        inside: IntArray = cols[(columns.start[cols] >= lo) & (columns.end[cols] <= hi)]
        return inside


# ---- age ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeColumns:
    adult_from: IntArray
    """Per student: the day (ordinal) he or she turns 18."""
    adult_by: IntArray
    """Per offer: the day (ordinal) by which a student must be 18 (AgeLimit.day)."""
    minors_ok: BoolArray


class AgeRule(Rule[AgeColumns]):
    """Hard rule: a student under 18 on the start date needs an offer that takes minors.

    An offer in the United Kingdom never does, whatever its file says: a work
    placement there needs a visa that only an adult may apply for, so the student
    must be 18 on the deadline of the checklist's visa application step, weeks
    before the start (RuleContext.age_limit).
    """

    name = "age"
    excluded_phrase = "do not take minors"

    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        limit = context.age_limit(offer)
        return limit.minors_ok or not student.is_minor_on(limit.day)

    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> AgeColumns:
        # Computed once per offer, never per pair.
        limits = [context.age_limit(o) for o in offers]
        return AgeColumns(
            np.array([adult_from(s.birth_date).toordinal() for s in students], dtype=np.int64),
            np.array([limit.day.toordinal() for limit in limits], dtype=np.int64),
            np.array([limit.minors_ok for limit in limits], dtype=bool),
        )

    def mask(self, columns: AgeColumns, rows: IntArray, cols: IntArray) -> BoolArray:
        return columns.minors_ok[cols] | (columns.adult_from[rows] <= columns.adult_by[cols])

    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        limit = context.age_limit(offer)
        if limit.visa:
            return (
                f"age rule: the student is under 18 on {limit.day}, the deadline of the visa "
                f"application a {offer.country.value} offer needs (the placement starts on "
                f"{offer.start_date}), and only an adult may apply for that visa"
            )
        where = "a UK offer" if offer.country is Country.UK else "an offer that takes no minors"
        return f"age rule: the student is under 18 on {offer.start_date} and this is {where}"


# ---- preferences ----------------------------------------------------------------------


@dataclass(frozen=True)
class PreferenceColumns:
    listed: IntArray
    """Per student: how many preferences he or she listed."""
    entry_offer: IntArray
    """Per student and entry: the offer the entry names, -1 if none."""
    entry_country: IntArray
    """Per student and entry: the country the entry names, -2 if none."""
    entry_any: BoolArray
    """Per student and entry: the entry is `*`."""
    offer_country: IntArray


class PreferencesRule(Rule[PreferenceColumns]):
    """Hard rule: a student who listed preferences without `*` only goes where they point."""

    name = "preferences"
    excluded_phrase = "are not among the student's preferences"

    def holds(self, student: Student, offer: Offer, context: RuleContext) -> bool:
        return not student.preferences or preference_rank(student, offer) is not None

    def columns(
        self, students: Sequence[Student], offers: Sequence[Offer], context: RuleContext
    ) -> PreferenceColumns:
        countries = {country.value: k for k, country in enumerate(Country)}
        offer_index = {o.offer_id: j for j, o in enumerate(offers)}
        width = max((len(s.preferences) for s in students), default=0)
        entry_offer = np.full((len(students), width), -1, dtype=np.int64)
        entry_country = np.full((len(students), width), -2, dtype=np.int64)
        entry_any = np.zeros((len(students), width), dtype=bool)
        for i, student in enumerate(students):
            for k, entry in enumerate(student.preferences):
                entry_offer[i, k] = offer_index.get(entry, -1)
                entry_country[i, k] = countries.get(entry, -2)
                entry_any[i, k] = entry == ANY_OTHER
        return PreferenceColumns(
            np.array([len(s.preferences) for s in students], dtype=np.int64),
            entry_offer,
            entry_country,
            entry_any,
            np.array([countries[o.country.value] for o in offers], dtype=np.int64),
        )

    @staticmethod
    def _names(columns: PreferenceColumns, k: int, rows: IntArray, cols: IntArray) -> BoolArray:
        """Tell whether entry k of each student names the offer: its id, country, or `*`."""
        named: BoolArray = (
            (columns.entry_offer[rows, k] == cols)
            | (columns.entry_country[rows, k] == columns.offer_country[cols])
            | columns.entry_any[rows, k]
        )
        return named

    def ranks(
        self, columns: PreferenceColumns, rows: IntArray, cols: IntArray
    ) -> npt.NDArray[np.unsignedinteger[Any]]:
        """Return the rank of the first preference each offer meets (0: none), as
        preference_rank does for one pair."""
        shape = np.broadcast_shapes(rows.shape, cols.shape)
        # Ranks are small: the narrowest type that holds them makes a block's pass cheaper.
        rank = np.zeros(shape, dtype=np.min_scalar_type(columns.entry_offer.shape[1]))
        # From the last entry to the first, so that the first entry met is the one kept.
        for k in reversed(range(columns.entry_offer.shape[1])):
            np.copyto(rank, k + 1, where=self._names(columns, k, rows, cols))
        return rank

    def mask(self, columns: PreferenceColumns, rows: IntArray, cols: IntArray) -> BoolArray:
        ok: BoolArray = columns.listed[rows] == 0
        for k in range(columns.entry_offer.shape[1]):
            ok = ok | self._names(columns, k, rows, cols)
        return ok

    def refusal(self, student: Student, offer: Offer, context: RuleContext) -> str:
        return "preferences rule: the offer is not among the student's preferences"


# ---- the list -------------------------------------------------------------------------

TRADE = TradeRule()
LANGUAGE = LanguageRule()
DATES = DatesRule()
AGE = AgeRule()
PREFERENCES = PreferencesRule()


class RuleList:
    """The hard rules in force, in the order explanations count them.

    Iterable and indexable like a tuple. `added` puts a rule in force for a
    `with` block (a test's throw-away rule); the rules of the programme are
    the ones listed below, not added at run time.
    """

    def __init__(self, rules: Sequence[HardRule]) -> None:
        self._rules: tuple[HardRule, ...] = tuple(rules)

    def __iter__(self) -> Iterator[HardRule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    @overload
    def __getitem__(self, index: int) -> HardRule: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[HardRule, ...]: ...

    def __getitem__(self, index: int | slice) -> HardRule | tuple[HardRule, ...]:
        return self._rules[index]

    def __repr__(self) -> str:
        return f"RuleList({[rule.name for rule in self._rules]})"

    @contextmanager
    def added(self, rule: HardRule) -> Iterator[HardRule]:
        """Put `rule` in force, last, for the duration of a `with` block."""
        if any(r.name == rule.name for r in self._rules):
            raise ValueError(f"a hard rule named {rule.name!r} is already in force")
        before = self._rules
        self._rules = (*before, rule)
        try:
            yield rule
        finally:
            self._rules = before


HARD_RULES = RuleList((TRADE, LANGUAGE, DATES, AGE, PREFERENCES))
"""Every hard rule, in the order explanations count them."""


# ---- one pair -------------------------------------------------------------------------


def trade_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: the offer lists the student's trade, or is open to every trade of its sector."""
    return TRADE.check(student, offer, vocabulary)


def language_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: the student meets one alternative of the language requirement, if any."""
    return LANGUAGE.check(student, offer, vocabulary)


def dates_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: the student's availability window contains the whole placement period."""
    return DATES.check(student, offer, vocabulary)


def age_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: a minor needs an offer taking minors; in the UK, 18 by the visa deadline."""
    return AGE.check(student, offer, vocabulary)


def preferences_rule(student: Student, offer: Offer, vocabulary: Vocabulary) -> bool:
    """Hard rule: a student who listed preferences without `*` only goes where they point."""
    return PREFERENCES.check(student, offer, vocabulary)


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


def broken_rules(
    student: Student,
    offer: Offer,
    vocabulary: Vocabulary,
    checklists: Checklists | None = None,
) -> tuple[HardRule, ...]:
    """Return every hard rule the pair breaks, in HARD_RULES order (empty: acceptable)."""
    context = RuleContext.of(vocabulary, checklists)
    return tuple(rule for rule in HARD_RULES if not rule.holds(student, offer, context))


def failed_rule(
    student: Student,
    offer: Offer,
    vocabulary: Vocabulary,
    checklists: Checklists | None = None,
) -> HardRule | None:
    """Return the first hard rule the pair breaks, or None when the pair is acceptable."""
    context = RuleContext.of(vocabulary, checklists)
    return next((rule for rule in HARD_RULES if not rule.holds(student, offer, context)), None)


def is_acceptable(
    student: Student,
    offer: Offer,
    vocabulary: Vocabulary,
    checklists: Checklists | None = None,
) -> bool:
    """Tell whether a pair passes every hard rule."""
    return failed_rule(student, offer, vocabulary, checklists) is None


def why_not(
    student: Student,
    offer: Offer,
    vocabulary: Vocabulary,
    checklists: Checklists | None = None,
) -> str | None:
    """Return a sentence saying which hard rule the pair breaks, or None if it breaks none."""
    context = RuleContext.of(vocabulary, checklists)
    for rule in HARD_RULES:
        if not rule.holds(student, offer, context):
            return rule.refusal(student, offer, context)
    return None


__all__ = [
    "AGE",
    "DATES",
    "HARD_RULES",
    "LANGUAGE",
    "PREFERENCES",
    "TRADE",
    "AgeLimit",
    "HardRule",
    "Rule",
    "RuleContext",
    "RuleList",
    "adult_from",
    "age_limit",
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
    "why_not",
]
