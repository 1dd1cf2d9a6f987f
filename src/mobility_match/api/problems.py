"""The one shape of every JSON API error: RFC 9457 problem details.

Every refusal of the API (a service's, a request that does not validate, an
unknown route or method, a body over the limit, a control character) answers
`application/problem+json` with `type` (a stable URI per kind of problem, below
PROBLEM_BASE; it names the kind, it is not meant to be opened), `title` (the
kind in a few words, the same for every problem of that type), `status`,
`detail` (a sentence for the person asking, always a string) and `instance`
(the path asked for), plus `problems` (every broken rule, as sentences) for a
refusal and `errors` (each field and what is wrong with it) for a request that
does not validate.

`responses` documents those answers on routers and routes. It must not know any
route, the database or the pages (web/errors.py renders the pages' errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://mobility-match.example/problems/"


class FieldError(BaseModel):
    """One field of a request that does not validate, and what would be valid."""

    field: str = Field(description="Where: path, query.<name> or body.<name>[.<name>…].")
    message: str


class Problem(BaseModel):
    """An error of the API (RFC 9457 problem details); a kind may add members of its own
    (a 409 confirmation-needed its `to_confirm` and `confirmation`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description=f"The kind of problem: a URI below {PROBLEM_BASE}.")
    title: str = Field(description="The kind of problem in a few words.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, as a sentence for the person asking.")
    instance: str = Field(description="The path that was asked for.")
    problems: list[str] | None = Field(
        default=None, description="Every rule the request breaks, one sentence each."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Each field of a request that does not validate (422)."
    )


KINDS: Mapping[str, tuple[int, str]] = {
    "bad-request": (400, "Bad request"),
    "unauthenticated": (401, "Sign-in required"),
    "forbidden": (403, "Forbidden"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "confirmation-needed": (409, "Confirmation needed"),
    "gone": (410, "Gone"),
    "too-large": (413, "Content too large"),
    "invalid-request": (422, "Invalid request"),
    "refused": (422, "Refused"),
    "too-many-attempts": (429, "Too many attempts"),
}
"""Each kind of problem: its status and title; its type is PROBLEM_BASE + the kind."""

_KIND_OF_STATUS = {
    status: kind
    for kind, (status, _title) in KINDS.items()
    if kind not in ("invalid-request", "confirmation-needed")
}


def problem(
    status: int,
    detail: str,
    instance: str,
    *,
    kind: str | None = None,
    problems: Sequence[str] = (),
    errors: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, object] | None = None,
) -> JSONResponse:
    """The problem answer; `kind` defaults to the usual one of `status` (else about:blank
    with the status's reason phrase as title, as RFC 9457 says)."""
    kind = kind or _KIND_OF_STATUS.get(status)
    if kind is None:
        type_, title = "about:blank", HTTPStatus(status).phrase
    else:
        type_, title = PROBLEM_BASE + kind, KINDS[kind][1]
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if problems:
        body["problems"] = list(problems)
    error_list = [{"field": e["field"], "message": e["message"]} for e in errors]
    if error_list:
        body["errors"] = error_list
    body.update(extensions or {})
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE
    )


def invalid_request_detail(errors: Sequence[Mapping[str, str]]) -> str:
    """The sentence of a 422 for a request that does not validate, naming its fields."""
    fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return f"The request is not valid: see {fields}." if fields else "The request is not valid."


_DESCRIPTIONS = {
    400: "The request cannot be read.",
    401: "No valid session or token was sent (WWW-Authenticate: Bearer).",
    403: "Your role may not do this, or a change came from another site.",
    404: "There is no such object, or not one you may see (the two answer alike).",
    409: "The object changed, or is in a state where this cannot be done now.",
    410: "The object existed but is used up for good (an invitation link used or expired).",
    413: "The upload is over the size limit; the sentence names the limit.",
    422: "The request does not validate (`errors` names each field), or it breaks a rule "
    "(`problems` lists every rule it breaks).",
    429: "Too many failed sign-ins; try again after Retry-After seconds.",
}

_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    },
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a router or route answering these statuses with a Problem."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": Problem, "description": _DESCRIPTIONS[status]}
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        documented[status] = entry
    return documented


SIGNED_IN = responses(401, 403, 422, 429)
"""What any route behind a sign-in may answer: no session, a role that may not, a
request that does not validate (or a control character), a sign-in block."""


def problem_media_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Document Problem answers as application/problem+json, the type they are sent with.

    FastAPI documents a `responses=` model as the route's media type (JSON); this
    moves every error answer whose schema is Problem to MEDIA_TYPE.
    """
    reference = "#/components/schemas/Problem"
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for answer in operation.get("responses", {}).values():
                content = answer.get("content", {})
                json_schema = content.get("application/json", {}).get("schema", {})
                if json_schema.get("$ref") == reference:
                    content[MEDIA_TYPE] = content.pop("application/json")
    return schema
