"""The messages of the pages and their translations: what is missing, and stubs to fill.

    python scripts/messages.py check            # every message without a translation, and
                                                # every message translated two ways
    python scripts/messages.py update AREA LANG # add the missing messages of AREA to
                                                # translations/LANG/AREA.po, msgstr empty
    python scripts/messages.py fill AREA LANG < translations.json
                                                # set msgstr from {"msgid": "msgstr"} (a
                                                # list of strings for plural forms)

Messages are written in English in templates (`_("…")`) and page modules
(`_("…")`, `gettext`, `ngettext`). Each belongs to an area: the folder of its
template under templates/web/ (top-level files: `common`; `nav/<role>.html`: the
role), or the name of its module under web/pages/ or wording/ (other web modules: `common`).
The objective stages' labels and summaries (matching/stages.py, STAGE_SPECS) are messages
too, of the area `rounds`: the pages translate them through a variable (`_(spec.label)`),
which no extractor of `_("…")` sees, so they are read from the specs themselves.
Every area needs French; the areas partners see also German and Polish.
tests/test_translations.py fails on any message `check` lists.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

from mobility_match.matching.stages import STAGE_SPECS

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "web"
WEB = ROOT / "src" / "mobility_match" / "web"
WORDING = ROOT / "src" / "mobility_match" / "wording"
"""Words the pages and the mails share: each module marking messages is an area (its name)."""
TRANSLATIONS = WEB / "translations"
STAGES = ROOT / "src" / "mobility_match" / "matching" / "stages.py"
"""Where the stages' labels and summaries are written (STAGE_SPECS)."""
STAGES_AREA = "rounds"
"""The pages that show the stages' labels (web/pages/rounds.py, stage_texts)."""

PARTNER_AREAS = frozenset({"common", "partner", "review", "uploads"})
"""Areas a partner or a host sees: translated into German and Polish too."""

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


@dataclass(frozen=True)
class Message:
    area: str
    file: str
    line: int
    msgid: str | tuple[str, ...]

    @property
    def key(self) -> str:
        return self.msgid if isinstance(self.msgid, str) else self.msgid[0]


def area_of(path: Path) -> str:
    """The area a template or page module belongs to."""
    if path.suffix == ".py":
        return path.stem if path.parent.name in ("pages", "wording") else "common"
    relative = path.relative_to(TEMPLATES)
    if len(relative.parts) == 1:
        return "common"
    if relative.parts[0] == "nav":
        return path.stem
    return relative.parts[0]


def languages_of(area: str) -> tuple[str, ...]:
    return ("fr", "de", "pl") if area in PARTNER_AREAS else ("fr",)


def messages() -> Iterator[Message]:
    """Every message of the templates and page modules, where it is written."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        with path.open("rb") as source:
            for line, msgid, _comments, _context in extract(
                babel_extract, source, keywords=KEYWORDS, options=JINJA_OPTIONS
            ):
                yield Message(area_of(path), str(path.relative_to(ROOT)), line, msgid)
    for path in [*sorted(WEB.rglob("*.py")), *sorted(WORDING.glob("*.py"))]:
        with path.open("rb") as source:
            for line, msgid, _comments, _context in extract("python", source, keywords=KEYWORDS):
                yield Message(area_of(path), str(path.relative_to(ROOT)), line, msgid)
    yield from stage_messages()


def stage_messages() -> Iterator[Message]:
    """The label and the summary of every objective stage, each at its line in stages.py."""
    lines: dict[str, int] = {}
    for node in ast.walk(ast.parse(STAGES.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            lines.setdefault(node.value, node.lineno)
    for spec in STAGE_SPECS.values():
        for text in (spec.label, spec.summary):
            yield Message(STAGES_AREA, str(STAGES.relative_to(ROOT)), lines.get(text, 0), text)


def catalogue(language: str) -> dict[str, tuple[str, ...]]:
    """Every translated message of `language` (all its .po files), fuzzy ones left out."""
    translated: dict[str, tuple[str, ...]] = {}
    for path in sorted((TRANSLATIONS / language).glob("*.po")):
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
        for entry in catalog:
            if not entry.id or entry.fuzzy:
                continue
            key = entry.id if isinstance(entry.id, str) else entry.id[0]
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            translated[key] = tuple(strings)
    return translated


def conflicts() -> list[str]:
    """Messages translated differently in two .po files of one language: the catalogues are
    merged, so one translation would silently replace the other on every page."""
    found = []
    for folder in sorted(TRANSLATIONS.iterdir()):
        seen: dict[str, tuple[tuple[str, ...], str]] = {}
        for path in sorted(folder.glob("*.po")):
            with path.open("rb") as source:
                catalog = read_po(source, locale=folder.name)
            for entry in catalog:
                if not entry.id or entry.fuzzy:
                    continue
                key = entry.id if isinstance(entry.id, str) else entry.id[0]
                strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
                if not all(strings):
                    continue
                earlier = seen.setdefault(key, (tuple(strings), path.name))
                if earlier[0] != tuple(strings):
                    found.append(
                        f"{folder.name}: {key!r} is {earlier[0]!r} in {earlier[1]} "
                        f"but {tuple(strings)!r} in {path.name}"
                    )
    return found


def missing() -> list[tuple[str, Message]]:
    """(language, message) for every message without a full translation in a language it needs."""
    catalogues: dict[str, dict[str, tuple[str, ...]]] = {}
    found = []
    for message in messages():
        for language in languages_of(message.area):
            if language not in catalogues:
                catalogues[language] = catalogue(language)
            known = catalogues[language]
            strings = known.get(message.key)
            if not strings or not all(strings):
                found.append((language, message))
    return found


def update(area: str, language: str) -> int:
    """Add the missing messages of `area` to its .po file of `language`; how many."""
    path = TRANSLATIONS / language / f"{area}.po"
    if path.exists():
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
    else:
        catalog = Catalog(locale=language, project="mobility_match", fuzzy=False)
    added = 0
    for lang, message in missing():
        if lang == language and message.area == area and message.key not in catalog:
            catalog.add(message.msgid, locations=[(message.file, message.line)])
            added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as target:
        write_po(target, catalog, width=100, omit_header=False, sort_output=False)
    return added


def fill(area: str, language: str, strings: dict[str, str | list[str]]) -> int:
    """Set the translations of `strings` in translations/LANG/AREA.po; how many were set."""
    path = TRANSLATIONS / language / f"{area}.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    done = 0
    for entry in catalog:
        key = entry.id if isinstance(entry.id, str) else entry.id[0]
        if entry.id and key in strings:
            value = strings[key]
            entry.string = tuple(value) if isinstance(value, list) else value
            entry.flags.discard("fuzzy")
            done += 1
    with path.open("wb") as target:
        write_po(target, catalog, width=100, omit_header=False, sort_output=False)
    return done


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "fill":
        print(f"{fill(argv[1], argv[2], json.load(sys.stdin))} translations set")
        return 0
    if argv[:1] == ["check"]:
        gaps = missing()
        for language, message in gaps:
            print(f"{message.file}:{message.line}: [{language}] {message.key!r}")
        clashes = conflicts()
        for clash in clashes:
            print(clash)
        return 1 if gaps or clashes else 0
    if len(argv) == 3 and argv[0] == "update":
        print(f"{update(argv[1], argv[2])} messages added")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
