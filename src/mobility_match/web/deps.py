"""Who is asking, for pages: the session cookie, or a redirect to the sign-in page.

The same sessions and role checks as the API (api/deps.py), with a page's
answers: no session sends the browser to `/login?next=…`; a role a page never
serves gets the 403 page (web/errors.py renders ServiceErrors as pages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from mobility_match.access import Viewer
from mobility_match.api.deps import SESSION_COOKIE, ReadSessionDep
from mobility_match.models import Role
from mobility_match.services.errors import Forbidden, Unauthenticated
from mobility_match.services.sessions import viewer_for_token


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def safe_next(path: str | None, default: str = "/home") -> str:
    """`path` if it is a path of this site (never another site's address), else `default`."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default


def sign_in_redirect(error: SignInRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?{urlencode({'next': error.next_path})}", status_code=303)


def optional_viewer(request: Request, session: ReadSessionDep) -> Viewer | None:
    """The signed-in person, or None (pages anyone may open)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        viewer = viewer_for_token(session, token)
    except Unauthenticated:
        return None
    finally:
        session.commit()  # end the read now: a long page must not hold an old snapshot
    return viewer


OptionalViewer = Annotated[Viewer | None, Depends(optional_viewer)]


def page_viewer(request: Request, viewer: OptionalViewer) -> Viewer:
    """The signed-in person; without a live session, a redirect to sign in and come back."""
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/home")
    return viewer


PageViewer = Annotated[Viewer, Depends(page_viewer)]


def page_for(*roles: Role) -> Callable[[Viewer], Viewer]:
    """A dependency letting only `roles` see a page (the 403 page for others)."""
    names = ", ".join(role.value for role in roles)

    def check(viewer: PageViewer) -> Viewer:
        if viewer.role not in roles:
            raise Forbidden(f"Only these roles may open this page: {names}.")
        return viewer

    return check


CoordinatorPage = Annotated[Viewer, Depends(page_for(Role.COORDINATOR))]
PartnerPage = Annotated[Viewer, Depends(page_for(Role.PARTNER))]
TeacherPage = Annotated[Viewer, Depends(page_for(Role.TEACHER))]
StudentPage = Annotated[Viewer, Depends(page_for(Role.STUDENT))]
SchoolStaffPage = Annotated[Viewer, Depends(page_for(Role.COORDINATOR, Role.TEACHER))]
