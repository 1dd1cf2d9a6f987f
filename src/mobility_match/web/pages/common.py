"""Pages for everyone: the front page with the sign-in form, signing in and out, the home
page of each role, the choice of language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from mobility_match.api.auth import clear_session_cookie, client_address, set_session_cookie
from mobility_match.api.deps import ReadSessionDep, SessionDep, SettingsDep
from mobility_match.models import Role
from mobility_match.services import accounts, mail, sessions
from mobility_match.services.errors import TooManyAttempts, Unauthenticated
from mobility_match.web import csrf
from mobility_match.web.deps import OptionalViewer, PageViewer, safe_next
from mobility_match.web.i18n import languages_for
from mobility_match.web.templating import LANGUAGE_COOKIE, gettext_for, render

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

HOME_OF = {
    Role.COORDINATOR: "/coordinator",
    Role.PARTNER: "/partner",
    Role.TEACHER: "/teacher",
    Role.STUDENT: "/student",
    Role.EVALUATOR: "/evaluation",
}
"""Each role's home page."""


@router.get("/")
def front_page(request: Request, viewer: OptionalViewer) -> Response:
    """The front page: sign-in for staff, how students sign in; home when signed in."""
    if viewer is not None:
        return RedirectResponse(HOME_OF[viewer.role], status_code=303)
    return render(request, "login.html", {"next": "/home", "error": "", "username": ""})


@router.get("/login")
def login_page(request: Request, viewer: OptionalViewer, next: str = "/home") -> Response:
    """The sign-in form (where pages send a browser without a session)."""
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": "", "username": ""})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/home",
) -> Response:
    """Check the password, open a session and go where the person was going."""
    _ = gettext_for(request, None)
    try:
        signed_in = sessions.sign_in(
            session,
            username=username,
            password=password,
            client=client_address(request),
            settings=settings,
        )
    except TooManyAttempts as error:
        message = _("Too many failed sign-ins. Try again in %(seconds)d seconds.") % {
            "seconds": error.retry_after
        }
        return _login_again(request, message, username, next, 429)
    except Unauthenticated:
        message = _("Wrong username or password, or the account is disabled.")
        return _login_again(request, message, username, next, 401)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, signed_in.token, settings)
    return response


def _login_again(
    request: Request, error: str, username: str, next: str, status_code: int
) -> Response:
    context = {"next": safe_next(next), "error": error, "username": username}
    return render(request, "login.html", context, status_code=status_code)


@router.post("/logout")
def logout(viewer: PageViewer, session: SessionDep, settings: SettingsDep) -> Response:
    """End the session on the server and in the browser; back to the front page."""
    sessions.sign_out(session, viewer)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, settings)
    return response


@router.get("/home")
def home(viewer: PageViewer) -> Response:
    """The signed-in person's home page."""
    return RedirectResponse(HOME_OF[viewer.role], status_code=303)


@router.get("/messages")
def my_messages(request: Request, viewer: PageViewer, session: ReadSessionDep) -> Response:
    """The mails the service sent (or is sending) to the signed-in person, newest first,
    with their words and their delivery state."""
    context = {
        "mails": mail.my_mails(session, viewer, limit=MESSAGES_SHOWN),
        "address": mail.mail_address(session, viewer),
        "shown": MESSAGES_SHOWN,
    }
    return render(request, "messages.html", context, viewer=viewer)


MESSAGES_SHOWN = 50
"""How many of a person's latest mails the messages page shows."""


@router.post("/language")
def choose_language(
    session: SessionDep,
    viewer: OptionalViewer,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Remember the chosen language: on the account when signed in, else in the browser."""
    allowed = languages_for(viewer.role if viewer is not None else None)
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if viewer is not None:
        accounts.set_language(session, viewer, language, allowed)
    if language in allowed:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
    return response
