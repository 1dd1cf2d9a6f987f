"""In Chromium: the front page, signing in and out, the language remembered per account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mobility_match.models import Role
from tests.browser.site import PHONE, Site, visitor


def test_a_staff_member_signs_in_chooses_english_and_signs_out(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """The front page explains both ways in; a wrong password is said so; the language chosen
    is kept for the account at the next sign-in; signing out ends the session."""
    browser = visitor(chromium, site, screenshots)
    browser.goto("/")
    page = browser.page
    assert page.locator("h1").inner_text() == "Se connecter"
    assert "lien personnel" in page.inner_text("main")
    account = site.account(Role.TEACHER)
    page.get_by_label("Identifiant").fill(account.username)
    page.get_by_label("Mot de passe").fill("not the password")
    page.get_by_role("button", name="Se connecter").click()
    browser.check("wrong-password")
    assert "Identifiant ou mot de passe incorrect" in page.inner_text("[role=alert]")

    browser.sign_in(Role.TEACHER)
    assert page.url.endswith("/teacher")
    page.get_by_label("Langue").select_option("en")
    page.get_by_role("button", name="Changer").click()
    browser.check("english")
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("load")
    assert page.url == site.url + "/"

    # Another browser, same account: the account remembers English.
    other = visitor(chromium, site, screenshots, PHONE)
    other.goto("/login")
    other.page.get_by_label("Identifiant").fill(account.username)
    other.page.get_by_label("Mot de passe").fill(account.secret)
    other.page.get_by_role("button", name="Se connecter").click()
    other.check("english-remembered")
    assert other.page.get_by_role("button", name="Sign out").is_visible()
    # Back to French, as the other journeys expect the demo accounts.
    other.page.get_by_label("Language").select_option("fr")
    other.page.get_by_role("button", name="Change").click()
    other.page.wait_for_load_state("load")
    assert other.page.get_by_role("button", name="Se déconnecter").is_visible()
    assert not browser.dialogs
    assert not other.dialogs


def test_the_api_documentation_renders_with_no_internet(chromium: Any, site: Site) -> None:
    """/docs draws the API's operations in Chromium from the application's own files (this
    machine reaches no CDN, and the page runs under the same CSP as every page)."""
    page = chromium.new_page()
    page.goto(site.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() > 50
    assert page.get_by_text("/api/rounds/{round_id}/solve").first.is_visible()
    page.close()
