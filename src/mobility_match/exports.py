"""A solved round's assignments and statistics as tables, and as CSV or .xlsx downloads.

`assignments_frame` and `statistics_frame` build pandas tables from a round's
input, result and statistics (the assignments rows are the very rows of
assignments.csv, built once in reporting.py); `to_csv_bytes` and
`to_xlsx_bytes` turn a table into a file a coordinator opens in a spreadsheet.

Exported cells hold text typed by other people (names, company names, ids
from uploaded files), and a spreadsheet runs a cell that begins with `=`, `+`,
`-` or `@` as a formula: `=HYPERLINK("http://x","y")` in a last name would
become a live link, other formulas can fetch data or run commands (CSV or
"formula" injection). So, as OWASP advises, every text cell that begins with
one of those characters, a tab or a carriage return gets a single quote `'` in
front, in CSV and .xlsx alike, and .xlsx text cells are stored as strings,
never as formulas. Numbers are left alone: a negative number is a number, not
text, and cannot run. The price is a visible `'` before such values (a phone
number written `+33…`, say).

This module must not write files (it returns bytes), solve rounds or compute
figures itself (statistics.py does), and must not change the contract's
assignments.csv, which reporting.py writes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Hashable, Sequence

import pandas as pd

from mobility_match.domain import RoundInput, RoundResult
from mobility_match.reporting import ASSIGNMENT_COLUMNS, assignment_rows
from mobility_match.statistics import GroupFigures, RoundStatistics

COORDINATOR_COLUMNS: tuple[str, ...] = ("first_name", "last_name", "school_id", "gender")
"""Columns the export adds after those of assignments.csv, to recognise each student."""

ASSIGNMENTS_EXPORT_COLUMNS: tuple[str, ...] = ASSIGNMENT_COLUMNS + COORDINATOR_COLUMNS

STATISTICS_COLUMNS: tuple[str, ...] = (
    "group",
    "key",
    "eligible",
    "placed",
    "rate",
    "students",
    "offers",
    "places",
)
"""The statistics table: one row per group and key.

`rate` (rounded to 4 decimals) is placed / eligible for students (empty when
nobody is eligible: the model's null rate), and for a host country the share of
its places filled, since students do not belong to a host country (`eligible`
and `students` are then empty)."""

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Characters an .xlsx cannot hold (openpyxl refuses them): controls but tab, LF and CR."""

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""The media type of each export format, for the response's Content-Type."""


def assignments_frame(round_input: RoundInput, result: RoundResult) -> pd.DataFrame:
    """Return one row per student, in input order: assignments.csv's columns, then who it is.

    `preference_rank` is a whole number, empty where assignments.csv shows nothing.
    """
    students = round_input.students
    if [s.student_id for s in students] != [p.student_id for p in result.placements]:
        raise ValueError("the result's placements are not those of the round's students")
    rows = [
        [*row, student.first_name, student.last_name, student.school_id, student.gender.value]
        for row, student in zip(assignment_rows(round_input, result), students, strict=True)
    ]
    frame = pd.DataFrame(rows, columns=list(ASSIGNMENTS_EXPORT_COLUMNS), dtype=object)
    return frame.astype(
        {c: "Int64" if c == "preference_rank" else "str" for c in ASSIGNMENTS_EXPORT_COLUMNS}
    )


def statistics_frame(statistics: RoundStatistics) -> pd.DataFrame:
    """Return the round's figures: all students, then by gender, host country, sector, school.

    Every number is the model's (statistics.RoundStatistics), rates rounded to 4 decimals.
    """
    everyone = GroupFigures(
        students=statistics.students, eligible=statistics.eligible, placed=statistics.placed
    )
    rows = [_group_row("all", "", everyone)]
    rows += [_group_row("gender", key, figures) for key, figures in statistics.by_gender.items()]
    for country, host in statistics.by_country.items():
        filled = _rate(host.filled)
        rows.append(["country", country, None, host.placed, filled, None, host.offers, host.places])
    rows += [_group_row("sector", key, figures) for key, figures in statistics.by_sector.items()]
    rows += [_group_row("school", key, figures) for key, figures in statistics.by_school.items()]
    frame = pd.DataFrame(rows, columns=list(STATISTICS_COLUMNS), dtype=object)
    kinds = {"group": "str", "key": "str", "rate": "Float64"}
    return frame.astype({c: kinds.get(c, "Int64") for c in STATISTICS_COLUMNS})


def _group_row(group: str, key: str, figures: GroupFigures) -> list[object]:
    rate = _rate(figures.rate)
    return [group, key, figures.eligible, figures.placed, rate, figures.students, None, None]


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def defuse(value: object) -> object:
    """Return a text value that a spreadsheet would run as a formula with `'` in front.

    Anything else (numbers, missing values, harmless text) is returned as it is.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of the frame with every text cell and column name defused."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column].dtype):
            safe[column] = safe[column].map(defuse, na_action="ignore")
    safe.columns = pd.Index([_defused_name(name) for name in safe.columns])
    return safe


def _defused_name(name: Hashable) -> Hashable:
    return defuse(name) if isinstance(name, str) else name


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return the frame as CSV: UTF-8 with a BOM (so Excel shows accents), text defused."""
    text = safe_frame(frame).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


ABOUT_SHEET = "about"
"""The sheet of a round's export that says what its result was computed from."""


def to_xlsx_bytes(
    frame: pd.DataFrame, sheet_name: str, about: Sequence[tuple[str, str]] | None = None
) -> bytes:
    """Return the frame as an .xlsx workbook of one sheet, text defused and stored as text.

    Characters a workbook cannot hold (control characters other than tab, line
    feed and carriage return) are replaced by U+FFFD. `sheet_name` must be a
    valid Excel sheet name (at most 31 characters, none of []:*?/\\). With
    `about` (name, value pairs: services/reproducibility.about_rows), a second
    sheet ABOUT_SHEET lists them.
    """
    sheets = {sheet_name: frame}
    if about is not None:
        sheets[ABOUT_SHEET] = pd.DataFrame(list(about), columns=["about", "value"], dtype="str")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in sheets.items():
            safe = safe_frame(table)
            for column in safe.columns:
                if not pd.api.types.is_numeric_dtype(safe[column].dtype):
                    safe[column] = safe[column].map(_storable, na_action="ignore")
            safe.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for row in sheet.iter_rows():
                for cell in row:
                    # openpyxl reads a string beginning with "=" as a formula; defused text
                    # cannot begin so, and this keeps it true whatever pandas or openpyxl do.
                    if cell.data_type == "f":
                        cell.data_type = "s"
                    if cell.value == "":  # pandas writes a missing value as "": leave it empty
                        cell.value = None
            sheet.freeze_panes = "A2"
    return buffer.getvalue()


def _storable(value: object) -> object:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    return value
