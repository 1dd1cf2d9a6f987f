"""Benchmark of the service: a whole round through the JSON API, on SQLite or PostgreSQL.

Per cohort size it times, through the API in-process (no network): importing
the offers and the students files, importing the students file again (all
unchanged), creating the round (its snapshot), solving it in the background to
the end, the review statistics, the list of assignments, one move, the XLSX
export and publishing (which writes every placed student's checklist); then
the placement documents and checklists: one checklist, the overdue view and
its export, one PDF generated then asked again unchanged, and the ZIP of every
document of one school (the school with the median number of placements, or
`--zip-school largest`). Cohorts are those of benchmarks/run.py.

    python benchmarks/service.py                          # 1,000 and 10,000 students, SQLite
    python benchmarks/service.py --sizes 1000 --database-url postgresql+psycopg://…
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohorts import benchmark_round

from mobility_match.access import Viewer
from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine, migrate
from mobility_match.demo import offers_frame, students_frame
from mobility_match.models import Account, ChecklistStep, Role
from mobility_match.security import hash_password
from mobility_match.services import checklists
from mobility_match.services.reference import ensure_partners

PASSWORD = "benchmark password"


def timed(label: str, rows: list[tuple[str, float]], action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    rows.append((label, time.perf_counter() - started))
    return result


def fresh_database(url: str | None, folder: Path) -> str:
    """An empty, migrated database: a new SQLite file, or the PostgreSQL URL emptied."""
    url = url or f"sqlite:///{folder / 'benchmark.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    with Session(engine) as session:
        ensure_partners(session)
        session.add(
            Account(
                username="coordinator",
                role=Role.COORDINATOR,
                password_hash=hash_password(PASSWORD),
            )
        )
        session.commit()
    engine.dispose()
    return url


def run(size: int, url: str | None, time_limit: float, zip_school: str) -> list[tuple[str, float]]:
    round_input = benchmark_round(size, seed=1)
    offers_csv = offers_frame(round_input.offers).to_csv(index=False).encode()
    students_csv = students_frame(round_input.students).to_csv(index=False).encode()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        database_url = fresh_database(url, Path(folder))
        settings = Settings(
            database_url=database_url,
            upload_max_bytes=64 * 1024 * 1024,
            solve_time_limit=time_limit,
        )
        app = create_app(settings)
        with TestClient(app) as client:
            login = {"username": "coordinator", "password": PASSWORD}
            token = client.post("/api/auth/login", json=login).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}

            def post(path: str, expected: int = 200, **kwargs: Any) -> Any:
                response = client.post(path, headers=headers, **kwargs)
                assert response.status_code == expected, response.text[:2000]
                return response.json()

            def get(path: str) -> Any:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.text[:2000]
                return response

            offers_file = {"file": ("offers.csv", offers_csv, "text/csv")}
            students_file = {"file": ("students.csv", students_csv, "text/csv")}
            timed("import offers", rows, lambda: post("/api/imports/offers", files=offers_file))
            timed(
                "import students",
                rows,
                lambda: post("/api/imports/students", files=students_file),
            )
            again = timed(
                "import students again",
                rows,
                lambda: post("/api/imports/students", files=students_file),
            )
            assert again["unchanged"] == size
            round_ = timed(
                "create round (snapshot)",
                rows,
                lambda: post("/api/rounds", 201, json={"name": "benchmark"}),
            )
            round_id = round_["id"]

            def solve() -> Any:
                post(f"/api/rounds/{round_id}/solve", 202)
                while (body := get(f"/api/rounds/{round_id}").json())["status"] == "running":
                    time.sleep(0.05)
                assert body["status"] == "solved", body
                return body

            solved = timed("solve (background, polled)", rows, solve)
            timed("statistics", rows, lambda: get(f"/api/rounds/{round_id}/statistics"))
            listed = timed(
                "list assignments", rows, lambda: get(f"/api/rounds/{round_id}/assignments")
            )
            first = listed.json()[0]["student_id"]
            timed(
                "move a student (rules checked)",
                rows,
                lambda: post(
                    f"/api/rounds/{round_id}/assignments/{first}/move", json={"offer_id": None}
                ),
            )
            timed(
                "export assignments.xlsx",
                rows,
                lambda: get(f"/api/rounds/{round_id}/export/assignments.xlsx"),
            )
            deadline = (dt.date.today() + dt.timedelta(days=14)).isoformat()
            timed(
                "publish",
                rows,
                lambda: post(
                    f"/api/rounds/{round_id}/publish", json={"response_deadline": deadline}
                ),
            )
            documents_steps(get, listed.json(), round_id, rows, zip_school)
            late_everywhere(app.state.engine, rows)
            report = solved["report"]
            print(
                f"  {size:,} students: placed {report['placed']:,}; engine "
                f"{report['solve_seconds']:.2f} s; stages "
                + ", ".join(f"{s['name']} {s['status']}" for s in report["stages"]),
                flush=True,
            )
    return rows


def documents_steps(
    get: Callable[[str], Any],
    assignments: list[dict[str, Any]],
    round_id: int,
    rows: list[tuple[str, float]],
    zip_school: str,
) -> None:
    """Checklists and documents of the published round."""
    placed = [a for a in assignments[1:] if a["offer_id"]]  # the first one was moved out
    student = placed[0]["student_id"]
    placement = f"/api/rounds/{round_id}/placements/{student}"
    timed("a placement's checklist", rows, lambda: get(f"{placement}/checklist"))
    overdue = timed("overdue steps, all schools", rows, lambda: get("/api/checklists/overdue"))
    timed("export overdue.xlsx", rows, lambda: get("/api/checklists/overdue.xlsx"))
    timed(
        "one PDF (learning agreement)",
        rows,
        lambda: get(f"{placement}/documents/learning_agreement.pdf"),
    )
    timed(
        "the same PDF again, unchanged",
        rows,
        lambda: get(f"{placement}/documents/learning_agreement.pdf"),
    )
    per_school = Counter(a["school_id"] for a in placed)
    ranked = [school for school, _ in per_school.most_common()]
    school = ranked[0] if zip_school == "largest" else ranked[len(ranked) // 2]
    archive = timed(
        f"ZIP of one school's documents ({zip_school})",
        rows,
        lambda: get(f"/api/rounds/{round_id}/schools/{school}/documents.zip"),
    )
    members = len(zipfile.ZipFile(io.BytesIO(archive.content)).namelist()) - 1
    print(
        f"  checklists: {sum(g['open_steps'] for g in overdue.json()['groups']):,} open steps, "
        f"{len(overdue.json()['steps']):,} overdue; ZIP of {school}: {per_school[school]} "
        f"placements, {members} documents, "
        f"{len(archive.content) / 1e6:.1f} MB",
        flush=True,
    )


def late_everywhere(engine: Engine, rows: list[tuple[str, float]]) -> None:
    """The overdue view when every step is late: the day of the last departure."""
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "coordinator")).one()
        last = session.exec(select(func.max(ChecklistStep.due_on))).one()
        assert last is not None
        _groups, late = timed(
            "overdue steps, every step late (service call)",
            rows,
            lambda: checklists.overdue(session, Viewer.of(account), last + dt.timedelta(days=1)),
        )
    print(f"  overdue when all are late: {len(late):,} steps", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (emptied!)")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--zip-school", choices=["median", "largest"], default="median")
    arguments = parser.parse_args()
    results = {}
    for size in arguments.sizes:
        results[size] = run(
            size, arguments.database_url, arguments.time_limit, arguments.zip_school
        )
    labels = [label for label, _ in results[arguments.sizes[0]]]
    print("| step | " + " | ".join(f"{size:,} students, s" for size in arguments.sizes) + " |")
    print("|---|" + "---:|" * len(arguments.sizes))
    for position, label in enumerate(labels):
        cells = " | ".join(f"{results[size][position][1]:.2f}" for size in arguments.sizes)
        print(f"| {label} | {cells} |")


if __name__ == "__main__":
    main()
