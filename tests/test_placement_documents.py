"""Placement documents over HTTP: who may produce them, versions, what was sent, the ZIP."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.models import AuditEvent
from tests.published import Published, publish_small_round


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


@pytest.fixture
def world(engine: Engine, client: TestClient) -> Published:
    return publish_small_round(engine, client, minor_first_name="<script>alert(1)</script>")


def _url(world: Published, student_id: str, tail: str = "") -> str:
    return f"/api/rounds/{world.round_id}/placements/{student_id}/documents{tail}"


def test_a_teacher_gets_the_host_letter_of_a_student_of_the_school(
    client: TestClient, world: Published
) -> None:
    """The UK host letter is an English PDF naming the trainee, the company and the dates."""
    response = client.get(_url(world, "S-UK", "/host_letter.pdf"), headers=world.teacher_a)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Placement confirmation" in text
    assert "Hugo Bernard" in text
    assert "Bristol Traders Ltd" in text
    assert f"{world.start.day} {world.start.strftime('%B')} {world.start.year}" in text
    assert "Claire Besson" in text  # the school's contact


def test_a_teacher_cannot_produce_another_schools_documents(
    client: TestClient, world: Published
) -> None:
    """Another school's student answers 404, exactly like a missing one, for every route."""
    for path in (
        _url(world, "S-PL"),
        _url(world, "S-PL", "/student_letter.pdf"),
        _url(world, "S-PL", "/host_letter.html"),
        f"/api/rounds/{world.round_id}/schools/SCH-B/documents.zip",
    ):
        assert client.get(path, headers=world.teacher_a).status_code == 404, path
    generate = client.post(
        _url(world, "S-PL"), json={"kind": "student_letter"}, headers=world.teacher_a
    )
    assert generate.status_code == 404
    # Teacher B may, and the version stored for B is out of teacher A's reach.
    own = client.post(_url(world, "S-PL"), json={"kind": "host_letter"}, headers=world.teacher_b)
    assert own.status_code == 201, own.text
    document_id = own.json()["id"]
    assert (
        client.get(f"/api/documents/{document_id}.pdf", headers=world.teacher_a).status_code == 404
    )
    sent = client.post(f"/api/documents/{document_id}/sent", headers=world.teacher_a)
    assert sent.status_code == 404


def test_partners_and_students_do_not_produce_documents(
    client: TestClient, world: Published
) -> None:
    """Documents are the school's: a partner or the student gets 403."""
    for headers in (world.partner, world.minor):
        response = client.get(_url(world, "S-MINOR", "/student_letter.pdf"), headers=headers)
        assert response.status_code == 403


def test_names_with_markup_come_out_escaped_and_readable(
    client: TestClient, world: Published
) -> None:
    """A first name holding `<script>` and a last name with an apostrophe print as typed."""
    html = client.get(_url(world, "S-MINOR", "/learning_agreement.html"), headers=world.teacher_a)
    assert html.status_code == 200
    assert "<script>alert(1)" not in html.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text
    assert "default-src 'none'" in html.headers["content-security-policy"]
    pdf = client.get(_url(world, "S-MINOR", "/learning_agreement.pdf"), headers=world.teacher_a)
    text = pdf_text(pdf.content)
    assert "<script>alert(1)</script>" in text
    assert "D'Almeida" in text or "D’Almeida" in text
    assert "Sofia D'Almeida" in text or "Sofia D’Almeida" in text  # the guardian of a minor


def test_regenerating_keeps_the_version_until_the_placement_changes(
    client: TestClient, engine: Engine, world: Published
) -> None:
    """Same text, same version; a change makes version 2 and the sent version 1 stays as sent."""
    first = client.post(_url(world, "S-UK"), json={"kind": "host_letter"}, headers=world.teacher_a)
    assert first.status_code == 201, first.text
    again = client.post(_url(world, "S-UK"), json={"kind": "host_letter"}, headers=world.teacher_a)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["version"] == 1
    v1 = first.json()["id"]
    sent = client.post(f"/api/documents/{v1}/sent", headers=world.teacher_a)
    assert sent.status_code == 200
    assert sent.json()["sent_by"] == "teacher-a@example.org"
    original = client.get(f"/api/documents/{v1}.pdf", headers=world.teacher_a).content

    # The school's contact changes: the letter names the new one in version 2.
    changed = client.put(
        "/api/schools/SCH-A",
        json={"name": "Lycée professionnel Jean Moulin", "contact_name": "Marc Olivier"},
        headers=world.coordinator,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["phone"] == "04 65 71 12 34"  # fields not sent are kept
    listing = client.get(_url(world, "S-UK"), headers=world.teacher_a).json()
    letter = next(d for d in listing if d["kind"] == "host_letter" and d["lang"] == "en")
    assert letter["changed"] is True
    second = client.post(_url(world, "S-UK"), json={"kind": "host_letter"}, headers=world.teacher_a)
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert "Marc Olivier" in pdf_text(
        client.get(f"/api/documents/{second.json()['id']}.pdf", headers=world.teacher_a).content
    )

    listing = client.get(_url(world, "S-UK"), headers=world.teacher_a).json()
    letter = next(d for d in listing if d["kind"] == "host_letter" and d["lang"] == "en")
    assert letter["changed"] is False
    assert letter["sent_version"] == 1
    assert [v["version"] for v in letter["versions"]] == [2, 1]
    # The version that was sent is still there, byte for byte, naming the old contact.
    kept = client.get(f"/api/documents/{v1}.pdf", headers=world.teacher_a).content
    assert kept == original
    assert "Claire Besson" in pdf_text(kept)
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert actions.count("document.generate") == 2
    assert "document.sent" in actions


def test_the_host_letter_exists_in_french_and_the_host_language_only(
    client: TestClient, world: Published
) -> None:
    """A German host letter for Poland is refused with the valid languages named."""
    french = client.get(_url(world, "S-MINOR", "/host_letter.pdf?lang=fr"), headers=world.teacher_a)
    assert "Confirmation du stage" in pdf_text(french.content)
    wrong = client.get(_url(world, "S-PL", "/host_letter.pdf?lang=de"), headers=world.teacher_b)
    assert wrong.status_code == 422
    assert "pl, fr" in wrong.json()["problems"][0]


def test_a_declined_placement_has_no_documents(client: TestClient, world: Published) -> None:
    """Once the student declines, documents are refused with the reason."""
    answer = client.post(
        f"/api/rounds/{world.round_id}/assignments/S-MINOR/response",
        json={"decision": "decline"},
        headers=world.minor,
    )
    assert answer.status_code == 200, answer.text
    response = client.get(_url(world, "S-MINOR", "/student_letter.pdf"), headers=world.teacher_a)
    assert response.status_code == 409
    assert "declined" in response.json()["detail"]


@pytest.mark.slow
def test_a_school_gets_all_its_documents_in_one_zip(client: TestClient, world: Published) -> None:
    """One folder per placed student, every document and language, each a readable PDF."""
    response = client.get(
        f"/api/rounds/{world.round_id}/schools/SCH-A/documents.zip", headers=world.teacher_a
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = [name for name in archive.namelist() if name != "index.csv"]
    assert len(names) == 16  # 8 a placement: 6 documents, 2 of them also in French
    folders = {name.split("/")[0] for name in names}
    assert folders == {"Bernard-Hugo-S-UK", "D_Almeida-_script_alert_1_script_-S-MINOR"}
    assert "Bernard-Hugo-S-UK/S-UK-host_letter-en-v1.pdf" in names
    assert "Bernard-Hugo-S-UK/S-UK-host_letter-fr-v1.pdf" in names
    text = pdf_text(archive.read("Bernard-Hugo-S-UK/S-UK-attendance_certificate-en-v1.pdf"))
    assert "Certificate of Attendance" in text
    assert "Bristol Traders Ltd" in text
    index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert sorted(row["file"] for row in index) == sorted(names)
    assert {row["new_version"] for row in index} == {"True"}
    # Only the host letters, in both their languages.
    letters = client.get(
        f"/api/rounds/{world.round_id}/schools/SCH-A/documents.zip?kind=host_letter",
        headers=world.teacher_a,
    )
    members = zipfile.ZipFile(io.BytesIO(letters.content)).namelist()
    assert sorted(m.rsplit("/", 1)[-1] for m in members if m != "index.csv") == [
        "S-MINOR-host_letter-de-v1.pdf",
        "S-MINOR-host_letter-fr-v1.pdf",
        "S-UK-host_letter-en-v1.pdf",
        "S-UK-host_letter-fr-v1.pdf",
    ]
    # The bundle stored the versions: asking again renders nothing new.
    listing = client.get(_url(world, "S-UK"), headers=world.teacher_a).json()
    assert all(d["versions"] and not d["changed"] for d in listing)
