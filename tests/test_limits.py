"""Tests of the limit on request bodies (api/limits.py), through the app and its real routes.

The limit is the upload limit plus an allowance for the multipart headers; a
body over it is refused with 413 before any route, dependency or form parser
sees it, with or without a Content-Length.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.types import Message, Receive, Scope, Send

from mobility_match.api.app import create_app
from mobility_match.api.limits import MULTIPART_ALLOWANCE, BodyLimit
from mobility_match.config import Settings
from mobility_match.demo import generate_students, students_frame
from mobility_match.models import Role, Student
from tests.accounts import add_account, session_headers

MB = 1024 * 1024
LIMIT = MB
"""The upload limit of these tests: 1 MB, so that bodies over it stay quick to send."""

TOO_LARGE = LIMIT + MULTIPART_ALLOWANCE + 1024
"""A file size over the limit and its allowance."""


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A client of an app whose upload limit is LIMIT."""
    small = settings.model_copy(update={"upload_max_bytes": LIMIT})
    with TestClient(create_app(small, engine)) as client:
        yield client


@pytest.fixture
def coordinator(engine: Engine) -> dict[str, str]:
    return session_headers(engine, add_account(engine, "coord", Role.COORDINATOR, password=None))


def stored_students(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Student)).one()


def students_csv(count: int) -> bytes:
    """A valid students file of `count` fictitious students, preferring countries only."""
    frame = students_frame(generate_students(count, 5))
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def post_file(
    client: TestClient, filename: str, data: bytes, headers: dict[str, str] | None = None
) -> Response:
    """POST a students file as a browser does: multipart, with a Content-Length."""
    return client.post("/api/imports/students", files={"file": (filename, data)}, headers=headers)


def multipart(filename: str, data: bytes) -> tuple[str, bytes]:
    """A multipart/form-data body with one file in the field `file`, and its content type."""
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", head + data + tail


def post_chunked(
    client: TestClient, data: bytes, headers: dict[str, str], piece: int = 64 * 1024
) -> Response:
    """POST a students file in a multipart body sent in pieces: chunked, no Content-Length."""
    content_type, body = multipart("students.csv", data)
    pieces = (body[start : start + piece] for start in range(0, len(body), piece))
    return client.post(
        "/api/imports/students", content=pieces, headers={**headers, "Content-Type": content_type}
    )


def test_a_body_over_the_limit_by_its_content_length_is_refused_at_once(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """A Content-Length over the limit answers 413 saying both sizes; nothing is imported."""
    data = students_csv(5) + b"\n" * TOO_LARGE
    response = post_file(client, "students.csv", data, coordinator)
    assert response.status_code == 413
    length = int(response.request.headers["content-length"])
    shown = f"{math.ceil(length * 10 / MB) / 10:.1f}".removesuffix(".0")
    assert response.json()["detail"] == f"The upload is {shown} MB; the limit is 1 MB."
    assert response.json()["type"].endswith("/problems/too-large")
    assert stored_students(engine) == 0


def test_the_content_length_is_refused_before_anyone_is_asked_who_they_are(
    client: TestClient,
) -> None:
    """Without credentials the answer is still 413, not 401: no route or dependency ran."""
    response = post_file(client, "students.csv", b"x" * TOO_LARGE)
    assert response.status_code == 413
    assert response.json()["detail"].endswith("; the limit is 1 MB.")


def test_a_chunked_body_is_counted_and_refused_once_over_the_limit(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """A body without Content-Length is counted as it comes, and refused with 413 past it."""
    response = post_chunked(client, students_csv(5) + b"\n" * TOO_LARGE, coordinator)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["detail"] == "The upload is more than 1 MB; the limit is 1 MB."
    assert stored_students(engine) == 0


def test_a_chunked_body_under_the_limit_is_imported(
    client: TestClient, engine: Engine, coordinator: dict[str, str]
) -> None:
    """Counting lets a chunked upload under the limit through to the import."""
    response = post_chunked(client, students_csv(5), coordinator, piece=256)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 5
    assert stored_students(engine) == 5


def test_a_file_within_the_allowance_meets_the_route_own_check(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    """A file a little over the upload limit gets past the body limit; the route names it."""
    data = students_csv(5) + b"\n" * LIMIT
    response = post_file(client, "cohort.csv", data, coordinator)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("cohort.csv is larger than the upload limit")


def test_the_app_reads_no_chunk_past_the_limit() -> None:
    """Over several body messages, the app is stopped at the first one past the limit."""
    chunk = 100 * 1024
    messages: list[Message] = [
        {"type": "http.request", "body": b"x" * chunk, "more_body": True} for _ in range(30)
    ]
    read: list[int] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (message := await receive())["more_body"]:
            read.append(len(message["body"]))
        raise AssertionError("the whole body was read")

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    # A thread of its own: the browser tests' Playwright may hold an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(
            anyio.run, BodyLimit(app, upload_max_bytes=LIMIT), scope, receive, send
        ).result()
    assert sum(read) <= LIMIT + MULTIPART_ALLOWANCE
    assert sum(read) + chunk > LIMIT + MULTIPART_ALLOWANCE
    assert sent[0]["status"] == 413
