"""Refusing control characters in the path, the query and the body, before any route runs.

A NUL byte in a username made PostgreSQL (psycopg) refuse the statement and the
service answer 500; other C0 controls are no text anyone types either. This
pure-ASGI middleware answers 422 naming the field (the JSON API) or the error
page (pages) when the path, a query parameter, or a string of a JSON or
URL-encoded form body holds NUL or another C0 control character; tab, LF and CR
stay allowed (an address may hold line breaks). It never echoes the value (it
may be a password).

It reads only JSON and URL-encoded bodies, whole (BodyLimit, outside it, bounds
them), and hands the same bytes on to the app. Header values are checked too
(`header.<name>`; only tab is allowed there). Multipart bodies are not read here
(an upload may be large): `multipart_fields`, a dependency of every route, checks
their text fields once the app has parsed them, and the cells of an uploaded file
are checked by the import reader (importing/table.py). It must not read the
database or know any route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl

from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mobility_match.api.problems import invalid_request_detail, problem
from mobility_match.web.errors import error_page, is_page

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""C0 control characters other than tab, LF and CR."""

HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""In a header value: every C0 control but tab, and DEL (RFC 9110 field values)."""

MESSAGE = (
    "contains a control character ({code}); only printable text, tabs and line breaks are accepted"
)


def control_in(text: str) -> str | None:
    """The first forbidden control character of `text` as U+XXXX, or None."""
    match = CONTROL.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def _strings(value: object, where: str) -> Iterator[tuple[str, str]]:
    """Every (field, string) of a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            field = f"{where}.{key}"
            yield field, str(key)
            yield from _strings(item, field)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _strings(item, f"{where}.{position}")


def _body_kind(headers: Headers) -> str | None:
    """'json' or 'form' for a body this middleware reads, else None."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return "form"
    # FastAPI reads a body without a content type as JSON too.
    if not content_type or content_type == "application/json" or content_type.endswith("+json"):
        return "json"
    return None


def _body_fields(kind: str, body: bytes) -> Iterator[tuple[str, str]]:
    if kind == "form":
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            yield f"body.{name}", name
            yield f"body.{name}", value
        return
    try:
        decoded = json.loads(body)
    except ValueError:
        return  # FastAPI answers a body it cannot parse itself
    yield from _strings(decoded, "body")


def refused_fields(fields: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """One problem per field holding a control character, each field once."""
    problems: dict[str, str] = {}
    for field, text in fields:
        code = control_in(text)
        shown = CONTROL.sub("?", field)  # a key holding the control is shown without it
        if code is not None and shown not in problems:
            problems[shown] = MESSAGE.format(code=code)
    return [{"field": field, "message": message} for field, message in problems.items()]


def _header_problems(scope: Scope) -> list[dict[str, str]]:
    """One problem per header whose value holds a control character (names are checked
    by the HTTP server)."""
    problems = []
    for raw_name, raw_value in scope.get("headers", []):
        match = HEADER_CONTROL.search(raw_value.decode("latin-1"))
        if match is not None:
            name = CONTROL.sub("?", raw_name.decode("latin-1").lower())
            code = f"U+{ord(match.group()):04X}"
            problems.append({"field": f"header.{name}", "message": MESSAGE.format(code=code)})
    return problems


async def multipart_fields(request: Request) -> None:
    """A dependency of every route: 422 when a text field of a multipart body holds a
    control character. The form is the one the route parsed (Starlette keeps it)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data" or request.method in ("GET", "HEAD"):
        return
    form = await request.form()
    fields: list[tuple[str, str]] = []
    for name, value in form.multi_items():
        fields.append((f"body.{name}", name))
        if isinstance(value, str):
            fields.append((f"body.{name}", value))
    refused = refused_fields(fields)
    if refused:
        raise RequestValidationError(
            [
                {"loc": tuple(problem["field"].split(".", 1)), "msg": problem["message"]}
                for problem in refused
            ]
        )


class ControlCharacters:
    """Answer 422 to a request with a C0 control (not tab, LF, CR) in its path, query or body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = [("path", scope["path"])]
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            fields += [(f"query.{name}", name), (f"query.{name}", value)]
        refused = refused_fields(fields) + _header_problems(scope)
        if refused:
            await self._refuse(scope, receive, send, refused)
            return
        kind = _body_kind(Headers(scope=scope))
        if kind is None or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive)
        refused = refused_fields(_body_fields(kind, body))
        if refused:
            await self._refuse(scope, receive, send, refused)
            return
        await self.app(scope, self._replay(body, receive), send)

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        """A receive that gives the body already read, then whatever the client sends next."""
        given = False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, problems: list[dict[str, str]]
    ) -> None:
        request = Request(scope, receive)
        response: Response
        if is_page(request):
            fields = ", ".join(problem["field"].split(".")[-1] for problem in problems)
            response = error_page(request, 422, fields)
        else:
            detail = invalid_request_detail(problems)
            path = CONTROL.sub("?", scope["path"])
            response = problem(422, detail, path, kind="invalid-request", errors=problems)
        await response(scope, receive, send)
