"""What an import would do, before it is applied: the preview of an uploaded file.

The preview reads the files with the import's own readers and compares their
rows with the database with the import's own comparison (services/imports.py),
and never writes: every problem with its file, row, column and the cell's
text; or each row created, updated (each changed field, old and new) or left
unchanged, a student whose name or birth date would change and a student who is
in a published round flagged, and for offers the companies created or updated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.models import Company, Offer, Student
from mobility_match.services import imports
from mobility_match.services.drafts import Draft

SHOWN_ROWS = 1000
"""The most rows of a kind (created, updated, unchanged) a preview lists; all are counted."""


@dataclass(frozen=True)
class CellProblem:
    """A problem of the file, where it is, and what the cell holds."""

    file: str
    row: int
    column: str
    value: str
    message: str


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class RowPreview:
    """One row of the file and what applying would do to it."""

    key: str
    """The row's id: a student id, an offer id, a company id."""
    label: str
    """Whom or what it is: a student's name, a company's name."""
    action: str
    """`created`, `updated` or `unchanged`."""
    changes: list[FieldChange] = field(default_factory=list)
    name_changed: str = ""
    """For a student whose name would change: the name stored now."""
    published_rounds: list[str] = field(default_factory=list)
    """For a student: the published rounds he or she is in."""
    birth_date_changed: str = ""
    """For a student whose birth date would change: the one stored now."""

    @property
    def flagged(self) -> bool:
        return bool(self.name_changed or self.birth_date_changed or self.published_rounds)


@dataclass(frozen=True)
class Preview:
    """What applying an upload would do, or why it cannot be applied."""

    kind: str
    files: list[str]
    problems: list[CellProblem]
    rows: list[RowPreview]
    """Flagged rows first, then created, updated and unchanged ones (at most SHOWN_ROWS
    of each of the last three)."""
    counts: dict[str, int]
    """Rows `created`, `updated`, `unchanged`, and `flagged`."""
    companies: list[RowPreview] = field(default_factory=list)
    company_counts: dict[str, int] = field(default_factory=dict)
    schools_created: list[str] = field(default_factory=list)
    confirmation: str = ""
    """For students: the code confirming the students whose change must be confirmed
    (imports.plan_students); applying sends it back."""

    @property
    def applicable(self) -> bool:
        return not self.problems


def preview(session: Session, viewer: Viewer, draft: Draft, *, max_bytes: int) -> Preview:
    """What applying `draft` would do; nothing is written."""
    try:
        if draft.kind == "students":
            (data, filename), *_ = draft.files
            read = imports.read_students_upload(
                session, viewer, data, filename, max_bytes=max_bytes
            )
            if read.problems:
                return _refused(draft.kind, read)
            plan = imports.compare_students(session, viewer, read.objects)
            ids = (change.row.student_id for change in plan.students)
            published = imports.published_rounds_of(session, ids)
            rows = _student_rows(plan.students, published)
            return Preview(
                draft.kind,
                read.names,
                [],
                _shown(rows),
                _counts(rows),
                schools_created=plan.schools_created,
                confirmation=imports.confirmation_code(
                    imports.to_confirm(session, plan.students, published)
                ),
            )
        read = imports.read_offers_upload(session, viewer, draft.files, max_bytes=max_bytes)
        if read.problems:
            return _refused(draft.kind, read)
        offers_plan = imports.compare_offers(session, viewer, read.objects)
        names = {c.row.company_id: c.row.company_name for c in offers_plan.companies}
        offer_rows = [_offer_row(change, names) for change in offers_plan.offers]
        company_rows = [_company_row(change) for change in offers_plan.companies]
        return Preview(
            draft.kind,
            read.names,
            [],
            _shown(offer_rows),
            _counts(offer_rows),
            _shown(company_rows),
            _counts(company_rows),
        )
    finally:
        session.rollback()  # a preview never writes


def _refused(kind: str, read: imports.Read) -> Preview:
    problems = [
        CellProblem(
            problem.file,
            problem.row,
            problem.column,
            read.cells.get((problem.file, problem.row, problem.column), ""),
            problem.message,
        )
        for problem in read.problems
    ]
    return Preview(kind, read.names, problems, [], {})


def _shown(rows: Sequence[RowPreview]) -> list[RowPreview]:
    """Flagged rows first (all of them), then at most SHOWN_ROWS of each action."""
    shown = [row for row in rows if row.flagged]
    for action in ("created", "updated", "unchanged"):
        shown.extend([r for r in rows if r.action == action and not r.flagged][:SHOWN_ROWS])
    return shown


def _counts(rows: Iterable[RowPreview]) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "flagged": 0}
    for row in rows:
        counts[row.action] += 1
        counts["flagged"] += row.flagged
    return counts


def shown_value(value: Any) -> str:
    """A stored value as a person reads it: dates ISO, lists joined, maps as `key: value`."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {value[key]}" for key in sorted(value))
    if isinstance(value, list | tuple | set | frozenset):
        return "|".join(str(item) for item in value)
    return str(value)


def _field_changes(change: imports.RowChange[Any]) -> list[FieldChange]:
    if change.stored is None:
        return []
    return [
        FieldChange(name, shown_value(getattr(change.stored, name)), shown_value(new))
        for name, new in change.changes.items()
    ]


def _student_rows(
    changes: Sequence[imports.RowChange[Student]], published: Mapping[str, list[str]]
) -> list[RowPreview]:
    rows = []
    for change in changes:
        new, stored = change.row, change.stored
        renamed = ""
        if stored is not None and (
            (stored.first_name, stored.last_name) != (new.first_name, new.last_name)
        ):
            renamed = f"{stored.first_name} {stored.last_name}"
        born = ""
        if stored is not None and stored.birth_date != new.birth_date:
            born = shown_value(stored.birth_date)
        rows.append(
            RowPreview(
                new.student_id,
                f"{new.first_name} {new.last_name}",
                change.action,
                _field_changes(change),
                renamed,
                published.get(new.student_id, []),
                born,
            )
        )
    return rows


def _offer_row(change: imports.RowChange[Offer], names: Mapping[str, str]) -> RowPreview:
    offer = change.row
    label = f"{names.get(offer.company_id, offer.company_id)} ({offer.company_id})"
    return RowPreview(offer.offer_id, label, change.action, _field_changes(change))


def _company_row(change: imports.RowChange[Company]) -> RowPreview:
    company = change.row
    label = f"{company.company_name} ({company.city}, {company.country})"
    return RowPreview(company.company_id, label, change.action, _field_changes(change))
