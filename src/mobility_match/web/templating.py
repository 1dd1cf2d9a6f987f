"""Rendering a page: the Jinja2 environment of each language, and what every page gets.

One environment per language, each with its catalogue installed (gettext
callables that escape what they format), so that rendering never switches a
shared translation between requests. Templates are `templates/web/` (shipped
with the package), autoescaped, with undefined names an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.documents.rendering import packaged_templates_dir
from mobility_match.web import csrf
from mobility_match.web.i18n import (
    LANGUAGE_NAMES,
    choose_language,
    languages_for,
    translations,
)
from mobility_match.web.pages.reasons import reason_labels

LANGUAGE_COOKIE = "mobility_match_language"
FLASH_COOKIE = "mobility_match_flash"

_BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB", "de": "de_DE", "pl": "pl_PL"}


def _filters(language: str) -> dict[str, Any]:
    locale = _BABEL_LOCALES[language]

    def date(value: dt.date | None, form: str = "medium") -> str:
        return "" if value is None else format_date(value, form, locale=locale)

    def datetime(value: dt.datetime | None, form: str = "medium") -> str:
        return "" if value is None else format_datetime(value, form, locale=locale)

    def number(value: float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=locale)

    # The language's own percent pattern (French: "12,5 %" with a narrow no-break space),
    # with `digits` decimals.
    percent_pattern = Locale.parse(locale).percent_formats[None].pattern

    def percent(value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        decimals = "." + "0" * digits if digits else ""
        pattern = percent_pattern.replace("#,##0", "#,##0" + decimals, 1)
        return format_percent(value, pattern, locale=locale)

    return {"date": date, "datetime": datetime, "number": number, "percent": percent}


class WebTemplates:
    """The page templates, one environment per language."""

    def __init__(self, override_dir: Path | None = None) -> None:
        packaged = packaged_templates_dir()
        roots = [packaged] if override_dir is None else [override_dir, packaged]
        self.loader = ChoiceLoader([FileSystemLoader(str(root)) for root in roots])
        self._environments: dict[str, Environment] = {}

    def environment(self, language: str) -> Environment:
        """The environment of `language`, made on first use."""
        environment = self._environments.get(language)
        if environment is None:
            environment = Environment(
                loader=self.loader,
                autoescape=True,
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            environment.install_gettext_translations(  # type: ignore[attr-defined]
                translations(language), newstyle=True
            )
            environment.filters.update(_filters(language))
            labels = reason_labels(translations(language).gettext)
            environment.globals["reason_label"] = lambda code: labels.get(code, "")
            environment.globals["urlencode"] = urlencode
            self._environments[language] = environment
        return environment


def page_language(request: Request, viewer: Viewer | None) -> str:
    """The account's chosen language, else the browser's cookie, else French."""
    role = viewer.role if viewer is not None else None
    chosen = viewer.language if viewer is not None else None
    return choose_language(role, chosen, request.cookies.get(LANGUAGE_COOKIE))


def gettext_for(request: Request, viewer: Viewer | None) -> Any:
    """The gettext of the page's language, for messages made in Python (flashes, errors)."""
    return translations(page_language(request, viewer)).gettext


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render `web/<template>` for `viewer` in the page's language.

    Every page gets the viewer, its language and the choices of languages, the
    CSRF token of its forms, the path (for the menu) and a flash message left by
    the previous POST, if any. A page for a signed-in person is never cached.
    """
    templates: WebTemplates = request.app.state.web_templates
    settings: Settings = request.app.state.settings
    language = page_language(request, viewer)
    role = viewer.role if viewer is not None else None
    flash = unquote(request.cookies.get(FLASH_COOKIE, ""))
    values = {
        "viewer": viewer,
        "lang": language,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in languages_for(role)],
        "csrf_token": csrf.token_for(request),
        "csrf_field": csrf.FIELD,
        "path": request.url.path,
        "query": request.url.query,
        "flash": flash[:500],
        **(context or {}),
    }
    body = templates.environment(language).get_template(f"web/{template}").render(values)
    response = HTMLResponse(body, status_code=status_code)
    if viewer is not None:
        response.headers["Cache-Control"] = "no-store"
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    csrf.keep_secret(request, response, settings)
    return response


def set_flash(response: Any, message: str) -> None:
    """Show `message` (already translated) on the next page, once."""
    response.set_cookie(FLASH_COOKIE, quote(message[:500]), httponly=True, samesite="strict")
