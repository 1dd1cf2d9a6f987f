"""What browser tests use: the live site, a visit that checks accessibility and takes a
screenshot, signing in as a demo account, and the dialogs a page opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import Engine

from mobility_match.config import Settings
from mobility_match.models import Role
from mobility_match.services.demo import DemoAccount

CHROMIUM = "/usr/bin/chromium"

SERIOUS = ("serious", "critical")
"""Impacts of axe-core violations that fail a test."""

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Site:
    url: str
    settings: Settings
    engine: Engine
    accounts: list[DemoAccount]
    screenshots: Path

    def account(self, role: Role) -> DemoAccount:
        return next(account for account in self.accounts if account.role is role)


@dataclass
class Visitor:
    """A browser context (its own cookies) on the site, checking every page it sees."""

    site: Site
    page: Any
    folder: Path
    dialogs: list[str] = field(default_factory=list)
    shots: int = 0
    checked: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.site.url + path)
        self.check()
        return response

    def check(self, name: str | None = None) -> None:
        """Check the current page for serious accessibility problems; take its screenshot."""
        self.page.wait_for_load_state("load")
        violations = accessibility_violations(self.page)
        assert not violations, f"{self.page.url}: {violations}"
        unreachable = keyboard_unreachable(self.page)
        assert not unreachable, f"{self.page.url}: not reachable by keyboard: {unreachable}"
        self.checked.append(self.page.url)
        self.shot(name)

    def shot(self, name: str | None = None) -> Path:
        """Save the page's screenshot to look at (out/screenshots/); CI, where nobody looks,
        sets MOBILITY_MATCH_SCREENSHOTS=0 and saves the time."""
        self.shots += 1
        label = name or self.page.url.split("//", 1)[-1].split("/", 1)[-1].replace("/", "_")
        path = self.folder / f"{self.shots:02d}-{label[:60] or 'home'}.png"
        if os.environ.get("MOBILITY_MATCH_SCREENSHOTS", "1") != "0":
            self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, role: Role) -> None:
        """Sign in as the demo account of `role` through the sign-in page (staff) or the
        invitation link (student)."""
        account = self.site.account(role)
        if role is Role.STUDENT:
            raise ValueError("students sign in through an invitation link")
        self.goto("/login")
        self.page.get_by_label("Identifiant").fill(account.username)
        self.page.get_by_label("Mot de passe").fill(account.secret)
        self.page.get_by_role("button", name="Se connecter").click()
        self.page.wait_for_load_state("load")


_UNREACHABLE = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary'))
  .filter(e => e.offsetParent !== null && !e.disabled)
  .filter(e => e.tabIndex < 0 || e.closest('[inert]'))
  .map(e => e.outerHTML.slice(0, 120))"""
_POSITIVE_TABINDEX = (
    "() => Array.from(document.querySelectorAll('[tabindex]')).filter(e => e.tabIndex > 0).length"
)


def keyboard_unreachable(page: Any) -> list[str]:
    """Visible controls that Tab never reaches, and any positive tabindex (which breaks the
    reading order of the keyboard)."""
    found: list[str] = page.evaluate(_UNREACHABLE)
    if page.evaluate(_POSITIVE_TABINDEX):
        found.append("an element with a positive tabindex")
    return found


def tab_to(page: Any, locator: Any, presses: int = 80) -> None:
    """Press Tab until `locator` has the focus (as a keyboard user moves through a page)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{locator} was not reached with {presses} presses of Tab")


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def visitor(chromium: Any, site: Site, folder: Path, viewport: dict[str, int] = DESKTOP) -> Visitor:
    """A new browser context (no cookies) whose page records any dialog it opens."""
    context = chromium.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    seen = Visitor(site, page, folder)
    page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    return seen
