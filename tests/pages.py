"""Test helpers for pages: a browser-like client signed in by cookie, forms with their token.

A page test drives the pages as a browser without JavaScript would: GET a page,
read the CSRF token from its form, POST the form, follow the redirect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.models import Account, CredentialKind, Role
from mobility_match.services.sessions import issue_credential
from tests.accounts import add_account

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def browser(app: FastAPI) -> TestClient:
    """A client that keeps cookies and does not follow redirects by itself (a test checks them).

    Use it in a `with` block so that the application's startup runs.
    """
    return TestClient(app, follow_redirects=False)


def sign_in_as(client: TestClient, engine: Engine, account_id: int) -> None:
    """Give `client` the session cookie of a new session of the account."""
    with Session(engine) as session:
        account = session.get_one(Account, account_id)
        token, _ = issue_credential(session, account, CredentialKind.SESSION, None)
        session.commit()
    client.cookies.set(SESSION_COOKIE, token)


def new_signed_in(
    client: TestClient, engine: Engine, username: str, role: Role, **scope: str
) -> int:
    """Create an account of `role` (no password) and sign `client` in with it; its id."""
    account_id = add_account(engine, username, role, password=None, **scope)
    sign_in_as(client, engine, account_id)
    return account_id


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form of a page."""
    found = _TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def hidden_value(html: str, name: str) -> str:
    """The value of the (first) hidden input `name` of a page's forms."""
    found = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, f"the page has no hidden input {name}"
    return found.group(1)


def token_of(client: TestClient, page: str | None = None) -> str:
    """The CSRF token of the forms `client` is shown: on `page` (which must open with 200),
    or on any page when None (every page's menu holds a form)."""
    if page is None:
        return csrf_token(client.get("/-/any-page").text)
    opened = client.get(page)
    assert opened.status_code == 200, f"{page}: {opened.status_code}"
    return csrf_token(opened.text)


def submit(
    client: TestClient,
    action: str,
    data: Mapping[str, Any] | None = None,
    *,
    page: str | None = None,
    files: Any = None,
) -> httpx.Response:
    """Post `data` to `action` as the form of `page` would (with its CSRF token); no
    redirect is followed."""
    form = {"csrf_token": token_of(client, page), **(data or {})}
    return client.post(action, data=form, files=files)


def follow(client: TestClient, response: httpx.Response) -> httpx.Response:
    """The page a 303 redirect leads to."""
    assert response.status_code == 303, f"{response.status_code}: {response.text[:500]}"
    return client.get(response.headers["location"])


def text_of(html: str) -> str:
    """A page's text without tags and with single spaces, to look for sentences in it."""
    without_tags = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", without_tags.replace("&#39;", "'").replace("&amp;", "&")).strip()
