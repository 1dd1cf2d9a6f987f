"""The import pages: a file is previewed before anything is stored, then applied or
abandoned, through the real readers, database and templates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from mobility_match import records
from mobility_match.demo import offers_frame, students_frame
from mobility_match.domain import Country
from mobility_match.models import Company, Offer, Role, Student, UploadDraft
from tests.factories import make_offer, make_student
from tests.files import csv_bytes
from tests.pages import browser, follow, hidden_value, new_signed_in, submit, text_of
from tests.published import publish_small_round


@pytest.fixture
def coordinator(app: FastAPI, engine: Engine, client: TestClient) -> Iterator[TestClient]:
    """A coordinator's browser, on a published round of three students (S-MINOR, S-UK in
    SCH-A, S-PL in SCH-B)."""
    publish_small_round(engine, client)
    with browser(app) as pages:
        new_signed_in(pages, engine, "imports@x.example", Role.COORDINATOR)
        yield pages


def stored_students(engine: Engine) -> dict[str, tuple[str, int]]:
    """Each stored student's first name and version, by id."""
    with Session(engine) as session:
        rows = session.exec(select(Student)).all()
        return {row.student_id: (row.first_name, row.version) for row in rows}


def stored_student(engine: Engine, student_id: str) -> Student:
    with Session(engine) as session:
        return session.get_one(Student, student_id)


def upload(pages: TestClient, action: str, page: str, name: str, data: bytes) -> str:
    """Post a file to an upload form; return the preview's address."""
    sent = submit(pages, action, page=page, files=[("file", (name, data, "text/csv"))])
    assert sent.status_code == 303, sent.text[:1000]
    location: str = sent.headers["location"]
    return location


def test_a_file_with_two_bad_cells_shows_both_by_row_and_column_and_stores_nothing(
    coordinator: TestClient, engine: Engine
) -> None:
    """It lists each problem with its row, column and cell, offers no "apply", and the
    database is unchanged."""
    frame = students_frame(
        [make_student("N-1", school_id="SCH-A"), make_student("N-2", school_id="SCH-A")]
    )
    frame.loc[0, "birth_date"] = "31/02/2006"
    frame.loc[1, "gender"] = "Q"
    before = stored_students(engine)
    preview_url = upload(
        coordinator,
        "/coordinator/imports/students",
        "/coordinator/imports",
        "eleves.csv",
        csv_bytes(frame),
    )
    assert preview_url.startswith("/coordinator/imports/preview/")
    preview = coordinator.get(preview_url)
    assert preview.status_code == 422
    table = preview.text[preview.text.index('id="problems"') :]
    cells = [text_of(row) for row in re.findall(r'<tr class="problem">(.*?)</tr>', table, re.S)]
    assert len(cells) == 2, cells
    assert cells[0].startswith("eleves.csv 2 birth_date 31/02/2006")
    assert cells[1].startswith("eleves.csv 3 gender Q")
    assert "/apply" not in preview.text
    assert "Appliquer" not in preview.text
    assert stored_students(engine) == before


def test_a_good_file_is_previewed_with_counts_and_flags_then_applied_as_previewed(
    coordinator: TestClient, engine: Engine
) -> None:
    """The preview counts one student created, one updated (his name changes, flagged, and
    he is in a published round, flagged) and one unchanged; applying stores exactly that
    and forgets the upload."""
    uk = records.student_domain(stored_student(engine, "S-UK"))
    pl = records.student_domain(stored_student(engine, "S-PL"))
    renamed = replace(uk, first_name="Hugues")
    new = make_student("N-1", school_id="SCH-B", first_name="Zoé", last_name="Roux")
    data = csv_bytes(students_frame([renamed, pl, new]))
    before = stored_students(engine)

    preview_url = upload(
        coordinator, "/coordinator/imports/students", "/coordinator/imports", "eleves.csv", data
    )
    preview = coordinator.get(preview_url)
    assert preview.status_code == 200, text_of(preview.text)[:2000]
    shown = text_of(preview.text)
    assert "1 à créer 1 à modifier 1 sans changement" in shown
    assert "2 à vérifier" in shown  # S-UK (renamed, published) and S-PL (published)
    row = text_of(
        re.search(
            r'<tr class="flagged">\s*<th scope="row"><code>S-UK.*?</tr>', preview.text, re.S
        ).group(0)
    )  # type: ignore[union-attr]
    assert "first_name : Hugo → Hugues" in row
    assert "Le nom change" in row
    assert "Hugo Bernard" in row
    assert "Dans un tour publié" in row
    assert "Printemps" in row
    assert stored_students(engine) == before  # a preview stores nothing

    confirm = hidden_value(preview.text, "confirm")  # the flagged S-UK, confirmed by applying
    applied = submit(coordinator, f"{preview_url}/apply", {"confirm": confirm}, page=preview_url)
    done = follow(coordinator, applied)
    assert "Créations : 1 ; modifications : 1 ; sans changement : 1" in text_of(done.text)
    after = stored_students(engine)
    assert after["N-1"] == ("Zoé", 1)
    assert after["S-UK"] == ("Hugues", before["S-UK"][1] + 1)
    assert after["S-PL"] == before["S-PL"]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(UploadDraft)).one() == 0
    assert coordinator.get(preview_url).status_code == 404


def test_abandoning_forgets_the_file_and_imports_nothing(
    coordinator: TestClient, engine: Engine
) -> None:
    """ "Abandon" deletes the upload; the preview is gone and nothing was stored."""
    data = csv_bytes(students_frame([make_student("N-9", school_id="SCH-A")]))
    preview_url = upload(
        coordinator, "/coordinator/imports/students", "/coordinator/imports", "e.csv", data
    )
    dropped = submit(coordinator, f"{preview_url}/discard", page=preview_url)
    assert "rien n'a été importé" in text_of(follow(coordinator, dropped).text)
    assert coordinator.get(preview_url).status_code == 404
    assert "N-9" not in stored_students(engine)


def test_another_accounts_upload_is_not_found(
    coordinator: TestClient, app: FastAPI, engine: Engine
) -> None:
    """Another coordinator, or a partner, gets 404 for the preview and cannot apply it."""
    data = csv_bytes(students_frame([make_student("N-2", school_id="SCH-A")]))
    preview_url = upload(
        coordinator, "/coordinator/imports/students", "/coordinator/imports", "e.csv", data
    )
    token = preview_url.rsplit("/", 1)[-1]
    with browser(app) as other, browser(app) as partner:
        new_signed_in(other, engine, "other@x.example", Role.COORDINATOR)
        assert other.get(preview_url).status_code == 404
        refused = submit(other, f"{preview_url}/apply")
        assert refused.status_code == 404
        new_signed_in(partner, engine, "p@x.example", Role.PARTNER, partner="OFAJ")
        assert partner.get(f"/partner/upload/preview/{token}").status_code == 404
    assert "N-2" not in stored_students(engine)
    assert coordinator.get(preview_url).status_code == 200


def test_a_partners_preview_refuses_another_partners_offer_rows(
    app: FastAPI, engine: Engine
) -> None:
    """An OFAJ file with an ABC Wiedzy row shows the problem at that row's partner column,
    in the partner's language, with no "apply"; the offers are not stored."""
    own = make_offer("DE-NEW", company_id="C-DE-NEW")
    foreign = make_offer("PL-NEW", country=Country.PL, city="Kraków", company_id="C-PL-NEW")
    data = csv_bytes(offers_frame([own, foreign]))
    with browser(app) as partner:
        new_signed_in(partner, engine, "ofaj@x.example", Role.PARTNER, partner="OFAJ")
        submit(partner, "/language", {"language": "de", "next": "/partner/upload"})
        preview_url = upload(partner, "/partner/upload", "/partner/upload", "angebote.csv", data)
        assert preview_url.startswith("/partner/upload/preview/")
        preview = partner.get(preview_url)
    assert preview.status_code == 422
    assert '<html lang="de">' in preview.text
    rows = [
        text_of(row) for row in re.findall(r'<tr class="problem">(.*?)</tr>', preview.text, re.S)
    ]
    assert len(rows) == 1, rows
    assert rows[0].startswith("angebote.csv 3 partner ABC_WIEDZY")
    assert "/apply" not in preview.text
    with Session(engine) as session:
        ids = session.exec(select(Offer.offer_id).where(col(Offer.offer_id).like("%-NEW"))).all()
    assert ids == []


def test_a_partner_previews_and_applies_its_own_offers_with_their_companies(
    app: FastAPI, engine: Engine
) -> None:
    """The preview counts the offers and the companies to create; applying stores them."""
    company = {"company_id": "C-A", "company_name": "Leipziger Bäckerei GmbH"}
    offers = [make_offer("DE-A1", **company), make_offer("DE-A2", **company)]
    data = csv_bytes(offers_frame(offers))
    with browser(app) as partner:
        new_signed_in(partner, engine, "ofaj@x.example", Role.PARTNER, partner="OFAJ")
        preview_url = upload(partner, "/partner/upload", "/partner/upload", "de.csv", data)
        preview = partner.get(preview_url)
        assert preview.status_code == 200, text_of(preview.text)[-1500:]
        shown = text_of(preview.text)
        assert "2 à créer" in shown
        assert "À créer : 1 ; à modifier : 0 ; sans changement : 0" in shown  # one company for both
        done = follow(partner, submit(partner, f"{preview_url}/apply", page=preview_url))
    assert "Créations : 2" in text_of(done.text)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Offer)).one() == 2
        assert session.get_one(Company, "C-A").partner == "OFAJ"


def test_the_upload_form_asks_for_a_file(coordinator: TestClient) -> None:
    """Sending the form without a file says so next to the field (422)."""
    sent = submit(
        coordinator,
        "/coordinator/imports/students",
        page="/coordinator/imports",
        files=[("file", ("", b"", "application/octet-stream"))],
    )
    assert sent.status_code == 422
    assert "Choisissez un fichier" in text_of(sent.text)
