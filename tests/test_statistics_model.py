"""A round's statistics are one typed model: the report, the API, the exports and the pages
say the same thing, also for a group with nobody eligible (no rate, never 1.0 here and a
blank elsewhere), and OpenAPI documents every field of the model."""

from __future__ import annotations

import io
import re
from html import unescape
from typing import Any

import openpyxl
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match import records
from mobility_match.domain import Gender, RoundInput, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import DEFAULT_POLICY
from mobility_match.models import Role, School, SchoolKind
from mobility_match.reporting import print_summary, report_data
from mobility_match.statistics import (
    CountryFigures,
    GroupFigures,
    RoundStatistics,
    compute_statistics,
)
from tests.accounts import session_headers
from tests.factories import make_offer, make_student
from tests.pages import browser, new_signed_in
from tests.programme import wait_for_round

VOCABULARY = load_vocabulary()
SCHOOLS = {"LP-A": "Lycée Arago", "LP-B": "Lycée Bréguet", "LP-C": "Lycée Carnot"}
STUDENTS = [
    # (school, gender, trade): LP-C's students are car mechanics, whom no offer takes.
    ("LP-A", Gender.F, "commerce"),
    ("LP-A", Gender.M, "commerce"),
    ("LP-A", Gender.F, "commerce"),
    ("LP-A", Gender.M, "commerce"),
    ("LP-B", Gender.F, "commerce"),
    ("LP-B", Gender.M, "commerce"),
    ("LP-C", Gender.F, "mv"),
    ("LP-C", Gender.M, "mv"),
]
PLACES = 4
"""Fewer places than the six eligible students, so that school rates are below 1."""


def _load(engine: Engine) -> None:
    with Session(engine) as session:
        for school_id, name in SCHOOLS.items():
            session.add(School(school_id=school_id, name=name, kind=SchoolKind.PILOT))
        row, company = records.offer_rows(make_offer("DE-COM", places=PLACES))
        session.add(company)
        session.flush()
        session.add(row)
        for number, (school_id, gender, trade) in enumerate(STUDENTS):
            student = make_student(
                f"S{number:02d}", gender=gender, school_id=school_id, trade=trade
            )
            session.add(records.student_row(student))
        session.commit()


def _xlsx_rows(data: bytes) -> dict[tuple[str, str], dict[str, Any]]:
    """The statistics sheet's rows by (group, key), as header → cell value."""
    sheet = openpyxl.load_workbook(io.BytesIO(data))["statistics"]
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return {(row[0], row[1] or ""): dict(zip(header, row, strict=True)) for row in rows}


def _page_row(html: str, name: str) -> list[str]:
    """The cells of the statistics table row headed `name` (the school table's)."""
    rows = re.findall(r'<tr>\s*<th scope="row">([^<]*)</th>(.*?)</tr>', html, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S) for head, body in rows]
    found = [c for (head, _), c in zip(rows, cells, strict=True) if unescape(head) == name]
    assert found, f"no row for {name}"
    return [" ".join(unescape(cell).split()) for cell in found[-1]]


def _percent_of(cell: str) -> float:
    """A French percent cell ("50,0 %") as a fraction."""
    return float(cell.replace("\u202f", "").replace("%", "").replace(",", ".").strip()) / 100


def test_a_school_with_nobody_eligible_reads_the_same_everywhere(
    app: FastAPI, engine: Engine
) -> None:
    """LP-C has two students and nobody eligible: the report counts them (0 eligible, 0
    placed), the API gives it a null rate, the XLSX an empty rate cell, the page "–"; the
    lowest school rate leaves it out, and every other figure agrees across the four."""
    _load(engine)
    with browser(app) as client:
        account = new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        api = session_headers(engine, account)
        round_id = client.post("/api/rounds", json={"name": "Printemps"}, headers=api).json()["id"]
        client.post(f"/api/rounds/{round_id}/solve", headers=api).raise_for_status()
        report = wait_for_round(client, round_id, api)["report"]
        answer = client.get(f"/api/rounds/{round_id}/statistics", headers=api)
        assert answer.status_code == 200, answer.text
        stats = answer.json()
        xlsx = client.get(f"/api/rounds/{round_id}/export/statistics.xlsx", headers=api)
        assert xlsx.status_code == 200
        page = client.get(f"/coordinator/rounds/{round_id}/statistics")
        assert page.status_code == 200

    # The report (CONTRACT.md): counts only, as before.
    assert report["placed"] == PLACES
    assert report["by_school"]["LP-C"] == {"students": 2, "eligible": 0, "placed": 0}
    # The API: the same counts, and no rate.
    assert stats["by_school"]["LP-C"] == {
        "students": 2,
        "eligible": 0,
        "placed": 0,
        "rate": None,
        "rate_exact": None,
    }
    for gender in ("F", "M", "X"):
        assert stats["by_school_and_gender"]["LP-C"][gender]["rate"] is None
    assert stats["by_gender"]["X"] == {
        "students": 0,
        "eligible": 0,
        "placed": 0,
        "rate": None,
        "rate_exact": None,
    }
    counts = ("students", "eligible", "placed")
    for key in ("by_school", "by_sector"):
        assert {g: {k: f[k] for k in counts} for g, f in stats[key].items()} == report[key]
    hosts = ("offers", "places", "placed")
    by_country = {c: {k: f[k] for k in hosts} for c, f in stats["by_country"].items()}
    assert by_country == report["by_country"]
    for key in ("students", "offers", "places", "placed", "gender_gap", "preference_cost"):
        assert stats[key] == report[key]
    assert (
        stats["unplaced_by_reason"]
        == report["unplaced_by_reason"]
        == {
            "no_acceptable_offer": 2,
            "places_taken": 2,
        }
    )
    # The lowest school rate is over LP-A and LP-B: LP-C has no rate and is left out.
    rates = {school: stats["by_school"][school]["rate"] for school in ("LP-A", "LP-B")}
    assert stats["min_school_rate"] == report["min_school_rate"] == min(rates.values()) > 0
    assert stats["lowest_school"] in rates
    assert stats["by_school"][stats["lowest_school"]]["rate"] == stats["min_school_rate"]
    stages = {stage["name"]: stage for stage in report["stages"]}
    assert stats["min_school_rate_exact"] == stages["school_fairness"]["value_exact"]

    # The XLSX: the same counts, an empty rate cell for LP-C (and X), the rate elsewhere.
    rows = _xlsx_rows(xlsx.content)
    assert rows["school", "LP-C"]["students"] == 2
    assert (rows["school", "LP-C"]["eligible"], rows["school", "LP-C"]["placed"]) == (0, 0)
    assert rows["school", "LP-C"]["rate"] is None
    assert rows["gender", "X"]["rate"] is None
    for school, rate in rates.items():
        assert rows["school", school]["rate"] == round(rate, 4)
    assert rows["all", ""]["eligible"] == sum(f["eligible"] for f in stats["by_gender"].values())

    # The page: "0 / 0" and "–" for each gender of LP-C; the rates of the others.
    html = page.text
    assert _page_row(html, "Lycée Carnot") == ["0 / 0", "–", "0 / 0", "–"]
    arago = _page_row(html, "Lycée Arago")
    for position, gender in enumerate(("F", "M")):
        figures = stats["by_school_and_gender"]["LP-A"][gender]
        assert arago[2 * position] == f"{figures['placed']} / {figures['eligible']}"
        assert abs(_percent_of(arago[2 * position + 1]) - figures["rate"]) < 0.0005


def test_openapi_documents_every_field_of_the_statistics(app: FastAPI) -> None:
    """The statistics route answers the model, and OpenAPI lists each of its fields (the
    computed rates too), a group's rate being a number or null."""
    document = app.openapi()
    answer = document["paths"]["/api/rounds/{round_id}/statistics"]["get"]["responses"]["200"]
    reference = answer["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    assert schemas[reference.rsplit("/", 1)[-1]] is schemas["RoundStatistics"]
    fields = schemas["RoundStatistics"]["properties"]
    assert set(fields) == set(RoundStatistics.model_fields)
    assert all(fields[name].get("description") for name in ("gender_gap", "min_school_rate"))
    group = schemas["GroupFigures"]["properties"]
    assert set(group) == {*GroupFigures.model_fields, *GroupFigures.model_computed_fields}
    assert {"students", "eligible", "placed", "rate", "rate_exact"} <= set(group)
    assert {kind.get("type") for kind in group["rate"]["anyOf"]} == {"number", "null"}
    country = schemas["CountryFigures"]["properties"]
    assert (
        set(country)
        == {"offers", "places", "placed", "filled"}
        == {
            *CountryFigures.model_fields,
            *CountryFigures.model_computed_fields,
        }
    )


def test_a_round_where_nobody_is_eligible_has_no_rate_and_a_lowest_school_rate_of_one() -> None:
    """With no eligible student anywhere, no group has a rate, no school is the lowest, and
    the lowest school rate is 1, the value the school fairness stage reports; the summary
    shows "–" for each rate."""
    students = tuple(
        make_student(f"S{n}", gender=gender, school_id=f"LP-{n}", trade="mv")
        for n, gender in enumerate((Gender.F, Gender.M))
    )
    round_input = RoundInput(students, (make_offer("DE-COM", places=2),))
    result = solve_round(round_input, VOCABULARY, time_limit=10)
    stats = compute_statistics(round_input, result, VOCABULARY)
    assert (stats.eligible, stats.placed, stats.lowest_school) == (0, 0, None)
    assert (stats.min_school_rate, stats.min_school_rate_exact) == (1.0, "1")
    assert (stats.gender_gap, stats.gender_gap_exact) == (0.0, "0")
    groups = [*stats.by_gender.values(), *stats.by_sector.values(), *stats.by_school.values()]
    assert all(g.rate is None and g.rate_exact is None for g in groups)
    report = report_data(result, stats, DEFAULT_POLICY, 0)
    stages = {stage["name"]: stage for stage in report["stages"]}
    assert report["min_school_rate"] == stages["school_fairness"]["value"] == 1
    console = Console(width=200, record=True, file=io.StringIO())
    print_summary(console, stats, result)
    summary = console.export_text()
    assert "lowest school rate 100.0 %" in summary
    assert [line.split("│")[-2].strip() for line in summary.splitlines() if "│ F " in line] == ["–"]
