"""The API against its own OpenAPI description: one error shape, and schemathesis per role.

Every error of the JSON API is an RFC 9457 problem (api/problems.py); the first
tests check that shape on the answers clients meet most (SQLite and PostgreSQL).

Then, for each role (and for nobody signed in), schemathesis generates requests
from /openapi.json — valid ones, invalid ones, unexpected methods, sequences —
sends them to the app in-process, and runs every check on each answer: its status
is documented, its body, headers and content type match the description, valid
requests are not refused and invalid ones are, no 500. The run must end with no
failure at all. It runs only in the PostgreSQL lane, with few examples per
operation and a time budget per role, on a small published round
(tests/published.py) so that the ids of each role exist.

Destructive routes stay in the run: a role is signed in by an auth provider that
opens a new session of its account (made active again) whenever an answer is 401,
schemathesis then sending the request again, so signing out, a password reset or
a deactivation of the signed-in account does not end the run; solves run in the
app's own solver on the small round.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic
from schemathesis.python import asgi
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.api.problems import MEDIA_TYPE, PROBLEM_BASE
from mobility_match.models import Account, CredentialKind, Role
from mobility_match.services.sessions import issue_credential
from tests.accounts import add_account, signed_in
from tests.published import publish_small_round

POSTGRESQL_ONLY = pytest.mark.skipif(
    not os.environ.get("MOBILITY_MATCH_TEST_DATABASE_URL"),
    reason="the schemathesis run is part of the PostgreSQL lane (MOBILITY_MATCH_TEST_DATABASE_URL)",
)

MAX_EXAMPLES = 5
"""Generated requests per operation and phase: enough to meet every documented status."""
SECONDS_PER_ROLE = 6
"""schemathesis stops a role's run after this: the examples and coverage phases end within
it, fuzzing and stateful sequences take the rest; the file stays under 90 s on two cores."""

ROLES = {
    "coordinator": "coordinator@example.org",
    "partner": "ofaj@example.org",
    "teacher": "teacher-a@example.org",
    "student": "S-MINOR",
    "evaluator": "evaluator@example.org",
    "anonymous": None,
}


PAGE_TOO = "OPTIONS /invite/{token}"
"""The one path that is an API route (POST) and a page (GET) at once."""

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The problem body of `response`, checked against RFC 9457's members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["type"] == PROBLEM_BASE + kind
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    return body


def test_an_unknown_route_and_a_wrong_method_are_problems_naming_every_allowed_method(
    client: TestClient,
) -> None:
    """Starlette's 404 and 405 answer problems too; a 405 lists every method of the path
    (here GET and POST, two routes), not only the first route's."""
    missing = _problem(client.get("/api/nowhere"), 404, "not-found")
    assert missing["detail"] == "There is no /api/nowhere in this API."
    wrong = client.delete("/api/offers")
    _problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["allow"] == "GET, POST"


def test_an_invalid_request_names_each_field_in_errors(client: TestClient, engine: Engine) -> None:
    """A body that does not validate: a sentence naming the fields, and `errors` with each
    field and what is wrong, never the value sent."""
    headers = signed_in(engine, "coordinator@example.org", Role.COORDINATOR)
    response = client.post("/api/rounds", json={"name": "", "seed": -1}, headers=headers)
    body = _problem(response, 422, "invalid-request")
    assert [error["field"] for error in body["errors"]] == ["body.name", "body.seed"]
    assert body["detail"] == "The request is not valid: see body.name, body.seed."
    assert "problems" not in body


def test_a_refusal_lists_every_broken_rule_in_problems(client: TestClient, engine: Engine) -> None:
    """A request that validates but breaks rules: 422 `refused`, every rule in `problems`."""
    headers = signed_in(engine, "coordinator@example.org", Role.COORDINATOR)
    body = {"username": "x", "display_name": "X", "role": "teacher", "password": "short"}
    answer = _problem(client.post("/api/accounts", json=body, headers=headers), 422, "refused")
    assert [problem.split(":")[0] for problem in answer["problems"]] == ["password", "school_id"]
    assert "errors" not in answer


def test_signed_out_is_a_problem_with_its_challenge(client: TestClient) -> None:
    """No session: 401 `unauthenticated`, with WWW-Authenticate kept."""
    response = client.get("/api/rounds")
    _problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_description_documents_every_error_as_a_problem(client: TestClient) -> None:
    """Every operation documents 401 and 422 (and 400 with a body) as application/problem+json
    Problem; FastAPI's own validation error schema is gone; the pages are not in it."""
    schema = client.get("/openapi.json").json()
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        assert path.startswith(("/api/", "/invite/")), path
        for method, operation in operations.items():
            answers = operation["responses"]
            expected = {"401", "422"} | ({"400"} if "requestBody" in operation else set())
            assert expected <= answers.keys(), (method, path)
            for status, answer in answers.items():
                if status.startswith("4"):
                    assert answer["content"] == {MEDIA_TYPE: problem}, (method, path, status)


def _sign_in(engine: Engine, username: str) -> type:
    """An auth provider opening a new session of `username` each time it is asked for one."""

    class SignIn:
        def get(self, _case: schemathesis.Case[Any], _context: schemathesis.AuthContext) -> str:
            with Session(engine) as session:
                account = session.exec(select(Account).where(Account.username == username)).one()
                account.active = True  # deactivated by the run itself: let it back in
                token, _credential = issue_credential(
                    session, account, CredentialKind.SESSION, None
                )
                session.commit()
            return token

        def set(
            self, case: schemathesis.Case[Any], token: str, _context: schemathesis.AuthContext
        ) -> None:
            case.headers["Authorization"] = f"Bearer {token}"

    return SignIn


def _run(app: FastAPI, engine: Engine, username: str | None) -> tuple[Statistic, list[str]]:
    """Run schemathesis on `app` as `username` (None: nobody); its statistics and errors.

    The engine is the one `schemathesis run` drives (every phase: examples, coverage,
    fuzzing, stateful), with every check enabled as `--checks all` does; failures are
    counted once each, as its summary counts them.
    """
    config = schemathesis.Config.from_dict(
        {
            "seed": 20260101,
            "max-time": SECONDS_PER_ROLE,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "checks": {"enabled": True},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    if username is not None:
        schema.auth(_sign_in(engine, username), refresh_interval=None)
    statistic = Statistic()
    errors: list[str] = []
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                statistic.on_scenario_finished(event.recorder)
            elif isinstance(event, events.NonFatalError):
                errors.append(f"{event.label}: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                errors.append(repr(event.exception))
    finally:
        # schemathesis starts the app's lifespan (the solver) for the process; end it here.
        asgi.shutdown_lifespans()
    return statistic, errors


def _report(statistic: Statistic) -> str:
    """Each failure: operation, status, check, the request (curl) and the answer."""
    lines: list[str] = []
    for label, groups in sorted(statistic.failures.items()):
        for group in groups.values():
            status = group.response.status_code if group.response is not None else "-"
            body = group.response.text[:300] if group.response is not None else ""
            request = (group.code_sample or "").splitlines()[0][:300]
            for failure in group.failures:
                message = failure.message.strip().splitlines()[0] if failure.message else ""
                lines.append(f"{label} [{status}]: {failure.title}: {message}")
                lines.append(f"    {request}\n    -> {body}")
    return "\n".join(lines)


@POSTGRESQL_ONLY
@pytest.mark.parametrize("role", list(ROLES))
def test_the_api_keeps_to_its_description(
    role: str, app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Every answer to every generated request, as `role`, is one the description allows."""
    publish_small_round(engine, client)
    if role == "evaluator":
        add_account(engine, "evaluator@example.org", Role.EVALUATOR)
    statistic, errors = _run(app, engine, ROLES[role])
    assert statistic.tested_operations, "schemathesis tested no operation"
    assert not statistic.errored_operations, f"{role}: errors in {statistic.errored_operations}"
    assert not errors, f"{role}:\n" + "\n".join(errors)
    # The link a student opens is also a page (GET, web/pages/student.py, outside the API's
    # description): a 405 there rightly allows GET besides POST. Only that is forgiven.
    statistic.failures.pop(PAGE_TOO, None)
    assert not statistic.failures, f"{role}:\n{_report(statistic)}"
