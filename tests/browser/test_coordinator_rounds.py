"""In Chromium, on the demo site: the coordinator's rounds, from the dashboard to a solved round.

The demo's published round is only looked at: the test makes a round of its own,
solves it and leaves it unpublished.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mobility_match.models import Role
from tests.browser.site import PHONE, Site, visitor


def test_a_coordinator_creates_and_solves_a_round_and_opens_its_result(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """The dashboard lists the demo's published round and says what a new round would take;
    the form creates a draft round; its solve is started and followed on its page until the
    result shows the placed students, the gender gap and each goal; the published round
    shows the students' answers and the re-run form; the diff of the two results opens."""
    browser = visitor(chromium, site, screenshots)
    page = browser.page
    browser.sign_in(Role.COORDINATOR)
    assert page.url.endswith("/coordinator")
    browser.check("dashboard")
    assert page.locator("h1").inner_text() == "Tours d'affectation"
    assert "Un nouveau tour prendrait" in page.inner_text("main")
    published_row = page.locator("tbody tr", has=page.locator(".badge", has_text="publié"))
    assert published_row.count() >= 1
    published_link = published_row.first.locator("a").get_attribute("href")
    assert published_link is not None

    page.get_by_role("link", name="Nouveau tour").click()
    browser.check("new-round")
    page.get_by_label("Nom du tour").fill("Essai dans le navigateur")
    page.get_by_label("Durée maximale (secondes)").fill("10")
    # Students' choices first: a result unlike the demo's, to compare below.
    page.get_by_label("Objectif n° 1").select_option("preferences")
    page.get_by_label("Objectif n° 2").select_option("placements")
    page.get_by_label("Objectif n° 3").select_option("gender_gap")
    page.get_by_label("Objectif n° 4").select_option("")
    page.get_by_role("button", name="Créer le tour").click()
    browser.check("draft")
    assert "Le tour a été créé" in page.inner_text("[role=status]")
    assert "brouillon" in page.inner_text("main")
    round_path = re.sub(r"^https?://[^/]+", "", page.url)
    assert re.fullmatch(r"/coordinator/rounds/\d+", round_path), round_path

    page.get_by_role("button", name="Lancer la résolution").click()
    page.wait_for_load_state("load")
    if page.locator("#round-state[data-poll]").count():
        # The page follows the solve by itself and reloads once it has ended.
        with page.expect_navigation(timeout=90_000):
            assert page.locator("progress#solve-bar").count() == 1
            browser.shot("progress")  # only a screenshot: the page changes every second
    browser.check("result")
    main = page.inner_text("main")
    assert "résolu" in main
    assert "élèves placés" in main
    assert "Chaque objectif de la résolution" in main
    assert page.get_by_role("button", name="Publier le tour").is_visible()
    page.get_by_role("link", name=re.compile(r"^Affectations du tour \d+$")).is_visible()

    page.set_viewport_size(PHONE)
    browser.check("result-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    browser.goto(published_link)
    main = page.inner_text("main")
    assert "Réponses des élèves" in main
    assert "Nouveau tour après désistements et refus" in main

    # The two results compared, student by student, with names.
    browser.goto(f"{published_link}/diff/{round_path.rsplit('/', 1)[-1]}")
    assert re.match(r"Tour \d+ comparé au tour \d+", page.locator("h1").inner_text())
    assert "élèves sont placés autrement" in page.inner_text("main [role=status]")
    assert page.locator("tbody tr").count() >= 2
    assert not browser.dialogs
