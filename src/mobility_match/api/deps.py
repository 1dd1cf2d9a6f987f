"""Dependencies shared by the routes: the database session, who is asking, role checks.

Access control lives here and in access.py, not in the handlers: a route
declares the roles it serves with `Depends(allow(...))`, and fetches objects
through services that scope every query by the viewer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.documents.checklists import Checklists
from mobility_match.documents.rendering import DocumentRenderer
from mobility_match.models import Role
from mobility_match.services.errors import Forbidden, Unauthenticated
from mobility_match.services.sessions import viewer_for_token

SESSION_COOKIE = "mobility_match_session"

MAX_ID = 2**31 - 1
"""The largest number an integer column holds on every database (PostgreSQL's integer)."""

_bearer = HTTPBearer(auto_error=False, description="A session or API token.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The session cookie.")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A session for one request; services commit what they change, the rest is rolled back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for a request that only reads: on SQLite it neither takes nor waits for
    the write lock, so reads go in parallel (db.read_only)."""
    with Session(request.app.state.read_engine, expire_on_commit=False) as session:
        yield session


def get_renderer(request: Request) -> DocumentRenderer:
    renderer: DocumentRenderer = request.app.state.renderer
    return renderer


def get_checklists(request: Request) -> Checklists:
    checklists: Checklists = request.app.state.checklists
    return checklists


SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
EngineDep = Annotated[Engine, Depends(get_engine)]
"""For work that outlives the request's session (a streamed response)."""
SettingsDep = Annotated[Settings, Depends(get_settings)]
RendererDep = Annotated[DocumentRenderer, Depends(get_renderer)]
ChecklistsDep = Annotated[Checklists, Depends(get_checklists)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(request: Request, settings: Settings) -> None:
    """Refuse a change made with the session cookie from another site's page.

    A cookie goes with every request the browser makes, whoever asks for it, so
    a change it authorises must come from our own pages: the browser's `Origin`
    (sent with every POST, PUT, PATCH and DELETE) must be this service's address
    (as configured, or as the request reached it), and `Sec-Fetch-Site` (sent by
    current browsers) must not say another site. A client that sends neither is
    not a browser, hence no forged request. Bearer tokens are never sent by a
    browser on its own, so requests carrying one need no such proof.
    """
    if request.method in SAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise Forbidden(f"A change from another site ({fetch_site}) is refused.")
    origin = request.headers.get("origin")
    if origin is None:
        return
    ours = {_origin(settings.public_url), _origin(str(request.base_url))}
    if origin.lower() not in ours:
        raise Forbidden("A change sent from another site's page is refused.")


def get_viewer(
    request: Request,
    session: ReadSessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Viewer:
    """The signed-in person, from the bearer token or else the session cookie; 401 otherwise.

    A change authorised by the cookie alone must come from our own pages
    (`check_same_origin`).
    """
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise Unauthenticated("Sign in first: no session cookie or bearer token was sent.")
    if bearer is None:
        check_same_origin(request, get_settings(request))
    viewer = viewer_for_token(session, token)
    session.commit()  # end the read now: a long request must not hold an old snapshot
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def allow(*roles: Role) -> Callable[[Viewer], Viewer]:
    """A dependency letting only `roles` through (403 for other signed-in people)."""
    names = ", ".join(role.value for role in roles)

    def check(viewer: ViewerDep) -> Viewer:
        if viewer.role not in roles:
            raise Forbidden(f"Only these roles may do this: {names}.")
        return viewer

    return check


Coordinator = Annotated[Viewer, Depends(allow(Role.COORDINATOR))]
Staff = Annotated[
    Viewer, Depends(allow(Role.COORDINATOR, Role.PARTNER, Role.TEACHER, Role.EVALUATOR))
]
"""Accounts with a password: they may make API tokens for their scripts."""
"""Anyone but a student."""
SchoolStaff = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER))]
"""Coordinators and teachers: who prepares the placements."""
