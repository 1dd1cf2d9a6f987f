"""Fictitious host companies and their offers in Germany, Poland and the UK.

Everything is drawn from a seed with its own `random.Random`, never the global
random state, so the same call always gives the same offers; the knobs that shape
them (countries, sectors, places, periods, language needs…) are the constants
below. This module writes no file and knows nothing of students, the database or
the solver.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mobility_match.demo.sources import Activity, activities, ascii_slug, cities, name_lists, pick
from mobility_match.domain import Country, LanguageNeed, Offer, Sector, cefr_rank

# ---- knobs ----------------------------------------------------------------------------

PARTNERS: Mapping[Country, str] = {
    Country.DE: "OFAJ",
    Country.PL: "ABC_WIEDZY",
    Country.UK: "BRITISH_COUNCIL",
}
COUNTRY_WEIGHTS: Mapping[Country, float] = {Country.DE: 40, Country.PL: 30, Country.UK: 30}
SERVICES_SHARE = 0.55
SCARCE_SERVICES_SHARE = 0.30
"""Share of companies (hence of places) in services when services are made scarce."""
OFFERS_PER_COMPANY: Mapping[int, float] = {1: 45, 2: 30, 3: 15, 4: 10}
PLACES: Mapping[int, float] = {1: 50, 2: 30, 3: 12, 4: 8}
EVERY_TRADE_SHARE = 0.06
"""Share of offers published for every trade of their sector (`*`)."""
SUBSET_SHARE = 0.35
"""Share of offers of a multi-trade company that name only one of its trades."""
SPRING_PERIODS: tuple[tuple[dt.date, dt.date], ...] = tuple(
    (dt.date.fromisoformat(start), dt.date.fromisoformat(end)) for start, end in (
        ("2027-05-03", "2027-05-28"), ("2027-05-03", "2027-06-11"), ("2027-05-10", "2027-06-18"),
        ("2027-05-17", "2027-06-25"), ("2027-05-03", "2027-06-25"), ("2027-05-31", "2027-07-09"),
        ("2027-06-07", "2027-07-16"), ("2027-05-24", "2027-07-16"), ("2027-06-14", "2027-07-09"),
    )
)  # fmt: skip
"""Placement periods before the summer: Monday to Friday, 4 to 8 weeks."""
AUTUMN_PERIODS: tuple[tuple[dt.date, dt.date], ...] = tuple(
    (dt.date.fromisoformat(start), dt.date.fromisoformat(end)) for start, end in (
        ("2027-09-13", "2027-10-08"), ("2027-09-13", "2027-10-22"), ("2027-09-20", "2027-10-29"),
        ("2027-09-06", "2027-10-29"),
    )
)  # fmt: skip
AUTUMN_SHARE = 0.25
LANGUAGE_REQUIREMENTS: Mapping[Country, Mapping[str, float]] = {
    Country.DE: {"de:A2": 25, "de:A2|en:B1": 40, "": 25, "en:B1": 10},
    Country.PL: {"en:A2": 45, "pl:A1|en:A2": 20, "": 25, "en:B1": 10},
    Country.UK: {"en:B1": 55, "en:A2": 45},
}
MINORS_SHARE: Mapping[Country, float] = {Country.DE: 0.6, Country.PL: 0.5, Country.UK: 0.0}
"""Share of companies that take minors (none in the UK, whose visa requires 18+)."""

# ---- generation -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Company:
    """A generated host company: what its offers have in common."""

    company_id: str
    country: Country
    activity: Activity
    name: str
    city: str
    address: str
    contact_name: str
    contact_email: str
    language_requirement: tuple[LanguageNeed, ...]
    accepts_minors: bool


def _address(rng: random.Random, country: Country, city: str, postcodes: Sequence[str]) -> str:
    """Return a street address written the way the country writes it."""
    street = rng.choice(name_lists()[f"street_{country.value.lower()}"])
    number = rng.randint(1, 180)
    postcode = rng.choice(postcodes)
    if country is Country.UK:
        inward = f"{rng.randint(1, 9)}{''.join(rng.choices('ABDEFGHJLNPQRSTUWXYZ', k=2))}"
        premises = f"Unit {rng.randint(1, 24)}," if rng.random() < 0.3 else str(number)
        return f"{premises} {street}, {city} {postcode} {inward}"
    return f"{street} {number}, {postcode} {city}"


def _tutor(rng: random.Random, country: Country) -> tuple[str, str]:
    """Return a tutor's first and last name, typical of the country."""
    names = name_lists()
    key = country.value.lower()
    if country is Country.PL:
        female = rng.random() < 0.5
        first = rng.choice(names["first_pl_f" if female else "first_pl_m"])
        last = rng.choice(names["last_pl"])
        if female and last.endswith(("ski", "cki", "zki")):
            last = last[:-1] + "a"  # Kowalski → Kowalska
        return first, last
    return rng.choice(names[f"first_{key}"]), rng.choice(names[f"last_{key}"])


def _parse_requirement(text: str) -> tuple[LanguageNeed, ...]:
    needs = (part.split(":") for part in text.split("|") if part)
    return tuple(LanguageNeed(lang, cefr_rank(level)) for lang, level in needs)


_LEGAL_FORMS = frozenset(
    ("GmbH", "&", "Co.", "KG", "e.K.", "mbB", "gGmbH", "AG", "Sp.", "z", "o.o.", "s.c.", "S.A.",
     "k.", "Ltd", "LLP", "plc")
)  # fmt: skip
"""Words of a company name left out of its web domain."""


def _make_company(
    rng: random.Random, number: int, services_share: float, domains: set[str]
) -> _Company:
    country = pick(rng, COUNTRY_WEIGHTS)
    sector = Sector.SERVICES if rng.random() < services_share else Sector.PRODUCTION
    kinds = {a: a.weight for a in activities() if a.sector is sector}
    activity = pick(rng, kinds)
    city, postcodes = rng.choice(cities()[country])
    surname = rng.choice(name_lists()[f"last_{country.value.lower()}"])
    pattern = rng.choice(activity.name_patterns[country])
    name = pattern.format(surname=surname, city=city)
    domain = "-".join(filter(None, (ascii_slug(w) for w in name.split() if w not in _LEGAL_FORMS)))
    if domain in domains:
        domain = f"{domain}-{number}"
    domains.add(domain)
    first, last = _tutor(rng, country)
    return _Company(
        company_id=f"{country.value}-C{number:05d}",
        country=country,
        activity=activity,
        name=name,
        city=city,
        address=_address(rng, country, city, postcodes),
        contact_name=f"{first} {last}",
        contact_email=f"{ascii_slug(first)[:1]}.{ascii_slug(last)}@{domain}.example",
        language_requirement=_parse_requirement(pick(rng, LANGUAGE_REQUIREMENTS[country])),
        accepts_minors=rng.random() < MINORS_SHARE[country],
    )


def _make_offer(rng: random.Random, company: _Company, offer_id: str) -> Offer:
    trades: frozenset[str] = frozenset(company.activity.trades)
    if rng.random() < EVERY_TRADE_SHARE:
        trades = frozenset()
    elif len(trades) > 1 and rng.random() < SUBSET_SHARE:
        trades = frozenset({rng.choice(company.activity.trades)})
    periods = AUTUMN_PERIODS if rng.random() < AUTUMN_SHARE else SPRING_PERIODS
    start_date, end_date = rng.choice(periods)
    return Offer(
        offer_id=offer_id,
        partner=PARTNERS[company.country],
        company_id=company.company_id,
        company_name=company.name,
        country=company.country,
        city=company.city,
        address=company.address,
        contact_name=company.contact_name,
        contact_email=company.contact_email,
        sector=company.activity.sector,
        trades=trades,
        places=pick(rng, PLACES),
        start_date=start_date,
        end_date=end_date,
        language_requirement=company.language_requirement,
        accepts_minors=company.accepts_minors,
    )


def generate_offers(n: int, seed: int, *, scarce_services: bool = False) -> list[Offer]:
    """Return `n` fictitious offers in Germany, Poland and the UK, the same for the same seed.

    Companies open one to four offers each. With `scarce_services`, only about
    30 % of the places are in services, which most girls study: gender balance
    then costs placements, which is what the gender_gap stage is for.
    """
    rng = random.Random(seed)
    services_share = SCARCE_SERVICES_SHARE if scarce_services else SERVICES_SHARE
    domains: set[str] = set()
    per_country: dict[Country, int] = dict.fromkeys(Country, 0)
    offers: list[Offer] = []
    company_number = 0
    while len(offers) < n:
        company_number += 1
        company = _make_company(rng, company_number, services_share, domains)
        opened: set[tuple[frozenset[str], dt.date]] = set()
        for _ in range(min(pick(rng, OFFERS_PER_COMPANY), n - len(offers))):
            per_country[company.country] += 1
            offer_id = f"{company.country.value}-{per_country[company.country]:05d}"
            offer = _make_offer(rng, company, offer_id)
            for _retry in range(5):  # a company opens each trade and period once
                if (offer.trades, offer.start_date) not in opened:
                    break
                offer = _make_offer(rng, company, offer_id)
            opened.add((offer.trades, offer.start_date))
            offers.append(offer)
    return offers
