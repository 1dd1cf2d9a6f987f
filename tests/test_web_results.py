"""The coordinator's review of a round through its pages: the assignments table (sorted,
filtered, paged), the statistics with their charts, one student's page with the rules each
offer breaks, and moves by hand, on a real solved round."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from urllib.parse import unquote

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.db import alembic_config
from mobility_match.domain import Country, Gender, Sector
from mobility_match.models import Assignment, Role, School, SchoolKind
from mobility_match.services import review as review_service
from mobility_match.web.charts import LABEL_ROOM, Series, bar_chart, shorten, text_width
from tests.accounts import add_school, session_headers
from tests.factories import make_offer, make_student
from tests.pages import browser, follow, new_signed_in, submit, text_of
from tests.programme import wait_for_round

COMMERCE = 50
"""Commerce students: every one has acceptable offers (60 places for them)."""
MECHANICS = 10
"""Car mechanics students: no offer takes their trade, so they stay unplaced."""


@dataclass(frozen=True)
class Review:
    round_id: int
    client: TestClient


def _solved_round(client: TestClient, engine: Engine) -> Review:
    """Two schools, 60 students (girls and boys alternately), commerce offers in Germany and
    Poland with 10 places to spare, and a cooking offer: solved, not published."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée Arago", kind=SchoolKind.PILOT))
        session.add(School(school_id="LP-B", name="Lycée Bréguet", kind=SchoolKind.PILOT))
        for offer in (
            make_offer("DE-COM", places=30, company_name="Kaufhaus Sommer GmbH"),
            make_offer(
                "PL-COM",
                country=Country.PL,
                city="Kraków",
                places=30,
                company_name="Sklep Wiślany",
            ),
            make_offer(
                "DE-CUI",
                trades=frozenset({"cuisine"}),
                company_name="Gasthaus zur Linde",
                sector=Sector.SERVICES,
            ),
        ):
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        for number in range(COMMERCE + MECHANICS):
            student = make_student(
                f"S{number:03d}",
                first_name=f"Prénom{number:03d}",
                last_name=f"Nom{(number * 37) % 60:03d}",
                gender=Gender.F if number % 2 == 0 else Gender.M,
                school_id="LP-A" if number % 3 else "LP-B",
                trade="commerce" if number < COMMERCE else "mv",
            )
            session.add(records.student_row(student))
        session.commit()
    account_id = new_signed_in(client, engine, "coordinator@example.org", Role.COORDINATOR)
    api = session_headers(engine, account_id)
    created = client.post("/api/rounds", json={"name": "Printemps 2027"}, headers=api)
    round_id: int = created.json()["id"]
    client.post(f"/api/rounds/{round_id}/solve", headers=api).raise_for_status()
    solved = wait_for_round(client, round_id, api)
    assert solved["status"] == "solved", solved
    assert solved["report"]["placed"] == COMMERCE
    return Review(round_id, client)


@pytest.fixture
def review(app: FastAPI, engine: Engine) -> Iterator[Review]:
    with browser(app) as client:  # the application's startup (the solver) runs
        yield _solved_round(client, engine)


def _names(html: str) -> list[str]:
    """The students' names in the table, in its order."""
    return re.findall(r'/students/S\d+">([^<]+)</a>', html)


def _gender_cells(html: str) -> set[str]:
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html, flags=re.S)
    return {re.findall(r"<td>([^<]*)</td>", row)[1] for row in rows}


def test_the_table_is_sorted_by_name_and_paged(review: Review) -> None:
    """The first page holds 50 rows sorted by name, the header says it is sorted; a second
    page holds the rest; sorting by name the other way reverses the order."""
    base = f"/coordinator/rounds/{review.round_id}/assignments"
    first = review.client.get(base)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    names = _names(first.text)
    assert len(names) == 50
    assert names == sorted(names)
    assert 'aria-sort="ascending"' in first.text
    assert "60 affectations correspondent." in text_of(first.text)
    assert "Page 1 sur 2" in text_of(first.text) or "Page 1 of 2" in text_of(first.text)
    assert 'rel="next"' in first.text

    second = review.client.get(f"{base}?page=2")
    rest = _names(second.text)
    assert len(rest) == 10
    assert names[-1] < rest[0]

    backwards = review.client.get(f"{base}?sort=name&order=desc")
    assert 'aria-sort="descending"' in backwards.text
    reversed_names = _names(backwards.text)
    assert reversed_names == sorted(names + rest, reverse=True)[:50]


def test_filters_narrow_the_table(review: Review) -> None:
    """A filter by gender shows only that gender; by reason only the unplaced of that reason;
    by school only its students; the filters stay in the page links."""
    base = f"/coordinator/rounds/{review.round_id}/assignments"
    girls = review.client.get(f"{base}?gender=F")
    assert _gender_cells(girls.text) == {"Fille"}
    assert "30 affectations correspondent." in text_of(girls.text)

    unplaced = review.client.get(f"{base}?reason=no_acceptable_offer")
    assert len(_names(unplaced.text)) == MECHANICS
    assert "Aucune offre compatible" in text_of(unplaced.text)

    school = review.client.get(f"{base}?school=LP-B&sector=services&sort=school")
    page = text_of(school.text)
    assert "Lycée Bréguet" in page
    assert "Lycée Arago" not in page.split("Affectations, page")[1]
    expected = len([n for n in range(COMMERCE) if n % 3 == 0])
    assert f"{expected} affectations correspondent." in page

    nobody = review.client.get(f"{base}?country=UK")
    assert "Aucune affectation ne correspond à ces filtres." in text_of(nobody.text)


def test_the_statistics_page_draws_every_chart_with_its_numbers(review: Review) -> None:
    """Headline figures, two SVG charts (placements, rates) per country, sector and school
    and one of the reasons, each named for screen readers and with a table of its numbers."""
    page = review.client.get(f"/coordinator/rounds/{review.round_id}/statistics")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 7
    assert html.count('role="img"') == 7
    assert "style=" not in html
    words = text_of(html)
    assert "50 / 60" in words
    assert "Lycée" in words
    assert "Par pays d'accueil" in words
    assert "Par secteur" in words
    assert "Par établissement" in words
    assert "Aucune offre compatible" in words
    # The numbers of the charts: 25 girls and 25 boys placed of 25 eligible each.
    assert "25 / 25" in words
    assert "Pologne" in words
    assert "Allemagne" in words


def test_a_long_category_name_is_shortened_to_fit_left_of_the_bars() -> None:
    """A school name too wide for the room left of the axis is cut with an ellipsis at its
    end, so that no letter is drawn outside the chart; a short name is kept whole."""
    long_name = "CFA des métiers de Chambéry"  # 27 characters, yet wider than the room
    assert text_width(long_name) > LABEL_ROOM
    short = shorten(long_name)
    assert short.endswith("…")
    assert long_name.startswith(short[:-1])
    assert text_width(short) <= LABEL_ROOM
    assert shorten("Lycée Arago") == "Lycée Arago"
    assert shorten("Łódź " * 20).endswith("…")  # letters outside the table count wide
    chart = bar_chart([long_name, "Lycée Arago"], [Series("all", "All")], [[1.0], [2.0]])
    assert [(row.label, row.full_label, row.shortened) for row in chart.rows] == [
        (short, long_name, True),
        ("Lycée Arago", "Lycée Arago", False),
    ]
    assert all(row.x == chart.plot_left - 8 for row in chart.rows)


def test_a_shortened_school_name_is_whole_in_its_tooltip_and_the_table(
    review: Review, engine: Engine
) -> None:
    """On the statistics page, a school name too long for the charts is drawn shortened,
    with the whole name in the label's <title> and in the table of the figures."""
    long_name = "Centre de formation d'apprentis des métiers de Chambéry"
    with Session(engine) as session:
        school = session.get_one(School, "LP-A")
        school.name = long_name
        session.add(school)
        session.commit()
    html = review.client.get(f"/coordinator/rounds/{review.round_id}/statistics").text
    labels = [
        unescape(label)
        for label in re.findall(r'<text class="category"[^>]*>(.*?)</text>', html, flags=re.S)
    ]
    shown = f"<title>{long_name}</title>{shorten(long_name)}"
    assert labels.count(shown) == 2  # the chart of placements and the chart of rates
    assert f'<th scope="row">{long_name}</th>' in unescape(html)


def test_the_student_page_explains_the_rule_an_offer_breaks(review: Review) -> None:
    """An offer of another trade is listed as excluded, with the trade rule said in French
    from the offer's and the student's facts."""
    page = review.client.get(f"/coordinator/rounds/{review.round_id}/students/S000")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Prénom000 Nom000" in words
    assert "2 offres compatibles" in words
    assert "1 offre exclue par les règles" in words
    assert "Métier : l'offre s'adresse à « Cuisine »" in words
    assert "et non à « Métiers du commerce et de la vente », le métier de l'élève" in words
    assert "trade rule" not in words


def test_a_move_that_breaks_a_rule_is_refused_with_its_reason(review: Review) -> None:
    """Moving a commerce student to the cooking offer answers 422 on the student's page with
    the broken rule in words, the typed offer kept in the form, and nothing moved."""
    page = f"/coordinator/rounds/{review.round_id}/students/S000"
    before = review.client.get(page).text
    refused = submit(review.client, f"{page}/move", {"typed_offer_id": "DE-CUI"}, page=page)
    assert refused.status_code == 422
    words = text_of(refused.text)
    assert "Le changement est refusé." in words
    assert "Métier : l'offre s'adresse à « Cuisine »" in words
    assert 'value="DE-CUI"' in refused.text
    assert 'role="alert"' in refused.text
    after = review.client.get(page).text
    assert _placement(after) == _placement(before)

    unknown = submit(review.client, f"{page}/move", {"typed_offer_id": "XX-999"}, page=page)
    assert unknown.status_code == 422
    assert "XX-999 n'est pas une offre de ce tour." in text_of(unknown.text)

    nothing = submit(review.client, f"{page}/move", {}, page=page)
    assert nothing.status_code == 422
    assert "Choisissez une offre dans la liste" in text_of(nothing.text)


def _placement(html: str) -> str:
    found = re.search(r'<section aria-labelledby="placement">(.*?)<h3>', html, flags=re.S)
    assert found
    return text_of(found.group(1))


def test_a_move_to_a_free_acceptable_offer_succeeds(review: Review, engine: Engine) -> None:
    """A student is moved to the other commerce offer, which has free places, and locked
    there; unlocking and unplacing work from the same page."""
    with Session(engine) as session:
        rows = session.exec(
            select(Assignment).where(
                Assignment.round_id == review.round_id, col(Assignment.offer_id).is_not(None)
            )
        ).all()
    taken = Counter(row.offer_id for row in rows)
    free = next(offer for offer in ("DE-COM", "PL-COM") if taken[offer] < 30)
    student = next(row.student_id for row in rows if row.offer_id != free)
    page = f"/coordinator/rounds/{review.round_id}/students/{student}"
    form = review.client.get(page).text
    assert f'<option value="{free}">' in form
    moved = submit(review.client, f"{page}/move", {"offer_id": free}, page=page)
    flash = unquote(moved.headers.get("set-cookie", ""))  # a cookie: no personal data in it
    assert free in flash
    assert "Prénom" not in flash
    assert "Nom" not in flash
    shown = follow(review.client, moved)
    words = text_of(shown.text)
    assert f"est désormais affecté(e) à l'offre {free}" in words
    assert "Oui : un nouveau calcul le conserve" in words

    unlocked = follow(review.client, submit(review.client, f"{page}/unlock", page=page))
    assert "L'affectation est déverrouillée" in text_of(unlocked.text)
    unplaced = follow(review.client, submit(review.client, f"{page}/unplace", page=page))
    assert "Laissé sans stage par un coordinateur" in text_of(unplaced.text)
    with Session(engine) as session:
        row = session.exec(
            select(Assignment).where(
                Assignment.round_id == review.round_id, Assignment.student_id == student
            )
        ).one()
    assert row.offer_id is None
    assert row.locked


def test_other_roles_may_not_open_the_review_pages(app: FastAPI, engine: Engine) -> None:
    """A teacher gets the 403 page; without a session, the sign-in page."""
    add_school(engine, "LP-A")
    with browser(app) as client:
        target = "/coordinator/rounds/1/statistics"
        assert client.get(target).headers["location"].startswith("/login?next=")
        new_signed_in(client, engine, "teacher@example.org", Role.TEACHER, school_id="LP-A")
        assert client.get(target).status_code == 403


def test_migration_0004_fills_gender_trade_and_sector_from_the_snapshot(
    review: Review, engine: Engine
) -> None:
    """Going down to 0003 and up again fills the new columns of existing assignments from each
    round's snapshot (the sector from the trade)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("one database engine is enough to check the data step")
    config = alembic_config(engine)
    command.downgrade(config, "0003")
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT student_id, gender, trade, sector FROM assignment ORDER BY student_id")
        ).all()
    assert rows[0] == ("S000", "F", "commerce", "services")
    assert rows[-1] == ("S059", "M", "mv", "production")


def test_statistics_by_gender_add_up(review: Review, engine: Engine) -> None:
    """The figures by gender for each country add up to each gender's placements."""
    with Session(engine) as session:
        stats = review_service.statistics(
            session, Viewer(1, "coordinator@example.org", Role.COORDINATOR), review.round_id
        )
    for gender in ("F", "M"):
        placed = sum(by[gender].placed for by in stats.by_country_and_gender.values())
        assert placed == stats.by_gender[gender].placed == 25
    assert stats.lowest_school in ("LP-A", "LP-B")
    assert stats.by_sector_and_gender["production"]["M"].eligible == 0
