"""The funder's report: a published round's mobilities as the Beneficiary Module imports them."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from mobility_match.models import (
    Assignment,
    InterruptionReason,
    PlacementOutcome,
    PlacementOutcomeKind,
    Response,
)
from mobility_match.services.beneficiary_module import BM_COLUMNS
from tests.published import publish_small_round


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to show accents"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_beneficiary_module_file(engine: Engine, client: TestClient) -> None:
    """It lists, under the documented header, one row per confirmed placement that started,
    an interrupted one ending on its interruption day; nothing of a draft round."""
    published = publish_small_round(engine, client)
    round_id, headers = published.round_id, published.coordinator
    interrupted = published.start + dt.timedelta(days=9)
    with Session(engine) as session:
        session.execute(
            update(Assignment)
            .where(
                col(Assignment.round_id) == round_id,
                col(Assignment.student_id).in_(["S-UK", "S-PL"]),
            )
            .values(response=Response.CONFIRMED)
        )
        session.add(
            PlacementOutcome(
                round_id=round_id,
                student_id="S-UK",
                offer_id="UK-1",
                outcome=PlacementOutcomeKind.INTERRUPTED,
                interrupted_on=interrupted,
                reason=InterruptionReason.HEALTH,
            )
        )
        session.commit()
    url = f"/api/rounds/{round_id}/beneficiary-module.csv"

    answer = client.get(
        url, params={"grant_agreement": "2025-1-FR01-KA121-VET-000123456"}, headers=headers
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    header, *rows = _rows(answer.content)
    assert tuple(header) == BM_COLUMNS
    # The minor has not answered: not a mobility yet. Sorted by student id.
    assert [row[BM_COLUMNS.index("Participant ID")] for row in rows] == ["S-PL", "S-UK"]
    uk = dict(zip(BM_COLUMNS, rows[1], strict=True))
    days = (interrupted - published.start).days + 1
    assert uk == {
        **dict.fromkeys(BM_COLUMNS, ""),
        "Grant Agreement No.": "2025-1-FR01-KA121-VET-000123456",
        "Mobility activity ID": "S-UK-UK-1",
        "Activity type": "Short-term learning mobility of VET learners",
        "Long-term activity": "No",
        "Participant ID": "S-UK",
        "Participant first name": "Hugo",
        "Participant last name": "Bernard",
        "Participant date of birth": "14-03-2006",
        "Participant gender": "Female",
        "Accompanying person": "No",
        "Sending country": "FR",
        "Sending city": "Lyon",
        "Receiving organisation name": "Bristol Traders Ltd",
        "Receiving country": "UK",
        "Receiving city": "Bristol",
        "Start date": published.start.strftime("%d-%m-%Y"),
        "End date": interrupted.strftime("%d-%m-%Y"),
        "Duration (days)": str(days),
    }
    assert "health" not in answer.text.lower()

    bad = client.get(url, params={"grant_agreement": "KA121"}, headers=headers)
    assert bad.status_code == 422
    assert "grant_agreement" in bad.text
    draft = client.post("/api/rounds", json={"name": "Draft"}, headers=headers).json()["id"]
    refused = client.get(f"/api/rounds/{draft}/beneficiary-module.csv", headers=headers)
    assert refused.status_code == 409
    assert "not published" in refused.json()["detail"]
    teacher = client.get(url, headers=published.teacher_a)
    assert teacher.status_code == 403
