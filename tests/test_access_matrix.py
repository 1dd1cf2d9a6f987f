"""The access-control matrix: every route × every role (and anonymous) × whose object.

For each route of the API the table ROUTES says which roles may use it and what
its path parameters name. Each cell is then checked:

- anonymous: 401;
- a role the route does not serve: 403;
- a role it serves, on its own object (or on no object): neither 401, 403 nor 404;
- on someone else's object (another school's student, another partner's offer,
  a draft round seen by a non-coordinator): 404, the same as a missing id —
  except for coordinators, who see everything (but never others' API tokens);
- on a missing id: 404;
- and every change that succeeds leaves an event in the audit log.

A route missing from ROUTES fails the test, so a new route cannot dodge it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from mobility_match import records
from mobility_match.domain import Country
from mobility_match.models import AuditEvent, ChecklistStep, Role, School, SchoolKind
from tests.accounts import add_account, session_headers
from tests.factories import make_offer, make_student
from tests.programme import wait_for_round

COORDINATOR, PARTNER, TEACHER, STUDENT, EVALUATOR = (
    Role.COORDINATOR,
    Role.PARTNER,
    Role.TEACHER,
    Role.STUDENT,
    Role.EVALUATOR,
)
EVERYONE = frozenset(Role)
PEOPLE = EVERYONE - {EVALUATOR}
"""Everyone but evaluators, who see no round, placement or person (their list of rounds is
empty): only the evaluation's figures."""
EVALUATORS = frozenset({COORDINATOR, EVALUATOR})
STAFF = frozenset({COORDINATOR, PARTNER, TEACHER, EVALUATOR})
"""Accounts with a password (API tokens)."""
MISSING = "999999"


@dataclass(frozen=True)
class Route:
    """Who may use a route, and how to make a valid request to it."""

    roles: frozenset[Role]
    params: tuple[str, ...] = ()
    """The path parameters that name an object; each is varied in turn."""
    body: Callable[[World, int], dict[str, Any]] | None = None
    files: Callable[[World], dict[str, Any]] | None = None
    fixed: dict[str, str] = field(default_factory=dict)
    """Path parameters that name no object (a document kind, a file format)."""


PUBLIC = {("POST", "/api/auth/login"), ("POST", "/invite/{token}")}
READS = {("POST", "/api/imports/students/dry-run")}
"""POST routes that change nothing (a file is sent to be read), so log nothing."""
"""GET /invite/{token} is a page (web/pages/student.py), not a route of the API."""


@dataclass
class World:
    """Two of everything: one the viewer owns (school A, OFAJ, student A), one it doesn't."""

    engine: Engine
    client: TestClient
    published: int = 0
    draft: int = 0
    accounts: dict[Role, int] = field(default_factory=dict)
    spare_accounts: tuple[int, int] = (0, 0)
    others_token: int = 0
    documents: tuple[int, int] = (0, 0)
    """A stored document of student A (school A) and of student B (school B)."""
    steps: tuple[int, int] = (0, 0)
    """A student's checklist step of student A and of student B."""
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def own(self, param: str, role: Role | None) -> str:
        if role is None:
            return MISSING
        if param == "token_id":
            return str(_token(self.engine, self.client, self.accounts[role]))
        return {
            "student_id": "ST-A",
            "school_id": "SCH-A",
            "offer_id": "DE-OWN",
            "round_id": str(self.published),
            "other_round_id": str(self.published),
            "account_id": str(self.spare_accounts[0]),
            "document_id": str(self.documents[0]),
            "step_id": str(self.steps[0]),
        }[param]

    def other(self, param: str) -> str:
        return {
            "student_id": "ST-B",
            "school_id": "SCH-B",
            "offer_id": "PL-OTHER",
            "round_id": str(self.draft),
            "token_id": str(self.others_token),
            "account_id": str(self.spare_accounts[1]),
            "document_id": str(self.documents[1]),
            "step_id": str(self.steps[1]),
        }[param]


def _token(engine: Engine, client: TestClient, account_id: int) -> int:
    """A new API token of the account, made through the API as its owner would."""
    headers = session_headers(engine, account_id)
    response = client.post("/api/auth/tokens", json={"name": "t"}, headers=headers)
    assert response.status_code == 201, response.text
    token_id: int = response.json()["id"]
    return token_id


def _offer_body(world: World, n: int) -> dict[str, Any]:
    return {
        "offer_id": f"DE-NEW-{n}",
        "partner": "OFAJ",
        "company_id": "C-DE-OWN",
        "company_name": "Firma DE-OWN",
        "country": "DE",
        "city": "Leipzig",
        "address": "Karl-Liebknecht-Straße 1, 04107 Leipzig",
        "contact_name": "Anna Schmidt",
        "contact_email": "anna@firma.example",
        "sector": "services",
        "trades": ["commerce"],
        "places": 2,
        "start_date": "2027-05-03",
        "end_date": "2027-06-11",
    }


def _students_file(world: World) -> dict[str, Any]:
    text = (
        "student_id,first_name,last_name,gender,birth_date,school_id,diploma,trade,"
        "available_from,available_to\n"
        "ST-C,Inès,Lefèvre,F,2006-01-02,SCH-A,BAC_PRO,commerce,2027-04-01,2027-07-31\n"
    )
    return {"file": ("students.csv", text.encode(), "text/csv")}


def _offers_file(world: World) -> dict[str, Any]:
    text = (
        "offer_id,partner,company_id,company_name,country,city,address,contact_name,"
        "contact_email,sector,trades,places,start_date,end_date\n"
        "DE-FILE,OFAJ,C-DE-OWN,Firma DE-OWN,DE,Leipzig,Karl-Liebknecht-Straße 1,Anna Schmidt,"
        "anna@firma.example,services,commerce,1,2027-05-03,2027-06-11\n"
    )
    return {"file": ("offers.csv", text.encode(), "text/csv")}


def _follow_up_file(world: World) -> dict[str, Any]:
    text = "student_id,wave,situation,as_of\nST-A,6,job_seeking,2027-12-01\n"
    return {"file": ("follow-up.csv", text.encode(), "text/csv")}


def _deadline(world: World, n: int) -> dict[str, Any]:
    return {"response_deadline": (dt.date.today() + dt.timedelta(days=30)).isoformat()}


ROUND = ("round_id",)
ASSIGNMENT = ("round_id", "student_id")
C = frozenset({COORDINATOR})
SCHOOL_STAFF = frozenset({COORDINATOR, TEACHER})
PREPARERS = frozenset({COORDINATOR, TEACHER, STUDENT})

ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/api/auth/logout"): Route(EVERYONE),
    ("GET", "/api/auth/me"): Route(EVERYONE),
    ("GET", "/api/auth/tokens"): Route(STAFF),
    ("POST", "/api/auth/tokens"): Route(STAFF, body=lambda w, n: {"name": f"token {n}"}),
    ("DELETE", "/api/auth/tokens/{token_id}"): Route(STAFF, ("token_id",)),
    ("GET", "/api/accounts"): Route(C),
    ("POST", "/api/accounts"): Route(
        C,
        body=lambda w, n: {
            "username": f"new-{n}@example.org",
            "display_name": "New",
            "role": "coordinator",
            "password": "a long enough password",
        },
    ),
    ("POST", "/api/accounts/{account_id}/deactivate"): Route(C, ("account_id",)),
    ("POST", "/api/accounts/{account_id}/password"): Route(C, ("account_id",)),
    ("GET", "/api/accounts/blocked"): Route(C),
    ("POST", "/api/accounts/blocked/lift"): Route(C, body=lambda w, n: {"username": f"x{n}"}),
    ("GET", "/api/accounts/blocked-addresses"): Route(C),
    ("POST", "/api/accounts/blocked-addresses/lift"): Route(
        C, body=lambda w, n: {"client": f"10.0.0.{n}"}
    ),
    ("POST", "/api/students/{student_id}/invitation"): Route(
        frozenset({COORDINATOR, TEACHER}), ("student_id",)
    ),
    ("GET", "/api/schools"): Route(frozenset({COORDINATOR, TEACHER})),
    ("POST", "/api/schools"): Route(
        C, body=lambda w, n: {"school_id": f"SCH-NEW-{n}", "name": "Lycée", "kind": "pilot"}
    ),
    ("GET", "/api/schools/{school_id}"): Route(frozenset({COORDINATOR, TEACHER}), ("school_id",)),
    ("PUT", "/api/schools/{school_id}"): Route(
        C, ("school_id",), body=lambda w, n: {"name": "Lycée renommé", "kind": "pilot"}
    ),
    ("GET", "/api/students"): Route(frozenset({COORDINATOR, TEACHER, STUDENT})),
    ("GET", "/api/students/{student_id}"): Route(
        frozenset({COORDINATOR, TEACHER, STUDENT}), ("student_id",)
    ),
    ("GET", "/api/partners"): Route(EVERYONE),
    ("GET", "/api/companies"): Route(frozenset({COORDINATOR, PARTNER})),
    ("GET", "/api/offers"): Route(frozenset({COORDINATOR, PARTNER})),
    ("POST", "/api/offers"): Route(frozenset({COORDINATOR, PARTNER}), body=_offer_body),
    ("GET", "/api/offers/{offer_id}"): Route(frozenset({COORDINATOR, PARTNER}), ("offer_id",)),
    ("PUT", "/api/offers/{offer_id}"): Route(
        frozenset({COORDINATOR, PARTNER}),
        ("offer_id",),
        body=lambda w, n: {k: v for k, v in _offer_body(w, n).items() if k != "offer_id"},
    ),
    ("PATCH", "/api/offers/{offer_id}"): Route(
        frozenset({COORDINATOR, PARTNER}),
        ("offer_id",),
        body=lambda w, n: {"contact_name": f"Anna Schmidt {n}"},
    ),
    ("POST", "/api/offers/{offer_id}/withdraw"): Route(
        frozenset({COORDINATOR, PARTNER}), ("offer_id",)
    ),
    ("GET", "/api/partner/placements"): Route(frozenset({COORDINATOR, PARTNER})),
    ("POST", "/api/imports/students"): Route(C, files=_students_file),
    ("POST", "/api/imports/students/dry-run"): Route(C, files=_students_file),
    ("POST", "/api/imports/offers"): Route(frozenset({COORDINATOR, PARTNER}), files=_offers_file),
    ("GET", "/api/rounds"): Route(EVERYONE),
    ("POST", "/api/rounds"): Route(C, body=lambda w, n: {"name": f"Round {n}"}),
    ("GET", "/api/rounds/{round_id}"): Route(PEOPLE, ROUND),
    ("POST", "/api/rounds/{round_id}/solve"): Route(C, ROUND),
    ("POST", "/api/rounds/{round_id}/cancel"): Route(C, ROUND),
    ("GET", "/api/rounds/{round_id}/statistics"): Route(C, ROUND),
    ("GET", "/api/rounds/{round_id}/mails"): Route(C, ROUND),
    ("GET", "/api/rounds/{round_id}/assignments"): Route(PEOPLE, ROUND),
    ("GET", "/api/rounds/{round_id}/assignments/{student_id}"): Route(PEOPLE, ASSIGNMENT),
    ("POST", "/api/rounds/{round_id}/assignments/{student_id}/lock"): Route(C, ASSIGNMENT),
    ("DELETE", "/api/rounds/{round_id}/assignments/{student_id}/lock"): Route(C, ASSIGNMENT),
    ("POST", "/api/rounds/{round_id}/assignments/{student_id}/move"): Route(
        C, ASSIGNMENT, body=lambda w, n: {"offer_id": None}
    ),
    ("GET", "/api/rounds/{round_id}/assignments/{student_id}/why-not"): Route(
        PREPARERS, ASSIGNMENT
    ),
    ("POST", "/api/rounds/{round_id}/assignments/{student_id}/response"): Route(
        frozenset({STUDENT}), ASSIGNMENT, body=lambda w, n: {"decision": "confirm"}
    ),
    ("POST", "/api/rounds/{round_id}/publish"): Route(C, ROUND, body=_deadline),
    ("POST", "/api/rounds/{round_id}/rerun"): Route(C, ROUND, body=lambda w, n: {}),
    ("GET", "/api/rounds/{round_id}/diff/{other_round_id}"): Route(
        C, ("round_id", "other_round_id")
    ),
    ("GET", "/api/rounds/{round_id}/export/{table}.{fmt}"): Route(C, ROUND),
    ("GET", "/api/rounds/{round_id}/fairness-price"): Route(C, ROUND),
    ("POST", "/api/rounds/{round_id}/fairness-price"): Route(C, ROUND),
    ("GET", "/api/rounds/{round_id}/beneficiary-module.csv"): Route(C, ROUND),
    ("GET", "/api/rounds/{round_id}/placements/{student_id}/documents"): Route(
        SCHOOL_STAFF, ASSIGNMENT
    ),
    ("POST", "/api/rounds/{round_id}/placements/{student_id}/documents"): Route(
        SCHOOL_STAFF, ASSIGNMENT, body=lambda w, n: {"kind": "checklist"}
    ),
    ("GET", "/api/rounds/{round_id}/placements/{student_id}/documents/{kind}.{fmt}"): Route(
        SCHOOL_STAFF, ASSIGNMENT, fixed={"kind": "student_letter", "fmt": "html"}
    ),
    ("GET", "/api/documents/{document_id}.pdf"): Route(SCHOOL_STAFF, ("document_id",)),
    ("POST", "/api/documents/{document_id}/sent"): Route(SCHOOL_STAFF, ("document_id",)),
    ("GET", "/api/rounds/{round_id}/schools/{school_id}/documents.zip"): Route(
        SCHOOL_STAFF, ("round_id", "school_id")
    ),
    ("GET", "/api/rounds/{round_id}/placements/{student_id}/checklist"): Route(
        PREPARERS, ASSIGNMENT
    ),
    ("PUT", "/api/checklist-steps/{step_id}/done"): Route(PREPARERS, ("step_id",)),
    ("DELETE", "/api/checklist-steps/{step_id}/done"): Route(PREPARERS, ("step_id",)),
    ("GET", "/api/checklists/overdue"): Route(SCHOOL_STAFF),
    ("GET", "/api/checklists/overdue.{fmt}"): Route(SCHOOL_STAFF, fixed={"fmt": "xlsx"}),
    ("GET", "/api/me/placements"): Route(frozenset({STUDENT})),
    ("GET", "/api/me/mails"): Route(EVERYONE),
    ("GET", "/api/me/checklist"): Route(frozenset({STUDENT})),
    ("GET", "/api/audit"): Route(C),
    ("GET", "/api/students/{student_id}/personal-data"): Route(PREPARERS, ("student_id",)),
    ("GET", "/api/me/personal-data"): Route(frozenset({STUDENT})),
    ("POST", "/api/students/{student_id}/erasure"): Route(
        C, ("student_id",), body=lambda w, n: {"confirm": f"not-the-id-{n}"}
    ),
    ("PUT", "/api/rounds/{round_id}/placements/{student_id}/outcome"): Route(
        frozenset({COORDINATOR, TEACHER, PARTNER}),
        ASSIGNMENT,
        body=lambda w, n: {"outcome": "not_started"},
    ),
    ("POST", "/api/imports/follow-up"): Route(SCHOOL_STAFF, files=_follow_up_file),
    ("GET", "/api/evaluation/indicators"): Route(EVALUATORS),
    ("GET", "/api/evaluation/indicators.{fmt}"): Route(EVALUATORS, fixed={"fmt": "xlsx"}),
    ("GET", "/api/evaluation/export.{fmt}"): Route(EVALUATORS),
    ("GET", "/api/evaluation/dictionary.csv"): Route(EVALUATORS),
}


def build_world(engine: Engine, client: TestClient) -> World:
    """Schools A and B, an OFAJ and an ABC Wiedzy offer, a student in each school, accounts."""
    world = World(engine, client)
    with Session(engine) as session:
        for school_id in ("SCH-A", "SCH-B"):
            session.add(School(school_id=school_id, name=school_id, kind=SchoolKind.PILOT))
        offers = [
            make_offer("DE-OWN", accepts_minors=True),
            make_offer("PL-OTHER", country=Country.PL, city="Kraków", accepts_minors=True),
        ]
        for offer in offers:
            row, company = records.offer_rows(offer)
            session.add(company)
            session.flush()
            session.add(row)
        session.flush()
        for student in (
            make_student("ST-A", school_id="SCH-A", preferences=("DE-OWN",)),
            make_student("ST-B", school_id="SCH-B", preferences=("PL-OTHER",)),
        ):
            session.add(records.student_row(student))
        session.commit()
    world.accounts = {
        COORDINATOR: add_account(engine, "coordinator@example.org", COORDINATOR),
        PARTNER: add_account(engine, "ofaj@example.org", PARTNER, partner="OFAJ"),
        TEACHER: add_account(engine, "teacher-a@example.org", TEACHER, school_id="SCH-A"),
        STUDENT: add_account(engine, "ST-A", STUDENT, student_id="ST-A", password=None),
        EVALUATOR: add_account(engine, "evaluator@example.org", EVALUATOR),
    }
    add_account(engine, "ST-B", STUDENT, student_id="ST-B", password=None)
    other_partner = add_account(engine, "abc@example.org", PARTNER, partner="ABC_WIEDZY")
    world.others_token = _token(engine, client, other_partner)
    world.spare_accounts = (
        add_account(engine, "spare-1@example.org", TEACHER, school_id="SCH-B"),
        add_account(engine, "spare-2@example.org", TEACHER, school_id="SCH-B"),
    )
    coordinator = session_headers(engine, world.accounts[COORDINATOR])
    world.published = client.post("/api/rounds", json={"name": "P"}, headers=coordinator).json()[
        "id"
    ]
    client.post(f"/api/rounds/{world.published}/solve", headers=coordinator)
    solved = wait_for_round(client, world.published, coordinator)
    assert solved["report"]["placed"] == 2, solved
    client.post(
        f"/api/rounds/{world.published}/publish", json=_deadline(world, 0), headers=coordinator
    ).raise_for_status()
    world.draft = client.post("/api/rounds", json={"name": "D"}, headers=coordinator).json()["id"]
    world.documents = (
        _document(client, world.published, "ST-A", coordinator),
        _document(client, world.published, "ST-B", coordinator),
    )
    with Session(engine) as session:
        world.steps = (_student_step(session, "ST-A"), _student_step(session, "ST-B"))
    return world


def _document(client: TestClient, round_id: int, student_id: str, headers: dict[str, str]) -> int:
    response = client.post(
        f"/api/rounds/{round_id}/placements/{student_id}/documents",
        json={"kind": "student_letter"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    document_id: int = response.json()["id"]
    return document_id


def _student_step(session: Session, student_id: str) -> int:
    step = session.exec(
        select(ChecklistStep).where(
            ChecklistStep.student_id == student_id, ChecklistStep.who == "student"
        )
    ).first()
    assert step is not None
    assert step.id is not None
    return step.id


def _path(template: str, route: Route, values: dict[str, str]) -> str:
    values = {"table": "assignments", "fmt": "csv", **route.fixed, **values}
    return template.format(**values)


def _send(
    client: TestClient,
    method: str,
    path: str,
    route: Route,
    world: World,
    headers: dict[str, str],
) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if route.body is not None:
        kwargs["json"] = route.body(world, next(world.counter))
    if route.files is not None:
        kwargs["files"] = route.files(world)
    return client.request(method, path, **kwargs).status_code


def test_every_route_is_in_the_matrix(app: Any) -> None:
    """Each route of the OpenAPI document is in ROUTES or among the public ones."""
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented == set(ROUTES) | PUBLIC


@pytest.mark.slow
def test_access_control_matrix(engine: Engine, client: TestClient) -> None:
    """Every route × role × own/other/missing object answers as the access rules say."""
    world = build_world(engine, client)
    failures: list[str] = []
    succeeded: set[tuple[str, str]] = set()
    audited: set[tuple[str, str]] = set()
    # Students first and coordinators last, so that changes made by one role (a
    # withdrawn offer, a new round) come after the cells that look at them.
    order = [None, STUDENT, TEACHER, PARTNER, EVALUATOR, COORDINATOR]
    for role in order:
        for (method, template), route in ROUTES.items():
            targets: list[tuple[str, str, dict[str, str]]] = [("own", "", {})]
            if route.params:
                allowed = role in route.roles
                own = {p: world.own(p, role) if allowed else MISSING for p in route.params}
                targets = [("own", "", own)]
                for param in route.params:
                    if param == "other_round_id":
                        continue  # the round compared with: varied as round_id already
                    targets.append(("other", param, {**own, param: world.other(param)}))
                    targets.append(("missing", param, {**own, param: MISSING}))
            for target, param, values in targets:
                headers = session_headers(engine, world.accounts[role]) if role else {}
                events = _audit_events(engine)
                status = _send(
                    client, method, _path(template, route, values), route, world, headers
                )
                if method != "GET" and (method, template) not in READS and 200 <= status < 300:
                    succeeded.add((method, template))
                    if _audit_events(engine) > events:
                        audited.add((method, template))
                if not _expected(role, route, target, param)(status):
                    who = role.value if role else "anonymous"
                    failures.append(f"{method} {template} as {who} on {target} {param}: {status}")
    # A repeated change may change nothing (withdrawing twice), but each kind of change
    # must have been logged at least once.
    failures.extend(f"{m} {t}: changes with no audit event" for m, t in succeeded - audited)
    assert not failures, "\n".join(failures)


def _audit_events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def _expected(role: Role | None, route: Route, target: str, param: str) -> Callable[[int], bool]:
    if role is None:
        return lambda status: status == 401
    if role is EVALUATOR and role not in route.roles:
        return lambda status: status in (403, 404)  # a round it may not see is missing
    if role not in route.roles:
        return lambda status: status == 403
    sees_others = role is COORDINATOR and param != "token_id"
    if target == "missing" or (target == "other" and not sees_others):
        return lambda status: status == 404
    return lambda status: status not in (401, 403, 404) and status < 500
