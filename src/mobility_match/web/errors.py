"""Errors as pages: a service's refusal, a missing page, an expired form, in the page's language.

The API keeps its JSON answers; any other path gets an HTML page with the
status, a translated title and the service's sentence. Routes that can show a
refusal next to a form (imports, offers, moves) catch it themselves.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from mobility_match.access import Viewer
from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.services.errors import ServiceError
from mobility_match.services.sessions import viewer_for_token
from mobility_match.web.templating import gettext_for, render


def is_page(request: Request) -> bool:
    """Whether the request is for a page rather than for the JSON API or a file."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path in ("/api", "/openapi.json"):
        return False
    # POST /invite/{token} is the API's way to use a link (JSON); the page posts to …/accept.
    parts = path.strip("/").split("/")
    return not (request.method == "POST" and len(parts) == 2 and parts[0] == "invite")


def _viewer(request: Request) -> Viewer | None:
    """Who is asking, for the menu of an error page (None when unknown)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with Session(request.app.state.engine) as session:
            return viewer_for_token(session, token)
    except ServiceError:
        return None


def error_page(request: Request, status_code: int, detail: str = "") -> HTMLResponse:
    """The error page for `status_code`, its title translated, `detail` under it."""
    viewer = _viewer(request)
    _ = gettext_for(request, viewer)
    titles = {
        400: _("This request cannot be understood"),
        401: _("Please sign in"),
        403: _("You may not open this page"),
        404: _("This page does not exist"),
        405: _("This page cannot be used that way"),
        409: _("This cannot be done now"),
        410: _("This is no longer available"),
        413: _("The file is too large"),
        422: _("This cannot be done"),
        429: _("Too many attempts"),
    }
    title = titles.get(status_code, _("Something went wrong"))
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail, "status_code": status_code},
        viewer=viewer,
        status_code=status_code,
    )


async def page_http_error(request: Request, error: Exception) -> Response:
    """Starlette's 404, 405… as pages outside the API, as JSON inside it."""
    assert isinstance(error, StarletteHTTPException)
    if not is_page(request):
        return await http_exception_handler(request, error)
    return error_page(request, error.status_code)
