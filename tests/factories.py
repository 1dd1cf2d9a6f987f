"""Small hand-built students and offers for tests: valid defaults, override what matters."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from mobility_match.domain import (
    Country,
    Diploma,
    Gender,
    LanguageNeed,
    Offer,
    RoundInput,
    Sector,
    Student,
    cefr_rank,
)

PARTNER_OF = {Country.DE: "OFAJ", Country.PL: "ABC_WIEDZY", Country.UK: "BRITISH_COUNCIL"}


def make_student(student_id: str = "S1", **overrides: Any) -> Student:
    """Return an adult commerce student free all spring 2027, with English B1."""
    fields: dict[str, Any] = {
        "student_id": student_id,
        "first_name": "Léa",
        "last_name": "Martin",
        "gender": Gender.F,
        "birth_date": dt.date(2006, 3, 14),
        "school_id": "LP-A",
        "diploma": Diploma.BAC_PRO,
        "trade": "commerce",
        "available_from": dt.date(2027, 4, 1),
        "available_to": dt.date(2027, 7, 31),
        "languages": {"en": 3},
    }
    fields.update(overrides)
    return Student(**fields)


def make_offer(offer_id: str = "DE-001", **overrides: Any) -> Offer:
    """Return a one-place commerce offer in Leipzig, May to June 2027, no language needed."""
    country = overrides.get("country", Country.DE)
    fields: dict[str, Any] = {
        "offer_id": offer_id,
        "partner": PARTNER_OF[country],
        "company_id": f"C-{offer_id}",
        "company_name": f"Firma {offer_id}",
        "country": country,
        "city": "Leipzig",
        "address": "Karl-Liebknecht-Straße 1, 04107 Leipzig",
        "contact_name": "Anna Schmidt",
        "contact_email": "anna@firma.example",
        "sector": Sector.SERVICES,
        "trades": frozenset({"commerce"}),
        "places": 1,
        "start_date": dt.date(2027, 5, 3),
        "end_date": dt.date(2027, 6, 11),
        "language_requirement": (),
        "accepts_minors": False,
    }
    fields.update(overrides)
    return Offer(**fields)


def need(spec: str) -> tuple[LanguageNeed, ...]:
    """Parse 'de:B1|en:B2' into language needs, for tests."""
    out = []
    for alternative in spec.split("|"):
        lang, level = alternative.split(":")
        out.append(LanguageNeed(lang, cefr_rank(level)))
    return tuple(out)


def random_round(
    seed: int, n_students: int, n_offers: int, x_share: float = 0.2, varied: bool = False
) -> RoundInput:
    """Return a random RoundInput with many ties, for cross-checking the two solver paths.

    `varied` also varies dates and languages, so every hard rule excludes some
    pairs; the default keeps most pairs acceptable, for long lines of ties.
    """
    rng = random.Random(seed)
    trades = ["commerce", "cuisine", "mv"]
    sectors = {"commerce": Sector.SERVICES, "cuisine": Sector.SERVICES, "mv": Sector.PRODUCTION}
    offers = []
    for j in range(n_offers):
        country = rng.choice(list(Country))
        trade = rng.choice(trades)
        offers.append(
            make_offer(
                f"{country.value}-{j:03d}",
                country=country,
                sector=sectors[trade],
                trades=frozenset({trade}),
                places=rng.randint(1, 3),
                accepts_minors=rng.random() < 0.5,
                language_requirement=rng.choice(
                    [(), (), need("en:B2"), need("de:A2|en:C1")]
                    if varied
                    else [(), (), need("en:B2")]
                ),
                start_date=rng.choice([dt.date(2027, 5, 3), dt.date(2027, 6, 7)])
                if varied
                else dt.date(2027, 5, 3),
                end_date=dt.date(2027, 7, 16) if varied else dt.date(2027, 6, 11),
            )
        )
    students = []
    for i in range(n_students):
        roll = rng.random()
        gender = Gender.X if roll < x_share else (Gender.F if rng.random() < 0.5 else Gender.M)
        wishes: tuple[str, ...] = ()
        if rng.random() < 0.6:
            wishes = tuple(rng.sample([o.offer_id for o in offers], 2)) + rng.choice(
                [("*",), ("DE", "*"), ()]
            )
        students.append(
            make_student(
                f"S{i:03d}",
                gender=gender,
                trade=rng.choice(trades),
                school_id=rng.choice(["LP-A", "LP-B", "LP-C", "CFA-D"]),
                birth_date=rng.choice([dt.date(2005, 1, 9), dt.date(2009, 12, 1)]),
                languages=rng.choice(
                    [{"en": 3}, {"en": 4}, {"de": 2}, {}] if varied else [{"en": 3}, {"en": 4}]
                ),
                available_from=rng.choice([dt.date(2027, 4, 1), dt.date(2027, 6, 1)])
                if varied
                else dt.date(2027, 4, 1),
                available_to=rng.choice([dt.date(2027, 7, 31), dt.date(2027, 7, 10)])
                if varied
                else dt.date(2027, 7, 31),
                preferences=wishes,
            )
        )
    return RoundInput(tuple(students), tuple(offers))
