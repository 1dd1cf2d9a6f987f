"""Benchmark of the evaluation: the indicators and the pseudonymised export of 20,000 graduates.

Per run, on a fresh database (SQLite by default, or `--database-url` PostgreSQL,
emptied): 16 schools (8 pilot, 8 control) and `--size` graduates of one cohort
spread over them, inserted directly in multi-row inserts; for the pilot schools' graduates
a published round (90 % eligible, 70 % placed) and placement outcomes (85 % completed,
10 % interrupted); for every graduate follow-up answers at 6 and 12 months (70 % and
60 % answering). It then times, in this process:

- `indicators`: services.indicators.indicators (the four queries and the tally), and
  `GET /api/evaluation/indicators` through the application (JSON);
- `export`: services.pseudonymised.export (one row per graduate, pseudonyms made), and
  `GET /api/evaluation/export.csv` and `.xlsx` through the application.

Targets: indicators under 1 s, the export under 5 s.

    python benchmarks/evaluation.py                       # 20,000 graduates, SQLite
    python benchmarks/evaluation.py --size 2000 --runs 3
    python benchmarks/evaluation.py --database-url postgresql+psycopg://…/bench

Each run prints its figures, then the worst of the runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine, migrate
from mobility_match.domain import Sector, load_vocabulary
from mobility_match.models import (
    Account,
    AnswerSource,
    Assignment,
    CredentialKind,
    FollowUpAnswer,
    InterruptionReason,
    PlacementOutcome,
    PlacementOutcomeKind,
    Response,
    Role,
    Round,
    RoundStatus,
    School,
    SchoolKind,
    Situation,
    Student,
)
from mobility_match.services import indicators, pseudonymised
from mobility_match.services.reference import ensure_partners
from mobility_match.services.sessions import issue_credential

SCHOOLS = 16
COHORT = 2025
BATCH = 2000
SITUATIONS = list(Situation)
WEIGHTS = [30, 15, 8, 10, 3, 14, 12, 5, 3]
"""How often each situation is answered (permanent contract … unknown)."""


def fresh_engine(url: str | None, folder: Path) -> Engine:
    """An empty, migrated database: a new SQLite file, or the PostgreSQL URL emptied."""
    engine = make_engine(url or f"sqlite:///{folder / 'evaluation.db'}")
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    with Session(engine) as session:
        ensure_partners(session)
    return engine


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start : start + BATCH])


def populate(engine: Engine, size: int, seed: int = 1) -> None:
    """The schools, graduates, round, assignments, outcomes and answers, in bulk."""
    pick = random.Random(seed)
    trades = load_vocabulary().trades
    codes = sorted(trades)
    with Session(engine) as session:
        schools = [
            {
                "school_id": f"LP-{n:02d}",
                "name": f"Lycée {n:02d}",
                "kind": SchoolKind.PILOT if n % 2 else SchoolKind.CONTROL,
                "address": "",
                "city": "",
                "contact_name": "",
                "contact_email": "",
                "phone": "",
            }
            for n in range(1, SCHOOLS + 1)
        ]
        _insert(session, School, schools)
        round_ = Round(name="Bench", status=RoundStatus.PUBLISHED)
        session.add(round_)
        session.flush()
        assert round_.id is not None
        students: list[dict[str, Any]] = []
        assignments: list[dict[str, Any]] = []
        outcomes: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        now = dt.datetime.now(dt.UTC)
        for n in range(size):
            student_id = f"E{n:06d}"
            school = schools[n % SCHOOLS]
            gender = pick.choices("FMX", weights=[48, 50, 2])[0]
            trade = pick.choice(codes)
            students.append(
                {
                    "student_id": student_id,
                    "first_name": f"Prénom{n}",
                    "last_name": f"Nom{n}",
                    "email": f"e{n}@eleves.example",
                    "gender": gender,
                    "birth_date": dt.date(2006, 1 + n % 12, 1 + n % 28),
                    "school_id": school["school_id"],
                    "diploma": pick.choice(["CAP", "BAC_PRO"]),
                    "trade": trade,
                    "languages": {},
                    "available_from": dt.date(2026, 4, 1),
                    "available_to": dt.date(2026, 7, 31),
                    "preferences": [],
                    "extra": {},
                    "version": 1,
                    "updated_at": now,
                    "cohort": COHORT,
                }
            )
            if school["kind"] is SchoolKind.PILOT:
                eligible = pick.random() < 0.9
                placed = eligible and pick.random() < 0.78
                offer = f"DE-{n % 500:03d}" if placed else None
                assignments.append(
                    {
                        "round_id": round_.id,
                        "student_id": student_id,
                        "first_name": f"Prénom{n}",
                        "last_name": f"Nom{n}",
                        "school_id": school["school_id"],
                        "gender": gender,
                        "trade": trade,
                        "sector": trades[trade].sector.value
                        if trade in trades
                        else Sector.SERVICES.value,
                        "eligible": eligible,
                        "offer_id": offer,
                        "company_name": "",
                        "country": "DE" if placed else "",
                        "city": "",
                        "locked": False,
                        "reason_code": "",
                        "reason": "",
                        "response": Response.CONFIRMED if placed else None,
                        "version": 1,
                    }
                )
                if placed:
                    roll = pick.random()
                    kind = (
                        "completed"
                        if roll < 0.85
                        else "interrupted"
                        if roll < 0.95
                        else "not_started"
                    )
                    outcomes.append(
                        {
                            "round_id": round_.id,
                            "student_id": student_id,
                            "offer_id": offer,
                            "outcome": kind,
                            "reason": InterruptionReason.HEALTH
                            if kind is PlacementOutcomeKind.INTERRUPTED
                            else None,
                            "note": "",
                            "recorded_at": now,
                            "version": 1,
                        }
                    )
            for wave, share in ((6, 0.7), (12, 0.6)):
                if pick.random() < share:
                    situation = pick.choices(SITUATIONS, weights=WEIGHTS)[0]
                    answers.append(
                        {
                            "student_id": student_id,
                            "wave": wave,
                            "situation": situation,
                            "in_trade": pick.random() < 0.6,
                            "country": "FR",
                            "as_of": dt.date(COHORT, 7, 5) + dt.timedelta(days=30 * wave),
                            "source": AnswerSource.LINK,
                            "recorded_at": now,
                        }
                    )
        _insert(session, Student, students)
        _insert(session, Assignment, assignments)
        _insert(session, PlacementOutcome, outcomes)
        _insert(session, FollowUpAnswer, answers)
        session.commit()


def _timed(work: Callable[[], object]) -> tuple[tuple[float, float], object]:
    """Wall time and this process's CPU time (on a busy machine the CPU time is what the
    work costs; PostgreSQL's own CPU is not in it)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    return (time.perf_counter() - start, time.process_time() - cpu), result


def run(size: int, url: str | None) -> list[tuple[str, tuple[float, float]]]:
    rows: list[tuple[str, tuple[float, float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_engine(url, Path(folder))
        seconds, _ = _timed(lambda: populate(engine, size))
        rows.append(("insert graduates, outcomes, answers", seconds))
        with Session(engine) as session:
            account = Account(username="comite@example.org", role=Role.EVALUATOR)
            session.add(account)
            session.commit()
            viewer = Viewer.of(account)
            token, _ = issue_credential(session, account, CredentialKind.SESSION, None)
            session.commit()
        with Session(engine) as session:
            seconds, _found = _timed(lambda: indicators.indicators(session, viewer, cohort=COHORT))
            rows.append(("indicators, service", seconds))
            key = "benchmark key of the evaluation, 32+ chars"
            seconds, export = _timed(lambda: pseudonymised.export(session, viewer, key=key))
            rows.append(("export, service", seconds))
        assert len(export[1]) == size  # type: ignore[index]
        settings = Settings(
            database_url=str(engine.url.render_as_string(hide_password=False)),
            mail_dir=Path(folder) / "mail",
            mail_in_service=False,
            pseudonym_key=SecretStr("benchmark key of the evaluation, 32+ chars"),
        )
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings, engine)) as client:
            for label, path in (
                ("GET /api/evaluation/indicators", "/api/evaluation/indicators"),
                ("GET /api/evaluation/export.csv", "/api/evaluation/export.csv"),
                ("GET /api/evaluation/export.xlsx", "/api/evaluation/export.xlsx"),
            ):
                seconds, response = _timed(partial(client.get, path, headers=headers))
                assert response.status_code == 200, response.text  # type: ignore[attr-defined]
                rows.append((label, seconds))
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    worst: dict[str, tuple[float, float]] = {}
    for number in range(1, args.runs + 1):
        print(f"run {number}: {args.size:,} graduates in {SCHOOLS} schools (wall s, CPU s)")
        for label, (wall, cpu) in run(args.size, args.database_url):
            print(f"  {label:<48} {wall:8.3f} {cpu:8.3f}")
            old = worst.get(label, (0.0, 0.0))
            worst[label] = (max(old[0], wall), max(old[1], cpu))
    if args.runs > 1:
        print("worst of the runs:")
        for label, (wall, cpu) in worst.items():
            print(f"  {label:<48} {wall:8.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
