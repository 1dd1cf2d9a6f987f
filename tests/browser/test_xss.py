"""In Chromium: script payloads typed into every kind of free text come out inert on every
page that shows them; every page a crawl reaches passes axe-core.

It runs last of the browser tests (file name order): it adds a school's worth of hostile
text to the live site. The payloads go in through the services, as an import, a form or a
partner's offer would bring them: students' names, a school's name and contact, a company's
name, city, address and tutor, a round's name, an account's display name. Then each role's
pages are crawled from its home page, following the links of the pages (not the files),
and no page may open a dialog or hold an element the payloads would create.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.models import Account, Role, SchoolKind, Student
from mobility_match.services import accounts, invitations, people, rounds
from mobility_match.services.imports import import_students
from mobility_match.services.offers import OfferFields, create_offer
from mobility_match.services.solving import Solver
from tests.browser.site import Site, Visitor, visitor

PAYLOADS = (
    '<script>alert("xss-script")</script>',
    '"><img src=x onerror=alert("xss-img")>',
    "'><svg onload=alert('xss-svg')>",
)
FIRST, SECOND, THIRD = PAYLOADS

SKIPPED = ("/logout", "/api/", "/static/", "/docs", "/openapi.json", "/invite/")
FILES = (".pdf", ".csv", ".xlsx", ".zip", "/download", "/personal-data")
PAGES_PER_ROLE = 30
VARIANTS_PER_PATH = 2


def _viewer(session: Session, role: Role) -> Viewer:
    account = session.exec(
        select(Account).where(Account.role == role).order_by(col(Account.id))
    ).first()
    assert account is not None
    return Viewer.of(account)


def _plant_payloads(site: Site) -> None:
    """Hostile text in every kind of free text, through the services."""
    with Session(site.engine, expire_on_commit=False) as session:
        coordinator = _viewer(session, Role.COORDINATOR)
        partner = _viewer(session, Role.PARTNER)
        teacher = _viewer(session, Role.TEACHER)
        school_id = teacher.school_id
        assert school_id is not None
        school = people.get_school(session, coordinator, school_id)
        people.update_school(
            session,
            coordinator,
            school_id,
            name=f"Lycée {FIRST}",
            kind=SchoolKind.PILOT,
            address=f"1 rue {SECOND}",
            city=school.city,
            contact_name=f"M. {THIRD}",
            contact_email=school.contact_email,
            phone=school.phone,
        )
        header = (
            "student_id,first_name,last_name,gender,birth_date,school_id,diploma,trade,"
            "lang_en,available_from,available_to\n"
        )
        rows = "".join(
            f'XSS-{n},"{payload.replace(chr(34), chr(34) * 2)}",Nom{n},{"FM"[n % 2]},'
            f"2005-01-0{n + 1},{school_id},BAC_PRO,commerce,B1,2027-01-01,2028-12-31\n"
            for n, payload in enumerate(PAYLOADS)
        )
        import_students(
            session, coordinator, (header + rows).encode(), "xss.csv", max_bytes=1 << 20
        )
        create_offer(
            session,
            partner,
            "XSS-OFFER",
            OfferFields(
                company_id="XSS-COMPANY",
                company_name=f"Firma {FIRST}",
                country="DE",
                city=f"Berlin {SECOND}",
                address=f"Straße {THIRD}",
                contact_name=f"Frau {SECOND}",
                contact_email="tutor@firma.example",
                sector="services",
                trades=["commerce"],
                places=2,
                start_date=dt.date(2027, 5, 3),
                end_date=dt.date(2027, 6, 11),
            ),
        )
        accounts.create_account(
            session,
            coordinator,
            username="xss-teacher@demo.example",
            display_name=f"Prof {FIRST}",
            role=Role.TEACHER,
            password="a long enough password 1",
            school_id=school_id,
        )
        round_ = rounds.create_round(
            session, coordinator, name=f"Tour {SECOND}", default_time_limit=20
        )
        round_id = round_.id or 0
        solver = Solver(site.engine, site.settings, workers=1)
        try:
            attempt = rounds.request_solve(session, coordinator, round_id, solver.lease)
            solver.start(round_id, attempt).result()
        finally:
            solver.shutdown()


def _page_links(page: Any, base: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.path.startswith(SKIPPED) or parts.path.endswith(FILES):
            continue
        found.append(path)
    return found


def _kind(path: str) -> str:
    """A page's kind: its path with every segment holding a digit (an id) as `{id}`."""
    return re.sub(r"/[^/]*\d[^/]*", "/{id}", path.split("?", 1)[0])


def _crawl(browser: Visitor, start: str, shown: Counter[str] | None = None) -> list[str]:
    """Open every page reachable by links from `start` (bounded); look for the payloads'
    elements on each one, and check each kind of page once (axe-core, keyboard, a
    screenshot: the pages of one kind share their template); count in `shown` the
    payloads each page shows as text."""
    queue, seen, per_path, kinds = [start], set(), Counter[str](), set()
    opened = []
    while queue and len(opened) < PAGES_PER_ROLE:
        path = queue.pop(0)
        bare = path.split("?", 1)[0]
        if path in seen or per_path[bare] >= VARIANTS_PER_PATH:
            continue
        seen.add(path)
        per_path[bare] += 1
        response = browser.page.goto(browser.site.url + path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        if _kind(path) not in kinds:
            kinds.add(_kind(path))
            browser.check()
        opened.append(path)
        assert browser.page.locator("img[src='x'], svg[onload]").count() == 0, path
        scripts = browser.page.eval_on_selector_all("script", "s => s.map(e => e.textContent)")
        assert not any("xss" in (script or "") for script in scripts), path
        if shown is not None:
            text = browser.page.inner_text("body")
            shown.update(payload for payload in PAYLOADS if payload in text)
        queue.extend(_page_links(browser.page, browser.site.url))
    return opened


def test_free_text_is_inert_on_every_page_of_every_role(
    chromium: Any, site: Site, screenshots: Path
) -> None:
    """Payloads in names, schools, companies, a round and an account: no page of any role
    opens a dialog or holds a payload's element, and the payloads are shown as text."""
    _plant_payloads(site)
    shown: Counter[str] = Counter()
    for role in (Role.COORDINATOR, Role.TEACHER, Role.PARTNER):
        browser = visitor(chromium, site, screenshots / role.value)
        browser.folder.mkdir(parents=True, exist_ok=True)
        browser.sign_in(role)
        opened = _crawl(browser, "/home", shown)
        assert len(opened) > 1, f"{role.value}: the crawl opened {opened}"
        assert browser.dialogs == [], f"{role.value}: {browser.dialogs}"
    # The payloads were really on pages, as plain text: the test exercised the escaping.
    assert set(shown) == set(PAYLOADS), shown

    # A student: a fresh link for one of the hostile-named students in the solved round.
    with Session(site.engine) as session:
        coordinator = _viewer(session, Role.COORDINATOR)
        student = session.exec(select(Student).where(Student.student_id == "XSS-0")).one()
        token, _ = invitations.invite_student(
            session, coordinator, student.student_id, settings=site.settings
        )
    pupil = visitor(chromium, site, screenshots / "student")
    pupil.folder.mkdir(parents=True, exist_ok=True)
    pupil.goto(f"/invite/{token}")
    pupil.page.get_by_role("button").first.click()
    pupil.page.wait_for_load_state("load")
    _crawl(pupil, "/home")
    assert pupil.dialogs == []
