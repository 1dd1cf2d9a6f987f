"""The reads many people make at once: statistics kept in memory yet never stale, reads
that neither wait for a writer nor make one wait, assignments page by page, and the
service answering from several processes."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.db import read_only
from mobility_match.domain import load_vocabulary
from mobility_match.models import Account, Role, Round, School
from mobility_match.services import review
from mobility_match.statistics import RoundStatistics, compute_statistics
from tests.accounts import add_account, session_headers, signed_in
from tests.programme import load_programme, wait_for_round
from tests.published import publish_small_round


@pytest.fixture
def coordinator(engine: Engine) -> dict[str, str]:
    return signed_in(engine, "coord@example.org", Role.COORDINATOR)


def _solve(client: TestClient, headers: dict[str, str], round_id: int, **body: Any) -> None:
    started = client.post(f"/api/rounds/{round_id}/solve", json=body or None, headers=headers)
    assert started.status_code == 202, started.text
    assert wait_for_round(client, round_id, headers)["status"] == "solved"


def _from_scratch(engine: Engine, round_id: int) -> RoundStatistics:
    """The round's figures computed anew from the database, with no memory of earlier calls."""
    with Session(engine) as session:
        data, result = review.current_result(session, session.get_one(Round, round_id))
        return compute_statistics(data, result, load_vocabulary())


def _kept(engine: Engine, round_id: int) -> RoundStatistics:
    """The figures the review shows (kept in memory between calls)."""
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "coord@example.org")).one()
        return review.statistics(session, Viewer.of(account), round_id)


def test_statistics_follow_every_change_of_the_result(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Right after a move out, a move back, a lock, a new solve and a decline, the
    statistics are those computed from scratch: figures kept from before never show."""
    load_programme(engine)
    created = client.post("/api/rounds", json={"name": "Spring"}, headers=coordinator)
    round_id = created.json()["id"]
    _solve(client, coordinator, round_id)
    path = f"/api/rounds/{round_id}"

    def figures() -> dict[str, Any]:
        answer = client.get(f"{path}/statistics", headers=coordinator)
        assert answer.status_code == 200, answer.text
        assert _kept(engine, round_id) == _from_scratch(engine, round_id)
        body: dict[str, Any] = answer.json()
        return body

    before = figures()
    rows = client.get(f"{path}/assignments", headers=coordinator).json()
    placed = next(row for row in rows if row["offer_id"])
    student = f"{path}/assignments/{placed['student_id']}"

    moved = client.post(f"{student}/move", json={"offer_id": None}, headers=coordinator)
    assert moved.status_code == 200, moved.text
    out = figures()
    assert out["placed"] == before["placed"] - 1
    assert out["unplaced_by_reason"].get("locked_unplaced", 0) == 1
    country = placed["country"]
    assert out["by_country"][country]["placed"] == before["by_country"][country]["placed"] - 1

    back = client.post(
        f"{student}/move", json={"offer_id": placed["offer_id"]}, headers=coordinator
    )
    assert back.status_code == 200, back.text
    assert figures()["placed"] == before["placed"]

    unlocked = client.delete(f"{student}/lock", headers=coordinator)
    assert unlocked.status_code == 200, unlocked.text
    other = next(row for row in rows if row["offer_id"] is None)
    locked = client.post(f"{path}/assignments/{other['student_id']}/lock", headers=coordinator)
    assert locked.status_code == 200, locked.text
    figures()

    _solve(client, coordinator, round_id, again=True)
    figures()

    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    published = client.post(
        f"{path}/publish", json={"response_deadline": deadline}, headers=coordinator
    )
    assert published.status_code == 200, published.text
    rows = client.get(f"{path}/assignments", headers=coordinator).json()
    pupil = next(row for row in rows if row["offer_id"])["student_id"]
    own = session_headers(
        engine, add_account(engine, pupil, Role.STUDENT, student_id=pupil, password=None)
    )
    declined = client.post(
        f"{path}/assignments/{pupil}/response", json={"decision": "decline"}, headers=own
    )
    assert declined.status_code == 200, declined.text
    figures()


def test_reads_neither_wait_for_a_writer_nor_block_one(engine: Engine, client: TestClient) -> None:
    """On SQLite, while another request holds the write lock, the rounds, statistics,
    assignments and checklists still answer at once."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL readers never wait for writers")
    published = publish_small_round(engine, client)
    round_id = published.round_id
    reads = [
        ("/api/rounds", published.coordinator),
        (f"/api/rounds/{round_id}/statistics", published.coordinator),
        (f"/api/rounds/{round_id}/assignments?limit=2", published.teacher_a),
        (f"/api/rounds/{round_id}/placements/S-MINOR/checklist", published.teacher_a),
        ("/api/me/checklist", published.minor),
    ]
    answers: list[int] = []

    def read_all() -> None:
        answers.extend(client.get(path, headers=headers).status_code for path, headers in reads)

    reader = threading.Thread(target=read_all)
    writer = engine.raw_connection()
    try:
        writer.cursor().execute("BEGIN IMMEDIATE")  # a long write elsewhere
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive(), "the reads waited for the writer"
    finally:
        writer.rollback()
        writer.close()
        reader.join()
    assert answers == [200] * len(reads)


def test_a_read_only_transaction_cannot_write(engine: Engine) -> None:
    """A write slipped into a read-only session fails loudly instead of racing others."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the guard is SQLite's query_only")
    with Session(read_only(engine)) as session:
        session.add(School(school_id="LP-READ", name="Lycée de lecture"))
        with pytest.raises(OperationalError, match="readonly"):
            session.commit()
    with Session(engine) as session:
        assert session.get(School, "LP-READ") is None


def test_assignments_come_page_by_page_within_the_viewers_scope(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """`limit` and `offset` page through the same list, in the same order, for each viewer;
    a bad limit is refused naming it."""
    load_programme(engine)
    round_id = client.post("/api/rounds", json={"name": "Spring"}, headers=coordinator).json()["id"]
    _solve(client, coordinator, round_id)
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    ).raise_for_status()  # teachers see published rounds only
    path = f"/api/rounds/{round_id}/assignments"
    everything = client.get(path, headers=coordinator).json()
    school = everything[0]["school_id"]
    teacher = signed_in(engine, "teacher@example.org", Role.TEACHER, school_id=school)
    for headers, expected in (
        (coordinator, everything),
        (teacher, [row for row in everything if row["school_id"] == school]),
    ):
        answers = [
            client.get(f"{path}?limit=7&offset={offset}", headers=headers)
            for offset in range(0, len(expected) + 7, 7)
        ]
        assert {answer.status_code for answer in answers} == {200}
        pages = [answer.json() for answer in answers]
        assert all(len(page) <= 7 for page in pages)
        assert [row for page in pages for row in page] == expected
    refused = client.get(f"{path}?limit=0", headers=coordinator)
    assert refused.status_code == 422
    assert "query.limit" in refused.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_from_several_worker_processes(tmp_path: Path) -> None:
    """`serve --workers 2` answers on its port from two processes, each keeping invitation
    tokens out of its access log."""
    port = _free_port()
    log = tmp_path / "serve.log"
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"}
    environment.pop("MOBILITY_MATCH_PUBLIC_URL", None)
    command = [sys.executable, "-m", "mobility_match", "serve", "--port", str(port)]
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [*command, "--workers", "2"], env=environment, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while "Started server process" not in log.read_text() or (
            log.read_text().count("Application startup complete") < 2
        ):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as signed_out:
            urllib.request.urlopen(f"{base}/api/rounds", timeout=10)
        assert signed_out.value.code == 401
        for _ in range(4):
            request = urllib.request.Request(f"{base}/invite/secret-link-token", method="POST")
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    printed = log.read_text()
    assert printed.count("Started server process") == 2
    assert "POST /invite/…" in printed
    assert "secret-link-token" not in printed
