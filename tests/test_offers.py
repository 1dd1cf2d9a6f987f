"""Tests of the offers routes and service: partners' own offers, checks, versions, withdrawal."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from mobility_match import records
from mobility_match.access import Viewer
from mobility_match.api.offers import OfferPatch
from mobility_match.domain import Sector
from mobility_match.models import (
    Account,
    Assignment,
    AuditEvent,
    Company,
    Offer,
    OfferStatus,
    Response,
    Role,
    Round,
    RoundStatus,
)
from mobility_match.services import offers
from mobility_match.services.errors import Conflict
from mobility_match.services.offers import OfferFields
from tests.accounts import add_school, signed_in
from tests.factories import make_offer, make_student


@dataclass(frozen=True)
class Hosts:
    """Authorization headers: a coordinator, two partners, a teacher and a student."""

    coordinator: dict[str, str]
    ofaj: dict[str, str]
    abc: dict[str, str]
    teacher: dict[str, str]
    student: dict[str, str]


@pytest.fixture
def hosts(engine: Engine) -> Hosts:
    """OFAJ's offer DE-001 (commerce, 1 place) and OFAJ's production offer DE-002 open to `*`."""
    add_school(engine, "LP-A")
    with Session(engine) as session:
        session.add(records.student_row(make_student("S1", school_id="LP-A")))
        every_trade = make_offer(
            "DE-002", sector=Sector.PRODUCTION, trades=frozenset(), company_id="C-DE-001"
        )
        for offer in (make_offer("DE-001"), every_trade):
            row, company = records.offer_rows(offer)
            session.merge(company)
            session.add(row)
        session.commit()
    return Hosts(
        coordinator=signed_in(engine, "coord", Role.COORDINATOR),
        ofaj=signed_in(engine, "ofaj", Role.PARTNER, partner="OFAJ"),
        abc=signed_in(engine, "abc", Role.PARTNER, partner="ABC_WIEDZY"),
        teacher=signed_in(engine, "teacher", Role.TEACHER, school_id="LP-A"),
        student=signed_in(engine, "S1", Role.STUDENT, student_id="S1"),
    )


def offer_body(**changes: Any) -> dict[str, Any]:
    """A valid new offer of OFAJ for mechanics in Dresden, without a partner."""
    body: dict[str, Any] = {
        "offer_id": "DE-100",
        "company_id": "DE-C100",
        "company_name": "Autohaus Krüger GmbH",
        "country": "DE",
        "city": "Dresden",
        "address": "Bautzner Straße 5, 01099 Dresden",
        "contact_name": "Jens Krüger",
        "contact_email": "j.krueger@autohaus-krueger.example",
        "sector": "production",
        "trades": ["mv"],
        "places": 2,
        "start_date": "2027-05-03",
        "end_date": "2027-06-11",
        "language_requirement": "de:A2|en:B1",
        "accepts_minors": False,
    }
    body.update(changes)
    return body


def offer_ids(client: TestClient, who: dict[str, str], query: str = "") -> list[str]:
    response = client.get(f"/api/offers{query}", headers=who)
    assert response.status_code == 200, response.text
    return [offer["offer_id"] for offer in response.json()]


def audit_actions(engine: Engine, object_id: str) -> list[str]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.object_id == object_id)
        return [event.action for event in session.exec(query.order_by(col(AuditEvent.id)))]


# Creating, changing and withdrawing one's own offers.


def test_a_partner_submits_an_offer_of_its_own(
    client: TestClient, engine: Engine, hosts: Hosts
) -> None:
    """A partner's new offer is its own organisation's, with its company created, and audited."""
    created = client.post("/api/offers", json=offer_body(), headers=hosts.ofaj)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["partner"] == "OFAJ"
    assert body["status"] == "open"
    assert body["version"] == 1
    assert body["language_requirement"] == "de:A2|en:B1"
    assert client.get("/api/offers/DE-100", headers=hosts.ofaj).json() == body
    assert offer_ids(client, hosts.ofaj) == ["DE-001", "DE-002", "DE-100"]
    companies = client.get("/api/companies", headers=hosts.ofaj).json()
    assert [company["company_id"] for company in companies] == ["C-DE-001", "DE-C100"]
    assert audit_actions(engine, "DE-100") == ["offer.create"]


def test_a_partner_may_not_submit_for_another_partner(client: TestClient, hosts: Hosts) -> None:
    """Naming another partner is refused, as is a country other than the partner's."""
    response = client.post(
        "/api/offers", json=offer_body(partner="ABC_WIEDZY", country="PL"), headers=hosts.ofaj
    )
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [problem.split(":")[0] for problem in problems] == ["partner", "country"]
    assert "you submit offers of OFAJ only" in problems[0]
    assert client.get("/api/offers/DE-100", headers=hosts.ofaj).status_code == 404


def test_a_coordinator_submits_for_any_partner(client: TestClient, hosts: Hosts) -> None:
    """A coordinator names the partner; the country must still be the partner's."""
    body = offer_body(offer_id="PL-100", company_id="PL-C100", partner="ABC_WIEDZY", country="PL")
    created = client.post("/api/offers", json=body, headers=hosts.coordinator)
    assert created.status_code == 201, created.text
    assert created.json()["partner"] == "ABC_WIEDZY"
    assert client.get("/api/offers/PL-100", headers=hosts.abc).status_code == 200
    nameless = client.post("/api/offers", json=offer_body(), headers=hosts.coordinator)
    assert nameless.status_code == 422
    assert nameless.json()["problems"][0].startswith("partner: unknown partner ''")


def test_every_wrong_field_is_listed_at_once(client: TestClient, hosts: Hosts) -> None:
    """Each broken rule is one problem naming its field, all in one answer; nothing is saved."""
    body = offer_body(
        country="PL",
        city=" ",
        contact_email="nobody",
        trades=["mv", "cuisine", "nope"],
        places=0,
        start_date="2027-06-11",
        end_date="2027-05-03",
        language_requirement="german",
    )
    response = client.post("/api/offers", json=body, headers=hosts.ofaj)
    assert response.status_code == 422
    answer = response.json()
    assert answer["detail"] == "Offer DE-100 has 7 problems; nothing was saved."
    fields = [problem.split(": ", 1)[0] for problem in answer["problems"]]
    assert fields == [
        "country",
        "city",
        "contact_email",
        "trades",
        "places",
        "end_date",
        "language_requirement",
    ]
    text = "\n".join(answer["problems"])
    assert "country PL does not match partner OFAJ" in text
    assert "trade cuisine belongs to services, not to this production offer" in text
    assert "unknown trade 'nope'" in text
    assert "places must be a whole number from 1 to 1,000, not '0'" in text
    assert "'german' is not a language requirement" in text
    assert client.get("/api/offers/DE-100", headers=hosts.ofaj).status_code == 404


def test_a_company_of_another_partner_or_a_taken_id_is_refused(
    client: TestClient, hosts: Hosts
) -> None:
    """A partner may not use another partner's company (422) nor an offer id in use (409)."""
    body = offer_body(offer_id="PL-100", company_id="C-DE-001", partner="ABC_WIEDZY", country="PL")
    foreign = client.post("/api/offers", json=body, headers=hosts.abc)
    assert foreign.status_code == 422
    assert foreign.json()["problems"] == [
        "company_id: company C-DE-001 belongs to another partner; use another company id"
    ]
    taken = offer_body(offer_id="DE-001", company_id="PL-C1", country="PL")
    assert client.post("/api/offers", json=taken, headers=hosts.abc).status_code == 409


def test_a_partner_updates_its_offer_and_company(
    client: TestClient, engine: Engine, hosts: Hosts
) -> None:
    """A whole update changes the offer and its company and raises the version once."""
    client.post("/api/offers", json=offer_body(), headers=hosts.ofaj)
    change = offer_body(places=3, city="Leipzig", trades="mv;melec")
    del change["offer_id"]
    updated = client.put("/api/offers/DE-100", json={**change, "version": 1}, headers=hosts.ofaj)
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["places"], body["city"], body["trades"], body["version"]) == (
        3,
        "Leipzig",
        ["melec", "mv"],
        2,
    )
    same = client.put("/api/offers/DE-100", json=change, headers=hosts.ofaj)
    assert same.json()["version"] == 2, "an update that changes nothing keeps the version"
    with Session(engine) as session:
        assert session.get_one(Company, "DE-C100").city == "Leipzig"
    assert audit_actions(engine, "DE-100") == ["offer.create", "offer.update"]


def test_a_stale_version_is_a_conflict(client: TestClient, hosts: Hosts) -> None:
    """An update sent with the version read before someone else's change is refused (409)."""
    client.post("/api/offers", json=offer_body(), headers=hosts.ofaj)
    change = offer_body(places=3)
    del change["offer_id"]
    fresh = client.put("/api/offers/DE-100", json={**change, "version": 1}, headers=hosts.ofaj)
    assert fresh.status_code == 200, fresh.text
    stale = client.put(
        "/api/offers/DE-100", json={**change, "places": 4, "version": 1}, headers=hosts.ofaj
    )
    assert stale.status_code == 409
    assert "now at version 2, not 1" in stale.json()["detail"]
    assert client.get("/api/offers/DE-100", headers=hosts.ofaj).json()["places"] == 3


def test_withdrawing_is_idempotent_and_ends_changes(
    client: TestClient, engine: Engine, hosts: Hosts
) -> None:
    """A withdrawn offer stays withdrawn on a second call, once audited, and takes no update."""
    first = client.post("/api/offers/DE-001/withdraw", headers=hosts.ofaj)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["version"]) == ("withdrawn", 2)
    second = client.post("/api/offers/DE-001/withdraw", headers=hosts.ofaj)
    assert second.json() == first.json()
    assert audit_actions(engine, "DE-001") == ["offer.withdraw"]
    change = offer_body(trades=["commerce"], sector="services")
    del change["offer_id"]
    refused = client.put("/api/offers/DE-001", json=change, headers=hosts.ofaj)
    assert refused.status_code == 409
    assert "withdrawn" in refused.json()["detail"]


def test_withdrawing_marks_published_placements_withdrawn(
    client: TestClient, engine: Engine, hosts: Hosts
) -> None:
    """The rounds service hears of a withdrawal: placements on the offer become withdrawn."""
    with Session(engine) as session:
        published = Round(name="Spring", status=RoundStatus.PUBLISHED)
        session.add(published)
        session.flush()
        assert published.id is not None
        session.add(
            Assignment(
                round_id=published.id,
                student_id="S1",
                school_id="LP-A",
                offer_id="DE-001",
                partner="OFAJ",
                response=Response.PENDING,
            )
        )
        session.commit()
    assert client.post("/api/offers/DE-001/withdraw", headers=hosts.ofaj).status_code == 200
    with Session(engine) as session:
        placement = session.exec(select(Assignment)).one()
        assert placement.response is Response.WITHDRAWN


# Scope.


def test_another_partners_offer_is_not_found(client: TestClient, hosts: Hosts) -> None:
    """Another partner's offer answers 404 to reading, updating and withdrawing."""
    change = offer_body()
    del change["offer_id"]
    assert client.get("/api/offers/DE-001", headers=hosts.abc).status_code == 404
    assert client.put("/api/offers/DE-001", json=change, headers=hosts.abc).status_code == 404
    assert client.post("/api/offers/DE-001/withdraw", headers=hosts.abc).status_code == 404
    assert offer_ids(client, hosts.abc) == []
    assert client.get("/api/offers/DE-001", headers=hosts.ofaj).json()["status"] == "open"


def test_teachers_and_students_may_not_touch_offers(client: TestClient, hosts: Hosts) -> None:
    """Teachers and students get 403 on offers and companies, whatever the offer."""
    for who in (hosts.teacher, hosts.student):
        assert client.get("/api/offers", headers=who).status_code == 403
        assert client.get("/api/offers/DE-001", headers=who).status_code == 403
        assert client.post("/api/offers", json=offer_body(), headers=who).status_code == 403
        assert client.post("/api/offers/DE-001/withdraw", headers=who).status_code == 403
        assert client.get("/api/companies", headers=who).status_code == 403


def test_everyone_signed_in_sees_the_partners(client: TestClient, hosts: Hosts) -> None:
    """The partner list is open to every role, and closed to the anonymous."""
    partners = client.get("/api/partners", headers=hosts.student).json()
    assert {(p["code"], p["country"]) for p in partners} == {
        ("OFAJ", "DE"),
        ("ABC_WIEDZY", "PL"),
        ("BRITISH_COUNCIL", "UK"),
    }
    assert client.get("/api/partners").status_code == 401


def test_offers_are_filtered(client: TestClient, hosts: Hosts) -> None:
    """Filters by country, sector, trade (offers open to the whole sector too) and status."""
    client.post("/api/offers/DE-001/withdraw", headers=hosts.ofaj)
    coordinator = hosts.coordinator
    assert offer_ids(client, coordinator, "?country=gb") == []
    assert offer_ids(client, coordinator, "?country=DE") == ["DE-001", "DE-002"]
    assert offer_ids(client, coordinator, "?sector=production") == ["DE-002"]
    assert offer_ids(client, coordinator, "?trade=mv") == ["DE-002"]
    assert offer_ids(client, coordinator, "?trade=commerce") == ["DE-001"]
    assert offer_ids(client, coordinator, "?status=withdrawn") == ["DE-001"]
    assert client.get("/api/offers/DE-002", headers=coordinator).json()["trades"] == ["*"]
    wrong = client.get("/api/offers?country=FR&trade=nope", headers=coordinator)
    assert wrong.status_code == 422
    assert [p.split(":")[0] for p in wrong.json()["problems"]] == ["country", "trade"]


# Concurrency.


def test_concurrent_updates_lose_no_change(engine: Engine, hosts: Hosts) -> None:
    """Ten read-modify-write updates at once, each retried when stale, each add their place."""
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "ofaj")).one()
        viewer = Viewer.of(account)
    start = threading.Barrier(10)
    errors: list[BaseException] = []

    def add_a_place() -> None:
        try:
            start.wait()
            with Session(engine) as session:
                while True:
                    offer, company = offers.get_offer(session, viewer, "DE-001")
                    fields = OfferFields.model_validate(
                        {**company.model_dump(), **offer.model_dump(), "places": offer.places + 1}
                    )
                    try:
                        offers.update_offer(
                            session, viewer, "DE-001", fields, version=offer.version
                        )
                        return
                    except Conflict:
                        session.rollback()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=add_a_place) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Session(engine) as session:
        offer = session.get_one(Offer, "DE-001")
        assert (offer.places, offer.version, offer.status) == (11, 11, OfferStatus.OPEN)
        updates = session.exec(select(AuditEvent).where(AuditEvent.action == "offer.update")).all()
        assert len(updates) == 10


def test_an_offer_s_columns_of_its_own_are_bounded(client: TestClient, hosts: Hosts) -> None:
    """An offer's `extra` is sent back with every list: a value of megabytes, a name of a
    hundred characters or a hundred columns are refused with 422, and nothing is stored."""
    for extra in (
        {"notes": "x" * 1_000_000},
        {"n" * 100: "x"},
        {f"column {n}": "x" for n in range(100)},
    ):
        refused = client.post("/api/offers", json=offer_body(extra=extra), headers=hosts.ofaj)
        assert refused.status_code == 422, extra.keys()
    assert "DE-100" not in offer_ids(client, hosts.ofaj)
    kept = client.post(
        "/api/offers", json=offer_body(extra={"notes": "parking on site"}), headers=hosts.ofaj
    )
    assert kept.status_code == 201


# A partial update (PATCH).


def test_a_patch_changes_only_the_columns_sent(
    client: TestClient, engine: Engine, hosts: Hosts
) -> None:
    """A PATCH changes the columns sent (offer and company), keeps every other one, raises the
    version once and is audited; a PATCH that changes nothing keeps the version."""
    before = client.get("/api/offers/DE-001", headers=hosts.ofaj).json()
    patched = client.patch(
        "/api/offers/DE-001",
        json={"places": 4, "city": "Dresden", "version": 1},
        headers=hosts.ofaj,
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()
    assert (after["places"], after["city"], after["version"]) == (4, "Dresden", 2)
    kept = {"places", "city", "version", "updated_at"}
    assert {k: v for k, v in after.items() if k not in kept} == {
        k: v for k, v in before.items() if k not in kept
    }
    assert client.get("/api/offers/DE-001", headers=hosts.ofaj).json() == after
    again = client.patch("/api/offers/DE-001", json={"places": 4}, headers=hosts.ofaj)
    assert again.json()["version"] == 2
    every_trade = client.patch("/api/offers/DE-002", json={"places": 2}, headers=hosts.ofaj)
    assert every_trade.status_code == 200, every_trade.text
    assert every_trade.json()["trades"] == ["*"], "an offer open to its whole sector stays so"
    with Session(engine) as session:
        assert session.get_one(Company, before["company_id"]).city == "Dresden"
    assert audit_actions(engine, "DE-001") == ["offer.update"]


def test_a_patch_with_a_stale_version_is_a_conflict(client: TestClient, hosts: Hosts) -> None:
    """A PATCH sent with the version read before someone else's change is refused (409) and
    changes nothing."""
    fresh = client.patch("/api/offers/DE-001", json={"places": 3, "version": 1}, headers=hosts.ofaj)
    assert fresh.status_code == 200, fresh.text
    stale = client.patch(
        "/api/offers/DE-001", json={"city": "Bonn", "version": 1}, headers=hosts.ofaj
    )
    assert stale.status_code == 409
    assert "now at version 2, not 1" in stale.json()["detail"]
    current = client.get("/api/offers/DE-001", headers=hosts.ofaj).json()
    assert (current["places"], current["city"], current["version"]) == (3, "Leipzig", 2)


def test_a_patch_names_each_wrong_field(client: TestClient, hosts: Hosts) -> None:
    """A PATCH is checked by PUT's rules on the merged offer: each broken rule names its field
    (a sent one or one it contradicts), a column unknown or too long too; nothing is saved."""
    rules = client.patch(
        "/api/offers/DE-001",
        json={"places": 0, "end_date": "2020-01-01", "version": 1},
        headers=hosts.ofaj,
    )
    assert rules.status_code == 422
    assert [p.split(": ", 1)[0] for p in rules.json()["problems"]] == ["places", "end_date"]
    too_long = client.patch("/api/offers/DE-001", json={"city": "x" * 121}, headers=hosts.ofaj)
    assert too_long.status_code == 422
    assert [p.split(": ", 1)[0] for p in too_long.json()["problems"]] == ["city"]
    unknown = client.patch("/api/offers/DE-001", json={"citty": "Bonn"}, headers=hosts.ofaj)
    assert unknown.status_code == 422
    assert [p["field"] for p in unknown.json()["errors"]] == ["body.citty"]
    emptied = client.patch("/api/offers/DE-001", json={"city": None}, headers=hosts.ofaj)
    assert emptied.status_code == 422
    assert client.get("/api/offers/DE-001", headers=hosts.ofaj).json()["version"] == 1


def test_a_patch_may_not_take_another_partner_s_company(client: TestClient, hosts: Hosts) -> None:
    """Moving an offer to another partner's company is refused without saying whose it is nor
    anything about it (the offer keeps its own company's name and country)."""
    body = offer_body(offer_id="PL-100", company_id="PL-C100", country="PL")
    assert client.post("/api/offers", json=body, headers=hosts.abc).status_code == 201
    refused = client.patch("/api/offers/DE-001", json={"company_id": "PL-C100"}, headers=hosts.ofaj)
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        "company_id: company PL-C100 belongs to another partner; use another company id"
    ]


# Another partner's offer id answers as a missing one, or as a taken one.


def _alike(answer: Any, offer_id: str) -> tuple[int, Any]:
    """An answer's status and body with the offer id asked for blanked out."""
    return answer.status_code, answer.text.replace(offer_id, "<id>")


def test_another_partner_s_id_answers_as_a_missing_one_on_every_route(
    client: TestClient, hosts: Hosts
) -> None:
    """GET, PUT, PATCH and withdraw of another partner's offer answer exactly as a missing id
    (404, same body); creating with another partner's id answers exactly as creating with one's
    own taken id (409, same body); no answer names the partner holding the id."""
    own = offer_body(offer_id="PL-100", company_id="PL-C100", country="PL")
    assert client.post("/api/offers", json=own, headers=hosts.abc).status_code == 201
    change = {k: v for k, v in own.items() if k != "offer_id"}
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/offers/{}", None),
        ("PUT", "/api/offers/{}", {**change, "version": 1}),
        ("PATCH", "/api/offers/{}", {"places": 3, "version": 1}),
        ("POST", "/api/offers/{}/withdraw", None),
    ]
    for method, path, body in requests:
        others = client.request(method, path.format("DE-001"), json=body, headers=hosts.abc)
        missing = client.request(method, path.format("DE-999"), json=body, headers=hosts.abc)
        assert _alike(others, "DE-001") == _alike(missing, "DE-999"), method
        assert others.status_code == 404, method
        assert others.json()["detail"] == "There is no offer DE-001."
    unchanged = client.get("/api/offers/DE-001", headers=hosts.ofaj).json()
    assert (unchanged["version"], unchanged["places"], unchanged["status"]) == (1, 1, "open")
    others = client.post("/api/offers", json={**own, "offer_id": "DE-001"}, headers=hosts.abc)
    taken = client.post("/api/offers", json=own, headers=hosts.abc)
    assert _alike(others, "DE-001") == _alike(taken, "PL-100")
    assert others.status_code == 409
    for answer in (others, taken):
        assert "ofaj" not in answer.text.lower()


def test_a_patch_takes_exactly_the_columns_of_an_offer() -> None:
    """The PATCH body lists every column a PUT takes, and the version, nothing else: its rules
    are OfferFields', applied to the merged offer."""
    assert set(OfferPatch.model_fields) == {*OfferFields.model_fields, "version"}
