"""Load benchmark of the reads: 50 people reading a published 10,000-student round at once.

It builds (once, then reuses from `out/load/`) a SQLite database with a cohort of
benchmarks/run.py imported, solved and published through the API, a teacher of
the school with the most placements and the coordinator; then, per run, on a
fresh copy of it: starts the service as production would (`mobility-match
serve` on 127.0.0.1, `--workers` processes), signs everyone in once
(coordinator and teacher with their passwords, students by their invitation
links: one session each, reused for the whole run, so the sign-in limits per
address never trigger), and runs locust headless with the users of
benchmarks/locustfile.py (coordinators 2 : teachers 3 : students 5, each
waiting 0.5–2 s between requests; the file says what each reads). Before it
measures, each read is asked a few times in parallel, so that every worker has
read the round's snapshot once, as after any start (seconds at 10,000
students). Per read it prints the median, 95th and 99th percentile in ms,
requests per second and failures, with the machine's load average (other work
on the machine skews the figures); with `--runs N`, each run and then the worst
of them (highest percentiles, lowest rate, most failures). Two workers: one per
core of the reference machine.

    pip install -e '.[bench]'                    # locust
    python benchmarks/load.py                    # 10,000 students, 50 users, 60 s, 2 workers
    python benchmarks/load.py --runs 3 --workers 1 --duration 30
    python benchmarks/load.py --rebuild          # build the database again

Target (2 cores, 10,000 students, 50 users): p95 under 200 ms, p99 under 500 ms
for every read.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohorts import benchmark_round
from service import PASSWORD, fresh_database

from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.demo import offers_frame, students_frame
from mobility_match.models import Account, Assignment, Role
from mobility_match.security import hash_password

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "out" / "load"
LOCUSTFILE = HERE / "locustfile.py"
READS = ["rounds", "statistics", "assignments", "checklist"]
STUDENT_SESSIONS = 40
"""Students signed in (the locust students share them out, one each while there are enough)."""


def build(folder: Path, size: int, seed: int, time_limit: float) -> dict[str, Any]:
    """A published round of `size` students in folder/benchmark.db; what the users need."""
    round_input = benchmark_round(size, seed=seed)
    offers_csv = offers_frame(round_input.offers).to_csv(index=False).encode()
    students_csv = students_frame(round_input.students).to_csv(index=False).encode()
    settings = Settings(
        database_url=fresh_database(None, folder),
        upload_max_bytes=64 * 1024 * 1024,
        solve_time_limit=time_limit,
    )
    app = create_app(settings)
    with TestClient(app) as api:
        login = {"username": "coordinator", "password": PASSWORD}
        headers = {
            "Authorization": f"Bearer {api.post('/api/auth/login', json=login).json()['token']}"
        }

        def call(method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
            response = api.request(method, path, headers=headers, **kwargs)
            assert response.status_code == expected, response.text[:500]
            return response.json()

        for kind, data in (("offers", offers_csv), ("students", students_csv)):
            call("POST", f"/api/imports/{kind}", files={"file": (f"{kind}.csv", data, "text/csv")})
        round_id = call("POST", "/api/rounds", 201, json={"name": "load"})["id"]
        call("POST", f"/api/rounds/{round_id}/solve", 202)
        while call("GET", f"/api/rounds/{round_id}")["status"] == "running":
            time.sleep(0.2)
        deadline = (dt.date.today() + dt.timedelta(days=365)).isoformat()
        call("POST", f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline})
    engine = app.state.engine
    with Session(engine) as session:
        placed = list(
            session.exec(
                select(Assignment.student_id)
                .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
                .order_by(col(Assignment.student_id))
            )
        )
        school, _ = session.exec(
            select(Assignment.school_id, func.count())
            .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
            .group_by(col(Assignment.school_id))
            .order_by(func.count().desc(), col(Assignment.school_id))
        ).first() or ("", 0)
        school_placed = list(
            session.exec(
                select(Assignment.student_id).where(
                    Assignment.round_id == round_id,
                    Assignment.school_id == school,
                    col(Assignment.offer_id).is_not(None),
                )
            )
        )
        session.add(
            Account(
                username="teacher",
                role=Role.TEACHER,
                school_id=school,
                password_hash=hash_password(PASSWORD),
            )
        )
        session.commit()
    engine.dispose()
    with sqlite3.connect(folder / "benchmark.db") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rng = random.Random(seed)
    return {
        "round_id": round_id,
        "students": size,
        "placed": rng.sample(placed, min(1000, len(placed))),
        "school": school,
        "school_placed": school_placed,
    }


def cached_database(size: int, seed: int, time_limit: float, rebuild: bool) -> Path:
    """The folder holding the database and its meta.json, built when missing."""
    folder = CACHE / f"{size}-seed{seed}"
    if rebuild or not (folder / "meta.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"building a published round of {size:,} students in {folder} …", flush=True)
        started = time.perf_counter()
        meta = build(folder, size, seed, time_limit)
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(url: str, method: str = "GET", body: Any = None, token: str = "") -> Any:
    request = urllib.request.Request(url, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, data, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the service stopped: see {log}")
        try:
            _request(f"{base}/api/rounds")
        except urllib.error.HTTPError:
            return  # 401: it answers
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError(f"the service did not answer within 120 s: see {log}")


def sign_in(base: str, meta: dict[str, Any]) -> dict[str, Any]:
    """One session per role (students: one each), opened the way people open them."""
    login = {"username": "coordinator", "password": PASSWORD}
    coordinator = _request(f"{base}/api/auth/login", "POST", login)["token"]
    login = {"username": "teacher", "password": PASSWORD}
    teacher = _request(f"{base}/api/auth/login", "POST", login)["token"]
    students = []
    for student in meta["placed"][:STUDENT_SESSIONS]:
        link = _request(f"{base}/api/students/{student}/invitation", "POST", {}, token=coordinator)[
            "url"
        ]
        token = link.rsplit("/", 1)[1]
        students.append(_request(f"{base}/invite/{token}", "POST", {})["token"])
    return {**meta, "coordinator": coordinator, "teacher": teacher, "students_tokens": students}


def warm_up(base: str, sessions: dict[str, Any], workers: int) -> None:
    """Ask each read a few times in parallel before measuring, so that every worker has
    answered it once: the first statistics of a round in a fresh process read its
    snapshot (seconds at 10,000 students), as after any restart, once."""
    round_id = sessions["round_id"]
    student = sessions["placed"][0]
    paths = [
        "/api/rounds",
        f"/api/rounds/{round_id}/statistics",
        f"/api/rounds/{round_id}/assignments?limit=50",
        f"/api/rounds/{round_id}/placements/{student}/checklist",
    ] * (4 * workers)
    with ThreadPoolExecutor(max_workers=4 * workers) as pool:
        list(pool.map(lambda path: _request(base + path, token=sessions["coordinator"]), paths))


def run_once(
    source: Path, meta: dict[str, Any], arguments: argparse.Namespace, number: int
) -> dict[str, dict[str, float]]:
    """One run on a fresh copy of the database: serve, sign in, load; figures per read."""
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        shutil.copy(source / "benchmark.db", folder / "benchmark.db")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = CACHE / f"serve-{number}.log"
        command = [
            str(Path(sys.executable).with_name("mobility-match")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *(["--workers", str(arguments.workers)] if arguments.workers > 1 else []),
        ]
        environment = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'benchmark.db'}",
            "MOBILITY_MATCH_PUBLIC_URL": base,
        }
        with open(log, "wb") as output:
            server = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
        try:
            _wait_until_up(base, server, log)
            sessions = sign_in(base, meta)
            (folder / "sessions.json").write_text(json.dumps(sessions), encoding="utf-8")
            warm_up(base, sessions, arguments.workers)
            load_before = os.getloadavg()[0]
            prefix = folder / "locust"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(LOCUSTFILE),
                    "--headless",
                    "-u",
                    str(arguments.users),
                    "-r",
                    str(arguments.spawn_rate),
                    "-t",
                    f"{arguments.duration}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                env={**os.environ, "LOAD_SESSIONS": str(folder / "sessions.json")},
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            rows = figures(Path(f"{prefix}_stats.csv"))
            print(
                f"  load average of the machine: {load_before:.1f} before, "
                f"{os.getloadavg()[0]:.1f} after (2 cores: above 2, others were busy too)",
                flush=True,
            )
            return rows
        finally:
            server.terminate()
            server.wait(timeout=30)


def figures(stats_csv: Path) -> dict[str, dict[str, float]]:
    """Median, p95, p99 (ms), requests/s and failures per read, and over all of them."""
    rows = {}
    with open(stats_csv, encoding="utf-8") as file:
        for row in csv.DictReader(file):
            name = "all" if row["Name"] == "Aggregated" else row["Name"]
            rows[name] = {
                "requests": float(row["Request Count"]),
                "median": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
                "rps": float(row["Requests/s"]),
                "failures": float(row["Failure Count"]),
            }
    return rows


WORST = {"requests": min, "median": max, "p95": max, "p99": max, "rps": min, "failures": max}


def worst(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    names = [name for name in [*READS, "all"] if all(name in run for run in runs)]
    return {
        name: {key: pick(run[name][key] for run in runs) for key, pick in WORST.items()}
        for name in names
    }


def table(rows: dict[str, dict[str, float]]) -> str:
    lines = [
        "| read | requests | median ms | p95 ms | p99 ms | requests/s | failures |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [*READS, "all"]:
        if name in rows:
            r = rows[name]
            lines.append(
                f"| {name} | {r['requests']:.0f} | {r['median']:.0f} | {r['p95']:.0f} | "
                f"{r['p99']:.0f} | {r['rps']:.1f} | {r['failures']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=60, help="Seconds of each run.")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="Service processes.")
    parser.add_argument("--time-limit", type=float, default=120.0, help="Of the solve.")
    parser.add_argument("--rebuild", action="store_true", help="Build the database again.")
    arguments = parser.parse_args()
    source = cached_database(
        arguments.students, arguments.seed, arguments.time_limit, arguments.rebuild
    )
    meta = json.loads((source / "meta.json").read_text(encoding="utf-8"))
    runs = []
    for number in range(1, arguments.runs + 1):
        rows = run_once(source, meta, arguments, number)
        runs.append(rows)
        print(
            f"\nrun {number}/{arguments.runs}: {arguments.students:,} students, "
            f"{arguments.users} users, {arguments.duration} s, {arguments.workers} worker(s)",
            flush=True,
        )
        print(table(rows), flush=True)
    if len(runs) > 1:
        print(f"\nworst of {len(runs)} runs")
        print(table(worst(runs)))


if __name__ == "__main__":
    main()
