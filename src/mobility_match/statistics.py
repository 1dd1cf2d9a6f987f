"""Figures of a solved round: placed by gender, country, sector and school; gap; reasons.

Computed from the round's input and result only, so the command line, the
service and the exports all show the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from mobility_match.domain import Gender, RoundInput, RoundResult, Sector, Vocabulary


@dataclass(frozen=True)
class GroupFigures:
    """Students of a group: how many, how many eligible, how many placed."""

    total: int
    eligible: int
    placed: int

    @property
    def rate(self) -> Fraction:
        """Placed among eligible (1 when none is eligible: nobody could have been placed)."""
        return Fraction(self.placed, self.eligible) if self.eligible else Fraction(1)


@dataclass(frozen=True)
class CountryFigures:
    """Offers and places of a host country, and how many were filled."""

    offers: int
    places: int
    placed: int


@dataclass(frozen=True)
class RoundStatistics:
    """Every figure the summary, the report and the exports show."""

    students: int
    offers: int
    places: int
    placed: int
    by_gender: dict[str, GroupFigures]
    by_sector: dict[str, GroupFigures]
    by_school: dict[str, GroupFigures]
    by_country: dict[str, CountryFigures]
    gender_gap: Fraction
    preference_cost: int
    min_school_rate: Fraction
    reasons: dict[str, int]


def _groups(keys: list[str], eligible: list[bool], placed: list[bool]) -> dict[str, GroupFigures]:
    total = Counter(keys)
    eligible_count = Counter(key for key, e in zip(keys, eligible, strict=True) if e)
    placed_count = Counter(key for key, p in zip(keys, placed, strict=True) if p)
    return {
        key: GroupFigures(total[key], eligible_count[key], placed_count[key])
        for key in sorted(total)
    }


def compute_statistics(
    round_input: RoundInput, result: RoundResult, vocabulary: Vocabulary
) -> RoundStatistics:
    """Compute the figures of a solved round."""
    students, offers = round_input.students, round_input.offers
    placed = [p.offer_id is not None for p in result.placements]
    eligible = list(result.eligible)
    by_gender = _groups([s.gender.value for s in students], eligible, placed)
    for gender in Gender:
        by_gender.setdefault(gender.value, GroupFigures(0, 0, 0))
    sectors = [
        vocabulary.trades[s.trade].sector.value if s.trade in vocabulary.trades else "unknown"
        for s in students
    ]
    by_sector = _groups(sectors, eligible, placed)
    for sector in Sector:
        by_sector.setdefault(sector.value, GroupFigures(0, 0, 0))
    by_school = _groups([s.school_id for s in students], eligible, placed)
    offer_country = {o.offer_id: o.country.value for o in offers}
    filled = Counter(offer_country[p.offer_id] for p in result.placements if p.offer_id)
    by_country = {
        country: CountryFigures(
            offers=sum(1 for o in offers if o.country.value == country),
            places=sum(o.places for o in offers if o.country.value == country),
            placed=filled[country],
        )
        for country in sorted({o.country.value for o in offers})
    }
    f, m = by_gender[Gender.F.value], by_gender[Gender.M.value]
    gap = abs(f.rate - m.rate) if f.eligible and m.eligible else Fraction(0)
    rates = [g.rate for g in by_school.values() if g.eligible]
    cost = sum((p.preference_rank or 1) - 1 for p in result.placements if p.offer_id)
    reasons = Counter(p.reason.code.value for p in result.placements if p.reason is not None)
    return RoundStatistics(
        students=len(students),
        offers=len(offers),
        places=sum(o.places for o in offers),
        placed=sum(placed),
        by_gender=by_gender,
        by_sector=by_sector,
        by_school=by_school,
        by_country=by_country,
        gender_gap=gap,
        preference_cost=cost,
        min_school_rate=min(rates, default=Fraction(1)),
        reasons=dict(sorted(reasons.items())),
    )
