"""Turn a placement's facts into the documents teachers print, sign and send: HTML, then PDF.

Templates live in `templates/documents/` (shipped with the package when installed); a
school may override any single one of them from a folder of its own. This module must not
touch the database or a request, nor build markup from personal data in Python: every
template is autoescaped, and the PDF renderer may read nothing but the template folders.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import weasyprint
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

import mobility_match
from mobility_match.collector import collector_paused
from mobility_match.documents import formatting
from mobility_match.documents.facts import HOST_LANGUAGE, DueStep, PlacementFacts
from mobility_match.domain import Country


class DocumentKind(StrEnum):
    """The documents of a placement; each is the template `documents/<kind>[.<lang>].html`."""

    STUDENT_LETTER = "student_letter"
    HOST_LETTER = "host_letter"
    LEARNING_AGREEMENT = "learning_agreement"
    ATTENDANCE_CERTIFICATE = "attendance_certificate"
    CHECKLIST = "checklist"
    EUROPASS_MOBILITY = "europass_mobility"


_TITLES: Mapping[DocumentKind, Mapping[str, str]] = {
    DocumentKind.STUDENT_LETTER: {"fr": "Confirmation de votre stage à l'étranger"},
    DocumentKind.HOST_LETTER: {
        "de": "Bestätigung des Praktikums",
        "pl": "Potwierdzenie praktyki",
        "en": "Placement confirmation",
        "fr": "Confirmation du stage",
    },
    DocumentKind.LEARNING_AGREEMENT: {
        "de": "Lernvereinbarung",
        "pl": "Porozumienie o programie praktyki",
        "en": "Learning Agreement",
        "fr": "Contrat pédagogique",
    },
    DocumentKind.ATTENDANCE_CERTIFICATE: {
        "de": "Praktikumsbescheinigung",
        "pl": "Zaświadczenie o odbyciu praktyki",
        "en": "Certificate of Attendance",
        "fr": "Attestation de présence",
    },
    DocumentKind.CHECKLIST: {"fr": "Liste de préparation au départ"},
    DocumentKind.EUROPASS_MOBILITY: {
        "de": "Europass-Mobilitätsnachweis",
        "pl": "Europass Mobilność",
        "en": "Europass Mobility",
        "fr": "Europass Mobilité",
    },
}

_BILINGUAL: frozenset[DocumentKind] = frozenset(
    {
        DocumentKind.LEARNING_AGREEMENT,
        DocumentKind.ATTENDANCE_CERTIFICATE,
        DocumentKind.EUROPASS_MOBILITY,
    }
)
"""Written in the host's language with the French under it, in one document."""


def available_languages(kind: DocumentKind, country: Country) -> tuple[str, ...]:
    """Return the languages a document exists in for a host country, the default first."""
    host = HOST_LANGUAGE[country]
    if kind in (DocumentKind.STUDENT_LETTER, DocumentKind.CHECKLIST):
        return ("fr",)
    # The Europass Mobility also in French alone: the learner's, for a French employer.
    if kind in (DocumentKind.HOST_LETTER, DocumentKind.EUROPASS_MOBILITY):
        return (host, "fr")
    return (host,)


def document_title(kind: DocumentKind, lang: str) -> str:
    """Return a document's title; a bilingual one reads `host title / titre français`."""
    titles = _TITLES[kind]
    if lang not in titles:
        raise ValueError(f"No {kind} in {lang!r}; it exists in {', '.join(titles)}.")
    if kind in _BILINGUAL and lang != "fr":
        return f"{titles[lang]} / {titles['fr']}"
    return titles[lang]


def title_in(kind: str, lang: str) -> str:
    """A document's title in one language only (a letter names the host's documents so)."""
    return _TITLES[DocumentKind(kind)][lang]


def packaged_templates_dir() -> Path:
    """Return the folder holding `documents/`: inside an installed package, else the repo's."""
    installed = Path(mobility_match.__file__).parent / "templates"
    if installed.is_dir():
        return installed
    # An editable install from the src/ layout: src/mobility_match/documents/ → repository root.
    return Path(__file__).resolve().parents[3] / "templates"


class ResourceRefusedError(ValueError):
    """A document asked for a resource outside the template folders, or over the network."""


class TemplateFolderFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no types
    """WeasyPrint's resource fetcher, allowed `data:` URLs and files of some folders only.

    A school's template can reference its logo by a relative path; nothing else on the
    machine (nor anything on the network) may end up in a placement document.
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self.roots = tuple(root.resolve() for root in roots)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """Serve a `data:` URL or a file inside one of the roots; refuse anything else."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ResourceRefusedError(f"Documents may not fetch {url}.")
        # Resolving follows `..` and symbolic links, so the check is on the file actually read.
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_file() or not any(path.is_relative_to(root) for root in self.roots):
            raise ResourceRefusedError(f"{url} is not a file of the document templates.")
        return super().fetch(path.as_uri(), headers)


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "long_date": formatting.long_date,
        "weeks": formatting.weeks_text,
        "trade_title": formatting.trade_title,
        "diploma_name": formatting.diploma_name,
        "eqf_level": formatting.eqf_level,
        "eqf_label": formatting.eqf_label,
        "country_name": formatting.country_name,
        "in_country": formatting.in_country,
        "occupation": formatting.occupation,
        "language_name": formatting.language_name,
        "address_lines": formatting.address_lines,
        "phone": formatting.phone,
        "after": formatting.after,
        "to_you": formatting.to_you,
        "typography": formatting.typography,
    }


def _globals() -> dict[str, Callable[..., Any]]:
    return {
        "full_name": formatting.full_name,
        "title_in": title_in,
        "host_language": HOST_LANGUAGE.__getitem__,
        "partner": formatting.partner,
        "phrase": formatting.phrase,
        "salutation": formatting.salutation,
        "addressee": formatting.addressee,
        "minor_duties": formatting.minor_duties,
        "labels": formatting.labels,
        "commitments": formatting.commitments,
        "skill_label": formatting.skill_label,
    }


_FOR_THE_HOST: frozenset[DocumentKind] = frozenset({DocumentKind.HOST_LETTER, *_BILINGUAL})
"""Read by the host abroad: the school's telephone is written in international form."""

_STYLE_ELEMENT = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_STYLESHEETS_KEPT = 16
"""Parsed style sheets a renderer keeps (one per school overriding style.css, at most)."""


class DocumentRenderer:
    """Renders placement documents from the packaged templates, or a school's overrides."""

    def __init__(self, override_dir: Path | None = None) -> None:
        if override_dir is not None and not override_dir.is_dir():
            raise ValueError(f"The templates folder {override_dir} does not exist.")
        self.override_dir = override_dir
        self._fonts = FontConfiguration()
        self._cache: dict[str, Any] = {}
        self._stylesheets: dict[str, weasyprint.CSS] = {}
        self._pdf_lock = threading.Lock()
        self.templates_dir = packaged_templates_dir()
        folders = (
            [self.templates_dir] if override_dir is None else [override_dir, self.templates_dir]
        )
        self._environment = Environment(
            loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
            # Every template, whatever its extension: personal data is printed in all of them.
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._environment.filters.update(_filters())
        self._environment.globals.update(_globals())
        self._folders = tuple(folders)

    def html(
        self,
        kind: DocumentKind,
        lang: str,
        facts: PlacementFacts,
        steps: Sequence[DueStep] = (),
    ) -> str:
        """Render a document as HTML; ValueError if it does not exist in that language."""
        languages = available_languages(kind, facts.country)
        if lang not in languages:
            raise ValueError(
                f"The {kind} of a placement in {facts.country} exists in "
                f"{', '.join(languages)}, not in {lang!r}."
            )
        template = self._environment.select_template(
            [f"documents/{kind}.{lang}.html", f"documents/{kind}.html"]
        )
        titles = _TITLES[kind]
        return template.render(
            kind=str(kind),
            lang=lang,
            facts=facts,
            steps=tuple(steps),
            title=document_title(kind, lang),
            heading=titles[lang],
            heading_fr=titles["fr"] if kind in _BILINGUAL and lang != "fr" else "",
            for_host=kind in _FOR_THE_HOST,
        )

    def pdf(self, html: str) -> bytes:
        """Render HTML from `html()` as an A4 PDF, resources read from the template folders."""
        base = path2url(self.override_dir if self.override_dir is not None else self.templates_dir)
        # A fetcher per document: WeasyPrint's keeps per-request state, renderers may be shared.
        fetcher = TemplateFolderFetcher(self._folders)
        # The font configuration, the resource cache and the parsed stylesheet are reused from
        # one document to the next; WeasyPrint does not say they may be shared by threads,
        # so one document renders at a time (the work holds the GIL anyway).
        with self._pdf_lock, collector_paused():
            html, stylesheets = self._lift_stylesheet(html, base, fetcher)
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher)
            pdf: bytes = document.write_pdf(
                font_config=self._fonts, cache=self._cache, stylesheets=stylesheets
            )
        return pdf

    def _lift_stylesheet(
        self, html: str, base: str, fetcher: TemplateFolderFetcher
    ) -> tuple[str, list[weasyprint.CSS]]:
        """The HTML without its one `<style>` element, and that stylesheet parsed once.

        Every document carries the same style.css (base.html includes it): parsing it and
        compiling its selectors again for each PDF cost about a tenth of a letter's time.
        Given apart, it is of the user origin instead of the author's, which changes nothing
        while it is the document's only style sheet; a document with others, or none, is
        rendered as it is.
        """
        found = _STYLE_ELEMENT.search(html)
        if found is None or html.count("<style") != 1:
            return html, []
        css = found.group(1)
        sheet = self._stylesheets.get(css)
        if sheet is None:
            if len(self._stylesheets) >= _STYLESHEETS_KEPT:
                self._stylesheets.clear()
            sheet = weasyprint.CSS(
                string=css, base_url=base, url_fetcher=fetcher, font_config=self._fonts
            )
            self._stylesheets[css] = sheet
        return html[: found.start()] + html[found.end() :], [sheet]
