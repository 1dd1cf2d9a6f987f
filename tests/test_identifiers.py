"""The Erasmus+ identifiers, the emergency contact and the working hours: checked where they
come in (a round, a school, the students and offers files), printed on the learning
agreement, and given to the Beneficiary Module."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, inspect, update
from sqlmodel import Session, select

from mobility_match import identifiers, records
from mobility_match.db import alembic_config, make_engine
from mobility_match.demo.frames import offers_frame, students_frame
from mobility_match.documents.facts import with_details
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.domain import Country, load_vocabulary
from mobility_match.models import Assignment, Offer, Response, Role, Round, Student
from tests.accounts import add_school, signed_in
from tests.factories import make_offer, make_student
from tests.files import csv_bytes
from tests.pages import browser, new_signed_in, submit, text_of
from tests.placements import make_facts
from tests.published import publish_small_round
from tests.test_document_layout import Printed, longest_facts, pages_of_blocks
from tests.test_document_layout import _squeeze as squeeze

PROJECT = "2026-1-FR01-KA121-VET-000123456"
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()


def test_the_checks_say_what_is_valid() -> None:
    """A project number, an OID and a phone number are taken trimmed (upper case where the
    format is); a wrong one is refused with an example of a valid one; empty is allowed."""
    assert identifiers.project_number(f" {PROJECT.lower()} ") == PROJECT
    assert identifiers.oid(" e10123456 ") == "E10123456"
    assert identifiers.phone_number(" +49 30 1234567 ") == "+49 30 1234567"
    assert identifiers.project_number("") == identifiers.oid("") == ""
    with pytest.raises(ValueError, match="2026-1-FR01-KA121-VET-000123456"):
        identifiers.project_number("KA121-000123")
    with pytest.raises(ValueError, match=r"E and 8 digits, e\.g\. E10123456"):
        identifiers.oid("E1012345")
    with pytest.raises(ValueError, match="not a phone number"):
        identifiers.phone_number("06 39")
    assert all(identifiers.oid(p.oid) == p.oid for p in load_vocabulary().partners.values())


def test_a_round_with_a_malformed_project_number_is_not_created(
    client: TestClient, engine: Engine
) -> None:
    """The API refuses the round naming `project_number` and what is valid, and creates
    nothing; a valid number is kept and shown."""
    coordinator = signed_in(engine, "coordinator@example.org", Role.COORDINATOR)
    refused = client.post(
        "/api/rounds",
        json={"name": "Printemps", "project_number": "FR01-KA121"},
        headers=coordinator,
    )
    assert refused.status_code == 422
    assert "project_number" in refused.text
    assert PROJECT in refused.text
    with Session(engine) as session:
        assert session.exec(select(Round)).all() == []
    created = client.post(
        "/api/rounds", json={"name": "Printemps", "project_number": PROJECT}, headers=coordinator
    )
    assert created.status_code == 201, created.text
    assert created.json()["project_number"] == PROJECT


def test_the_new_round_form_says_what_a_project_number_is(app: FastAPI, engine: Engine) -> None:
    """The page's form refuses a malformed project number next to the field, in French."""
    with browser(app) as client:
        new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
        page = client.get("/coordinator/rounds/new")
        assert "Numéro du projet Erasmus+" in page.text
        refused = submit(
            client,
            "/coordinator/rounds",
            {"name": "Printemps", "time_limit": "5", "seed": "0", "project_number": "2026-1"},
            page="/coordinator/rounds/new",
        )
    assert refused.status_code == 422
    assert "Saisissez le numéro de projet de la convention de subvention" in text_of(refused.text)
    with Session(engine) as session:
        assert session.exec(select(Round)).all() == []


def test_a_school_oid_is_checked_and_kept_in_upper_case(client: TestClient, engine: Engine) -> None:
    """A malformed OID is refused naming `oid` and nothing changes; a valid one is kept,
    with the contact's function."""
    add_school(engine, "LP-A")
    coordinator = signed_in(engine, "coordinator@example.org", Role.COORDINATOR)
    body = {"name": "Lycée A", "kind": "pilot", "oid": "E123", "contact_function": "DDFPT"}
    refused = client.put("/api/schools/LP-A", json=body, headers=coordinator)
    assert refused.status_code == 422
    assert "oid" in refused.text
    assert "E10123456" in refused.text
    assert client.get("/api/schools/LP-A", headers=coordinator).json()["contact_function"] == ""
    saved = client.put("/api/schools/LP-A", json={**body, "oid": "e10123456"}, headers=coordinator)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["oid"], saved.json()["contact_function"]) == ("E10123456", "DDFPT")


def test_a_bad_emergency_phone_or_company_oid_refuses_the_whole_file(
    client: TestClient, engine: Engine
) -> None:
    """The problems are FILE:ROW:COLUMN and nothing of the file is imported; working hours
    over 120 characters are refused the same way."""
    add_school(engine, "LP-A")
    coordinator = signed_in(engine, "coordinator@example.org", Role.COORDINATOR)
    students = students_frame([make_student("S1"), make_student("S2")])
    students["emergency_name"] = ["Karim Martin", "Nadia Martin"]
    students["emergency_phone"] = ["06 39 98 12 34", "12"]
    answer = client.post(
        "/api/imports/students",
        files={"file": ("students.csv", csv_bytes(students), "text/csv")},
        headers=coordinator,
    )
    assert answer.status_code == 422
    assert "students.csv:3:emergency_phone" in answer.text
    offers = offers_frame([make_offer("DE-1"), make_offer("DE-2")])
    offers["company_oid"] = ["E10555555", "10555555"]
    offers["working_hours"] = ["35 h/semaine, 8 h–16 h, lun.–ven.", "x" * 121]
    answer = client.post(
        "/api/imports/offers",
        files=[("file", ("offers.csv", csv_bytes(offers), "text/csv"))],
        headers=coordinator,
    )
    assert answer.status_code == 422
    assert "offers.csv:3:company_oid" in answer.text
    assert "offers.csv:3:working_hours" in answer.text
    with Session(engine) as session:
        assert session.exec(select(Student)).all() == []
        assert session.exec(select(Offer)).all() == []


def test_the_partner_form_saves_working_hours_and_keeps_the_other_columns(
    app: FastAPI, engine: Engine
) -> None:
    """The offer form's working hours land in the offer's `extra`, beside the columns of
    the partner's own that the form does not show; over 120 characters is refused."""
    offer = make_offer("DE-1", extra=(("contact_function", "Ausbilderin"),))
    row, company = records.offer_rows(offer)
    with Session(engine) as session:
        session.add(company)
        session.flush()
        session.add(row)
        session.commit()
    form = {
        "company_id": "C-DE-1",
        "company_name": "Firma DE-1",
        "city": "Leipzig",
        "address": "Karl-Liebknecht-Straße 1, 04107 Leipzig",
        "contact_name": "Anna Schmidt",
        "contact_email": "anna@firma.example",
        "sector": "services",
        "trades": ["commerce"],
        "places": "1",
        "start_date": "2027-05-03",
        "end_date": "2027-06-11",
        "version": "1",
    }
    with browser(app) as client:
        new_signed_in(client, engine, "ofaj@partner.example", Role.PARTNER, partner="OFAJ")
        page = "/partner/offers/DE-1"
        too_long = submit(client, page, {**form, "working_hours": "x" * 121}, page=page)
        saved = submit(client, page, {**form, "working_hours": " 35 h/Woche, 8–16 Uhr "}, page=page)
    assert too_long.status_code == 422
    assert "Trop long : 120 caractères au plus." in text_of(too_long.text).replace(NBSP, " ")
    assert saved.status_code == 303, saved.text[:500]
    with Session(engine) as session:
        stored = session.get_one(Offer, "DE-1")
    assert stored.extra == {
        "contact_function": "Ausbilderin",
        "working_hours": "35 h/Woche, 8–16 Uhr",
    }


def test_the_learning_agreement_prints_identifiers_contact_and_hours(
    renderer: DocumentRenderer,
) -> None:
    """Project number, mobility id, the three OIDs, the emergency contact in international
    form and the offer's working hours, from the optional columns of the snapshot."""
    student = make_student(
        "S1", extra=(("emergency_name", "Karim Martin"), ("emergency_phone", "06 39 98 12 34"))
    )
    hours = "35 h/semaine, 8 h–16 h, lun.–ven."
    offer = make_offer("DE-LEI-01", extra=(("company_oid", "E10555555"), ("working_hours", hours)))
    facts = with_details(
        make_facts(project_number=PROJECT, school_oid="E10123456", partner_oid="E10999999"),
        student,
        offer,
    )
    html = renderer.html(DocumentKind.LEARNING_AGREEMENT, "de", facts)
    for shown in (PROJECT, "S1-DE-LEI-01", "E10123456", "E10999999", "E10555555", hours):
        assert shown in html
    assert f"Karim Martin · +33{NBSP}6{NBSP}39{NBSP}98{NBSP}12{NBSP}34" in html
    assert "Kontakt für Notfälle" in html
    assert "Bitte angeben" not in html


@pytest.mark.parametrize(
    ("country", "lang", "note"),
    [
        (Country.DE, "de", "Bitte angeben (für Minderjährige vorgeschrieben)"),
        (Country.PL, "pl", "Do uzupełnienia (obowiązkowe dla osoby niepełnoletniej)"),
        (Country.UK, "en", "To be stated (required for a learner under 18)"),
    ],
)
def test_a_minor_without_working_hours_is_told_they_are_required(
    renderer: DocumentRenderer, country: Country, lang: str, note: str
) -> None:
    """The hours line stays to be filled in, under a note that a minor's are required (in
    the host's language, and in French under it)."""
    html = renderer.html(
        DocumentKind.LEARNING_AGREEMENT, lang, make_facts(country=country, minor=True)
    )
    assert note in html
    assert "À indiquer (obligatoires pour un apprenant mineur)" in html
    adult = renderer.html(DocumentKind.LEARNING_AGREEMENT, lang, make_facts(country=country))
    assert note not in adult


def test_every_detail_filled_still_fits_the_pages(renderer: DocumentRenderer) -> None:
    """The longest minor's agreement with every identifier, an emergency contact and 120
    characters of working hours: at most three pages, no table or section split, the
    signatures on the last page (the one PDF of this module)."""
    facts = replace(
        longest_facts(Country.DE),
        project_number=PROJECT,
        school_oid="E10123456",
        partner_oid="E10999999",
        host_oid="E10555555",
        emergency_name="Jean-Christophe de La Tour d'Auvergne-Lauraguais",
        emergency_phone="+33 6 39 98 12 34",
        working_hours="35 h/Woche, Montag bis Freitag 8–16 Uhr, 30 Minuten Pause ab 4,5 h "
        "Arbeit, kein Wochenende, nicht nach 20 h, Schule frei",
        school_contact_function="Directrice déléguée aux formations professionnelles",
    )
    assert len(facts.working_hours) == identifiers.MAX_WORKING_HOURS
    html = renderer.html(DocumentKind.LEARNING_AGREEMENT, "de", facts)
    reader = PdfReader(io.BytesIO(renderer.pdf(html)))
    printed = Printed(html, [squeeze(page.extract_text()) for page in reader.pages])
    assert len(printed.pages) <= 3
    for first_words, start, end in pages_of_blocks(printed):
        assert start == end, f"{first_words!r} runs from page {start + 1} to {end + 1}"
    assert "8.Unterschriften" in printed.pages[-1]
    assert squeeze(PROJECT) in printed.pages[0]


def test_a_published_round_carries_its_identifiers_to_documents_and_reports(
    app: FastAPI, client: TestClient, engine: Engine
) -> None:
    """The round's project number and the school's OID reach the learning agreement and
    the Beneficiary Module file; the round page lists the minor whose hours are missing."""
    published = publish_small_round(engine, client)
    round_id, coordinator = published.round_id, published.coordinator
    with Session(engine) as session:
        session.execute(update(Round).values(project_number=PROJECT))
        session.commit()
    school = {"name": "Lycée professionnel Jean Moulin", "kind": "pilot", "oid": "E10123456"}
    client.put("/api/schools/SCH-A", json=school, headers=coordinator).raise_for_status()
    preview = client.get(
        f"/api/rounds/{round_id}/placements/S-MINOR/documents/learning_agreement.html",
        params={"lang": "de"},
        headers=published.teacher_a,
    )
    assert preview.status_code == 200, preview.text
    for shown in (PROJECT, "S-MINOR-DE-1", "E10123456", "Bitte angeben"):
        assert shown in preview.text
    with Session(engine) as session:  # the students confirm: their mobilities are reported
        session.execute(update(Assignment).values(response=Response.CONFIRMED))
        session.commit()
    report = client.get(f"/api/rounds/{round_id}/beneficiary-module.csv", headers=coordinator)
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    minor = next(row for row in rows if row["Participant ID"] == "S-MINOR")
    assert minor["Grant Agreement No."] == PROJECT
    assert minor["Sending organisation OID"] == "E10123456"
    assert minor["Mobility activity ID"] == "S-MINOR-DE-1"
    with browser(app) as pages:
        new_signed_in(pages, engine, "lead@example.org", Role.COORDINATOR)
        page = text_of(pages.get(f"/coordinator/rounds/{round_id}").text)
    assert PROJECT in page
    assert "Documents à compléter" in page
    assert "Inès D'Almeida S-MINOR — Leipziger Handel GmbH" in page


def test_migration_0012_upgrades_and_downgrades(tmp_path: Path) -> None:
    """On SQLite, 0012 adds the three columns and takes them away again."""
    engine = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "head")

    def columns(table: str) -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns(table)}

    assert {"oid", "contact_function"} <= columns("school")
    assert "project_number" in columns("round")
    command.downgrade(config, "0011")
    assert not {"oid", "contact_function"} & columns("school")
    assert "project_number" not in columns("round")
    command.upgrade(config, "head")
    assert "project_number" in columns("round")
    engine.dispose()
