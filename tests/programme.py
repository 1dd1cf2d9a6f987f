"""Test helpers: a small programme (sample offers, a fictitious cohort) and round polling."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.domain import Offer, load_vocabulary
from mobility_match.importing import read_offers
from mobility_match.services.demo import DemoLoad, load_demo

COMPANIES = Path(__file__).resolve().parent.parent / "data" / "companies"


def sample_offers() -> list[Offer]:
    offers, problems = read_offers(sorted(COMPANIES.glob("*.csv")), load_vocabulary())
    assert not problems
    return offers


def load_programme(engine: Engine, students: int = 60, seed: int = 3) -> DemoLoad:
    """The sample offers and a cohort of fictitious students, in the test database."""
    with Session(engine) as session:
        return load_demo(session, sample_offers(), students, seed)


def wait_for_round(
    client: TestClient, round_id: int, headers: dict[str, str], timeout: float = 60.0
) -> dict[str, Any]:
    """Poll the round until its solve ends; return it."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/rounds/{round_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "running":
            return body
        assert time.monotonic() < deadline, f"round {round_id} still running: {body}"
        time.sleep(0.05)
