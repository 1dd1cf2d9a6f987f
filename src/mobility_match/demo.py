"""Fictitious students and host offers, for demonstrations, tests and benchmarks.

Everything is generated from a seed with its own `random.Random`, never the
global random state, so the same call always gives the same cohort. Names,
cities, streets and kinds of host companies are data, read from the
`demo_*.csv` files of `mobility_match.vocabularies`; the knobs that shape a
cohort (trade mix, gender skew, languages, periods…) are the constants below.
This module writes no file and knows nothing of the database or the solver.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import NamedTuple, TypeVar

import pandas as pd

from mobility_match.domain import (
    ANY_OTHER,
    Country,
    Diploma,
    Gender,
    LanguageNeed,
    Offer,
    Sector,
    Student,
    cefr_name,
    cefr_rank,
    load_vocabulary,
)
from mobility_match.matching.rules import age_rule, dates_rule, language_rule

STUDENT_COLUMNS: tuple[str, ...] = (
    "student_id", "first_name", "last_name", "email", "gender", "birth_date", "school_id",
    "diploma", "trade", "lang_en", "lang_de", "lang_pl", "available_from", "available_to",
    "preferences",
)  # fmt: skip
"""The columns of students.csv, in CONTRACT.md order."""

OFFER_COLUMNS: tuple[str, ...] = (
    "offer_id", "partner", "company_id", "company_name", "country", "city", "address",
    "contact_name", "contact_email", "sector", "trades", "places", "start_date", "end_date",
    "language_requirement", "accepts_minors",
)  # fmt: skip
"""The columns of an offers file, in CONTRACT.md order."""

# ---- knobs: students ------------------------------------------------------------------


class TradeProfile(NamedTuple):
    """How common a trade is among the graduates, and who studies it."""

    weight: float
    """Relative share of the cohort (services add up to about 55 %)."""
    share_f: float
    """Share of girls among the students who are not X."""
    share_cap: float
    """Share of CAP holders (the others hold a bac pro)."""


TRADE_PROFILES: Mapping[str, TradeProfile] = {
    "commerce": TradeProfile(11, 0.60, 0.30),
    "accueil": TradeProfile(5, 0.62, 0.0),
    "agora": TradeProfile(7, 0.52, 0.0),
    "logistique": TradeProfile(5, 0.15, 0.40),
    "transport": TradeProfile(2, 0.10, 0.60),
    "cuisine": TradeProfile(6, 0.45, 0.50),
    "csr": TradeProfile(4, 0.50, 0.45),
    "hotellerie": TradeProfile(2, 0.55, 0.30),
    "assp": TradeProfile(7, 0.90, 0.20),
    "coiffure": TradeProfile(2.5, 0.90, 0.75),
    "esthetique": TradeProfile(1.5, 0.97, 0.70),
    "securite": TradeProfile(2, 0.30, 0.50),
    "melec": TradeProfile(9, 0.03, 0.30),
    "mv": TradeProfile(7, 0.04, 0.40),
    "mspc": TradeProfile(4, 0.07, 0.0),
    "trpm": TradeProfile(3, 0.06, 0.20),
    "chaudronnerie": TradeProfile(3, 0.05, 0.30),
    "aeronautique": TradeProfile(2, 0.15, 0.15),
    "plasturgie": TradeProfile(1.5, 0.20, 0.30),
    "boulangerie": TradeProfile(4, 0.30, 0.75),
    "menuiserie": TradeProfile(3, 0.10, 0.40),
    "batiment": TradeProfile(3, 0.08, 0.45),
    "pilote_ligne": TradeProfile(2, 0.25, 0.0),
    "iccer": TradeProfile(3, 0.03, 0.40),
}

SHARE_X = 0.02
"""Share of students whose gender is X (other or not stated)."""

REFERENCE_DAY = dt.date(2027, 5, 1)
"""Ages are drawn as of this day: CAP holders are a year younger, most minors hold one."""
AGE_WEIGHTS: Mapping[Diploma, Mapping[int, float]] = {
    Diploma.CAP: {16: 8, 17: 40, 18: 30, 19: 12, 20: 6, 21: 4},
    Diploma.BAC_PRO: {17: 16, 18: 50, 19: 22, 20: 8, 21: 4},
}

ENGLISH_LEVELS: Mapping[int, float] = {0: 3, 1: 12, 2: 40, 3: 33, 4: 12}
"""CEFR rank (0: none, 1: A1 … 4: B2) → weight."""
GERMAN_SHARE = 0.30
GERMAN_LEVELS: Mapping[int, float] = {1: 45, 2: 40, 3: 15}
POLISH_SHARE = 0.02
POLISH_LEVELS: Mapping[int, float] = {1: 60, 2: 30, 3: 10}

AVAILABILITY_WINDOWS: tuple[tuple[dt.date, dt.date, float], ...] = (
    (dt.date(2027, 4, 26), dt.date(2027, 7, 23), 50),  # the whole spring term
    (dt.date(2027, 4, 26), dt.date(2027, 6, 27), 7),  # spring, back for a summer job
    (dt.date(2027, 5, 24), dt.date(2027, 7, 23), 8),  # spring, after the last exams
    (dt.date(2027, 9, 6), dt.date(2027, 11, 5), 15),  # autumn only
    (dt.date(2027, 4, 26), dt.date(2027, 11, 5), 20),  # spring or autumn
)

PREFERENCE_PATTERNS: Mapping[str, float] = {
    "": 50,  # no preference: every acceptable offer alike
    "C": 14,  # one country only
    "C;C": 10,  # two countries, nothing else
    "C;*": 10,  # a favourite country, else anything
    "O;C;*": 10,  # an offer, its country, else anything
    "O;O;*": 6,  # two offers, else anything
}
COUNTRY_APPEAL: Mapping[Country, float] = {Country.UK: 45, Country.DE: 30, Country.PL: 20}
GERMAN_SPEAKER_DE_BONUS = 30.0
"""Added to the appeal of Germany for a student who has some German."""

SCHOOL_TRADES = (3, 6)
"""Fewest and most trades taught in one school."""
CFA_SHARE = 0.3
CFA_TRADES = frozenset(
    ("boulangerie", "coiffure", "esthetique", "cuisine", "csr", "mv", "batiment", "menuiserie",
     "iccer", "melec", "commerce")
)  # fmt: skip
"""Trades that apprentice centres (CFA) teach; lycées professionnels teach any."""
DEPARTMENTS: Mapping[str, float] = {
    # académie de Lyon: Ain, Loire, Rhône; académie de Grenoble: Ardèche, Drôme, Isère, Savoie,
    # Haute-Savoie.
    "001": 10, "042": 12, "069": 30, "007": 5, "026": 8, "038": 20, "073": 7, "074": 12,
}  # fmt: skip

# ---- knobs: offers --------------------------------------------------------------------

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

# ---- data files -----------------------------------------------------------------------


def _read_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("mobility_match.vocabularies").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def _names() -> Mapping[str, tuple[str, ...]]:
    lists: dict[str, list[str]] = {}
    for row in _read_rows("demo_names.csv"):
        lists.setdefault(row["list"], []).append(row["value"])
    return {name: tuple(values) for name, values in lists.items()}


@cache
def _cities() -> Mapping[Country, tuple[tuple[str, tuple[str, ...]], ...]]:
    cities: dict[Country, list[tuple[str, tuple[str, ...]]]] = {}
    for row in _read_rows("demo_cities.csv"):
        postcodes = tuple(row["postcodes"].split(";"))
        cities.setdefault(Country(row["country"]), []).append((row["city"], postcodes))
    return {country: tuple(rows) for country, rows in cities.items()}


@dataclass(frozen=True, eq=False)
class _Activity:
    """A kind of host company: its sector, trades and name patterns per country."""

    sector: Sector
    trades: tuple[str, ...]
    weight: float
    name_patterns: Mapping[Country, tuple[str, ...]]


@cache
def _activities() -> tuple[_Activity, ...]:
    return tuple(
        _Activity(
            sector=Sector(row["sector"]),
            trades=tuple(row["trades"].split(";")),
            weight=float(row["weight"]),
            name_patterns={c: tuple(row[c.value.lower()].split("|")) for c in Country},
        )
        for row in _read_rows("demo_activities.csv")
    )


_T = TypeVar("_T")


def _pick(rng: random.Random, weights: Mapping[_T, float]) -> _T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


_SPELLED_OUT_LETTERS: dict[str, str | int | None] = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ł": "l", "ı": "i", "'": None,
}  # fmt: skip
_SPELLED_OUT = str.maketrans(_SPELLED_OUT_LETTERS)
"""Letters that Unicode decomposition does not turn into ASCII, spelled out as locals do."""


def _ascii_slug(text: str, keep: str = "") -> str:
    """Lower-case ASCII letters and digits of `text` (ä → ae, ł → l, é → e), plus `keep`."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_SPELLED_OUT))
    return "".join(ch for ch in text if (ch.isascii() and ch.isalnum()) or ch in keep)


# ---- students -------------------------------------------------------------------------


def _uai(rng: random.Random, department: str, taken: set[str]) -> str:
    """Return a new UAI-like school code: department, four digits, check letter."""
    while True:
        digits = f"{department}{rng.randrange(10_000):04d}"
        if digits not in taken:
            taken.add(digits)
            return digits + "ABCDEFGHJKLMNPRSTUVWXYZ"[int(digits) % 23]


def _make_schools(rng: random.Random, n_schools: int) -> dict[str, list[tuple[str, float]]]:
    """Return, per trade, the schools that teach it with their relative sizes."""
    trade_weights = {code: profile.weight for code, profile in TRADE_PROFILES.items()}
    per_school = max(SCHOOL_TRADES[0], -(-len(trade_weights) // n_schools))
    taken: set[str] = set()
    schools_by_trade: dict[str, list[tuple[str, float]]] = {code: [] for code in trade_weights}
    for _ in range(n_schools):
        is_cfa = rng.random() < CFA_SHARE
        school_id = ("CFA-" if is_cfa else "LP-") + _uai(rng, _pick(rng, DEPARTMENTS), taken)
        size = rng.uniform(0.5, 1.5)
        offered = {c: w for c, w in trade_weights.items() if not is_cfa or c in CFA_TRADES}
        for _ in range(min(len(offered), max(per_school, rng.randint(*SCHOOL_TRADES)))):
            trade = _pick(rng, offered)
            del offered[trade]
            schools_by_trade[trade].append((school_id, size))
    # Every trade is taught somewhere: an untaught one goes to the school of another trade.
    every_school = sorted({school for schools in schools_by_trade.values() for school in schools})
    for schools in schools_by_trade.values():
        if not schools:
            schools.append(rng.choice(every_school))
    return schools_by_trade


def _birth_date(rng: random.Random, diploma: Diploma) -> dt.date:
    age = _pick(rng, AGE_WEIGHTS[diploma])
    latest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age)
    earliest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age - 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))


def _languages(rng: random.Random) -> dict[str, int]:
    languages = {"en": _pick(rng, ENGLISH_LEVELS)}
    if rng.random() < GERMAN_SHARE:
        languages["de"] = _pick(rng, GERMAN_LEVELS)
    if rng.random() < POLISH_SHARE:
        languages["pl"] = _pick(rng, POLISH_LEVELS)
    return {lang: level for lang, level in languages.items() if level > 0}


class _OfferIndex:
    """The offers a student of each trade could be sent to, by trade and by country."""

    def __init__(self, offers: Sequence[Offer]) -> None:
        vocabulary = load_vocabulary()
        self.by_trade: dict[str, list[Offer]] = {code: [] for code in vocabulary.trades}
        for offer in offers:
            codes = vocabulary.trades_of(offer.sector) if offer.takes_every_trade else offer.trades
            for code in sorted(codes & self.by_trade.keys()):
                self.by_trade[code].append(offer)
        self.countries = {
            code: {offer.country for offer in trade_offers}
            for code, trade_offers in self.by_trade.items()
        }

    def suitable(self, rng: random.Random, student: Student, how_many: int) -> list[Offer]:
        """Pick offers of the student's trade, preferring those the student can take."""
        candidates = self.by_trade.get(student.trade, [])
        sample = rng.sample(candidates, min(len(candidates), 12))
        vocabulary = load_vocabulary()
        fitting = [
            offer
            for offer in sample
            if all(
                rule(student, offer, vocabulary) for rule in (language_rule, dates_rule, age_rule)
            )
        ]
        return (fitting + [offer for offer in sample if offer not in fitting])[:how_many]


def _preferences(
    rng: random.Random, student: Student, index: _OfferIndex | None
) -> tuple[str, ...]:
    pattern = _pick(rng, PREFERENCE_PATTERNS)
    if not pattern:
        return ()
    appeal = dict(COUNTRY_APPEAL)
    if "de" in student.languages:
        appeal[Country.DE] += GERMAN_SPEAKER_DE_BONUS
    if index is not None:  # students are told which countries have offers in their trade
        appeal = {c: w for c, w in appeal.items() if c in index.countries[student.trade]} or appeal
    entries: list[str] = []
    for entry in pattern.split(";"):
        if entry == "O" and index is not None:
            entries += [
                o.offer_id for o in index.suitable(rng, student, 1) if o.offer_id not in entries
            ]
        elif entry == "C":
            countries = {c: w for c, w in appeal.items() if c.value not in entries}
            if countries:
                entries.append(_pick(rng, countries).value)
        elif entry == ANY_OTHER:
            entries.append(ANY_OTHER)
    if entries == [ANY_OTHER]:  # no offer to name: fall back on a favourite country
        entries.insert(0, _pick(rng, appeal).value)
    return tuple(entries)


def generate_students(
    n: int, seed: int, offers: Sequence[Offer] | None = None, *, n_schools: int | None = None
) -> list[Student]:
    """Return `n` fictitious graduates, the same for the same arguments.

    With `offers`, preferences may name offers of the student's trade among them;
    without, preferences name countries only. Schools default to one per 60
    students (at least 10), each teaching a handful of trades.
    """
    rng = random.Random(seed)
    names = _names()
    index = _OfferIndex(offers) if offers is not None else None
    schools_by_trade = _make_schools(rng, n_schools or max(10, n // 60))
    trades = list(TRADE_PROFILES)
    trade_weights = [profile.weight for profile in TRADE_PROFILES.values()]
    windows = [(start, end) for start, end, _ in AVAILABILITY_WINDOWS]
    window_weights = [weight for _, _, weight in AVAILABILITY_WINDOWS]
    emails: dict[str, int] = {}
    students: list[Student] = []
    for number in range(1, n + 1):
        trade = rng.choices(trades, weights=trade_weights)[0]
        profile = TRADE_PROFILES[trade]
        if rng.random() < SHARE_X:
            gender = Gender.X
            first_name = rng.choice(names[rng.choice(("first_f", "first_m"))])
        else:
            gender = Gender.F if rng.random() < profile.share_f else Gender.M
            first_name = rng.choice(names["first_f" if gender is Gender.F else "first_m"])
        last_name = rng.choice(names["last_fr"])
        diploma = Diploma.CAP if rng.random() < profile.share_cap else Diploma.BAC_PRO
        schools = schools_by_trade[trade]
        school_id = rng.choices(schools, weights=[size for _, size in schools])[0][0]
        available_from, available_to = rng.choices(windows, weights=window_weights)[0]
        local = f"{_ascii_slug(first_name, '-')}.{_ascii_slug(last_name, '-')}"
        emails[local] = emails.get(local, 0) + 1
        suffix = str(emails[local]) if emails[local] > 1 else ""
        student = Student(
            student_id=f"S{number:05d}",
            first_name=first_name,
            last_name=last_name,
            gender=gender,
            birth_date=_birth_date(rng, diploma),
            school_id=school_id,
            diploma=diploma,
            trade=trade,
            available_from=available_from,
            available_to=available_to,
            languages=_languages(rng),
            email=f"{local}{suffix}@example.org",
        )
        students.append(replace(student, preferences=_preferences(rng, student, index)))
    return students


# ---- offers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Company:
    """A generated host company: what its offers have in common."""

    company_id: str
    country: Country
    activity: _Activity
    name: str
    city: str
    address: str
    contact_name: str
    contact_email: str
    language_requirement: tuple[LanguageNeed, ...]
    accepts_minors: bool


def _address(rng: random.Random, country: Country, city: str, postcodes: Sequence[str]) -> str:
    """Return a street address written the way the country writes it."""
    street = rng.choice(_names()[f"street_{country.value.lower()}"])
    number = rng.randint(1, 180)
    postcode = rng.choice(postcodes)
    if country is Country.UK:
        inward = f"{rng.randint(1, 9)}{''.join(rng.choices('ABDEFGHJLNPQRSTUWXYZ', k=2))}"
        premises = f"Unit {rng.randint(1, 24)}," if rng.random() < 0.3 else str(number)
        return f"{premises} {street}, {city} {postcode} {inward}"
    return f"{street} {number}, {postcode} {city}"


def _tutor(rng: random.Random, country: Country) -> tuple[str, str]:
    """Return a tutor's first and last name, typical of the country."""
    names = _names()
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


def _make_company(
    rng: random.Random, number: int, services_share: float, domains: set[str]
) -> _Company:
    country = _pick(rng, COUNTRY_WEIGHTS)
    sector = Sector.SERVICES if rng.random() < services_share else Sector.PRODUCTION
    activities = {a: a.weight for a in _activities() if a.sector is sector}
    activity = _pick(rng, activities)
    city, postcodes = rng.choice(_cities()[country])
    surname = rng.choice(_names()[f"last_{country.value.lower()}"])
    pattern = rng.choice(activity.name_patterns[country])
    name = pattern.format(surname=surname, city=city)
    domain = "-".join(filter(None, (_ascii_slug(w) for w in name.split() if w not in _LEGAL_FORMS)))
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
        contact_email=f"{_ascii_slug(first)[:1]}.{_ascii_slug(last)}@{domain}.example",
        language_requirement=_parse_requirement(_pick(rng, LANGUAGE_REQUIREMENTS[country])),
        accepts_minors=rng.random() < MINORS_SHARE[country],
    )


_LEGAL_FORMS = frozenset(
    ("GmbH", "&", "Co.", "KG", "e.K.", "mbB", "gGmbH", "AG", "Sp.", "z", "o.o.", "s.c.", "S.A.",
     "k.", "Ltd", "LLP", "plc")
)  # fmt: skip


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
        places=_pick(rng, PLACES),
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
        for _ in range(min(_pick(rng, OFFERS_PER_COMPANY), n - len(offers))):
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


# ---- frames ---------------------------------------------------------------------------


def students_frame(students: Sequence[Student]) -> pd.DataFrame:
    """Return the students as students.csv rows: CONTRACT.md columns, text as written."""
    rows = [
        [
            student.student_id,
            student.first_name,
            student.last_name,
            student.email,
            student.gender.value,
            student.birth_date.isoformat(),
            student.school_id,
            student.diploma.value,
            student.trade,
            *(_level(student.languages.get(lang)) for lang in ("en", "de", "pl")),
            student.available_from.isoformat(),
            student.available_to.isoformat(),
            ";".join(student.preferences),
        ]
        for student in students
    ]
    return pd.DataFrame(rows, columns=list(STUDENT_COLUMNS), dtype=str)


def offers_frame(offers: Sequence[Offer]) -> pd.DataFrame:
    """Return the offers as rows of an offers file: CONTRACT.md columns, text as written."""
    trade_order = {code: position for position, code in enumerate(load_vocabulary().trades)}
    rows = [
        [
            offer.offer_id,
            offer.partner,
            offer.company_id,
            offer.company_name,
            offer.country.value,
            offer.city,
            offer.address,
            offer.contact_name,
            offer.contact_email,
            offer.sector.value,
            ";".join(sorted(offer.trades, key=lambda code: trade_order.get(code, len(trade_order))))
            or ANY_OTHER,
            str(offer.places),
            offer.start_date.isoformat(),
            offer.end_date.isoformat(),
            "|".join(str(need) for need in offer.language_requirement),
            "true" if offer.accepts_minors else "false",
        ]
        for offer in offers
    ]
    return pd.DataFrame(rows, columns=list(OFFER_COLUMNS), dtype=str)


def _level(rank: int | None) -> str:
    return cefr_name(rank) if rank else ""
