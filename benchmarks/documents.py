"""Benchmark of the placement documents: CPU time per PDF of each kind, a school's ZIP on
one and on several rendering processes, and the rendering rate of a whole round.

It builds (in a temporary folder) a published round of `--size` students of the cohorts
of benchmarks/run.py, then:

- per document kind, the CPU seconds of rendering its PDF (`--samples` placements each;
  HTML made once, only WeasyPrint's work is timed);
- the ZIP of every document of the school whose number of placements is closest to
  `--school-placements` (60 by default), built as the background job builds it
  (services/bundles.py), with 1 and then 2 rendering processes (`render_processes`),
  started before the clock starts, as a pool kept from one bundle to the next is (the time
  they take and their CPU seconds are printed apart); the documents stored by a run are deleted
  before the next, so that each run renders all;
- the documents of `--round-placements` placements of the round (every kind), on 1 and 2
  processes: PDFs per second, and what that makes for the whole round.

    python benchmarks/documents.py                      # 1,000 students, 60-placement school
    python benchmarks/documents.py --size 10000 --round-placements 200

Figures depend on the machine's load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohorts import benchmark_round
from service import PASSWORD, fresh_database

from mobility_match.access import Viewer
from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.demo import offers_frame, students_frame
from mobility_match.documents.rendering import DocumentRenderer
from mobility_match.domain import Country
from mobility_match.models import Account, Assignment, PlacementDocument, Round
from mobility_match.services.bundles import plan_bundle, stream_bundle
from mobility_match.services.documents import draft_documents, every_document
from mobility_match.services.render_pool import RenderPool


def publish(size: int, folder: Path) -> tuple[Settings, Any, int]:
    settings = Settings(
        database_url=fresh_database(None, folder),
        upload_max_bytes=64 * 1024 * 1024,
        solve_time_limit=60.0,
        mail_in_service=False,
        render_processes=1,
    )
    round_input = benchmark_round(size, seed=1)
    app = create_app(settings)
    with TestClient(app) as api:
        token = api.post("/api/auth/login", json={"username": "coordinator", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        for kind, frame in (
            ("offers", offers_frame(round_input.offers)),
            ("students", students_frame(round_input.students)),
        ):
            data = frame.to_csv(index=False).encode()
            response = api.post(
                f"/api/imports/{kind}", files={"file": (f"{kind}.csv", data)}, headers=headers
            )
            assert response.status_code == 200, response.text[:300]
        round_id = api.post("/api/rounds", json={"name": "documents"}, headers=headers).json()["id"]
        api.post(f"/api/rounds/{round_id}/solve", headers=headers)
        while api.get(f"/api/rounds/{round_id}", headers=headers).json()["status"] == "running":
            time.sleep(0.2)
        deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        published = api.post(
            f"/api/rounds/{round_id}/publish",
            json={"response_deadline": deadline},
            headers=headers,
        )
        assert published.status_code == 200, published.text[:300]
    return settings, app.state.engine, round_id


def coordinator(engine: Any) -> Viewer:
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "coordinator")).one()
        return Viewer.of(account)


def cpu_per_kind(engine: Any, round_id: int, samples: int) -> dict[str, float]:
    renderer = DocumentRenderer(None)
    seconds: dict[str, list[float]] = defaultdict(list)
    with Session(engine) as session:
        round_ = session.get_one(Round, round_id)
        rows = session.exec(
            select(Assignment)
            .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
            .order_by(col(Assignment.student_id))
        ).all()
        by_country: dict[str, list[Assignment]] = defaultdict(list)
        for row in rows:
            by_country[row.country].append(row)
        for country, placed in sorted(by_country.items()):
            wanted = list(every_document(Country(country)))
            for assignment in placed[:samples]:
                drafts = draft_documents(
                    session, renderer, assignment, round_, wanted, dt.date.today()
                )
                for draft in drafts:
                    started = time.process_time()
                    renderer.pdf(draft.html)
                    seconds[f"{draft.kind.value} ({draft.lang or country})"].append(
                        time.process_time() - started
                    )
    return {kind: sum(values) / len(values) for kind, values in sorted(seconds.items())}


def school_near(engine: Any, round_id: int, placements: int) -> tuple[str, int]:
    with Session(engine) as session:
        counts = session.exec(
            select(Assignment.school_id, func.count())
            .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
            .group_by(col(Assignment.school_id))
        ).all()
    school, count = min(counts, key=lambda item: (abs(item[1] - placements), item[0]))
    return school, int(count)


def zip_seconds(
    engine: Any, round_id: int, school: str, processes: int
) -> tuple[float, int, float, float]:
    """The ZIP's wall seconds and size, the seconds its pool took to start (not counted: the
    service keeps its pool), and the CPU seconds of the rendering processes."""
    with Session(engine) as session:
        session.execute(delete(PlacementDocument))
        session.commit()
    viewer = coordinator(engine)
    renderer = DocumentRenderer(None)
    pool = RenderPool(renderer, processes)
    children = _children_cpu()
    try:
        started = time.perf_counter()
        pool.start()
        warm = time.perf_counter() - started
        with Session(engine) as session:
            plan = plan_bundle(session, viewer, round_id, school, ())
        started = time.perf_counter()
        size = sum(
            len(piece)
            for piece in stream_bundle(engine, viewer, renderer, plan, dt.date.today(), pool)
        )
        seconds = time.perf_counter() - started
    finally:
        pool.shutdown()
    return seconds, size, warm, _children_cpu() - children


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (a pool's, once shut down)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def round_rate(engine: Any, round_id: int, placements: int, processes: int) -> tuple[float, int]:
    """PDFs per second rendering every document of the first `placements` placements."""
    renderer = DocumentRenderer(None)
    pool = RenderPool(renderer, processes)
    htmls: list[str] = []
    with Session(engine) as session:
        round_ = session.get_one(Round, round_id)
        rows = session.exec(
            select(Assignment)
            .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
            .order_by(col(Assignment.student_id))
            .limit(placements)
        ).all()
        for row in rows:
            wanted = list(every_document(Country(row.country)))
            drafts = draft_documents(session, renderer, row, round_, wanted, dt.date.today())
            htmls.extend(draft.html for draft in drafts)
    try:
        pool.submit(htmls[0]).result()  # the processes start (not counted)
        started = time.perf_counter()
        for future in [pool.submit(html) for html in htmls]:
            future.result()
        return len(htmls) / (time.perf_counter() - started), len(htmls)
    finally:
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--school-placements", type=int, default=60)
    parser.add_argument("--round-placements", type=int, default=100)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _settings, engine, round_id = publish(arguments.size, Path(folder))
        with Session(engine) as session:
            placed = session.exec(
                select(func.count())
                .select_from(Assignment)
                .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
            ).one()
        print(f"round of {arguments.size:,} students, {placed:,} placed", flush=True)
        print("CPU seconds per PDF (mean):", flush=True)
        for kind, seconds in cpu_per_kind(engine, round_id, arguments.samples).items():
            print(f"  {kind:36} {seconds:.3f}", flush=True)
        school, count = school_near(engine, round_id, arguments.school_placements)
        for processes in (1, 2):
            seconds, size, warm, cpu = zip_seconds(engine, round_id, school, processes)
            started = f"; processes started in {warm:.1f} s, {cpu:.1f} s CPU" if cpu else ""
            print(
                f"ZIP of {school} ({count} placements, every kind), {processes} process(es): "
                f"{seconds:.1f} s wall, {size / 1e6:.1f} MB{started}  "
                f"[load {os.getloadavg()[0]:.1f}]",
                flush=True,
            )
        for processes in (1, 2):
            rate, pdfs = round_rate(engine, round_id, arguments.round_placements, processes)
            whole = placed * pdfs / min(arguments.round_placements, placed) / rate
            print(
                f"{pdfs} PDFs of {arguments.round_placements} placements, {processes} "
                f"process(es): {rate:.1f} PDFs/s; the round's {placed:,} placements: "
                f"about {whole / 60:.0f} min  [load {os.getloadavg()[0]:.1f}]",
                flush=True,
            )


if __name__ == "__main__":
    main()
