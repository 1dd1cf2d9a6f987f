"""Reading a file of graduates' follow-up situations (CSV or .xlsx), one row per graduate
and wave.

Columns: `student_id`, `wave` (months after the diploma), `situation` (a `Situation`
value), `as_of` (the date the situation was known), and optionally `in_trade` (yes/no)
and `country`. This module checks what one cell or one file can tell (required cells, a
whole-number wave, a date, a graduate and wave given twice); the rules that need the
database or the settings (a known graduate of the importer's scope, the situation's
vocabulary, a date after the diploma) are services/follow_up_survey.py's, which names
each problem by the same file, row and column.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from mobility_match.importing import cells
from mobility_match.importing.sheet import open_sheet, present
from mobility_match.importing.table import Invalid, Problem

FOLLOW_UP_COLUMNS = ("student_id", "wave", "situation", "as_of")
FOLLOW_UP_OPTIONAL_COLUMNS = ("in_trade", "country")

_WHOLE = re.compile(r"\d{1,3}(?:\.0+)?")


@dataclass(frozen=True)
class FollowUpRow:
    """One row of the file, its cells read but not yet checked against the database."""

    row: int
    student_id: str
    wave: int
    situation: str
    in_trade: str
    country: str
    as_of: dt.date


def _wave(cell: str) -> int:
    if _WHOLE.fullmatch(cell):
        return int(float(cell))
    shown = f"'{cell}' is not a wave" if cell else "the wave is empty"
    raise Invalid(f"{shown}; expected the months after the diploma, e.g. 6 or 12")


def read_follow_up(path: Path) -> tuple[list[FollowUpRow], list[Problem], list[str]]:
    """The rows of a follow-up file, every problem found in it, and its columns in order."""
    sheet = open_sheet(path, "a follow-up file", FOLLOW_UP_COLUMNS)
    rows: list[FollowUpRow] = []
    first_row: dict[tuple[str, int], int] = {}
    for row in sheet.rows():
        student_id = row.value("student_id", cells.required("student id", "answer"))
        wave = row.value("wave", _wave)
        situation = row.value("situation", cells.required("situation", "answer"))
        as_of = row.value("as_of", cells.date)
        if student_id is not None and wave is not None:
            seen = first_row.setdefault((student_id, wave), row.number)
            if seen != row.number:
                row.report(
                    "wave",
                    f"{student_id} has an answer to wave {wave} on row {seen} already; "
                    "keep one row per graduate and wave",
                )
        if not row.valid or not sheet.complete:
            continue
        rows.append(
            FollowUpRow(
                row.number,
                present(student_id),
                present(wave),
                present(situation),
                row.cells.get("in_trade", ""),
                row.cells.get("country", ""),
                present(as_of),
            )
        )
    if sheet.frame is not None and sheet.frame.empty:
        sheet.problems.append(
            Problem(sheet.file, 1, "", "no answers in the file; add one row per graduate and wave")
        )
    return rows, sheet.problems, sheet.columns
