"""One published round is current at a time, and a solved round is solved again only when
asked, keeping its result until the new one is saved.

These run on SQLite by default and on PostgreSQL when MOBILITY_MATCH_TEST_DATABASE_URL
is set; the racing publishes really overlap (a barrier releases them together).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.models import AuditEvent, Role, Round, utcnow
from tests.accounts import signed_in
from tests.programme import load_programme, wait_for_round
from tests.test_concurrency import all_at_once
from tests.test_rounds import SLOW_POLICY, assignments, solved_round

DEADLINE = {"response_deadline": (utcnow() + dt.timedelta(days=10)).date().isoformat()}


@pytest.fixture
def coordinator(engine: Engine) -> dict[str, str]:
    return signed_in(engine, "coord@example.org", Role.COORDINATOR)


def _publish(client: TestClient, round_id: int, headers: dict[str, str]) -> Any:
    return client.post(f"/api/rounds/{round_id}/publish", json=DEADLINE, headers=headers)


def _current(client: TestClient, headers: dict[str, str]) -> list[int]:
    """The published rounds no re-run replaced."""
    rounds = client.get("/api/rounds", headers=headers).json()
    return [r["id"] for r in rounds if r["status"] == "published" and not r["superseded_by"]]


def test_a_second_round_is_not_published_while_the_first_is_current(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Publishing another round while one is published and not replaced is a 409 naming
    the current round; the other round stays solved, the first stays the only current."""
    load_programme(engine, students=30)
    first = solved_round(client, coordinator, name="Printemps")["id"]
    assert _publish(client, first, coordinator).status_code == 200
    other = solved_round(client, coordinator, name="Automne")["id"]
    refused = _publish(client, other, coordinator)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"Round {first} « Printemps » is the published round; publish a re-run of it to replace it."
    )
    assert client.get(f"/api/rounds/{other}", headers=coordinator).json()["status"] == "solved"
    assert _current(client, coordinator) == [first]


def test_a_published_rerun_replaces_the_current_round(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A re-run of the current round is published and replaces it: one current round."""
    load_programme(engine, students=30)
    first = solved_round(client, coordinator)["id"]
    assert _publish(client, first, coordinator).status_code == 200
    rerun = client.post(f"/api/rounds/{first}/rerun", json={}, headers=coordinator).json()["id"]
    assert client.post(f"/api/rounds/{rerun}/solve", headers=coordinator).status_code == 202
    assert wait_for_round(client, rerun, coordinator)["status"] == "solved"
    assert _publish(client, rerun, coordinator).status_code == 200
    assert client.get(f"/api/rounds/{first}", headers=coordinator).json()["superseded_by"] == rerun
    assert _current(client, coordinator) == [rerun]


def test_racing_publishes_of_different_rounds_let_exactly_one_through(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Four solved rounds published at the same moment: one is published, three get 409."""
    load_programme(engine, students=30)
    racers = [solved_round(client, coordinator, name=f"R{i}")["id"] for i in range(4)]
    codes = all_at_once(lambda i: _publish(client, racers[i], coordinator), n=len(racers))
    assert Counter(codes) == {200: 1, 409: 3}
    assert len(_current(client, coordinator)) == 1
    with Session(engine) as session:
        published = session.exec(
            select(AuditEvent).where(AuditEvent.action == "round.publish")
        ).all()
    assert len(published) == 1


def test_a_solved_round_is_solved_again_only_when_asked(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Solve on a solved round is a 409 saying how to ask; with {"again": true} it solves
    again; a draft needs no flag."""
    load_programme(engine, students=30)
    done = solved_round(client, coordinator)
    round_id = done["id"]
    refused = client.post(f"/api/rounds/{round_id}/solve", headers=coordinator)
    assert refused.status_code == 409
    assert '{"again": true}' in refused.json()["detail"]
    with Session(engine) as session:
        assert session.get_one(Round, round_id).version == done["version"]
    again = client.post(f"/api/rounds/{round_id}/solve", json={"again": True}, headers=coordinator)
    assert again.status_code == 202, again.text
    after = wait_for_round(client, round_id, coordinator)
    assert after["status"] == "solved"
    assert after["solved_at"] > done["solved_at"]


def test_a_cancelled_solve_again_leaves_the_previous_result(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """While a solved round is solved again its assignments and report stay as they were,
    and cancelling leaves the round solved with that same result."""
    load_programme(engine, students=400)
    round_id = solved_round(client, coordinator, policy=SLOW_POLICY, time_limit=2)["id"]
    before = client.get(f"/api/rounds/{round_id}", headers=coordinator).json()
    rows = assignments(client, round_id, coordinator)
    with Session(engine) as session:  # the new solve runs until it is cancelled
        round_ = session.get_one(Round, round_id)
        round_.time_limit = 120
        session.add(round_)
        session.commit()
    started = client.post(
        f"/api/rounds/{round_id}/solve", json={"again": True}, headers=coordinator
    )
    assert started.status_code == 202
    deadline = time.monotonic() + 20
    while True:
        body = client.get(f"/api/rounds/{round_id}", headers=coordinator).json()
        if body["progress"] and body["progress"]["stage"] == "school_fairness":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    assert body["status"] == "running"
    assert body["report"] == before["report"]
    assert assignments(client, round_id, coordinator) == rows
    cancelled = client.post(f"/api/rounds/{round_id}/cancel", headers=coordinator)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "solved"
    time.sleep(1.5)  # the worker notices within a heartbeat and must not write a result
    after = client.get(f"/api/rounds/{round_id}", headers=coordinator).json()
    assert after["status"] == "solved"
    assert (after["report"], after["solved_at"]) == (before["report"], before["solved_at"])
    assert assignments(client, round_id, coordinator) == rows
