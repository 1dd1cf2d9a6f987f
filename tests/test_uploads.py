"""Tests of reading uploaded files: real bytes as a browser sends them, no web framework.

Zip archives (good workbooks, zip bombs, damaged ones) are built in the tests
themselves. All names, companies and addresses are fictitious.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mobility_match.demo import generate_students, students_frame
from mobility_match.domain import Lock, Offer, Vocabulary, load_vocabulary
from mobility_match.importing import Problem, read_locks, read_offers, read_students, read_table
from mobility_match.uploads import (
    MAX_XLSX_MEMBERS,
    check_upload,
    read_uploaded_locks,
    read_uploaded_offers,
    read_uploaded_students,
    read_uploads,
    upload_name,
)
from tests.files import csv_bytes, xlsx_bytes

VOCABULARY: Vocabulary = load_vocabulary()
ROOT = Path(__file__).resolve().parent.parent
COMPANIES = ROOT / "data" / "companies"
MB = 1024 * 1024
LIMIT = 10 * MB


@pytest.fixture(scope="module")
def offers() -> list[Offer]:
    """The shipped sample offers, read from disk."""
    read, problems = read_offers(sorted(COMPANIES.glob("*.csv")), VOCABULARY)
    assert problems == []
    return read


@pytest.fixture(scope="module")
def students_table(offers: list[Offer]) -> pd.DataFrame:
    """A demo cohort of 40 fictitious students as students.csv rows."""
    return students_frame(generate_students(40, 7, offers))


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Make every temporary folder of a test go under a folder of its own, checked empty after."""
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == [], "a temporary folder was left behind"


def text_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def the_problem(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def check(data: bytes, filename: str = "students.xlsx") -> list[Problem]:
    return check_upload(data, filename, max_bytes=LIMIT)


# ---- valid uploads read as the files on disk ---------------------------------------------


def test_csv_students_upload_reads_like_the_file_on_disk(
    tmp_path: Path, students_table: pd.DataFrame
) -> None:
    """An uploaded students CSV gives the same students as read_students on the same file."""
    path = tmp_path / "students.csv"
    path.write_bytes(csv_bytes(students_table))
    on_disk = read_students(path, VOCABULARY)
    assert on_disk[1] == []
    assert len(on_disk[0]) == 40
    assert read_uploaded_students(path.read_bytes(), "students.csv", VOCABULARY) == on_disk


def test_xlsx_students_upload_reads_like_the_file_on_disk(
    tmp_path: Path, students_table: pd.DataFrame
) -> None:
    """An uploaded students workbook gives the same students as the CSV and the .xlsx on disk."""
    data = xlsx_bytes(students_table)
    path = tmp_path / "students.xlsx"
    path.write_bytes(data)
    csv_path = tmp_path / "students.csv"
    csv_path.write_bytes(csv_bytes(students_table))
    students, problems = read_uploaded_students(data, "students.xlsx", VOCABULARY)
    assert problems == []
    assert students == read_students(path, VOCABULARY)[0] == read_students(csv_path, VOCABULARY)[0]


def test_offers_uploads_read_like_the_files_on_disk() -> None:
    """Uploaded offers files, CSV or .xlsx, give the same offers as read_offers on disk."""
    paths = [COMPANIES / "de.csv", COMPANIES / "pl.csv"]
    on_disk = read_offers(paths, VOCABULARY)
    assert on_disk[1] == []
    uploads = [(path.read_bytes(), path.name) for path in paths]
    assert read_uploaded_offers(uploads, VOCABULARY) == on_disk
    as_workbooks = [(xlsx_bytes(text_table(path)), f"{path.stem}.xlsx") for path in paths]
    assert read_uploaded_offers(as_workbooks, VOCABULARY) == on_disk


def test_locks_upload_reads_like_the_file_on_disk(tmp_path: Path, offers: list[Offer]) -> None:
    """An uploaded locks file gives the same locks as read_locks, checked against the round."""
    cohort = generate_students(10, 3, offers)
    text = f"student_id,offer_id\n{cohort[0].student_id},\n"
    path = tmp_path / "locks.csv"
    path.write_text(text, encoding="utf-8")
    on_disk = read_locks(path, cohort, offers, VOCABULARY)
    assert on_disk == ([Lock(cohort[0].student_id, None)], [])
    uploaded = read_uploaded_locks(text.encode(), "locks.csv", cohort, offers, VOCABULARY)
    assert uploaded == on_disk


# ---- problems name the client's file -------------------------------------------------------


def test_problems_name_the_client_file_row_and_column(students_table: pd.DataFrame) -> None:
    """A bad cell is reported at the client's base name, the spreadsheet row and the column."""
    table = students_table.copy()
    table.loc[1, "gender"] = "Q"
    for data, name in ((csv_bytes(table), "students.csv"), (xlsx_bytes(table), "students.xlsx")):
        _, problems = read_uploaded_students(data, f"C:\\fakepath\\{name}", VOCABULARY)
        problem = the_problem(problems)
        assert (problem.file, problem.row, problem.column) == (name, 3, "gender")
        assert "'Q' is not a gender" in problem.message


def test_messages_between_files_name_the_client_files() -> None:
    """An offer id used in two uploads is reported with the other upload's name, no temp path."""
    de = (COMPANIES / "de.csv").read_bytes()
    offers, problems = read_uploaded_offers([(de, "de.csv"), (de, "de-copy.csv")], VOCABULARY)
    assert problems
    assert {problem.file for problem in problems} == {"de-copy.csv"}
    first = problems[0]
    assert (first.row, first.column) == (2, "offer_id")
    assert "is already used on row 2 of de.csv" in first.message
    assert all("mobility-match-upload" not in str(problem) for problem in problems)
    assert len(offers) == len(read_offers([COMPANIES / "de.csv"], VOCABULARY)[0])


def test_locks_problems_name_the_client_file(offers: list[Offer]) -> None:
    """A lock naming a student not in the round is reported on the uploaded locks file."""
    cohort = generate_students(5, 3, offers)
    data = b"student_id,offer_id\nNOBODY,DE-001\n"
    locks, problems = read_uploaded_locks(data, "my locks.csv", cohort, offers, VOCABULARY)
    assert locks == []
    problem = the_problem(problems)
    assert (problem.file, problem.row, problem.column) == ("my locks.csv", 2, "student_id")
    assert "NOBODY is not in the students file" in problem.message


def test_a_refused_offers_file_does_not_stop_the_others() -> None:
    """A refused or twice-uploaded offers file is reported, and the other files are still read."""
    de = (COMPANIES / "de.csv").read_bytes()
    uploads = [(b"notes", "notes.txt"), (de, "de.csv"), (de, "de.csv")]
    offers, problems = read_uploaded_offers(uploads, VOCABULARY)
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("notes.txt", 1, ""),
        ("de.csv", 1, ""),
    ]
    assert "uploaded twice" in problems[1].message
    assert offers == read_offers([COMPANIES / "de.csv"], VOCABULARY)[0]


def test_no_offers_upload_is_a_problem() -> None:
    """Reading no offers upload at all reports that one is needed."""
    assert read_uploaded_offers([], VOCABULARY) == (
        [],
        [Problem("offers", 1, "", "no offers file was uploaded; upload at least one")],
    )


def test_read_uploads_runs_a_reader_of_its_own_on_the_rows() -> None:
    """read_uploads hands the accepted files to any reader, which sees their rows and numbers.

    The reader's problems name the client's files, also inside messages; a refused
    file is not given to it, and the names come back once each, in upload order.
    """
    seen: list[str] = []

    def long_cities(paths: list[Path]) -> tuple[list[str], list[Problem]]:
        cities: list[str] = []
        problems: list[Problem] = []
        for path in paths:
            seen.append(path.name)
            frame, _ = read_table(path)
            for number, city in zip(frame.index.tolist(), frame["city"].tolist(), strict=True):
                cities.append(city)
                if len(city) > 6:
                    problems.append(Problem(str(path), number, "city", f"too long in {path}"))
        return cities, problems

    uploads = [
        (b"city\nBerlin\nLeipzig\n", "C:\\fakepath\\de.csv"),
        (b"notes", "notes.txt"),
        (b"city\nKrakow\n", "pl.csv"),
    ]
    read = read_uploads(uploads, long_cities, what="cities")
    assert seen == ["de.csv", "pl.csv"]
    assert read.names == ["de.csv", "notes.txt", "pl.csv"]
    assert read.objects == ["Berlin", "Leipzig", "Krakow"]
    assert [(p.file, p.row, p.column) for p in read.problems] == [
        ("de.csv", 3, "city"),
        ("notes.txt", 1, ""),
    ]
    assert read.problems[0].message == "too long in de.csv"


def test_read_uploads_does_not_call_the_reader_when_every_file_is_refused() -> None:
    """With no file fit to read, the reader is never called and the refusals come back."""

    def never(paths: list[Path]) -> tuple[list[str], list[Problem]]:
        raise AssertionError(paths)

    read = read_uploads([(b"x", "a.txt")], never, what="cities")
    assert (read.names, read.objects) == (["a.txt"], [])
    assert [problem.file for problem in read.problems] == ["a.txt"]
    assert read_uploads([], never, what="cities").problems == [
        Problem("cities", 1, "", "no cities file was uploaded; upload at least one")
    ]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("students.csv", "students.csv"),
        ("C:\\fakepath\\élèves 2027.xlsx", "élèves 2027.xlsx"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("a/b\\c\x00d.csv", "c_d.csv"),
        ("..", "upload"),
        ("", "upload"),
        ("x" * 300 + ".csv", "x" * 196 + ".csv"),
    ],
)
def test_upload_name_keeps_the_base_name_and_suffix(sent: str, shown: str) -> None:
    """The client's name loses its folders and control characters, and keeps its suffix."""
    assert upload_name(sent) == shown


# ---- refused uploads ---------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused(students_table: pd.DataFrame) -> None:
    """A file over max_bytes is refused with its size and the limit, and nothing is read."""
    data = csv_bytes(students_table) + b"x" * (3 * MB)
    problem = the_problem(check_upload(data, "students.csv", max_bytes=2 * MB))
    assert (problem.file, problem.row, problem.column) == ("students.csv", 1, "")
    assert problem.message.startswith("the file is 3.1 MB; the limit is 2 MB;")
    students, problems = read_uploaded_students(data, "students.csv", VOCABULARY, max_bytes=2 * MB)
    assert (students, problems) == ([], [problem])


@pytest.mark.parametrize("filename", ["students.txt", "students.xls", "students.ods", "students"])
def test_a_wrong_file_type_is_refused_naming_the_valid_ones(filename: str) -> None:
    """Only .csv and .xlsx names are accepted, and the refusal says so."""
    problem = the_problem(check_upload(b"student_id\nS1\n", filename, max_bytes=LIMIT))
    assert (problem.file, problem.row, problem.column) == (filename, 1, "")
    assert "only .csv or .xlsx files are read" in problem.message


def test_file_types_are_matched_case_insensitively(students_table: pd.DataFrame) -> None:
    """STUDENTS.CSV and Students.XLSX are accepted like their lower-case names."""
    assert check(csv_bytes(students_table), "STUDENTS.CSV") == []
    assert check(xlsx_bytes(students_table), "Students.XLSX") == []


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """An .xlsx-like zip whose one member unpacks to 200 MB of zeros (about 200 kB packed)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        chunk = bytes(MB)  # streamed 1 MB at a time: memory stays small
        for _ in range(200):
            member.write(chunk)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_without_unpacking_it(
    zip_bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workbook declaring 200 MB unpacked is refused from its directory alone, never opened."""
    assert len(zip_bomb) < MB

    def no_unpacking(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member of the zip bomb was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_unpacking)
    problem = the_problem(check(zip_bomb, "students.xlsx"))
    assert (problem.file, problem.row, problem.column) == ("students.xlsx", 1, "")
    assert problem.message.startswith("the workbook would unpack to 200 MB; the limit is 50 MB;")
    assert read_uploaded_students(zip_bomb, "students.xlsx", VOCABULARY) == ([], [problem])


def test_a_member_compressed_too_much_is_refused() -> None:
    """A member of 5 MB of zeros (ratio about 1000), under the total limit, is refused."""
    data = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/sharedStrings.xml": bytes(5 * MB)})
    problem = the_problem(check(data))
    assert "'xl/sharedStrings.xml' unpacks to" in problem.message
    assert "times its packed size, far more than any spreadsheet's" in problem.message


def test_a_zip_with_too_many_members_is_refused() -> None:
    """A zip of more than 1,000 members is refused, saying how many it holds."""
    data = zip_bytes({f"xl/part{n}.xml": b"" for n in range(MAX_XLSX_MEMBERS + 1)})
    problem = the_problem(check(data))
    assert problem.message.startswith("the workbook holds 1001 parts")
    assert "the limit is 1000" in problem.message


@pytest.mark.parametrize(
    "member", ["../evil.xml", "xl/../../evil.xml", "/etc/evil.xml", "xl\\..\\..\\evil.xml", "C:/x"]
)
def test_a_member_path_outside_the_archive_is_refused(member: str) -> None:
    """A member whose path is absolute or climbs with '..' is refused, naming it."""
    problem = the_problem(check(zip_bytes({"[Content_Types].xml": b"<Types/>", member: b"x"})))
    assert f"part named '{member}' that points outside the workbook" in problem.message


@pytest.mark.parametrize("data", [b"student_id,first_name\nS1,Lea\n", b"", b"PK\x03\x04broken"])
def test_a_file_named_xlsx_that_is_not_a_zip_is_refused(data: bytes) -> None:
    """Bytes that are not a zip archive, under an .xlsx name, are refused before openpyxl."""
    problem = the_problem(check(data, "offers.xlsx"))
    assert (problem.file, problem.row, problem.column) == ("offers.xlsx", 1, "")
    assert problem.message.startswith("the file is not an Excel workbook")


def test_an_encrypted_workbook_or_renamed_xls_is_explained() -> None:
    """A file in the old compound format (password-protected .xlsx, renamed .xls) is explained."""
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    problem = the_problem(check(data))
    assert problem.message.startswith("the file is a workbook protected by a password")


def test_a_member_lying_about_its_size_is_refused() -> None:
    """A member declaring 100 bytes but holding 2 MB is refused as damaged, not unpacked whole."""
    data = bytearray(zip_bytes({"xl/worksheets/sheet1.xml": bytes(2 * MB)}))
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)  # the central directory's unpacked size
    struct.pack_into("<I", data, data.index(b"PK\x03\x04") + 22, 100)  # the local header's
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.infolist()[0].file_size == 100
    problem = the_problem(check(bytes(data)))
    assert problem.message.startswith("the workbook is damaged")


def test_a_damaged_member_is_refused() -> None:
    """A workbook whose packed data was altered fails its checksum and is refused as damaged."""
    payload = random.Random(1).randbytes(200_000)
    data = bytearray(zip_bytes({"xl/worksheets/sheet1.xml": payload}))
    data[1000] ^= 0xFF
    problem = the_problem(check(bytes(data)))
    assert problem.message.startswith("the workbook is damaged")


def test_a_real_workbook_passes_the_checks(students_table: pd.DataFrame) -> None:
    """A workbook saved by pandas and openpyxl passes every zip check."""
    assert check(xlsx_bytes(students_table)) == []
