"""Reading one CSV or .xlsx file into a frame of stripped strings.

It turns a file as a coordinator saved it (CSV with ',' or ';', UTF-8 with or
without BOM, or an Excel workbook) into rows numbered as a spreadsheet shows
them, and reports an unreadable file, duplicate or unnamed columns, and cells
holding control characters (which no database text column takes) as `Problem`s.
It knows nothing of students, offers or locks and never checks a cell's meaning.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""C0 control characters other than tab, LF and CR: refused in every cell."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, located as a spreadsheet shows it (header = row 1)."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class Invalid(ValueError):
    """A cell's value (or a whole file) is not valid; the message says what would be."""


def read_table(path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV or .xlsx file into a frame of stripped strings.

    Columns are the header names in lower case, stripped; the index is the row a
    spreadsheet shows (header = 1); rows whose cells are all empty are dropped
    without renumbering. A file that cannot be read gives an empty frame and one
    problem at row 1.
    """
    frame, problems = read_frame(path)
    return (pd.DataFrame() if frame is None else frame), problems


def read_frame(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Like read_table, but None instead of a frame when the file holds no table."""
    file = str(path)
    try:
        rows = _read_rows(path)
    except Invalid as unreadable:
        return None, [Problem(file, 1, "", str(unreadable))]
    if not rows or not any(cell for row in rows for cell in row):
        return None, [Problem(file, 1, "", "the file is empty; row 1 must hold the column names")]
    problems: list[Problem] = []
    header = [_without_controls(file, 1, name, name, problems) for name in rows[0]]
    if not any(header):
        return None, [Problem(file, 1, "", "row 1 is empty; it must hold the column names")]
    keep: list[int] = []
    first_position: dict[str, int] = {}
    for position, name in enumerate(header):
        if not name:
            continue
        if name in first_position:
            problems.append(
                Problem(
                    file,
                    1,
                    name,
                    f"column {name} appears twice (columns {_letter(first_position[name])} "
                    f"and {_letter(position)}); keep only one",
                )
            )
            continue
        first_position[name] = position
        keep.append(position)
    data: dict[int, list[str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        stray = [position for position, cell in enumerate(row) if cell and not header[position]]
        if stray:
            problems.append(
                Problem(
                    file,
                    number,
                    "",
                    f"column {_letter(stray[0])} has a value but no name in row 1; name the "
                    "column, or put a value that contains the separator in quotes",
                )
            )
        data[number] = [
            _without_controls(file, number, header[position], row[position], problems)
            for position in keep
        ]
    frame = pd.DataFrame(
        list(data.values()),
        index=list(data.keys()),
        columns=[header[position] for position in keep],
        dtype=str,
    )
    return frame, problems


def _without_controls(file: str, row: int, column: str, cell: str, problems: list[Problem]) -> str:
    """The cell without its control characters, each cell holding one reported as a problem.

    The row stays, so that every problem of the file is reported at once; the
    file is refused all the same (a problem stops an import), and no reader
    ever hands a control character on to the database.
    """
    match = CONTROL.search(cell)
    if match is None:
        return cell
    code = f"U+{ord(match.group()):04X}"
    message = (
        f"the cell holds a control character ({code}), which is not text; remove it "
        "(a cell holds printable text, tabs and line breaks only)"
    )
    problems.append(Problem(file, row, CONTROL.sub("", column), message))
    return CONTROL.sub("", cell)


def _read_rows(path: Path) -> list[list[str]]:
    """Return every row of the file, header first, as stripped strings of equal length."""
    if not path.exists():
        raise Invalid("the file does not exist; check its name and folder")
    if path.is_dir():
        raise Invalid("this is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise Invalid("old Excel .xls files are not read; save it as .xlsx or as CSV UTF-8")
    raw = _read_xlsx(path) if suffix in (".xlsx", ".xlsm") else _read_csv(path)
    rows = [[_cell_text(value) for value in row] for row in raw]
    header = [name.lower() for name in rows[0]] if rows else []
    return [header, *rows[1:]]


def _read_xlsx(path: Path) -> list[list[object]]:
    try:
        sheet = pd.read_excel(
            path,
            sheet_name=0,
            header=None,
            dtype=object,
            na_filter=False,
            keep_default_na=False,
            engine="openpyxl",
        )
    except Exception as error:  # openpyxl and zipfile raise many kinds on a broken file
        raise Invalid(
            f"the file cannot be read as an Excel workbook ({error}); save it again as .xlsx "
            "or as CSV UTF-8"
        ) from None
    return [list(row) for row in sheet.itertuples(index=False, name=None)]


def _read_csv(path: Path) -> list[list[object]]:
    try:
        content = path.read_bytes()
    except OSError as error:
        raise Invalid(f"the file cannot be read ({error.strerror})") from None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise Invalid(
            f"the file must be UTF-8 text but is not (first unreadable character on line {line}); "
            'in Excel, save it as "CSV UTF-8"'
        ) from None
    if not text.strip():
        return []
    header_line = text.splitlines()[0]
    separator = ";" if header_line.count(";") > header_line.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    except csv.Error as error:
        raise Invalid(f"the file cannot be read as CSV ({error})") from None
    try:
        # The widest row sets the column count, so a row with extra cells is reported, not fatal.
        table = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            header=None,
            names=list(range(max(len(row) for row in rows))),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as error:
        if "EOF inside string" in str(error):
            # The csv module swallowed the rest of the file into the row with the open quote.
            message = f'a quote (") opened on row {len(rows)} is never closed; close or remove it'
        else:
            message = f"the file cannot be read as CSV ({error})"
        raise Invalid(message) from None
    return [list(row) for row in table.itertuples(index=False, name=None)]


def _cell_text(value: object) -> str:
    """Return a cell as typed: a date cell as YYYY-MM-DD, a whole number without '.0'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _letter(position: int) -> str:
    """Return a spreadsheet column letter for a 0-based position (0 → A, 26 → AA)."""
    letters = ""
    number = position + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
