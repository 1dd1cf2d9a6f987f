"""Reading the assignments file of a published round, to re-run the round against it.

The file is the `assignments.csv` that `match` writes (CONTRACT.md): only its
`student_id` and `offer_id` columns are read, the others are ignored. Students
or offers that are no longer in the round are not errors: that is what a re-run
is for (changes.py counts an offer that left as a change). It must not read the
round's other files nor solve anything.
"""

from __future__ import annotations

from pathlib import Path

from mobility_match.importing import cells
from mobility_match.importing.sheet import open_sheet, sorted_problems
from mobility_match.importing.table import Problem

PREVIOUS_COLUMNS = ("student_id", "offer_id")


def read_previous(path: Path) -> tuple[dict[str, str | None], list[Problem]]:
    """Read a published assignments file as student id → offer id (None: unplaced), with
    every problem found, sorted; the mapping is meant to be used only without problems."""
    sheet = open_sheet(path, "an assignments file", PREVIOUS_COLUMNS)
    previous: dict[str, str | None] = {}
    first_row: dict[str, int] = {}
    for row in sheet.rows():
        student_id = row.value("student_id", cells.required("student id", "assignment row"))
        offer_id = row.value("offer_id", str)
        if student_id is None:
            continue
        if student_id in first_row:
            row.report(
                "student_id",
                f"student {student_id} is already on row {first_row[student_id]}; "
                "an assignments file has one row per student",
            )
            continue
        first_row[student_id] = row.number
        if row.valid:
            previous[student_id] = offer_id or None
    return previous, sorted_problems(sheet.problems, {str(path): sheet.columns})
