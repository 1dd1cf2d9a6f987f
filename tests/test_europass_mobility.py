"""The Europass Mobility of a placement: pre-filled from the placement and, after return,
from the host tutor's review; left for the tutor to complete otherwise.

One PDF is rendered here, with the demo's longest names and addresses: a German placement
the tutor reviewed, every skill ticked (the longest last page). A Polish one not reviewed yet
(the longest first page) is among the documents of tests/test_document_layout.py.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import unicodedata
from dataclasses import dataclass, replace

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.documents.facts import PlacementFacts
from mobility_match.documents.rendering import (
    DocumentKind,
    DocumentRenderer,
    available_languages,
    document_title,
)
from mobility_match.domain import Country, Gender
from mobility_match.models import HostReview
from mobility_match.services.host_review import skill_label, skills
from tests.placements import make_facts
from tests.published import publish_small_round
from tests.test_document_layout import longest_facts

EUROPASS = DocumentKind.EUROPASS_MOBILITY
ACTUAL_START, ACTUAL_END = dt.date(2027, 5, 4), dt.date(2027, 6, 10)
"""The host's actual dates; the plan (tests/placements.py) is 3 May to 11 June 2027."""
EVERY_SKILL = tuple(skill.code for skill in skills())


def reviewed(facts: PlacementFacts) -> PlacementFacts:
    """The facts once the tutor answered the review: actual dates, every skill ticked."""
    return replace(
        facts,
        actual_start=ACTUAL_START,
        actual_end=ACTUAL_END,
        days_absent=1,
        skills_observed=EVERY_SKILL,
    )


@dataclass(frozen=True)
class Printed:
    html: str
    pages: list[str]
    """Each page's text with its whitespace removed (extraction breaks lines anywhere)."""

    @property
    def text(self) -> str:
        return "".join(self.pages)


def squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()


@pytest.fixture(scope="module")
def printed(renderer: DocumentRenderer) -> Printed:
    """The reviewed German placement, as a PDF."""
    page = renderer.html(EUROPASS, "de", reviewed(longest_facts(Country.DE)))
    reader = PdfReader(io.BytesIO(renderer.pdf(page)))
    return Printed(page, [squeeze(p.extract_text()) for p in reader.pages])


@pytest.fixture(scope="module")
def blank(renderer: DocumentRenderer) -> Printed:
    """The Polish placement without a review, as HTML: its text on one page."""
    page = renderer.html(EUROPASS, "pl", longest_facts(Country.PL))
    body = html.unescape(re.sub(r"<[^>]+>", " ", page.split("<main>", 1)[1]))
    return Printed(page, [squeeze(body)])


def test_it_exists_bilingual_and_in_french_alone() -> None:
    """Host language with the French under it by default; French alone for the learner."""
    assert available_languages(EUROPASS, Country.DE) == ("de", "fr")
    assert available_languages(EUROPASS, Country.PL) == ("pl", "fr")
    assert available_languages(EUROPASS, Country.UK) == ("en", "fr")
    assert document_title(EUROPASS, "de") == "Europass-Mobilitätsnachweis / Europass Mobilité"
    assert document_title(EUROPASS, "pl") == "Europass Mobilność / Europass Mobilité"
    assert document_title(EUROPASS, "fr") == "Europass Mobilité"


def test_after_the_review_it_shows_the_actual_dates_and_the_skills_observed(
    printed: Printed,
) -> None:
    """The host's actual dates replace the planned ones, in German and in French, and each
    skill the tutor ticked is printed in the words of the review, in both languages."""
    text = printed.text
    assert "4.Mai2027–10.Juni2027/4mai2027–10juin2027" in text
    assert "3.Mai2027" not in text
    assert "6Wochen/6semaines" in text
    assert "VomUnternehmenamEndedesPraktikumsbeobachteteKompetenzen" in text
    for code in EVERY_SKILL:
        assert squeeze(skill_label(code, "de")) in text, code
        assert squeeze(skill_label(code, "fr")) in text, code


def test_without_a_review_it_leaves_lines_for_the_tutor(blank: Printed) -> None:
    """The planned dates, a line for the actual ones, no skill listed, and ruled lines under
    each kind of skill for the tutor to write in."""
    assert "3maja2027–11czerwca2027/3mai2027–11juin2027" in blank.text
    assert "rzeczywistytermin,jeśliinny/dateseffectives,sidifférentes" in blank.text
    assert "Kompetencjezaobserwowane" not in blank.text
    for label in (
        "Wykonywaneczynnościizadania",
        "Umiejętnościikompetencjezawodowe",
        "Umiejętnościjęzykowe",
        "Kompetencjecyfrowe",
        "Umiejętnościorganizacyjneispołeczne",
    ):
        assert label in blank.text, label
    assert blank.html.count('class="ruled"') == 5


def test_it_fits_two_pages_signatures_with_their_heading(printed: Printed) -> None:
    """With the demo's longest names and every skill ticked: two pages at most, the skills
    and the signatures together on the last one, the mentor's and the school's."""
    pages = printed.pages
    assert len(pages) == 2
    assert "5.ErworbeneFähigkeitenundKompetenzen" in pages[-1]
    assert "6.Unterschriften" in pages[-1]
    assert pages[-1].count("Anne-SophieVandenberghe-Lefebvre") == 1
    assert pages[-1].count("AgnieszkaWiśniewska-Dąbrowska") == 1


def test_it_says_it_is_completed_with_the_tutor_and_issued_through_the_europass_centre(
    renderer: DocumentRenderer, blank: Printed
) -> None:
    """In both languages; the French-only one also says what the coordination checks, as
    the checklist's `europass_mobility` step does."""
    text = blank.text
    assert "douzupełnieniawspólniezopiekunempraktyki" in text
    assert "àcompléteravecletuteuroulatutrice" in text
    assert "KrajowegoCentrumEuropass" in text
    assert "centrenationalEuropass" in text
    french = html.unescape(renderer.html(EUROPASS, "fr", make_facts()))
    assert "À vérifier par la coordination" in french
    assert "qui le demande, qui le signe, et son numéro d'enregistrement" in french


def test_it_says_nothing_personal_beyond_name_and_birth_date(
    renderer: DocumentRenderer,
) -> None:
    """The holder is named with the date of birth; no e-mail, address or guardian."""
    facts = make_facts(
        minor=True,
        student_address="4 rue des Lilas, 69003 Lyon",
        guardian_name="Paul Martin",
        guardian_phone="06 12 34 56 78",
    )
    page = renderer.html(EUROPASS, "de", facts)
    assert "Léa Martin" in page
    assert "1. September 2010" in page
    for personal in (facts.email, "rue des Lilas", "Paul Martin", "06 12 34 56 78"):
        assert personal not in page


def test_a_student_of_any_gender_gets_the_same_words(renderer: DocumentRenderer) -> None:
    """No sentence needs a gendered form: for F, M and X the document is the same, in the
    host language and in French (no "né·e", no Polish participle to agree)."""
    for country in Country:
        for lang in available_languages(EUROPASS, country):
            pages = {
                renderer.html(EUROPASS, lang, make_facts(country=country, gender=gender))
                for gender in (Gender.F, Gender.M, Gender.X)
            }
            assert len(pages) == 1, (country, lang)
            assert not re.search(r"\w·\w", pages.pop())


def test_the_host_review_fills_the_document_of_a_published_placement(
    engine: Engine, client: TestClient
) -> None:
    """Once the tutor answered, the school's preview shows the review's actual dates and
    skills; the tutor's free comment is never printed."""
    world = publish_small_round(engine, client)
    document = "placements/S-UK/documents/europass_mobility.html?lang=en"
    url = f"/api/rounds/{world.round_id}/{document}"
    before = client.get(url, headers=world.teacher_a)
    assert before.status_code == 200, before.text
    assert "Planned dates" in before.text
    assert "Working in a team" not in before.text
    actual_start = world.start + dt.timedelta(days=1)
    with Session(engine) as session:
        session.add(
            HostReview(
                round_id=world.round_id,
                student_id="S-UK",
                offer_id="UK-1",
                actual_start=actual_start,
                actual_end=world.end,
                days_absent=2,
                skills=["teamwork", "customers"],
                comment="Hugo was great, though often tired after his late nights.",
                language="en",
            )
        )
        session.commit()
    after = client.get(url, headers=world.teacher_a).text
    assert "Actual dates" in after
    assert "Planned dates" not in after
    assert f"{actual_start.day} {actual_start:%B %Y}" in after
    assert "Working in a team" in after
    assert "Travail en équipe" in after
    assert "Dealing with customers" in after
    assert "Punctuality" not in after
    assert "late nights" not in after
