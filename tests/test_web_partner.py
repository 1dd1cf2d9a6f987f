"""The partner organisation's pages, driven as a browser without JavaScript: its offers, the
offer form with its problems next to the fields in the partner's language, withdrawing
with a confirmation step, and who is placed in its companies (page, CSV, XLSX, API)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match import records
from mobility_match.domain import Country
from mobility_match.models import Assignment, Offer, OfferStatus, Response, Role
from tests.factories import make_offer
from tests.pages import browser, follow, new_signed_in, submit, text_of
from tests.published import publish_small_round


def _store_offers(engine: Engine, *offers: object) -> None:
    with Session(engine) as session:
        for offer in offers:
            row, company = records.offer_rows(offer)  # type: ignore[arg-type]
            session.add(company)
            session.flush()
            session.add(row)
        session.commit()


def _offer(engine: Engine, offer_id: str) -> Offer | None:
    with Session(engine) as session:
        return session.get(Offer, offer_id)


def _signed_in_partner(client: TestClient, engine: Engine, partner: str = "OFAJ") -> int:
    return new_signed_in(
        client, engine, f"{partner.lower()}@partner.example", Role.PARTNER, partner=partner
    )


VALID_FORM = {
    "offer_id": "DE-100",
    "company_id": "DE-C100",
    "company_name": "Autohaus Lindner GmbH",
    "city": "Dresden",
    "address": "Königsbrücker Straße 5, 01099 Dresden",
    "contact_name": "Jens Lindner",
    "contact_email": "j.lindner@autohaus-lindner.example",
    "sector": "production",
    "trades": ["mv"],
    "places": "2",
    "start_date": "2027-05-03",
    "end_date": "2027-06-11",
    "language_1": "de",
    "level_1": "A2",
    "language_2": "en",
    "level_2": "B1",
    "accepts_minors": "true",
}


def _error_of(html: str, field: str) -> str:
    """The problem shown next to a field (its `error-<field>` element)."""
    found = re.search(rf'id="error-{field}"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no problem shown next to {field}"
    return text_of(found.group(1))


def test_the_offers_table_shows_only_the_partners_own_offers(app: FastAPI, engine: Engine) -> None:
    """A partner sees its organisation's offers with their trades, dates and state, never
    another partner's; another partner's offer page answers 404."""
    _store_offers(
        engine,
        make_offer("DE-OWN", company_name="Leipziger Handel GmbH", accepts_minors=True),
        make_offer("PL-OTHER", country=Country.PL, city="Kraków", company_name="Sklep Kraków"),
    )
    with browser(app) as client:
        _signed_in_partner(client, engine)
        page = client.get("/partner")
        other = client.get("/partner/offers/PL-OTHER")
        other_withdraw = client.get("/partner/offers/PL-OTHER/withdraw")
    text = text_of(page.text)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "DE-OWN" in text
    assert "Leipziger Handel GmbH" in text
    assert "Métiers du commerce et de la vente" in text  # the trade's French title
    assert "Ouverte" in text
    assert 'href="/partner/offers/DE-OWN/withdraw"' in page.text
    assert 'href="/partner/upload"' in page.text
    assert "PL-OTHER" not in text
    assert "Sklep Kraków" not in text
    assert other.status_code == 404
    assert other_withdraw.status_code == 404


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "fr",
            {
                "company_name": "Ce champ est obligatoire.",
                "places": "Indiquez un nombre entier de places, de 1 à 1000.",
                "end_date": "Le dernier jour est avant le premier jour",
            },
        ),
        (
            "de",
            {
                "company_name": "Dieses Feld ist ein Pflichtfeld.",
                "places": "Geben Sie eine ganze Zahl von Plätzen zwischen 1 und 1000 an.",
                "end_date": "Der letzte Tag liegt vor dem ersten Tag",
            },
        ),
    ],
)
def test_a_refused_offer_shows_each_problem_next_to_its_field_in_the_partners_language(
    app: FastAPI, engine: Engine, language: str, expected: dict[str, str]
) -> None:
    """Three wrong fields give three messages, each next to its field, in the language the
    partner chose, all at once; nothing is stored and the typed values stay in the form."""
    wrong = {**VALID_FORM, "company_name": "", "places": "0", "end_date": "2027-04-01"}
    with browser(app) as client:
        _signed_in_partner(client, engine)
        if language != "fr":
            assert submit(client, "/language", {"language": language}).status_code == 303
        refused = submit(client, "/partner/offers", wrong, page="/partner/offers/new")
    assert refused.status_code == 422
    assert f'<html lang="{language}">' in refused.text
    for field, message in expected.items():
        assert message in _error_of(refused.text, field)
    assert refused.text.count('class="error"') == 3
    assert 'role="alert"' in refused.text
    assert 'value="Dresden"' in refused.text  # what was typed is kept
    assert _offer(engine, "DE-100") is None


def test_the_form_says_in_words_a_trade_of_the_other_sector_and_another_partners_company(
    app: FastAPI, engine: Engine
) -> None:
    """A trade ticked outside the offer's sector and a company id of another partner are
    each said in French next to their field, and a half-filled language alternative too."""
    _store_offers(engine, make_offer("PL-1", country=Country.PL, company_id="PL-C1"))
    form = {
        **VALID_FORM,
        "trades": ["mv", "cuisine"],
        "company_id": "PL-C1",
        "language_2": "en",
        "level_2": "",
    }
    with browser(app) as client:
        _signed_in_partner(client, engine)
        refused = submit(client, "/partner/offers", form, page="/partner/offers/new")
    assert refused.status_code == 422
    trades = _error_of(refused.text, "trades")
    assert "relève du secteur Services, pas du secteur Production" in trades
    assert "autre organisme partenaire" in _error_of(refused.text, "company_id")
    assert "choisissez une langue et son niveau" in _error_of(refused.text, "language_requirement")
    assert _offer(engine, "DE-100") is None


def test_a_valid_offer_is_created_and_listed(app: FastAPI, engine: Engine) -> None:
    """The form's offer is stored with every field, for the partner's organisation, and
    the offers page lists it with a message saying so."""
    with browser(app) as client:
        _signed_in_partner(client, engine)
        new = client.get("/partner/offers/new")
        assert 'value="DE-001"' in new.text  # a free id is proposed
        created = submit(client, "/partner/offers", VALID_FORM, page="/partner/offers/new")
        listed = follow(client, created)
    assert created.headers["location"] == "/partner"
    assert "L'offre DE-100 a été ajoutée." in text_of(listed.text)
    assert "Autohaus Lindner GmbH" in text_of(listed.text)
    offer = _offer(engine, "DE-100")
    assert offer is not None
    assert offer.partner == "OFAJ"
    assert offer.trades == ["mv"]
    assert offer.places == 2
    assert offer.start_date == dt.date(2027, 5, 3)
    assert offer.language_requirement == "de:A2|en:B1"
    assert offer.accepts_minors is True


def test_editing_with_a_stale_version_is_refused_in_words(app: FastAPI, engine: Engine) -> None:
    """A form opened before someone else saved the offer is refused with a sentence saying
    so; the other change stays, and the form shows the offer as it is now."""
    _store_offers(engine, make_offer("DE-1", places=1))
    with browser(app) as client, browser(app) as colleague:
        _signed_in_partner(client, engine)
        new_signed_in(colleague, engine, "colleague@ofaj.example", Role.PARTNER, partner="OFAJ")
        opened = client.get("/partner/offers/DE-1")
        assert 'name="version" value="1"' in opened.text
        base = {**VALID_FORM, "company_id": "C-DE-1", "company_name": "Firma DE-1"}
        first = submit(colleague, "/partner/offers/DE-1", {**base, "places": "3", "version": "1"})
        assert first.status_code == 303
        stale = submit(client, "/partner/offers/DE-1", {**base, "places": "5", "version": "1"})
    assert stale.status_code == 409
    assert "Quelqu'un d'autre a modifié cette offre" in text_of(stale.text)
    assert 'name="version" value="2"' in stale.text
    offer = _offer(engine, "DE-1")
    assert offer is not None
    assert offer.places == 3


def test_withdrawing_asks_for_confirmation_then_withdraws(app: FastAPI, engine: Engine) -> None:
    """Opening "withdraw" only explains what it does and asks; the confirm button withdraws
    the offer, which is then shown as withdrawn and no longer editable."""
    _store_offers(engine, make_offer("DE-1"))
    with browser(app) as client:
        _signed_in_partner(client, engine)
        asked = client.get("/partner/offers/DE-1/withdraw")
        still = _offer(engine, "DE-1")
        done = submit(client, "/partner/offers/DE-1/withdraw", page="/partner/offers/DE-1/withdraw")
        listed = follow(client, done)
        edit = client.get("/partner/offers/DE-1")
    assert asked.status_code == 200
    assert "perdent leur stage" in text_of(asked.text)
    assert 'action="/partner/offers/DE-1/withdraw"' in asked.text
    assert still is not None
    assert still.status == OfferStatus.OPEN
    withdrawn = _offer(engine, "DE-1")
    assert withdrawn is not None
    assert withdrawn.status == OfferStatus.WITHDRAWN
    assert "L'offre DE-1 a été retirée." in text_of(listed.text)
    assert "Retirée" in text_of(listed.text)
    assert "ne peut plus être modifiée" in text_of(edit.text)
    assert 'method="post" action="/partner/offers/DE-1"' not in edit.text


@pytest.mark.slow
def test_placements_list_only_this_partners_placed_students(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """After publication, the page, the CSV, the XLSX and the API list the students placed
    on the partner's offers with their school's contact and answer, never another
    partner's; withdrawing the offer tells who loses the placement, then removes it."""
    published = publish_small_round(engine, client)
    with browser(app) as ofaj, browser(app) as abc:
        _signed_in_partner(ofaj, engine, "OFAJ")
        _signed_in_partner(abc, engine, "ABC_WIEDZY")
        page = ofaj.get("/partner/placements")
        csv_file = ofaj.get("/partner/placements.csv")
        xlsx_file = ofaj.get("/partner/placements.xlsx")
        other_page = abc.get("/partner/placements")
        api = client.get("/api/partner/placements", headers=published.partner).json()
        asked = ofaj.get("/partner/offers/DE-1/withdraw")
        submit(ofaj, "/partner/offers/DE-1/withdraw", page="/partner/offers/DE-1/withdraw")
        after = ofaj.get("/partner/placements")
    text = text_of(page.text)
    assert "D'Almeida Inès" in text
    assert "Leipziger Handel GmbH" in text
    assert "Claire Besson" in text
    assert "mobilite@jean-moulin.example" in text
    assert "04 65 71 12 34" in text
    assert "En attente de la réponse" in text
    assert "Petit" not in text  # ABC Wiedzy's student in Kraków
    assert "Bernard" not in text  # the British Council's student
    rows = list(csv.DictReader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert [(r["last_name"], r["school_contact_name"], r["response"]) for r in rows] == [
        ("D'Almeida", "Claire Besson", "pending")
    ]
    assert rows[0]["trade"] == "commerce"
    assert rows[0]["round_id"] == str(published.round_id)
    sheet = load_workbook(io.BytesIO(xlsx_file.content)).active
    assert sheet is not None
    assert [cell.value for cell in sheet[2]][5:7] == ["Inès", "D'Almeida"]
    assert sheet.max_row == 2
    other = text_of(other_page.text)
    assert "Petit Chloé" in other
    assert "D'Almeida" not in other
    assert [(row["student_id"], row["school_contact_email"]) for row in api] == [
        ("S-MINOR", "mobilite@jean-moulin.example")
    ]
    assert "D'Almeida" in text_of(asked.text)
    assert "D'Almeida" not in text_of(after.text)
    assert client.get("/api/partner/placements", headers=published.partner).json() == []
    with Session(engine) as session:
        placement = session.exec(select(Assignment).where(Assignment.student_id == "S-MINOR")).one()
    assert placement.response is Response.WITHDRAWN


def test_an_offer_id_already_used_is_said_next_to_the_id(app: FastAPI, engine: Engine) -> None:
    """An offer id taken (by any partner: ids are global) is refused next to the id field,
    in French, and the existing offer is left as it was."""
    _store_offers(engine, make_offer("PL-7", country=Country.PL, company_name="Sklep"))
    with browser(app) as client:
        _signed_in_partner(client, engine)
        refused = submit(
            client, "/partner/offers", {**VALID_FORM, "offer_id": "PL-7"}, page="/partner"
        )
    assert refused.status_code == 422
    assert "déjà utilisé" in _error_of(refused.text, "offer_id")
    offer = _offer(engine, "PL-7")
    assert offer is not None
    assert offer.partner == "ABC_WIEDZY"
