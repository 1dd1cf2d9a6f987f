"""Adding the pages to the application: static files, page routers, page errors, headers.

`setup` is called by api/app.create_app, so that there is one application, one
set of service functions and one database for the API and the pages.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from mobility_match.config import Settings
from mobility_match.web import csrf, docs
from mobility_match.web.deps import SignInRequired, sign_in_redirect
from mobility_match.web.errors import error_page, page_http_error
from mobility_match.web.headers import SecurityHeaders
from mobility_match.web.pages import (
    admin,
    common,
    evaluation,
    follow_up,
    jobs,
    partner,
    personal_data,
    results,
    review,
    rounds,
    student,
    teacher,
    uploads,
)
from mobility_match.web.templating import WebTemplates, gettext_for

STATIC = Path(str(files("mobility_match") / "web" / "static"))

ROUTERS: list[APIRouter] = [
    common.router,
    rounds.router,
    results.router,
    admin.router,
    uploads.router,
    partner.router,
    teacher.router,
    jobs.router,
    student.router,
    personal_data.router,
    review.router,
    evaluation.router,
    follow_up.router,
]
"""Every page router. Each is created with `dependencies=[Depends(csrf.check)]`, so that no
form of any page can be posted without its token (tests/test_web.py walks every POST route
of ROUTERS)."""


def _sign_in_required(_request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return sign_in_redirect(error)


def _csrf_refused(request: Request, _error: Exception) -> Response:
    _ = gettext_for(request, None)
    detail = _(
        "This form has expired or did not come from this site. "
        "Go back, reload the page and send it again."
    )
    return error_page(request, 403, detail)


def setup(app: FastAPI, settings: Settings) -> None:
    """Serve the pages, their files and the offline API documentation from `app`."""
    app.state.web_templates = WebTemplates(settings.templates_dir)
    app.mount("/static/swagger", StaticFiles(directory=str(swagger_ui_path)), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(docs.router)
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(csrf.CsrfRefused, _csrf_refused)
    app.add_exception_handler(StarletteHTTPException, page_http_error)
    app.add_middleware(SecurityHeaders)
