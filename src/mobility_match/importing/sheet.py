"""A table being checked: its required columns, and rows that hand out checked cells.

The row readers (students, offers, locks) open a file as a `Sheet`, take parsed
values from each `Row` and let it record every problem; `sorted_problems` puts
them in the order a coordinator reads the files. It must not know any column's
meaning beyond its name, nor build domain objects itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd

from mobility_match.importing.table import Invalid, Problem, read_frame

T = TypeVar("T")


@dataclass
class Sheet:
    """A table being checked: its rows, the columns in display order, and its problems."""

    file: str
    frame: pd.DataFrame | None
    problems: list[Problem]
    columns: list[str] = field(default_factory=list)
    complete: bool = False
    """True when the file was read and has every required column, so rows can become objects."""

    def rows(self) -> Iterator[Row]:
        if self.frame is None:
            return
        names = [str(name) for name in self.frame.columns]
        for number, values in zip(
            self.frame.index, self.frame.itertuples(index=False, name=None), strict=True
        ):
            yield Row(self.file, int(number), dict(zip(names, values, strict=True)), self.problems)


def open_sheet(path: Path, kind: str, required: Sequence[str]) -> Sheet:
    """Read a table and report each required column it lacks."""
    frame, problems = read_frame(path)
    sheet = Sheet(str(path), frame, problems)
    if frame is None:
        return sheet
    header = [str(name) for name in frame.columns]
    sheet.columns = list(header)
    sheet.complete = all(column in header for column in required)
    for column in required:
        if column in header:
            continue
        sheet.columns.append(column)
        message = f"missing column {column}; {kind} needs the columns {', '.join(required)}"
        close = difflib.get_close_matches(column, [c for c in header if c not in required], 1)
        if close:
            message += f"; is '{close[0]}' meant to be {column}?"
        sheet.problems.append(Problem(sheet.file, 1, column, message))
    return sheet


class Row:
    """One data row, handing out checked cell values and recording the problems found."""

    def __init__(
        self, file: str, number: int, cells: Mapping[str, str], problems: list[Problem]
    ) -> None:
        self.file = file
        self.number = number
        self.cells = cells
        self._problems = problems
        self._problems_before = len(problems)

    @property
    def valid(self) -> bool:
        """True while no problem was reported on this row."""
        return len(self._problems) == self._problems_before

    def report(self, column: str, message: str) -> None:
        self._problems.append(Problem(self.file, self.number, column, message))

    def reported(self, column: str) -> bool:
        """Tell whether a cell of this row already has a problem (one problem per cell)."""
        new = self._problems[self._problems_before :]
        return any(problem.column == column for problem in new)

    def value(self, column: str, parse: Callable[[str], T]) -> T | None:
        """Return the parsed cell; None if the column is absent or the cell is reported."""
        if column not in self.cells:
            return None
        try:
            return parse(self.cells[column])
        except Invalid as invalid:
            self.report(column, str(invalid))
            return None


def present(value: T | None) -> T:
    """Return a value parsed on a valid row of a complete file, where None cannot occur."""
    if value is None:
        raise AssertionError("a valid row of a complete file has every required value")
    return value


def sorted_problems(problems: list[Problem], columns: Mapping[str, Sequence[str]]) -> list[Problem]:
    """Sort problems by file (in the order given), row, then column as shown in the file."""
    files = list(columns)

    def key(problem: Problem) -> tuple[int, int, int]:
        file_rank = files.index(problem.file) if problem.file in files else len(files)
        order = columns.get(problem.file, ())
        column_rank = order.index(problem.column) if problem.column in order else -1
        return file_rank, problem.row, column_rank

    return sorted(problems, key=key)
