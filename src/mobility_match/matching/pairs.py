"""The acceptable pairs of a round, computed for many students and offers at once.

`rules.py` says what each hard rule means for one pair; this module evaluates
the same rules with numpy over blocks of students and offers, so that a round
of 50,000 students does not cost a billion Python calls. A test holds the two
to the same answers. Nothing here decides who is placed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mobility_match.domain import ADULT_AGE, ANY_OTHER, Offer, Student, Vocabulary
from mobility_match.matching.rules import HARD_RULES, preference_rank

BoolMatrix = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


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


@dataclass(frozen=True)
class Pairs:
    """Acceptable pairs as parallel arrays, sorted by student then offer."""

    student: IntArray
    offer: IntArray
    cost: IntArray
    """preference rank − 1, or 0 for a student who listed no preference."""

    def __len__(self) -> int:
        return len(self.student)


class RuleTable:
    """The students and offers of a round as arrays, to evaluate hard rules in blocks."""

    def __init__(
        self, students: Sequence[Student], offers: Sequence[Offer], vocabulary: Vocabulary
    ) -> None:
        self.students = students
        self.offers = offers
        self.vocabulary = vocabulary
        languages = sorted(
            {lang for s in students for lang in s.languages}
            | {need.lang for o in offers for need in o.language_requirement}
        )
        lang_index = {lang: k for k, lang in enumerate(languages)}
        self.levels = np.zeros((len(students), max(1, len(languages))), dtype=np.int8)
        for i, student in enumerate(students):
            for lang, level in student.languages.items():
                self.levels[i, lang_index[lang]] = level
        self.available_from = np.array([s.available_from.toordinal() for s in students])
        self.available_to = np.array([s.available_to.toordinal() for s in students])
        self.adult_from = np.array([adult_from(s.birth_date).toordinal() for s in students])
        self.start = np.array([o.start_date.toordinal() for o in offers])
        self.end = np.array([o.end_date.toordinal() for o in offers])
        self.takes_minors = np.array([o.takes_minors for o in offers], dtype=bool)
        self.country = np.array([o.country.value for o in offers], dtype=object)
        self.offer_id = np.array([o.offer_id for o in offers], dtype=object)
        width = max((len(o.language_requirement) for o in offers), default=0)
        # Alternatives padded with (-1, 0): language -1 never counts as met.
        self.need_lang = np.full((len(offers), width), -1, dtype=np.int64)
        self.need_level = np.zeros((len(offers), width), dtype=np.int8)
        for j, offer in enumerate(offers):
            for k, need in enumerate(offer.language_requirement):
                self.need_lang[j, k] = lang_index[need.lang]
                self.need_level[j, k] = need.level
        self.has_need = self.need_lang[:, 0] >= 0 if width else np.zeros(len(offers), dtype=bool)
        trade_codes = sorted(vocabulary.trades)
        self._trade_column = {code: k for k, code in enumerate(trade_codes)}
        self.offer_trades = np.zeros((len(offers), len(trade_codes)), dtype=bool)
        for j, offer in enumerate(offers):
            codes = vocabulary.trades_of(offer.sector) if offer.takes_every_trade else offer.trades
            for code in codes:
                if code in self._trade_column:
                    self.offer_trades[j, self._trade_column[code]] = True

    def offers_for_trade(self, trade: str) -> IntArray:
        """Return the indexes of the offers open to a trade."""
        column = self._trade_column.get(trade)
        if column is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.offer_trades[:, column]).astype(np.int64)

    def checks(self, rows: IntArray, cols: IntArray) -> dict[str, BoolMatrix]:
        """Evaluate every hard rule on the block students[rows] × offers[cols]."""
        trade = np.zeros((len(rows), len(cols)), dtype=bool)
        for r, i in enumerate(rows):
            column = self._trade_column.get(self.students[i].trade)
            if column is not None:
                trade[r] = self.offer_trades[cols, column]
        language = np.repeat(~self.has_need[cols][None, :], len(rows), axis=0)
        for k in range(self.need_lang.shape[1]):
            lang = self.need_lang[cols, k]
            met = self.levels[np.ix_(rows, np.maximum(lang, 0))] >= self.need_level[cols, k]
            language = language | (met & (lang >= 0)[None, :])
        dates = (self.available_from[rows, None] <= self.start[None, cols]) & (
            self.end[None, cols] <= self.available_to[rows, None]
        )
        age = self.takes_minors[None, cols] | (
            self.start[None, cols] >= self.adult_from[rows, None]
        )
        preferences = np.ones((len(rows), len(cols)), dtype=bool)
        for r, i in enumerate(rows):
            wishes = self.students[i].preferences
            if wishes and ANY_OTHER not in wishes:
                preferences[r] = np.isin(self.country[cols], wishes) | np.isin(
                    self.offer_id[cols], wishes
                )
        return {
            "trade": trade,
            "language": language,
            "dates": dates,
            "age": age,
            "preferences": preferences,
        }

    def acceptable_pairs(self) -> Pairs:
        """Return every pair that passes all hard rules, with its preference cost."""
        by_trade: dict[str, list[int]] = {}
        for i, student in enumerate(self.students):
            by_trade.setdefault(student.trade, []).append(i)
        rows_out: list[IntArray] = []
        cols_out: list[IntArray] = []
        for trade, members in by_trade.items():
            cols = self.offers_for_trade(trade)
            if not len(cols):
                continue
            rows = np.array(members, dtype=np.int64)
            ok = np.logical_and.reduce(list(self.checks(rows, cols).values()))
            r, c = np.nonzero(ok)
            rows_out.append(rows[r])
            cols_out.append(cols[c])
        if not rows_out:
            empty = np.zeros(0, dtype=np.int64)
            return Pairs(empty, empty.copy(), empty.copy())
        pair_student = np.concatenate(rows_out)
        pair_offer = np.concatenate(cols_out)
        order = np.lexsort((pair_offer, pair_student))
        pair_student, pair_offer = pair_student[order], pair_offer[order]
        cost = np.zeros(len(pair_student), dtype=np.int64)
        for k in np.flatnonzero([bool(self.students[i].preferences) for i in pair_student]):
            rank = preference_rank(self.students[pair_student[k]], self.offers[pair_offer[k]])
            cost[k] = 0 if rank is None else rank - 1
        return Pairs(pair_student, pair_offer, cost)

    def exclusions(self, i: int) -> dict[str, int]:
        """Count, per hard rule, the offers whose first broken rule it is for student i.

        Trade comes first and excludes most offers, so the other rules are only
        evaluated on the offers open to the student's trade.
        """
        of_trade = self.offers_for_trade(self.students[i].trade)
        checks = self.checks(np.array([i]), of_trade)
        still_in = np.ones(len(of_trade), dtype=bool)
        counts = {"trade": len(self.offers) - len(of_trade)}
        for rule in HARD_RULES[1:]:
            passed = checks[rule.name][0]
            counts[rule.name] = int(np.count_nonzero(still_in & ~passed))
            still_in &= passed
        return counts
