"""French school holidays and working days, for dating teachers' and coordinators' steps.

The holidays are data (`checklists/school_holidays.toml`: one entry per school year,
holidays per zone A, B, C), read and checked here with every problem reported at once.
A school's zone comes from the académie of the department in its UAI code
(`vocabularies/academies.csv`). This module answers "which working day comes last
before this one, at this school?"; it knows nothing of steps, placements or the database.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import itertools
import logging
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType

HOLIDAYS_FILE = "school_holidays.toml"


log = logging.getLogger(__name__)


class Zone(StrEnum):
    """A zone of the national school calendar of metropolitan France."""

    A = "A"
    B = "B"
    C = "C"


@dataclass(frozen=True)
class Holiday:
    """One school holiday period, from its first day without classes to the eve of classes."""

    name: str
    first_day: dt.date
    last_day: dt.date
    zones: frozenset[Zone]


@dataclass(frozen=True)
class SchoolCalendar:
    """The school holidays of consecutive school years, from `known_from` to `known_until`."""

    label: str
    """How error messages name the data file."""
    known_from: dt.date
    known_until: dt.date
    holidays: tuple[Holiday, ...]
    _closed: Mapping[Zone | None, frozenset[dt.date]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A day of holidays of each zone, and of any zone for a school whose zone is unknown;
        # a publication asks about some 100,000 days.
        closed = {
            zone: frozenset(
                day
                for holiday in self.holidays
                if zone is None or zone in holiday.zones
                for day in _days(holiday.first_day, holiday.last_day)
            )
            for zone in (*Zone, None)
        }
        object.__setattr__(self, "_closed", MappingProxyType(closed))

    def is_working_day(self, day: dt.date, zone: Zone | None) -> bool:
        """Tell whether a school of `zone` (None: unknown, so every zone's holidays) works
        on `day`: not a weekend, a public holiday or a school holiday. Outside the school
        years the data covers, only weekends and public holidays are known: a warning says
        once which year to add, and nothing is refused (a publication must not wait for
        reference data)."""
        if not self.known_from <= day <= self.known_until:
            _warn_uncovered(self.label, day.year, self.known_from, self.known_until)
            return day.weekday() < 5 and day not in public_holidays(day.year)
        return (
            day.weekday() < 5
            and day not in public_holidays(day.year)
            and day not in self._closed[zone]
        )

    def working_day_before(
        self, day: dt.date, zone: Zone | None, *, not_before: dt.date | None = None
    ) -> dt.date:
        """Return `day` if it is a working day, else the last working day before it.

        When that falls before `not_before` (a step due after an event cannot move before
        the event), return the first working day after `day` instead.
        """
        earlier = day
        while not self.is_working_day(earlier, zone):
            earlier -= dt.timedelta(days=1)
        if not_before is None or earlier >= not_before:
            return earlier
        later = day
        while not self.is_working_day(later, zone):
            later += dt.timedelta(days=1)
        return later


@cache
def _warn_uncovered(label: str, year: int, known_from: dt.date, known_until: dt.date) -> None:
    log.warning(
        "%s: no school holidays are known in %d (the file covers %s to %s); deadlines then "
        "avoid weekends and public holidays only: add that school year, with its holidays by "
        "zone",
        label,
        year,
        known_from.isoformat(),
        known_until.isoformat(),
    )


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    return (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))


# ---- public holidays and zones ---------------------------------------------------------


def _easter_sunday(year: int) -> dt.date:
    """Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday_shift) // 433
    month = (h + weekday_shift - 7 * m + 90) // 25
    day = (h + weekday_shift - 7 * m + 33 * month + 19) % 32
    return dt.date(year, month, day)


@cache
def public_holidays(year: int) -> frozenset[dt.date]:
    """The eleven public holidays of metropolitan France (Code du travail, art. L3133-1)."""
    easter = _easter_sunday(year)
    fixed = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
    movable = (1, 39, 50)  # Easter Monday, Ascension Day, Whit Monday
    return frozenset(
        [dt.date(year, month, day) for month, day in fixed]
        + [easter + dt.timedelta(days=offset) for offset in movable]
    )


_UAI = re.compile(r"(?<![0-9A-Z])([0-9]{3})[0-9]{4}[A-Z](?![0-9A-Z])")
"""A UAI school code: the department on three characters, four digits, a check letter."""


@cache
def _zones_by_department() -> Mapping[str, Zone | None]:
    text = resources.files("mobility_match.vocabularies").joinpath("academies.csv")
    rows = csv.DictReader(text.read_text("utf-8").splitlines())
    return MappingProxyType(
        {row["uai_department"]: Zone(row["zone"]) if row["zone"] else None for row in rows}
    )


def school_zone(school_id: str) -> Zone | None:
    """The holiday zone of a school whose id holds its UAI code (e.g. `LP-0691234X`, in the
    académie de Lyon: zone A); None when the id holds none, or for Corsica and overseas."""
    found = _UAI.search(school_id.upper())
    return _zones_by_department().get(found.group(1)) if found else None


def months_later_eve(start: dt.date, months: int) -> dt.date:
    """The last day of a period of `months` months beginning on `start` (BGB §§ 187(2),
    188(2) and (3)): the eve of the same date `months` later, or the last day of that month
    when it has no such date (a stay from 30 November ends on 28 or 29 February)."""
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    month = month_index + 1
    if start.day > calendar.monthrange(year, month)[1]:
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(year, month, start.day) - dt.timedelta(days=1)


# ---- reading the data ------------------------------------------------------------------

_YEAR_FIELDS = ("name", "first_day", "last_day", "source", "holiday")
_HOLIDAY_FIELDS = ("name", "first_day", "last_day", "zones")


def parse_school_calendar(text: str, label: str, problems: list[str]) -> SchoolCalendar | None:
    """Read the holidays file; append a sentence to `problems` for everything wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        problems.append(f"{label}: not valid TOML: {error}")
        return None
    before = len(problems)
    problems.extend(
        f"{label}: {name}: unknown top-level entry (only [[school_year]] tables are allowed)"
        for name in document
        if name != "school_year"
    )
    raw_years = document.get("school_year")
    if not isinstance(raw_years, list) or not raw_years:
        problems.append(f"{label}: school_year: at least one [[school_year]] table is required")
        return None
    years: list[tuple[str, dt.date, dt.date]] = []
    holidays: list[Holiday] = []
    for index, raw in enumerate(raw_years, start=1):
        where = f"{label}: school_year {index}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a [[school_year]] table of fields")
            continue
        if isinstance(raw.get("name"), str):
            where = f"{where} ({raw['name']})"
        _unknown(raw, _YEAR_FIELDS, where, problems)
        name = _text(raw, "name", where, problems)
        span = _span(raw, where, problems)
        if span is None:
            continue
        years.append((name, *span))
        raw_holidays = raw.get("holiday", [])
        if not isinstance(raw_holidays, list):
            problems.append(f"{where}: holiday: must be a list of [[school_year.holiday]] tables")
            continue
        for number, raw_holiday in enumerate(raw_holidays, start=1):
            holiday = _holiday(raw_holiday, f"{where}: holiday {number}", problems)
            if holiday is None:
                continue
            if not (span[0] <= holiday.first_day and holiday.last_day <= span[1]):
                problems.append(
                    f"{where}: holiday {number} ({holiday.name}): its dates "
                    f"{holiday.first_day.isoformat()} to {holiday.last_day.isoformat()} are "
                    f"not within the school year ({span[0].isoformat()} to "
                    f"{span[1].isoformat()})"
                )
            holidays.append(holiday)
    for (name, _first, last), (next_name, next_first, _last) in itertools.pairwise(years):
        if next_first != last + dt.timedelta(days=1):
            problems.append(
                f"{label}: school_year {next_name}: first_day must be the day after the "
                f"last_day of {name} ({(last + dt.timedelta(days=1)).isoformat()}), so that "
                "no day is left without a calendar"
            )
    if len(problems) > before or not years:
        return None
    return SchoolCalendar(
        label=label,
        known_from=years[0][1],
        known_until=years[-1][2],
        holidays=tuple(holidays),
    )


def _holiday(raw: object, where: str, problems: list[str]) -> Holiday | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a [[school_year.holiday]] table of fields")
        return None
    if isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    before = len(problems)
    _unknown(raw, _HOLIDAY_FIELDS, where, problems)
    name = _text(raw, "name", where, problems)
    span = _span(raw, where, problems)
    zones = raw.get("zones", [zone.value for zone in Zone])
    valid = ", ".join(zone.value for zone in Zone)
    if not isinstance(zones, list) or not zones or not all(zone in list(Zone) for zone in zones):
        problems.append(f"{where}: zones: {zones!r} is not a non-empty list of {valid}")
    if span is None or len(problems) > before:
        return None
    return Holiday(name, span[0], span[1], frozenset(Zone(zone) for zone in zones))


def _unknown(
    raw: Mapping[str, object], known: tuple[str, ...], where: str, problems: list[str]
) -> None:
    problems.extend(
        f"{where}: {name}: unknown field (valid fields: {', '.join(known)})"
        for name in raw
        if name not in known
    )


def _text(raw: Mapping[str, object], name: str, where: str, problems: list[str]) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {name}: missing or empty (a text is required)")
        return ""
    return value.strip()


def _span(
    raw: Mapping[str, object], where: str, problems: list[str]
) -> tuple[dt.date, dt.date] | None:
    dates = []
    for name in ("first_day", "last_day"):
        value = raw.get(name)
        # A TOML local date-time is a datetime, which is a date too: refuse it.
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            problems.append(f"{where}: {name}: {value!r} is not a date (write it as 2027-07-03)")
        else:
            dates.append(value)
    if len(dates) != 2:
        return None
    first, last = dates
    if last < first:
        problems.append(
            f"{where}: last_day ({last.isoformat()}) is before first_day ({first.isoformat()})"
        )
        return None
    return first, last
