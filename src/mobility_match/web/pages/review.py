"""The host tutor's review page: `/review/{token}`, in the host country's language.

No account: the link is the key. A GET shows the trainee, the planned dates and the
form, and uses nothing up (mail scanners open links); the POST stores the review and
uses the link up. An unknown, used or expired link answers a page saying so (404, 410).
The page is in the link's language (the host's) unless the visitor chose another with
the language menu. The rules of an answer are the service's (host_review.answer_problems);
this module words them and parses the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from mobility_match.api.deps import SessionDep
from mobility_match.config import Settings
from mobility_match.models import utcnow
from mobility_match.services import host_review
from mobility_match.services.errors import Gone, NotFound
from mobility_match.services.host_review import ReviewAnswers, ReviewRequest
from mobility_match.web import csrf
from mobility_match.web.i18n import ANONYMOUS_LANGUAGES, LANGUAGE_NAMES, translations
from mobility_match.web.templating import LANGUAGE_COOKIE, WebTemplates

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

SECRET_URL_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""The page's URL holds a secret: no cache keeps it, no other site learns it."""

Text = Annotated[str, Form(max_length=4000)]


def _language(request: Request, link_language: str) -> str:
    """The language the visitor chose with the menu, else the link's (the host's)."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in ANONYMOUS_LANGUAGES:
        return chosen
    return link_language if link_language in ANONYMOUS_LANGUAGES else "en"


def _render(
    request: Request,
    template: str,
    language: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """Render `web/review/<template>` in `language`, as templating.render does for a
    visitor who is not signed in."""
    templates: WebTemplates = request.app.state.web_templates
    settings: Settings = request.app.state.settings
    values = {
        "viewer": None,
        "lang": language,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in ANONYMOUS_LANGUAGES],
        "csrf_token": csrf.token_for(request),
        "csrf_field": csrf.FIELD,
        "path": request.url.path,
        "query": "",
        "flash": "",
        **context,
    }
    environment = templates.environment(language)
    body = environment.get_template(f"web/review/{template}").render(values)
    response = HTMLResponse(body, status_code=status_code)
    response.headers.update(SECRET_URL_HEADERS)
    csrf.keep_secret(request, response, settings)
    return response


def _invalid(request: Request, error: NotFound | Gone, language: str) -> HTMLResponse:
    used_at = error.used_at if isinstance(error, host_review.LinkUsed) else None
    expired = isinstance(error, host_review.LinkExpired)
    return _render(
        request,
        "invalid.html",
        language,
        {"used_at": used_at, "expired": expired},
        status_code=410 if isinstance(error, Gone) else 404,
    )


def _form(
    request: Request,
    token: str,
    found: ReviewRequest,
    language: str,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    skills = [(skill.code, skill.label(language)) for skill in host_review.skills()]
    return _render(
        request,
        "form.html",
        language,
        {
            "token": token,
            "placement": found,
            "skills": skills,
            "values": values,
            "errors": errors,
            "comment_length": host_review.COMMENT_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/review/{token}")
def review_page(request: Request, token: str, session: SessionDep) -> Response:
    """The review form of a live link: the trainee, the planned dates, the questions."""
    language = _language(request, host_review.link_language(session, token))
    try:
        found = host_review.open_request(session, token)
    except (NotFound, Gone) as error:
        return _invalid(request, error, language)
    values = {
        "actual_start": found.start.isoformat() if found.start else "",
        "actual_end": found.end.isoformat() if found.end else "",
        "days_absent": "0",
        "skills": [],
        "would_host_again": "",
        "comment": "",
    }
    return _form(request, token, found, language, values, {})


def _messages(_: Any) -> dict[str, str]:
    return {
        "not_a_date": _("Write a date, for example 2027-06-30."),
        "not_a_number": _("Write a whole number of days, 0 if none."),
        "future": _("This date is in the future; give the date it actually happened."),
        "too_early": _("This is more than a month before the planned start; check the date."),
        "end_before_start": _("The actual end cannot be before the actual start."),
        "absent_too_many": _(
            "The days of absence must be between 0 and the number of days of the placement."
        ),
        "unknown_skill": _("Tick only skills of the list."),
        "comment_too_long": _("The comment may have at most 2000 characters."),
    }


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text.strip()) if text.strip() else None


@router.post("/review/{token}")
def submit_review(
    request: Request,
    token: str,
    session: SessionDep,
    actual_start: Text = "",
    actual_end: Text = "",
    days_absent: Text = "",
    skills: Annotated[list[str] | None, Form()] = None,
    would_host_again: Text = "",
    comment: Text = "",
) -> Response:
    """Store the review and use the link up; a mistake shows the form again, each
    problem under its field."""
    language = _language(request, host_review.link_language(session, token))
    try:
        found = host_review.open_request(session, token)
    except (NotFound, Gone) as error:
        return _invalid(request, error, language)
    gettext = translations(language).gettext
    words = _messages(gettext)
    values = {
        "actual_start": actual_start,
        "actual_end": actual_end,
        "days_absent": days_absent,
        "skills": list(skills or []),
        "would_host_again": would_host_again,
        "comment": comment,
    }
    errors: dict[str, str] = {}
    parsed: dict[str, dt.date | None] = {}
    for name, text in (("actual_start", actual_start), ("actual_end", actual_end)):
        try:
            parsed[name] = _date(text)
        except ValueError:
            errors[name] = words["not_a_date"]
    absent: int | None = None
    if days_absent.strip():
        try:
            absent = int(days_absent.strip())
        except ValueError:
            errors["days_absent"] = words["not_a_number"]
    again = {"yes": True, "no": False}.get(would_host_again)
    answers = ReviewAnswers(
        actual_start=parsed.get("actual_start"),
        actual_end=parsed.get("actual_end"),
        days_absent=absent,
        skills=tuple(skills or ()),
        would_host_again=again,
        comment=comment.strip(),
    )
    today = utcnow().date()
    for name, code in host_review.answer_problems(answers, found, today):
        errors.setdefault(name, words[code])
    if errors:
        return _form(request, token, found, language, values, errors, status_code=422)
    try:
        host_review.submit_review(session, token, answers, today)
    except (NotFound, Gone) as error:
        return _invalid(request, error, language)
    return _render(request, "thanks.html", language, {"placement": found})
