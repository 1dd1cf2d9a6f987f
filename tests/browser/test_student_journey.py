"""In Chromium, on a phone (360 px): a placed student of the demo's current round opens a
fresh invitation link, presses the button, sees the placement and its map link, confirms
through the confirmation step, ticks a checklist step, downloads the letter and reads
"why this placement". Every page is checked with axe-core and photographed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.models import (
    Account,
    Assignment,
    Response,
    Role,
    Round,
    RoundStatus,
    Student,
)
from mobility_match.services import invitations
from tests.browser.site import DESKTOP, PHONE, Site, visitor


def _invite_a_placed_student(site: Site) -> tuple[str, str]:
    """A fresh invitation link of a placed student of the current round who has not
    answered yet, outside the demo teacher's school (whose journey is another test's);
    the link's path and the student's first name."""
    with Session(site.engine, expire_on_commit=False) as session:
        coordinator = session.exec(
            select(Account).where(Account.role == Role.COORDINATOR).order_by(col(Account.id))
        ).first()
        teacher = session.exec(select(Account).where(Account.role == Role.TEACHER)).first()
        assert coordinator is not None
        assert teacher is not None
        current = session.exec(
            select(Round)
            .where(Round.status == RoundStatus.PUBLISHED, col(Round.superseded_by).is_(None))
            .order_by(col(Round.id).desc())
        ).first()
        assert current is not None, "the demo publishes a first round"
        candidates = session.exec(
            select(Assignment, Student)
            .join(Student, col(Student.student_id) == Assignment.student_id)
            .where(
                Assignment.round_id == current.id,
                col(Assignment.offer_id).is_not(None),
                Assignment.response == Response.PENDING,
                Assignment.school_id != teacher.school_id,
            )
            .order_by(col(Assignment.student_id).desc())
        ).all()
        assert candidates, "the demo round places students of several schools"
        # One who made choices, so that "why" judges them, if the demo has one.
        placed = next((a for a, s in candidates if s.preferences), candidates[0][0])
        token, _credential = invitations.invite_student(
            session, Viewer.of(coordinator), placed.student_id, settings=site.settings
        )
        return f"/invite/{token}", placed.first_name


def test_a_placed_student_confirms_ticks_a_step_downloads_the_letter_and_reads_why(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """The link's page greets the student by first name with one button; the button leads
    to the placement with an OpenStreetMap link; confirming asks first, then says thank
    you; a step is ticked (and unticked again, leaving the demo as found); the letter
    downloads as a PDF; "why this placement" explains the rules and the goals."""
    path, first_name = _invite_a_placed_student(site)
    browser = visitor(chromium, site, screenshots, PHONE)
    page = browser.page
    page.goto(site.url + path)
    browser.check("invitation")  # named: the address holds the secret
    assert first_name in page.locator("h1").inner_text()
    page.get_by_role("button", name="Accéder à mon espace").click()
    browser.check("placement")
    assert page.url == site.url + "/student"
    map_link = page.get_by_role("link", name="Voir l'adresse sur une carte (OpenStreetMap)")
    assert map_link.get_attribute("href").startswith("https://www.openstreetmap.org/search?")
    assert "En attente de votre réponse" in page.inner_text("main")

    page.get_by_role("link", name="Confirmer ce stage").click()
    browser.check("confirmation-step")
    assert "vous vous engagez à partir en stage" in page.inner_text("main")
    page.get_by_role("button", name="Oui, je confirme ce stage").click()
    browser.check("confirmed")
    assert "votre stage est confirmé" in page.inner_text("[role=status]")
    assert "Vous avez confirmé ce stage" in page.inner_text("main")

    page.get_by_role("link", name="Suivre et cocher mes étapes de préparation").click()
    browser.check("checklist")
    own_steps = page.get_by_role("button", name="C'est fait")
    before = own_steps.count()
    assert before > 0
    own_steps.first.click()
    browser.check("ticked")
    assert "C'est noté" in page.inner_text("[role=status]")
    assert page.get_by_role("button", name="C'est fait").count() == before - 1
    page.get_by_role("button", name="Finalement pas fait").first.click()
    page.wait_for_load_state("load")
    assert page.get_by_role("button", name="C'est fait").count() == before

    page.get_by_role("link", name="Mon stage").click()
    page.wait_for_load_state("load")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Ma lettre de stage (PDF)").click()
    letter = downloading.value
    assert letter.suggested_filename.endswith(".pdf")
    assert Path(letter.path()).read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Pourquoi ce stage", exact=True).click()
    browser.check("why")
    why = page.inner_text("main")
    assert "L311-3-1" in why
    assert "Les cinq règles" in why
    assert "placer le plus grand nombre d'élèves possible" in why
    page.set_viewport_size(DESKTOP)
    browser.check("why-desktop")
    assert not browser.dialogs
