"""Tests of importing students and offers files over HTTP: real uploads, a real database.

The sample offers of data/companies and a generated cohort go up as CSV and as
.xlsx; what the database holds is counted before and after each refused upload.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, func, select

from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.demo import generate_students, students_frame
from mobility_match.models import AuditEvent, Company, Offer, Role, School, SchoolKind, Student
from tests.accounts import add_account, session_headers
from tests.files import csv_bytes, xlsx_bytes
from tests.programme import COMPANIES, sample_offers

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFERS_IN_SAMPLES = 162
"""Rows of data/companies/de.csv, pl.csv and uk.csv together."""


@dataclass(frozen=True)
class Importers:
    """Authorization headers of a coordinator, the partners OFAJ and ABC Wiedzy, a teacher."""

    coordinator: dict[str, str]
    ofaj: dict[str, str]
    abc: dict[str, str]
    teacher: dict[str, str]


@pytest.fixture
def importers(engine: Engine) -> Importers:
    def headers(username: str, role: Role, **scope: str) -> dict[str, str]:
        account = add_account(engine, username, role, password=None, **scope)
        return session_headers(engine, account)

    return Importers(
        coordinator=headers("coord", Role.COORDINATOR),
        ofaj=headers("ofaj", Role.PARTNER, partner="OFAJ"),
        abc=headers("abc", Role.PARTNER, partner="ABC_WIEDZY"),
        teacher=headers("teacher", Role.TEACHER),
    )


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """Sixty fictitious students as students.csv rows, some preferring sample offers by id."""
    return students_frame(generate_students(60, 11, sample_offers()))


def sample(name: str) -> bytes:
    return (COMPANIES / name).read_bytes()


def as_xlsx(csv: bytes) -> bytes:
    return xlsx_bytes(pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False))


def upload(
    client: TestClient, what: str, headers: dict[str, str], *files: tuple[str, bytes]
) -> Any:
    """POST files to /api/imports/{what} in the field `file`; return the response."""
    parts = [
        ("file", (name, data, XLSX if name.endswith(".xlsx") else "text/csv"))
        for name, data in files
    ]
    return client.post(f"/api/imports/{what}", files=parts, headers=headers)


def import_samples(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = upload(
        client,
        "offers",
        headers,
        *((name, sample(name)) for name in ("de.csv", "pl.csv", "uk.csv")),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(engine: Engine) -> dict[str, int]:
    """How many rows each table that an import writes holds."""
    tables: list[type[SQLModel]] = [Student, School, Offer, Company, AuditEvent]
    with Session(engine) as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in tables
        }


def versions(engine: Engine, table: type[Student] | type[Offer]) -> dict[str, int]:
    with Session(engine) as session:
        if table is Student:
            return {s.student_id: s.version for s in session.exec(select(Student))}
        return {o.offer_id: o.version for o in session.exec(select(Offer))}


# Importing what the programme ships and generates.


def test_sample_offers_and_a_cohort_import_as_csv(
    client: TestClient, engine: Engine, importers: Importers, cohort: pd.DataFrame
) -> None:
    """The sample offers, then a cohort naming some of them, are stored; new schools are made."""
    offers = import_samples(client, importers.coordinator)
    assert offers["files"] == ["de.csv", "pl.csv", "uk.csv"]
    assert (offers["created"], offers["updated"], offers["unchanged"]) == (OFFERS_IN_SAMPLES, 0, 0)
    assert offers["companies_updated"] == []
    assert any(";DE-" in cell or cell.startswith("DE-") for cell in cohort["preferences"])
    students = upload(client, "students", importers.coordinator, ("cohort.csv", csv_bytes(cohort)))
    assert students.status_code == 200, students.text
    body = students.json()
    assert body == {
        "file": "cohort.csv",
        "created": 60,
        "updated": 0,
        "unchanged": 0,
        "schools_created": sorted(set(cohort["school_id"])),
    }
    with Session(engine) as session:
        school = session.get_one(School, body["schools_created"][0])
        assert (school.name, school.kind) == ("", SchoolKind.PILOT)
        first = session.get_one(Student, "S00001")
        assert first.first_name == cohort.loc[0, "first_name"]
        assert session.get_one(Offer, "UK-001").language_requirement == "en:B1"
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.object_id) for e in events] == [
        ("offers.import", "de.csv, pl.csv, uk.csv"),
        ("students.import", "cohort.csv"),
    ]
    assert events[1].details["created"] == 60
    assert events[1].details["file"] == "cohort.csv"


def test_xlsx_uploads_store_what_csv_uploads_store(
    client: TestClient, engine: Engine, importers: Importers, cohort: pd.DataFrame
) -> None:
    """Files uploaded as .xlsx give the same rows as CSV: the CSV afterwards changes nothing."""
    xlsx = [(f"{name[:2]}.xlsx", as_xlsx(sample(name))) for name in ("de.csv", "pl.csv", "uk.csv")]
    offers = upload(client, "offers", importers.coordinator, *xlsx)
    assert offers.status_code == 200, offers.text
    assert offers.json()["created"] == OFFERS_IN_SAMPLES
    students = upload(
        client, "students", importers.coordinator, ("cohort.xlsx", xlsx_bytes(cohort))
    )
    assert students.status_code == 200, students.text
    assert students.json()["created"] == 60
    again = import_samples(client, importers.coordinator)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, OFFERS_IN_SAMPLES)
    csv = upload(client, "students", importers.coordinator, ("cohort.csv", csv_bytes(cohort)))
    assert (csv.json()["updated"], csv.json()["unchanged"]) == (0, 60)


def test_importing_again_changes_nothing_and_a_changed_row_one_thing(
    client: TestClient, engine: Engine, importers: Importers, cohort: pd.DataFrame
) -> None:
    """A second import reports every row unchanged, versions kept; one changed row is updated."""
    import_samples(client, importers.coordinator)
    upload(client, "students", importers.coordinator, ("cohort.csv", csv_bytes(cohort)))
    before = versions(engine, Student)
    again = upload(client, "students", importers.coordinator, ("cohort.csv", csv_bytes(cohort)))
    assert again.json() == {
        "file": "cohort.csv",
        "created": 0,
        "updated": 0,
        "unchanged": 60,
        "schools_created": [],
    }
    assert versions(engine, Student) == before
    changed = cohort.copy()
    changed.loc[4, "email"] = "fontaine-morel@example.org"  # a name would need a confirmation
    once = upload(client, "students", importers.coordinator, ("cohort.csv", csv_bytes(changed)))
    assert (once.json()["updated"], once.json()["unchanged"]) == (1, 59)
    with Session(engine) as session:
        student = session.get_one(Student, changed.loc[4, "student_id"])
        assert (student.email, student.version) == ("fontaine-morel@example.org", 2)
    offers_before = versions(engine, Offer)
    lines = sample("de.csv").decode("utf-8").splitlines()
    assert lines[1].startswith("DE-001,")
    assert ",2,2027-05-03," in lines[1]
    lines[1] = lines[1].replace(",2,2027-05-03,", ",3,2027-05-03,")
    edited = ("\n".join(lines) + "\n").encode("utf-8")
    offers = upload(client, "offers", importers.coordinator, ("de.csv", edited))
    assert (offers.json()["updated"], offers.json()["unchanged"]) == (1, 61)
    assert versions(engine, Offer) == {**offers_before, "DE-001": 2}


# Refusals: every problem at once, nothing written.


def test_a_file_with_bad_cells_lists_them_all_and_writes_nothing(
    client: TestClient, engine: Engine, importers: Importers, cohort: pd.DataFrame
) -> None:
    """Each bad cell is one FILE:ROW:COLUMN problem with the client's file name; nothing changes."""
    import_samples(client, importers.coordinator)
    before = counts(engine)
    bad = cohort.copy()
    bad.loc[0, "gender"] = "Q"
    bad.loc[1, "birth_date"] = "2008-13-01"
    bad.loc[2, "trade"] = "astronaut"
    bad.loc[3, "preferences"] = "DE-999;PL"
    bad.loc[4, "first_name"] = "J" * 121
    bad.loc[5, "available_to"] = "2027-01-01"
    response = upload(
        client, "students", importers.coordinator, ("C:\\Users\\coord\\cohort.csv", csv_bytes(bad))
    )
    assert response.status_code == 422
    answer = response.json()
    assert answer["detail"].startswith("cohort.csv: 6 problems; nothing was imported.")
    located = [problem.split(": ", 1)[0] for problem in answer["problems"]]
    assert located == [
        "cohort.csv:2:gender",
        "cohort.csv:3:birth_date",
        "cohort.csv:4:trade",
        "cohort.csv:5:preferences",
        "cohort.csv:6:first_name",
        "cohort.csv:7:available_to",
    ]
    assert "'DE-999' (closest: " in answer["problems"][3]
    assert "neither an offer in the database nor a country" in answer["problems"][3]
    assert "at most 120 fit" in answer["problems"][4]
    assert counts(engine) == before


def test_offers_files_with_problems_store_none_of_the_files(
    client: TestClient, engine: Engine, importers: Importers
) -> None:
    """A problem in one offers file keeps the other, sound files out too; types are checked."""
    before = counts(engine)
    lines = sample("pl.csv").decode("utf-8").splitlines()
    lines[2] = lines[2].replace(",1,2027-05-31,", ",0,2027-05-31,")
    response = upload(
        client,
        "offers",
        importers.coordinator,
        ("de.csv", sample("de.csv")),
        ("pl.csv", "\n".join(lines).encode("utf-8")),
        ("notes.txt", b"offer_id\n"),
    )
    assert response.status_code == 422
    assert [problem.split(": ", 1)[0] for problem in response.json()["problems"]] == [
        "pl.csv:3:places",
        "notes.txt:1:",
    ]
    assert counts(engine) == before


def test_a_file_over_the_size_limit_is_refused_early(
    engine: Engine, settings: Settings, importers: Importers, cohort: pd.DataFrame
) -> None:
    """An upload over the limit answers 413 naming the file and the limit; nothing is stored."""
    small = settings.model_copy(update={"upload_max_bytes": 2048})
    with TestClient(create_app(small, engine)) as client:
        data = csv_bytes(cohort)
        assert len(data) > 2048
        response = upload(client, "students", importers.coordinator, ("cohort.csv", data))
    assert response.status_code == 413
    assert response.json()["detail"].startswith(
        "cohort.csv is larger than the upload limit of 2,048 bytes; split it"
    )
    assert counts(engine)["Student"] == 0


# Who may import what.


def test_a_partner_imports_its_own_offers_only(
    client: TestClient, engine: Engine, importers: Importers
) -> None:
    """OFAJ imports its file; ABC Wiedzy may neither upload OFAJ's rows nor overwrite its ids."""
    mine = upload(client, "offers", importers.ofaj, ("de.csv", sample("de.csv")))
    assert mine.status_code == 200, mine.text
    assert mine.json()["created"] == 62
    before = counts(engine)
    theirs = upload(client, "offers", importers.abc, ("de.csv", sample("de.csv")))
    assert theirs.status_code == 422
    problems = theirs.json()["problems"]
    assert problems[:2] == [
        "de.csv:2:offer_id: offer id DE-001 is used by another partner's offer; choose another id",
        "de.csv:2:partner: this offer is of OFAJ; you may upload offers of ABC_WIEDZY only",
    ]
    assert len(problems) == 2 * 62
    assert counts(engine) == before


def test_a_partner_file_with_one_foreign_row_is_refused_on_that_row(
    client: TestClient, engine: Engine, importers: Importers
) -> None:
    """One row of another partner in a partner's own file is the one problem reported."""
    lines = sample("pl.csv").decode("utf-8").splitlines()
    de_row = sample("de.csv").decode("utf-8").splitlines()[1].replace("DE-001", "PL-900")
    lines.insert(3, de_row.replace("DE-C01", "PL-C900"))
    response = upload(client, "offers", importers.abc, ("pl.csv", "\n".join(lines).encode()))
    assert response.status_code == 422
    assert response.json()["problems"] == [
        "pl.csv:4:partner: this offer is of OFAJ; you may upload offers of ABC_WIEDZY only"
    ]
    assert counts(engine)["Offer"] == 0


def test_a_company_of_another_partner_is_refused(
    client: TestClient, engine: Engine, importers: Importers
) -> None:
    """An upload may not put offers in a company that another partner brought."""
    assert upload(client, "offers", importers.ofaj, ("de.csv", sample("de.csv"))).status_code == 200
    lines = sample("pl.csv").decode("utf-8").splitlines()
    lines[1] = lines[1].replace(",PL-C01,", ",DE-C01,")
    response = upload(client, "offers", importers.abc, ("pl.csv", "\n".join(lines).encode()))
    assert response.status_code == 422
    assert response.json()["problems"] == [
        "pl.csv:2:company_id: company DE-C01 belongs to another partner; use another company id"
    ]
    coordinator = upload(
        client, "offers", importers.coordinator, ("pl.csv", "\n".join(lines).encode())
    )
    assert coordinator.json()["problems"] == [
        "pl.csv:2:company_id: company DE-C01 belongs to partner OFAJ; use another company id"
    ]
    with Session(engine) as session:
        assert session.get_one(Company, "DE-C01").partner == "OFAJ"


def test_only_coordinators_import_students(
    client: TestClient, importers: Importers, cohort: pd.DataFrame
) -> None:
    """Partners and teachers get 403 on students imports, teachers on offers imports too."""
    students = ("cohort.csv", csv_bytes(cohort))
    assert upload(client, "students", importers.ofaj, students).status_code == 403
    assert upload(client, "students", importers.teacher, students).status_code == 403
    offers = ("de.csv", sample("de.csv"))
    assert upload(client, "offers", importers.teacher, offers).status_code == 403


def test_a_huge_cell_in_a_column_of_one_s_own_is_refused(
    client: TestClient, engine: Engine, importers: Importers, cohort: pd.DataFrame
) -> None:
    """Columns of one's own are kept with each row and sent back with every list: a cell of
    50,000 characters is refused as a problem at its row and column, and nothing is stored."""
    import_samples(client, importers.coordinator)
    before = counts(engine)
    padded = cohort.copy()
    padded["notes"] = ""
    padded.loc[2, "notes"] = "x" * 50_000
    response = upload(client, "students", importers.coordinator, ("cohort.csv", csv_bytes(padded)))
    assert response.status_code == 422
    assert [problem.split(": ", 1)[0] for problem in response.json()["problems"]] == [
        "cohort.csv:4:notes"
    ]
    assert "at most 2000 fit" in response.json()["problems"][0]
    assert counts(engine) == before
