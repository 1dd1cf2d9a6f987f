"""The teacher's pages: the school's students, ticking steps, inviting, the school's contact,
the documents and marking one sent, on a small published round (tests/published.py)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.models import ChecklistStep, Role
from tests.pages import browser, follow, new_signed_in, submit, text_of
from tests.published import Published, publish_small_round


def _teacher(app: FastAPI, engine: Engine, client: TestClient) -> tuple[TestClient, Published]:
    published = publish_small_round(engine, client)
    page = browser(app)
    new_signed_in(page, engine, "prof-a@example.org", Role.TEACHER, school_id="SCH-A")
    return page, published


def test_the_students_page_lists_only_the_school_s_students_with_answers_and_progress(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """It lists school A's two placed students with company, answer and checklist progress
    (overdue steps counted), never school B's student; the filter keeps one standing."""
    page, published = _teacher(app, engine, client)
    with page:
        shown = page.get("/teacher")
        assert shown.status_code == 200
        assert shown.headers["cache-control"] == "no-store"
        text = text_of(shown.text)
        assert "D'Almeida Inès" in text
        assert "Bernard Hugo" in text
        assert "Petit" not in text
        assert "Krakowski" not in text
        assert "Leipziger Handel GmbH" in text
        assert "Bristol Traders Ltd" in text
        assert "En attente de la réponse" in text
        assert re.search(r"0 / \d+ faites", text)
        assert "en retard" in text  # steps due 40+ days before departure are overdue
        client.post(
            f"/api/rounds/{published.round_id}/assignments/S-MINOR/response",
            json={"decision": "confirm"},
            headers=published.minor,
        ).raise_for_status()
        confirmed = text_of(page.get("/teacher?state=confirmed").text)
        assert "D'Almeida Inès" in confirmed
        assert "Bernard" not in confirmed
        assert "Confirmé" in confirmed
        assert page.get("/teacher/students/S-PL").status_code == 404


def test_ticking_a_step_shows_it_done_and_unticking_undoes_it(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """A teacher's tick is stored and shown with who ticked; unticking shows it to do again."""
    page, _published = _teacher(app, engine, client)
    with Session(engine) as session:
        step = session.exec(
            select(ChecklistStep).where(
                ChecklistStep.student_id == "S-UK", ChecklistStep.who == "teacher"
            )
        ).first()
    assert step is not None
    with page:
        action = f"/teacher/students/S-UK/steps/{step.id}"
        shown = follow(page, submit(page, action, {"done": "1"}))
        text = text_of(shown.text)
        assert "Étape marquée faite" in text
        assert "par prof-a@example.org" in text
        assert re.search(r"Étapes faites : 1 sur \d+", text)
        again = follow(page, submit(page, action, {"done": "0"}))
        assert "par prof-a@example.org" not in text_of(again.text)


def test_an_invitation_is_shown_once_with_its_qr_code_and_signs_the_student_in(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The answer is the page itself (200, no-store, no cookie) with the link and a QR
    image; the link signs the student in once; a new one ends the earlier link."""
    page, _published = _teacher(app, engine, client)
    with page:
        answer = submit(page, "/teacher/students/S-UK/invitation", page="/teacher/students/S-UK")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        assert "set-cookie" not in answer.headers
        found = re.search(r"(https?://[^<\s\"]+/invite/[A-Za-z0-9_-]+)", answer.text)
        assert found, answer.text
        link = found.group(1)
        assert answer.text.count(link) == 1
        assert 'src="data:image/svg+xml' in answer.text
        assert "Les liens précédents de cet élève ne fonctionnent plus" in text_of(answer.text)
        token = link.rsplit("/", 1)[1]
        later = submit(page, "/teacher/students/S-UK/invitation", page="/teacher/students/S-UK")
        assert later.status_code == 200
        assert client.post(f"/invite/{token}").status_code == 410  # replaced by the later one
        newer = re.search(r"/invite/([A-Za-z0-9_-]+)", later.text)
        assert newer
        signed_in = client.post(f"/invite/{newer.group(1)}")
        assert signed_in.status_code == 200, signed_in.text
        mine = client.get(
            "/api/me/placements",
            headers={"Authorization": f"Bearer {signed_in.json()['token']}"},
        )
        assert mine.status_code == 200
        assert "Bristol Traders Ltd" in mine.text


def test_editing_the_school_contact_changes_the_next_letter(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """A wrong e-mail is refused next to its field (422, nothing saved); a right one is
    saved and printed on the next letter to the host."""
    page, published = _teacher(app, engine, client)
    with page:
        form = {
            "address": "3 place Bellecour, 69002 Lyon",
            "city": "Lyon",
            "contact_name": "Nadia Benali",
            "contact_email": "not an address",
            "phone": "04 00 00 00 00",
        }
        refused = submit(page, "/teacher/school", form, page="/teacher/school")
        assert refused.status_code == 422
        assert 'id="error-contact_email"' in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert "Nadia Benali" in refused.text  # what was typed is kept
        form["contact_email"] = "n.benali@jean-moulin.example"
        saved = follow(page, submit(page, "/teacher/school", form, page="/teacher/school"))
        assert "Nadia Benali" in saved.text
        letter = page.get(
            f"/api/rounds/{published.round_id}/placements/S-MINOR/documents/host_letter.html",
            params={"lang": "fr"},
        )
        assert letter.status_code == 200
        assert "Nadia Benali" in letter.text
        assert "n.benali@jean-moulin.example" in letter.text


def test_marking_a_document_sent_shows_who_sent_it(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The documents page lists each document of school A's placements; once a PDF is opened
    its version can be marked sent, and the page says by whom; school B's page is 404."""
    page, published = _teacher(app, engine, client)
    with page:
        assert page.get("/teacher/documents").headers["location"] == "/schools/SCH-A/documents"
        listing = page.get("/schools/SCH-A/documents")
        assert listing.status_code == 200
        text = text_of(listing.text)
        assert "Bernard Hugo" in text
        assert "Lettre à l'entreprise d'accueil" in text
        assert "Pas encore créé" in text
        pdf = page.get(
            f"/api/rounds/{published.round_id}/placements/S-UK/documents/host_letter.pdf",
            params={"lang": "en"},
        )
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        document_id = pdf.headers["x-document-id"]
        listing = page.get("/schools/SCH-A/documents")
        action = f"/schools/SCH-A/documents/{document_id}/sent"
        assert f'action="{action}"' in listing.text
        shown = follow(
            page,
            submit(
                page, action, {"next": "/schools/SCH-A/documents"}, page="/schools/SCH-A/documents"
            ),
        )
        text = text_of(shown.text)
        assert "marquée envoyée" in text
        assert "par prof-a@example.org" in text
        assert page.get("/schools/SCH-B/documents").status_code == 404
