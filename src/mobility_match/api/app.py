"""The FastAPI application: routers, error responses, the body limit and control
characters, the solver's lifetime.

`create_app` takes settings and, optionally, an engine (tests pass their own);
it never migrates the database: `mobility-match serve` does that first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mobility_match import __version__
from mobility_match.api import (
    accounts_admin,
    audit,
    auth,
    checklists,
    documents,
    evaluation,
    evaluation_data,
    imports,
    me,
    offers,
    people,
    personal_data,
    round_reports,
    rounds,
)
from mobility_match.api import mail as mail_api
from mobility_match.api.limits import BodyLimit
from mobility_match.api.openapi import describe
from mobility_match.api.problems import invalid_request_detail, problem
from mobility_match.config import Settings, get_settings
from mobility_match.db import make_engine, read_only
from mobility_match.documents.checklists import load_checklists
from mobility_match.documents.rendering import DocumentRenderer
from mobility_match.matching import rules
from mobility_match.services import reminders
from mobility_match.services.errors import (
    ConfirmationNeeded,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Refused,
    ServiceError,
    TooManyAttempts,
    Unauthenticated,
)
from mobility_match.services.jobs import JobRunner
from mobility_match.services.outbox import MailSender
from mobility_match.services.render_pool import RenderPool, processes_for
from mobility_match.services.solving import Solver
from mobility_match.web import app as web
from mobility_match.web.controls import ControlCharacters, multipart_fields
from mobility_match.web.deps import SignInRequired, sign_in_redirect
from mobility_match.web.errors import error_page, is_page, page_http_error

_STATUS: dict[type[ServiceError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    Refused: 422,
    TooManyAttempts: 429,
}


def _service_error(request: Request, error: Exception) -> Response:
    """A problem (api/problems.py) for the API; for a page, the error page (a sign-in
    redirect when signed out)."""
    assert isinstance(error, ServiceError)
    status = next(code for kind, code in _STATUS.items() if isinstance(error, kind))
    if is_page(request):
        if isinstance(error, Unauthenticated):
            return sign_in_redirect(SignInRequired(request.url.path))
        return error_page(request, status, error.message)
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    kind = "confirmation-needed" if isinstance(error, ConfirmationNeeded) else None
    return problem(
        status,
        error.message,
        request.url.path,
        kind=kind,
        problems=error.problems,
        headers=headers,
        extensions=error.details,
    )


def _invalid_request(request: Request, error: Exception) -> Response:
    """422 naming each field and what is wrong, without echoing what was sent (passwords);
    for a page, the error page."""
    assert isinstance(error, RequestValidationError)
    if is_page(request):
        fields = ", ".join(str(item["loc"][-1]) for item in error.errors())
        return error_page(request, 422, fields)
    errors = [
        {"field": ".".join(str(part) for part in item["loc"]), "message": str(item["msg"])}
        for item in error.errors()
    ]
    detail = invalid_request_detail(errors)
    return problem(422, detail, request.url.path, kind="invalid-request", errors=errors)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed(request: Request) -> str:
    """Every method of every route at the request's path (Starlette names only the first
    route's, and the same path often has a route per method)."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's own errors (unknown route, method, an upload over the limit) as problems
    in the API, as pages elsewhere; a 405 lists every method of the path in Allow."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 405:
        error.headers = {**(error.headers or {}), "Allow": _allowed(request)}
    if is_page(request):
        page = await page_http_error(request, error)
        page.headers.update(error.headers or {})
        return page
    detail = str(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = f"There is no {request.url.path} in this API."
    elif error.status_code == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed here; use {_allowed(request)}."
    return problem(error.status_code, detail, request.url.path, headers=error.headers)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The service, on `engine` (else one made from the settings' database URL)."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    solver = Solver(engine, settings)
    renderer = DocumentRenderer(settings.templates_dir)
    render_pool = RenderPool(renderer, processes_for(settings.render_processes))
    jobs = JobRunner(engine, settings, renderer, pool=render_pool)
    mail_sender = MailSender(engine, settings, daily=reminders.run_daily)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        solver.recover()
        jobs.recover()
        if settings.mails_from_service:
            mail_sender.start()
        try:
            yield
        finally:
            solver.shutdown()
            jobs.shutdown()
            render_pool.shutdown()
            mail_sender.shutdown()

    app = FastAPI(
        title="mobility_match",
        version=__version__,
        summary="Matching rounds that place vocational graduates in host companies abroad.",
        lifespan=lifespan,
        docs_url=None,  # web/docs.py serves it without a CDN
        redoc_url=None,
        dependencies=[Depends(multipart_fields)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_engine = read_only(engine)
    app.state.solver = solver
    app.state.renderer = renderer
    app.state.jobs = jobs
    app.state.render_pool = render_pool
    app.state.checklists = load_checklists(settings.checklists_dir)
    # The age rule reads the visa deadline from the same checklists as the documents.
    rules.use_checklists(app.state.checklists if settings.checklists_dir else None)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Inside BodyLimit (added last, so outer), which bounds the bodies read here.
    app.add_middleware(ControlCharacters)
    app.add_middleware(BodyLimit, upload_max_bytes=settings.upload_max_bytes)
    for module in (
        auth,
        accounts_admin,
        people,
        offers,
        imports,
        rounds,
        round_reports,
        documents,
        checklists,
        me,
        mail_api,
        audit,
        personal_data,
        evaluation,
        evaluation_data,
    ):
        app.include_router(module.router)
    web.setup(app, settings)
    # After web.setup, whose handler of Starlette's errors it replaces (and calls for pages).
    app.add_exception_handler(StarletteHTTPException, _http_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
