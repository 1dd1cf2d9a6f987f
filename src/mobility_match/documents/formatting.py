"""How placement documents write dates, names, lengths, trades and diplomas in each language.

Plain functions from a value and a language code (`fr`, `de`, `pl`, `en`) to plain text;
the renderer registers them as Jinja filters and globals. They return text, never markup:
the templates escape whatever they print, so a name with `<` or `'` stays harmless.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from functools import cache
from importlib import resources

from babel import Locale
from babel.dates import format_date

from mobility_match.domain import Country, Diploma

LOCALES: Mapping[str, str] = {"fr": "fr_FR", "de": "de_DE", "pl": "pl_PL", "en": "en_GB"}
"""The Babel locale each document language is written in (British English for the UK)."""

_WEEK_WORDS: Mapping[str, Mapping[str, str]] = {
    "fr": {"one": "semaine", "other": "semaines"},
    "de": {"one": "Woche", "other": "Wochen"},
    "en": {"one": "week", "other": "weeks"},
    # Polish has three forms for whole numbers: 1 tydzień, 2–4 (22–24…) tygodnie, 5+ tygodni.
    "pl": {"one": "tydzień", "few": "tygodnie", "many": "tygodni", "other": "tygodnia"},
}

_DIPLOMA_NAMES: Mapping[Diploma, Mapping[str, str]] = {
    Diploma.CAP: {
        "fr": "Certificat d'aptitude professionnelle (CAP)",
        "de": "CAP – französischer Berufsabschluss (Certificat d'aptitude professionnelle)",
        "pl": "CAP – francuski dyplom zawodowy (Certificat d'aptitude professionnelle)",
        "en": "CAP – French vocational certificate (Certificat d'aptitude professionnelle)",
    },
    Diploma.BAC_PRO: {
        "fr": "Baccalauréat professionnel",
        "de": "Bac pro – französisches Berufsabitur (Baccalauréat professionnel)",
        "pl": "Bac pro – francuska matura zawodowa (Baccalauréat professionnel)",
        "en": "Bac pro – French vocational baccalaureate (Baccalauréat professionnel)",
    },
}

_EQF_LEVELS: Mapping[Diploma, int] = {Diploma.CAP: 3, Diploma.BAC_PRO: 4}

# The European Qualifications Framework goes by its own initials in each language.
_EQF_LABELS: Mapping[str, str] = {
    "fr": "niveau {level} du CEC",
    "de": "EQR-Niveau {level}",
    "pl": "poziom {level} ERK",
    "en": "EQF level {level}",
}

# Babel knows the United Kingdom by its ISO code, GB.
_TERRITORIES: Mapping[Country, str] = {Country.DE: "DE", Country.PL: "PL", Country.UK: "GB"}


def _checked(lang: str) -> str:
    """Return the language code if documents are written in it, else raise ValueError."""
    if lang not in LOCALES:
        raise ValueError(f"No document language {lang!r}; expected one of {', '.join(LOCALES)}.")
    return lang


def _locale(lang: str) -> str:
    return LOCALES[_checked(lang)]


def long_date(day: dt.date, lang: str) -> str:
    """Write a date the long way of the language: `3 mai 2027`, `3. Mai 2027`, `3 maja 2027`."""
    written = format_date(day, format="long", locale=_locale(lang))
    if lang == "fr" and day.day == 1:
        # French writes the first of the month as an ordinal (`1er mai`); CLDR does not.
        return "1er" + written.removeprefix("1")
    return written


def weeks_text(weeks: int, lang: str) -> str:
    """Write a number of weeks with the plural form the language needs (`2 tygodnie`)."""
    category = Locale.parse(_locale(lang)).plural_form(weeks)
    words = _WEEK_WORDS[lang]
    return f"{weeks} {words.get(category, words['other'])}"


def full_name(first_name: str, last_name: str, lang: str) -> str:
    """Write a person's name: French documents put the family name in capitals."""
    if _checked(lang) == "fr":
        return f"{first_name} {last_name.upper()}"
    return f"{first_name} {last_name}"


@cache
def _trade_titles() -> Mapping[str, Mapping[str, str]]:
    text = resources.files("mobility_match.vocabularies").joinpath("trades.csv").read_text("utf-8")
    return {row["code"]: row for row in csv.DictReader(text.splitlines())}


def trade_title(code: str, lang: str) -> str:
    """Name a trade in the language, falling back to French, then to its code if unknown."""
    _checked(lang)
    row = _trade_titles().get(code)
    if row is None:
        return code
    return row.get(f"title_{lang}") or row["title_fr"]


def diploma_name(diploma: Diploma, lang: str) -> str:
    """Name a French vocational diploma so that a reader abroad knows what it is."""
    return _DIPLOMA_NAMES[diploma][_checked(lang)]


def eqf_level(diploma: Diploma) -> int:
    """Return the diploma's level in the European Qualifications Framework (CAP 3, bac pro 4)."""
    return _EQF_LEVELS[diploma]


def eqf_label(diploma: Diploma, lang: str) -> str:
    """Write the diploma's EQF level in the language (`EQR-Niveau 4`, `niveau 4 du CEC`)."""
    return _EQF_LABELS[_checked(lang)].format(level=eqf_level(diploma))


def country_name(country: Country, lang: str) -> str:
    """Name a host country in the language (`Deutschland`, `Wielka Brytania`)."""
    name: str = Locale.parse(_locale(lang)).territories[_TERRITORIES[country]]
    return name
