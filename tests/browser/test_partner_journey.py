"""In Chromium: the demo partner's journey, from sign-in to the CSV of its placed students.

It adds an offer of its own (refused once, with the problem next to its field), edits it,
switches to German and withdraws it through the confirmation step, opens the placements
page and downloads the CSV, then goes back to French as the other journeys expect. The
demo offers are left untouched.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlmodel import Session

from mobility_match.models import Offer, OfferStatus, Role
from tests.browser.site import PHONE, Site, visitor


def test_the_partner_adds_edits_and_withdraws_an_offer_and_sees_its_placements(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """Every page of the partner's journey works by form, passes axe-core, and says its
    problems and results in the partner's language (French, then German)."""
    browser = visitor(chromium, site, screenshots)
    page = browser.page
    browser.sign_in(Role.PARTNER)
    assert page.url.endswith("/partner")
    browser.check("offers")
    assert page.locator("h1").inner_text() == "Nos offres"
    assert page.locator("table.partner-offers tbody tr").count() > 0

    page.get_by_role("link", name="Nouvelle offre").click()
    browser.check("new-offer")
    # Each field has its label (axe-core checks it); fields are reached by id below.
    assert page.get_by_role("textbox", name="Premier jour").count() == 1
    offer_id = page.locator("#field-offer_id").input_value()
    assert offer_id
    page.locator("#field-company_id").fill("DE-C-JOURNEY")
    page.locator("#field-company_name").fill("Werkstatt Morgenrot GmbH")
    page.locator("#field-city").fill("Dresden")
    page.locator("#field-address").fill("Bautzner Straße 7, 01099 Dresden")
    page.locator("#field-contact_name").fill("Jana Morgenrot")
    page.locator("#field-contact_email").fill("jana@morgenrot.example")
    page.locator("#field-sector").select_option("production")
    page.locator("#trade-mv").check()
    page.locator("#field-places").fill("1")
    page.locator("#field-start_date").fill("2027-05-03")
    page.locator("#field-end_date").fill("2027-04-02")  # before the first day
    page.get_by_role("button", name="Ajouter l'offre").click()
    browser.check("refused")
    assert "Le dernier jour est avant le premier jour" in page.inner_text("#error-end_date")
    assert page.locator("p.error").count() == 1
    assert page.locator("#field-company_name").input_value() == "Werkstatt Morgenrot GmbH"

    page.locator("#field-end_date").fill("2027-06-11")
    page.get_by_role("button", name="Ajouter l'offre").click()
    browser.check("added")
    assert f"L'offre {offer_id} a été ajoutée." in page.inner_text("[role=status]")
    assert "Werkstatt Morgenrot GmbH" in page.inner_text("table.partner-offers")

    page.get_by_role("link", name=f"Modifier l'offre {offer_id}").click()
    browser.check("edit")
    page.locator("#field-places").fill("2")
    page.get_by_role("button", name="Enregistrer l'offre").click()
    browser.check("saved")
    assert f"L'offre {offer_id} a été enregistrée." in page.inner_text("[role=status]")
    with Session(site.engine) as session:
        stored = session.get(Offer, offer_id)
        assert stored is not None
        assert stored.places == 2

    page.get_by_label("Langue").select_option("de")
    page.get_by_role("button", name="Changer").click()
    browser.check("german")
    assert page.locator("h1").inner_text() == "Unsere Angebote"
    page.get_by_role("link", name=f"Angebot {offer_id} zurückziehen").click()
    browser.check("withdraw-confirm")
    assert "Was das Zurückziehen bewirkt" in page.inner_text("main")
    with Session(site.engine) as session:
        asked = session.get(Offer, offer_id)
        assert asked is not None
        assert asked.status is OfferStatus.OPEN
    page.get_by_role("button", name=f"Angebot {offer_id} zurückziehen").click()
    browser.check("withdrawn")
    assert f"Das Angebot {offer_id} wurde zurückgezogen." in page.inner_text("[role=status]")
    with Session(site.engine) as session:
        withdrawn = session.get(Offer, offer_id)
        assert withdrawn is not None
        assert withdrawn.status is OfferStatus.WITHDRAWN

    page.get_by_role("link", name="Vermittelte Personen").click()
    browser.check("placements")
    assert page.locator("h1").inner_text() == "In Ihren Unternehmen vermittelte Personen"
    shown = page.locator("table.partner-placements tbody tr").count()
    assert shown > 0  # the demo's published round places students with OFAJ
    with page.expect_download() as download:
        page.get_by_role("link", name="Als CSV herunterladen").click()
    body = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == shown
    assert {row["response"] for row in rows} <= {"pending", "confirmed", "declined"}
    assert all(row["school_name"] for row in rows)

    page.get_by_label("Sprache").select_option("fr")
    page.get_by_role("button", name="Ändern").click()
    browser.check("french-again")
    assert page.locator("h1").inner_text() == "Élèves placés dans vos entreprises"

    # The form on a narrow screen, after the journey (the account is French again).
    phone = visitor(chromium, site, screenshots, PHONE)
    phone.sign_in(Role.PARTNER)
    phone.goto("/partner/offers/new")
    assert phone.page.locator("h1").inner_text() == "Nouvelle offre"
    assert not browser.dialogs
    assert not phone.dialogs
