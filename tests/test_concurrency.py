"""Concurrent requests: one solve per round, no lost edits, no overbooked offer.

These run on SQLite by default and on PostgreSQL when
MOBILITY_MATCH_TEST_DATABASE_URL is set; the requests really overlap (sync
routes run on the server's thread pool; a barrier releases them together).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.domain import Offer as DomainOffer
from mobility_match.domain import load_vocabulary
from mobility_match.matching.rules import is_acceptable
from mobility_match.models import AuditEvent, Company, Offer, Role, Student
from mobility_match.records import offer_domain, student_domain
from tests.accounts import signed_in
from tests.programme import load_programme
from tests.test_rounds import SLOW_POLICY, assignments, solved_round

REQUESTS = 20


def all_at_once(request: Callable[[int], httpx2.Response], n: int = REQUESTS) -> list[int]:
    """Send n requests released together by a barrier; return their status codes."""
    barrier = threading.Barrier(n)

    def send(index: int) -> int:
        barrier.wait()
        return request(index).status_code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(send, range(n)))


def coordinator(engine: Engine) -> dict[str, str]:
    return signed_in(engine, "coord@example.org", Role.COORDINATOR)


def test_twenty_simultaneous_solve_requests_start_one_solve(
    engine: Engine, client: TestClient
) -> None:
    """Exactly one of 20 simultaneous "solve" requests starts a solve; the others get 409."""
    load_programme(engine, students=400)
    headers = coordinator(engine)
    created = client.post(
        "/api/rounds",
        json={"name": "Busy", "policy": SLOW_POLICY, "time_limit": 120},
        headers=headers,
    )
    round_id = created.json()["id"]
    codes = all_at_once(lambda _: client.post(f"/api/rounds/{round_id}/solve", headers=headers))
    assert Counter(codes) == {202: 1, 409: REQUESTS - 1}
    with Session(engine) as session:
        started = session.exec(select(AuditEvent).where(AuditEvent.action == "round.solve")).all()
    assert len(started) == 1
    assert client.post(f"/api/rounds/{round_id}/cancel", headers=headers).status_code == 200


def test_simultaneous_locks_are_all_kept(engine: Engine, client: TestClient) -> None:
    """Twenty coordinators' locks on twenty students at once: every one is recorded."""
    load_programme(engine, students=120)
    headers = coordinator(engine)
    round_id = solved_round(client, headers)["id"]
    students = [row["student_id"] for row in assignments(client, round_id, headers)][:REQUESTS]
    codes = all_at_once(
        lambda i: client.post(
            f"/api/rounds/{round_id}/assignments/{students[i]}/lock", headers=headers
        )
    )
    assert codes == [200] * REQUESTS
    rows = {row["student_id"]: row for row in assignments(client, round_id, headers)}
    assert all(rows[student]["locked"] for student in students)


def test_simultaneous_moves_never_overbook_an_offer(engine: Engine, client: TestClient) -> None:
    """Moves racing for an offer's free places: exactly as many succeed as there are places."""
    load_programme(engine, students=200)
    headers = coordinator(engine)
    round_id = solved_round(client, headers)["id"]
    rows = assignments(client, round_id, headers)
    vocabulary = load_vocabulary()
    with Session(engine) as session:
        students = {s.student_id: student_domain(s) for s in session.exec(select(Student))}
        offers = [
            offer_domain(offer, session.get_one(Company, offer.company_id))
            for offer in session.exec(select(Offer))
        ]
    taken = Counter(row["offer_id"] for row in rows if row["offer_id"])

    def candidates(offer: DomainOffer) -> list[str]:
        return [
            row["student_id"]
            for row in rows
            if row["offer_id"] != offer.offer_id
            and is_acceptable(students[row["student_id"]], offer, vocabulary)
        ]

    open_offers = [offer for offer in offers if offer.places > taken[offer.offer_id]]
    best = max(open_offers, key=lambda offer: len(candidates(offer)))
    free = best.places - taken[best.offer_id]
    movers = candidates(best)[:REQUESTS]
    assert len(movers) > free, "the race needs more candidates than free places"
    codes = all_at_once(
        lambda i: client.post(
            f"/api/rounds/{round_id}/assignments/{movers[i]}/move",
            json={"offer_id": best.offer_id},
            headers=headers,
        ),
        n=len(movers),
    )
    assert Counter(codes) == {200: free, 422: len(movers) - free}
    after = assignments(client, round_id, headers)
    assert sum(1 for row in after if row["offer_id"] == best.offer_id) == best.places
