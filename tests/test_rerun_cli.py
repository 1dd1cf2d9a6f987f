"""`mobility-match match --previous`: re-running a published round from its assignments file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.test_cli import OFFERS, match, run

pytestmark = pytest.mark.xdist_group("rerun_cli")
"""One worker builds the module's published round (a subprocess solve), not each."""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A cohort of 150 students and the assignments file of its first round."""
    tmp_path = tmp_path_factory.mktemp("published")
    students = tmp_path / "students.csv"
    offers = [arg for f in OFFERS for arg in ("--offers", f)]
    done = run("demo-data", "--students", "150", "--seed", "3", *offers, "--out", students)
    assert done.returncode == 0, done.stderr
    first = tmp_path / "published.csv"
    done = match(students, first)
    assert done.returncode == 0, done.stderr
    return students, first


def test_a_rerun_from_the_published_assignments(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    """With one placed student's offer given to nobody before, the re-run reports the
    changes stage right after placements, proven, and keeps every other student."""
    students, first = published
    with first.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    placed = next(row for row in rows if row["offer_id"])
    placed["offer_id"] = ""  # as if that student had been unplaced in the published round
    previous = tmp_path / "previous.csv"
    with previous.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out, report = tmp_path / "assignments.csv", tmp_path / "report.json"
    done = match(students, out, "--previous", previous, "--report", report)
    assert done.returncode == 0, done.stderr
    assert "changes" in done.stdout
    stages = json.loads(report.read_text(encoding="utf-8"))["stages"]
    assert [s["name"] for s in stages] == [
        "placements",
        "changes",
        "gender_gap",
        "preferences",
        "school_fairness",
    ]
    assert all(s["status"] == "OPTIMAL" for s in stages)
    assert stages[1]["value"] == 1
    with out.open(encoding="utf-8") as file:
        again = {row["student_id"]: row["offer_id"] for row in csv.DictReader(file)}
    before = {row["student_id"]: row["offer_id"] for row in rows}
    assert [s for s in before if before[s] != again[s]] == [placed["student_id"]]


def test_a_bad_previous_file_exits_2_naming_every_cell(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    """An empty and a repeated student id are both reported as FILE:ROW:COLUMN, with the
    problems of the other files, and nothing is written."""
    students, _ = published
    previous = tmp_path / "previous.csv"
    previous.write_text("student_id,offer_id\n,DE-001\nS00001,\nS00001,PL-002\n", encoding="utf-8")
    out = tmp_path / "assignments.csv"
    done = match(students, out, "--previous", previous)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{previous}:2:student_id: ") for line in lines)
    assert any(
        line.startswith(f"{previous}:4:student_id: student S00001 is already on row 3")
        for line in lines
    )
    assert not out.exists()


def test_a_previous_file_without_its_columns_exits_2(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    """A file that is not an assignments file names the column it lacks."""
    students, _ = published
    previous = tmp_path / "previous.csv"
    previous.write_text("student,offer_id\nS00001,\n", encoding="utf-8")
    done = match(students, tmp_path / "assignments.csv", "--previous", previous)
    assert done.returncode == 2
    assert f"{previous}:1:student_id: missing column student_id" in done.stderr


def test_an_empty_list_of_stages_is_refused(published: tuple[Path, Path], tmp_path: Path) -> None:
    """`stages = []` would give an arbitrary assignment: exit 2 naming the file and field."""
    students, _ = published
    policy = tmp_path / "policy.toml"
    policy.write_text("stages = []\n", encoding="utf-8")
    done = match(students, tmp_path / "assignments.csv", "--policy", policy)
    assert done.returncode == 2
    assert f"{policy}:stages: the list is empty" in done.stderr
    assert "placements, gender_gap, preferences, school_fairness" in done.stderr
