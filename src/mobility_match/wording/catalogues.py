"""The gettext catalogues, compiled with Babel, one per language: the pages' and the mails'.

Messages are written in English and translated in `web/translations/<lang>/<area>.po`,
one file per part of the site; the files of a language are merged. The catalogues are
compiled from the .po files when the process first needs them (Babel's compiler, in
memory), so that a .po and what runs can never disagree. No HTTP here.
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

TRANSLATIONS = Path(str(files("mobility_match") / "web" / "translations"))


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
