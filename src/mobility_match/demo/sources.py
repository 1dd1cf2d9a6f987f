"""What every demo generator draws from: the `demo_*.csv` lists, and how to draw and spell.

Names, cities, streets and kinds of host companies are data, read once from the
`demo_*.csv` files of `mobility_match.vocabularies`; `pick` and `ascii_slug` are
the two small operations the student and offer generators share. This module
holds no knob of a cohort, draws from no random state of its own and writes no file.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TypeVar

from mobility_match.domain import Country, Sector


def _read_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("mobility_match.vocabularies").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def name_lists() -> Mapping[str, tuple[str, ...]]:
    """Return the lists of demo_names.csv (first names, surnames, streets…) by list name."""
    lists: dict[str, list[str]] = {}
    for row in _read_rows("demo_names.csv"):
        lists.setdefault(row["list"], []).append(row["value"])
    return {name: tuple(values) for name, values in lists.items()}


@cache
def cities() -> Mapping[Country, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Return, per country, the cities of demo_cities.csv with their postcodes."""
    cities: dict[Country, list[tuple[str, tuple[str, ...]]]] = {}
    for row in _read_rows("demo_cities.csv"):
        postcodes = tuple(row["postcodes"].split(";"))
        cities.setdefault(Country(row["country"]), []).append((row["city"], postcodes))
    return {country: tuple(rows) for country, rows in cities.items()}


@dataclass(frozen=True, eq=False)
class Activity:
    """A kind of host company: its sector, trades and name patterns per country."""

    sector: Sector
    trades: tuple[str, ...]
    weight: float
    name_patterns: Mapping[Country, tuple[str, ...]]


@cache
def activities() -> tuple[Activity, ...]:
    """Return the kinds of host company of demo_activities.csv, in file order."""
    return tuple(
        Activity(
            sector=Sector(row["sector"]),
            trades=tuple(row["trades"].split(";")),
            weight=float(row["weight"]),
            name_patterns={c: tuple(row[c.value.lower()].split("|")) for c in Country},
        )
        for row in _read_rows("demo_activities.csv")
    )


_T = TypeVar("_T")


def pick(rng: random.Random, weights: Mapping[_T, float]) -> _T:
    """Draw one key of `weights`, each as likely as its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


_SPELLED_OUT_LETTERS: dict[str, str | int | None] = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ł": "l", "ı": "i", "'": None,
}  # fmt: skip
_SPELLED_OUT = str.maketrans(_SPELLED_OUT_LETTERS)
"""Letters that Unicode decomposition does not turn into ASCII, spelled out as locals do."""


def ascii_slug(text: str, keep: str = "") -> str:
    """Lower-case ASCII letters and digits of `text` (ä → ae, ł → l, é → e), plus `keep`."""
    text = unicodedata.normalize("NFKD", text.lower().translate(_SPELLED_OUT))
    return "".join(ch for ch in text if (ch.isascii() and ch.isalnum()) or ch in keep)
