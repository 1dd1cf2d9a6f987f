"""In Chromium: the coordinator reviews the demo's published round — the assignments table
sorted, filtered and paged, the statistics with their charts, and one student's page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.models import Account, Role, RoundStatus
from mobility_match.services import rounds
from tests.browser.site import PHONE, Site, visitor


def _published_round(site: Site) -> int:
    """The demo's current published round, looked up now (other tests may add rounds)."""
    with Session(site.engine) as session:
        account = session.exec(select(Account).where(Account.role == Role.COORDINATOR)).first()
        assert account is not None
        viewer = Viewer.of(account)
        found = [
            r
            for r in rounds.list_rounds(session, viewer)
            if r.status is RoundStatus.PUBLISHED and r.superseded_by is None
        ]
    assert found, "the demo publishes a first round"
    assert found[0].id is not None
    return found[0].id


def test_the_coordinator_reviews_a_round(chromium: Any, site: Site, screenshots: Path) -> None:
    """The table sorts by a column and back, filters by gender (only girls are listed, the
    filter is in the address), goes to the next page; the statistics show their charts with
    the numbers under them; a student's page lists the rules each excluded offer breaks."""
    round_id = _published_round(site)
    browser = visitor(chromium, site, screenshots)
    page = browser.page
    browser.sign_in(Role.COORDINATOR)

    browser.goto(f"/coordinator/rounds/{round_id}/assignments")
    assert page.locator("h1").inner_text().startswith(f"Affectations du tour {round_id}")
    table = page.locator("table.assignments")
    assert table.locator("th[aria-sort=ascending]").inner_text().strip().startswith("Nom")
    assert table.locator("tbody tr").count() == 50

    table.get_by_role("link", name="Établissement").click()
    browser.check("sorted-by-school")
    assert "sort=school" in page.url
    assert page.locator("th[aria-sort=ascending]").inner_text().strip().startswith("Établissement")

    page.get_by_role("link", name="Suivant").click()
    browser.check("next-page")
    assert "page=2" in page.url
    assert "Page 2 sur" in page.locator("nav.pager").inner_text()

    page.get_by_label("Genre", exact=True).select_option("F")
    page.get_by_role("button", name="Filtrer").click()
    browser.check("girls")
    assert "gender=F" in page.url
    genders = page.locator("table.assignments tbody tr td:nth-child(3)").all_inner_texts()
    assert genders
    assert set(genders) == {"Fille"}

    browser.goto(f"/coordinator/rounds/{round_id}/statistics")
    assert page.locator("svg.chart").count() == 7
    assert page.locator("svg.chart[role=img][aria-label]").count() == 7
    assert page.locator("table.figures").count() == 4
    assert "écart filles-garçons" in page.inner_text("main")
    # Every category name is drawn inside its chart, long school names shortened to fit.
    outside = page.evaluate(
        """() => [...document.querySelectorAll("svg.chart text.category")]
            .filter((label) => label.getBBox().x < 0)
            .map((label) => label.textContent)"""
    )
    assert outside == []
    assert page.locator("svg.chart text.category title").count() > 0
    phone = visitor(chromium, site, screenshots, PHONE)
    phone.sign_in(Role.COORDINATOR)
    phone.goto(f"/coordinator/rounds/{round_id}/statistics")

    browser.goto(f"/coordinator/rounds/{round_id}/assignments?reason=placed")
    page.locator("table.assignments tbody tr th a").first.click()
    browser.check("student")
    main = page.inner_text("main")
    assert "offres compatibles" in main or "offre compatible" in main
    assert "exclue" in main
    assert "Ce tour est publié" in main
    excluded = page.locator("ul.rejected > li").first.inner_text()
    assert any(word in excluded for word in ("Métier :", "Langue :", "Dates :", "Âge :", "Vœux :"))
    assert not browser.dialogs
    assert not phone.dialogs
