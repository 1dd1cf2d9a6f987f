"""The outbox: mails written in the transaction that causes them, delivered once each.

`enqueue` adds a rendered mail to the caller's transaction (nothing is sent if it rolls
back; the same key twice is one mail). `deliver_due` claims the mails that are due
with a compare-and-set (and `FOR UPDATE SKIP LOCKED` on PostgreSQL), so that any
number of senders, threads or processes, never take the same mail; it marks each sent
in its own transaction once the SMTP server accepted it, or schedules the next attempt
after a growing delay, up to MAX_ATTEMPTS, then marks it failed for a coordinator to
see. A sender that dies while holding mails gives them back when its claim expires
(the mail may then go twice; its Message-ID stays the same, so mail programs can tell).

Without an SMTP host, mails are written as .eml files to the mail folder instead.
`MailSender` runs `deliver_due` on a thread of the service, every few seconds and
right after a commit that enqueued mail. No HTTP and no templates here (services/mail.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from html import escape
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Engine, event, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from mobility_match.config import Settings
from mobility_match.db import read_only
from mobility_match.models import MailStatus, OutboxMail, utcnow

log = logging.getLogger(__name__)

RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
    dt.timedelta(hours=12),
)
"""The wait before each new attempt after a failed one."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
"""After this many failed attempts (about 21 hours), a mail is marked failed."""
CLAIM = dt.timedelta(minutes=10)
"""How long a sender holds the mails it claimed; another takes them over after that."""
BATCH = 50
SMTP_TIMEOUT = 30.0
LINK = "[[link]]"
"""Where the link kept apart (`OutboxMail.link`) goes in a mail's bodies."""

_ENQUEUED = "mobility_match_mail_enqueued"
_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


@dataclass(frozen=True)
class Mail:
    """A rendered mail, ready to be written to the outbox."""

    key: str
    kind: str
    audience: str
    recipient: str
    recipient_name: str
    language: str
    subject: str
    text_body: str
    html_body: str
    round_id: int | None = None
    student_id: str | None = None
    account_id: int | None = None
    link: str | None = None


def enqueue(session: Session, mail: Mail) -> bool:
    """Write `mail` to the outbox in the caller's transaction (the caller commits); False
    when a mail with its key was already written (nothing changes then)."""
    return enqueue_all(session, [mail]) == 1


INSERT_ROWS = 500
"""Mails written by one INSERT statement (a publication writes thousands)."""


def enqueue_all(session: Session, mails: Sequence[Mail]) -> int:
    """Write `mails` to the outbox in the caller's transaction (the caller commits), a few
    hundred rows per statement; those whose key was already written change nothing. How
    many were written."""
    now = utcnow()
    rows = [
        {
            "key": mail.key,
            "kind": mail.kind,
            "audience": mail.audience,
            "recipient": mail.recipient,
            "recipient_name": mail.recipient_name,
            "language": mail.language,
            "subject": " ".join(mail.subject.split())[:300],
            "text_body": mail.text_body,
            "html_body": mail.html_body,
            "link": mail.link,
            "round_id": mail.round_id,
            "student_id": mail.student_id,
            "account_id": mail.account_id,
            "status": MailStatus.QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for mail in mails
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    written = 0
    for start in range(0, len(rows), INSERT_ROWS):
        statement = (
            insert(OutboxMail)
            .values(rows[start : start + INSERT_ROWS])
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(OutboxMail.id))
        )
        written += len(session.execute(statement).all())
    if written:
        session.info[_ENQUEUED] = True
    return written


@event.listens_for(Session, "after_commit")
def _wake_senders(session: Session) -> None:
    """After a commit that wrote mail, the senders of this process look at once."""
    if session.info.pop(_ENQUEUED, False):
        with _wakers_lock:
            for waker in _wakers:
                waker.set()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


# ---- delivering ---------------------------------------------------------------------------


class Transport(Protocol):
    """Where mails go: an SMTP server, or a folder."""

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class Permanent(Exception):
    """The mail can never be delivered as it is (the address is refused or invalid)."""


class FolderTransport:
    """Writes each mail as an .eml file (what a test or another program picks up)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        name = str(message["X-Outbox-File"])
        del message["X-Outbox-File"]
        temporary = self.folder / f".{name}.tmp"
        temporary.write_bytes(bytes(message))
        os.replace(temporary, self.folder / name)

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection for a batch, opened when the first mail goes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        host, port = settings.smtp_host, settings.smtp_port_used
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        return smtp

    def send(self, message: EmailMessage) -> None:
        del message["X-Outbox-File"]
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _text in refused.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise Permanent(_smtp_error(refused)) from refused
            raise
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as refused:
            self._smtp = None  # the session may be in any state: start a new one
            raise refused

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _smtp_error(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text(text)}" for code, text in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def transport_for(settings: Settings) -> Transport:
    """SMTP when a host is set, else the mail folder."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FolderTransport(settings.mail_folder)


def message_of(mail: OutboxMail, settings: Settings) -> EmailMessage:
    """The MIME message of an outbox row: plain text and HTML alternatives; its Message-ID
    comes from its key, so that a mail delivered again is recognisably the same."""
    sender_name, sender_address = parseaddr(settings.mail_from)
    domain = sender_address.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    try:
        message["From"] = Address(sender_name, addr_spec=sender_address)
        message["To"] = Address(mail.recipient_name, addr_spec=mail.recipient.strip())
    except (ValueError, IndexError) as error:
        raise Permanent(f"{mail.recipient!r} is not a valid e-mail address") from error
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    digest = hashlib.sha256(mail.key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Outbox-File"] = f"{mail.created_at:%Y%m%d}-{mail.id:08d}-{mail.kind}.eml"
    link = mail.link or ""
    message.set_content(mail.text_body.replace(LINK, link))
    message.add_alternative(mail.html_body.replace(LINK, escape(link)), subtype="html")
    return message


@dataclass(frozen=True)
class Delivery:
    """What one run of `deliver_due` did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __add__(self, other: Delivery) -> Delivery:
        return Delivery(
            self.sent + other.sent, self.retrying + other.retrying, self.failed + other.failed
        )


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return (
        (col(OutboxMail.status) == MailStatus.QUEUED)
        & (col(OutboxMail.next_attempt_at) <= now)
        & (col(OutboxMail.claimed_until).is_(None) | (col(OutboxMail.claimed_until) <= now))
    )


def _claim(engine: Engine, now: dt.datetime, limit: int, claimer: str) -> list[OutboxMail]:
    """Take up to `limit` due mails for `claimer`; none that another sender holds."""
    with Session(read_only(engine)) as session:  # on SQLite: no write lock while idle
        anything = session.exec(select(OutboxMail.id).where(_due(now)).limit(1)).first()
        session.commit()
    if anything is None:
        return []
    with Session(engine, expire_on_commit=False) as session:
        candidates = session.exec(
            select(OutboxMail.id)
            .where(_due(now))
            .order_by(col(OutboxMail.next_attempt_at), col(OutboxMail.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not candidates:
            session.commit()
            return []
        # Compare-and-set: only mails still due (not taken meanwhile) become ours.
        session.execute(
            update(OutboxMail)
            .where(col(OutboxMail.id).in_(candidates), _due(now))
            .values(claimed_by=claimer, claimed_until=now + CLAIM)
        )
        session.commit()
        mails = session.exec(
            select(OutboxMail)
            .where(col(OutboxMail.id).in_(candidates), col(OutboxMail.claimed_by) == claimer)
            .order_by(col(OutboxMail.id))
        ).all()
        session.commit()
        return list(mails)


def _mark_sent(engine: Engine, mail_id: int, claimer: str, now: dt.datetime) -> None:
    with Session(engine) as session:
        session.execute(
            update(OutboxMail)
            .where(col(OutboxMail.id) == mail_id, col(OutboxMail.claimed_by) == claimer)
            .values(
                status=MailStatus.SENT,
                sent_at=now,
                attempts=OutboxMail.attempts + 1,
                link=None,
                claimed_by=None,
                claimed_until=None,
                last_error="",
            )
        )
        session.commit()


def _mark_failed(
    engine: Engine, mail: OutboxMail, claimer: str, now: dt.datetime, error: str, *, final: bool
) -> bool:
    """Record a failed attempt; True when the mail is given up (failed for good)."""
    attempts = mail.attempts + 1
    given_up = final or attempts >= MAX_ATTEMPTS
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_error": error[:1000],
        "claimed_by": None,
        "claimed_until": None,
    }
    if given_up:
        values.update(status=MailStatus.FAILED, link=None)
    else:
        values["next_attempt_at"] = now + RETRY_DELAYS[attempts - 1]
    with Session(engine) as session:
        session.execute(
            update(OutboxMail)
            .where(col(OutboxMail.id) == mail.id, col(OutboxMail.claimed_by) == claimer)
            .values(**values)
        )
        session.commit()
    return given_up


def _deliver_batch(
    engine: Engine, settings: Settings, mails: Iterable[OutboxMail], claimer: str, now: dt.datetime
) -> Delivery:
    sent = retrying = failed = 0
    transport = transport_for(settings)
    pending = list(mails)
    try:
        for index, mail in enumerate(pending):
            assert mail.id is not None
            try:
                transport.send(message_of(mail, settings))
            except Permanent as error:
                _mark_failed(engine, mail, claimer, now, str(error), final=True)
                failed += 1
                continue
            except (smtplib.SMTPException, OSError) as error:
                # The server is down or refuses for now: this mail and the rest of the batch
                # wait for their next attempt (a new connection then).
                reason = _smtp_error(error)
                log.warning("mail delivery failed, will retry: %s", reason)
                for waiting in pending[index:]:
                    if _mark_failed(engine, waiting, claimer, now, reason, final=False):
                        failed += 1
                    else:
                        retrying += 1
                break
            _mark_sent(engine, mail.id, claimer, now)
            sent += 1
    finally:
        transport.close()
    return Delivery(sent, retrying, failed)


def deliver_due(
    engine: Engine, settings: Settings, *, now: dt.datetime | None = None, batch: int = BATCH
) -> Delivery:
    """Deliver every mail due at `now` (default: the current time), batch after batch, and
    say how many were sent, wait for another attempt, or failed for good."""
    moment = now or utcnow()
    claimer = secrets.token_hex(8)
    done = Delivery()
    while True:
        mails = _claim(engine, moment, batch, claimer)
        if not mails:
            return done
        done += _deliver_batch(engine, settings, mails, claimer, moment)


Daily = Callable[[Engine, Settings, dt.date], None]


class MailSender:
    """Delivers the outbox from a thread of this process: every `mail_poll_seconds`, and at
    once after a commit that enqueued mail (in this process). With `daily`, also calls it
    once a day (at start, then when the date changes) before delivering: the reminders,
    whose keys make a run in several processes write each mail once."""

    def __init__(self, engine: Engine, settings: Settings, daily: Daily | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.daily = daily
        self._last_day: dt.date | None = None
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        with _wakers_lock:
            _wakers.add(self._wake)
        self._thread = threading.Thread(target=self._run, daemon=True, name="mail-sender")
        self._thread.start()

    def shutdown(self) -> None:
        """Stop after the mail being delivered (at most one SMTP timeout)."""
        self._closing.set()
        self._wake.set()
        with _wakers_lock:
            _wakers.discard(self._wake)
        if self._thread is not None:
            self._thread.join(timeout=SMTP_TIMEOUT + 5)
            self._thread = None

    def _run(self) -> None:
        self._wake.set()  # look once at start: mails left by a previous run
        while not self._closing.is_set():
            self._wake.wait(self.settings.mail_poll_seconds)
            self._wake.clear()
            if self._closing.is_set():
                return
            today = utcnow().date()
            if self.daily is not None and self._last_day != today:
                self._last_day = today
                self.daily(self.engine, self.settings, today)
            try:
                deliver_due(self.engine, self.settings)
            except Exception:  # a busy database: the next round tries again
                log.exception("delivering mail failed")
