"""Benchmark of the web pages: median and 95th percentile time of each page, as served.

Per cohort size (the cohorts of benchmarks/run.py), the round is imported,
solved and published through the API in-process; then each page is asked
REPEAT times through the application (HTML rendered, no network) by a browser
signed in with a session cookie, and the median and 95th percentile reported:
the coordinator's dashboard, round, assignments (first page, filtered, sorted,
a far page), statistics with its charts and one student's page; a teacher's
students; a student's page, checklist and "why this placement". Last, the time
from "publish" (the page's form) to a student's page showing the placement.

    python benchmarks/pages.py                       # 1,000 and 10,000 students, SQLite
    python benchmarks/pages.py --sizes 1000 --repeat 50 --database-url postgresql+psycopg://…
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohorts import benchmark_round
from service import PASSWORD, fresh_database

from mobility_match.access import Viewer
from mobility_match.api.app import create_app
from mobility_match.api.deps import SESSION_COOKIE
from mobility_match.config import Settings
from mobility_match.demo import offers_frame, students_frame
from mobility_match.models import Account, Assignment, Role
from mobility_match.security import hash_password
from mobility_match.services import invitations

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client: TestClient, path: str, repeat: int) -> tuple[float, float]:
    """Median and 95th percentile seconds of GET `path` (each answer must be 200)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return statistics.median(times), percentile(times, 0.95)


def signed_in(app: Any, token: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, token)
    return client


def run(size: int, url: str | None, repeat: int) -> list[tuple[str, float, float]]:
    round_input = benchmark_round(size, seed=1)
    offers_csv = offers_frame(round_input.offers).to_csv(index=False).encode()
    students_csv = students_frame(round_input.students).to_csv(index=False).encode()
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=fresh_database(url, Path(folder)),
            upload_max_bytes=64 * 1024 * 1024,
            solve_time_limit=60,
        )
        app = create_app(settings)
        engine = app.state.engine
        with TestClient(app) as api:
            login = {"username": "coordinator", "password": PASSWORD}
            token = api.post("/api/auth/login", json=login).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            for kind, data in (("offers", offers_csv), ("students", students_csv)):
                files = {"file": (f"{kind}.csv", data, "text/csv")}
                answer = api.post(f"/api/imports/{kind}", headers=headers, files=files)
                assert answer.status_code == 200, answer.text[:500]
            round_id = api.post("/api/rounds", headers=headers, json={"name": "b"}).json()["id"]
            api.post(f"/api/rounds/{round_id}/solve", headers=headers)
            while api.get(f"/api/rounds/{round_id}", headers=headers).json()["status"] == "running":
                time.sleep(0.05)

            coordinator = signed_in(app, token)
            with Session(engine) as session:
                placed = session.exec(
                    select(Assignment)
                    .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
                    .order_by(col(Assignment.student_id))
                ).first()
                assert placed is not None
                school = placed.school_id
                student = placed.student_id
                company = placed.company_name
                session.add(
                    Account(
                        username="teacher",
                        role=Role.TEACHER,
                        school_id=school,
                        password_hash=hash_password(PASSWORD),
                    )
                )
                session.commit()
            base = f"/coordinator/rounds/{round_id}"
            total = size
            far = max(1, total // 50 - 1)
            pages = [
                ("coordinator: dashboard of rounds", "/coordinator"),
                ("coordinator: the round", base),
                ("coordinator: assignments, first page", f"{base}/assignments"),
                (
                    "coordinator: assignments, filtered (F, DE)",
                    f"{base}/assignments?gender=F&country=DE",
                ),
                (
                    "coordinator: assignments, sorted by company, descending",
                    f"{base}/assignments?sort=company&order=desc",
                ),
                ("coordinator: assignments, last page but one", f"{base}/assignments?page={far}"),
                ("coordinator: statistics with charts", f"{base}/statistics"),
                ("coordinator: one student", f"{base}/students/{student}"),
            ]
            for label, path in pages:
                rows.append((label, *measure(coordinator, path, repeat)))

            # Publish through the page's form, then time until the student sees it.
            deadline = (dt.date.today() + dt.timedelta(days=14)).isoformat()
            form_page = coordinator.get(base).text
            csrf = TOKEN.search(form_page)
            assert csrf is not None
            with Session(engine) as session:
                account = session.exec(
                    select(Account).where(Account.username == "coordinator")
                ).one()
                link, _ = invitations.invite_student(
                    session, Viewer.of(account), student, settings=settings
                )
            pupil = TestClient(app, follow_redirects=False)
            accepted = pupil.post(f"/invite/{link}")
            assert accepted.status_code == 200, accepted.text[:300]
            started = time.perf_counter()
            published = coordinator.post(
                f"{base}/publish",
                data={"csrf_token": csrf.group(1), "response_deadline": deadline},
            )
            assert published.status_code == 303, published.text[:500]
            seen = pupil.get("/student")
            assert seen.status_code == 200
            assert company in seen.text.replace("&#39;", "'").replace("&amp;", "&")
            visible = time.perf_counter() - started
            rows.append(("publish (page form) → student sees the placement", visible, visible))

            teacher_token = api.post(
                "/api/auth/login", json={"username": "teacher", "password": PASSWORD}
            ).json()["token"]
            teacher = signed_in(app, teacher_token)
            rows.append(("teacher: the school's students", *measure(teacher, "/teacher", repeat)))
            for label, path in (
                ("student: my placement", "/student"),
                ("student: my checklist", "/student/checklist"),
                ("student: why this placement", "/student/why"),
            ):
                rows.append((label, *measure(pupil, path, repeat)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    results = {
        size: run(size, arguments.database_url, arguments.repeat) for size in arguments.sizes
    }
    sizes = list(results)
    print("| page | " + " | ".join(f"{s:,} median s | {s:,} p95 s" for s in sizes) + " |")
    print("|---|" + "---:|" * (2 * len(sizes)))
    for index, (label, _, _) in enumerate(results[sizes[0]]):
        cells = []
        for size in sizes:
            _, median, p95 = results[size][index]
            cells += [f"{median:.3f}", f"{p95:.3f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
