"""Which numbers of placed girls, boys and others a round can reach, and the fairest.

The students that can be placed together form a matroid, so the vectors
(placed F, placed M, placed X) that some assignment reaches are exactly the
integer points of a polymatroid: v(A) ≤ r(A) for every set A of genders, where
r(A) is the most placements among the students of those genders alone (one
max-flow each, seven at most). Minimising the gender gap is then a scan over
the number of placed girls, with the number of boys nearest to the fair ratio
inside the interval the ranks allow. Exact, and fast at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np

from mobility_match.matching.pairs import IntArray
from mobility_match.matching.problem import F, M, X, gap_numerator

Vector = tuple[int, int, int]
"""Placed students without a lock, by gender: (F, M, X)."""


SUBSETS = tuple(frozenset(groups) for size in (1, 2, 3) for groups in combinations((F, M, X), size))
"""Every non-empty set of genders."""


@dataclass(frozen=True)
class GenderPolytope:
    """The reachable (F, M, X) placement vectors of the free students, and the locked counts.

    `ranks[A]` is the most placements among free students whose gender is in A.
    `min_total` is the fewest free placements earlier stages allow. `floors[A]`,
    when given, is the fewest placements among the genders of A (a re-run's
    vectors of least changes over several totals: a g-polymatroid, whose vectors
    are exactly those between its floors and ranks); without it, the floors that
    the ranks and `min_total` imply.
    """

    ranks: Mapping[frozenset[int], int]
    min_total: int
    locked: Vector
    eligible_f: int
    eligible_m: int
    floors: Mapping[frozenset[int], int] | None = None

    def rank(self, *groups: int) -> int:
        return self.ranks[frozenset(groups)]

    def floor(self, groups: frozenset[int]) -> int:
        if self.floors is not None:
            return self.floors[groups]
        return max(0, self.min_total - self.ranks[frozenset((F, M, X)) - groups])

    def b_range(self, a: int) -> tuple[int, int]:
        """Return the interval of placed boys reachable with `a` placed girls (empty if lo > hi).

        floor(A) ≤ v(A) ≤ rank(A) for every A, with c then eliminated: every lower
        bound on c (0 included) at most every upper one, each pair a bound on b.
        """
        if 0 <= a < len(self._b_bounds[0]):
            lo, hi = self._b_bounds
            return int(lo[a]), int(hi[a])
        lo, hi = self._b_bounds_of(np.array([a], dtype=np.int64))
        return int(lo[0]), int(hi[0])

    @cached_property
    def _b_bounds(self) -> tuple[IntArray, IntArray]:
        """b_range of every number of girls in a_values(), at once."""
        return self._b_bounds_of(np.arange(self.rank(F) + 1, dtype=np.int64))

    def _b_bounds_of(self, a: IntArray) -> tuple[IntArray, IntArray]:
        """b_range for each number of girls in `a`; (1, 0) where no boys count is reachable."""
        lo, hi = np.zeros(len(a), dtype=np.int64), np.full(len(a), self.rank(M), dtype=np.int64)
        empty = np.zeros(len(a), dtype=bool)
        for groups in SUBSETS:
            if X in groups:
                continue
            girls = a if F in groups else 0
            if M in groups:
                lo = np.maximum(lo, self.floor(groups) - girls)
                hi = np.minimum(hi, self.ranks[groups] - girls)
            else:
                empty |= (girls < self.floor(groups)) | (girls > self.ranks[groups])
        lower = [(0, frozenset[int]())] + [(self.floor(g), g) for g in SUBSETS if X in g]
        for floor, below in lower:
            for above in (g for g in SUBSETS if X in g):
                # floor(below) − v(below − X) ≤ rank(above) − v(above − X), in b:
                k = (M in above) - (M in below)
                rhs = self.ranks[above] - floor - a * ((F in above) - (F in below))
                if k > 0:
                    hi = np.minimum(hi, rhs)
                elif k < 0:
                    lo = np.maximum(lo, -rhs)
                else:
                    empty |= rhs < 0
        return np.where(empty, 1, lo), np.where(empty, 0, hi)

    def c_range(self, a: int, b: int) -> tuple[int, int]:
        """Return the interval of placed others reachable with a girls and b boys placed."""
        lo, hi = 0, self.rank(X)
        for groups in SUBSETS:
            if X in groups:
                fixed = (a if F in groups else 0) + (b if M in groups else 0)
                lo = max(lo, self.floor(groups) - fixed)
                hi = min(hi, self.ranks[groups] - fixed)
        return lo, hi

    def gap(self, a: int, b: int) -> int:
        """Return the gap numerator with a free girls and b free boys placed."""
        lf, lm, _ = self.locked
        return gap_numerator(lf + a, lm + b, self.eligible_f, self.eligible_m)

    def _boys_near(self, a: int, lo: int, hi: int, limit: int) -> range:
        """Return the b in [lo, hi] whose gap with `a` girls is at most `limit`."""
        lf, lm, _ = self.locked
        e_f, e_m = self.eligible_f, self.eligible_m
        if e_f == 0 or e_m == 0:
            return range(lo, hi + 1)
        # |(lf + a)·e_m − (lm + b)·e_f| ≤ limit
        centre = (lf + a) * e_m
        first = -(-(centre - limit) // e_f) - lm
        last = (centre + limit) // e_f - lm
        return range(max(lo, first), min(hi, last) + 1)

    def a_values(self) -> range:
        return range(0, self.rank(F) + 1)

    def smallest_gap(self) -> int:
        """Return the least gap numerator over every reachable vector."""
        lo, hi = self._b_bounds
        a = np.flatnonzero(lo <= hi)
        if not len(a):
            raise ValueError("no placement vector is reachable")
        lo, hi = lo[a], hi[a]
        lf, lm, _ = self.locked
        e_f, e_m = self.eligible_f, self.eligible_m
        if e_f == 0 or e_m == 0:
            return 0  # gap_numerator's convention
        # The boys nearest the fair ratio on either side, within the interval.
        target = (lf + a) * e_m // e_f - lm
        best = min(
            int(np.abs((lf + a) * e_m - (lm + np.clip(b, lo, hi)) * e_f).min())
            for b in (target, target + 1)
        )
        return best

    def _girls_and_boys(self) -> Iterator[tuple[int, int, int]]:
        """Yield (a, lo, hi) for each a of a_values() with some boys count reachable."""
        lo, hi = self._b_bounds
        a = np.flatnonzero(lo <= hi)
        yield from zip(a.tolist(), lo[a].tolist(), hi[a].tolist(), strict=True)

    def vectors(self, limit: int) -> Iterator[Vector]:
        """Yield every reachable (a, b, c) whose gap numerator is at most `limit`, c least."""
        for a, lo, hi in self._girls_and_boys():
            for b in self._boys_near(a, lo, hi, limit):
                c_lo, c_hi = self.c_range(a, b)
                if c_lo <= c_hi:
                    yield a, b, c_lo

    def most_placements(self, limit: int) -> Vector:
        """Return the reachable vector with gap at most `limit` placing the most students."""
        best: tuple[int, Vector] | None = None
        for a, lo, hi in self._girls_and_boys():
            for b in self._boys_near(a, lo, hi, limit):
                c_lo, c_hi = self.c_range(a, b)
                if c_lo <= c_hi and (best is None or a + b + c_hi > best[0]):
                    best = (a + b + c_hi, (a, b, c_hi))
        if best is None:
            raise ValueError("no placement vector is reachable within the gap limit")
        return best[1]


def compute_ranks(
    max_placements: Callable[[Vector], int],
    n_free: int,
    most: int | None = None,
    sizes: Vector | None = None,
) -> dict[frozenset[int], int]:
    """Compute r(A) for every set A of genders with one max-flow each; `most`, the most
    placements of all genders when already known (the placements stage), spares one, and
    `sizes`, the free students of each gender, spare those of sets with an empty gender
    (which places no more than the set without it)."""
    ranks: dict[frozenset[int], int] = {frozenset(): 0}
    if most is not None:
        ranks[frozenset((F, M, X))] = most
    for size in (1, 2, 3):
        for groups in combinations((F, M, X), size):
            if frozenset(groups) in ranks:
                continue
            empty = [g for g in groups if sizes is not None and sizes[g] == 0]
            if empty:
                ranks[frozenset(groups)] = ranks[frozenset(groups) - {empty[0]}]
                continue
            caps = tuple(n_free if g in groups else 0 for g in (F, M, X))
            ranks[frozenset(groups)] = max_placements((caps[0], caps[1], caps[2]))
    return ranks


def convex_minimum(values: Callable[[int], int], length: int) -> int:
    """Return an index minimising a discretely convex sequence, with O(log length) calls."""
    lo, hi = 0, length - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if values(mid) <= values(mid + 1):
            hi = mid
        else:
            lo = mid + 1
    return lo


def lines(vectors: list[Vector], polytope: GenderPolytope) -> list[list[Vector]]:
    """Split vectors of one total into lattice lines of equal signed gap, each sorted by a.

    Along such a line the least preference cost is a convex function (it is the
    restriction of an M-convex function), which convex_minimum exploits.
    """
    lf, lm, _ = polytope.locked
    by_gap: dict[int, list[Vector]] = {}
    for a, b, c in vectors:
        signed = (lf + a) * polytope.eligible_m - (lm + b) * polytope.eligible_f
        by_gap.setdefault(signed, []).append((a, b, c))
    return [sorted(line) for _, line in sorted(by_gap.items())]
