"""Why a student is unplaced, said once and rightly: the stored reason is the sentence
only, "code: sentence" is built once for the files, a decline is not a coordinator's
lock, and the pages say each code in the reader's language from one table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.domain import Lock, Reason, ReasonCode, RoundInput, load_vocabulary
from mobility_match.matching.engine import solve_round
from mobility_match.models import Account, Assignment, Role
from mobility_match.reporting import assignments_csv
from mobility_match.web.i18n import translations
from mobility_match.web.pages.reasons import reason_labels, reason_words
from tests.factories import make_offer, make_student
from tests.pages import browser, new_signed_in, sign_in_as, text_of
from tests.programme import wait_for_round
from tests.published import publish_small_round

DEADLINE = {"response_deadline": (dt.date.today() + dt.timedelta(days=10)).isoformat()}


def _solved(client: TestClient, headers: dict[str, str], path: str, body: Any) -> int:
    """Create a round (or a re-run) at `path`, solve it, and return its id."""
    created = client.post(path, json=body, headers=headers)
    assert created.status_code == 201, created.text
    round_id: int = created.json()["id"]
    assert client.post(f"/api/rounds/{round_id}/solve", headers=headers).status_code == 202
    assert wait_for_round(client, round_id, headers)["status"] == "solved"
    return round_id


def _exported_reasons(client: TestClient, round_id: int, headers: dict[str, str]) -> dict[str, str]:
    """Student id → the `reason` cell of the round's assignments.csv export."""
    response = client.get(f"/api/rounds/{round_id}/export/assignments.csv", headers=headers)
    assert response.status_code == 200, response.text
    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    return {row["student_id"]: row["reason"] for row in rows}


def test_a_student_unplaced_by_hand_is_explained_without_the_code_and_exported_with_it_once(
    engine: Engine, client: TestClient
) -> None:
    """Unplacing by hand stores the sentence only; the API shows it bare and the CSV export
    prints "locked_unplaced: " once in front of it."""
    published = publish_small_round(engine, client)
    coordinator = published.coordinator
    round_id = _solved(client, coordinator, "/api/rounds", {"name": "Été"})
    moved = client.post(
        f"/api/rounds/{round_id}/assignments/S-UK/move",
        json={"offer_id": None},
        headers=coordinator,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["reason_code"] == "locked_unplaced"
    assert moved.json()["reason"] == "A coordinator unplaced this student by hand."
    shown = client.get(f"/api/rounds/{round_id}/assignments/S-UK", headers=coordinator).json()
    assert shown["reason"] == "A coordinator unplaced this student by hand."
    exported = _exported_reasons(client, round_id, coordinator)["S-UK"]
    assert exported == "locked_unplaced: A coordinator unplaced this student by hand."


def test_a_reason_stored_with_its_code_in_front_is_exported_with_the_code_once(
    engine: Engine, client: TestClient
) -> None:
    """A row written before the fix ("locked_unplaced: unplaced by a coordinator") is
    exported as that text, not with the code a second time in front, and the API's
    `reason` is the sentence alone, as for rows written since."""
    published = publish_small_round(engine, client)
    round_id = _solved(client, published.coordinator, "/api/rounds", {"name": "Été"})
    with Session(engine) as session:
        row = session.exec(
            select(Assignment).where(
                Assignment.round_id == round_id, Assignment.student_id == "S-UK"
            )
        ).one()
        row.offer_id, row.locked = None, True
        row.reason_code, row.reason = (
            "locked_unplaced",
            "locked_unplaced: unplaced by a coordinator",
        )
        session.add(row)
        session.commit()
    exported = _exported_reasons(client, round_id, published.coordinator)["S-UK"]
    assert exported == "locked_unplaced: unplaced by a coordinator"
    shown = client.get(
        f"/api/rounds/{round_id}/assignments/S-UK", headers=published.coordinator
    ).json()
    assert (shown["reason_code"], shown["reason"]) == (
        "locked_unplaced",
        "unplaced by a coordinator",
    )


def test_a_student_who_declined_is_explained_as_declined_in_every_rerun_after(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """A student who declined in the published round stays unplaced in its re-run, and the
    API, the export, the coordinator's page and the student's page say he or she declined
    (naming that round), not that a coordinator locked him or her out; a re-run of the
    re-run still names the round of the decline."""
    published = publish_small_round(engine, client)
    coordinator, first = published.coordinator, published.round_id
    declined = client.post(
        f"/api/rounds/{first}/assignments/S-MINOR/response",
        json={"decision": "decline"},
        headers=published.minor,
    )
    assert declined.status_code == 200, declined.text
    sentence = (
        f"The student declined the placement in round {first}, so the re-run keeps "
        "him or her unplaced."
    )
    rerun = _solved(client, coordinator, f"/api/rounds/{first}/rerun", {})
    shown = client.get(f"/api/rounds/{rerun}/assignments/S-MINOR", headers=coordinator).json()
    assert (shown["offer_id"], shown["reason_code"], shown["reason"]) == (
        None,
        "declined",
        sentence,
    )
    assert _exported_reasons(client, rerun, coordinator)["S-MINOR"] == f"declined: {sentence}"
    statistics = client.get(f"/api/rounds/{rerun}/statistics", headers=coordinator).json()
    assert statistics["unplaced_by_reason"] == {"declined": 1}

    published_rerun = client.post(
        f"/api/rounds/{rerun}/publish", json=DEADLINE, headers=coordinator
    )
    assert published_rerun.status_code == 200, published_rerun.text
    # The pages open last: leaving a page client stops the app's solver.
    again = _solved(client, coordinator, f"/api/rounds/{rerun}/rerun", {})
    shown = client.get(f"/api/rounds/{again}/assignments/S-MINOR", headers=coordinator).json()
    assert (shown["reason_code"], shown["reason"]) == ("declined", sentence)
    with browser(app) as page:
        new_signed_in(page, engine, "coordinatrice", Role.COORDINATOR)
        text = text_of(page.get(f"/coordinator/rounds/{rerun}/students/S-MINOR").text)
    assert "A refusé le stage proposé" in text
    assert "Laissé sans stage par un coordinateur" not in text
    with browser(app) as page:
        with Session(engine) as session:
            account = session.exec(select(Account).where(Account.student_id == "S-MINOR")).one()
        sign_in_as(page, engine, account.id or 0)
        text = text_of(page.get("/student").text)
    assert "Vous avez refusé le stage qui vous était proposé au tour précédent" in text
    assert "Un coordinateur a décidé" not in text


def test_a_lock_to_nowhere_is_a_coordinator_decision_unless_it_carries_a_decline() -> None:
    """The engine explains a plain lock to nowhere as a coordinator's, and one carrying the
    round of a decline as the student's decline, each sentence without its code."""
    offer = make_offer("DE-1")
    students = (make_student("S1", preferences=("DE-1",)), make_student("S2"))
    round_input = RoundInput(students, (offer,), (Lock("S1", None), Lock("S2", None, 7)))
    result = solve_round(round_input, load_vocabulary(), seed=1)
    reasons = {p.student_id: p.reason for p in result.placements}
    assert reasons["S1"] == Reason(
        ReasonCode.LOCKED_UNPLACED, "A coordinator locked this student out of the round."
    )
    assert reasons["S2"] is not None
    assert reasons["S2"].code is ReasonCode.DECLINED
    assert reasons["S2"].sentence.startswith("The student declined the placement in round 7")
    assert "declined: The student declined" in assignments_csv(round_input, result)


def test_the_pages_have_words_for_every_reason_code_in_french() -> None:
    """Each reason code has a coordinator's label and a sentence to the student, translated."""
    french = translations("fr").gettext
    labels = reason_labels(french)
    assert set(labels) == {code.value for code in ReasonCode}
    for code in ReasonCode:
        words = reason_words(code.value, french)
        english = reason_words(code.value, lambda message: message)
        assert words is not None
        assert english is not None
        assert words.label != english.label
        assert words.to_student != english.to_student
    assert reason_words("", french) is None
