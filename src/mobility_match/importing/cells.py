"""Cell parsers shared by the row readers: each returns the value or raises Invalid.

A parser takes one stripped cell and returns its value in the types of domain.py,
or raises `Invalid` with a sentence saying what is wrong and what would be valid.
Parsers look at one cell only: rules between cells, rows or files belong to the
readers of students, offers and locks.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence

from mobility_match.domain import (
    ANY_OTHER,
    CEFR_LEVELS,
    COUNTRY_ALIASES,
    Country,
    Diploma,
    Gender,
    LanguageNeed,
    Sector,
    Vocabulary,
    cefr_rank,
)
from mobility_match.importing.table import Invalid

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_WHOLE_NUMBER = re.compile(r"\d+(?:\.0+)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_LANGUAGE_NEED = re.compile(r"([A-Za-z]{2})\s*:\s*([A-Za-z]\d)")
_DATE_HINT = "expected a date as YYYY-MM-DD, e.g. 2026-09-07"
_CEFR_HINT = f"expected a CEFR level ({', '.join(CEFR_LEVELS)}) or nothing"
_BOOLEANS: Mapping[str, bool] = {
    **dict.fromkeys(("true", "yes", "1", "vrai"), True),
    **dict.fromkeys(("false", "no", "0", "faux"), False),
}


def required(what: str, owner: str) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        if not cell:
            raise Invalid(f"the {what} is empty; every {owner} needs one")
        return cell

    return parse


def date(cell: str) -> dt.date:
    match = _DATE.fullmatch(cell)
    try:
        if match is None:
            raise ValueError(cell)
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        shown = f"'{cell}' is not a valid date" if cell else "the date is empty"
        raise Invalid(f"{shown}; {_DATE_HINT}") from None


def email(required: bool) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        if not cell and not required:
            return ""
        if not _EMAIL.fullmatch(cell):
            shown = f"'{cell}' is not an e-mail address" if cell else "the e-mail address is empty"
            raise Invalid(f"{shown}; expected one like name@example.org")
        return cell

    return parse


def gender(cell: str) -> Gender:
    if cell.upper() in Gender.__members__:
        return Gender(cell.upper())
    raise Invalid(f"'{cell}' is not a gender; expected F, M or X (X: other or not stated)")


def diploma(cell: str) -> Diploma:
    code = re.sub(r"[\s-]+", "_", cell.upper())
    if code in Diploma.__members__:
        return Diploma(code)
    raise Invalid(f"'{cell}' is not a diploma of the programme; expected CAP or BAC_PRO")


def _unknown(kind: str, value: str, valid: Sequence[str], where: str) -> str:
    """Say that a code is unknown and what would be valid, briefly when the list is long."""
    if len(valid) <= 8:
        return f"unknown {kind} '{value}'; valid {kind}s: {', '.join(valid)}"
    close = difflib.get_close_matches(value.lower(), valid, n=5, cutoff=0.6)
    hint = f"closest valid codes: {', '.join(close)}; " if close else ""
    return f"unknown {kind} '{value}'; {hint}see {where} for all {len(valid)} codes"


def trade(vocabulary: Vocabulary) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        code = cell.lower()
        if code not in vocabulary.trades:
            raise Invalid(_unknown("trade", cell, sorted(vocabulary.trades), "the trade list"))
        return code

    return parse


def country_code(cell: str) -> Country | None:
    code = cell.upper()
    if code in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[code]
    return Country(code) if code in Country.__members__ else None


def country(cell: str) -> Country:
    country = country_code(cell)
    if country is None:
        raise Invalid(f"unknown country '{cell}'; valid countries: DE, PL, UK (GB is read as UK)")
    return country


def language_level(cell: str) -> int | None:
    if not cell:
        return None
    try:
        return cefr_rank(cell)
    except ValueError:
        raise Invalid(f"'{cell}' is not a CEFR level; {_CEFR_HINT}") from None


def preferences(cell: str) -> tuple[str, ...]:
    entries: list[str] = []
    twice: list[str] = []
    for raw in cell.split(";"):
        entry = raw.strip()
        if not entry:
            continue
        country = country_code(entry)
        entry = country.value if country is not None else entry
        (twice if entry in entries else entries).append(entry)
    if twice:
        listed = ", ".join(f"'{entry}'" for entry in dict.fromkeys(twice))
        raise Invalid(f"{listed} listed twice; list each offer or country once")
    return tuple(entries)


def partner(vocabulary: Vocabulary) -> Callable[[str], str]:
    codes = {code.upper(): code for code in vocabulary.partners}

    def parse(cell: str) -> str:
        if cell.upper() not in codes:
            raise Invalid(_unknown("partner", cell, list(vocabulary.partners), "the partner list"))
        return codes[cell.upper()]

    return parse


def sector(cell: str) -> Sector:
    if cell.lower() in {sector.value for sector in Sector}:
        return Sector(cell.lower())
    raise Invalid(f"unknown sector '{cell}'; valid sectors: services, production")


def trades(vocabulary: Vocabulary, sector: Sector | None) -> Callable[[str], frozenset[str]]:
    def parse(cell: str) -> frozenset[str]:
        if cell == ANY_OTHER:
            return frozenset()
        codes = [code.strip().lower() for code in cell.split(";") if code.strip()]
        if not codes:
            raise Invalid(
                "the trades are empty; list trade codes separated by ';', or put * for every "
                "trade of the sector"
            )
        faults: list[str] = []
        for code in codes:
            if code == ANY_OTHER:
                faults.append("* must stand alone, not among trade codes")
            elif code not in vocabulary.trades:
                faults.append(_unknown("trade", code, sorted(vocabulary.trades), "the trade list"))
            elif sector is not None and vocabulary.trades[code].sector is not sector:
                other = vocabulary.trades[code].sector.value
                faults.append(f"trade {code} belongs to {other}, not to this {sector.value} offer")
        if faults:
            raise Invalid("; ".join(faults))
        return frozenset(codes)

    return parse


MAX_PLACES = 1000
"""The most places one offer may open: more is a typing slip (and no database column)."""


def places(cell: str) -> int:
    if _WHOLE_NUMBER.fullmatch(cell) and 1 <= int(float(cell)) <= MAX_PLACES:
        return int(float(cell))
    raise Invalid(f"places must be a whole number from 1 to {MAX_PLACES:,}, not '{cell}'")


def language_requirement(cell: str) -> tuple[LanguageNeed, ...]:
    needs: list[LanguageNeed] = []
    for raw in cell.split("|"):
        alternative = raw.strip()
        match = _LANGUAGE_NEED.fullmatch(alternative)
        if not alternative:
            continue
        if match is None or match.group(2).upper() not in CEFR_LEVELS:
            raise Invalid(
                f"'{alternative}' is not a language requirement; expected alternatives lang:LEVEL "
                "separated by |, e.g. de:B1|en:B2"
            )
        needs.append(LanguageNeed(match.group(1).lower(), cefr_rank(match.group(2))))
    return tuple(needs)


def accepts_minors(cell: str) -> bool:
    if not cell:
        return False
    if cell.lower() in _BOOLEANS:
        return _BOOLEANS[cell.lower()]
    raise Invalid(f"'{cell}' is not true or false; leave it empty for false")


def checked_by(check: Callable[[str], str]) -> Callable[[str], str]:
    """A parser of one of identifiers.py's checks (an OID, a phone number, working hours):
    its ValueError becomes Invalid."""

    def parse(cell: str) -> str:
        try:
            return check(cell)
        except ValueError as invalid:
            raise Invalid(str(invalid)) from None

    return parse
