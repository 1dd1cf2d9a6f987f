"""Figures of a solved round: placed by gender, country, sector and school; gap; reasons.

One typed model (`RoundStatistics`), computed once from the round's input and
result only (`compute_statistics`), is what the command line's report and
summary, the API (which documents it in OpenAPI), the exports and the pages
show, so they cannot disagree. A rate is written once, in `GroupFigures`:
placed among eligible, and no rate at all (null, an empty cell, "–") for a
group with nobody eligible, since nobody in it could have been placed.

This module must not format anything for people or files: reporting.py,
exports.py and the pages do.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from mobility_match.domain import Gender, RoundInput, RoundResult, Sector, Vocabulary

K = TypeVar("K", str, tuple[str, str])


class GroupFigures(BaseModel):
    """Students of a group: how many, how many eligible, how many placed, and the rate."""

    model_config = ConfigDict(frozen=True)

    students: int = Field(ge=0, description="Students of the group.")
    eligible: int = Field(
        ge=0, description="Those with at least one acceptable offer (passing the hard rules)."
    )
    placed: int = Field(ge=0, description="Those placed.")

    @property
    def fraction(self) -> Fraction | None:
        """Placed among eligible, exactly; None when nobody is eligible."""
        return Fraction(self.placed, self.eligible) if self.eligible else None

    @computed_field(  # type: ignore[prop-decorator]
        description="placed / eligible; null when nobody is eligible (no rate: nobody could "
        "have been placed)."
    )
    @property
    def rate(self) -> float | None:
        fraction = self.fraction
        return None if fraction is None else float(fraction)

    @computed_field(  # type: ignore[prop-decorator]
        description='The same rate as an exact fraction, e.g. "31/36"; null when nobody is '
        "eligible."
    )
    @property
    def rate_exact(self) -> str | None:
        fraction = self.fraction
        return None if fraction is None else str(fraction)


class CountryFigures(BaseModel):
    """Offers and places of a host country, and how many were filled."""

    model_config = ConfigDict(frozen=True)

    offers: int = Field(ge=0, description="Offers in the country.")
    places: int = Field(ge=0, description="Their places.")
    placed: int = Field(ge=0, description="Students placed there.")

    @computed_field(  # type: ignore[prop-decorator]
        description="placed / places, the share of the places filled; null without places."
    )
    @property
    def filled(self) -> float | None:
        return float(Fraction(self.placed, self.places)) if self.places else None


GenderTable = dict[str, dict[str, GroupFigures]]
"""Key (country, sector or school) → gender (F, M, X, every one listed) → figures."""


class RoundStatistics(BaseModel):
    """Every figure of a solved round that the report, the API, the exports and pages show."""

    model_config = ConfigDict(frozen=True)

    students: int = Field(ge=0, description="Students of the round.")
    eligible: int = Field(ge=0, description="Those with at least one acceptable offer.")
    offers: int = Field(ge=0)
    places: int = Field(ge=0, description="Places of all the offers.")
    placed: int = Field(ge=0, description="Students placed.")
    gender_gap: float = Field(
        ge=0,
        le=1,
        description="|rate of F − rate of M| among eligible students; 0 when F or M has "
        "nobody eligible.",
    )
    gender_gap_exact: str = Field(description='The gender gap as an exact fraction, e.g. "3/4316".')
    preference_cost: int = Field(
        ge=0, description="The sum over placed students of preference_rank − 1."
    )
    min_school_rate: float = Field(
        ge=0,
        le=1,
        description="The lowest rate of a school, among the schools with an eligible student "
        "(a school with nobody eligible has no rate and is left out); 1 when no school has "
        "one, as the school_fairness stage counts it.",
    )
    min_school_rate_exact: str = Field(description="The same, as an exact fraction.")
    lowest_school: str | None = Field(
        description="The school whose rate is min_school_rate (the first by id on a tie); "
        "null when no school has an eligible student."
    )
    by_gender: dict[str, GroupFigures] = Field(description="F, M and X, each listed.")
    by_sector: dict[str, GroupFigures] = Field(
        description="services and production, each listed (unknown for a trade not in the list)."
    )
    by_school: dict[str, GroupFigures] = Field(description="Every school of the round, by id.")
    by_country: dict[str, CountryFigures] = Field(description="Every host country with offers.")
    unplaced_by_reason: dict[str, int] = Field(
        description="Unplaced students by reason code (CONTRACT.md's codes), by code."
    )
    by_country_and_gender: GenderTable = Field(
        description="Host country → gender → the students of that gender (all of them, and "
        "the eligible) and how many of them are placed in that country: the rates of one "
        "gender over the countries add up to its placement rate."
    )
    by_sector_and_gender: GenderTable = Field(
        description="Sector → gender → its students (every gender listed, zeros included)."
    )
    by_school_and_gender: GenderTable = Field(description="School → gender → its students.")


_NOBODY = GroupFigures(students=0, eligible=0, placed=0)


def _groups(keys: list[K], eligible: list[bool], placed: list[bool]) -> dict[K, GroupFigures]:
    total = Counter(keys)
    eligible_count = Counter(key for key, e in zip(keys, eligible, strict=True) if e)
    placed_count = Counter(key for key, p in zip(keys, placed, strict=True) if p)
    return {
        key: GroupFigures(
            students=total[key], eligible=eligible_count[key], placed=placed_count[key]
        )
        for key in sorted(total)
    }


def _groups_by_gender(
    keys: list[str], genders: list[str], eligible: list[bool], placed: list[bool]
) -> GenderTable:
    """Key → gender → figures, every gender listed for every key (zeros included)."""
    pairs = _groups(list(zip(keys, genders, strict=True)), eligible, placed)
    return {
        key: {g.value: pairs.get((key, g.value), _NOBODY) for g in Gender}
        for key in sorted(set(keys))
    }


def _countries_by_gender(
    countries: list[str], genders: list[str], eligible: list[bool], placed_in: list[str | None]
) -> GenderTable:
    """Country → gender → (students of the gender, eligible ones, placed in the country)."""
    total = Counter(genders)
    eligible_count = Counter(g for g, e in zip(genders, eligible, strict=True) if e)
    placed_count = Counter(zip(placed_in, genders, strict=True))
    return {
        country: {
            g.value: GroupFigures(
                students=total[g.value],
                eligible=eligible_count[g.value],
                placed=placed_count[(country, g.value)],
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
        by_gender.setdefault(gender.value, _NOBODY)
    sectors = [
        vocabulary.trades[s.trade].sector.value if s.trade in vocabulary.trades else "unknown"
        for s in students
    ]
    by_sector = _groups(sectors, eligible, placed)
    for sector in Sector:
        by_sector.setdefault(sector.value, _NOBODY)
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
    f, m = by_gender[Gender.F.value].fraction, by_gender[Gender.M.value].fraction
    gap = abs(f - m) if f is not None and m is not None else Fraction(0)
    # A school with nobody eligible has no rate: it is left out of the lowest one.
    school_rates = {key: rate for key, g in by_school.items() if (rate := g.fraction) is not None}
    lowest = min(school_rates, key=school_rates.__getitem__, default=None)
    lowest_rate = school_rates[lowest] if lowest is not None else Fraction(1)
    placed_in = [offer_country[p.offer_id] if p.offer_id else None for p in result.placements]
    cost = sum((p.preference_rank or 1) - 1 for p in result.placements if p.offer_id)
    reasons = Counter(p.reason.code.value for p in result.placements if p.reason is not None)
    return RoundStatistics(
        students=len(students),
        eligible=sum(eligible),
        offers=len(offers),
        places=sum(o.places for o in offers),
        placed=sum(placed),
        gender_gap=float(gap),
        gender_gap_exact=str(gap),
        preference_cost=cost,
        min_school_rate=float(lowest_rate),
        min_school_rate_exact=str(lowest_rate),
        lowest_school=lowest,
        by_gender=by_gender,
        by_sector=by_sector,
        by_school=by_school,
        by_country=by_country,
        unplaced_by_reason=dict(sorted(reasons.items())),
        by_country_and_gender=_countries_by_gender(list(by_country), genders, eligible, placed_in),
        by_sector_and_gender=_groups_by_gender(sectors, genders, eligible, placed),
        by_school_and_gender=_groups_by_gender(schools, genders, eligible, placed),
    )
