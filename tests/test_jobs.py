"""Background jobs (services/jobs.py): a school's documents ZIP built on a worker thread with
real PDF rendering, seen only by its account (and coordinators), failed when left stale."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import zipfile

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.models import Account, Job, JobStatus, Role, utcnow
from mobility_match.services import jobs
from mobility_match.services.errors import NotFound
from mobility_match.services.jobs import JobRunner
from tests.accounts import add_account
from tests.pages import browser, new_signed_in, submit, text_of
from tests.published import publish_small_round


def _viewer(engine: Engine, username: str) -> Viewer:
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == username)).one()
        return Viewer.of(account)


def test_a_zip_job_runs_to_done_and_its_zip_holds_every_pdf(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """The job of school A (two placements) ends done with done == total, and its ZIP holds
    one PDF per document counted, a folder per student, and index.csv."""
    published = publish_small_round(engine, client)
    teacher = _viewer(engine, "teacher-a@example.org")
    runner = JobRunner(engine, app.state.settings, DocumentRenderer(None))
    try:
        with Session(engine, expire_on_commit=False) as session:
            job = jobs.create_documents_zip(
                session, teacher, published.round_id, "SCH-A", (), settings=app.state.settings
            )
        assert job.status is JobStatus.QUEUED
        assert job.total >= 2 * len(DocumentKind)
        runner.start(job.id).result(timeout=300)
        with Session(engine) as session:
            finished = jobs.download(session, teacher, job.id)
        assert finished.status is JobStatus.DONE, finished.message
        assert finished.done == finished.total == job.total
        assert finished.result is not None
        archive = zipfile.ZipFile(io.BytesIO(finished.result))
        pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
        assert len(pdfs) == finished.total
        assert {name.split("/")[0] for name in pdfs} == {
            "D_Almeida-Ines-S-MINOR",
            "Bernard-Hugo-S-UK",
        }
        assert all(archive.read(name).startswith(b"%PDF") for name in pdfs)
        assert "index.csv" in archive.namelist()
    finally:
        runner.shutdown()


def test_another_teacher_s_job_is_not_found_and_a_coordinator_s_is_seen(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Teacher B can neither see teacher A's job nor start one for school A (NotFound, as
    a missing one); a coordinator sees it; teacher A's list holds it, B's does not."""
    published = publish_small_round(engine, client)
    teacher_a = _viewer(engine, "teacher-a@example.org")
    teacher_b = _viewer(engine, "teacher-b@example.org")
    coordinator = _viewer(engine, "coordinator@example.org")
    settings = app.state.settings
    with Session(engine, expire_on_commit=False) as session:
        job = jobs.create_documents_zip(
            session,
            teacher_a,
            published.round_id,
            "SCH-A",
            [DocumentKind.CHECKLIST],
            settings=settings,
        )
        with pytest.raises(NotFound):
            jobs.get_job(session, teacher_b, job.id)
        with pytest.raises(NotFound):
            jobs.create_documents_zip(
                session, teacher_b, published.round_id, "SCH-A", (), settings=settings
            )
        assert jobs.get_job(session, coordinator, job.id).id == job.id
        assert [j.id for j in jobs.recent_jobs(session, teacher_a)] == [job.id]
        assert jobs.recent_jobs(session, teacher_b) == []


def test_a_job_left_running_by_a_dead_process_is_failed_when_read(
    app: FastAPI, engine: Engine
) -> None:
    """A running job whose lease expired is marked failed (interrupted) when it is read;
    one whose lease is alive is left running; recover() fails the stale ones at start-up."""
    account_id = add_account(engine, "t@x.example", Role.TEACHER)
    teacher = _viewer(engine, "t@x.example")
    past = utcnow() - dt.timedelta(minutes=5)
    with Session(engine) as session:
        for job_id, lease in (("stale", past), ("alive", utcnow() + dt.timedelta(minutes=5))):
            session.add(
                Job(
                    id=job_id,
                    kind=jobs.DOCUMENTS_ZIP,
                    account_id=account_id,
                    status=JobStatus.RUNNING,
                    total=10,
                    done=3,
                    lease_expires_at=lease,
                )
            )
        session.add(
            Job(
                id="queued-stale",
                kind=jobs.DOCUMENTS_ZIP,
                account_id=account_id,
                lease_expires_at=past,
            )
        )
        session.commit()
    with Session(engine) as session:
        stale = jobs.get_job(session, teacher, "stale")
        assert stale.status is JobStatus.FAILED
        assert stale.message == jobs.INTERRUPTED
        assert jobs.get_job(session, teacher, "alive").status is JobStatus.RUNNING
    runner = JobRunner(engine, app.state.settings, DocumentRenderer(None))
    try:
        assert runner.recover() == 1  # the queued one; "stale" is failed already
    finally:
        runner.shutdown()


def test_the_zip_page_shows_progress_then_a_download(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    """Starting the ZIP from the documents page leads to the job's page (progress bar while
    it runs, refreshing itself), then to a download of the ZIP; another account gets 404."""
    publish_small_round(engine, client)
    with browser(app) as page, browser(app) as other:
        new_signed_in(page, engine, "prof-a@example.org", Role.TEACHER, school_id="SCH-A")
        new_signed_in(other, engine, "prof-a2@example.org", Role.TEACHER, school_id="SCH-A")
        started = submit(
            page,
            "/schools/SCH-A/documents/zip",
            {"kind": ["checklist", "student_letter"]},
            page="/schools/SCH-A/documents",
        )
        assert started.status_code == 303
        job_page = started.headers["location"]
        assert re.fullmatch(r"/jobs/[A-Za-z0-9_-]+", job_page)
        deadline = time.monotonic() + 120
        while True:
            shown = page.get(job_page)
            assert shown.status_code == 200
            if "data-poll" not in shown.text:
                break
            assert "<progress" in shown.text
            assert 'http-equiv="refresh"' in shown.text
            assert time.monotonic() < deadline, "the job did not finish in time"
            time.sleep(0.3)
        assert "Le ZIP est prêt : 4 documents sur 4" in text_of(shown.text)
        download = page.get(job_page + "/download")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert len(zipfile.ZipFile(io.BytesIO(download.content)).namelist()) == 5
        assert other.get(job_page).status_code == 404
        assert other.get(job_page + "/download").status_code == 404
        assert job_page in page.get("/jobs").text
