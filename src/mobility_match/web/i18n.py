"""Languages of the pages: gettext catalogues compiled with Babel, one per language.

Messages are written in English in the code and templates (the gettext
convention) and translated in `translations/<lang>/<area>.po`, one file per
part of the site so that parts can change apart; the files of a language are
merged. The catalogues are compiled from the .po files when the process first
needs them (Babel's compiler, in memory), so that a .po and what runs can never
disagree. French is the default; partners may also choose German or Polish.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from mobility_match.models import Role

DEFAULT_LANGUAGE = "fr"

LANGUAGE_NAMES = {"fr": "Français", "en": "English", "de": "Deutsch", "pl": "Polski"}
"""Each language in its own words, as the language menu shows it."""

STAFF_LANGUAGES = ("fr", "en")
PARTNER_LANGUAGES = ("fr", "en", "de", "pl")
ANONYMOUS_LANGUAGES = PARTNER_LANGUAGES
"""The sign-in page is also the partners' first page."""

TRANSLATIONS = Path(str(files("mobility_match") / "web" / "translations"))


def languages_for(role: Role | None) -> tuple[str, ...]:
    """The languages a person may choose: partners also German and Polish."""
    if role is None:
        return ANONYMOUS_LANGUAGES
    return PARTNER_LANGUAGES if role is Role.PARTNER else STAFF_LANGUAGES


def choose_language(role: Role | None, *wanted: str | None) -> str:
    """The first of `wanted` that `role` may use, else French."""
    allowed = languages_for(role)
    for language in wanted:
        if language in allowed:
            return language
    return DEFAULT_LANGUAGE


def catalogue_files(language: str) -> list[Path]:
    """The .po files of one language, in a fixed order."""
    return sorted((TRANSLATIONS / language).glob("*.po"))


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled, merged catalogues of `language` (English: the messages as written)."""
    merged: Translations | None = None
    for path in catalogue_files(language):
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
        compiled.seek(0)
        part = Translations(compiled)
        merged = part if merged is None else merged.merge(part)
    return merged if merged is not None else gettext.NullTranslations()
