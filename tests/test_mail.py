"""Mail: the outbox, its delivery to a real SMTP server (aiosmtpd, in this process), the
publication and invitation mails, and what the pages show of them.

The sender is driven by `deliver_due(now=…)`, so that retries need no sleeping; one
test lets the service's own thread deliver after a publish.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SMTPSession
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mobility_match import records
from mobility_match.cli import app as cli
from mobility_match.config import Settings, get_settings
from mobility_match.documents.formatting import long_date
from mobility_match.domain import Country
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    MailStatus,
    OutboxMail,
    Response,
    Role,
    School,
    SchoolKind,
    Student,
    utcnow,
)
from mobility_match.services import outbox
from mobility_match.services.outbox import Mail, deliver_due
from mobility_match.services.reminders import iso_week, send_reminders
from mobility_match.wording.catalogues import translations
from mobility_match.wording.reasons import reason_words
from tests.accounts import add_account, session_headers
from tests.factories import make_offer, make_student
from tests.pages import browser, new_signed_in, sign_in_as, submit
from tests.programme import wait_for_round

COMPANY = "Leipziger Handel GmbH"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    """A real SMTP server on a fixed port that can be stopped and started again."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    controller: Controller | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(
        self, _server: SMTPServer, _session: SMTPSession, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [
            m for m, rcpt in zip(self.received, self.recipients, strict=True) if address in rcpt
        ]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    """The test settings, mail through the test's SMTP server; the test drives the sender."""
    return Settings(
        database_url=database_url,
        public_url="http://testserver",
        solve_time_limit=20.0,
        mail_dir=tmp_path / "mail",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        mail_from="Programme de mobilité <mobilite@programme.example>",
        programme_name="Stages en Europe",
        mail_in_service=False,
    )


@dataclass(frozen=True)
class Round:
    round_id: int
    coordinator: dict[str, str]
    coordinator_id: int
    deadline: dt.date


def _store_programme(engine: Engine, company: str = COMPANY) -> None:
    """Two offers of one place; Ana and Bruno placed, Chloé (cuisine: no offer) unplaced, Dan
    (cuisine too) without an e-mail."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée Jean Moulin", kind=SchoolKind.PILOT))
        for offer in (
            make_offer("DE-1", company_name=company),
            make_offer("PL-1", country=Country.PL, city="Kraków", company_name="Krakowski Handel"),
        ):
            row, stored_company = records.offer_rows(offer)
            session.add(stored_company)
            session.flush()
            session.add(row)
        for student_id, first, last, trade, preferences, address in (
            ("S-A", "Ana", "Alves", "commerce", ("DE-1",), "ana@eleves.example"),
            ("S-B", "Bruno", "Berger", "commerce", ("PL-1",), "bruno@eleves.example"),
            ("S-C", "Chloé", "Chevalier", "cuisine", (), "chloe@eleves.example"),
            ("S-D", "Dan", "Dupuis", "cuisine", (), ""),
        ):
            student = records.student_row(
                make_student(
                    student_id,
                    first_name=first,
                    last_name=last,
                    trade=trade,
                    preferences=preferences,
                )
            )
            student.email = address
            session.add(student)
        session.commit()


def _solved_round(client: TestClient, coordinator: dict[str, str], name: str) -> int:
    created = client.post("/api/rounds", json={"name": name}, headers=coordinator)
    round_id: int = created.json()["id"]
    client.post(f"/api/rounds/{round_id}/solve", headers=coordinator).raise_for_status()
    assert wait_for_round(client, round_id, coordinator)["status"] == "solved"
    return round_id


def _publish(client: TestClient, coordinator: dict[str, str], round_id: int) -> Any:
    deadline = dt.date.today() + dt.timedelta(days=10)
    return client.post(
        f"/api/rounds/{round_id}/publish",
        json={"response_deadline": deadline.isoformat()},
        headers=coordinator,
    )


def _published(engine: Engine, client: TestClient, company: str = COMPANY) -> Round:
    _store_programme(engine, company)
    coordinator_id = add_account(engine, "coordinator@example.org", Role.COORDINATOR)
    coordinator = session_headers(engine, coordinator_id)
    round_id = _solved_round(client, coordinator, "Printemps")
    _publish(client, coordinator, round_id).raise_for_status()
    return Round(round_id, coordinator, coordinator_id, dt.date.today() + dt.timedelta(days=10))


def _round_page(app: FastAPI, engine: Engine, published: Round) -> str:
    with browser(app) as page:
        sign_in_as(page, engine, published.coordinator_id)
        shown = page.get(f"/coordinator/rounds/{published.round_id}")
    assert shown.status_code == 200, shown.text
    return shown.text


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _outbox(engine: Engine) -> list[OutboxMail]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMail).order_by(col(OutboxMail.id))).all())


def test_publishing_mails_each_student_with_an_email_once(
    app: FastAPI, engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """Each placed student gets company, city, country, dates, deadline and the link to the
    student page; the unplaced one the reason in words and what happens next; the student
    without an e-mail nothing, and the coordinator's round page counts him. A second run of
    the sender sends nothing more."""
    published = _published(engine, client)

    done = deliver_due(engine, settings)

    assert (done.sent, done.retrying, done.failed) == (3, 0, 0)
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [
        "ana@eleves.example",
        "bruno@eleves.example",
        "chloe@eleves.example",
    ]
    (ana,) = smtp.to("ana@eleves.example")
    text = _text(ana)
    assert ana["Subject"] == "Stages en Europe : votre stage à l'étranger"
    assert ana["From"].addresses[0].addr_spec == "mobilite@programme.example"
    for words in (COMPANY, "Leipzig", "Allemagne", "3 mai 2027", "11 juin 2027"):
        assert words in text, words
    assert f"avant le {long_date(published.deadline, 'fr')} inclus" in " ".join(text.split())
    assert "http://testserver/student" in text
    assert "http://testserver/student" in _html(ana)
    (bruno,) = smtp.to("bruno@eleves.example")
    assert "Krakowski Handel" in _text(bruno)
    assert "Pologne" in _text(bruno)
    (chloe,) = smtp.to("chloe@eleves.example")
    reason = reason_words("no_acceptable_offer", translations("fr").gettext)
    assert reason is not None
    assert reason.to_student in " ".join(_text(chloe).split())
    assert "Et ensuite ?" in _text(chloe)
    assert deliver_due(engine, settings, now=utcnow() + dt.timedelta(days=2)).sent == 0
    assert len(smtp.received) == 3
    assert {mail.status for mail in _outbox(engine)} == {MailStatus.SENT}

    page = _round_page(app, engine, published)
    assert "Messages de ce tour" in page
    assert re.search(r"sans adresse e-mail[^<]*</th><td class=\"number\">1<", page), page


def test_a_students_mail_never_holds_another_students_data(
    app: FastAPI, engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """Neither part of a student's mail names another student, another's company or
    address; the student sees the mail (date, subject, state) on his or her page."""
    _published(engine, client)
    deliver_due(engine, settings)
    own = {
        "ana@eleves.example": {"Ana", "Alves", COMPANY},
        "bruno@eleves.example": {"Bruno", "Berger", "Krakowski Handel"},
        "chloe@eleves.example": {"Chloé", "Chevalier"},
    }
    everything = set().union(*own.values()) | {"Dan", "Dupuis"}
    everything |= set(own)
    for address, mine in own.items():
        (message,) = smtp.to(address)
        whole = _text(message) + _html(message) + str(message["To"])
        others = [word for word in everything - mine - {address} if word in whole]
        assert not others, (address, others)
    with browser(app) as student:
        new_signed_in(student, engine, "S-A", Role.STUDENT, student_id="S-A")
        page = student.get("/student").text
    assert "E-mails reçus" in page
    assert "votre stage à l&#39;étranger" in page
    assert "résultat du tour" not in page  # Chloé's mail is not Ana's


def test_a_refused_publish_mails_nobody(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """A publish refused because another round is the published one writes no mail."""
    published = _published(engine, client)
    other = _solved_round(client, published.coordinator, "Autre tour")

    refused = _publish(client, published.coordinator, other)

    assert refused.status_code == 409, refused.text
    assert {mail.round_id for mail in _outbox(engine)} == {published.round_id}
    assert deliver_due(engine, settings).sent == 3


def test_server_down_during_publish_then_up_delivers_every_mail_once(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """With the SMTP server down, each mail waits 1 minute, then 5…; once the server is up
    again, each mail arrives exactly once."""
    smtp.stop()
    _published(engine, client)
    now = utcnow()

    first = deliver_due(engine, settings, now=now)

    assert (first.sent, first.retrying) == (0, 3)
    mails = _outbox(engine)
    assert {(m.status, m.attempts) for m in mails} == {(MailStatus.QUEUED, 1)}
    assert all(m.last_error for m in mails)
    assert deliver_due(engine, settings, now=now + dt.timedelta(seconds=30)).retrying == 0
    second = deliver_due(engine, settings, now=now + dt.timedelta(seconds=61))
    assert second.retrying == 3
    assert {m.attempts for m in _outbox(engine)} == {2}
    smtp.start()
    assert deliver_due(engine, settings, now=now + dt.timedelta(minutes=3)).sent == 0  # 5 min
    third = deliver_due(engine, settings, now=now + dt.timedelta(minutes=7))
    assert third.sent == 3
    assert deliver_due(engine, settings, now=now + dt.timedelta(days=3)).sent == 0
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [
        "ana@eleves.example",
        "bruno@eleves.example",
        "chloe@eleves.example",
    ]
    assert {(m.status, m.attempts, m.last_error) for m in _outbox(engine)} == {
        (MailStatus.SENT, 3, "")
    }


def test_a_mail_never_accepted_fails_and_the_coordinator_sees_who(
    app: FastAPI, engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """After the last attempt (about a day of growing delays), the mail is failed; the
    round's page lists the students not reached with the error."""
    smtp.stop()
    published = _published(engine, client)
    now = utcnow()
    for attempt in range(outbox.MAX_ATTEMPTS):
        done = deliver_due(engine, settings, now=now + dt.timedelta(days=attempt))
    assert done.failed == 3
    assert {(m.status, m.attempts) for m in _outbox(engine)} == {
        (MailStatus.FAILED, outbox.MAX_ATTEMPTS)
    }
    smtp.start()
    assert deliver_due(engine, settings, now=now + dt.timedelta(days=30)).sent == 0
    page = _round_page(app, engine, published)
    assert "Personnes non jointes" in page
    assert "chloe@eleves.example" in page
    assert "Connection" in page or "refused" in page.lower(), page


def test_two_senders_at_once_deliver_each_mail_once(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    """Two senders running together on the same outbox never send a mail twice."""
    with Session(engine) as session:
        for number in range(60):
            outbox.enqueue(
                session,
                Mail(
                    key=f"test:{number}",
                    kind="test",
                    audience="student",
                    recipient=f"eleve{number}@eleves.example",
                    recipient_name="",
                    language="fr",
                    subject=f"Message {number}",
                    text_body="Bonjour",
                    html_body="<p>Bonjour</p>",
                ),
            )
        assert not outbox.enqueue(  # the same key again is a no-op
            session,
            Mail("test:0", "test", "student", "x@eleves.example", "", "fr", "Encore", "", ""),
        )
        session.commit()
    results: list[outbox.Delivery] = []

    def sender() -> None:
        results.append(deliver_due(engine, settings, batch=5))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    subjects = sorted(str(m["Subject"]) for m in smtp.received)
    assert subjects == sorted(f"Message {n}" for n in range(60))
    assert sum(r.sent for r in results) == 60


def test_a_script_in_a_company_name_is_inert_in_the_html_part(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """Free text is escaped in the HTML part (and plain in the text part)."""
    company = '<script>alert("x")</script> Handel & Söhne'
    _published(engine, client, company)
    deliver_due(engine, settings)
    (ana,) = smtp.to("ana@eleves.example")
    html = _html(ana)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Handel &amp; Söhne" in html
    assert company in _text(ana)


def test_without_an_smtp_host_mails_are_written_as_eml_files(
    engine: Engine, client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """No SMTP host: each mail is an .eml file in the mail folder, text and HTML."""
    local = settings.model_copy(update={"smtp_host": "", "mail_dir": tmp_path / "eml"})
    _published(engine, client)

    assert deliver_due(engine, local).sent == 3

    files = sorted((tmp_path / "eml").glob("*.eml"))
    assert len(files) == 3
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    assert {str(m["To"]).split("<")[-1].rstrip(">") for m in parsed} == {
        "ana@eleves.example",
        "bruno@eleves.example",
        "chloe@eleves.example",
    }
    assert all(isinstance(m, EmailMessage) and m.get_body(("html",)) for m in parsed)


def test_an_invitation_mails_the_link_to_the_student_and_a_notice_to_the_guardian(
    app: FastAPI, engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    """A teacher's invitation of a minor with an e-mail: the page says where it was sent;
    the student's mail holds the working link, the guardian's notice no link; the link is
    not kept once the mail is delivered."""
    with Session(engine) as session:
        session.add(School(school_id="LP-A", name="Lycée Jean Moulin", kind=SchoolKind.PILOT))
        row = records.student_row(
            make_student(
                "S-M",
                first_name="Inès",
                last_name="Moreau",
                birth_date=dt.date.today() - dt.timedelta(days=16 * 365),
            )
        )
        row.email = "ines@eleves.example"
        row.extra = {"guardian_name": "Sofia Moreau", "guardian_email": "sofia@famille.example"}
        session.add(row)
        session.commit()
    with browser(app) as teacher:
        new_signed_in(teacher, engine, "teacher@example.org", Role.TEACHER, school_id="LP-A")
        shown = submit(teacher, "/teacher/students/S-M/invitation", page="/teacher/students/S-M")
        assert shown.status_code == 200, shown.text
    assert "ines@eleves.example" in shown.text
    assert "sofia@famille.example" in shown.text
    link = re.search(r"http://testserver/invite/[A-Za-z0-9_-]+", shown.text)
    assert link is not None
    (queued_student, _guardian) = _outbox(engine)
    assert link.group(0).rsplit("/", 1)[1] not in queued_student.text_body

    assert deliver_due(engine, settings).sent == 2

    (student_mail,) = smtp.to("ines@eleves.example")
    assert link.group(0) in _text(student_mail)
    assert f'href="{link.group(0)}"' in _html(student_mail)
    (notice,) = smtp.to("sofia@famille.example")
    assert "/invite/" not in _text(notice) + _html(notice)
    assert "Inès MOREAU" in _text(notice)
    assert all(mail.link is None for mail in _outbox(engine))
    with browser(app) as student:
        assert student.get(link.group(0).removeprefix("http://testserver")).status_code == 200


def test_the_service_delivers_by_itself_right_after_a_publish(
    engine: Engine, settings: Settings, smtp: SmtpServer
) -> None:
    """The service's sender thread is woken by the publish's commit (its poll is a minute)."""
    from mobility_match.api.app import create_app  # noqa: PLC0415

    running = settings.model_copy(update={"mail_in_service": True, "mail_poll_seconds": 60.0})
    with TestClient(create_app(running, engine)) as client:
        started = time.monotonic()
        _published(engine, client)
        while len(smtp.received) < 3 and time.monotonic() - started < 20:
            time.sleep(0.05)
    assert len(smtp.received) == 3


def test_send_mail_delivers_what_is_due_once(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mobility-match send-mail` (cron, a worker) delivers the due mails, then nothing."""
    with Session(engine) as session:
        outbox.enqueue(
            session,
            Mail(
                "test:cli", "test", "student", "ana@eleves.example", "Ana", "fr", "Bonjour", "", ""
            ),
        )
        session.commit()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MOBILITY_MATCH_MAIL_DIR", str(tmp_path / "cron"))
    monkeypatch.delenv("MOBILITY_MATCH_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli, ["send-mail"])
        again = CliRunner().invoke(cli, ["send-mail"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert "1 mails delivered" in first.output
    assert "0 mails delivered" in again.output
    assert len(list((tmp_path / "cron").glob("*.eml"))) == 1


# ---- reminders, withdrawal, re-run ---------------------------------------------------------


def _two_schools(engine: Engine) -> None:
    """The programme of `_published`, with Ana moved to a second school, a teacher in each
    school and a coordinator who can be mailed."""
    _store_programme(engine)
    with Session(engine) as session:
        session.add(School(school_id="LP-B", name="Lycée Marie Curie", kind=SchoolKind.PILOT))
        session.flush()
        ana = session.get(Student, "S-A")
        assert ana is not None
        ana.school_id = "LP-B"
        session.add(ana)
        session.commit()
    add_account(engine, "prof.a@lycee-a.example", Role.TEACHER, school_id="LP-A")
    add_account(engine, "prof.b@lycee-b.example", Role.TEACHER, school_id="LP-B")


def _publish_two_schools(engine: Engine, client: TestClient) -> Round:
    _two_schools(engine)
    coordinator_id = add_account(engine, "coordination@programme.example", Role.COORDINATOR)
    coordinator = session_headers(engine, coordinator_id)
    round_id = _solved_round(client, coordinator, "Printemps")
    _publish(client, coordinator, round_id).raise_for_status()
    return Round(round_id, coordinator, coordinator_id, dt.date.today() + dt.timedelta(days=10))


def _remind(engine: Engine, settings: Settings, today: dt.date) -> int:
    with Session(engine) as session:
        return send_reminders(session, settings, today).total


def _kinds_to(smtp: SmtpServer, address: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(address)]


def test_deadline_reminders_go_3_and_1_days_before_to_those_who_have_not_answered_once(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """Bruno (placed, no answer) is reminded 3 days and 1 day before the deadline, once
    each however often the job runs; Ana, who confirmed, and Chloé, unplaced, are not."""
    published = _publish_two_schools(engine, client)
    with Session(engine) as session:
        ana = session.exec(
            select(Assignment).where(
                Assignment.round_id == published.round_id, Assignment.student_id == "S-A"
            )
        ).one()
        ana.response = Response.CONFIRMED
        session.add(ana)
        # No checklist step is due: only the deadline is reminded of here.
        for step in session.exec(select(ChecklistStep)):
            step.due_on = published.deadline + dt.timedelta(days=60)
            session.add(step)
        session.commit()
    deliver_due(engine, settings)
    smtp.received.clear()
    smtp.recipients.clear()

    for days in (4, 3, 3, 2, 1, 1, 0):
        _remind(engine, settings, published.deadline - dt.timedelta(days=days))
        deliver_due(engine, settings)
    _remind(engine, settings, published.deadline - dt.timedelta(days=3))
    deliver_due(engine, settings, now=utcnow() + dt.timedelta(days=1))

    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == ["bruno@eleves.example"] * 2
    first, second = smtp.to("bruno@eleves.example")
    deadline = long_date(published.deadline, "fr")
    assert first["Subject"] == f"Stages en Europe : répondez avant le {deadline}"
    assert "Il vous reste 3 jours" in _text(first)
    assert "Il vous reste jusqu'à demain" in _text(second)
    for message in (first, second):
        assert "Krakowski Handel" in _text(message)
        assert "Ana" not in _text(message) + _html(message)
        assert "http://testserver/student" in _html(message)


def test_steps_reminders_and_digests_are_weekly_and_each_school_sees_its_own(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """A week's run mails each placed student his or her own steps due within 7 days or
    overdue, each teacher the steps of the school's students and no other school's, the
    coordinator a count per school; the same week again, nothing more."""
    _publish_two_schools(engine, client)
    today = dt.date(2027, 3, 10)
    with Session(engine) as session:
        steps = session.exec(select(ChecklistStep).order_by(col(ChecklistStep.id))).all()
        assert {step.student_id for step in steps} == {"S-A", "S-B"}
        titles: dict[str, list[str]] = {"S-A": [], "S-B": []}
        for step in steps:
            step.due_on = today + dt.timedelta(days=60)
            session.add(step)
        own = [s for s in steps if s.who == "student"]
        ana_late = next(s for s in own if s.student_id == "S-A")
        ana_late.due_on = today - dt.timedelta(days=2)
        bruno_due = next(s for s in own if s.student_id == "S-B")
        bruno_due.due_on = today + dt.timedelta(days=5)
        bruno_done = next(s for s in own if s.student_id == "S-B" and s is not bruno_due)
        bruno_done.due_on = today - dt.timedelta(days=1)
        bruno_done.done_at = utcnow()
        titles["S-A"].append(ana_late.title)
        titles["S-B"].append(bruno_due.title)
        session.add_all([ana_late, bruno_due, bruno_done])
        session.commit()
        done_title = bruno_done.title
    deliver_due(engine, settings)
    smtp.received.clear()
    smtp.recipients.clear()

    first = _remind(engine, settings, today)
    again = _remind(engine, settings, today + dt.timedelta(days=1))  # same ISO week
    deliver_due(engine, settings)

    assert (first, again) == (5, 0)
    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [
        "ana@eleves.example",
        "bruno@eleves.example",
        "coordination@programme.example",
        "prof.a@lycee-a.example",
        "prof.b@lycee-b.example",
    ]
    (ana,) = smtp.to("ana@eleves.example")
    assert "En retard" in _text(ana)
    assert titles["S-A"][0] in _text(ana)
    assert "Bruno" not in _text(ana) + _html(ana)
    (bruno,) = smtp.to("bruno@eleves.example")
    assert "À faire dans les 7 jours" in _text(bruno)
    assert titles["S-B"][0] in _text(bruno)
    assert "En retard" not in _text(bruno)  # his overdue step is done
    if done_title != titles["S-B"][0]:
        assert done_title not in _text(bruno)
    (teacher_a,) = smtp.to("prof.a@lycee-a.example")
    assert (
        teacher_a["Subject"]
        == f"Stages en Europe : étapes de préparation, semaine {iso_week(today)}"
    )
    assert "Bruno Berger" in _text(teacher_a)
    assert titles["S-B"][0] in _text(teacher_a)
    assert "Ana" not in _text(teacher_a) + _html(teacher_a)
    (teacher_b,) = smtp.to("prof.b@lycee-b.example")
    assert "Ana Alves" in _text(teacher_b)
    assert "en retard" in _text(teacher_b)
    assert "Bruno" not in _text(teacher_b) + _html(teacher_b)
    (coordinator,) = smtp.to("coordination@programme.example")
    text = " ".join(_text(coordinator).split())
    assert "Lycée Jean Moulin : 0 étape(s) en retard (0 élève(s)), 1 à faire" in text
    assert "Lycée Marie Curie : 1 étape(s) en retard (1 élève(s)), 0 à faire" in text

    assert _remind(engine, settings, today + dt.timedelta(days=7)) == 5  # the next week


def test_reminders_command_writes_each_reminder_once(
    engine: Engine, client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mobility-match reminders --today` writes the day's reminders; run again, none; a
    wrong date names the option and the form."""
    published = _publish_two_schools(engine, client)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MOBILITY_MATCH_MAIL_DIR", str(settings.mail_folder))
    get_settings.cache_clear()
    day = (published.deadline - dt.timedelta(days=1)).isoformat()
    try:
        first = CliRunner().invoke(cli, ["reminders", "--today", day])
        second = CliRunner().invoke(cli, ["reminders", "--today", day])
        wrong = CliRunner().invoke(cli, ["reminders", "--today", "31/12/2027"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert "response deadlines" in first.output
    assert first.output.split()[0] != "0"
    assert second.output.split()[0] == "0", second.output
    assert wrong.exit_code != 0
    assert "--today" in wrong.output
    assert "YYYY-MM-DD" in wrong.output


def test_a_withdrawal_mails_the_students_concerned_and_their_teacher(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """Withdrawing Ana's offer mails Ana (company, what happens next) and her school's
    teacher (her name); Bruno, his teacher and the coordinator get nothing."""
    published = _publish_two_schools(engine, client)
    deliver_due(engine, settings)
    smtp.received.clear()
    smtp.recipients.clear()

    client.post("/api/offers/DE-1/withdraw", headers=published.coordinator).raise_for_status()
    deliver_due(engine, settings)

    assert sorted(r for rcpt in smtp.recipients for r in rcpt) == [
        "ana@eleves.example",
        "prof.b@lycee-b.example",
    ]
    (ana,) = smtp.to("ana@eleves.example")
    assert ana["Subject"] == "Stages en Europe : votre stage est annulé par l'entreprise"
    assert COMPANY in _text(ana)
    assert "Et ensuite ?" in _text(ana)
    (teacher,) = smtp.to("prof.b@lycee-b.example")
    assert "Ana Alves" in _text(teacher)
    assert "DE-1" in _text(teacher)
    assert "Bruno" not in _text(teacher) + _html(teacher)


def test_a_rerun_mails_only_the_students_whose_placement_changed(
    engine: Engine, client: TestClient, settings: Settings, smtp: SmtpServer
) -> None:
    """After Ana's offer is withdrawn, the re-run leaves her unplaced and keeps Bruno on
    his offer: its publication mails Ana only; Bruno and Chloé (unplaced both times)
    hear nothing."""
    published = _publish_two_schools(engine, client)
    client.post("/api/offers/DE-1/withdraw", headers=published.coordinator).raise_for_status()
    deliver_due(engine, settings)
    smtp.received.clear()
    smtp.recipients.clear()

    created = client.post(
        f"/api/rounds/{published.round_id}/rerun", json={}, headers=published.coordinator
    )
    assert created.status_code < 300, created.text
    rerun: int = created.json()["id"]
    client.post(f"/api/rounds/{rerun}/solve", headers=published.coordinator).raise_for_status()
    assert wait_for_round(client, rerun, published.coordinator)["status"] == "solved"
    published_rerun = _publish(client, published.coordinator, rerun)
    assert published_rerun.status_code == 200, published_rerun.text
    deliver_due(engine, settings)

    assert [r for rcpt in smtp.recipients for r in rcpt] == ["ana@eleves.example"]
    (ana,) = smtp.to("ana@eleves.example")
    assert "Votre affectation change" in _text(ana)


def test_the_mail_code_does_not_import_the_web_layer() -> None:
    """services/mail.py and services/reminders.py work without the web layer (they take
    the reason words and catalogues from mobility_match.wording)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mobility_match.services.mail, mobility_match.services.reminders; "
            "print(sorted(m for m in sys.modules if m.startswith('mobility_match.web')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
