"""In Chromium: the demo teacher's journey, from sign-in to the school's ZIP downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.models import Account, Role
from mobility_match.services import follow_up
from tests.browser.site import PHONE, Site, visitor

CONTACT = ("address", "city", "contact_name", "contact_email", "phone")


def _placed_student(site: Site) -> tuple[str, str]:
    """A student of the demo teacher's school with a current placement, who is not the demo
    student (whose printed invitation belongs to another test): id and first name."""
    teacher = site.account(Role.TEACHER)
    student = site.account(Role.STUDENT)
    with Session(site.engine) as session:
        account = session.exec(select(Account).where(Account.username == teacher.username)).one()
        demo = session.exec(select(Account).where(Account.username == student.username)).one()
        viewer = Viewer.of(account)
        round_ = follow_up.current_round(session, viewer)
        assert round_ is not None
        assert round_.id is not None
        placements = follow_up.current_placements(
            session, viewer, round_.id, account.school_id or ""
        )
    chosen = next(p for p in placements if p.student_id != demo.student_id)
    return chosen.student_id, chosen.first_name


def test_the_teacher_follows_students_invites_edits_the_school_and_downloads_the_zip(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """The teacher sees the school's students, ticks a step of one (and unticks it), invites
    another student than the demo one (link and QR code shown once), edits the school's
    contact (and puts it back), opens the documents, starts the ZIP and downloads it."""
    browser = visitor(chromium, site, screenshots)
    page = browser.page
    browser.sign_in(Role.TEACHER)
    assert page.url.endswith("/teacher")
    browser.check("students")
    assert page.locator("h1").inner_text().startswith("Nos élèves")
    assert page.locator("table tbody tr").count() >= 2

    student_id, first_name = _placed_student(site)
    page.locator(f"a[href='/teacher/students/{student_id}']").click()
    browser.check("student")
    assert first_name in page.locator("h1").inner_text()

    # Tick a step the teacher may tick, then untick it: the demo data stays as it was.
    tick = page.locator("form[action*='/steps/']").first
    action = tick.get_attribute("action")
    tick.locator("button").click()
    browser.check("step-ticked")
    assert "Étape marquée faite" in page.inner_text("[role=status]")
    page.locator(f"form[action='{action}'] button").click()
    page.wait_for_load_state("load")
    assert "Étape marquée non faite" in page.inner_text("[role=status]")

    page.get_by_role("button", name="Créer un lien d'invitation").click()
    browser.check("invitation")
    link = page.locator(".link-once").inner_text()
    assert "/invite/" in link
    assert page.locator(".qr img[src^='data:image/svg+xml']").is_visible()
    assert page.get_by_role("button", name="Imprimer").is_visible()

    browser.goto("/teacher/school")
    before = {field: page.locator(f"#field-{field}").input_value() for field in CONTACT}
    page.get_by_label("Courriel").fill("pas une adresse")
    page.get_by_role("button", name="Enregistrer").click()
    browser.check("school-refused")
    assert page.locator("#error-contact_email").is_visible()
    page.get_by_label("Courriel").fill("mobilite@lycee.example")
    page.get_by_label("Personne à contacter").fill("Nadia Benali")
    page.get_by_role("button", name="Enregistrer").click()
    browser.check("school-saved")
    assert "sont enregistrées" in page.inner_text("[role=status]")
    for field, value in before.items():  # put the demo school back as it was
        page.locator(f"#field-{field}").fill(value)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("load")
    assert page.locator("#field-contact_name").input_value() == before["contact_name"]

    browser.goto("/teacher/documents")
    assert "/schools/" in page.url
    assert page.url.endswith("/documents")
    assert page.locator("table.documents").count() >= 1
    page.get_by_label("Liste de préparation").check()
    page.get_by_label("Lettre à l'élève").check()
    page.get_by_role("button", name="Préparer le ZIP").click()
    page.wait_for_load_state("load")
    assert "/jobs/" in page.url
    browser.check("zip-progress")
    download_link = page.get_by_role("link", name="Télécharger le ZIP", exact=False)
    download_link.wait_for(timeout=120_000)
    browser.check("zip-ready")
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    saved = screenshots / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"

    browser.goto("/jobs")
    assert page.get_by_role("link", name="Télécharger", exact=False).count() >= 1

    phone = visitor(chromium, site, screenshots, PHONE)
    phone.sign_in(Role.TEACHER)
    phone.check("students-phone")
    assert not browser.dialogs
    assert not phone.dialogs
