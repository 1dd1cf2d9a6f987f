"""Placement documents rendered for real: Jinja2 templates, WeasyPrint PDFs read back by pypdf."""

from __future__ import annotations

import base64
import datetime as dt
import io
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from mobility_match.documents.facts import HOST_LANGUAGE
from mobility_match.documents.formatting import (
    eqf_label,
    eqf_level,
    full_name,
    long_date,
    trade_title,
    weeks_text,
)
from mobility_match.documents.rendering import (
    DocumentKind,
    DocumentRenderer,
    ResourceRefusedError,
    TemplateFolderFetcher,
    available_languages,
    document_title,
    packaged_templates_dir,
)
from mobility_match.domain import Country, Diploma, load_vocabulary
from tests.placements import FIRST_STEPS, HOSTS, make_facts

pytestmark = pytest.mark.xdist_group("documents_rendering")
"""One worker renders every document once (the module's fixtures), not each worker."""

TITLES = {
    (DocumentKind.STUDENT_LETTER, "fr"): "Confirmation de votre stage à l'étranger",
    (DocumentKind.HOST_LETTER, "de"): "Bestätigung des Praktikums",
    (DocumentKind.HOST_LETTER, "pl"): "Potwierdzenie praktyki",
    (DocumentKind.HOST_LETTER, "en"): "Placement confirmation",
    (DocumentKind.HOST_LETTER, "fr"): "Confirmation du stage",
    (DocumentKind.LEARNING_AGREEMENT, "de"): "Lernvereinbarung",
    (DocumentKind.LEARNING_AGREEMENT, "pl"): "Porozumienie o programie praktyki",
    (DocumentKind.LEARNING_AGREEMENT, "en"): "Learning Agreement",
    (DocumentKind.ATTENDANCE_CERTIFICATE, "de"): "Praktikumsbescheinigung",
    (DocumentKind.ATTENDANCE_CERTIFICATE, "pl"): "Zaświadczenie o odbyciu praktyki",
    (DocumentKind.ATTENDANCE_CERTIFICATE, "en"): "Certificate of Attendance",
    (DocumentKind.CHECKLIST, "fr"): "Liste de préparation au départ",
    (DocumentKind.EUROPASS_MOBILITY, "de"): "Europass-Mobilitätsnachweis",
    (DocumentKind.EUROPASS_MOBILITY, "pl"): "Europass Mobilność",
    (DocumentKind.EUROPASS_MOBILITY, "en"): "Europass Mobility",
    (DocumentKind.EUROPASS_MOBILITY, "fr"): "Europass Mobilité",
}
FRENCH_TITLES = {
    DocumentKind.LEARNING_AGREEMENT: "Contrat pédagogique",
    DocumentKind.ATTENDANCE_CERTIFICATE: "Attestation de présence",
    DocumentKind.EUROPASS_MOBILITY: "Europass Mobilité",
}
START_END = {
    "fr": ("3 mai 2027", "11 juin 2027"),
    "de": ("3. Mai 2027", "11. Juni 2027"),
    "pl": ("3 maja 2027", "11 czerwca 2027"),
    "en": ("3 May 2027", "11 June 2027"),
}
COMBINATIONS = [
    (country, kind, lang)
    for country in Country
    for kind in DocumentKind
    for lang in available_languages(kind, country)
]
# A 1×1 GIF: a real image, so that embedding it (or not) shows in the PDF.
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def pdf_text(pdf: bytes) -> str:
    """Return a PDF's text with ligatures unfolded and whitespace collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


def pdf_images(pdf: bytes) -> int:
    """Count the images embedded in a PDF's pages."""
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()


@pytest.fixture(scope="module")
def rendered(renderer: DocumentRenderer) -> dict[tuple[Country, DocumentKind, str], bytes]:
    """Every document of every country in every language it exists in, rendered once."""
    return {
        (country, kind, lang): renderer.pdf(
            renderer.html(kind, lang, make_facts(country=country), FIRST_STEPS)
        )
        for country, kind, lang in COMBINATIONS
    }


# ---- every document, every language -------------------------------------------------


def test_each_kind_has_its_languages_default_first() -> None:
    """Letters to students and checklists are French; the host letter has a French original."""
    assert available_languages(DocumentKind.STUDENT_LETTER, Country.PL) == ("fr",)
    assert available_languages(DocumentKind.CHECKLIST, Country.UK) == ("fr",)
    assert available_languages(DocumentKind.HOST_LETTER, Country.DE) == ("de", "fr")
    assert available_languages(DocumentKind.HOST_LETTER, Country.UK) == ("en", "fr")
    assert available_languages(DocumentKind.LEARNING_AGREEMENT, Country.PL) == ("pl",)
    assert available_languages(DocumentKind.ATTENDANCE_CERTIFICATE, Country.UK) == ("en",)
    assert available_languages(DocumentKind.EUROPASS_MOBILITY, Country.PL) == ("pl", "fr")
    assert len(COMBINATIONS) == 24


@pytest.mark.parametrize(
    ("country", "kind", "lang"), COMBINATIONS, ids=[f"{c}-{k}-{la}" for c, k, la in COMBINATIONS]
)
def test_document_pdf_says_who_where_when(
    rendered: dict[tuple[Country, DocumentKind, str], bytes],
    country: Country,
    kind: DocumentKind,
    lang: str,
) -> None:
    """The PDF names the student, the company, the dates and its title in its own language."""
    pdf = rendered[country, kind, lang]
    text = pdf_text(pdf)
    start, end = START_END[lang]
    assert ("Léa MARTIN" if lang == "fr" else "Léa Martin") in text
    assert HOSTS[country]["company_name"] in text
    assert start in text
    assert end in text
    assert TITLES[kind, lang] in text
    title = PdfReader(io.BytesIO(pdf)).metadata
    assert title is not None
    if kind in FRENCH_TITLES and lang != "fr":
        assert FRENCH_TITLES[kind] in text
        assert title.title == f"{TITLES[kind, lang]} / {FRENCH_TITLES[kind]}"
    else:
        assert title.title == TITLES[kind, lang]


@pytest.mark.parametrize("country", list(Country))
def test_the_student_letter_names_the_host_documents_in_the_host_language(
    rendered: dict[tuple[Country, DocumentKind, str], bytes], country: Country
) -> None:
    """The French letter tells the student what the host's documents are called there."""
    text = pdf_text(rendered[country, DocumentKind.STUDENT_LETTER, "fr"])
    host = HOST_LANGUAGE[country]
    assert TITLES[DocumentKind.LEARNING_AGREEMENT, host] in text
    assert TITLES[DocumentKind.ATTENDANCE_CERTIFICATE, host] in text


def test_document_title_is_bilingual_for_the_bilingual_kinds() -> None:
    """A bilingual document's title is `host / French`; a letter's is in its one language."""
    assert (
        document_title(DocumentKind.LEARNING_AGREEMENT, "de")
        == "Lernvereinbarung / Contrat pédagogique"
    )
    assert document_title(DocumentKind.HOST_LETTER, "fr") == "Confirmation du stage"
    with pytest.raises(ValueError, match="de"):
        document_title(DocumentKind.CHECKLIST, "de")


def test_a_language_the_kind_lacks_is_refused_naming_the_valid_ones(
    renderer: DocumentRenderer,
) -> None:
    """A student letter in German, or a Polish letter to a German host, is a ValueError."""
    with pytest.raises(ValueError, match=r"student_letter.* fr, not in 'de'"):
        renderer.html(DocumentKind.STUDENT_LETTER, "de", make_facts())
    with pytest.raises(ValueError, match=r"de, fr, not in 'pl'"):
        renderer.html(DocumentKind.HOST_LETTER, "pl", make_facts(country=Country.DE))


def test_the_checklist_lists_the_given_steps_with_legal_warnings(
    rendered: dict[tuple[Country, DocumentKind, str], bytes],
) -> None:
    """Each step shows its date, who does it and its title; a legal step its ⚠ and its note."""
    text = pdf_text(rendered[Country.DE, DocumentKind.CHECKLIST, "fr"])
    assert "5 avril 2027 Élève Demander la carte européenne d'assurance maladie" in text
    assert "Faire signer la convention de stage ⚠" in text
    assert "Code de l'éducation, D. 124-4" in text


def test_the_student_letter_gives_the_deadline_and_first_steps(
    rendered: dict[tuple[Country, DocumentKind, str], bytes],
) -> None:
    """The student reads until when to answer, the length in weeks and the first deadlines."""
    text = pdf_text(rendered[Country.PL, DocumentKind.STUDENT_LETTER, "fr"])
    assert "avant le 29 mars 2027" in text
    assert "6 semaines" in text
    assert "12 avril 2027 Votre professeur Faire signer la convention de stage" in text


# ---- personal data stays plain --------------------------------------------------------


def test_markup_in_a_name_is_escaped_in_html_and_printed_as_typed() -> None:
    """A `<script>` first name and an apostrophe come out escaped, and readable in the PDF."""
    renderer = DocumentRenderer()
    facts = make_facts(first_name="<script>alert(1)</script>", last_name="D'Almeida")
    for kind in DocumentKind:
        for lang in available_languages(kind, Country.DE):
            html = renderer.html(kind, lang, facts, FIRST_STEPS)
            assert "<script" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            assert "D'Almeida" not in html
    html = renderer.html(DocumentKind.HOST_LETTER, "de", facts)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; D&#39;Almeida" in html
    assert "<script>alert(1)</script> D'Almeida" in pdf_text(renderer.pdf(html))


# ---- minors -------------------------------------------------------------------------


def test_a_minors_learning_agreement_has_the_guardian_block(renderer: DocumentRenderer) -> None:
    """A minor's agreement names the parent or guardian, who signs too; blank lines stand in."""
    facts = make_facts(minor=True, guardian_name="Sophie Martin")
    html = renderer.html(DocumentKind.LEARNING_AGREEMENT, "de", facts)
    text = pdf_text(renderer.pdf(html))
    assert "Erziehungsberechtigte Person" in text
    assert "Représentant légal" in text
    assert "Sophie Martin" in text
    guardian_table = html.split('<table class="facts guardian">')[1].split("</table>")[0]
    assert guardian_table.count('class="fill"') == 2  # e-mail and phone, left to fill in


def test_an_adults_learning_agreement_has_no_guardian_block(renderer: DocumentRenderer) -> None:
    """An adult signs alone: no parent or guardian in the agreement."""
    html = renderer.html(DocumentKind.LEARNING_AGREEMENT, "en", make_facts(country=Country.UK))
    assert "guardian" not in html.lower()


# ---- a school's own templates -------------------------------------------------------


def test_an_override_letterhead_replaces_only_the_letterhead(tmp_path: Path) -> None:
    """A school's letterhead (with its logo) heads the letter; the rest is the packaged one."""
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "letterhead.html").write_text(
        '<p class="ours">Lycée des métiers Victor Hugo — en-tête</p><img src="logo.gif">',
        encoding="utf-8",
    )
    (tmp_path / "logo.gif").write_bytes(GIF)
    renderer = DocumentRenderer(override_dir=tmp_path)
    html = renderer.html(DocumentKind.HOST_LETTER, "en", make_facts(country=Country.UK))
    assert "Lycée des métiers Victor Hugo" in html
    assert 'class="school-name"' not in html  # the packaged letterhead's
    assert "Dear Oliver Hughes" in html
    pdf = renderer.pdf(html)
    assert "Lycée des métiers Victor Hugo — en-tête" in pdf_text(pdf)
    assert pdf_images(pdf) == 1


def test_autoescape_covers_override_templates_of_any_extension(tmp_path: Path) -> None:
    """A `.xml` and a `.txt` template included from an override escape what they print."""
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "letterhead.html").write_text(
        '{% include "documents/sender.xml" %}{% include "documents/note.txt" %}', encoding="utf-8"
    )
    (tmp_path / "documents" / "sender.xml").write_text(
        "<sender>{{ facts.first_name }}</sender>", encoding="utf-8"
    )
    (tmp_path / "documents" / "note.txt").write_text("note: {{ facts.last_name }}", "utf-8")
    facts = make_facts(first_name="<b>Zoé</b>", last_name="<i>O'Neil</i>")
    html = DocumentRenderer(override_dir=tmp_path).html(DocumentKind.CHECKLIST, "fr", facts)
    assert "<sender>&lt;b&gt;Zoé&lt;/b&gt;</sender>" in html
    # A French page: the colon gets its no-break space, the escaped name stays escaped.
    assert "note\u00a0: &lt;i&gt;O&#39;Neil&lt;/i&gt;" in html
    assert "<b>" not in html


def test_resources_outside_the_template_folders_are_not_embedded(tmp_path: Path) -> None:
    """A template pointing at /etc/passwd or at an image elsewhere renders without them."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.gif").write_bytes(GIF)
    override = tmp_path / "school"
    (override / "documents").mkdir(parents=True)
    (override / "documents" / "letterhead.html").write_text(
        '<img src="file:///etc/passwd"><img src="../elsewhere/secret.gif">'
        f'<img src="{(outside / "secret.gif").as_uri()}">'
        '<link rel="stylesheet" href="https://example.com/style.css">',
        encoding="utf-8",
    )
    renderer = DocumentRenderer(override_dir=override)
    pdf = renderer.pdf(renderer.html(DocumentKind.CHECKLIST, "fr", make_facts()))
    assert pdf_images(pdf) == 0
    assert "root:" not in pdf_text(pdf)


def test_the_fetcher_serves_template_files_and_data_urls_only(tmp_path: Path) -> None:
    """Files of the roots and `data:` URLs are served; other files, `..` and the network not."""
    root = tmp_path / "templates"
    root.mkdir()
    (root / "logo.gif").write_bytes(GIF)
    (tmp_path / "secret.gif").write_bytes(GIF)
    fetcher = TemplateFolderFetcher([root])
    assert fetcher.fetch((root / "logo.gif").as_uri()).read() == GIF
    assert fetcher.fetch("data:text/plain;base64,b2s=").read() == b"ok"
    for url in (
        "file:///etc/passwd",
        (tmp_path / "secret.gif").as_uri(),
        (root / "logo.gif").as_uri().replace("logo.gif", "../secret.gif"),
        "https://example.com/logo.gif",
        "ftp://example.com/logo.gif",
    ):
        with pytest.raises(ResourceRefusedError):
            fetcher.fetch(url)


def test_packaged_templates_hold_the_documents() -> None:
    """Without an installed copy, the templates are the repository's top-level folder."""
    folder = packaged_templates_dir() / "documents"
    for name in ("base.html", "letterhead.html", "style.css", "learning_agreement.html"):
        assert (folder / name).is_file()


# ---- locale formatting ----------------------------------------------------------------


def test_dates_are_written_the_long_way_of_each_language() -> None:
    """3 May 2027 in French, German, Polish (genitive month) and British English."""
    day = dt.date(2027, 5, 3)
    assert long_date(day, "fr") == "3 mai 2027"
    assert long_date(day, "de") == "3. Mai 2027"
    assert long_date(day, "pl") == "3 maja 2027"
    assert long_date(day, "en") == "3 May 2027"
    assert long_date(dt.date(2027, 6, 1), "fr") == "1er juin 2027"
    assert long_date(dt.date(2027, 6, 1), "de") == "1. Juni 2027"
    with pytest.raises(ValueError, match="fr, de, pl, en"):
        long_date(day, "it")


@pytest.mark.parametrize(
    ("weeks", "lang", "text"),
    [
        (1, "fr", "1 semaine"),
        (6, "fr", "6 semaines"),
        (1, "de", "1 Woche"),
        (6, "de", "6 Wochen"),
        (1, "en", "1 week"),
        (6, "en", "6 weeks"),
        (1, "pl", "1 tydzień"),
        (2, "pl", "2 tygodnie"),
        (4, "pl", "4 tygodnie"),
        (5, "pl", "5 tygodni"),
        (12, "pl", "12 tygodni"),
        (22, "pl", "22 tygodnie"),
        (25, "pl", "25 tygodni"),
    ],
)
def test_weeks_take_the_plural_form_of_the_language(weeks: int, lang: str, text: str) -> None:
    """Polish counts 1 tydzień, 2–4 tygodnie, 5+ tygodni (and 22–24 tygodnie again)."""
    assert weeks_text(weeks, lang) == text


def test_names_put_the_family_name_in_capitals_in_french_only() -> None:
    """`Léa MARTIN` in a French document, `Léa Martin` in the others."""
    assert full_name("Léa", "D'Almeida", "fr") == "Léa D'ALMEIDA"
    assert full_name("Léa", "D'Almeida", "pl") == "Léa D'Almeida"


def test_every_trade_has_a_title_in_every_document_language() -> None:
    """Each trade of trades.csv reads in German, Polish and English; unknown codes as given."""
    for code, trade in load_vocabulary().trades.items():
        assert trade_title(code, "fr") == trade.title
        for lang in ("de", "pl", "en"):
            assert trade_title(code, lang)
            assert trade_title(code, lang) != trade.title
    assert trade_title("commerce", "de") == "Handel und Verkauf"
    assert trade_title("no-such-trade", "en") == "no-such-trade"


def test_diplomas_carry_their_eqf_level() -> None:
    """A CAP is EQF level 3, a bac pro level 4, named the way each language names the EQF."""
    assert eqf_level(Diploma.CAP) == 3
    assert eqf_level(Diploma.BAC_PRO) == 4
    assert eqf_label(Diploma.BAC_PRO, "de") == "EQR-Niveau 4"
    assert eqf_label(Diploma.CAP, "fr") == "niveau 3 du CEC"
