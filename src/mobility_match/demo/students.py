"""Fictitious graduates: schools, trades, ages, languages, availability and preferences.

Everything is drawn from a seed with its own `random.Random`, never the global
random state, so the same call always gives the same cohort; the knobs that shape
a cohort (trade mix, gender skew, languages, periods…) are the constants below.
Given offers, preferences may name some of them, preferring those the matching
rules allow. This module writes no file and knows nothing of the database or the solver.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from mobility_match.demo.sources import ascii_slug, name_lists, pick
from mobility_match.domain import (
    ANY_OTHER,
    Country,
    Diploma,
    Gender,
    Offer,
    Student,
    load_vocabulary,
)
from mobility_match.matching.rules import age_rule, dates_rule, language_rule

# ---- knobs ----------------------------------------------------------------------------


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

# ---- generation -----------------------------------------------------------------------


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
        school_id = ("CFA-" if is_cfa else "LP-") + _uai(rng, pick(rng, DEPARTMENTS), taken)
        size = rng.uniform(0.5, 1.5)
        offered = {c: w for c, w in trade_weights.items() if not is_cfa or c in CFA_TRADES}
        for _ in range(min(len(offered), max(per_school, rng.randint(*SCHOOL_TRADES)))):
            trade = pick(rng, offered)
            del offered[trade]
            schools_by_trade[trade].append((school_id, size))
    # Every trade is taught somewhere: an untaught one goes to the school of another trade.
    every_school = sorted({school for schools in schools_by_trade.values() for school in schools})
    for schools in schools_by_trade.values():
        if not schools:
            schools.append(rng.choice(every_school))
    return schools_by_trade


def _birth_date(rng: random.Random, diploma: Diploma) -> dt.date:
    age = pick(rng, AGE_WEIGHTS[diploma])
    latest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age)
    earliest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age - 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))


def _languages(rng: random.Random) -> dict[str, int]:
    languages = {"en": pick(rng, ENGLISH_LEVELS)}
    if rng.random() < GERMAN_SHARE:
        languages["de"] = pick(rng, GERMAN_LEVELS)
    if rng.random() < POLISH_SHARE:
        languages["pl"] = pick(rng, POLISH_LEVELS)
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
    pattern = pick(rng, PREFERENCE_PATTERNS)
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
                entries.append(pick(rng, countries).value)
        elif entry == ANY_OTHER:
            entries.append(ANY_OTHER)
    if entries == [ANY_OTHER]:  # no offer to name: fall back on a favourite country
        entries.insert(0, pick(rng, appeal).value)
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
    names = name_lists()
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
        local = f"{ascii_slug(first_name, '-')}.{ascii_slug(last_name, '-')}"
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
