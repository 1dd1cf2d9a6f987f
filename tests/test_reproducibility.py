"""A round's reproducibility record: the SHA-256 of its inputs, its seed, the software."""

from __future__ import annotations

import dataclasses
import io
import platform

import openpyxl
import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match import exports
from mobility_match.domain import Lock, RoundInput
from mobility_match.matching.policy import DEFAULT_POLICY, parse_policy
from mobility_match.models import Role, Round
from mobility_match.services.reproducibility import inputs_sha256, round_about
from tests.accounts import add_account, session_headers
from tests.factories import make_offer, make_student
from tests.pages import browser, sign_in_as
from tests.programme import load_programme, wait_for_round


def _round_input() -> RoundInput:
    students = (make_student("S1"), make_student("S2", first_name="Hugo", preferences=("DE",)))
    offers = (make_offer("DE-1"), make_offer("DE-2", trades=frozenset({"commerce", "accueil"})))
    return RoundInput(students, offers, (Lock("S1", "DE-1"),))


def test_the_hash_names_the_inputs() -> None:
    """The same inputs give the same hash; a changed student, lock or policy another."""
    data = _round_input()
    same = _round_input()
    assert inputs_sha256(data, DEFAULT_POLICY) == inputs_sha256(same, DEFAULT_POLICY)
    assert len(inputs_sha256(data, DEFAULT_POLICY)) == 64
    moved = dataclasses.replace(data.students[1], available_to=data.students[1].available_from)
    changed_student = dataclasses.replace(data, students=(data.students[0], moved))
    unlocked = dataclasses.replace(data, locks=())
    other_policy = parse_policy('stages = ["placements", "preferences"]')
    hashes = {
        inputs_sha256(data, DEFAULT_POLICY),
        inputs_sha256(changed_student, DEFAULT_POLICY),
        inputs_sha256(unlocked, DEFAULT_POLICY),
        inputs_sha256(data, other_policy),
    }
    assert len(hashes) == 4


def test_a_solved_round_records_its_inputs_and_software(
    engine: Engine, client: TestClient, app: FastAPI
) -> None:
    """Two solves of the same round record the same hash, in the round, its report, its
    page and its export's "about" sheet, with the seed and the versions."""
    load_programme(engine, students=30)
    coordinator = add_account(engine, "coord@example.org", Role.COORDINATOR, password=None)
    headers = session_headers(engine, coordinator)
    round_id = client.post(
        "/api/rounds", json={"name": "Printemps", "seed": 7}, headers=headers
    ).json()["id"]
    client.post(f"/api/rounds/{round_id}/solve", headers=headers).raise_for_status()
    first = wait_for_round(client, round_id, headers)["report"]
    again = client.post(f"/api/rounds/{round_id}/solve", json={"again": True}, headers=headers)
    assert again.status_code == 202, again.text
    second = wait_for_round(client, round_id, headers)["report"]

    assert first["inputs_sha256"] == second["inputs_sha256"]
    assert len(first["inputs_sha256"]) == 64
    assert first["software"]["python"] == platform.python_version()
    assert {"mobility_match", "ortools", "python"} <= set(first["software"])
    assert first["seed"] == 7
    with Session(engine) as session:
        round_ = session.get_one(Round, round_id)
        assert round_.inputs_sha256 == first["inputs_sha256"]
        assert round_.software == first["software"]
        about = round_about(round_)
    frame = pd.DataFrame({"student_id": ["S1"]}, dtype="str")
    workbook = openpyxl.load_workbook(
        io.BytesIO(exports.to_xlsx_bytes(frame, "assignments", about))
    )
    assert workbook.sheetnames == ["assignments", "about"]
    sheet = {row[0]: row[1] for row in workbook["about"].iter_rows(min_row=2, values_only=True)}
    assert sheet["inputs_sha256"] == first["inputs_sha256"]
    assert sheet["seed"] == "7"
    assert sheet["version_ortools"] == first["software"]["ortools"]

    with browser(app) as pages:
        sign_in_as(pages, engine, coordinator)
        page = pages.get(f"/coordinator/rounds/{round_id}")
    assert page.status_code == 200
    assert first["inputs_sha256"] in page.text
    assert f"ortools {first['software']['ortools']}" in page.text
