"""A documents ZIP rendered on two processes (services/render_pool.py) holds the same
documents, in the same order, as one rendered in the test's process."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select

from mobility_match.access import Viewer
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.models import Account, JobStatus, PlacementDocument
from mobility_match.services import jobs
from mobility_match.services.jobs import JobRunner
from mobility_match.services.render_pool import RenderPool
from tests.conftest import TEST_DATABASE_URL
from tests.placements import make_facts
from tests.published import publish_small_round


def _zip(engine: Engine, app: FastAPI, viewer: Viewer, round_id: int, pool: RenderPool) -> bytes:
    runner = JobRunner(engine, app.state.settings, pool.renderer, pool=pool)
    try:
        with Session(engine, expire_on_commit=False) as session:
            job = jobs.create_documents_zip(
                session, viewer, round_id, "SCH-A", (), settings=app.state.settings
            )
        future = runner.start(job.id)
        assert future is not None
        future.result(timeout=300)
        with Session(engine) as session:
            finished = jobs.download(session, viewer, job.id)
        assert finished.status is JobStatus.DONE, finished.message
        assert finished.result is not None
        return finished.result
    finally:
        runner.shutdown()


@pytest.mark.skipif(
    bool(TEST_DATABASE_URL),
    reason="rendering does not depend on the database: one engine is enough",
)  # a mark, not a skip in the test: the PostgreSQL lane builds no app for it
def test_two_processes_render_the_same_zip_as_one(
    app: FastAPI, engine: Engine, client: TestClient
) -> None:
    published = publish_small_round(engine, client)
    with Session(engine) as session:
        teacher = Viewer.of(
            session.exec(select(Account).where(Account.username == "teacher-a@example.org")).one()
        )
    renderer = DocumentRenderer(None)
    pool = RenderPool(renderer, 2)
    try:
        pool.start()  # as the service does: the processes wait, started, for the first bundle
        rendered = zipfile.ZipFile(io.BytesIO(_zip(engine, app, teacher, published.round_id, pool)))
    finally:
        pool.shutdown()
    names = [name for name in rendered.namelist() if name.endswith(".pdf")]
    assert names
    # Each PDF is the one stored as the document's version, and reads as its student's.
    with Session(engine) as session:
        stored = {document.pdf for document in session.exec(select(PlacementDocument))}
    for name in names:
        pdf = rendered.read(name)
        assert pdf in stored
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        folder_surname = name.split("/")[0].split("-")[0].replace("_", " ")
        assert folder_surname.split()[-1].upper() in text.upper(), name

    # The same ZIP built again in this process: nothing to render, the same documents.
    again = zipfile.ZipFile(
        io.BytesIO(_zip(engine, app, teacher, published.round_id, RenderPool(renderer, 1)))
    )
    assert [n for n in again.namelist() if n.endswith(".pdf")] == names
    assert all(again.read(name) == rendered.read(name) for name in names)


def test_a_school_letterhead_with_a_style_of_its_own_is_printed_with_it(tmp_path: Path) -> None:
    """The packaged style sheet is parsed once per renderer and given apart; a document with
    another style sheet (here a school's letterhead asking for A5 pages) keeps both."""
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "letterhead.html").write_text(
        "<style>@page { size: A5 }</style><p class='school-name'>{{ facts.school_name }}</p>"
    )
    facts = make_facts()
    plain = DocumentRenderer(None)
    for renderer, size in ((plain, (595, 842)), (DocumentRenderer(tmp_path), (420, 595))):
        html = renderer.html(DocumentKind.HOST_LETTER, "de", facts)
        page = PdfReader(io.BytesIO(renderer.pdf(html))).pages[0]
        assert (round(page.mediabox.width), round(page.mediabox.height)) == size
        # The footer comes from the packaged style sheet, in both.
        assert "1 / " in page.extract_text()
