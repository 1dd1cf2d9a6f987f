"""Protection of every form against cross-site request forgery.

A form carries a token that only a page of this site can know: for a
signed-in person, an HMAC of the session's secret (which lives in an HttpOnly
cookie no other site can read); before sign-in, an HMAC of a random cookie
set with the page (a login form cannot be posted by another site either). A
form posted without its token, with a wrong one or with another session's, is
refused. SameSite=Strict cookies alone would not do: a page of the same site
(an uploaded file opened from a link, a browser extension) could still post.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.config import Settings

FIELD = "csrf_token"
"""The name of the hidden input of every form."""

ANONYMOUS_COOKIE = "mobility_match_csrf"
_LABEL = b"mobility_match form"


class CsrfRefused(Exception):
    """A form came without its token, or with one that is not this session's."""


def _token_of(secret: str) -> str:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).hexdigest()


def _secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANONYMOUS_COOKIE)


def token_for(request: Request) -> str:
    """The token the forms of this page carry (a new anonymous secret if there is none)."""
    secret = _secret(request)
    if secret is None:
        secret = getattr(request.state, "new_csrf_secret", None)
        if secret is None:
            secret = secrets.token_urlsafe(32)
            request.state.new_csrf_secret = secret
    return _token_of(secret)


def keep_secret(request: Request, response: Response, settings: Settings) -> None:
    """Set the anonymous secret's cookie if this page made one."""
    secret = getattr(request.state, "new_csrf_secret", None)
    if secret is not None:
        response.set_cookie(
            ANONYMOUS_COOKIE,
            secret,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
        )


async def check(request: Request) -> None:
    """Refuse a POST whose form lacks a token of this browser's secrets (a dependency of
    every page).

    Either secret will do: a page opened from a link in a mail reader is a cross-site
    navigation, which the browser sends without the SameSite=Strict session cookie, so
    that page's form carries the anonymous secret's token even though the person is
    signed in; its POST, from our own page, then sends both cookies.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    sent = form.get(FIELD)
    if not isinstance(sent, str) or not sent:
        raise CsrfRefused
    secrets_sent = [
        secret
        for secret in (request.cookies.get(SESSION_COOKIE), request.cookies.get(ANONYMOUS_COOKIE))
        if secret
    ]
    if not any(hmac.compare_digest(sent, _token_of(secret)) for secret in secrets_sent):
        raise CsrfRefused
