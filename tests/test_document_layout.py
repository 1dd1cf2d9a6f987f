"""Placement documents as printed: pages counted and page breaks read back from the PDFs.

A handful of documents are rendered once for the module, with the longest names, addresses
and checklist titles the demo can produce; each test reads the PDF's text page by page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from pypdf import PdfReader

from mobility_match.documents.facts import Actor, DueStep, PlacementFacts
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.domain import Country, Gender
from tests.placements import make_facts

pytestmark = pytest.mark.xdist_group("document_layout")
"""One worker prints the longest letters once (the module's fixture), not each worker."""

COMPANIES = Path(__file__).resolve().parent.parent / "data" / "companies"


def _demo_longest() -> dict[str, int]:
    """The longest value of each field the demo's letters print, over all its data."""
    offers = [row for path in COMPANIES.glob("*.csv") for row in csv.DictReader(path.open())]
    names = csv.DictReader(
        resources.files("mobility_match.vocabularies")
        .joinpath("demo_names.csv")
        .read_text("utf-8")
        .splitlines()
    )
    by_list: dict[str, int] = {}
    for row in names:
        key = row["list"].split("_")[0]
        by_list[key] = max(by_list.get(key, 0), len(row["value"]))
    longest = {
        field: max(len(row[column]) for row in offers)
        for field, column in (
            ("company_name", "company_name"),
            ("company_address", "address"),
            ("tutor_name", "contact_name"),
            ("tutor_email", "contact_email"),
        )
    }
    longest["first_name"] = by_list["first"]
    longest["last_name"] = by_list["last"]
    return longest


def _longest_titles(count: int) -> list[str]:
    """The longest step titles of the packaged checklists."""
    folder = resources.files("mobility_match.checklists")
    titles = [
        step["title"]
        for name in ("common.toml", "DE.toml", "PL.toml", "UK.toml")
        for step in tomllib.loads(folder.joinpath(name).read_text("utf-8")).get("step", [])
    ]
    # {partner} stands for the partner's name (the longest one here).
    named = [
        title.replace("{partner}", "Office franco-allemand pour la Jeunesse") for title in titles
    ]
    return sorted(named, key=len, reverse=True)[:count]


def longest_facts(country: Country) -> PlacementFacts:
    """A minor's placement with every printed field longer than any of the demo's."""
    first_steps = tuple(
        DueStep(
            key=f"step{i}",
            title=title,
            explanation="",
            who=Actor.STUDENT if i % 2 == 0 else Actor.COORDINATOR,
            due_on=dt.date(2027, 3, 1) + dt.timedelta(days=7 * i),
        )
        for i, title in enumerate(_longest_titles(5))
    )
    return make_facts(
        country=country,
        minor=True,
        gender=Gender.X,
        first_name="Marie-Bernadette-Alexandrine",
        last_name="de La Tour d'Auvergne-Lauraguais",
        email="marie-bernadette-alexandrine.delatour@eleve.example",
        guardian_name="Jean-Christophe de La Tour d'Auvergne-Lauraguais",
        school_name="Lycée professionnel Olympe de Gouges et Marie Curie, Bourg-en-Bresse",
        school_address="120 avenue de la République, 01000 Bourg-en-Bresse",
        school_contact_name="Anne-Sophie Vandenberghe-Lefebvre",
        school_contact_email="mobilite.lp-olympe-de-gouges.bourg@ecole.example",
        company_name="Przedsiębiorstwo Budowlano-Remontowe Mazurek-Wiśniewski Sp. z o.o.",
        company_address="Kaiser-Friedrich-Wilhelm-Straße 210a, 79098 Freiburg im Breisgau",
        tutor_name="Agnieszka Wiśniewska-Dąbrowska",
        tutor_email="a.wisniewska-dabrowska@budowlane-mazurek-wisniewski.example",
        first_steps=first_steps,
    )


def checklist_steps(count: int) -> list[DueStep]:
    """Steps of one or two lines each, each title naming its number."""
    return [
        DueStep(
            key=f"s{i}",
            title=f"Étape numéro {i:02d} de la préparation",
            explanation="Une explication de la longueur habituelle, sur une ou deux lignes. "
            * (1 + i % 2),
            who=Actor.STUDENT,
            due_on=dt.date(2027, 3, 1) + dt.timedelta(days=i),
        )
        for i in range(count)
    ]


CHECKLIST_STEPS = 25
"""Rendered without its first and last two rows kept together, this list's third page holds
one row alone (measured when the test was written; the assertions hold whatever the count)."""

# (name, kind, lang, country); at most seven PDFs for the whole module.
DOCUMENTS = [
    ("student_letter", DocumentKind.STUDENT_LETTER, "fr", Country.DE),
    ("host_letter_de", DocumentKind.HOST_LETTER, "de", Country.DE),
    ("host_letter_fr", DocumentKind.HOST_LETTER, "fr", Country.PL),
    ("learning_agreement", DocumentKind.LEARNING_AGREEMENT, "de", Country.DE),
    ("certificate", DocumentKind.ATTENDANCE_CERTIFICATE, "pl", Country.PL),
    ("checklist", DocumentKind.CHECKLIST, "fr", Country.UK),
    ("europass", DocumentKind.EUROPASS_MOBILITY, "pl", Country.PL),
]


@dataclass(frozen=True)
class Printed:
    html: str
    pages: list[str]
    """Each page's text, without any whitespace (PDF text extraction breaks lines anywhere)."""


def _squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def printed() -> dict[str, Printed]:
    renderer = DocumentRenderer()
    documents = {}
    for name, kind, lang, country in DOCUMENTS:
        steps = checklist_steps(CHECKLIST_STEPS) if kind is DocumentKind.CHECKLIST else []
        html = renderer.html(kind, lang, longest_facts(country), steps)
        reader = PdfReader(io.BytesIO(renderer.pdf(html)))
        documents[name] = Printed(html, [_squeeze(page.extract_text()) for page in reader.pages])
    return documents


@dataclass
class _Block:
    tag: str
    texts: list[str] = field(default_factory=list)


class _Blocks(HTMLParser):
    """The text of each table and of each `keep` section of a page, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[_Block] = []
        self.done: list[_Block] = []
        self.depth: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        kept = (tag == "table" and "steps" not in classes) or (
            tag == "section" and "keep" in classes
        )
        if kept:
            self.open.append(_Block(tag))
            self.done.append(self.open[-1])
        if tag in ("table", "section"):
            self.depth.append(tag if self.open and self.open[-1].tag == tag else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("table", "section") and self.depth and self.depth.pop():
            self.open.pop()

    def handle_data(self, data: str) -> None:
        text = _squeeze(data)
        if text:
            for block in self.open:
                block.texts.append(text)


def blocks_of(html: str) -> list[list[str]]:
    parser = _Blocks()
    parser.feed(html.split("<main>", 1)[1])
    return [block.texts for block in parser.done if block.texts]


def pages_of_blocks(printed: Printed) -> list[tuple[str, int, int]]:
    """For each table and kept section: its first words and the pages it starts and ends on.

    The text is looked for in page order from where the previous block started, so that a
    label printed in several tables is found in the right one.
    """
    text = "".join(printed.pages)
    starts = [0]
    for page in printed.pages:
        starts.append(starts[-1] + len(page))

    def page_at(offset: int) -> int:
        return max(i for i, start in enumerate(starts[:-1]) if start <= offset)

    found, cursor = [], 0
    for texts in blocks_of(printed.html):
        first = text.find(texts[0], cursor)
        last = text.find(texts[-1], first)
        assert first >= 0, f"{texts[0]!r} is not in the PDF"
        assert last >= 0, f"{texts[-1]!r} is not in the PDF after {texts[0]!r}"
        found.append((texts[0], page_at(first), page_at(last + len(texts[-1]) - 1)))
        cursor = first
    return found


# ---- page counts ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["student_letter", "host_letter_de", "host_letter_fr"])
def test_a_letter_fits_one_page_with_the_demos_longest_texts(
    printed: dict[str, Printed], name: str
) -> None:
    """A minor's letters with the longest names, addresses and first steps: one page each."""
    assert len(printed[name].pages) == 1


def test_the_test_facts_are_longer_than_anything_in_the_demo() -> None:
    """The page-count tests hold for the demo because their facts are longer than its own."""
    facts = longest_facts(Country.DE)
    for name, length in _demo_longest().items():
        assert len(getattr(facts, name)) > length, name
    assert len(facts.first_steps) == 5  # services/placements.py FIRST_STEPS


def test_the_letters_leave_room_to_sign_and_print_the_signers_function(
    printed: dict[str, Printed],
) -> None:
    """The name and the function of the school's signer close every letter."""
    for name, words in (
        ("student_letter", "Coordinationdesstagesàl'étranger"),
        ("host_letter_de", "KoordinationderAuslandspraktika"),
    ):
        signer = "Anne-SophieVandenberghe-Lefebvre" + words + "Lycéeprofessionnel"
        assert signer in printed[name].pages[-1]
    assert 'class="sign-here"' in printed["student_letter"].html


# ---- tables and sections never split ----------------------------------------------------


@pytest.mark.parametrize("name", [name for name, *_ in DOCUMENTS])
def test_no_table_or_section_is_split_across_pages(printed: dict[str, Printed], name: str) -> None:
    """Each table, signature grid and section (a heading with what follows) starts and ends
    on the same page; only the checklist's list of steps may run on."""
    for first_words, start, end in pages_of_blocks(printed[name]):
        assert start == end, f"{name}: {first_words!r} runs from page {start + 1} to {end + 1}"


def test_the_learning_agreement_keeps_its_signatures_with_their_heading(
    printed: dict[str, Printed],
) -> None:
    """A minor's agreement: the signature heading and the four signatories on one page."""
    agreement = printed["learning_agreement"]
    assert len(agreement.pages) <= 3
    last = agreement.pages[-1]
    assert "8.Unterschriften" in last
    for who in (
        "LernendePerson",
        "ErziehungsberechtigtePerson",
        "EntsendendeSchule",
        "AufnehmendesUnternehmen",
    ):
        assert last.count(who) >= 1, who
    assert last.count("undStempel") == 2  # room for the school's and the company's stamps


def test_the_europass_mobility_fits_two_pages_its_skills_with_the_signatures(
    printed: dict[str, Printed],
) -> None:
    """Before the host's review, every skill left to write on ruled lines: two pages, the
    skills and both signatories (the mentor with the company's stamp) on the second."""
    pages = printed["europass"].pages
    assert len(pages) == 2
    for words in ("5.Zdobyteumiejętności", "6.Podpisy", "Opiekunpraktykiwfirmieprzyjmującej"):
        assert words in pages[1], words
    assert pages[1].count("ipieczęć") == 2


# ---- the checklist runs on, its header repeated ---------------------------------------


def test_the_checklist_repeats_its_header_and_leaves_no_row_alone(
    printed: dict[str, Printed],
) -> None:
    """Every page of a long checklist starts its table with the header row, and holds at
    least two of the steps; every step is printed once."""
    pages = printed["checklist"].pages
    assert len(pages) == 3
    rows = [len(re.findall(r"Étapenuméro\d\d", page)) for page in pages]
    assert sum(rows) == CHECKLIST_STEPS
    for number, (page, count) in enumerate(zip(pages, rows, strict=True), start=1):
        assert "FaitÉchéanceQuiÉtape" in page, f"page {number} has no header row"
        assert count >= 2, f"page {number} holds {count} step(s): {rows}"


def test_blocks_are_read_in_document_order(printed: dict[str, Printed]) -> None:
    """The test's own reading: the agreement's blocks come in the order of its sections."""
    firsts = [first for first, _, _ in pages_of_blocks(printed["learning_agreement"])]
    numbered = [f for f in firsts if re.match(r"\d\.", f)]
    assert numbered == sorted(numbered)
    assert len(numbered) == 8
