"""Matching rounds through the API: snapshot, background solve, review, publication, re-run."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine, migrate
from mobility_match.models import (
    Account,
    Assignment,
    AuditEvent,
    Offer,
    OfferStatus,
    Response,
    Role,
    Round,
    RoundStatus,
    School,
    SchoolKind,
    Student,
    utcnow,
)
from mobility_match.services.answers import on_offer_withdrawn
from mobility_match.services.reference import ensure_partners
from mobility_match.services.rounds import create_round
from mobility_match.services.snapshots import round_input
from tests.accounts import add_account, session_headers, signed_in
from tests.programme import load_programme, wait_for_round

SLOW_POLICY = 'stages = ["school_fairness", "placements"]'
"""On a few hundred students this policy keeps CP-SAT busy until the time limit."""


@pytest.fixture
def coordinator(engine: Engine) -> dict[str, str]:
    return signed_in(engine, "coord@example.org", Role.COORDINATOR)


def solved_round(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    created = client.post("/api/rounds", json={"name": "Spring", **body}, headers=headers)
    assert created.status_code == 201, created.text
    round_id = created.json()["id"]
    started = client.post(f"/api/rounds/{round_id}/solve", headers=headers)
    assert started.status_code == 202, started.text
    done = wait_for_round(client, round_id, headers)
    assert done["status"] == "solved", done
    return done


def solving(
    client: TestClient, round_id: int, headers: dict[str, str], stage: str | None = None
) -> dict[str, Any]:
    """Start the round's solve and wait until it reports progress (in `stage`, if given)."""
    assert client.post(f"/api/rounds/{round_id}/solve", headers=headers).status_code == 202
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = client.get(f"/api/rounds/{round_id}", headers=headers).json()
        if body["progress"] and stage in (None, body["progress"]["stage"]):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def assignments(client: TestClient, round_id: int, headers: dict[str, str]) -> list[Any]:
    response = client.get(f"/api/rounds/{round_id}/assignments", headers=headers)
    assert response.status_code == 200, response.text
    rows: list[Any] = response.json()
    return rows


def test_a_round_is_solved_in_the_background_on_pilot_students(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """It solves the snapshot of pilot schools' students and reports every stage."""
    load_programme(engine)
    done = solved_round(client, coordinator)
    with Session(engine) as session:
        pilots = session.exec(
            select(Student)
            .join(School, col(School.school_id) == col(Student.school_id))
            .where(School.kind == SchoolKind.PILOT)
        ).all()
        controls = session.exec(select(School).where(School.kind == SchoolKind.CONTROL)).all()
    assert controls, "the demo programme has control schools"
    rows = assignments(client, done["id"], coordinator)
    assert sorted(r["student_id"] for r in rows) == sorted(s.student_id for s in pilots)
    report = done["report"]
    assert report["placed"] == sum(1 for r in rows if r["offer_id"])
    assert [s["name"] for s in report["stages"]] == [
        "placements",
        "gender_gap",
        "preferences",
        "school_fairness",
    ]
    assert all(r["reason_code"] for r in rows if not r["offer_id"])
    statistics = client.get(f"/api/rounds/{done['id']}/statistics", headers=coordinator).json()
    assert statistics["placed"] == report["placed"]
    assert set(statistics["by_gender"]) == {"F", "M", "X"}
    assert sum(g["placed"] for g in statistics["by_school"].values()) == report["placed"]
    by_country = statistics["by_country_and_gender"]
    assert sum(g["placed"] for c in by_country.values() for g in c.values()) == report["placed"]
    by_sector = statistics["by_sector_and_gender"]
    for sector, genders in by_sector.items():
        assert (
            sum(g["placed"] for g in genders.values()) == statistics["by_sector"][sector]["placed"]
        )


def test_progress_can_be_polled_and_a_solve_cancelled(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A running round shows its stage; cancelling stops it and brings it back to draft."""
    load_programme(engine, students=400)
    created = client.post(
        "/api/rounds",
        json={"name": "Slow", "policy": SLOW_POLICY, "time_limit": 120},
        headers=coordinator,
    ).json()
    round_id = created["id"]
    body = solving(client, round_id, coordinator, stage="school_fairness")
    assert body["status"] == "running"
    again = client.post(f"/api/rounds/{round_id}/solve", headers=coordinator)
    assert again.status_code == 409
    cancelled = client.post(f"/api/rounds/{round_id}/cancel", headers=coordinator)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "draft"
    time.sleep(1.5)  # the worker notices within a heartbeat and must not write a result
    body = client.get(f"/api/rounds/{round_id}", headers=coordinator).json()
    assert body["status"] == "draft"
    with Session(engine) as session:
        assert not session.exec(select(Assignment).where(Assignment.round_id == round_id)).all()


def test_a_round_left_running_by_a_dead_process_recovers(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A round whose solve lease expired is given back, and can be solved again."""
    load_programme(engine)
    round_id = client.post("/api/rounds", json={"name": "R"}, headers=coordinator).json()["id"]
    with Session(engine) as session:
        round_ = session.get_one(Round, round_id)
        round_.status = RoundStatus.RUNNING
        round_.solve_attempt = "a process that died"
        round_.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
        session.add(round_)
        session.commit()
    body = client.get(f"/api/rounds/{round_id}", headers=coordinator).json()
    assert body["status"] == "draft"
    assert "interrupted" in body["error"]
    assert client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).status_code == 202
    assert wait_for_round(client, round_id, coordinator)["status"] == "solved"


def test_a_live_solve_whose_lease_ran_out_is_not_given_back(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A heartbeat starved under load lets the lease run out; the solve is still alive in
    this process, so reading the round does not give it back, and its result is kept."""
    load_programme(engine, students=400)
    created = client.post(
        "/api/rounds",
        json={"name": "Loaded", "policy": SLOW_POLICY, "time_limit": 4},
        headers=coordinator,
    ).json()
    round_id = created["id"]
    solving(client, round_id, coordinator)
    with Session(engine) as session:  # what a starved heartbeat leaves behind
        round_ = session.get_one(Round, round_id)
        round_.lease_expires_at = utcnow() - dt.timedelta(seconds=5)
        session.add(round_)
        session.commit()
    body = client.get(f"/api/rounds/{round_id}", headers=coordinator).json()
    assert body["status"] == "running", body["error"]
    assert wait_for_round(client, round_id, coordinator)["status"] == "solved"


def test_later_offer_edits_do_not_change_a_round(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A round keeps the offers of its snapshot, even when they change afterwards."""
    load_programme(engine)
    round_id = client.post("/api/rounds", json={"name": "R"}, headers=coordinator).json()["id"]
    with Session(engine) as session:
        for offer in session.exec(select(Offer)):
            offer.places = 1
            session.add(offer)
        session.commit()
    client.post(f"/api/rounds/{round_id}/solve", headers=coordinator)
    done = wait_for_round(client, round_id, coordinator)
    assert done["report"]["places"] == 222  # the sample offers' places, not 162 × 1


def test_a_move_is_checked_against_every_hard_rule_and_the_places(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Moving a student onto an offer of another trade, or a full one, is refused with why."""
    load_programme(engine)
    done = solved_round(client, coordinator)
    round_id = done["id"]
    rows = assignments(client, round_id, coordinator)
    placed = [r for r in rows if r["offer_id"]]
    student = placed[0]
    with Session(engine) as session:
        trade = session.get_one(Student, student["student_id"]).trade
        other_trade = next(
            o for o in session.exec(select(Offer)) if o.trades and trade not in o.trades
        )
    refused = client.post(
        f"/api/rounds/{round_id}/assignments/{student['student_id']}/move",
        json={"offer_id": other_trade.offer_id},
        headers=coordinator,
    )
    assert refused.status_code == 422
    assert any("trade" in problem for problem in refused.json()["problems"])
    unknown = client.post(
        f"/api/rounds/{round_id}/assignments/{student['student_id']}/move",
        json={"offer_id": "NO-SUCH-OFFER"},
        headers=coordinator,
    )
    assert unknown.status_code == 422
    # Unplacing is always possible; the student is then locked unplaced.
    moved = client.post(
        f"/api/rounds/{round_id}/assignments/{student['student_id']}/move",
        json={"offer_id": None},
        headers=coordinator,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["locked"] is True
    assert moved.json()["reason_code"] == "locked_unplaced"
    statistics = client.get(f"/api/rounds/{round_id}/statistics", headers=coordinator).json()
    assert statistics["placed"] == done["report"]["placed"] - 1
    # Back to the offer: it has a free place again.
    back = client.post(
        f"/api/rounds/{round_id}/assignments/{student['student_id']}/move",
        json={"offer_id": student["offer_id"]},
        headers=coordinator,
    )
    assert back.status_code == 200, back.text


def test_a_move_onto_a_full_offer_is_refused(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A full offer refuses one more student and names who holds its places."""
    load_programme(engine)
    round_id = solved_round(client, coordinator)["id"]
    rows = assignments(client, round_id, coordinator)
    with Session(engine) as session:
        places = {o.offer_id: o.places for o in session.exec(select(Offer))}
    by_offer: dict[str, list[str]] = {}
    for row in rows:
        if row["offer_id"]:
            by_offer.setdefault(row["offer_id"], []).append(row["student_id"])
    full = next(offer for offer, taken in by_offer.items() if len(taken) == places[offer])
    other = next(r for r in rows if r["offer_id"] != full)
    refused = client.post(
        f"/api/rounds/{round_id}/assignments/{other['student_id']}/move",
        json={"offer_id": full},
        headers=coordinator,
    )
    assert refused.status_code == 422
    assert any("is full" in p and by_offer[full][0] in p for p in refused.json()["problems"])


def test_locks_survive_a_new_solve(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A locked placement stays where it is when the round is solved again; unlock frees it."""
    load_programme(engine)
    round_id = solved_round(client, coordinator)["id"]
    rows = assignments(client, round_id, coordinator)
    unplaced = next(r for r in rows if r["offer_id"])
    path = f"/api/rounds/{round_id}/assignments/{unplaced['student_id']}"
    assert client.post(f"{path}/move", json={"offer_id": None}, headers=coordinator).is_success
    solve_again = {"json": {"again": True}, "headers": coordinator}
    assert client.post(f"/api/rounds/{round_id}/solve", **solve_again).status_code == 202
    wait_for_round(client, round_id, coordinator)
    again = client.get(path, headers=coordinator).json()
    assert again["offer_id"] is None
    assert again["reason_code"] == "locked_unplaced"
    assert client.delete(f"{path}/lock", headers=coordinator).json()["locked"] is False
    assert client.post(f"/api/rounds/{round_id}/solve", **solve_again).status_code == 202
    wait_for_round(client, round_id, coordinator)
    assert client.get(path, headers=coordinator).json()["offer_id"] is not None


def test_students_answer_published_placements_before_the_deadline(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Only after publication does a student see the placement; answers stop at the deadline."""
    load_programme(engine)
    round_id = solved_round(client, coordinator)["id"]
    rows = assignments(client, round_id, coordinator)
    first, second = [r for r in rows if r["offer_id"]][:2]
    student = session_headers(
        engine,
        add_account(engine, first["student_id"], Role.STUDENT, student_id=first["student_id"]),
    )
    assert client.get("/api/me/placements", headers=student).json() == []
    assert client.get(f"/api/rounds/{round_id}", headers=student).status_code == 404
    deadline = (utcnow() + dt.timedelta(days=10)).date().isoformat()
    published = client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    )
    assert published.status_code == 200, published.text
    mine = client.get("/api/me/placements", headers=student).json()
    assert [m["assignment"]["offer_id"] for m in mine] == [first["offer_id"]]
    assert mine[0]["assignment"]["response"] == "pending"
    own = f"/api/rounds/{round_id}/assignments/{first['student_id']}/response"
    other = f"/api/rounds/{round_id}/assignments/{second['student_id']}/response"
    assert client.post(other, json={"decision": "confirm"}, headers=student).status_code == 404
    confirmed = client.post(own, json={"decision": "confirm"}, headers=student)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["response"] == "confirmed"
    with Session(engine) as session:
        round_ = session.get_one(Round, round_id)
        round_.response_deadline = utcnow().date() - dt.timedelta(days=1)
        session.add(round_)
        session.commit()
    late = client.post(own, json={"decision": "decline"}, headers=student)
    assert late.status_code == 422
    assert "deadline" in late.json()["problems"][0]
    # A published round is frozen: no more moves, no new solve.
    move = client.post(
        f"/api/rounds/{round_id}/assignments/{second['student_id']}/move",
        json={"offer_id": None},
        headers=coordinator,
    )
    assert move.status_code == 409
    assert client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).status_code == 409


def test_a_rerun_after_a_withdrawal_changes_as_few_placements_as_possible(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Only the students of the withdrawn offer move; confirmed and declined answers hold."""
    load_programme(engine, students=120)
    first = solved_round(client, coordinator)
    round_id = first["id"]
    deadline = (utcnow() + dt.timedelta(days=10)).date().isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    )
    rows = assignments(client, round_id, coordinator)
    placed = [r for r in rows if r["offer_id"]]
    withdrawn = placed[0]["offer_id"]
    hit = sorted(r["student_id"] for r in placed if r["offer_id"] == withdrawn)
    decliner = next(r for r in placed if r["offer_id"] != withdrawn)
    with Session(engine) as session:
        row = session.exec(
            select(Assignment).where(
                Assignment.round_id == round_id, Assignment.student_id == decliner["student_id"]
            )
        ).one()
        row.response = "declined"  # type: ignore[assignment]
        session.add(row)
        offer = session.get_one(Offer, withdrawn)
        offer.status = OfferStatus.WITHDRAWN
        session.add(offer)
        assert on_offer_withdrawn(session, None, withdrawn) == len(hit)  # type: ignore[arg-type]
        session.commit()
    second = client.post(f"/api/rounds/{round_id}/rerun", json={}, headers=coordinator).json()
    assert second["previous_round_id"] == round_id
    client.post(f"/api/rounds/{second['id']}/solve", headers=coordinator)
    done = wait_for_round(client, second["id"], coordinator)
    assert done["status"] == "solved", done
    stages = {s["name"]: s for s in done["report"]["stages"]}
    assert [s["name"] for s in done["report"]["stages"]][:2] == ["placements", "changes"]
    changes = client.get(f"/api/rounds/{round_id}/diff/{second['id']}", headers=coordinator).json()
    changed = {c["student_id"] for c in changes}
    assert set(hit) | {decliner["student_id"]} <= changed
    assert stages["changes"]["value"] == len(changes)
    assert stages["changes"]["status"] == "OPTIMAL"
    after = {r["student_id"]: r for r in assignments(client, second["id"], coordinator)}
    assert after[decliner["student_id"]]["offer_id"] is None
    assert all(after[s]["offer_id"] != withdrawn for s in hit)


def test_exports_are_safe_to_open_in_a_spreadsheet(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Assignments and statistics download as CSV and XLSX; a formula in a name stays text."""
    load_programme(engine)
    with Session(engine) as session:
        student = session.exec(
            select(Student)
            .join(School, col(School.school_id) == col(Student.school_id))
            .where(School.kind == SchoolKind.PILOT)
        ).first()
        assert student is not None
        student.last_name = '=HYPERLINK("http://example.org","x")'
        session.add(student)
        session.commit()
    round_id = solved_round(client, coordinator)["id"]
    csv = client.get(f"/api/rounds/{round_id}/export/assignments.csv", headers=coordinator)
    assert csv.status_code == 200
    assert csv.headers["content-disposition"].endswith('.csv"')
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("student_id,offer_id")
    assert "'=HYPERLINK" in text
    xlsx = client.get(f"/api/rounds/{round_id}/export/statistics.xlsx", headers=coordinator)
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [cell.value for cell in sheet[1]][:5] == ["group", "key", "eligible", "placed", "rate"]


def test_every_round_change_is_in_the_audit_log(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Creating, solving, moving and publishing each leave an event naming who did it."""
    load_programme(engine)
    round_id = solved_round(client, coordinator)["id"]
    student_id = assignments(client, round_id, coordinator)[0]["student_id"]
    client.post(
        f"/api/rounds/{round_id}/assignments/{student_id}/move",
        json={"offer_id": None},
        headers=coordinator,
    )
    deadline = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    )
    events = client.get("/api/audit", headers=coordinator).json()
    actions = [(e["action"], e["actor"]) for e in reversed(events)]
    for action in ("round.create", "round.solve", "assignment.move", "round.publish"):
        assert (action, "coord@example.org") in actions
    assert ("round.solved", "system") in actions
    with Session(engine) as session:
        assert session.exec(select(AuditEvent)).all()


def test_a_solve_waiting_for_a_worker_keeps_its_round(engine: Engine, settings: Settings) -> None:
    """With every worker busy, a third solve waits, its lease renewed; cancelling frees all."""
    load_programme(engine, students=400)
    quick_lease = settings.model_copy(update={"lease_seconds": 1.5})
    with TestClient(create_app(quick_lease, engine)) as client:
        headers = signed_in(engine, "coord@example.org", Role.COORDINATOR)
        ids = []
        for name in ("one", "two", "three"):
            body = {"name": name, "policy": SLOW_POLICY, "time_limit": 120}
            ids.append(client.post("/api/rounds", json=body, headers=headers).json()["id"])
        for round_id in ids:
            assert client.post(f"/api/rounds/{round_id}/solve", headers=headers).status_code == 202
        time.sleep(3 * quick_lease.lease_seconds)
        for round_id in ids:
            body = client.get(f"/api/rounds/{round_id}", headers=headers).json()
            assert body["status"] == "running", body
        for round_id in ids:
            cancelled = client.post(f"/api/rounds/{round_id}/cancel", headers=headers)
            assert cancelled.json()["status"] == "draft"


def test_round_inputs_of_two_databases_never_mix(engine: Engine, tmp_path: Path) -> None:
    """Snapshots kept in memory are told apart by database, even with the same round ids."""
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    with Session(other) as session:
        ensure_partners(session)
    sizes = {}
    for database, students in ((engine, 40), (other, 70)):
        load_programme(database, students=students)
        account = add_account(database, "coord@example.org", Role.COORDINATOR, password=None)
        with Session(database) as session:
            viewer = Viewer.of(session.get_one(Account, account))
            round_ = create_round(session, viewer, name="R")
            assert round_.id == 1
            sizes[database] = len(round_input(session, round_).students)
    for database, expected in sizes.items():
        with Session(database) as session:
            assert len(round_input(session, session.get_one(Round, 1)).students) == expected
    assert sizes[engine] != sizes[other]
    other.dispose()


def test_a_rerun_keeps_only_the_confirmed_placements_that_still_hold(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """A confirmed placement whose offer moved out of the student's dates is not locked again."""
    load_programme(engine)
    round_id = solved_round(client, coordinator)["id"]
    deadline = (utcnow() + dt.timedelta(days=10)).date().isoformat()
    client.post(
        f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}, headers=coordinator
    )
    confirmed = [r for r in assignments(client, round_id, coordinator) if r["offer_id"]][:2]
    with Session(engine) as session:
        for row in session.exec(select(Assignment).where(Assignment.round_id == round_id)):
            if row.student_id in {c["student_id"] for c in confirmed}:
                row.response = Response.CONFIRMED
                session.add(row)
        moved = session.get_one(Offer, confirmed[0]["offer_id"])
        moved.start_date = dt.date(2035, 1, 1)
        moved.end_date = dt.date(2035, 2, 1)
        session.add(moved)
        session.commit()
    rerun = client.post(f"/api/rounds/{round_id}/rerun", json={}, headers=coordinator).json()
    assert len(rerun["notes"]) == 1
    assert rerun["notes"][0].startswith(f"{confirmed[0]['student_id']} is not kept on")
    assert "dates" in rerun["notes"][0]
    client.post(f"/api/rounds/{rerun['id']}/solve", headers=coordinator)
    done = wait_for_round(client, rerun["id"], coordinator)
    assert done["status"] == "solved", done
    kept = client.get(
        f"/api/rounds/{rerun['id']}/assignments/{confirmed[1]['student_id']}", headers=coordinator
    ).json()
    assert kept["offer_id"] == confirmed[1]["offer_id"]
    assert kept["locked"] is True


def test_a_published_rerun_replaces_its_round_and_keeps_confirmations(
    engine: Engine, client: TestClient, coordinator: dict[str, str]
) -> None:
    """Students answer in the newest round; a confirmed, unchanged placement stays confirmed."""
    load_programme(engine)
    first = solved_round(client, coordinator)["id"]
    deadline = {"response_deadline": (utcnow() + dt.timedelta(days=10)).date().isoformat()}
    client.post(f"/api/rounds/{first}/publish", json=deadline, headers=coordinator)
    placed = next(r for r in assignments(client, first, coordinator) if r["offer_id"])
    student = signed_in(engine, placed["student_id"], Role.STUDENT, student_id=placed["student_id"])
    answer = f"/api/rounds/{first}/assignments/{placed['student_id']}/response"
    assert client.post(answer, json={"decision": "confirm"}, headers=student).is_success
    reruns = [
        client.post(f"/api/rounds/{first}/rerun", json={}, headers=coordinator).json()["id"]
        for _ in range(2)
    ]
    for rerun in reruns:
        client.post(f"/api/rounds/{rerun}/solve", headers=coordinator)
        wait_for_round(client, rerun, coordinator)
    published = client.post(f"/api/rounds/{reruns[0]}/publish", json=deadline, headers=coordinator)
    assert published.status_code == 200, published.text
    assert (
        client.get(f"/api/rounds/{first}", headers=coordinator).json()["superseded_by"]
        == (reruns[0])
    )
    mine = client.get("/api/me/placements", headers=student).json()
    assert [(m["round_id"], m["replaced_by"]) for m in mine] == [
        (reruns[0], None),
        (first, reruns[0]),
    ]
    assert mine[0]["assignment"]["response"] == "confirmed"
    late = client.post(answer, json={"decision": "decline"}, headers=student)
    assert late.status_code == 422
    assert f"Round {reruns[0]} replaces this round" in late.json()["problems"][0]
    second = client.post(f"/api/rounds/{reruns[1]}/publish", json=deadline, headers=coordinator)
    assert second.status_code == 409
    again = client.post(f"/api/rounds/{first}/rerun", json={}, headers=coordinator)
    assert again.status_code == 422


def test_ids_beyond_the_database_integers_are_refused_not_crashed_on(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    """A round number larger than any database integer is a 422 naming the field, not a 500."""
    for path in ("/api/rounds/99999999999999999999", "/api/rounds/1/diff/99999999999999999999"):
        response = client.get(path, headers=coordinator)
        assert response.status_code == 422
        assert "round_id" in response.json()["errors"][0]["field"]
