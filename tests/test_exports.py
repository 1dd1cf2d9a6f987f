"""Tests of the exports: a real solved round written as CSV and .xlsx, read back as a user would.

All names are fictitious.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from fractions import Fraction

import openpyxl
import pandas as pd
import pytest

from mobility_match.domain import Lock, RoundInput, RoundResult, Vocabulary, load_vocabulary
from mobility_match.exports import (
    ASSIGNMENTS_EXPORT_COLUMNS,
    COORDINATOR_COLUMNS,
    STATISTICS_COLUMNS,
    assignments_frame,
    defuse,
    statistics_frame,
    to_csv_bytes,
    to_xlsx_bytes,
)
from mobility_match.matching.engine import solve_round
from mobility_match.reporting import ASSIGNMENT_COLUMNS, assignments_csv
from mobility_match.statistics import RoundStatistics, compute_statistics
from tests.factories import random_round

VOCABULARY: Vocabulary = load_vocabulary()
HOSTILE_NAMES = ('=HYPERLINK("http://x","y")', "@SUM(A1)", "+1", "-2")


@pytest.fixture(scope="module")
def solved() -> tuple[RoundInput, RoundResult]:
    """A small random round, solved, with hostile last names and one student locked unplaced."""
    base = random_round(0, 20, 12)
    students = list(base.students)
    for position, name in enumerate(HOSTILE_NAMES):
        students[position] = dataclasses.replace(students[position], last_name=name)
    round_input = RoundInput(tuple(students), base.offers, (Lock(students[-1].student_id, None),))
    return round_input, solve_round(round_input, VOCABULARY, time_limit=20)


@pytest.fixture(scope="module")
def statistics(solved: tuple[RoundInput, RoundResult]) -> RoundStatistics:
    """The figures of the solved round."""
    return compute_statistics(*solved, VOCABULARY)


def read_csv_export(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def sheet_rows(data: bytes) -> list[list[openpyxl.cell.cell.Cell]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows()]


def test_assignments_frame_has_the_contract_columns_then_the_coordinator_ones(
    solved: tuple[RoundInput, RoundResult],
) -> None:
    """The frame has one row per student, assignments.csv's columns first, then who it is."""
    round_input, result = solved
    frame = assignments_frame(round_input, result)
    assert tuple(frame.columns) == ASSIGNMENT_COLUMNS + COORDINATOR_COLUMNS
    assert len(frame) == len(round_input.students) == 20
    assert list(frame["student_id"]) == [s.student_id for s in round_input.students]
    assert list(frame["school_id"]) == [s.school_id for s in round_input.students]
    assert list(frame["gender"]) == [s.gender.value for s in round_input.students]
    placed = [p.offer_id is not None for p in result.placements]
    assert 0 < sum(placed) < len(placed), "the round should place some students, not all"
    assert frame["locked"].iloc[-1] == "true"
    assert frame["reason"].iloc[-1].startswith("locked_unplaced: ")


def test_csv_export_has_the_rows_of_assignments_csv(
    solved: tuple[RoundInput, RoundResult],
) -> None:
    """The CSV export starts with a BOM and, in the contract columns, equals assignments.csv."""
    round_input, result = solved
    data = to_csv_bytes(assignments_frame(round_input, result))
    assert data.startswith(b"\xef\xbb\xbf")
    exported = read_csv_export(data)
    assert tuple(exported.columns) == ASSIGNMENTS_EXPORT_COLUMNS
    contract = list(csv.reader(io.StringIO(assignments_csv(round_input, result))))
    assert exported[list(ASSIGNMENT_COLUMNS)].to_numpy().tolist() == contract[1:]
    assert list(exported["first_name"]) == [s.first_name for s in round_input.students]
    ranks = [str(p.preference_rank or "") for p in result.placements]
    assert list(exported["preference_rank"]) == ranks
    assert any(ranks), "some placed student should have a preference rank"


def test_xlsx_export_reads_back_with_the_same_values(
    solved: tuple[RoundInput, RoundResult],
) -> None:
    """The .xlsx export has the header, one row per student, ranks as numbers, text as text."""
    round_input, result = solved
    frame = assignments_frame(round_input, result)
    rows = sheet_rows(to_xlsx_bytes(frame, "assignments"))
    assert [cell.value for cell in rows[0]] == list(ASSIGNMENTS_EXPORT_COLUMNS)
    assert len(rows) == 1 + len(round_input.students)
    rank = ASSIGNMENTS_EXPORT_COLUMNS.index("preference_rank")
    for row, placement in zip(rows[1:], result.placements, strict=True):
        assert row[0].value == placement.student_id
        assert row[1].value == (placement.offer_id or None)
        assert row[rank].value == placement.preference_rank
        if placement.preference_rank is not None:
            assert row[rank].data_type == "n"
    read = pd.read_excel(io.BytesIO(to_xlsx_bytes(frame, "assignments")), dtype=str)
    assert list(read["student_id"]) == list(frame["student_id"])


def test_formula_like_text_is_prefixed_in_csv_and_xlsx(
    solved: tuple[RoundInput, RoundResult],
) -> None:
    """Last names starting with =, @, + or - come back with a leading ' and never as formulas."""
    round_input, result = solved
    frame = assignments_frame(round_input, result)
    expected = ["'" + name for name in HOSTILE_NAMES]
    exported = read_csv_export(to_csv_bytes(frame))
    assert list(exported["last_name"][:4]) == expected
    rows = sheet_rows(to_xlsx_bytes(frame, "assignments"))
    column = ASSIGNMENTS_EXPORT_COLUMNS.index("last_name")
    cells = [row[column] for row in rows[1:5]]
    assert [cell.value for cell in cells] == expected
    assert [cell.data_type for cell in cells] == ["s"] * 4
    assert not any(cell.data_type == "f" for row in rows for cell in row)
    assert list(frame["last_name"][:4]) == list(HOSTILE_NAMES), "the frame itself is unchanged"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Martin", "Martin"),
        ("a=b", "a=b"),
        ("", ""),
        (-2, -2),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_defuse_prefixes_only_text_that_starts_a_formula(value: object, safe: object) -> None:
    """Text beginning with =, +, -, @, tab or CR gets a ' in front; anything else is kept."""
    assert defuse(value) == safe


def test_numbers_stay_numbers() -> None:
    """A negative number is written as a number in both formats, while the text '-2' is defused."""
    frame = pd.DataFrame({"text": ["-2", "ok"], "count": [-2, 3], "share": [-0.5, 0.25]})
    exported = read_csv_export(to_csv_bytes(frame))
    assert exported.to_numpy().tolist() == [["'-2", "-2", "-0.5"], ["ok", "3", "0.25"]]
    rows = sheet_rows(to_xlsx_bytes(frame, "numbers"))
    assert [(cell.value, cell.data_type) for cell in rows[1]] == [
        ("'-2", "s"),
        (-2, "n"),
        (-0.5, "n"),
    ]


def test_xlsx_export_replaces_characters_a_workbook_cannot_hold() -> None:
    """A control character in a text cell becomes U+FFFD instead of failing the export."""
    frame = pd.DataFrame({"last_name": ["Zo\x01e", "tab\tkept"]})
    rows = sheet_rows(to_xlsx_bytes(frame, "names"))
    assert [row[0].value for row in rows[1:]] == ["Zo\ufffde", "tab\tkept"]


def test_statistics_frame_follows_compute_statistics(statistics: RoundStatistics) -> None:
    """One row for everyone, then per gender, host country, sector and school, as computed."""
    frame = statistics_frame(statistics)
    assert tuple(frame.columns) == STATISTICS_COLUMNS
    groups = list(frame["group"])
    assert groups == ["all"] + ["gender"] * 3 + ["country"] * len(statistics.by_country) + [
        "sector"
    ] * len(statistics.by_sector) + ["school"] * len(statistics.by_school)
    rows = {(row.group, row.key): row for row in frame.itertuples(index=False)}
    everyone = rows["all", ""]
    assert (everyone.students, everyone.placed) == (statistics.students, statistics.placed)
    for key, figures in [*statistics.by_gender.items(), *statistics.by_school.items()]:
        group = "gender" if key in statistics.by_gender else "school"
        row = rows[group, key]
        assert (row.students, row.eligible, row.placed) == (
            figures.students,
            figures.eligible,
            figures.placed,
        )
        if figures.eligible:
            assert row.rate == round(float(Fraction(figures.placed, figures.eligible)), 4)
        else:
            assert pd.isna(row.rate)
    for country, host in statistics.by_country.items():
        row = rows["country", country]
        assert (row.offers, row.places, row.placed) == (host.offers, host.places, host.placed)
        assert row.rate == round(host.placed / host.places, 4)
        assert pd.isna(row.eligible)


def test_statistics_export_reads_back_in_both_formats(statistics: RoundStatistics) -> None:
    """The statistics come back from CSV and .xlsx with their columns, rows and numbers."""
    frame = statistics_frame(statistics)
    exported = read_csv_export(to_csv_bytes(frame))
    assert tuple(exported.columns) == STATISTICS_COLUMNS
    assert len(exported) == len(frame)
    assert exported.iloc[0].tolist()[:2] == ["all", ""]
    assert exported["placed"].iloc[0] == str(statistics.placed)
    rows = sheet_rows(to_xlsx_bytes(frame, "statistics"))
    assert [cell.value for cell in rows[0]] == list(STATISTICS_COLUMNS)
    assert len(rows) == 1 + len(frame)
    placed = STATISTICS_COLUMNS.index("placed")
    assert [row[placed].value for row in rows[1:]] == list(frame["placed"])
    assert all(row[placed].data_type == "n" for row in rows[1:])


def test_assignments_frame_refuses_a_result_of_another_round(
    solved: tuple[RoundInput, RoundResult],
) -> None:
    """A result whose placements are not the round's students is an error, not a wrong table."""
    round_input, result = solved
    shorter = RoundInput(round_input.students[1:], round_input.offers)
    with pytest.raises(ValueError, match="not those of the round's students"):
        assignments_frame(shorter, result)
