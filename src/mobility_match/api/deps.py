"""Dependencies shared by the routes: the database session, who is asking, role checks.

Access control lives here and in access.py, not in the handlers: a route
declares the roles it serves with `Depends(allow(...))`, and fetches objects
through services that scope every query by the viewer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

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


def get_renderer(request: Request) -> DocumentRenderer:
    renderer: DocumentRenderer = request.app.state.renderer
    return renderer


def get_checklists(request: Request) -> Checklists:
    checklists: Checklists = request.app.state.checklists
    return checklists


SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[Engine, Depends(get_engine)]
"""For work that outlives the request's session (a streamed response)."""
SettingsDep = Annotated[Settings, Depends(get_settings)]
RendererDep = Annotated[DocumentRenderer, Depends(get_renderer)]
ChecklistsDep = Annotated[Checklists, Depends(get_checklists)]


def get_viewer(
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Viewer:
    """The signed-in person, from the bearer token or else the session cookie; 401 otherwise."""
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise Unauthenticated("Sign in first: no session cookie or bearer token was sent.")
    viewer = viewer_for_token(session, token)
    # End the read transaction now: on SQLite it holds the write lock until it ends.
    session.commit()
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
Staff = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.PARTNER, Role.TEACHER))]
"""Anyone but a student."""
SchoolStaff = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER))]
"""Coordinators and teachers: who prepares the placements."""
