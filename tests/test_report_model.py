"""A round's report is one typed model: the command line writes it, rounds store it, the
API documents it in OpenAPI (its stages by name), and a report stored by an older version
still loads, on the API and on the round page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.domain import Gender, RoundInput, StageStatus, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.matching.policy import DEFAULT_POLICY
from mobility_match.matching.stages import STAGE_SPECS, Stage
from mobility_match.models import Role, Round, RoundStatus
from mobility_match.report_model import stored_report
from mobility_match.reporting import report_data, report_json
from mobility_match.statistics import compute_statistics
from tests.accounts import signed_in
from tests.factories import make_offer, make_student
from tests.pages import browser, new_signed_in, text_of
from tests.report_keys import CONTRACT_KEYS
from tests.test_translations import messages

ROOT = Path(__file__).resolve().parent.parent

OLD_REPORT: dict[str, Any] = {
    # As a version before `reproducible` (and the server's reproducibility record) stored
    # it, with a key this version does not know.
    "students": 4,
    "offers": 2,
    "places": 3,
    "placed": 3,
    "placed_by_gender": {"F": 2, "M": 1, "X": 0},
    "eligible_by_gender": {"F": 2, "M": 2, "X": 0},
    "gender_gap": 0.5,
    "preference_cost": 1,
    "min_school_rate": 0.75,
    "stages": [
        {"name": "placements", "value": 3, "bound": 3, "status": "OPTIMAL"},
        {"name": "gender_gap", "value": 0.5, "bound": 0.5, "status": "OPTIMAL"},
        {"name": "preferences", "value": 1, "bound": 0, "status": "FEASIBLE", "gap": 1},
        {"name": "school_fairness", "value": 0.75, "bound": 0.75, "status": "OPTIMAL"},
    ],
    "solve_seconds": 0.25,
    "acceptable_pairs": 6,
    "legacy_note": "kept as it is",
}


def test_the_report_reads_back_as_it_was_written() -> None:
    """A fresh report's JSON starts with the contract's keys, and read back as a stored
    report it gives the same JSON: storing a report loses nothing, adds nothing."""
    vocabulary = load_vocabulary()
    students = tuple(
        make_student(f"S{n}", gender=gender, school_id=f"LP-{n % 2}")
        for n, gender in enumerate((Gender.F, Gender.M, Gender.F))
    )
    round_input = RoundInput(students, (make_offer("DE-COM", places=2),))
    result = solve_round(round_input, vocabulary, time_limit=10)
    statistics = compute_statistics(round_input, result, vocabulary)
    data = report_data(result, statistics, DEFAULT_POLICY, 7)
    assert list(data)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert [stage["name"] for stage in data["stages"]] == list(DEFAULT_POLICY.stages)
    assert data["stages"][0]["value"] == data["placed"] == 2
    assert isinstance(data["stages"][0]["value"], int)  # a count stays a whole number
    assert {"inputs_sha256", "software", "time_limit"}.isdisjoint(data)  # the server's keys
    text = report_json(data)
    report = stored_report(json.loads(text))
    assert report is not None
    assert report_json(report.data()) == text
    assert report.stages[1].name is Stage.GENDER_GAP


def test_a_report_stored_by_an_older_version_still_loads() -> None:
    """A key an older report lacks takes its default; a key this version does not know
    (on the report or on a stage) is kept."""
    report = stored_report(OLD_REPORT)
    assert report is not None
    assert report.reproducible is True
    assert (report.seed, report.policy, report.time_limit) == (None, None, None)
    assert report.by_school == {}
    assert [stage.name for stage in report.stages] == list(DEFAULT_POLICY.stages)
    assert report.stages[2].status is StageStatus.FEASIBLE
    assert report.stages[2].method is None
    assert report.data() == OLD_REPORT
    assert stored_report(None) is None


def test_openapi_documents_the_report_and_its_stages(app: FastAPI) -> None:
    """A round's report is described field by field: the contract's keys are required,
    a stage is named by one of the stages and its status is OPTIMAL or FEASIBLE."""
    document = app.openapi()
    answer = document["paths"]["/api/rounds/{round_id}"]["get"]["responses"]["200"]
    schemas = document["components"]["schemas"]
    public = schemas[answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    references = [kind.get("$ref", "") for kind in public["properties"]["report"]["anyOf"]]
    assert "#/components/schemas/RoundReport" in references
    report = schemas["RoundReport"]
    assert set(CONTRACT_KEYS) <= set(report["required"])
    assert report["properties"]["stages"]["items"]["$ref"].endswith("/StageReport")
    stage = schemas["StageReport"]
    assert {"name", "value", "bound", "status"} <= set(stage["required"])
    assert schemas[stage["properties"]["name"]["$ref"].rsplit("/", 1)[-1]]["enum"] == [
        s.value for s in Stage
    ]
    assert schemas[stage["properties"]["status"]["$ref"].rsplit("/", 1)[-1]]["enum"] == [
        "OPTIMAL",
        "FEASIBLE",
    ]


def test_an_old_report_shows_on_the_api_and_on_the_round_page(
    app: FastAPI, client: TestClient, engine: Engine
) -> None:
    """A round solved by an older version answers its report on the API (defaults filled
    in, unknown keys kept) and shows it on its page, each stage's value in its unit."""
    with Session(engine) as session:
        round_ = Round(name="Round of last year", status=RoundStatus.SOLVED, report=OLD_REPORT)
        session.add(round_)
        session.commit()
        round_id = round_.id
    headers = signed_in(engine, "coordinator", Role.COORDINATOR)
    answer = client.get(f"/api/rounds/{round_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    report = answer.json()["report"]
    assert report["stages"][2] == {
        "name": "preferences",
        "value": 1,
        "bound": 0,
        "status": "FEASIBLE",
        "value_exact": None,
        "bound_exact": None,
        "seconds": None,
        "method": None,
        "gap": 1,
    }
    assert (report["reproducible"], report["legacy_note"]) == (True, "kept as it is")
    with browser(app) as page_client:
        new_signed_in(page_client, engine, "coordinator-page", Role.COORDINATOR)
        page = page_client.get(f"/coordinator/rounds/{round_id}")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert "Placements 3 3 optimale (prouvée)" in text
    assert "Équilibre entre filles et garçons 50 points 50 points optimale" in text
    assert "Choix des élèves 1 0 meilleure trouvée, optimalité non prouvée" in text
    assert "Équité entre établissements 75,0 % 75,0 % optimale" in text
    assert "trop chargé" not in text  # reproducible unless the report says otherwise


def test_the_stages_labels_are_messages_to_translate() -> None:
    """The pages translate the stages' labels and summaries through a variable; the
    message check reads them from the specs, so that a missing French one fails it."""
    found = {message.key: message for message in messages.messages()}
    for stage_spec in STAGE_SPECS.values():
        for text in (stage_spec.label, stage_spec.summary):
            assert found[text].area == "rounds"
            assert found[text].file == "src/mobility_match/matching/stages.py"
            assert found[text].line > 0
