"""The evaluation through HTTP: the pseudonymised export holds nothing that names a graduate,
its pseudonyms are stable under one key and change with the key; the indicators' JSON,
CSV and XLSX; the evaluator's account, home page and what it may not see.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.api.app import create_app
from mobility_match.config import ProductionRefused, Settings
from mobility_match.models import AuditEvent, Role, Student
from mobility_match.services.pseudonymised import pseudonym, pseudonym_of
from mobility_match.web.app import ROUTERS
from tests.accounts import add_account, session_headers
from tests.pages import sign_in_as
from tests.test_indicators import COHORT, CONTROL, GRADUATES, PILOT_1, build_cohort

KEY = "a test key of the evaluation, long enough"
OPEN_PAGES = {"/", "/login", "/home", "/evaluation", "/messages", "/jobs"} | {
    "/invite/{token}",
    "/review/{token}",
    "/follow-up/{token}",
}
"""The pages an evaluator may open: its own (its mails, its background jobs: none), and
those anyone may (a link's page, which here answers that the link is unknown)."""


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def evaluation(engine: Engine, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The small cohort of test_indicators, the app with KEY, an evaluator's session."""
    build_cohort(engine)
    keyed = settings.model_copy(update={"pseudonym_key": SecretStr(KEY)})
    with TestClient(create_app(keyed, engine)) as client:
        evaluator = add_account(engine, "comite@recherche.example", Role.EVALUATOR, password=None)
        yield client, session_headers(engine, evaluator)


def test_the_export_names_nobody_and_its_pseudonyms_are_keyed(
    evaluation: tuple[TestClient, dict[str, str]], engine: Engine, settings: Settings
) -> None:
    """No name, e-mail, phone, address, full birth date or id of any graduate, in the CSV or
    the XLSX; the same pseudonyms in two exports, others under another key."""
    client, headers = evaluation
    first = client.get("/api/evaluation/export.csv", headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("text/csv")
    workbook = client.get("/api/evaluation/export.xlsx", headers=headers)
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content), read_only=True)
    assert book.sheetnames == ["graduates", "dictionary"]
    xlsx_text = "\n".join(
        ",".join("" if v is None else str(v) for v in row)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    )
    csv_text = first.content.decode("utf-8-sig")
    with Session(engine) as session:
        students = session.exec(select(Student)).all()
    assert len(students) == len(GRADUATES) + 1
    for text in (csv_text, xlsx_text):
        for student in students:
            for personal in (
                student.first_name,
                student.last_name,
                student.email,
                student.extra["phone"],
                student.extra["address"],
                student.birth_date.isoformat(),
                student.birth_date.strftime("%d/%m/%Y"),
            ):
                assert personal not in text, personal
            # Ids are short (G1…): look for them as whole cells only.
            assert not re.search(rf"(^|,){re.escape(student.student_id)}(,|$)", text, re.M)
    rows = _rows(first.content)
    assert len(rows) == len(students)
    by_pseudonym = {row["pseudonym"]: row for row in rows}
    g1 = by_pseudonym[pseudonym(KEY, "G1")]
    assert g1["school_code"] == PILOT_1
    assert g1["school_type"] == "pilot"
    assert g1["birth_year"] == "2006"
    assert (g1["eligible"], g1["placed"], g1["placement_country"]) == ("true", "true", "DE")
    assert (g1["placement_outcome"], g1["situation_6m"], g1["in_trade_6m"]) == (
        "completed",
        "permanent_contract",
        "true",
    )
    control = by_pseudonym[pseudonym(KEY, "CB4")]
    assert (control["school_code"], control["school_type"]) == (CONTROL, "control")
    assert (control["eligible"], control["placed"], control["situation_6m"]) == (
        "",
        "false",
        "unknown",
    )
    assert [row["pseudonym"] for row in rows] == sorted(by_pseudonym)  # says nothing of ids
    # The same key: the same pseudonyms; another key: none of them.
    again = _rows(
        client.get(f"/api/evaluation/export.csv?cohort={COHORT}", headers=headers).content
    )
    assert {row["pseudonym"] for row in again} == set(by_pseudonym) - {pseudonym(KEY, "G0")}
    other_settings = settings.model_copy(
        update={"pseudonym_key": SecretStr("another key of the committee")}
    )
    other = TestClient(create_app(other_settings, engine))  # no start-up: just the routes
    others = _rows(other.get("/api/evaluation/export.csv", headers=headers).content)
    assert len(others) == len(rows)
    assert not {row["pseudonym"] for row in others} & set(by_pseudonym)
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "evaluation.export")
        ).all()
    assert len(events) == 4  # each download of the export is in the audit log
    assert events[0].actor == "comite@recherche.example"
    # The data dictionary: a line (type, meaning in French and English) per column.
    dictionary = _rows(client.get("/api/evaluation/dictionary.csv", headers=headers).content)
    assert [line["column"] for line in dictionary] == list(rows[0])
    assert all(line["type"] and line["signification"] and line["meaning"] for line in dictionary)
    assert [c.value for c in next(book["dictionary"].iter_rows(max_row=1))] == [
        "column",
        "type",
        "values",
        "signification",
        "meaning",
    ]


def test_indicators_and_the_evaluators_account(
    evaluation: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    """The JSON names each group's school type and gender, the files hold the same figures;
    an evaluator's account sees the evaluation and nothing else."""
    client, headers = evaluation
    answer = client.get(f"/api/evaluation/indicators?cohort={COHORT}", headers=headers)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["cohorts"] == [COHORT, COHORT - 1]
    assert found["min_count"] == 10
    assert {g["school_type"] for g in found["groups"]} == {"pilot", "control"}
    assert {g["gender"] for g in found["groups"]} == {"all", "F", "M"}
    girls = next(
        g
        for g in found["groups"]
        if (g["dimension"], g["school_type"], g["gender"]) == ("all", "pilot", "F")
    )
    assert girls["graduates"] == 6
    # 5 eligible girls: below the default threshold of 10, no figure.
    assert girls["rates"]["placed"] == {
        "total": 5,
        "count": None,
        "value": None,
        "low": None,
        "high": None,
        "status": "too_few",
    }
    assert "Wilson" in found["methods"]["rate"]
    rows = _rows(client.get("/api/evaluation/indicators.csv", headers=headers).content)
    sizes = [
        r
        for r in rows
        if (r["measure"], r["dimension"], r["school_type"], r["gender"])
        == ("size", "all", "pilot", "all")
    ]
    assert sizes[0]["graduates"] == "11"  # every cohort: G0 too
    assert {r["measure"] for r in rows} == {"size", "rate", "gap", "gap_difference"}
    workbook = client.get("/api/evaluation/indicators.xlsx", headers=headers)
    assert load_workbook(io.BytesIO(workbook.content), read_only=True).sheetnames == ["indicators"]
    assert client.get("/api/evaluation/indicators?cohort=1800", headers=headers).status_code == 422
    # A coordinator creates an evaluator account through the API; its home is /evaluation
    # (tables, charts, downloads); rounds, students and other roles' pages are closed to it.
    coordinator_id = add_account(engine, "coord@example.org", Role.COORDINATOR, password=None)
    coordinator = session_headers(engine, coordinator_id)
    created = client.post(
        "/api/accounts",
        json={
            "username": "statisticienne@cereq.example",
            "display_name": "Comité scientifique",
            "role": "evaluator",
            "password": "a long enough password for her",
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "evaluator"
    assert client.get("/api/rounds", headers=headers).json() == []
    for path in ("/api/students", "/api/schools", "/api/offers"):
        assert client.get(path, headers=headers).status_code == 403, path
    sign_in_as(client, engine, coordinator_id)  # the accounts page offers the role
    accounts_page = client.get("/coordinator/accounts").text
    assert '<option value="evaluator"' in accounts_page
    assert "Évaluateur (comité scientifique)" in accounts_page
    sign_in_as(client, engine, created.json()["id"])
    home = client.get("/home")
    assert home.status_code == 200
    assert str(home.url).endswith("/evaluation")
    page = home.text
    assert "Évaluation" in page
    assert '<svg class="chart"' in page
    assert "/api/evaluation/export.xlsx" in page
    assert "pas assez de réponses" in page.lower()
    assert "Nom" + "G1" not in page
    # Every page of the site: the evaluator's own open, every other refused (403 or 404),
    # none names a graduate.
    values = {"round_id": "1", "other_id": "2", "student_id": "G1", "school_id": PILOT_1}
    for path in sorted(
        route.path_format
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    ):
        concrete = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)
        answer = client.get(concrete, follow_redirects=False)
        assert "Prénom" not in answer.text, concrete
        assert "@eleves.example" not in answer.text, concrete
        if path in OPEN_PAGES:
            assert answer.status_code in (200, 303, 404), (concrete, answer.status_code)
        else:
            assert answer.status_code in (403, 404, 422), (concrete, answer.status_code)


def test_production_refuses_the_development_pseudonym_key() -> None:
    """In production the pseudonym key must be set, and long."""
    production = {
        "environment": "production",
        "database_url": "postgresql+psycopg://app@db.example/mobility",
        "public_url": "https://mobility.example",
        "secure_cookies": True,
        "smtp_host": "smtp.example",
        "mail_from": "Programme <mobilite@programme.example>",
    }
    with pytest.raises(ProductionRefused, match="MOBILITY_MATCH_PSEUDONYM_KEY"):
        Settings(**production).check_production()  # type: ignore[arg-type]
    with pytest.raises(ProductionRefused, match="at least 32"):
        Settings(**production, pseudonym_key="short").check_production()  # type: ignore[arg-type]
    Settings(**production, pseudonym_key="k" * 40).check_production()  # type: ignore[arg-type]


def test_a_graduate_keeps_his_pseudonym_after_the_retention() -> None:
    """Once the evaluation's retention replaced an id by its pseudonym, the export gives that
    pseudonym again, not a pseudonym of the pseudonym."""
    kept = pseudonym(KEY, "G1")
    assert pseudonym_of(KEY, "G1") == kept
    assert pseudonym_of(KEY, kept) == kept
    assert pseudonym_of("another key of the committee", "G1") != kept
