"""A limit on the size of every request body, enforced before any route reads it.

Starlette spools a whole multipart body to disk before a route can look at
its files, so the routes' own size check (api/imports.py) comes too late to
spare the disk. This pure-ASGI middleware refuses a body over the upload limit
(plus an allowance for the multipart headers around a file) with 413: at once
when the Content-Length says so, else as soon as the bytes received pass it
(a chunked body). It must not buffer the body, read the database or know any
route; an answer already started by the app is never replaced.

FastAPI's own `max_body_size` was tried and not kept: with a Content-Length
over the limit it still runs the route's dependencies (sign-in, database)
until the body is read, and its 413 is a plain-text "Content Too Large" that
names no limit.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mobility_match.api.problems import problem
from mobility_match.uploads import shown_size

MULTIPART_ALLOWANCE = 64 * 1024
"""Bytes allowed above the upload limit for the multipart boundaries and part headers."""


class _TooLarge(Exception):
    """The body passed the limit while the app was reading it."""


class BodyLimit:
    """Answer 413 to any request whose body is over `upload_max_bytes` plus the allowance."""

    def __init__(self, app: ASGIApp, *, upload_max_bytes: int) -> None:
        self.app = app
        self.upload_max_bytes = upload_max_bytes
        self.max_body = upload_max_bytes + MULTIPART_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await self._refuse(scope, receive, send, f"is {self._size(int(length), up=True)}")
            return
        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    over = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Once over, whatever the app answers (a 400 for the body it could not parse)
            # is dropped for the 413 below.
            if over and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            # _TooLarge itself, or whatever the app made of it.
            if not over:
                raise
        if over and not started:
            await self._refuse(
                scope, receive, send, f"is more than {self._size(received, up=False)}"
            )

    def _size(self, size: int, *, up: bool) -> str:
        """A size in the unit the limit is shown in (MB for a limit of 1 MB or more)."""
        return shown_size(size, self.upload_max_bytes, up=up)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        limit = self._size(self.upload_max_bytes, up=False)
        detail = f"The upload {size}; the limit is {limit}."
        await problem(413, detail, scope["path"])(scope, receive, send)
