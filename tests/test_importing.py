"""Tests of importing: real CSV and .xlsx files written to a temporary folder, no mocks.

All names, companies and addresses are fictitious.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl
import pytest

from mobility_match.domain import (
    Country,
    Diploma,
    Gender,
    LanguageNeed,
    Lock,
    Offer,
    Sector,
    Student,
    Vocabulary,
    load_vocabulary,
)
from mobility_match.importing import (
    ImportFailed,
    Problem,
    load_round,
    read_locks,
    read_offers,
    read_students,
    read_table,
)

VOCABULARY: Vocabulary = load_vocabulary()

STUDENT: dict[str, str] = {
    "student_id": "S001",
    "first_name": "Léa",
    "last_name": "Fictive",
    "email": "lea.fictive@example.org",
    "gender": "F",
    "birth_date": "2006-03-14",
    "school_id": "LP-EXEMPLE-01",
    "diploma": "BAC_PRO",
    "trade": "melec",
    "lang_en": "B1",
    "lang_de": "A2",
    "lang_pl": "",
    "available_from": "2026-09-01",
    "available_to": "2026-12-20",
    "preferences": "DE-001;PL;*",
}

OFFER: dict[str, str] = {
    "offer_id": "DE-001",
    "partner": "OFAJ",
    "company_id": "C-DE-01",
    "company_name": "Elektro Beispiel GmbH",
    "country": "DE",
    "city": "Leipzig",
    "address": "Musterstraße 1",
    "contact_name": "Jana Beispiel",
    "contact_email": "jana.beispiel@example.de",
    "sector": "production",
    "trades": "melec;mspc",
    "places": "2",
    "start_date": "2026-09-07",
    "end_date": "2026-11-27",
    "language_requirement": "de:A2|en:B1",
    "accepts_minors": "false",
}

PL_OFFER: dict[str, str] = {
    **OFFER,
    "offer_id": "PL-001",
    "partner": "ABC_WIEDZY",
    "company_id": "C-PL-01",
    "company_name": "Przykład Sp. z o.o.",
    "country": "PL",
    "city": "Kraków",
    "address": "ul. Przykładowa 2",
    "contact_email": "kontakt@example.pl",
    "language_requirement": "",
}

UK_OFFER: dict[str, str] = {
    **OFFER,
    "offer_id": "UK-001",
    "partner": "BRITISH_COUNCIL",
    "company_id": "C-UK-01",
    "company_name": "Example Works Ltd",
    "country": "UK",
    "city": "Leeds",
    "address": "1 Sample Road",
    "contact_email": "tutor@example.co.uk",
    "language_requirement": "en:A2",
    "accepts_minors": "true",
}


def student(**changes: str) -> dict[str, str]:
    """Return a valid student row with some cells changed."""
    return {**STUDENT, **changes}


def offer(**changes: str) -> dict[str, str]:
    """Return a valid DE offer row with some cells changed."""
    return {**OFFER, **changes}


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]],
    *,
    columns: Sequence[str] | None = None,
    separator: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """Write rows under a header (the keys of the first row unless columns are given)."""
    header = list(columns if columns is not None else rows[0])
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream, delimiter=separator)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return path


def students_csv(tmp_path: Path, *rows: Mapping[str, str], name: str = "students.csv") -> Path:
    return write_csv(tmp_path / name, rows or [STUDENT], columns=list(STUDENT))


def offers_csv(tmp_path: Path, *rows: Mapping[str, str], name: str = "offers.csv") -> Path:
    return write_csv(tmp_path / name, rows or [OFFER], columns=list(OFFER))


def locks_csv(tmp_path: Path, *rows: tuple[str, str]) -> Path:
    lines = ["student_id,offer_id", *(f"{sid},{oid}" for sid, oid in rows)]
    path = tmp_path / "locks.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def located(problem: Problem) -> str:
    """Return the FILE:ROW:COLUMN: prefix a problem is printed with."""
    return f"{problem.file}:{problem.row}:{problem.column}:"


def the_problem(problems: Sequence[Problem]) -> Problem:
    """Return the only problem, failing with all of them listed otherwise."""
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def assert_problem(problems: Sequence[Problem], prefix: str, fragment: str) -> None:
    """Assert that exactly one problem is reported, starting with prefix and saying fragment."""
    problem = the_problem(problems)
    assert str(problem).startswith(prefix), str(problem)
    assert fragment in problem.message, str(problem)


def student_problems(tmp_path: Path, *rows: Mapping[str, str]) -> list[Problem]:
    return read_students(students_csv(tmp_path, *rows), VOCABULARY)[1]


def offer_problems(tmp_path: Path, *rows: Mapping[str, str]) -> list[Problem]:
    return read_offers([offers_csv(tmp_path, *rows)], VOCABULARY)[1]


# ---- reading valid files ---------------------------------------------------------------


def test_reads_a_student_into_the_domain_type(tmp_path: Path) -> None:
    """It reads a valid student row into a Student with typed fields."""
    students, problems = read_students(students_csv(tmp_path), VOCABULARY)
    assert problems == []
    assert students == [
        Student(
            student_id="S001",
            first_name="Léa",
            last_name="Fictive",
            gender=Gender.F,
            birth_date=dt.date(2006, 3, 14),
            school_id="LP-EXEMPLE-01",
            diploma=Diploma.BAC_PRO,
            trade="melec",
            available_from=dt.date(2026, 9, 1),
            available_to=dt.date(2026, 12, 20),
            languages={"en": 3, "de": 2},
            preferences=("DE-001", "PL", "*"),
            email="lea.fictive@example.org",
        )
    ]


def test_reads_an_offer_into_the_domain_type(tmp_path: Path) -> None:
    """It reads a valid offer row into an Offer with typed fields."""
    offers, problems = read_offers([offers_csv(tmp_path)], VOCABULARY)
    assert problems == []
    assert offers == [
        Offer(
            offer_id="DE-001",
            partner="OFAJ",
            company_id="C-DE-01",
            company_name="Elektro Beispiel GmbH",
            country=Country.DE,
            city="Leipzig",
            address="Musterstraße 1",
            contact_name="Jana Beispiel",
            contact_email="jana.beispiel@example.de",
            sector=Sector.PRODUCTION,
            trades=frozenset({"melec", "mspc"}),
            places=2,
            start_date=dt.date(2026, 9, 7),
            end_date=dt.date(2026, 11, 27),
            language_requirement=(LanguageNeed("de", 2), LanguageNeed("en", 3)),
            accepts_minors=False,
        )
    ]


def test_accepts_lenient_spellings_of_codes(tmp_path: Path) -> None:
    """It accepts lower-case gender, 'bac pro', upper-case trades and levels, yes/vrai."""
    path = students_csv(
        tmp_path, student(gender="m", diploma="bac pro", trade="MELEC", lang_en="c1", email="")
    )
    (read,), problems = read_students(path, VOCABULARY)
    assert problems == []
    assert (read.gender, read.diploma, read.trade, read.languages["en"]) == (
        Gender.M,
        Diploma.BAC_PRO,
        "melec",
        5,
    )
    offers, problems = read_offers(
        [offers_csv(tmp_path, offer(partner="ofaj", sector="Production", accepts_minors="vrai"))],
        VOCABULARY,
    )
    assert problems == []
    assert (offers[0].partner, offers[0].sector, offers[0].accepts_minors) == (
        "OFAJ",
        Sector.PRODUCTION,
        True,
    )


def test_reads_gb_as_uk(tmp_path: Path) -> None:
    """It reads GB as UK, both as an offer's country and in a student's preferences."""
    offers, problems = read_offers(
        [offers_csv(tmp_path, {**UK_OFFER, "country": "GB"})], VOCABULARY
    )
    assert problems == []
    assert offers[0].country is Country.UK
    students, problems = read_students(
        students_csv(tmp_path, student(preferences="gb;DE")), VOCABULARY
    )
    assert problems == []
    assert students[0].preferences == ("UK", "DE")


def test_reads_star_trades_as_every_trade_of_the_sector(tmp_path: Path) -> None:
    """It reads `*` in trades as the empty set, meaning every trade of the sector."""
    offers, problems = read_offers([offers_csv(tmp_path, offer(trades="*"))], VOCABULARY)
    assert problems == []
    assert offers[0].trades == frozenset()
    assert offers[0].takes_every_trade


def test_keeps_unknown_columns_in_extra(tmp_path: Path) -> None:
    """It keeps columns the contract does not name in `extra`, in file order, never an error."""
    path = write_csv(tmp_path / "students.csv", [student(note="vegetarian", tutor_fr="M. Exemple")])
    students, problems = read_students(path, VOCABULARY)
    assert problems == []
    assert students[0].extra == (("note", "vegetarian"), ("tutor_fr", "M. Exemple"))
    offers, problems = read_offers(
        [write_csv(tmp_path / "offers_extra.csv", [offer(parking="yes")])], VOCABULARY
    )
    assert problems == []
    assert offers[0].extra == (("parking", "yes"),)


def test_reads_an_extra_language_column(tmp_path: Path) -> None:
    """It reads any lang_xx column as a language level, empty meaning not known."""
    path = write_csv(
        tmp_path / "students.csv",
        [student(lang_it="b2"), student(student_id="S002", lang_it="")],
    )
    students, problems = read_students(path, VOCABULARY)
    assert problems == []
    assert students[0].languages == {"en": 3, "de": 2, "it": 4}
    assert "it" not in students[1].languages


def test_matches_headers_case_insensitively_ignoring_spaces(tmp_path: Path) -> None:
    """It matches ' Student_ID ' and 'TRADE' to the contract's columns."""
    plain, _ = read_students(students_csv(tmp_path), VOCABULARY)
    columns = [f"  {name.upper()} " if i % 2 else name.title() for i, name in enumerate(STUDENT)]
    row = dict(zip(columns, STUDENT.values(), strict=True))
    students, problems = read_students(write_csv(tmp_path / "odd.csv", [row]), VOCABULARY)
    assert problems == []
    assert students == plain


def test_keeps_cells_as_typed(tmp_path: Path) -> None:
    """It keeps '0012' and 'NA' as typed and strips the spaces around cells."""
    path = students_csv(tmp_path, student(student_id=" 0012 ", last_name="NA"))
    students, problems = read_students(path, VOCABULARY)
    assert problems == []
    assert (students[0].student_id, students[0].last_name) == ("0012", "NA")


def test_bom_and_semicolon_csv_read_like_plain_csv(tmp_path: Path) -> None:
    """It reads a CSV with a BOM and a ';'-separated CSV to the same objects as plain CSV."""
    rows = [student(), student(student_id="S002", first_name="Éloïse", address="3, rue Fictive")]
    plain = read_students(write_csv(tmp_path / "plain.csv", rows), VOCABULARY)
    bom = read_students(write_csv(tmp_path / "bom.csv", rows, encoding="utf-8-sig"), VOCABULARY)
    semicolon = read_students(write_csv(tmp_path / "semi.csv", rows, separator=";"), VOCABULARY)
    assert plain[1] == []
    assert len(plain[0]) == 2
    assert bom == plain
    assert semicolon == plain
    offers = read_offers([write_csv(tmp_path / "o.csv", [OFFER])], VOCABULARY)
    semicolon_offers = read_offers(
        [write_csv(tmp_path / "o_semi.csv", [OFFER], separator=";", encoding="utf-8-sig")],
        VOCABULARY,
    )
    assert semicolon_offers == offers


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    """It reads an .xlsx with date cells, number cells and text like '0012' as the CSV reads it."""
    rows = [student(student_id="0012")]
    csv_students = read_students(write_csv(tmp_path / "s.csv", rows), VOCABULARY)
    typed = {
        **rows[0],
        "birth_date": dt.date(2006, 3, 14),
        "available_from": dt.datetime(2026, 9, 1),
        "available_to": "2026-12-20",
    }
    xlsx_path = write_xlsx(tmp_path / "s.xlsx", list(typed), [list(typed.values())])
    assert read_students(xlsx_path, VOCABULARY) == csv_students
    assert csv_students[0][0].student_id == "0012"

    csv_offers = read_offers([write_csv(tmp_path / "o.csv", [OFFER])], VOCABULARY)
    typed_offer: dict[str, object] = {
        **OFFER,
        "places": 2.0,
        "start_date": dt.date(2026, 9, 7),
        "end_date": dt.datetime(2026, 11, 27),
        "accepts_minors": False,
    }
    xlsx_offers = write_xlsx(tmp_path / "o.xlsx", list(typed_offer), [list(typed_offer.values())])
    assert read_offers([xlsx_offers], VOCABULARY) == csv_offers


def test_accepts_midnight_datetimes_and_integral_floats_as_text(tmp_path: Path) -> None:
    """It reads '2026-09-07 00:00:00' as that date and '3.0' as 3, as spreadsheets export them."""
    path = offers_csv(tmp_path, offer(start_date="2026-09-07 00:00:00", places="3.0"))
    offers, problems = read_offers([path], VOCABULARY)
    assert problems == []
    assert (offers[0].start_date, offers[0].places) == (dt.date(2026, 9, 7), 3)


def test_blank_lines_do_not_shift_row_numbers(tmp_path: Path) -> None:
    """It reports the row a spreadsheet shows, blank lines and empty ';;;' rows included."""
    good = ",".join(STUDENT.values())
    bad = ",".join(student(student_id="S002", gender="Q").values())
    empty = "," * (len(STUDENT) - 1)
    path = tmp_path / "students.csv"
    path.write_text("\n".join([",".join(STUDENT), good, "", empty, bad]) + "\n", encoding="utf-8")
    students, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:5:gender:", "'Q' is not a gender")
    assert [s.student_id for s in students] == ["S001"]
    frame, _ = read_table(path)
    assert list(frame.index) == [2, 5]


def test_blank_rows_in_xlsx_do_not_shift_row_numbers(tmp_path: Path) -> None:
    """It reports the row a spreadsheet shows in an .xlsx with an empty row."""
    bad = list(student(student_id="S002", trade="melect").values())
    path = write_xlsx(tmp_path / "s.xlsx", list(STUDENT), [list(STUDENT.values()), [], bad])
    _, problems = read_students(path, VOCABULARY)
    assert_problem(
        problems, f"{path}:4:trade:", "unknown trade 'melect'; closest valid codes: melec"
    )


# ---- files that cannot be read ---------------------------------------------------------


def test_reports_a_missing_file(tmp_path: Path) -> None:
    """It reports a file that does not exist at row 1, without a traceback."""
    path = tmp_path / "nowhere.csv"
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1::", "does not exist")


def test_reports_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    """It asks for CSV UTF-8 when a file is in another encoding."""
    path = write_csv(tmp_path / "latin1.csv", [student(first_name="Héloïse")], encoding="latin-1")
    _, problems = read_students(path, VOCABULARY)
    assert_problem(
        problems,
        f"{path}:1::",
        "must be UTF-8 text but is not (first unreadable character on line 2); in Excel, save "
        'it as "CSV UTF-8"',
    )


def test_reports_a_broken_xlsx(tmp_path: Path) -> None:
    """It reports an .xlsx that is not a workbook at row 1."""
    path = tmp_path / "students.xlsx"
    path.write_text("student_id,first_name\n", encoding="utf-8")
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1::", "cannot be read as an Excel workbook")


def test_reports_an_empty_file(tmp_path: Path) -> None:
    """It reports an empty file at row 1."""
    path = tmp_path / "students.csv"
    path.write_bytes(b"")
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1::", "the file is empty")


def test_reports_a_folder_and_an_old_xls_file(tmp_path: Path) -> None:
    """It reports a folder given as a file, and an old .xls workbook, at row 1."""
    folder = tmp_path / "students.csv"
    folder.mkdir()
    assert_problem(read_students(folder, VOCABULARY)[1], f"{folder}:1::", "a folder, not a file")
    old = tmp_path / "students.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    assert_problem(read_students(old, VOCABULARY)[1], f"{old}:1::", "save it as .xlsx or as CSV")


def test_reports_an_empty_header_row(tmp_path: Path) -> None:
    """It reports a file whose row 1 is empty: the column names must be there."""
    path = tmp_path / "students.csv"
    path.write_text("\n" + ",".join(STUDENT) + "\n", encoding="utf-8")
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1::", "row 1 is empty; it must hold the column names")


def test_reports_a_quote_that_is_never_closed(tmp_path: Path) -> None:
    """It reports an unclosed quote with the row where it opens, without a traceback."""
    path = tmp_path / "students.csv"
    good = ",".join(STUDENT.values())
    path.write_text(f'{",".join(STUDENT)}\n{good}\nS002,"Léa\n{good}\n', encoding="utf-8")
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1::", 'a quote (") opened on row 3 is never closed')


def test_reports_a_date_cell_with_a_time_in_xlsx(tmp_path: Path) -> None:
    """It reports a date cell of an .xlsx that carries a time of day."""
    typed: dict[str, object] = {**STUDENT, "birth_date": dt.datetime(2006, 3, 14, 9, 30)}
    path = write_xlsx(tmp_path / "s.xlsx", list(typed), [list(typed.values())])
    _, problems = read_students(path, VOCABULARY)
    assert_problem(
        problems, f"{path}:2:birth_date:", "'2006-03-14 09:30:00' is not a valid date; expected"
    )


def test_reports_a_row_with_more_cells_than_the_header(tmp_path: Path) -> None:
    """It reports an unquoted separator that adds a cell, on its row, and still checks the rest."""
    path = tmp_path / "offers.csv"
    bad = ",".join(offer(offer_id="DE-002", address="3").values()) + ",rue Fictive"
    path.write_text(",".join(OFFER) + "\n" + bad + "\n", encoding="utf-8")
    _, problems = read_offers([path], VOCABULARY)
    assert_problem(problems, f"{path}:2::", "column Q has a value but no name in row 1")


def test_reports_a_column_given_twice(tmp_path: Path) -> None:
    """It reports a column that appears twice in the header."""
    path = tmp_path / "students.csv"
    path.write_text(
        ",".join([*STUDENT, "Trade"]) + "\n" + ",".join([*STUDENT.values(), "melec"]) + "\n",
        encoding="utf-8",
    )
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1:trade:", "column trade appears twice")


# ---- students ---------------------------------------------------------------------------


def test_reports_a_missing_student_column_once(tmp_path: Path) -> None:
    """It reports a missing required column once, at row 1, and lists the required ones."""
    rows = [
        {k: v for k, v in student(student_id=f"S00{i}").items() if k != "trade"} for i in (1, 2)
    ]
    path = write_csv(tmp_path / "students.csv", rows)
    students, problems = read_students(path, VOCABULARY)
    assert_problem(
        problems, f"{path}:1:trade:", "missing column trade; a students file needs the columns"
    )
    assert "available_to" in problems[0].message
    assert students == []


def test_suggests_a_header_close_to_a_missing_column(tmp_path: Path) -> None:
    """It names a header that looks like the missing column, e.g. 'student id' for student_id."""
    row = {("student id" if k == "student_id" else k): v for k, v in STUDENT.items()}
    path = write_csv(tmp_path / "students.csv", [row])
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1:student_id:", "is 'student id' meant to be student_id?")


@pytest.mark.parametrize(
    ("changes", "column", "fragment"),
    [
        ({"student_id": ""}, "student_id", "the student id is empty"),
        ({"first_name": ""}, "first_name", "the first name is empty"),
        ({"last_name": ""}, "last_name", "the last name is empty"),
        ({"school_id": ""}, "school_id", "the school id is empty"),
        ({"gender": "W"}, "gender", "'W' is not a gender; expected F, M or X"),
        ({"birth_date": "14/03/2006"}, "birth_date", "expected a date as YYYY-MM-DD, e.g. 2026-"),
        ({"birth_date": "2006-02-30"}, "birth_date", "'2006-02-30' is not a valid date"),
        ({"available_from": ""}, "available_from", "the date is empty; expected a date as"),
        (
            {"available_to": "2026-08-01"},
            "available_to",
            "available_to 2026-08-01 is before available_from 2026-09-01",
        ),
        (
            {"birth_date": "2026-09-01"},
            "birth_date",
            "birth date 2026-09-01 is not before available_from 2026-09-01",
        ),
        ({"diploma": "BTS"}, "diploma", "'BTS' is not a diploma of the programme; expected CAP"),
        ({"trade": "melect"}, "trade", "unknown trade 'melect'; closest valid codes: melec"),
        ({"trade": "xyz"}, "trade", "unknown trade 'xyz'; see the trade list for all 24 codes"),
        ({"email": "lea.example.org"}, "email", "is not an e-mail address"),
        ({"email": "lea@localhost"}, "email", "expected one like name@example.org"),
        ({"lang_de": "B3"}, "lang_de", "'B3' is not a CEFR level; expected a CEFR level (A1,"),
        ({"preferences": "DE-001;PL;de-001;pl"}, "preferences", "'PL' listed twice"),
    ],
)
def test_reports_a_bad_student_cell(
    tmp_path: Path, changes: dict[str, str], column: str, fragment: str
) -> None:
    """It reports a bad student cell on its row and column, saying what would be valid."""
    path = students_csv(tmp_path, student(**changes))
    students, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:2:{column}:", fragment)
    assert students == []


def test_reports_a_duplicate_student_id_with_the_first_row(tmp_path: Path) -> None:
    """It reports a student id used twice on the later row, naming the first."""
    path = students_csv(tmp_path, student(), student(student_id="S002"), student())
    students, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:4:student_id:", "S001 is already used on row 2")
    assert [s.student_id for s in students] == ["S001", "S002"]


def test_reports_a_file_without_students(tmp_path: Path) -> None:
    """It reports a students file with a header but no rows."""
    path = tmp_path / "students.csv"
    path.write_text(",".join(STUDENT) + "\n\n", encoding="utf-8")
    _, problems = read_students(path, VOCABULARY)
    assert_problem(problems, f"{path}:1::", "no students in the file")


def test_reports_every_problem_of_a_file_at_once(tmp_path: Path) -> None:
    """It reports all bad cells of all rows, sorted by row and then by column."""
    path = students_csv(
        tmp_path,
        student(gender="?", trade="melect"),
        student(student_id="S002", birth_date="yesterday", lang_en="fluent"),
    )
    _, problems = read_students(path, VOCABULARY)
    assert [(p.row, p.column) for p in problems] == [
        (2, "gender"),
        (2, "trade"),
        (3, "birth_date"),
        (3, "lang_en"),
    ]


# ---- offers ----------------------------------------------------------------------------


def test_reports_a_missing_offer_column(tmp_path: Path) -> None:
    """It reports a missing required offers column at row 1 and still checks the other cells."""
    row = {k: v for k, v in offer(places="0").items() if k != "city"}
    path = write_csv(tmp_path / "offers.csv", [row])
    offers, problems = read_offers([path], VOCABULARY)
    assert [located(p) for p in problems] == [f"{path}:1:city:", f"{path}:2:places:"]
    assert "missing column city; an offers file needs the columns" in problems[0].message
    assert offers == []


@pytest.mark.parametrize(
    ("changes", "column", "fragment"),
    [
        ({"offer_id": ""}, "offer_id", "the offer id is empty"),
        ({"partner": "DAAD"}, "partner", "unknown partner 'DAAD'; valid partners: OFAJ,"),
        ({"country": "FR"}, "country", "unknown country 'FR'; valid countries: DE, PL, UK"),
        ({"country": "PL"}, "country", "does not match partner OFAJ, which works in DE"),
        ({"company_id": ""}, "company_id", "the company id is empty"),
        ({"company_name": ""}, "company_name", "the company name is empty"),
        ({"city": ""}, "city", "the city is empty"),
        ({"address": ""}, "address", "the address is empty"),
        ({"contact_name": ""}, "contact_name", "the contact name is empty"),
        ({"contact_email": ""}, "contact_email", "the e-mail address is empty"),
        ({"contact_email": "jana@@x.de"}, "contact_email", "is not an e-mail address"),
        ({"sector": "industry"}, "sector", "unknown sector 'industry'; valid sectors: services"),
        ({"trades": "melec;melect"}, "trades", "unknown trade 'melect'"),
        ({"trades": "melec;cuisine"}, "trades", "trade cuisine belongs to services, not to this"),
        ({"trades": ""}, "trades", "the trades are empty; list trade codes"),
        ({"trades": "*;melec"}, "trades", "* must stand alone"),
        ({"places": "0"}, "places", "places must be a whole number from 1 to 1,000"),
        ({"places": "2.5"}, "places", "places must be a whole number from 1 to 1,000, not '2.5'"),
        ({"places": "99999999999"}, "places", "from 1 to 1,000, not '99999999999'"),
        ({"start_date": "7 Sept"}, "start_date", "expected a date as YYYY-MM-DD"),
        ({"end_date": "2026-09-01"}, "end_date", "end_date 2026-09-01 is before start_date"),
        (
            {"language_requirement": "German B1"},
            "language_requirement",
            "expected alternatives lang:LEVEL separated by |, e.g. de:B1|en:B2",
        ),
        ({"language_requirement": "de:B7"}, "language_requirement", "'de:B7' is not a language"),
        ({"accepts_minors": "maybe"}, "accepts_minors", "'maybe' is not true or false"),
    ],
)
def test_reports_a_bad_offer_cell(
    tmp_path: Path, changes: dict[str, str], column: str, fragment: str
) -> None:
    """It reports a bad offer cell on its row and column, saying what would be valid."""
    path = offers_csv(tmp_path, offer(**changes))
    offers, problems = read_offers([path], VOCABULARY)
    assert_problem(problems, f"{path}:2:{column}:", fragment)
    assert offers == []


def test_reports_a_duplicate_offer_id_across_files(tmp_path: Path) -> None:
    """It reports an offer id used in two files on the later row, naming the first file and row."""
    first = offers_csv(tmp_path, OFFER, name="de.csv")
    second = offers_csv(tmp_path, PL_OFFER, {**PL_OFFER, "offer_id": "DE-001"}, name="pl.csv")
    offers, problems = read_offers([first, second], VOCABULARY)
    assert_problem(problems, f"{second}:3:offer_id:", f"already used on row 2 of {first}")
    assert [o.offer_id for o in offers] == ["DE-001", "PL-001"]


def test_reports_a_company_with_two_names(tmp_path: Path) -> None:
    """It reports a company id that comes back with another name, on the later row."""
    path = offers_csv(tmp_path, OFFER, offer(offer_id="DE-002", company_name="Elektro Anders GmbH"))
    _, problems = read_offers([path], VOCABULARY)
    assert_problem(
        problems, f"{path}:3:company_name:", "company C-DE-01 is named 'Elektro Beispiel GmbH'"
    )


def test_reports_a_company_in_two_countries(tmp_path: Path) -> None:
    """It reports a company id that comes back in another country, on the later row."""
    path = offers_csv(
        tmp_path,
        OFFER,
        {**PL_OFFER, "company_id": "C-DE-01", "company_name": OFFER["company_name"]},
    )
    _, problems = read_offers([path], VOCABULARY)
    assert_problem(problems, f"{path}:3:country:", "company C-DE-01 is in DE on row 2")


def test_reports_an_offers_file_given_twice(tmp_path: Path) -> None:
    """It reports an offers file given twice once, not each of its offers as a duplicate."""
    path = offers_csv(tmp_path)
    offers, problems = read_offers([path, path], VOCABULARY)
    assert_problem(problems, f"{path}:1::", "this offers file is given twice")
    assert len(offers) == 1


def test_reports_offers_files_without_offers(tmp_path: Path) -> None:
    """It reports offers files that hold no offer at all."""
    path = tmp_path / "offers.csv"
    path.write_text(",".join(OFFER) + "\n", encoding="utf-8")
    _, problems = read_offers([path], VOCABULARY)
    assert_problem(problems, f"{path}:1::", "no offers in the file")


# ---- locks -----------------------------------------------------------------------------


def read_round_locks(
    tmp_path: Path, *locks: tuple[str, str], students: Sequence[Mapping[str, str]] = (STUDENT,)
) -> tuple[Path, list[Lock], list[Problem]]:
    read_students_, _ = read_students(students_csv(tmp_path, *students), VOCABULARY)
    offers, _ = read_offers([offers_csv(tmp_path, OFFER, PL_OFFER, UK_OFFER)], VOCABULARY)
    path = locks_csv(tmp_path, *locks)
    return path, *read_locks(path, read_students_, offers, VOCABULARY)


def test_reads_locks_to_an_offer_and_to_nowhere(tmp_path: Path) -> None:
    """It reads a lock on an offer, and an empty offer_id as 'must stay unplaced'."""
    second = student(student_id="S002")
    _, locks, problems = read_round_locks(
        tmp_path, ("S001", "DE-001"), ("S002", ""), students=[STUDENT, second]
    )
    assert problems == []
    assert locks == [Lock("S001", "DE-001"), Lock("S002", None)]


def test_reports_a_lock_on_an_unknown_student(tmp_path: Path) -> None:
    """It reports a lock naming a student who is not in the round."""
    path, _, problems = read_round_locks(tmp_path, ("S099", "DE-001"))
    assert_problem(problems, f"{path}:2:student_id:", "student S099 is not in the students file")


def test_reports_a_lock_on_an_unknown_offer(tmp_path: Path) -> None:
    """It reports a lock on an unknown offer with its row."""
    path, _, problems = read_round_locks(tmp_path, ("S001", "DE-999"))
    assert_problem(problems, f"{path}:2:offer_id:", "offer DE-999 is not among the offers")


def test_reports_a_second_lock_for_a_student(tmp_path: Path) -> None:
    """It reports a second lock for the same student, naming the row of the first."""
    path, _, problems = read_round_locks(tmp_path, ("S001", "DE-001"), ("S001", ""))
    assert_problem(problems, f"{path}:3:student_id:", "S001 already has a lock on row 2")


def test_reports_a_lock_that_breaks_a_hard_rule(tmp_path: Path) -> None:
    """It reports a lock breaking a hard rule with the rule's sentence: here a minor to the UK."""
    minor = student(birth_date="2009-01-10", preferences="")
    path, _, problems = read_round_locks(tmp_path, ("S001", "UK-001"), students=[minor])
    assert_problem(
        problems,
        f"{path}:2:offer_id:",
        "lock of S001 on UK-001 breaks the age rule: the student is under 18 on 2026-07-27, "
        "the deadline of the visa application",
    )


def test_reports_a_lock_for_another_trade(tmp_path: Path) -> None:
    """It reports a lock on an offer of another trade as breaking the trade rule."""
    cook = student(trade="cuisine", preferences="")
    path, _, problems = read_round_locks(tmp_path, ("S001", "DE-001"), students=[cook])
    assert_problem(problems, f"{path}:2:offer_id:", "breaks the trade rule")


def test_reports_locks_beyond_an_offers_places(tmp_path: Path) -> None:
    """It reports the lock that exceeds an offer's places, naming the rows taking them."""
    rows = [student(student_id=f"S00{i}", preferences="") for i in (1, 2, 3)]
    path, locks, problems = read_round_locks(
        tmp_path, ("S001", "DE-001"), ("S002", "DE-001"), ("S003", "DE-001"), students=rows
    )
    assert_problem(
        problems,
        f"{path}:4:offer_id:",
        "offer DE-001 has 2 places, already taken by the locks on rows 2, 3",
    )
    assert len(locks) == 2


# ---- a whole round ---------------------------------------------------------------------


def test_loads_a_round(tmp_path: Path) -> None:
    """It loads students, offers of several files and locks into a RoundInput."""
    round_input = load_round(
        students_csv(tmp_path, STUDENT, student(student_id="S002", preferences="UK-001")),
        [offers_csv(tmp_path, OFFER, PL_OFFER, name="a.csv"), offers_csv(tmp_path, UK_OFFER)],
        locks_csv(tmp_path, ("S001", "DE-001")),
    )
    assert [s.student_id for s in round_input.students] == ["S001", "S002"]
    assert [o.offer_id for o in round_input.offers] == ["DE-001", "PL-001", "UK-001"]
    assert round_input.locks == (Lock("S001", "DE-001"),)


def test_round_reports_a_preference_for_an_unknown_offer(tmp_path: Path) -> None:
    """It reports a preference naming no offer of the round on the student's row."""
    students = students_csv(tmp_path, student(preferences="DE-01;PL;*"))
    with pytest.raises(ImportFailed) as failed:
        load_round(students, [offers_csv(tmp_path)])
    assert_problem(
        failed.value.problems,
        f"{students}:2:preferences:",
        "'DE-01' (closest: DE-001) is neither an offer of the round nor a country",
    )


def test_round_reports_problems_of_every_file_at_once(tmp_path: Path) -> None:
    """It raises one ImportFailed with the problems of students, offers and locks, in file order."""
    students = students_csv(tmp_path, student(gender="?"), student(student_id="S002"))
    first_offers = offers_csv(tmp_path, offer(places="0"), name="a.csv")
    second_offers = offers_csv(tmp_path, PL_OFFER, {**PL_OFFER, "offer_id": ""}, name="b.csv")
    locks = locks_csv(tmp_path, ("S404", ""), ("S002", "PL-404"))
    with pytest.raises(ImportFailed) as failed:
        load_round(students, [first_offers, second_offers], locks)
    assert [located(p) for p in failed.value.problems] == [
        f"{students}:2:gender:",
        f"{first_offers}:2:places:",
        f"{second_offers}:3:offer_id:",
        f"{locks}:2:student_id:",
        f"{locks}:3:offer_id:",
    ]
    assert str(failed.value).splitlines() == [str(p) for p in failed.value.problems]


def test_round_with_an_unreadable_offers_file_reports_only_that(tmp_path: Path) -> None:
    """It does not report every preference and lock as unknown when an offers file is missing."""
    missing = tmp_path / "offers_pl.csv"
    with pytest.raises(ImportFailed) as failed:
        load_round(
            students_csv(tmp_path, student(preferences="PL-001;DE-001")),
            [offers_csv(tmp_path), missing],
            locks_csv(tmp_path, ("S001", "PL-001")),
        )
    assert_problem(failed.value.problems, f"{missing}:1::", "the file does not exist")


def test_reports_offers_without_any_offers_file() -> None:
    """It reports a call with no offers file at all."""
    offers, problems = read_offers([], VOCABULARY)
    assert offers == []
    assert_problem(problems, "offers:1::", "no offers file was given")


def test_accepts_minors_defaults_to_false(tmp_path: Path) -> None:
    """It reads an empty accepts_minors as false, and yes/1 as true."""
    path = offers_csv(
        tmp_path,
        offer(accepts_minors=""),
        offer(offer_id="DE-002", accepts_minors="YES"),
        offer(offer_id="DE-003", accepts_minors="1"),
    )
    offers, problems = read_offers([path], VOCABULARY)
    assert problems == []
    assert [o.accepts_minors for o in offers] == [False, True, True]


def test_round_does_not_repeat_a_problem_through_a_lock(tmp_path: Path) -> None:
    """It reports a student row with a bad cell once, not again through a lock on that student."""
    students = students_csv(tmp_path, student(gender="?"))
    with pytest.raises(ImportFailed) as failed:
        load_round(students, [offers_csv(tmp_path)], locks_csv(tmp_path, ("S001", "DE-001")))
    assert_problem(failed.value.problems, f"{students}:2:gender:", "is not a gender")


def test_problem_reads_as_file_row_column_message() -> None:
    """It prints a problem as FILE:ROW:COLUMN: message."""
    problem = Problem("offers.csv", 4, "places", "places must be a whole number of at least 1")
    assert str(problem) == "offers.csv:4:places: places must be a whole number of at least 1"
