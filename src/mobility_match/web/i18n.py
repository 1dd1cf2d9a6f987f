"""Languages of the pages: gettext catalogues compiled with Babel, one per language.

Messages are written in English in the code and templates (the gettext
convention) and translated in `translations/<lang>/<area>.po`, one file per
part of the site so that parts can change apart; the files of a language are
merged. The catalogues are compiled in mobility_match/wording/catalogues.py (which
the mails use too). French is the default; partners may also choose German or Polish.
"""

from __future__ import annotations

from mobility_match.models import Role
from mobility_match.wording.catalogues import TRANSLATIONS, catalogue_files, translations

__all__ = [
    "ANONYMOUS_LANGUAGES",
    "DEFAULT_LANGUAGE",
    "LANGUAGE_NAMES",
    "PARTNER_LANGUAGES",
    "STAFF_LANGUAGES",
    "TRANSLATIONS",
    "catalogue_files",
    "choose_language",
    "languages_for",
    "translations",
]

DEFAULT_LANGUAGE = "fr"

LANGUAGE_NAMES = {"fr": "Français", "en": "English", "de": "Deutsch", "pl": "Polski"}
"""Each language in its own words, as the language menu shows it."""

STAFF_LANGUAGES = ("fr", "en")
PARTNER_LANGUAGES = ("fr", "en", "de", "pl")
ANONYMOUS_LANGUAGES = PARTNER_LANGUAGES
"""The sign-in page is also the partners' first page."""


def languages_for(role: Role | None) -> tuple[str, ...]:
    """The languages a person may choose: partners also German and Polish; the other roles
    (evaluators too) French and English."""
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
