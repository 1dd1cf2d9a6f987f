"""Benchmark of the mail: publishing a 10,000-student round with mail, then delivering it.

Per run, on a fresh database (SQLite by default, or `--database-url` PostgreSQL,
emptied): the cohort of benchmarks/run.py imported, solved and its round published
through the API in-process, every student with an e-mail address and three partner
accounts. It reports:

- the publish request's wall time, and the part of it spent writing the outbox
  (`mail.enqueue_publication` timed again on its own, in a transaction rolled back);
- the mails written (one per student, one per partner account);
- the delivery of the whole outbox to a local SMTP server (aiosmtpd, in this
  process, accepting everything) by `deliver_due`, as the service's sender or
  `mobility-match worker` does: mails per second, and with `--senders 2` two senders
  at once (two threads, each its own claims), as two worker processes would.

    pip install -e '.[dev]'                             # aiosmtpd
    python benchmarks/mail.py                           # 10,000 students, SQLite
    python benchmarks/mail.py --size 1000 --runs 3
    python benchmarks/mail.py --database-url postgresql+psycopg://…/bench --senders 2

Each run prints its figures, then the worst of the runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SMTPSession
from fastapi.testclient import TestClient
from sqlalchemy import func, update
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohorts import benchmark_round
from service import PASSWORD, fresh_database

from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine
from mobility_match.demo import offers_frame, students_frame
from mobility_match.models import Account, OutboxMail, Role, Round, Student
from mobility_match.security import hash_password
from mobility_match.services import mail
from mobility_match.services.outbox import deliver_due


class Sink:
    """An SMTP server that accepts every mail and counts them."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(
        self, _server: SMTPServer, _session: SMTPSession, _envelope: Envelope
    ) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_once(size: int, seed: int, url: str | None, senders: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        database_url = fresh_database(url, folder)
        round_input = benchmark_round(size, seed=seed)
        port = _free_port()
        settings = Settings(
            database_url=database_url,
            upload_max_bytes=64 * 1024 * 1024,
            solve_time_limit=60.0,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            mail_in_service=False,
            public_url="http://127.0.0.1:8000",
        )
        app = create_app(settings)
        with TestClient(app) as api:
            login = {"username": "coordinator", "password": PASSWORD}
            token = api.post("/api/auth/login", json=login).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}

            def call(method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
                response = api.request(method, path, headers=headers, **kwargs)
                assert response.status_code == expected, response.text[:500]
                return response.json()

            for kind, frame in (
                ("offers", offers_frame(round_input.offers)),
                ("students", students_frame(round_input.students)),
            ):
                data = frame.to_csv(index=False).encode()
                call("POST", f"/api/imports/{kind}", files={"file": (f"{kind}.csv", data)})
            engine = app.state.engine
            with Session(engine) as session:
                # Every student reachable (the cohorts leave some addresses empty).
                session.execute(
                    update(Student).values(email=func.lower(Student.student_id) + "@eleves.example")
                )
                for partner in ("OFAJ", "ABC_WIEDZY", "BRITISH_COUNCIL"):
                    session.add(
                        Account(
                            username=f"{partner.lower()}@partner.example",
                            role=Role.PARTNER,
                            partner=partner,
                            password_hash=hash_password(PASSWORD),
                        )
                    )
                session.commit()
            round_id = call("POST", "/api/rounds", 201, json={"name": "mail"})["id"]
            call("POST", f"/api/rounds/{round_id}/solve", 202)
            while call("GET", f"/api/rounds/{round_id}")["status"] == "running":
                time.sleep(0.2)
            deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
            started = time.perf_counter()
            call("POST", f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline})
            publish = time.perf_counter() - started

        engine = make_engine(database_url)
        with Session(engine) as session:
            mails = session.exec(select(func.count()).select_from(OutboxMail)).one()
            round_ = session.get(Round, round_id)
            assert round_ is not None
            # The outbox's share of the publish: the same mails written again under their
            # keys (the stored rows renamed first), then rolled back.
            session.execute(update(OutboxMail).values(key=OutboxMail.key + ":old"))
            started = time.perf_counter()
            written = mail.enqueue_publication(session, round_, settings)
            session.flush()
            outbox = time.perf_counter() - started
            session.rollback()
        assert written.mails == mails, (written, mails)

        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            started = time.perf_counter()
            if senders == 1:
                done = [deliver_due(engine, settings)]
            else:
                with ThreadPoolExecutor(max_workers=senders) as pool:
                    done = list(pool.map(lambda _: deliver_due(engine, settings), range(senders)))
            delivery = time.perf_counter() - started
        finally:
            controller.stop()
            engine.dispose()
        sent = sum(d.sent for d in done)
        assert sent == mails == sink.count, (sent, mails, sink.count)
        return {
            "students": float(size),
            "mails": float(mails),
            "publish_s": publish,
            "outbox_s": outbox,
            "delivery_s": delivery,
            "mails_per_s": mails / delivery,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    results = []
    for number in range(arguments.runs):
        result = run_once(
            arguments.size, arguments.seed + number, arguments.database_url, arguments.senders
        )
        results.append(result)
        print(
            f"run {number + 1}: {result['students']:,.0f} students, {result['mails']:,.0f} mails; "
            f"publish {result['publish_s']:.2f} s, of which outbox {result['outbox_s']:.2f} s; "
            f"delivery {result['delivery_s']:.1f} s = {result['mails_per_s']:.0f} mails/s "
            f"({arguments.senders} sender(s))",
            flush=True,
        )
    if len(results) > 1:
        print(
            f"worst: publish {max(r['publish_s'] for r in results):.2f} s, outbox "
            f"{max(r['outbox_s'] for r in results):.2f} s, "
            f"{min(r['mails_per_s'] for r in results):.0f} mails/s"
        )


if __name__ == "__main__":
    main()
