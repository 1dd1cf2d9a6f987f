"""The price of fairness: a round beside the same round without one balance goal."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mobility_match.domain import Gender, RoundInput
from mobility_match.matching.policy import DEFAULT_POLICY, parse_policy
from mobility_match.models import Role
from mobility_match.services.fairness_price import compare, without
from tests.accounts import add_account, session_headers
from tests.factories import make_offer, make_student
from tests.pages import browser, sign_in_as
from tests.programme import load_programme, wait_for_round


def _gender_binds() -> RoundInput:
    """Two places for two girls who want them first and two boys who take them second:
    balance places a girl and a boy, the students' choices alone two girls."""
    girls = [make_student(f"F{i}", preferences=("DE-1",)) for i in (1, 2)]
    boys = [
        make_student(f"M{i}", first_name="Hugo", gender=Gender.M, preferences=("UK", "*"))
        for i in (1, 2)
    ]
    return RoundInput((*girls, *boys), (make_offer("DE-1", places=2),))


def test_without_gender_balance_the_gap_grows() -> None:
    """Where the gender stage binds, the round without it places at least as many students,
    with a larger (or equal) gap and a lower preference cost."""
    data = _gender_binds()

    variants = {v["name"]: v for v in compare(data, DEFAULT_POLICY, time_limit=10, seed=0)}

    balanced, free = variants["round"], variants["without_gender_gap"]
    assert free["placed"] >= balanced["placed"] == 2
    assert free["gender_gap"] >= balanced["gender_gap"]
    assert (balanced["gender_gap"], free["gender_gap"]) == (0.0, 1.0)  # it binds here
    assert (balanced["preference_cost"], free["preference_cost"]) == (1, 0)
    assert free["stages"] == ["placements", "preferences", "school_fairness"]
    # One school: fairness between schools changes nothing.
    fair = variants["without_school_fairness"]
    assert (fair["placed"], fair["gender_gap"]) == (2, 0.0)
    assert all(v["proven"] for v in variants.values())


def test_a_policy_without_the_stage_is_its_own_comparison() -> None:
    """A stage the policy lacks is not solved again: that column says so and repeats the round."""
    policy = parse_policy('stages = ["placements", "preferences"]')
    assert without(policy, "gender_gap") is None
    assert without(parse_policy('stages = ["gender_gap"]'), "gender_gap") is None
    reduced = without(
        parse_policy("[tolerance]\nplacements = 0.1\ngender_gap = 0.02"), "gender_gap"
    )
    assert reduced is not None
    assert "gender_gap" not in reduced.tolerance

    variants = compare(_gender_binds(), policy, time_limit=10, seed=0)

    assert [v["name"] for v in variants] == [
        "round",
        "without_gender_gap",
        "without_school_fairness",
    ]
    assert [v["in_policy"] for v in variants] == [True, False, False]
    assert variants[1]["gender_gap"] == variants[0]["gender_gap"] == 1.0


def _until_done(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(url, headers=headers).json()
        if body["status"] != "running":
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_asked_on_a_solved_round(engine: Engine, client: TestClient, app: FastAPI) -> None:
    """A coordinator asks for it; it is computed in the background, then the API and the
    round's page show the three columns; a round without a result is refused."""
    load_programme(engine, students=30)
    coordinator = add_account(engine, "coord@example.org", Role.COORDINATOR, password=None)
    headers = session_headers(engine, coordinator)
    round_id = client.post("/api/rounds", json={"name": "Printemps"}, headers=headers).json()["id"]
    url = f"/api/rounds/{round_id}/fairness-price"
    assert client.post(url, headers=headers).status_code == 409  # not solved yet
    assert client.get(url, headers=headers).json()["status"] == "none"
    client.post(f"/api/rounds/{round_id}/solve", headers=headers).raise_for_status()
    report = wait_for_round(client, round_id, headers)["report"]

    asked = client.post(url, headers=headers)

    assert asked.status_code == 202, asked.text
    price = _until_done(client, url, headers)
    assert price["status"] == "done", price
    assert price["current"] is True
    own, no_gap, no_fairness = price["variants"]
    assert (own["placed"], own["gender_gap"]) == (report["placed"], report["gender_gap"])
    assert no_gap["placed"] >= own["placed"]
    assert no_gap["gender_gap"] >= own["gender_gap"]
    assert no_fairness["min_school_rate"] <= own["min_school_rate"]
    with browser(app) as pages:
        sign_in_as(pages, engine, coordinator)
        page = pages.get(f"/coordinator/rounds/{round_id}").text
    assert 'id="fairness-price"' in page
