"""Control characters are refused at the edge, and the database never logs parameters.

A NUL byte made PostgreSQL refuse the statement and the service answer 500;
the logged error carried the statement's parameters (token hashes among them).
These tests run on SQLite and, with MOBILITY_MATCH_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from mobility_match.demo import generate_students, students_frame
from mobility_match.models import LoginAttempt, Role, Round, School, Student
from tests.accounts import PASSWORD, add_account, add_school, bearer
from tests.files import csv_bytes
from tests.pages import browser, new_signed_in, submit, text_of
from tests.programme import sample_offers
from tests.test_imports_http import import_samples, upload

NUL_USER = "nul\x00user"
SECRET = "5f2b9c0d0e8a4b7c-token-hash"


def rows(engine: Engine, table: type[LoginAttempt] | type[Round] | type[Student]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


@pytest.fixture
def coordinator(client: TestClient, engine: Engine) -> dict[str, str]:
    add_account(engine, "coordinator@x.example", Role.COORDINATOR)
    return bearer(client, "coordinator@x.example")


def test_a_nul_in_the_login_username_is_a_422_naming_the_field(
    client: TestClient, engine: Engine
) -> None:
    """POST /api/auth/login with a NUL in the username answers 422 naming body.username,
    without echoing the value; no sign-in attempt is recorded."""
    response = client.post("/api/auth/login", json={"username": NUL_USER, "password": "x"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "field": "body.username",
            "message": "contains a control character (U+0000); only printable text, "
            "tabs and line breaks are accepted",
        }
    ]
    assert "nul" not in response.text
    assert rows(engine, LoginAttempt) == 0


def test_a_nul_in_the_login_page_form_is_the_error_page(app: FastAPI, engine: Engine) -> None:
    """The sign-in page's form with a NUL in the username gives the error page (422, in
    French), naming the field; no sign-in attempt is recorded."""
    with browser(app) as client:
        response = submit(client, "/login", {"username": NUL_USER, "password": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Ce n'est pas possible" in text_of(response.text)
    assert "username" in text_of(response.text)
    assert rows(engine, LoginAttempt) == 0


def test_a_round_name_with_a_nul_is_refused_and_no_round_is_stored(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """POST /api/rounds with a NUL in the name answers 422 (body.name); no round exists."""
    response = client.post("/api/rounds", json={"name": "Print\x00emps"}, headers=coordinator)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.name"
    assert rows(engine, Round) == 0


def test_a_round_name_with_a_control_on_the_page_form_is_refused(
    app: FastAPI, engine: Engine
) -> None:
    """The new-round page form with a NUL (or another C0 control) in the name gives the
    error page with 422; no round is stored."""
    with browser(app) as client:
        new_signed_in(client, engine, "coordinator@x.example", Role.COORDINATOR)
        for name in ("Print\x00emps", "Print\x1bemps"):
            response = submit(client, "/coordinator/rounds", {"name": name})
            assert response.status_code == 422
            assert "Ce n'est pas possible" in text_of(response.text)
    assert rows(engine, Round) == 0


def test_a_nul_in_a_path_id_is_a_422(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """GET and PUT /api/schools/{school_id} with a NUL in the id answer 422 (path), not 500;
    nothing is changed."""
    add_school(engine, "LP-A")
    read = client.get("/api/schools/LP-A%00", headers=coordinator)
    assert read.status_code == 422, read.text
    assert read.json()["errors"][0]["field"] == "path"
    changed = client.put("/api/schools/LP%00A", json={"name": "X"}, headers=coordinator)
    assert changed.status_code == 422
    with Session(engine) as session:
        assert session.get_one(School, "LP-A").name == "Lycée LP-A"


def test_a_nul_in_a_query_parameter_is_a_422(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    """GET /api/audit?object_type=… with a NUL answers 422 naming query.object_type."""
    response = client.get("/api/audit?object_type=round%00", headers=coordinator)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.object_type"
    assert client.get("/api/audit?object_type=round", headers=coordinator).status_code == 200


def test_a_nul_in_a_csv_cell_is_an_import_problem_with_file_row_and_column(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """A students file with a NUL in a first name is refused with 422 and one problem
    cohort.csv:ROW:first_name saying what is valid; no student is stored."""
    import_samples(client, coordinator)
    cohort: pd.DataFrame = students_frame(generate_students(5, 11, sample_offers()))
    cohort.loc[1, "first_name"] = "Lé\x00a"
    response = upload(client, "students", coordinator, ("cohort.csv", csv_bytes(cohort)))
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert problems == [
        "cohort.csv:3:first_name: the cell holds a control character (U+0000), which is not "
        "text; remove it (a cell holds printable text, tabs and line breaks only)"
    ]
    assert rows(engine, Student) == 0


def test_a_line_break_in_an_address_is_still_accepted(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    """Tab, LF and CR are text: a school's address on two lines is stored as sent."""
    body = {"school_id": "LP-B", "name": "Lycée B", "address": "1 rue Haute\r\n69001\tLyon"}
    created = client.post("/api/schools", json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    assert client.get("/api/schools/LP-B", headers=coordinator).json()["address"] == body["address"]


def test_a_failing_statement_logs_and_shows_no_parameter_values(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A statement the database refuses (a missing table; a NUL on PostgreSQL) logs its SQL
    but none of its parameters, and its exception's text holds none either."""
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    statements = [
        (text("INSERT INTO no_such_table (token_hash) VALUES (:value)"), {"value": SECRET}),
    ]
    if engine.dialect.name == "postgresql":
        statements.append(
            (text("SELECT * FROM credential WHERE token_hash = :value"), {"value": SECRET + "\0"})
        )
    for statement, parameters in statements:
        with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
            connection.execute(statement, parameters)
        assert SECRET not in str(raised.value)
        assert "parameters hidden" in str(raised.value)
    assert caplog.records, "the engine logged nothing: the test would prove nothing"
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_a_valid_sign_in_still_passes_through_the_check(client: TestClient, engine: Engine) -> None:
    """The body the check reads is handed on whole: a right password still signs in."""
    add_account(engine, "teacher@x.example", Role.TEACHER)
    response = client.post(
        "/api/auth/login", json={"username": "teacher@x.example", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text


def test_a_control_character_in_a_multipart_text_field_is_a_422_naming_it(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """The text fields sent with a file (here the import's confirmation) are checked like
    any other field; nothing is imported."""
    import_samples(client, coordinator)
    cohort = students_frame(generate_students(5, 3, sample_offers()))
    before = rows(engine, Student)
    response = client.post(
        "/api/imports/students",
        files=[("file", ("cohort.csv", csv_bytes(cohort), "text/csv"))],
        data={"confirm": "abc\x00def"},
        headers=coordinator,
    )
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["body.confirm"]
    assert "\x00" not in response.text
    assert rows(engine, Student) == before


def test_a_control_character_in_a_header_is_a_422_naming_the_header(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    """A header value with a C0 control (a hostile client; browsers never send one) is
    refused before any route reads it."""
    response = client.get("/api/rounds", headers={**coordinator, "X-Note": "a\x01b"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "header.x-note"
    assert client.get("/api/rounds", headers={**coordinator, "X-Note": "a\tb"}).status_code == 200
