"""The FastAPI application: routers, error responses, the body limit and control
characters, the solver's lifetime.

`create_app` takes settings and, optionally, an engine (tests pass their own);
it never migrates the database: `mobility-match serve` does that first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from mobility_match import __version__
from mobility_match.api import (
    accounts_admin,
    audit,
    auth,
    checklists,
    documents,
    imports,
    me,
    offers,
    people,
    rounds,
)
from mobility_match.api.limits import BodyLimit
from mobility_match.config import Settings, get_settings
from mobility_match.db import make_engine
from mobility_match.documents.checklists import load_checklists
from mobility_match.documents.rendering import DocumentRenderer
from mobility_match.services.errors import (
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
from mobility_match.services.solving import Solver
from mobility_match.web import app as web
from mobility_match.web.controls import ControlCharacters
from mobility_match.web.deps import SignInRequired, sign_in_redirect
from mobility_match.web.errors import error_page, is_page

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
    """JSON for the API; for a page, the error page (a sign-in redirect when signed out)."""
    assert isinstance(error, ServiceError)
    status = next(code for kind, code in _STATUS.items() if isinstance(error, kind))
    if is_page(request):
        if isinstance(error, Unauthenticated):
            return sign_in_redirect(SignInRequired(request.url.path))
        return error_page(request, status, error.message)
    body: dict[str, object] = {"detail": error.message}
    if error.problems:
        body["problems"] = list(error.problems)
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid_request(request: Request, error: Exception) -> Response:
    """422 naming each field and what is wrong, without echoing what was sent (passwords);
    for a page, the error page."""
    assert isinstance(error, RequestValidationError)
    if is_page(request):
        fields = ", ".join(str(item["loc"][-1]) for item in error.errors())
        return error_page(request, 422, fields)
    problems = [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The service, on `engine` (else one made from the settings' database URL)."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    solver = Solver(engine, settings)
    renderer = DocumentRenderer(settings.templates_dir)
    jobs = JobRunner(engine, settings, renderer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        solver.recover()
        jobs.recover()
        try:
            yield
        finally:
            solver.shutdown()
            jobs.shutdown()

    app = FastAPI(
        title="mobility_match",
        version=__version__,
        summary="Matching rounds that place vocational graduates in host companies abroad.",
        lifespan=lifespan,
        docs_url=None,  # web/docs.py serves it without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.solver = solver
    app.state.renderer = renderer
    app.state.jobs = jobs
    app.state.checklists = load_checklists(settings.checklists_dir)
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
        documents,
        checklists,
        me,
        audit,
    ):
        app.include_router(module.router)
    web.setup(app, settings)
    return app
