"""The programme's vocabularies and the plain input and output types of a round.

Everything here is a frozen dataclass or an enum: the matching core works on
these and nothing else, so it never sees a database row, a request or a
DataFrame. Vocabularies that are data (trades, partners) are read from CSV
files shipped inside the package.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from functools import cache
from importlib import resources


class Country(StrEnum):
    """A host country of the programme."""

    DE = "DE"
    PL = "PL"
    UK = "UK"


COUNTRY_ALIASES: Mapping[str, Country] = {"GB": Country.UK}


class Sector(StrEnum):
    """The two families of vocational trades."""

    SERVICES = "services"
    PRODUCTION = "production"


class Gender(StrEnum):
    """Gender as stated by the student; X is other or not stated."""

    F = "F"
    M = "M"
    X = "X"


class Diploma(StrEnum):
    """The French vocational diplomas of the programme."""

    CAP = "CAP"
    BAC_PRO = "BAC_PRO"


CEFR_LEVELS: tuple[str, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")
"""Levels of the Common European Framework, lowest first; level n is CEFR_LEVELS[n - 1]."""

LANGUAGES: tuple[str, ...] = ("en", "de", "pl")
"""Languages with a column of their own in students.csv; `lang_xx` columns add more."""

ADULT_AGE = 18


def cefr_rank(level: str) -> int:
    """Return 1 for A1 … 6 for C2; raise ValueError for anything else."""
    try:
        return CEFR_LEVELS.index(level.strip().upper()) + 1
    except ValueError:
        raise ValueError(level) from None


def cefr_name(rank: int) -> str:
    """Return the CEFR name of a level rank (1 → A1)."""
    return CEFR_LEVELS[rank - 1]


@dataclass(frozen=True)
class Trade:
    """A vocational specialty (bac pro or CAP) and the sector it belongs to."""

    code: str
    sector: Sector
    title: str


@dataclass(frozen=True)
class Partner:
    """A partner organisation that brings host offers in one country."""

    code: str
    country: Country
    name: str
    oid: str = ""
    """Its Erasmus+ organisation ID (`E` and 8 digits), when known."""


@dataclass(frozen=True)
class Vocabulary:
    """The trade and partner lists a round is checked against."""

    trades: Mapping[str, Trade]
    partners: Mapping[str, Partner]

    def trades_of(self, sector: Sector) -> frozenset[str]:
        """Return the codes of every trade of a sector."""
        return frozenset(code for code, trade in self.trades.items() if trade.sector is sector)


def _read_vocabulary_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("mobility_match.vocabularies").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_vocabulary() -> Vocabulary:
    """Read the trade and partner lists shipped with the package."""
    trades = {
        row["code"]: Trade(row["code"], Sector(row["sector"]), row["title_fr"])
        for row in _read_vocabulary_rows("trades.csv")
    }
    partners = {
        row["code"]: Partner(
            row["code"], Country(row["country"]), row["name"], (row.get("oid") or "").strip()
        )
        for row in _read_vocabulary_rows("partners.csv")
    }
    return Vocabulary(trades=trades, partners=partners)


@dataclass(frozen=True)
class LanguageNeed:
    """One alternative of an offer's language requirement: `lang` at `level` or better."""

    lang: str
    level: int

    def __str__(self) -> str:
        return f"{self.lang}:{cefr_name(self.level)}"


ANY_OTHER = "*"
"""In a student's preferences: any other acceptable offer."""


def optional_columns(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The optional columns of a student's or an offer's row (`extra`), by lower-case name,
    names and values trimmed."""
    return {name.strip().lower(): value.strip() for name, value in extra}


@dataclass(frozen=True)
class Student:
    """A graduate taking part in a round, as read from students.csv."""

    student_id: str
    first_name: str
    last_name: str
    gender: Gender
    birth_date: dt.date
    school_id: str
    diploma: Diploma
    trade: str
    available_from: dt.date
    available_to: dt.date
    languages: Mapping[str, int] = field(default_factory=dict)
    """CEFR rank per language code; a language not listed is not known."""
    preferences: tuple[str, ...] = ()
    """Offer ids, country codes and `*`, best first; empty means every offer alike."""
    email: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    """Columns of the input file that the contract does not name, kept as read."""

    def is_minor_on(self, day: dt.date) -> bool:
        """Tell whether the student is under 18 on a given day (of age on the birthday)."""
        birthday_reached = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        age = day.year - self.birth_date.year - (0 if birthday_reached else 1)
        return age < ADULT_AGE


@dataclass(frozen=True)
class Offer:
    """A company opening a number of places for one period, as read from an offers file."""

    offer_id: str
    partner: str
    company_id: str
    company_name: str
    country: Country
    city: str
    address: str
    contact_name: str
    contact_email: str
    sector: Sector
    trades: frozenset[str]
    """Trade codes of the offer's sector; empty when the offer takes every trade of it (`*`)."""
    places: int
    start_date: dt.date
    end_date: dt.date
    language_requirement: tuple[LanguageNeed, ...] = ()
    """Alternatives, any one of which is enough; empty means no requirement."""
    accepts_minors: bool = False
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def takes_every_trade(self) -> bool:
        """True when the offer was published for every trade of its sector (`*`)."""
        return not self.trades

    @property
    def takes_minors(self) -> bool:
        """Whether a minor may be placed here: never in the UK, whatever the file says."""
        return self.accepts_minors and self.country is not Country.UK

    def label(self) -> str:
        """Return how a coordinator recognises the offer: id, company and city."""
        return f"{self.offer_id} ({self.company_name}, {self.city})"


@dataclass(frozen=True)
class Lock:
    """A coordinator's decision: the student goes to this offer, or (offer_id None) nowhere."""

    student_id: str
    offer_id: str | None
    declined_in: int | None = None
    """For a lock to nowhere carried by a re-run: the round whose placement the student
    declined (the lock is then the student's answer, not a coordinator's decision)."""


@dataclass(frozen=True)
class RoundInput:
    """Everything a round is solved on: checked students, offers and locks."""

    students: tuple[Student, ...]
    offers: tuple[Offer, ...]
    locks: tuple[Lock, ...] = ()


# ---- results -------------------------------------------------------------------------


class ReasonCode(StrEnum):
    """Why a student was left unplaced (CONTRACT.md lists the first three)."""

    NO_ACCEPTABLE_OFFER = "no_acceptable_offer"
    PLACES_TAKEN = "places_taken"
    LOCKED_UNPLACED = "locked_unplaced"
    POLICY_TRADEOFF = "policy_tradeoff"
    """An acceptable offer kept a free place: the policy's tolerance traded this placement."""
    DECLINED = "declined"
    """Declined the placement of the published round that this re-run replaces (an
    extension of CONTRACT.md: only a re-run in the service gives it)."""


def bare_sentence(code: str, sentence: str) -> str:
    """The sentence of a reason without a leading "code: ", which rows stored before
    issue 11 may hold (it is removed once, so an export never prints the code twice)."""
    prefix = f"{code}: "
    return sentence[len(prefix) :] if code and sentence.startswith(prefix) else sentence


def reason_line(code: str, sentence: str) -> str:
    """A reason as assignments.csv and the exports print it: the code, ": ", the sentence
    (CONTRACT.md), built here only; empty without a code."""
    return f"{code}: {bare_sentence(code, sentence)}" if code else ""


@dataclass(frozen=True)
class Reason:
    """A reason code and the sentence a coordinator reads (the sentence never holds the code)."""

    code: ReasonCode
    sentence: str

    def __str__(self) -> str:
        return reason_line(self.code.value, self.sentence)


@dataclass(frozen=True)
class Placement:
    """The outcome for one student: an offer, or a reason for staying unplaced."""

    student_id: str
    offer_id: str | None
    preference_rank: int | None = None
    locked: bool = False
    reason: Reason | None = None


class StageStatus(StrEnum):
    """Whether a stage's value is proven best (OPTIMAL) or only the best found (FEASIBLE)."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"


@dataclass(frozen=True)
class StageResult:
    """What one objective stage reached: its value, the bound proven on it, and how."""

    name: str
    value: Fraction
    bound: Fraction
    status: StageStatus
    seconds: float
    method: str
    """`flow` when network-flow algorithms settled the stage, `cp-sat` otherwise."""


@dataclass(frozen=True)
class RoundResult:
    """The placements of a round, one per input student and in input order, with its stages."""

    placements: tuple[Placement, ...]
    stages: tuple[StageResult, ...]
    acceptable_pairs: int
    solve_seconds: float
    eligible: tuple[bool, ...]
    """Per student, in input order: whether at least one offer passes the hard rules."""
    reproducible: bool = True
    """False when the round's wall-clock deadline (the time limit), not CP-SAT's
    deterministic time, stopped or skipped a search: the same seed may then give another
    result."""
