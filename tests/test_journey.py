"""The whole programme through the API: coordinator → partner → teacher → student → re-run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mobility_match.demo import generate_students, students_frame
from mobility_match.models import Role
from tests.accounts import PASSWORD, add_account, bearer
from tests.programme import COMPANIES, sample_offers, wait_for_round


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_round_from_import_to_a_rerun_after_a_withdrawal(
    engine: Engine, client: TestClient
) -> None:
    """Import, offers, solve, review, publish, answers, withdrawal, re-run with fewest changes."""
    add_account(engine, "coordinator@example.org", Role.COORDINATOR)
    coordinator = bearer(client, "coordinator@example.org")

    # A partner account; the partner submits its offers as a file, the coordinator
    # those of the other countries.
    body = {"username": "ofaj@example.org", "role": "partner", "partner": "OFAJ"}
    body |= {"display_name": "OFAJ", "password": PASSWORD}
    ok(client.post("/api/accounts", json=body, headers=coordinator), 201)
    partner = bearer(client, "ofaj@example.org")
    de = (COMPANIES / "de.csv").read_bytes()
    ok(
        client.post(
            "/api/imports/offers", files={"file": ("de.csv", de, "text/csv")}, headers=partner
        )
    )
    for name in ("pl.csv", "uk.csv"):
        data = (COMPANIES / name).read_bytes()
        files = {"file": (name, data, "text/csv")}
        ok(client.post("/api/imports/offers", files=files, headers=coordinator))
    offers = ok(client.get("/api/offers", headers=partner))
    assert {o["partner"] for o in offers} == {"OFAJ"}

    # The coordinator imports the cohort (its preferences name those offers); schools
    # are created on the way; then a teacher account for one of them.
    cohort = students_frame(generate_students(150, 7, sample_offers()))
    upload = {"file": ("cohort.csv", cohort.to_csv(index=False).encode(), "text/csv")}
    imported = ok(client.post("/api/imports/students", files=upload, headers=coordinator))
    assert imported["created"] == 150
    school = sorted(cohort["school_id"])[0]
    body = {"username": "teacher@example.org", "role": "teacher", "school_id": school}
    body |= {"display_name": "Mme Durand", "password": PASSWORD}
    ok(client.post("/api/accounts", json=body, headers=coordinator), 201)
    teacher = bearer(client, "teacher@example.org")

    # A round: solved in the background, reviewed, published.
    round_ = ok(client.post("/api/rounds", json={"name": "Spring 2027"}, headers=coordinator), 201)
    ok(client.post(f"/api/rounds/{round_['id']}/solve", headers=coordinator), 202)
    solved = wait_for_round(client, round_["id"], coordinator)
    assert solved["status"] == "solved"
    assert all(stage["status"] == "OPTIMAL" for stage in solved["report"]["stages"])
    figures = ok(client.get(f"/api/rounds/{round_['id']}/statistics", headers=coordinator))
    assert figures["placed"] == solved["report"]["placed"] > 0
    deadline = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    ok(
        client.post(
            f"/api/rounds/{round_['id']}/publish",
            json={"response_deadline": deadline},
            headers=coordinator,
        )
    )

    # The teacher sees her school's students only, and invites one who was placed.
    seen = ok(client.get(f"/api/rounds/{round_['id']}/assignments", headers=teacher))
    assert {row["school_id"] for row in seen} == {school}
    placed = next(row for row in seen if row["offer_id"])
    link = ok(
        client.post(f"/api/students/{placed['student_id']}/invitation", headers=teacher), 201
    )["url"]
    path = link.removeprefix("http://testserver")
    assert client.get(path).status_code == 200  # a mail scanner's visit changes nothing
    student = {"Authorization": f"Bearer {ok(client.post(path))['token']}"}

    # The student sees the placement and confirms it.
    mine = ok(client.get("/api/me/placements", headers=student))
    assert [m["assignment"]["offer_id"] for m in mine] == [placed["offer_id"]]
    response_path = f"/api/rounds/{round_['id']}/assignments/{placed['student_id']}/response"
    ok(client.post(response_path, json={"decision": "confirm"}, headers=student))

    # The partner sees who is placed with it, and a host withdraws an offer.
    hosted = ok(client.get(f"/api/rounds/{round_['id']}/assignments", headers=partner))
    assert {row["partner"] for row in hosted} == {"OFAJ"}
    taken = Counter(row["offer_id"] for row in hosted)
    withdrawn = next(offer for offer, _ in taken.most_common() if offer != placed["offer_id"])
    ok(client.post(f"/api/offers/{withdrawn}/withdraw", headers=partner))
    moved_out = sorted(row["student_id"] for row in hosted if row["offer_id"] == withdrawn)

    # The re-run changes as few placements as it can, and keeps the confirmed one.
    rerun = ok(client.post(f"/api/rounds/{round_['id']}/rerun", json={}, headers=coordinator), 201)
    ok(client.post(f"/api/rounds/{rerun['id']}/solve", headers=coordinator), 202)
    again = wait_for_round(client, rerun["id"], coordinator)
    assert again["status"] == "solved", again
    stages = {stage["name"]: stage for stage in again["report"]["stages"]}
    diff = ok(client.get(f"/api/rounds/{round_['id']}/diff/{rerun['id']}", headers=coordinator))
    assert {change["student_id"] for change in diff} >= set(moved_out)
    assert stages["changes"]["value"] == len(diff)
    assert all(change["after"] != withdrawn for change in diff)
    kept = ok(
        client.get(
            f"/api/rounds/{rerun['id']}/assignments/{placed['student_id']}", headers=coordinator
        )
    )
    assert kept["offer_id"] == placed["offer_id"]
    assert kept["locked"] is True

    # Every step is in the audit log, and the round exports.
    actions = {event["action"] for event in ok(client.get("/api/audit", headers=coordinator))}
    assert {"round.publish", "offer.withdraw", "round.create", "assignment.confirm"} <= actions
    export = client.get(f"/api/rounds/{rerun['id']}/export/assignments.xlsx", headers=coordinator)
    assert export.status_code == 200
    assert export.content[:2] == b"PK"
