"""How placement documents write dates, names, places, phones and partners in each language.

Plain functions from a value and a language code (`fr`, `de`, `pl`, `en`) to plain text;
the renderer registers them as Jinja filters and globals. They return text, never markup
(only `typography` takes the rendered, escaped page and returns it), so a name with `<` or
`'` stays harmless. The words themselves are data (`vocabularies/document_*.csv` and the
other CSV files read here), which a native speaker corrects without touching this code.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import phonenumbers
from babel import Locale
from babel.dates import format_date
from markupsafe import Markup

from mobility_match.domain import Country, Diploma

LOCALES: Mapping[str, str] = {"fr": "fr_FR", "de": "de_DE", "pl": "pl_PL", "en": "en_GB"}
"""The Babel locale each document language is written in (British English for the UK)."""

_WEEK_WORDS: Mapping[str, Mapping[str, str]] = {
    "fr": {"one": "semaine", "other": "semaines"},
    "de": {"one": "Woche", "other": "Wochen"},
    "en": {"one": "week", "other": "weeks"},
    # Polish has three forms for whole numbers: 1 tydzień, 2–4 (22–24…) tygodnie, 5+ tygodni.
    "pl": {"one": "tydzień", "few": "tygodnie", "many": "tygodni", "other": "tygodnia"},
}

_DIPLOMA_NAMES: Mapping[Diploma, Mapping[str, str]] = {
    Diploma.CAP: {
        "fr": "Certificat d'aptitude professionnelle (CAP)",
        "de": "CAP – französischer Berufsabschluss (Certificat d'aptitude professionnelle)",
        "pl": "CAP – francuski dyplom zawodowy (Certificat d'aptitude professionnelle)",
        "en": "CAP – French vocational certificate (Certificat d'aptitude professionnelle)",
    },
    Diploma.BAC_PRO: {
        "fr": "Baccalauréat professionnel",
        "de": "Bac pro – französisches Berufsabitur (Baccalauréat professionnel)",
        "pl": "Bac pro – francuska matura zawodowa (Baccalauréat professionnel)",
        "en": "Bac pro – French vocational baccalaureate (Baccalauréat professionnel)",
    },
}

_EQF_LEVELS: Mapping[Diploma, int] = {Diploma.CAP: 3, Diploma.BAC_PRO: 4}

# The European Qualifications Framework goes by its own initials in each language.
_EQF_LABELS: Mapping[str, str] = {
    "fr": "niveau {level} du CEC",
    "de": "EQR-Niveau {level}",
    "pl": "poziom {level} ERK",
    "en": "EQF level {level}",
}


def _checked(lang: str) -> str:
    """Return the language code if documents are written in it, else raise ValueError."""
    if lang not in LOCALES:
        raise ValueError(f"No document language {lang!r}; expected one of {', '.join(LOCALES)}.")
    return lang


def _locale(lang: str) -> str:
    return LOCALES[_checked(lang)]


def long_date(day: dt.date, lang: str) -> str:
    """Write a date the long way of the language: `3 mai 2027`, `3. Mai 2027`, `3 maja 2027`."""
    written = format_date(day, format="long", locale=_locale(lang))
    if lang == "fr" and day.day == 1:
        # French writes the first of the month as an ordinal (`1er mai`); CLDR does not.
        return "1er" + written.removeprefix("1")
    return written


def weeks_text(weeks: int, lang: str) -> str:
    """Write a number of weeks with the plural form the language needs (`2 tygodnie`)."""
    category = Locale.parse(_locale(lang)).plural_form(weeks)
    words = _WEEK_WORDS[lang]
    return f"{weeks} {words.get(category, words['other'])}"


def full_name(first_name: str, last_name: str, lang: str) -> str:
    """Write a person's name: French documents put the family name in capitals."""
    if _checked(lang) == "fr":
        return f"{first_name} {last_name.upper()}"
    return f"{first_name} {last_name}"


@cache
def _rows(file_name: str) -> tuple[Mapping[str, str], ...]:
    """The rows of one CSV file of `mobility_match.vocabularies`, read once."""
    text = resources.files("mobility_match.vocabularies").joinpath(file_name).read_text("utf-8")
    return tuple(csv.DictReader(text.splitlines()))


@cache
def _trade_titles() -> Mapping[str, Mapping[str, str]]:
    return {row["code"]: row for row in _rows("trades.csv")}


def trade_title(code: str, lang: str) -> str:
    """Name a trade in the language, falling back to French, then to its code if unknown."""
    _checked(lang)
    row = _trade_titles().get(code)
    if row is None:
        return code
    return row.get(f"title_{lang}") or row["title_fr"]


def diploma_name(diploma: Diploma, lang: str) -> str:
    """Name a French vocational diploma so that a reader abroad knows what it is."""
    return _DIPLOMA_NAMES[diploma][_checked(lang)]


def eqf_level(diploma: Diploma) -> int:
    """Return the diploma's level in the European Qualifications Framework (CAP 3, bac pro 4)."""
    return _EQF_LEVELS[diploma]


def eqf_label(diploma: Diploma, lang: str) -> str:
    """Write the diploma's EQF level in the language (`EQR-Niveau 4`, `niveau 4 du CEC`)."""
    return _EQF_LABELS[_checked(lang)].format(level=eqf_level(diploma))


def occupation(code: str, lang: str) -> str:
    """Name the trainee's occupation (German `Beruf`: `Koch/Köchin`), else the trade's title."""
    if _checked(lang) == "de":
        for row in _rows("german_occupations.csv"):
            if row["code"] == code:
                return row["occupation"]
    return trade_title(code, lang)


def language_name(code: str, lang: str) -> str:
    """Name a language in the language of the document (`Englisch`, `angielski`)."""
    names: Mapping[str, str] = Locale.parse(_locale(lang)).languages
    return names.get(code, code)


# ---- countries and partner organisations ----------------------------------------------


def _country_row(country: Country | str, lang: str) -> Mapping[str, str]:
    code = Country(country).value if country != "FR" else "FR"
    for row in _rows("document_countries.csv"):
        if row["code"] == code and row["lang"] == _checked(lang):
            return row
    raise ValueError(f"document_countries.csv has no row for {code} in {lang!r}.")


def country_name(country: Country | str, lang: str) -> str:
    """Name a country in the language (`Deutschland`, `Wielka Brytania`); `FR` too."""
    return _country_row(country, lang)["name"]


def in_country(country: Country | str, lang: str) -> str:
    """Say "in that country", preposition and article included: `au Royaume-Uni`, `w Polsce`."""
    return _country_row(country, lang)["in_country"]


@dataclass(frozen=True)
class PartnerWording:
    """How a document names a partner organisation in one language, and what it does."""

    name: str
    """For a table: `Deutsch-Französisches Jugendwerk (DFJW)`."""
    with_article: str
    """For a sentence: `l'Office franco-allemand pour la Jeunesse (OFAJ)`, `the British Council`."""
    role: str
    """Its real part in the programme, in a few words; empty when the data gives none."""
    intermediary: bool
    """An Erasmus+ intermediary organisation: only when the data says so."""


def partner(code: str, lang: str, fallback_name: str = "") -> PartnerWording:
    """A partner as `document_partners.csv` names it in the language; else its plain name."""
    for row in _rows("document_partners.csv"):
        if row["code"] == code and row["lang"] == _checked(lang):
            return PartnerWording(
                row["name"], row["with_article"], row["role"], row["intermediary"] == "yes"
            )
    name = fallback_name or code
    return PartnerWording(name, name, "", intermediary=False)


# ---- words of the documents -----------------------------------------------------------


def labels(document: str, lang: str) -> Mapping[str, str]:
    """The labels of a bilingual document in one language (`document_labels.csv`)."""
    found = {
        r["key"]: r[_checked(lang)]
        for r in _rows("document_labels.csv")
        if r["document"] == document
    }
    if not found:
        raise ValueError(f"document_labels.csv has no labels for {document!r}.")
    return found


def commitments(party: str, lang: str, minor: bool) -> tuple[str, ...]:
    """What one party of the learning agreement undertakes (`learner`, `guardian`, `school`,
    `host`), from `learning_agreement_commitments.csv`; some only when the learner is a minor."""
    return tuple(
        row[_checked(lang)]
        for row in _rows("learning_agreement_commitments.csv")
        if row["party"] == party and (minor or row["minor_only"] != "yes")
    )


def skill_label(code: str, lang: str) -> str:
    """A skill the host tutor observed, in the words of the review form the tutor ticked
    (`host_review_skills.csv`); the code itself if it left the vocabulary."""
    column = _checked(lang)
    return next(
        (row[column] for row in _rows("host_review_skills.csv") if row["code"] == code), code
    )


# ---- people, addresses, telephones ----------------------------------------------------


def phrase(key: str, lang: str, **fields: str) -> str:
    """A sentence of `document_phrases.csv` in the language, its `{fields}` filled in."""
    for row in _rows("document_phrases.csv"):
        if row["key"] == key:
            return row[_checked(lang)].format(**fields)
    raise ValueError(f"document_phrases.csv has no phrase {key!r}.")


def _gender_key(prefix: str, name: str, gender: str) -> str:
    if not name:
        return prefix
    return f"{prefix}_{gender}" if gender in ("F", "M") else f"{prefix}_named"


def salutation(name: str, gender: str, lang: str) -> str:
    """Open a letter to a contact: `Sehr geehrte Frau Schmidt,` when the gender is known,
    `Guten Tag Anna Schmidt,` when only the name is, `Sehr geehrte Damen und Herren,` else."""
    last_name = name.split(" ", 1)[-1]
    return phrase(_gender_key("salutation", name, gender), lang, name=name, last_name=last_name)


def addressee(name: str, gender: str, lang: str) -> str:
    """The contact's line of an address: `Frau Anna Schmidt` (DIN 5008), `Ms Anna Smith`."""
    return phrase(_gender_key("recipient", name, gender), lang, name=name) if name else ""


_UK_POSTCODE = re.compile(r"^(?P<town>.*?)\s*(?P<postcode>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$")


def address_lines(address: str, country: Country) -> tuple[str, ...]:
    """Lay out a host's address as the post of its country wants it, from France.

    Germany (DIN 5008) and Poland: street and number, then postcode and town. The UK (Royal
    Mail): each part on its line, the post town in capitals, the postcode on the last line.
    Then the country, in capitals and in French: the letter leaves from France (UPU).
    """
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if country is Country.UK and parts and (found := _UK_POSTCODE.match(parts[-1])):
        town = [found["town"].upper()] if found["town"] else []
        parts = [*parts[:-1], *town, found["postcode"]]
    elif len(parts) > 2:
        parts = [", ".join(parts[:-1]), parts[-1]]
    return (*parts, country_name(country, "fr").upper())


def phone(number: str, international: bool, region: str = "FR") -> str:
    """Write a French number nationally (`04 65 71 75 13`) or, for a reader abroad, in
    international form (`+33 4 65 71 75 13`), with no-break spaces; a number that does not
    parse stays as given."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    style = phonenumbers.PhoneNumberFormat
    written = phonenumbers.format_number(
        parsed, style.INTERNATIONAL if international else style.NATIONAL
    )
    return written.replace(" ", "\u00a0")  # a number never breaks across lines


@dataclass(frozen=True)
class MinorDuties:
    """What a host owes a trainee under 18, under the host country's law, in one language."""

    intro: str
    duties: tuple[str, ...]
    check: str
    """What the coordination must still check (in French); empty when nothing is doubtful."""


def minor_duties(country: Country, lang: str, name: str) -> MinorDuties:
    """The host country's rules for a trainee under 18 (`minor_duties.csv`), naming him or her."""
    rows = [r for r in _rows("minor_duties.csv") if r["country"] == Country(country).value]
    texts = [r for r in rows if r["lang"] == _checked(lang)]
    if not texts:
        raise ValueError(f"minor_duties.csv has no rules for {country} in {lang!r}.")
    intro = next((r["text"] for r in texts if r["kind"] == "intro"), "")
    check = next((r["text"] for r in rows if r["kind"] == "check"), "")
    return MinorDuties(
        intro.format(name=name), tuple(r["text"] for r in texts if r["kind"] == "duty"), check
    )


# ---- French grammar and typography ----------------------------------------------------

_ELIDED = {"de": "d'", "que": "qu'", "le": "l'", "la": "l'", "ne": "n'", "je": "j'"}
_VOWELS = "aeiouâàäéèêëîïôöûùüœæ"


@cache
def _aspirated_h() -> frozenset[str]:
    return frozenset(row["word"].lower() for row in _rows("french_aspirated_h.csv"))


def after(following: str, word: str) -> str:
    """Put a French word before a name, elided where French elides: `d'Arthur`, `qu'Eva`,
    `l'Office`, but `de Yanis` (a y before a vowel) and `de Hambourg` (an aspirated h)."""
    elided = _ELIDED.get(word.lower())
    first = following[:1].lower()
    second = following[1:2].lower()
    if elided is None or not first:
        return f"{word} {following}"
    starts_with_vowel_sound = (
        first in _VOWELS
        or (first == "y" and second not in _VOWELS)
        or (first == "h" and following.split(" ", 1)[0].lower() not in _aspirated_h())
    )
    if not starts_with_vowel_sound:
        return f"{word} {following}"
    return (elided.capitalize() if word[:1].isupper() else elided) + following


_POSSESSIVES = {"sa": "votre", "son": "votre", "ses": "vos", "se": "vous", "soi": "vous"}


def to_you(text: str) -> str:
    """Turn a step written for anyone (`Vérifier sa carte`) into one addressed to the reader
    (`Vérifier votre carte`, `Vous préparer à…`): the student letter says "vous"."""

    def swap(found: re.Match[str]) -> str:
        word = found[0]
        new = _POSSESSIVES["se" if word.lower() == "s'" else word.lower()]
        new = new + " " if word.lower() == "s'" else new
        return new.capitalize() if word[0].isupper() else new

    return re.sub(r"\b(?:[Ss]a|[Ss]on|[Ss]es|[Ss]e|[Ss]oi)\b(?!')|\b[Ss]'(?!ils?\b)", swap, text)


_TAG = re.compile(r"(<[^>]*>)")
_NBSP, _NNBSP = "\u00a0", "\u202f"


_SIGNS = re.compile(r"[§«»:;!?]")
"""The signs spacing is about: a text without any (most between tags) is left as it is."""


def _spacing(text: str, *, french: bool) -> str:
    if _SIGNS.search(text) is None:
        return text
    text = re.sub(r"(§+)[ \t\n]+", "\\1" + _NBSP, text)
    if not french:
        return text
    text = re.sub(r"«[ \t\n\u00a0\u202f]*", "«" + _NBSP, text)
    text = re.sub(r"[ \t\n\u00a0\u202f]*»", _NBSP + "»", text)
    text = re.sub(r"[ \t\n]+:", _NBSP + ":", text)
    text = re.sub(r"[ \t\n]+([;!?])", _NNBSP + r"\1", text)
    # A missing space too, after a letter and before a space (never in `https:` or `14:30`);
    # never before `;`, which ends `&amp;` and the other character references.
    return re.sub(
        r"(?<=[^\W\d_])([:!?])(?=\s|$)",
        lambda found: (_NBSP if found[1] == ":" else _NNBSP) + found[1],
        text,
    )


def typography(html: Markup | str, lang: str) -> Markup | str:
    """Spaces that must not break, for a page or a text. In French: a no-break space inside
    « » and before `:`, a narrow one before `; ! ?`, so that no sign starts a line. In every
    language: none after `§` (`§ 11`). Tags are left alone."""
    french = _checked(lang) == "fr"
    parts = _TAG.split(str(html))
    spaced = "".join(
        part if part.startswith("<") else _spacing(part, french=french) for part in parts
    )
    return Markup(spaced) if isinstance(html, Markup) else spaced
