"""Reading a round's students file into `Student`s.

It checks each row's cells and the rules within a row (unique ids, an availability
window that ends after it starts, a birth date before it) and keeps what the
cross-file checks of load_round need. It must not check preferences against the
offers: that needs every offers file and is done by load_round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mobility_match import identifiers
from mobility_match.domain import Student, Vocabulary
from mobility_match.importing import cells
from mobility_match.importing.sheet import open_sheet, present, sorted_problems
from mobility_match.importing.table import Invalid, Problem

# fmt: off
STUDENT_COLUMNS = (
    "student_id", "first_name", "last_name", "gender", "birth_date", "school_id", "diploma",
    "trade", "available_from", "available_to",
)
# fmt: on
STUDENT_OPTIONAL_COLUMNS = ("email", "lang_en", "lang_de", "lang_pl", "preferences")
EMERGENCY_COLUMNS = ("emergency_name", "emergency_phone")
"""Optional columns kept in the student's `extra`: whom to call in an emergency (printed on
the learning agreement); the phone is checked (a French or an international number)."""

_LANG_COLUMN = re.compile(r"lang_([a-z]{2})")
COHORT_COLUMN = "cohort"
"""Optional column: the year of the diploma (records.py stores it in `Student.cohort`; when
missing or empty, the year the availability starts)."""
_YEAR = re.compile(r"\d{4}(?:\.0+)?")
FIRST_COHORT, LAST_COHORT = 2000, 2100


def cohort(cell: str) -> int | None:
    """The optional `cohort` cell: the year of the diploma (empty: records.py's default)."""
    if not cell:
        return None
    if _YEAR.fullmatch(cell) and FIRST_COHORT <= int(float(cell)) <= LAST_COHORT:
        return int(float(cell))
    raise Invalid(
        f"'{cell}' is not a cohort; expected the year of the diploma, e.g. 2026 "
        f"(between {FIRST_COHORT} and {LAST_COHORT}), or nothing"
    )


@dataclass
class StudentsFile:
    """What reading the students file gave: its students, its problems and its ids."""

    students: list[Student]
    problems: list[Problem]
    columns: list[str]
    ids: set[str]
    """Every student id met, also on rows with problems (so locks are not reported twice)."""
    preferences: dict[int, tuple[str, ...]]
    """The preferences read on each row, to be checked against the offers of the round."""
    ids_complete: bool
    """True when the file was read with its student_id column, so an id not met is unknown."""


def read_students(path: Path, vocabulary: Vocabulary) -> tuple[list[Student], list[Problem]]:
    """Read students.csv; return the students of rows without problems, and every problem."""
    read = read_students_file(path, vocabulary)
    return read.students, sorted_problems(read.problems, {str(path): read.columns})


def read_students_file(path: Path, vocabulary: Vocabulary) -> StudentsFile:
    """Read students.csv, keeping what load_round needs to check it against other files."""
    sheet = open_sheet(path, "a students file", STUDENT_COLUMNS)
    known = {*STUDENT_COLUMNS, *STUDENT_OPTIONAL_COLUMNS}
    languages = [c for c in sheet.columns if _LANG_COLUMN.fullmatch(c)]
    extra = [c for c in sheet.columns if c not in known and c not in languages]
    ids_complete = sheet.frame is not None and "student_id" in sheet.frame.columns
    read = StudentsFile([], sheet.problems, sheet.columns, set(), {}, ids_complete)
    first_row: dict[str, int] = {}
    for row in sheet.rows():
        student_id = row.value("student_id", cells.required("student id", "student"))
        if student_id is not None:
            read.ids.add(student_id)
            if student_id in first_row:
                row.report(
                    "student_id",
                    f"student id {student_id} is already used on row {first_row[student_id]}; "
                    "each student needs an id of their own",
                )
            else:
                first_row[student_id] = row.number
        first_name = row.value("first_name", cells.required("first name", "student"))
        last_name = row.value("last_name", cells.required("last name", "student"))
        email = row.value("email", cells.email(required=False))
        gender = row.value("gender", cells.gender)
        birth_date = row.value("birth_date", cells.date)
        school_id = row.value("school_id", cells.required("school id", "student"))
        diploma = row.value("diploma", cells.diploma)
        trade = row.value("trade", cells.trade(vocabulary))
        levels = {c[len("lang_") :]: row.value(c, cells.language_level) for c in languages}
        available_from = row.value("available_from", cells.date)
        available_to = row.value("available_to", cells.date)
        preferences = row.value("preferences", cells.preferences) or ()
        diploma_year = row.value(COHORT_COLUMN, cohort)
        row.value("emergency_phone", cells.checked_by(identifiers.phone_number))
        if diploma_year is not None and birth_date is not None and diploma_year < birth_date.year:
            row.report(
                COHORT_COLUMN,
                f"cohort {diploma_year} is before the birth date {birth_date}; "
                "the cohort is the year of the diploma",
            )
        read.preferences[row.number] = preferences
        if (
            available_from is not None
            and available_to is not None
            and available_to < available_from
        ):
            row.report(
                "available_to",
                f"available_to {available_to} is before available_from {available_from}; "
                "the window must end on or after its start",
            )
        if birth_date is not None and available_from is not None and birth_date >= available_from:
            row.report(
                "birth_date",
                f"birth date {birth_date} is not before available_from {available_from}; "
                "check the birth date",
            )
        if not row.valid or not sheet.complete:
            continue
        read.students.append(
            Student(
                student_id=present(student_id),
                first_name=present(first_name),
                last_name=present(last_name),
                gender=present(gender),
                birth_date=present(birth_date),
                school_id=present(school_id),
                diploma=present(diploma),
                trade=present(trade),
                available_from=present(available_from),
                available_to=present(available_to),
                languages={lang: level for lang, level in levels.items() if level is not None},
                preferences=preferences,
                email=email or "",
                extra=tuple(
                    (c, row.cells[c] if c != COHORT_COLUMN else str(diploma_year or ""))
                    for c in extra
                ),
            )
        )
    if sheet.frame is not None and sheet.frame.empty:
        read.problems.append(
            Problem(sheet.file, 1, "", "no students in the file; add one row per student")
        )
    return read
