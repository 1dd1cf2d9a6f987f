"""In Chromium: the coordinator imports a students file with a preview (first with an
error), creates a teacher account, reads the audit log filtered, and opens the schools."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mobility_match.demo import students_frame
from mobility_match.models import Role, School, SchoolKind, Student
from tests.browser.site import PHONE, Site, visitor
from tests.factories import make_student
from tests.files import csv_bytes


def _pilot_school(site: Site) -> str:
    with Session(site.engine) as session:
        school = session.exec(
            select(School)
            .where(col(School.kind) == SchoolKind.PILOT)
            .order_by(col(School.school_id))
        ).first()
    assert school is not None
    return school.school_id


def test_the_coordinator_previews_an_import_creates_an_account_and_reads_the_log(
    chromium: Any, site: Site, screenshots: Path, tmp_path: Path
) -> None:
    """A file with a bad cell shows the problem by row and column and cannot be applied;
    the corrected file's preview counts two students to create, and applying stores them;
    a teacher account is created with its password shown once; the audit log filtered by
    action lists that creation; the schools and a school's page open."""
    school_id = _pilot_school(site)
    suffix = secrets.token_hex(3)
    ids = [f"ADMIN-{suffix}-1", f"ADMIN-{suffix}-2"]
    students = [
        make_student(ids[0], school_id=school_id, first_name="Maëlys", last_name="Garnier"),
        make_student(ids[1], school_id=school_id, first_name="Yanis", last_name="Lefèvre"),
    ]
    frame = students_frame(students)
    good = tmp_path / "eleves.csv"
    good.write_bytes(csv_bytes(frame))
    frame.loc[1, "birth_date"] = "2006-02-31"
    bad = tmp_path / "eleves-erreur.csv"
    bad.write_bytes(csv_bytes(frame))

    browser = visitor(chromium, site, screenshots)
    page = browser.page
    browser.sign_in(Role.COORDINATOR)
    browser.goto("/coordinator/imports")

    page.get_by_label("Fichier des élèves (.csv ou .xlsx)").set_input_files(str(bad))
    page.get_by_role("button", name="Voir l'aperçu de l'import").first.click()
    browser.check("preview-with-a-problem")
    problem = page.locator("#problems tbody tr").first.inner_text()
    assert "3" in problem
    assert "birth_date" in problem
    assert "2006-02-31" in problem
    assert page.get_by_role("button", name="Appliquer l'import").count() == 0

    page.get_by_role("link", name="Envoyer un fichier corrigé").click()
    page.wait_for_load_state("load")
    page.get_by_label("Fichier des élèves (.csv ou .xlsx)").set_input_files(str(good))
    page.get_by_role("button", name="Voir l'aperçu de l'import").first.click()
    browser.check("preview-to-apply")
    assert " ".join(page.inner_text(".cards").split()).startswith("2 à créer")
    page.get_by_role("button", name="Appliquer l'import").click()
    browser.check("applied")
    assert "Créations : 2" in page.inner_text("[role=status]")
    with Session(site.engine) as session:
        stored = session.exec(select(Student.student_id).where(col(Student.student_id).in_(ids)))
        assert sorted(stored.all()) == ids

    username = f"prof-{suffix}@lycee.example"
    browser.goto("/coordinator/accounts")
    page.get_by_label("Type de compte", exact=True).first.select_option("teacher")
    page.locator("#field-username").fill(username)
    page.get_by_label("Nom complet").fill("Camille Durand")
    page.get_by_label("Établissement (comptes d'enseignant)").select_option(school_id)
    page.get_by_role("button", name="Créer le compte").click()
    browser.check("account-created")
    assert page.locator("h1").inner_text() == "Compte créé"
    assert len(page.locator("#password").inner_text()) >= 12

    browser.goto("/coordinator/audit")
    page.get_by_label("Action", exact=True).select_option("create_account")
    page.get_by_role("button", name="Filtrer").click()
    browser.check("audit-filtered")
    assert "action=create_account" in page.url
    assert username in page.inner_text("table")

    browser.goto("/coordinator/schools")
    page.locator(f'a[href="/coordinator/schools/{school_id}"]').click()
    browser.check("school")
    assert page.get_by_role("heading", name="Étapes de préparation en retard").is_visible()

    (screenshots / "phone").mkdir()
    phone = visitor(chromium, site, screenshots / "phone", PHONE)
    phone.sign_in(Role.COORDINATOR)
    phone.goto("/coordinator/imports")
    phone.goto("/coordinator/accounts")
    assert not browser.dialogs
    assert not phone.dialogs
