"""In Chromium, with the keyboard alone: skip to the content, sign in, move through the
menu, and answer a form (every page's controls are also checked reachable by Tab in
Visitor.check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mobility_match.models import Role
from tests.browser.site import Site, tab_to, visitor


def test_a_teacher_signs_in_and_reaches_a_student_with_the_keyboard_alone(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """The first Tab shows the skip link; Tab and typing fill the sign-in form, Enter sends
    it; Tab reaches the menu and Enter follows a link; a student's page opens from the list."""
    browser = visitor(chromium, site, screenshots)
    page = browser.page
    browser.goto("/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.is_visible()  # shown when it has the focus
    account = site.account(Role.TEACHER)
    tab_to(page, page.get_by_label("Identifiant"))
    page.keyboard.type(account.username)
    page.keyboard.press("Tab")
    page.keyboard.type(account.secret)
    page.keyboard.press("Enter")
    page.wait_for_url("**/teacher")
    browser.check("signed-in-by-keyboard")

    school = page.get_by_role("link", name="Notre établissement")
    tab_to(page, school)
    page.keyboard.press("Enter")
    page.wait_for_url("**/teacher/school")
    browser.check("school-by-keyboard")

    tab_to(page, page.get_by_role("link", name="Nos élèves"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/teacher")
    first_student = page.locator("main table a[href^='/teacher/students/']").first
    tab_to(page, first_student, presses=200)
    page.keyboard.press("Enter")
    page.wait_for_url("**/teacher/students/**")
    browser.check("student-by-keyboard")
    assert browser.dialogs == []
