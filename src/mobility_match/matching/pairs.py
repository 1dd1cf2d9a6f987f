"""The acceptable pairs of a round, computed for many students and offers at once.

`rules.py` defines each hard rule once, with a mask that judges many pairs in one
numpy expression; this module applies those masks to a whole round, so that a
round of 50,000 students costs neither a billion Python calls nor a Python
object per pair. A test holds the masks to the rules' one-pair checks. Nothing
here decides who is placed.

Students are taken by trade (an offer closed to the trade breaks the trade rule
for all of them), in runs of similar availability windows (an offer outside the
span of a run's windows breaks the dates rule for all of them); the other rules
are judged on what is left, block by block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mobility_match.documents.checklists import Checklists
from mobility_match.domain import Offer, Student, Vocabulary
from mobility_match.matching.rules import (
    DATES,
    HARD_RULES,
    PREFERENCES,
    TRADE,
    BoolArray,
    HardRule,
    IntArray,
    RuleContext,
    adult_from,
)

BoolMatrix = npt.NDArray[np.bool_]
Block = tuple[IntArray, IntArray, npt.NDArray[Any], npt.NDArray[Any]]
"""One block's students (sorted), their numbers of pairs, and the pairs' offers and costs,
in (student, offer) order."""

BLOCK_CELLS = 1 << 20
"""About how many (student, offer) cells a block judges at once: bounds the memory."""
RUN_ROWS = 256
"""Students per run of similar windows, before the offers outside their span are dropped."""


SomeInts = npt.NDArray[np.signedinteger[Any]]
"""Integers of any width: what takes pairs' numbers (PairArray) as well as wider ones."""
PairArray = npt.NDArray[np.int32]
"""One number per pair: 32 bits, half the memory of 64 at 20 million pairs (indexes of
students and offers, and costs below the longest list of preferences, fit). Arithmetic that
could pass 2³¹ (student · offers) widens first."""


@dataclass(frozen=True)
class Pairs:
    """Acceptable pairs as parallel arrays, sorted by student then offer."""

    student: PairArray
    offer: PairArray
    cost: PairArray
    """preference rank − 1, or 0 for a student who listed no preference."""

    def __len__(self) -> int:
        return len(self.student)


class RuleTable:
    """The students and offers of a round, and each hard rule's columns computed once."""

    def __init__(
        self,
        students: Sequence[Student],
        offers: Sequence[Offer],
        vocabulary: Vocabulary,
        checklists: Checklists | None = None,
    ) -> None:
        self.students = students
        self.offers = offers
        self.vocabulary = vocabulary
        self.context = RuleContext.of(vocabulary, checklists)
        self._columns: dict[int, Any] = {}

    def columns(self, rule: HardRule) -> Any:
        """Return the rule's columns for this round, computed on first use."""
        key = id(rule)
        if key not in self._columns:
            self._columns[key] = rule.columns(self.students, self.offers, self.context)
        return self._columns[key]

    def mask(self, rule: HardRule, rows: IntArray, cols: IntArray) -> BoolArray:
        """Judge students `rows` and offers `cols` (broadcast together) by one rule."""
        verdict = rule.mask(self.columns(rule), rows, cols)
        return np.broadcast_to(verdict, np.broadcast_shapes(rows.shape, cols.shape))

    def offers_for_trade(self, trade: str) -> IntArray:
        """Return the indexes of the offers open to a trade."""
        columns = self.columns(TRADE)
        column = columns.trade_column.get(trade)
        if column is None:
            return np.zeros(0, dtype=np.int64)
        offers: IntArray = columns.offers_open_to(column)
        return offers

    def checks(self, rows: IntArray, cols: IntArray) -> dict[str, BoolMatrix]:
        """Evaluate every hard rule on the block students[rows] × offers[cols]."""
        return {
            rule.name: np.array(self.mask(rule, rows[:, None], cols[None, :]))
            for rule in HARD_RULES
        }

    def acceptable_pairs(self) -> Pairs:
        """Return every pair that passes all hard rules, with its preference cost."""
        trade = self.columns(TRADE)
        dates = self.columns(DATES)
        others = [rule for rule in HARD_RULES if rule is not TRADE]
        blocks: list[Block] = []
        students = np.arange(len(self.students), dtype=np.int64)
        for column in np.unique(trade.student_trade):
            open_offers = trade.offers_open_to(int(column))
            if not len(open_offers):
                continue
            members = DATES.by_window(dates, students[trade.student_trade == column])
            for first in range(0, len(members), RUN_ROWS):
                run = members[first : first + RUN_ROWS]
                cols = DATES.within_span(dates, run, open_offers)
                if not len(cols):
                    continue
                rows = np.sort(run)
                step = max(1, BLOCK_CELLS // len(cols))
                for top in range(0, len(rows), step):
                    blocks.append(self._block(rows[top : top + step], cols, others))
        return self._sorted_pairs(blocks)

    def _block(self, rows: IntArray, cols: IntArray, rules: list[HardRule]) -> Block:
        """Return the pairs of rows × cols passing `rules`, in order, with their cost."""
        ok = np.ones((len(rows), len(cols)), dtype=bool)
        for rule in rules:
            ok &= self.mask(rule, rows[:, None], cols[None, :])
        r, c = np.nonzero(ok)
        # Held until every block is done: in the narrowest types that hold them.
        offer = cols.astype(self._offer_type)[c]
        cost = np.zeros(len(offer), dtype=self._cost_type)
        # Only a student who listed preferences has a cost.
        listed = np.flatnonzero(self.columns(PREFERENCES).listed[rows[r]] > 0)
        if len(listed):
            rank = PREFERENCES.ranks(self.columns(PREFERENCES), rows[r[listed]], cols[c[listed]])
            cost[listed] = np.maximum(rank, 1) - 1
        return rows, np.count_nonzero(ok, axis=1), offer, cost

    def _sorted_pairs(self, blocks: list[Block]) -> Pairs:
        """Put the blocks' pairs in student order.

        All the pairs of a student come from one block, already in offer order, so
        each student's run of pairs is moved whole to its place: no sort of the pairs.
        """
        counts = np.zeros(len(self.students), dtype=np.int64)
        for rows, row_counts, _, _ in blocks:
            counts[rows] = row_counts
        where_to = np.cumsum(counts) - counts
        total = int(counts.sum())
        offer = np.empty(total, dtype=self._offer_type)
        cost = np.empty(total, dtype=self._cost_type)
        while blocks:
            rows, row_counts, block_offer, block_cost = blocks.pop()
            local = np.cumsum(row_counts) - row_counts
            to = np.repeat(where_to[rows] - local, row_counts)
            to += np.arange(len(block_offer))
            offer[to] = block_offer
            cost[to] = block_cost
        student = np.repeat(np.arange(len(self.students), dtype=np.int32), counts)
        return Pairs(student, offer.astype(np.int32), cost.astype(np.int32))

    @property
    def _offer_type(self) -> np.dtype[Any]:
        return np.min_scalar_type(max(1, len(self.offers)))

    @property
    def _cost_type(self) -> np.dtype[Any]:
        # A cost is below the length of the longest list of preferences.
        return np.min_scalar_type(self.columns(PREFERENCES).entry_offer.shape[1])

    def exclusions(self, rows: IntArray) -> dict[str, IntArray]:
        """Count, per hard rule and student of `rows`, the offers whose first broken rule it is.

        Each rule is only judged on the offers that passed the rules before it. The
        students go in blocks of one trade where they can: after the first rule, a
        block is judged only on the offers some of its students still pass, a few
        of all.
        """
        rows = np.asarray(rows, dtype=np.int64)
        counts = {rule.name: np.zeros(len(rows), dtype=np.int64) for rule in HARD_RULES}
        order = np.argsort(self.columns(TRADE).student_trade[rows], kind="stable")
        every = np.arange(len(self.offers), dtype=np.int64)
        step = max(1, BLOCK_CELLS // max(1, len(self.offers)))
        for top in range(0, len(rows), step):
            at = order[top : top + step]
            block, cols = rows[at][:, None], every
            still_in = np.ones((len(at), len(cols)), dtype=bool)
            for rule in HARD_RULES:
                passed = self.mask(rule, block, cols[None, :])
                counts[rule.name][at] = np.count_nonzero(still_in & ~passed, axis=1)
                still_in &= passed
                kept = still_in.any(axis=0)
                cols, still_in = cols[kept], still_in[:, kept]
        return counts


__all__ = ["BoolMatrix", "IntArray", "PairArray", "Pairs", "RuleTable", "SomeInts", "adult_from"]
