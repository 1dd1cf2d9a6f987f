"""The words of placement documents: French grammar and typography, and what each host reads.

Rendered to HTML only (no PDF): the templates and the wording data are what is tested.
"""

from __future__ import annotations

import csv
import datetime as dt
import html as html_module
import re
from dataclasses import replace
from importlib import resources

import pytest

from mobility_match.documents.facts import HOST_LANGUAGE, Actor, DueStep, working_language
from mobility_match.documents.formatting import (
    address_lines,
    after,
    country_name,
    in_country,
    occupation,
    partner,
    phone,
    salutation,
    to_you,
    typography,
)
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer, available_languages
from mobility_match.domain import (
    Country,
    Diploma,
    Gender,
    LanguageNeed,
    Offer,
    Sector,
    Student,
    load_vocabulary,
)
from tests.placements import make_facts

NBSP, NNBSP = "\u00a0", "\u202f"
DAY = dt.date(2027, 4, 5)


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()


def text_of(page: str) -> str:
    """A page's text as a reader sees it: tags dropped, references decoded, spaces single."""
    body = page.split("<body", 1)[1]
    return re.sub(r"[ \t\n]+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", body)))


def every_document(renderer: DocumentRenderer, **facts: object) -> dict[tuple[str, str], str]:
    """Each document of one placement in each of its languages, as HTML."""
    placement = make_facts(**facts)
    return {
        (kind.value, lang): renderer.html(kind, lang, placement, placement.first_steps)
        for kind in DocumentKind
        for lang in available_languages(kind, placement.country)
    }


# ---- countries, elision, organisations -------------------------------------------------


@pytest.mark.parametrize(
    ("country", "lang", "said"),
    [
        (Country.DE, "fr", "en Allemagne"),
        (Country.PL, "fr", "en Pologne"),
        (Country.UK, "fr", "au Royaume-Uni"),
        (Country.UK, "de", "im Vereinigten Königreich"),
        (Country.PL, "pl", "w Polsce"),
        (Country.UK, "en", "in the United Kingdom"),
        ("FR", "pl", "we Francji"),
    ],
)
def test_a_country_comes_with_its_preposition(country: Country, lang: str, said: str) -> None:
    """ "au Royaume-Uni", "en Allemagne": the preposition is data of the country."""
    assert in_country(country, lang) == said


@pytest.mark.parametrize("country", list(Country))
def test_the_student_letter_says_in_which_country(
    renderer: DocumentRenderer, country: Country
) -> None:
    """The letter reads "votre stage en entreprise au Royaume-Uni", never "en Royaume-Uni"."""
    letter = text_of(renderer.html(DocumentKind.STUDENT_LETTER, "fr", make_facts(country=country)))
    assert f"stage en entreprise {in_country(country, 'fr')}, du" in letter
    assert "en Royaume-Uni" not in letter


@pytest.mark.parametrize(
    ("word", "name", "written"),
    [
        ("de", "Arthur", "d'Arthur"),
        ("que", "Eva", "qu'Eva"),
        ("de", "Élodie", "d'Élodie"),
        ("de", "Hugo", "d'Hugo"),  # a mute h
        ("de", "Hambourg", "de Hambourg"),  # an aspirated h (french_aspirated_h.csv)
        ("de", "Yves", "d'Yves"),  # a y sounded as a vowel
        ("de", "Yanis", "de Yanis"),  # a y sounded as a consonant
        ("de", "Léa", "de Léa"),
        ("la", "Office", "l'Office"),
        ("De", "Inès", "D'Inès"),
    ],
)
def test_french_elides_before_a_vowel_or_a_mute_h(word: str, name: str, written: str) -> None:
    """d'Arthur, qu'Eva, but de Yanis and de Hambourg."""
    assert after(name, word) == written


def test_the_host_letter_and_certificate_elide_before_the_students_name(
    renderer: DocumentRenderer,
) -> None:
    """ "l'accueil en stage d'Arthur", "Nous certifions qu'Eva": never "de Arthur", "que Eva"."""
    arthur = make_facts(first_name="Arthur", gender=Gender.M, country=Country.PL)
    letter = text_of(renderer.html(DocumentKind.HOST_LETTER, "fr", arthur))
    assert "l'accueil en stage d'Arthur MARTIN" in letter
    eva = make_facts(first_name="Eva", country=Country.DE)
    certificate = text_of(renderer.html(DocumentKind.ATTENDANCE_CERTIFICATE, "de", eva))
    assert "Nous certifions qu'Eva MARTIN, née le 14 mars 2006" in certificate


@pytest.mark.parametrize(
    ("country", "lang", "named", "never"),
    [
        (Country.DE, "de", "Deutsch-Französisches Jugendwerk (DFJW)", "Office franco-allemand"),
        (Country.DE, "fr", "par l'Office franco-allemand pour la Jeunesse (OFAJ)", "DFJW"),
        (Country.UK, "en", "or the British Council, with any questions", "Intermediary"),
        (Country.PL, "pl", "Fundacja ABC Wiedzy", "pośrednicząca"),
    ],
)
def test_the_host_letter_names_the_partner_in_its_language_and_role(
    renderer: DocumentRenderer, country: Country, lang: str, named: str, never: str
) -> None:
    """The German host knows the OFAJ as DFJW; the article comes with the name; no partner
    is called an Erasmus+ intermediary organisation unless the data says so."""
    letter = text_of(renderer.html(DocumentKind.HOST_LETTER, lang, make_facts(country=country)))
    assert named in letter
    assert never not in letter
    assert partner(make_facts(country=country).partner_code, lang).role in letter


def test_the_learning_agreement_calls_the_partner_a_partner(renderer: DocumentRenderer) -> None:
    """ "Partnerorganisation", not "Vermittelnde Organisation": the data says no otherwise."""
    agreement = text_of(renderer.html(DocumentKind.LEARNING_AGREEMENT, "de", make_facts()))
    assert "Partnerorganisation / Organisation partenaire" in agreement
    assert "Vermittelnde" not in agreement
    assert "intermédiaire" not in agreement


def test_every_partner_and_trade_has_its_words() -> None:
    """Each partner is named in French and in its host's language; each trade has a German
    occupation; each country is named in every document language."""
    vocabulary = load_vocabulary()
    for code, known in vocabulary.partners.items():
        host = HOST_LANGUAGE[Country(known.country)]
        for lang in ("fr", host):
            worded = partner(code, lang)
            assert worded.name != code
            assert worded.with_article
    for code in vocabulary.trades:
        assert "/" in occupation(code, "de") or "Fachkraft" in occupation(code, "de"), code
    for country in [*Country, "FR"]:
        for lang in ("fr", "de", "pl", "en"):
            assert country_name(country, lang)
            assert in_country(country, lang)


# ---- typography ---------------------------------------------------------------------


def test_french_typography_puts_no_break_spaces_where_french_wants_them() -> None:
    """Inside « », before : (no-break space) and ; ! ? (narrow), added where missing; tags,
    character references, URLs, times and other languages untouched; after § in all."""
    assert typography("« Lernvereinbarung »", "fr") == f"«{NBSP}Lernvereinbarung{NBSP}»"
    assert typography("«Lernvereinbarung»", "fr") == f"«{NBSP}Lernvereinbarung{NBSP}»"
    assert typography("À vérifier : ceci ; et ensuite ? oui !", "fr") == (
        f"À vérifier{NBSP}: ceci{NNBSP}; et ensuite{NNBSP}? oui{NNBSP}!"
    )
    assert typography("Attention: ceci", "fr") == f"Attention{NBSP}: ceci"
    kept = '<a href="https://x.example/a:b" title="x ?">Lyon &amp; 14:30</a>'
    assert typography(kept, "fr") == kept
    assert typography("Note : this", "en") == "Note : this"
    assert typography("(§§ 8, 15 JArbSchG)", "de") == f"(§§{NBSP}8, 15 JArbSchG)"


def test_french_pages_have_no_breakable_space_before_a_sign(renderer: DocumentRenderer) -> None:
    """In every French document, data-driven step titles included, no ordinary space stands
    inside « » or before : ; ! ?, so that no sign starts a line alone."""
    step = DueStep(
        key="x",
        title="Préparer son arrivée : horaires ; transport ?",
        explanation="« Bienvenue » !",
        who=Actor.STUDENT,
        due_on=make_facts().start_date,
    )
    pages = {}
    for country in Country:
        facts = make_facts(country=country, first_steps=(step,), minor=True)
        for kind in DocumentKind:
            if "fr" not in available_languages(kind, country):
                continue
            page = pages[kind] = text_of(renderer.html(kind, "fr", facts, [step]))
            assert not re.search(r" [:;!?»]|« ", page), (kind, re.findall(r".{20} [:;!?»]", page))
    # The checklist keeps "son": it speaks of the student.
    checklist = pages[DocumentKind.CHECKLIST]
    assert f"Préparer son arrivée{NBSP}: horaires{NNBSP}; transport{NNBSP}?" in checklist


# ---- gender, person, agreement ----------------------------------------------------------


def test_no_document_uses_the_point_median(renderer: DocumentRenderer) -> None:
    """For a student of gender X, a minor, sentences need no gendered form: no "né·e"."""
    for country in Country:
        documents = every_document(renderer, country=country, gender=Gender.X, minor=True)
        for (kind, lang), page in documents.items():
            assert not re.search(r"\w·\w", page), (kind, lang)
    certificate = text_of(
        renderer.html(
            DocumentKind.ATTENDANCE_CERTIFICATE, "de", make_facts(gender=Gender.X, minor=True)
        )
    )
    assert "date de naissance : 1er septembre 2010" in certificate.replace(NBSP, " ")


def test_the_student_letter_speaks_to_the_student_in_the_step_table(
    renderer: DocumentRenderer,
) -> None:
    """ "Vous … votre carte": a student's step is addressed to "vous"; others stay as written."""
    steps = (
        DueStep("id", "Vérifier sa carte d'identité ou son passeport", "", Actor.STUDENT, DAY),
        DueStep("prep", "Se préparer à la langue du pays", "", Actor.STUDENT, DAY),
        DueStep("meet", "Organiser sa réunion de départ", "", Actor.TEACHER, DAY),
    )
    letter = text_of(
        renderer.html(DocumentKind.STUDENT_LETTER, "fr", make_facts(first_steps=steps))
    )
    assert "Vous Vérifier votre carte d'identité ou votre passeport" in letter
    assert "Vous Vous préparer à la langue du pays" in letter
    assert "Votre professeur Organiser sa réunion de départ" in letter
    assert to_you("Vérifier s'il faut déclarer ses revenus") == (
        "Vérifier s'il faut déclarer vos revenus"
    )


# ---- what the host reads ------------------------------------------------------------


def test_german_wording_of_the_certificate_salutation_and_occupation(
    renderer: DocumentRenderer,
) -> None:
    """Praktikumsbescheinigung; "Sehr geehrte Frau Schmidt" when the offer gives the contact's
    gender, "Guten Tag Anna Schmidt" when only the name; the Beruf is the trainee's trade."""
    facts = make_facts(trade="cuisine")
    certificate = text_of(renderer.html(DocumentKind.ATTENDANCE_CERTIFICATE, "de", facts))
    assert "Praktikumsbescheinigung / Attestation de présence" in certificate
    assert "Teilnahmebescheinigung" not in certificate
    letter = text_of(renderer.html(DocumentKind.HOST_LETTER, "de", facts))
    assert "Guten Tag Anna Schmidt," in letter
    assert "Beruf Koch/Köchin" in letter
    named = make_facts(tutor_gender="F")
    letter = text_of(renderer.html(DocumentKind.HOST_LETTER, "de", named))
    assert "Sehr geehrte Frau Schmidt," in letter
    assert "Frau Anna Schmidt" in letter  # the address, DIN 5008
    assert salutation("", "", "de") == "Sehr geehrte Damen und Herren,"
    assert salutation("Oliver Hughes", "M", "en") == "Dear Mr Hughes,"


@pytest.mark.parametrize(
    ("country", "lang", "words"),
    [
        (Country.DE, "de", ["Jugendarbeitsschutzgesetz", "8 Stunden", "Ruhepausen", "12 Stunden"]),
        (Country.PL, "pl", ["Kodeks pracy", "8 godzin", "30 minut", "14 godzin"]),
        (Country.UK, "en", ["Working Time Regulations 1998", "8 hours", "30 minutes"]),
        (Country.PL, "fr", ["moins de 18 ans", "À vérifier par la coordination"]),
    ],
)
def test_a_minors_host_letter_names_the_hosts_duties(
    renderer: DocumentRenderer, country: Country, lang: str, words: list[str]
) -> None:
    """A trainee under 18: the host letter says so, in the host's language, with the hours,
    breaks and rest the law requires; the French copy says what the coordination checks."""
    minor = text_of(
        renderer.html(DocumentKind.HOST_LETTER, lang, make_facts(country=country, minor=True))
    )
    for word in words:
        assert word in minor.replace(NBSP, " ").replace(NNBSP, " ")
    adult = text_of(renderer.html(DocumentKind.HOST_LETTER, lang, make_facts(country=country)))
    assert words[0] not in adult


def test_addresses_and_telephones_follow_the_recipients_country(
    renderer: DocumentRenderer,
) -> None:
    """DIN 5008 (street, then postcode and town), Royal Mail (town in capitals, postcode
    alone), the country last; the school's telephone in international form for the host."""
    assert address_lines("Grimmaische Straße 12, 04109 Leipzig", Country.DE) == (
        "Grimmaische Straße 12",
        "04109 Leipzig",
        "ALLEMAGNE",
    )
    assert address_lines("Unit 5, High Street, Leeds LS1 4AB", Country.UK) == (
        "Unit 5",
        "High Street",
        "LEEDS",
        "LS1 4AB",
        "ROYAUME-UNI",
    )
    assert phone("04 78 00 00 00", international=True) == "+33 4 78 00 00 00".replace(" ", NBSP)
    assert phone("not a number", international=True) == "not a number"
    uk = renderer.html(DocumentKind.HOST_LETTER, "en", make_facts(country=Country.UK))
    assert "<p>MANCHESTER</p>\n  <p>M3 2BW</p>" in uk
    assert "+33\u00a04\u00a078\u00a000\u00a000\u00a000" in uk
    student = renderer.html(DocumentKind.STUDENT_LETTER, "fr", make_facts())
    assert "04\u00a078\u00a000\u00a000\u00a000" in student
    assert "+33" not in student


def test_the_learning_agreement_gives_language_function_commitments_and_stamps(
    renderer: DocumentRenderer,
) -> None:
    """The working language and level, the learner's address, the school contact's function,
    each party's commitments, and a stamp box for the school and the company."""
    facts = make_facts(
        working_language="de", working_level="B1", student_address="3 rue des Lilas, 69003 Lyon"
    )
    agreement = text_of(renderer.html(DocumentKind.LEARNING_AGREEMENT, "de", facts))
    assert "Deutsch, B1" in agreement
    assert "3 rue des Lilas, 69003 Lyon" in agreement
    assert "Claire Dubois, Koordination der Auslandspraktika" in agreement
    assert "Verpflichtungen der Beteiligten" in agreement
    assert "Das vereinbarte Arbeitsprogramm befolgen" in agreement
    assert agreement.count("und Stempel") == 2


def test_the_working_language_is_the_requirement_the_learner_meets() -> None:
    """German B1 or English B2 asked, the learner has English C1: English, C1; none asked:
    the host country's language, at the learner's level if known."""
    student = Student(
        student_id="S1",
        first_name="Léa",
        last_name="Martin",
        gender=Gender.F,
        birth_date=make_facts().birth_date,
        school_id="LP",
        diploma=Diploma.BAC_PRO,
        trade="commerce",
        available_from=make_facts().start_date,
        available_to=make_facts().end_date,
        languages={"en": 5, "de": 2},
    )
    offer = Offer(
        offer_id="O1",
        partner="OFAJ",
        company_id="C1",
        company_name="Kaufhaus Sommer GmbH",
        country=Country.DE,
        city="Leipzig",
        address="Grimmaische Straße 12, 04109 Leipzig",
        contact_name="Anna Schmidt",
        contact_email="a.schmidt@kaufhaus-sommer.example",
        sector=Sector.SERVICES,
        trades=frozenset({"commerce"}),
        places=1,
        start_date=make_facts().start_date,
        end_date=make_facts().end_date,
        language_requirement=(LanguageNeed("de", 3), LanguageNeed("en", 4)),
    )
    assert working_language(student, offer) == ("en", "C1")
    assert working_language(student, replace(offer, language_requirement=())) == ("de", "A2")


def test_translations_are_data_files() -> None:
    """The documents' words live in CSV files a native speaker can correct."""
    folder = resources.files("mobility_match.vocabularies")
    for name in (
        "document_countries.csv",
        "document_partners.csv",
        "document_phrases.csv",
        "document_labels.csv",
        "learning_agreement_commitments.csv",
        "minor_duties.csv",
        "german_occupations.csv",
    ):
        rows = list(csv.DictReader(folder.joinpath(name).read_text("utf-8").splitlines()))
        assert rows, name
        assert all(all(value is not None for value in row.values()) for row in rows), name
