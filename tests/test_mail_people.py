"""Mail to the people around the students: partner organisations at publication (in their
language), and each person's own list of the mails sent to him or her; the worker
process that delivers mail when the service does not (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from mobility_match.config import Settings
from mobility_match.models import Account, MailStatus, Role
from mobility_match.services.outbox import deliver_due
from tests.accounts import add_account, session_headers
from tests.pages import browser, sign_in_as
from tests.test_mail import (  # the SMTP server, the settings and the small programme
    SmtpServer,
    _html,
    _outbox,
    _published,
    _text,
    settings,
    smtp,
)

__all__ = ["settings", "smtp"]  # fixtures shared with tests/test_mail.py


def _partners(engine: Engine) -> tuple[int, int, int]:
    """A German partner's account (no language chosen), a Polish one who chose English,
    and a British partner's (no offer in the round)."""
    return (
        add_account(engine, "kontakt@dfjw.example", Role.PARTNER, partner="OFAJ"),
        add_account(engine, "biuro@abc.example", Role.PARTNER, partner="ABC_WIEDZY"),
        add_account(engine, "team@bc.example", Role.PARTNER, partner="BRITISH_COUNCIL"),
    )


def test_publishing_tells_each_partner_its_trainees_in_its_language_without_names(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """Ana goes to DE-1 (OFAJ), Bruno to PL-1 (ABC Wiedzy): each partner's account gets one
    mail with its own offer and the number placed, in German or in the English its
    account chose; no student's name; the British partner, with no trainee, gets none."""
    _german, polish, _british = _partners(engine)
    with Session(engine) as session:
        account = session.get(Account, polish)
        assert account is not None
        account.language = "en"
        session.add(account)
        session.commit()

    _published(engine, client)
    deliver_due(engine, settings)

    (german,) = smtp.to("kontakt@dfjw.example")
    (english,) = smtp.to("biuro@abc.example")
    assert smtp.to("team@bc.example") == []
    assert (
        german["Subject"] == "Stages en Europe: Praktikantinnen und Praktikanten für Ihre Angebote"
    )
    assert "Angebot DE-1" in _text(german)
    assert "1 Praktikumsplatz" in _text(german)
    assert "PL-1" not in _text(german) + _html(german)
    assert "offer PL-1" in _text(english)
    assert "1 trainee(s)" in _text(english)
    assert "DE-1" not in _text(english) + _html(english)
    for message in (german, english):
        body = _text(message) + _html(message)
        for name in ("Ana", "Alves", "Bruno", "Berger", "Chloé"):
            assert name not in body
        assert "http://testserver/partner/placements" in body


def test_each_person_sees_the_mails_sent_to_him_or_her(
    app: FastAPI, engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """The German partner's page and API list its publication mail (delivered); the
    coordinator, mailed nothing, sees none, and the round's delivery state counts the
    partner's mail with the students'."""
    german, _polish, _british = _partners(engine)
    published = _published(engine, client)
    deliver_due(engine, settings)
    partner = session_headers(engine, german)

    mine = client.get("/api/me/mails", headers=partner)
    assert mine.status_code == 200, mine.text
    assert mine.json()["address"] == "kontakt@dfjw.example"
    (listed,) = mine.json()["mails"]
    assert listed["kind"] == "publication_partner"
    assert listed["status"] == "sent"
    assert "link" not in listed
    assert client.get("/api/me/mails", headers=published.coordinator).json()["mails"] == []

    with browser(app) as page:
        sign_in_as(page, engine, german)
        shown = page.get("/messages")
    assert shown.status_code == 200
    assert "Praktikantinnen und Praktikanten für Ihre Angebote" in shown.text
    assert "Angebot DE-1" in shown.text

    delivery = client.get(f"/api/rounds/{published.round_id}/mails", headers=published.coordinator)
    assert delivery.status_code == 200, delivery.text
    sent = [m for m in _outbox(engine) if m.status is MailStatus.SENT]
    assert delivery.json()["sent"] == len(sent) == 5  # Ana, Bruno, Chloé and two partners
    assert client.get(f"/api/rounds/{published.round_id}/mails", headers=partner).status_code == 403


def test_the_worker_delivers_the_outbox_and_stops_on_sigterm(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer, tmp_path: Path
) -> None:
    """`mobility-match worker`, as on PostgreSQL where the service leaves mail to it,
    delivers what a publish wrote, and ends cleanly when told to stop."""
    _published(engine, client)
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "MOBILITY_MATCH_SMTP_HOST": "127.0.0.1",
        "MOBILITY_MATCH_SMTP_PORT": str(smtp.port),
        "MOBILITY_MATCH_SMTP_SECURITY": "none",
        "MOBILITY_MATCH_MAIL_POLL_SECONDS": "0.2",
        "MOBILITY_MATCH_PUBLIC_URL": "http://testserver",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "mobility_match", "worker"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            len(smtp.received) >= 3 and all(m.status is MailStatus.SENT for m in _outbox(engine))
        ):
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    reached = {r for rcpt in smtp.recipients for r in rcpt}
    assert {"ana@eleves.example", "bruno@eleves.example", "chloe@eleves.example"} <= reached
    assert len(smtp.received) == len(_outbox(engine))  # each mail once
    assert all(m.status is MailStatus.SENT for m in _outbox(engine))
    assert "worker: stopped." in output


def test_the_service_delivers_mail_itself_on_sqlite_and_leaves_it_to_workers_on_postgresql() -> (
    None
):
    """Unset, the choice follows the database; set, it is obeyed."""
    assert Settings(database_url="sqlite:///x.db").mails_from_service
    assert not Settings(database_url="postgresql+psycopg://u:p@db/m").mails_from_service
    assert Settings(
        database_url="postgresql+psycopg://u:p@db/m", mail_in_service=True
    ).mails_from_service
    assert not Settings(database_url="sqlite:///x.db", mail_in_service=False).mails_from_service
