"""Per-country preparation checklists: read from TOML data, dated for one student.

The steps are data, not code (`mobility_match/checklists/common.toml` and one
file per host country), so that a deadline or a legal detail can be corrected,
or overridden from a coordinator's folder, without a release. This module reads
and checks those files, reporting every problem at once, and turns them into
one placement's `DueStep`s: a step of a teacher or a coordinator is moved out of the
school's holidays and weekends (documents/school_calendar.py), and a partner's name
comes from the partner data through the `{partner}` placeholder, never from these
files. It never touches the database and decides nothing about the law: a step
marked `check_legal` says what a coordinator must verify.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from mobility_match.documents.facts import Actor, DueStep
from mobility_match.documents.school_calendar import (
    HOLIDAYS_FILE,
    SchoolCalendar,
    Zone,
    months_later_eve,
    parse_school_calendar,
)
from mobility_match.domain import Country, load_vocabulary

COMMON_FILE = "common.toml"
COUNTRY_FILES: Mapping[Country, str] = MappingProxyType(
    {country: f"{country.value}.toml" for country in Country}
)
CHECKLIST_FILES: tuple[str, ...] = (COMMON_FILE, *COUNTRY_FILES.values(), HOLIDAYS_FILE)
"""Every file a checklist folder may hold; any other `.toml` there is reported as a typo."""
VISA_STEP = "visa_application"
"""The key of a country's visa application step (see Checklists.adult_visa_deadline)."""
PARTNER = "{partner}"
"""Replaced, in a step's texts, by the name of the placement's partner organisation."""
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class Anchor(StrEnum):
    """The date a step's `days_before` is counted back from."""

    DEPARTURE = "departure"
    """The placement's start date."""
    END = "end"
    """The placement's last day."""


class Applies(StrEnum):
    """Which students a step is for, by age on the placement's start date."""

    ALL = "all"
    MINOR = "minor"
    ADULT = "adult"

    def includes(self, *, minor: bool) -> bool:
        """Tell whether a student (minor or not) gets a step meant for this group."""
        if self is Applies.ALL:
            return True
        return minor is (self is Applies.MINOR)


@dataclass(frozen=True)
class StepTemplate:
    """One `[[step]]` of the checklist data, not yet dated."""

    key: str
    """Stable identifier, stored with every tick; a country step of a common key replaces it."""
    title: str
    explanation: str
    who: Actor
    days_before: int
    """Days before the anchor date; negative means after it (e.g. -3: within 3 days of arrival)."""
    anchor: Anchor = Anchor.DEPARTURE
    applies: Applies = Applies.ALL
    check_legal: bool = False
    legal_note: str = ""
    country: Country | None = None
    """The country file the step comes from; None for common.toml."""
    stay_longer_than_months: int | None = None
    """Only for a placement longer than this many months (e.g. 3 for the German Anmeldung)."""
    replaced_by: str = ""
    """Key of a step that makes this one needless: left out when the student has that step
    (the UK ETA, when the student applies for a visa)."""

    def due_on(self, *, start_date: dt.date, end_date: dt.date) -> dt.date:
        """Return the step's deadline for a placement running from start_date to end_date,
        counted back in calendar days, before any move out of the school's holidays."""
        anchor_date = end_date if self.anchor is Anchor.END else start_date
        return anchor_date - dt.timedelta(days=self.days_before)

    def deadline(
        self,
        *,
        start_date: dt.date,
        end_date: dt.date,
        calendar: SchoolCalendar,
        zone: Zone | None,
    ) -> dt.date:
        """Return `due_on`, moved for a teacher's or coordinator's step to the last working
        day of the school (of holiday `zone`, None if unknown) on or before it; a step due
        after its anchor date never moves before it, but to the first working day after.
        Outside the school years the calendar data covers, only weekends and public
        holidays are avoided (a warning names the year to add).
        """
        due = self.due_on(start_date=start_date, end_date=end_date)
        if self.who is Actor.STUDENT:
            return due
        anchor_date = end_date if self.anchor is Anchor.END else start_date
        not_before = anchor_date if self.days_before < 0 else None
        return calendar.working_day_before(due, zone, not_before=not_before)

    def is_for(self, *, start_date: dt.date, end_date: dt.date, minor: bool) -> bool:
        """Tell whether a student (minor or not) placed from start_date to end_date gets
        the step, before any step replaces it."""
        if not self.applies.includes(minor=minor):
            return False
        months = self.stay_longer_than_months
        return months is None or end_date > months_later_eve(start_date, months)

    def dated(
        self,
        *,
        start_date: dt.date,
        end_date: dt.date,
        calendar: SchoolCalendar,
        zone: Zone | None = None,
        partner_name: str,
    ) -> DueStep:
        """Return the step as one placement's dated step, the partner named."""
        return DueStep(
            key=self.key,
            title=self.title.replace(PARTNER, partner_name),
            explanation=self.explanation.replace(PARTNER, partner_name),
            who=self.who,
            due_on=self.deadline(
                start_date=start_date, end_date=end_date, calendar=calendar, zone=zone
            ),
            check_legal=self.check_legal,
            legal_note=self.legal_note.replace(PARTNER, partner_name),
        )


class ChecklistDataError(ValueError):
    """The checklist files have problems; `problems` lists every one, each a full sentence."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in the checklist data:"
        super().__init__("\n".join([heading, *(f"- {problem}" for problem in self.problems)]))


@dataclass(frozen=True)
class Checklists:
    """The step templates of every host country, common steps included and overridden,
    and the school holidays their teachers' and coordinators' deadlines avoid."""

    templates: Mapping[Country, tuple[StepTemplate, ...]]
    calendar: SchoolCalendar

    def templates_for(self, country: Country) -> tuple[StepTemplate, ...]:
        """Return a country's step templates, for minors and adults alike, undated."""
        return self.templates[country]

    def adult_visa_deadline(
        self, country: Country, *, start_date: dt.date, end_date: dt.date
    ) -> dt.date | None:
        """Return the deadline of the country's visa application when only adults may apply.

        That is the `visa_application` step (VISA_STEP) marked `applies = "adult"`: the
        matching's age rule (matching/rules.py) places a student there only if he or she
        is 18 on this day, so that the rule and the student's checklist read one date.
        None when the country's checklist has no such step.
        """
        for template in self.templates[country]:
            if template.key == VISA_STEP and template.applies is Applies.ADULT:
                return template.due_on(start_date=start_date, end_date=end_date)
        return None

    def steps_for(
        self,
        country: Country,
        *,
        start_date: dt.date,
        end_date: dt.date,
        minor: bool,
        partner_name: str | None = None,
        zone: Zone | None = None,
    ) -> tuple[DueStep, ...]:
        """Return one student's dated steps for a placement, earliest first (then by key).

        `partner_name` (from the partner data; by default the country's partner in the
        packaged vocabulary) replaces `{partner}`; `zone` is the school's holiday zone
        (None if unknown: the holidays of every zone are avoided).
        """
        if end_date < start_date:
            raise ValueError(f"The placement ends ({end_date}) before it starts ({start_date}).")
        chosen = [
            template
            for template in self.templates[country]
            if template.is_for(start_date=start_date, end_date=end_date, minor=minor)
        ]
        keys = {template.key for template in chosen}
        name = partner_name or _packaged_partner_name(country)
        steps = [
            template.dated(
                start_date=start_date,
                end_date=end_date,
                calendar=self.calendar,
                zone=zone,
                partner_name=name,
            )
            for template in chosen
            if template.replaced_by not in keys
        ]
        return tuple(sorted(steps, key=lambda step: (step.due_on, step.key)))


def _packaged_partner_name(country: Country) -> str:
    """The name of the country's partner in the packaged vocabulary, if it has exactly one."""
    names = [p.name for p in load_vocabulary().partners.values() if p.country is country]
    return names[0] if len(names) == 1 else "du pays d'accueil"


# ---- loading -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One checklist file's text, and how an error message names it."""

    label: str
    text: str


def load_checklists(folder: Path | None = None) -> Checklists:
    """Read the packaged checklists, or a coordinator's folder of overrides.

    In `folder`, each file present replaces the packaged file of the same name
    as a whole; a file missing there falls back to the packaged one. Raise
    ChecklistDataError listing every problem of every file.
    """
    if folder is None:
        return _load_packaged()
    if not folder.is_dir():
        raise ChecklistDataError([f"{folder}: the checklist folder does not exist"])
    problems = [
        f"{path}: not a checklist file (expected one of {', '.join(CHECKLIST_FILES)})"
        for path in sorted(folder.glob("*.toml"))
        if path.name not in CHECKLIST_FILES
    ]
    sources = {name: _override_or_packaged(folder / name) for name in CHECKLIST_FILES}
    return _build(sources, problems)


@cache
def _load_packaged() -> Checklists:
    # Read at every publish, and the packaged files cannot change while the process runs.
    return _build({name: _packaged_source(name) for name in CHECKLIST_FILES}, [])


def _packaged_source(name: str) -> _Source:
    folder = resources.files("mobility_match") / "checklists"
    return _Source(label=name, text=(folder / name).read_text(encoding="utf-8"))


def _override_or_packaged(path: Path) -> _Source:
    if path.is_file():
        return _Source(label=str(path), text=path.read_text(encoding="utf-8"))
    return _packaged_source(path.name)


def _build(sources: Mapping[str, _Source], problems: list[str]) -> Checklists:
    """Parse every file, then merge common steps with each country's; raise on any problem."""
    common = _parse_file(sources[COMMON_FILE], None, problems)
    templates = {
        country: _merge(common, _parse_file(sources[name], country, problems))
        for country, name in COUNTRY_FILES.items()
    }
    for country, steps in templates.items():
        problems.extend(_unknown_replacements(sources[COUNTRY_FILES[country]].label, steps))
    holidays = sources[HOLIDAYS_FILE]
    calendar = parse_school_calendar(holidays.text, holidays.label, problems)
    if problems or calendar is None:
        raise ChecklistDataError(problems)
    return Checklists(templates=MappingProxyType(templates), calendar=calendar)


def _unknown_replacements(label: str, steps: tuple[StepTemplate, ...]) -> list[str]:
    # A misspelt key would silently keep the step for everyone.
    keys = {step.key for step in steps}
    return [
        f"{label}: step {step.key}: replaced_by: {step.replaced_by!r} is not the key of a "
        "step of this country (common steps included)"
        for step in steps
        if step.replaced_by and step.replaced_by not in keys
    ]


def _merge(
    common: tuple[StepTemplate, ...], own: tuple[StepTemplate, ...]
) -> tuple[StepTemplate, ...]:
    """Common steps, each replaced by the country's step of the same key, then the country's."""
    by_key = {step.key: step for step in own}
    merged = [by_key.pop(step.key, step) for step in common]
    return (*merged, *by_key.values())


# ---- checking one file ---------------------------------------------------------------

_FIELDS = (
    "key",
    "title",
    "explanation",
    "who",
    "days_before",
    "anchor",
    "applies",
    "check_legal",
    "legal_note",
    "stay_longer_than_months",
    "replaced_by",
)
_KEY_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")

_Choice = TypeVar("_Choice", Actor, Anchor, Applies)


def _parse_file(
    source: _Source, country: Country | None, problems: list[str]
) -> tuple[StepTemplate, ...]:
    """Return a file's valid steps; append a sentence to `problems` for everything wrong."""
    try:
        document = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as error:
        problems.append(f"{source.label}: not valid TOML: {error}")
        return ()
    problems.extend(
        f"{source.label}: {name}: unknown top-level entry (only [[step]] tables are allowed)"
        for name in document
        if name != "step"
    )
    raw_steps = document.get("step", [])
    if not isinstance(raw_steps, list):
        problems.append(f"{source.label}: step: must be a list of [[step]] tables")
        return ()
    steps = []
    for index, raw in enumerate(raw_steps, start=1):
        step = _parse_step(raw, f"{source.label}: step {index}", country, problems)
        if step is not None:
            steps.append(step)
    problems.extend(_duplicate_keys(source.label, raw_steps))
    return tuple(steps)


def _duplicate_keys(label: str, raw_steps: list[object]) -> list[str]:
    # Two steps of one key would share their ticks in the database.
    first_index: dict[str, int] = {}
    duplicates = []
    for index, raw in enumerate(raw_steps, start=1):
        key = raw.get("key") if isinstance(raw, dict) else None
        if not isinstance(key, str):
            continue
        if key in first_index:
            duplicates.append(
                f"{label}: step {index} ({key}): key: already used by step {first_index[key]}; "
                "keys must be unique within a file"
            )
        else:
            first_index[key] = index
    return duplicates


def _parse_step(
    raw: object, where: str, country: Country | None, problems: list[str]
) -> StepTemplate | None:
    """Return one step, or None when any of its fields is wrong (each one reported)."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a [[step]] table of fields")
        return None
    key = raw.get("key")
    if isinstance(key, str) and key:
        where = f"{where} ({key})"
    reader = _StepReader(raw, where)
    reader.unknown_fields()
    template = StepTemplate(
        key=reader.key(),
        title=reader.text("title"),
        explanation=reader.text("explanation"),
        who=reader.choice("who", Actor, default=None),
        days_before=reader.integer("days_before"),
        anchor=reader.choice("anchor", Anchor, default=Anchor.DEPARTURE),
        applies=reader.choice("applies", Applies, default=Applies.ALL),
        check_legal=reader.flag("check_legal"),
        legal_note=reader.text("legal_note", required=False),
        country=country,
        stay_longer_than_months=reader.months("stay_longer_than_months"),
        replaced_by=reader.text("replaced_by", required=False),
    )
    if template.check_legal and not template.legal_note and "legal_note" not in raw:
        reader.problem(
            "legal_note", "missing; a step with check_legal = true must say what to check and where"
        )
    problems.extend(reader.problems)
    return None if reader.problems else template


def _shown(value: object) -> str:
    """Show a value as it was written in TOML (`true`, not Python's `True`)."""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


@dataclass
class _StepReader:
    """Reads the fields of one raw step, collecting a sentence per problem instead of failing."""

    raw: Mapping[str, object]
    where: str
    problems: list[str] = field(default_factory=list)

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.where}: {name}: {message}")

    def unknown_fields(self) -> None:
        # A misspelt optional field (say `aplies`) would otherwise be silently ignored.
        for name in self.raw:
            if name not in _FIELDS:
                self.problem(name, f"unknown field (valid fields: {', '.join(_FIELDS)})")

    def key(self) -> str:
        key = self.text("key")
        if key and not _KEY_PATTERN.fullmatch(key):
            self.problem(
                "key",
                f"{key!r} is not a lowercase snake_case name "
                "(letters a-z and digits, words joined by _, starting with a letter)",
            )
        return key

    def text(self, name: str, *, required: bool = True) -> str:
        value = self.raw.get(name)
        if value is None:
            if required:
                self.problem(name, "missing (a non-empty text is required)")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem(name, f"{_shown(value)} is not a non-empty text")
            return ""
        for placeholder in _PLACEHOLDER.findall(value):
            if placeholder != PARTNER:
                self.problem(
                    name,
                    f"unknown placeholder {placeholder} (only {PARTNER} is replaced, "
                    "by the name of the placement's partner organisation)",
                )
        return value.strip()

    def months(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.problem(name, f"{_shown(value)} is not a whole number of months (1 or more)")
            return None
        return value

    def integer(self, name: str) -> int:
        value = self.raw.get(name)
        if value is None:
            self.problem(name, "missing (a whole number of days is required)")
            return 0
        # bool is an int in Python, but `days_before = true` is a mistake.
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(name, f"{_shown(value)} is not a whole number of days")
            return 0
        return value

    def flag(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            self.problem(name, f"{_shown(value)} is not true or false")
            return False
        return value

    def choice(self, name: str, kind: type[_Choice], *, default: _Choice | None) -> _Choice:
        valid = ", ".join(member.value for member in kind)
        value = self.raw.get(name)
        if value is None:
            if default is not None:
                return default
            self.problem(name, f"missing (one of {valid})")
        elif isinstance(value, str) and value in {member.value for member in kind}:
            return kind(value)
        else:
            self.problem(name, f"{_shown(value)} is not one of {valid}")
        # Any member will do: the step is dropped, since a problem was reported.
        return next(iter(kind))
