"""Figures of a solved round: placed by gender, country, sector and school; gap; reasons.

Computed from the round's input and result only, so the command line, the
service and the exports all show the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from mobility_match.domain import Gender, RoundInput, RoundResult, Sector, Vocabulary

K = TypeVar("K", str, tuple[str, str])


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
    sector_by_gender: dict[str, dict[str, GroupFigures]] = field(default_factory=dict)
    """Sector → gender → its students (every gender listed, zeros included)."""
    school_by_gender: dict[str, dict[str, GroupFigures]] = field(default_factory=dict)
    """School → gender → its students."""
    country_by_gender: dict[str, dict[str, GroupFigures]] = field(default_factory=dict)
    """Host country → gender → the students of that gender (all of them, and the eligible)
    and how many of them are placed in that country: the rates of one gender over the
    countries add up to its placement rate."""
    lowest_school: str | None = None
    """The school whose rate is `min_school_rate` (the first by id on a tie; None when no
    school has an eligible student)."""


def _groups(keys: list[K], eligible: list[bool], placed: list[bool]) -> dict[K, GroupFigures]:
    total = Counter(keys)
    eligible_count = Counter(key for key, e in zip(keys, eligible, strict=True) if e)
    placed_count = Counter(key for key, p in zip(keys, placed, strict=True) if p)
    return {
        key: GroupFigures(total[key], eligible_count[key], placed_count[key])
        for key in sorted(total)
    }


def _groups_by_gender(
    keys: list[str], genders: list[str], eligible: list[bool], placed: list[bool]
) -> dict[str, dict[str, GroupFigures]]:
    """Key → gender → figures, every gender listed for every key (zeros included)."""
    pairs = _groups(list(zip(keys, genders, strict=True)), eligible, placed)
    none = GroupFigures(0, 0, 0)
    return {
        key: {g.value: pairs.get((key, g.value), none) for g in Gender} for key in sorted(set(keys))
    }


def _countries_by_gender(
    countries: list[str], genders: list[str], eligible: list[bool], placed_in: list[str | None]
) -> dict[str, dict[str, GroupFigures]]:
    """Country → gender → (students of the gender, eligible ones, placed in the country)."""
    total = Counter(genders)
    eligible_count = Counter(g for g, e in zip(genders, eligible, strict=True) if e)
    placed_count = Counter(zip(placed_in, genders, strict=True))
    return {
        country: {
            g.value: GroupFigures(
                total[g.value], eligible_count[g.value], placed_count[(country, g.value)]
            )
            for g in Gender
        }
        for country in countries
    }


def compute_statistics(
    round_input: RoundInput, result: RoundResult, vocabulary: Vocabulary
) -> RoundStatistics:
    """Compute the figures of a solved round."""
    students, offers = round_input.students, round_input.offers
    placed = [p.offer_id is not None for p in result.placements]
    eligible = list(result.eligible)
    genders = [s.gender.value for s in students]
    schools = [s.school_id for s in students]
    by_gender = _groups(genders, eligible, placed)
    for gender in Gender:
        by_gender.setdefault(gender.value, GroupFigures(0, 0, 0))
    sectors = [
        vocabulary.trades[s.trade].sector.value if s.trade in vocabulary.trades else "unknown"
        for s in students
    ]
    by_sector = _groups(sectors, eligible, placed)
    for sector in Sector:
        by_sector.setdefault(sector.value, GroupFigures(0, 0, 0))
    by_school = _groups(schools, eligible, placed)
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
    lowest = min(
        (key for key, g in by_school.items() if g.eligible),
        key=lambda key: by_school[key].rate,
        default=None,
    )
    placed_in = [offer_country[p.offer_id] if p.offer_id else None for p in result.placements]
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
        min_school_rate=by_school[lowest].rate if lowest is not None else Fraction(1),
        reasons=dict(sorted(reasons.items())),
        sector_by_gender=_groups_by_gender(sectors, genders, eligible, placed),
        school_by_gender=_groups_by_gender(schools, genders, eligible, placed),
        country_by_gender=_countries_by_gender(list(by_country), genders, eligible, placed_in),
        lowest_school=lowest,
    )
