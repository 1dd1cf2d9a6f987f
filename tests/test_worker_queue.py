"""The document jobs on PostgreSQL's task queue: `mobility-match worker` processes build a
school's ZIP, and when the worker building it is killed, another takes the job again and
the ZIP comes out complete. PostgreSQL only (the CI's PostgreSQL lane); on SQLite the
service runs the jobs itself (tests/test_jobs.py)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.models import Account, Job, JobStatus
from mobility_match.services import jobs
from tests.published import publish_small_round


def _worker(database_url: str, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    """A worker process (and its two rendering processes) in a process group of its own."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MOBILITY_MATCH_WORKER_HEARTBEAT_SECONDS": "0.5",
        "MOBILITY_MATCH_RENDER_PROCESSES": "2",
        "MOBILITY_MATCH_MAIL_DIR": str(folder / "mail"),
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "mobility_match", "worker"],
            env=environment,
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait(engine: Engine, job_id: str, until: Callable[[Job], bool], seconds: float) -> Job:
    deadline = time.monotonic() + seconds
    while True:
        with Session(engine) as session:
            job = session.get_one(Job, job_id)
        if until(job) or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_killed_workers_job_is_taken_again_and_its_zip_is_complete(
    app: FastAPI, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the task queue is PostgreSQL's (the service runs jobs itself on SQLite)")
    published = publish_small_round(engine, client)
    settings = app.state.settings.model_copy(update={"jobs_in_service": False})
    with Session(engine, expire_on_commit=False) as session:
        account = session.exec(
            select(Account).where(Account.username == "teacher-a@example.org")
        ).one()
        job = jobs.create_documents_zip(
            session, Viewer.of(account), published.round_id, "SCH-A", (), settings=settings
        )
    with engine.connect() as connection:
        queued = connection.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
        ).scalar_one()
    assert queued == 1  # queued with its row, in one transaction

    first = _worker(settings.database_url, tmp_path, tmp_path / "first.log")
    try:
        begun = _wait(engine, job.id, lambda row: row.done >= 1, 120)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the machine is lost: every process of it
        first.wait(timeout=30)
    assert begun.status is JobStatus.RUNNING, begun.message
    assert begun.done < begun.total

    second = _worker(settings.database_url, tmp_path, tmp_path / "second.log")
    try:
        finished = _wait(engine, job.id, lambda row: row.status is not JobStatus.RUNNING, 120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    output = (tmp_path / "second.log").read_text(errors="replace")
    assert second.returncode == 0, output
    assert finished.status is JobStatus.DONE, (finished.message, output)
    assert finished.done == finished.total == job.total
    assert finished.result is not None
    archive = zipfile.ZipFile(io.BytesIO(finished.result))
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == job.total
    assert all(archive.read(name).startswith(b"%PDF") for name in pdfs)
