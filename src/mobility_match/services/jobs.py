"""Background jobs started from a page: a school's documents ZIP, built while the person
is free to close the page.

A job is a row (`models.Job`) owned by the account that started it; `JobRunner`
runs it on a worker thread of this process. Progress is written in short
transactions between documents, never while a PDF renders (on SQLite every
transaction holds the write lock), and a heartbeat renews the lease of every
job the runner holds, queued or running. A job left queued or running by a
process that died is marked failed once its lease has expired: at start-up
(`JobRunner.recover`) and whenever it is read. The finished ZIP is kept in
`job.result` until the job is deleted (KEEP_DAYS after it finished). No HTTP here.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Collection, Generator
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import ColumnElement, Engine, delete, update
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.domain import Country
from mobility_match.models import Account, Assignment, Job, JobStatus, utcnow
from mobility_match.services import audit, queue
from mobility_match.services.bundles import BundlePlan, plan_bundle, stream_bundle
from mobility_match.services.documents import every_document
from mobility_match.services.errors import Conflict, NotFound, ServiceError
from mobility_match.services.render_pool import RenderPool

log = logging.getLogger(__name__)

DOCUMENTS_ZIP = "documents_zip"
"""The kind of job that builds a school's documents ZIP."""

INTERRUPTED = "The job was interrupted (the service stopped); start it again."
KEEP_DAYS = 7
"""Finished jobs (and their files) are deleted this many days after they finished."""
RECENT = 20
"""How many of an account's jobs the list shows."""

UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


def _lease(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.lease_seconds)


def _stale(now: dt.datetime) -> ColumnElement[bool]:
    """In a query: the job was left unfinished by a process that stopped renewing its lease."""
    return col(Job.status).in_(UNFINISHED) & (col(Job.lease_expires_at) <= now)


def _fail_stale(session: Session, *job_ids: str) -> int:
    """Mark failed the stale jobs among `job_ids` (all stale jobs when none given)."""
    now = utcnow()
    query = update(Job).where(_stale(now))
    if job_ids:
        query = query.where(col(Job.id).in_(job_ids))
    changed = session.execute(
        query.values(status=JobStatus.FAILED, message=INTERRUPTED, finished_at=now)
    )
    session.commit()
    return int(getattr(changed, "rowcount", 0) or 0)


# ---- creating and reading jobs ----------------------------------------------------------


def create_documents_zip(
    session: Session,
    viewer: Viewer,
    round_id: int,
    school_id: str,
    kinds: Collection[DocumentKind],
    *,
    settings: Settings,
) -> Job:
    """A queued job building the school's documents ZIP (all kinds when `kinds` is empty).

    The scope and the round are checked now, as the streamed ZIP checks them
    (404 outside the viewer's scope, 409/410 with no current placement).
    """
    plan = plan_bundle(session, viewer, round_id, school_id, kinds)
    queued = queue.uses_queue(settings)
    countries = session.exec(
        access.assignments(viewer).where(
            Assignment.round_id == round_id, col(Assignment.student_id).in_(plan.student_ids)
        )
    ).all()
    total = sum(
        1
        for assignment in countries
        for kind, _lang in every_document(Country(assignment.country))
        if kind in plan.kinds
    )
    now = utcnow()
    session.execute(
        delete(Job).where(
            col(Job.account_id) == viewer.account_id,
            col(Job.finished_at) < now - dt.timedelta(days=KEEP_DAYS),
        )
    )
    job = Job(
        id=secrets.token_urlsafe(24),
        kind=DOCUMENTS_ZIP,
        account_id=viewer.account_id,
        school_id=school_id,
        params={
            "round_id": round_id,
            "kinds": sorted(kind.value for kind in plan.kinds),
            "student_ids": list(plan.student_ids),
        },
        total=total,
        file_name=plan.file_name,
        media_type="application/zip",
        # Through the queue, a dead worker's job is run again, not failed: no lease then.
        lease_expires_at=None if queued else now + _lease(settings),
    )
    session.add(job)
    audit.record(session, viewer, "job.create", "job", job.id, kind=job.kind, school_id=school_id)
    if queued:
        session.flush()
        queue.defer_documents_zip(session, settings, job.id)
    session.commit()
    return job


def get_job(session: Session, viewer: Viewer, job_id: str, *, with_result: bool = False) -> Job:
    """A job the viewer may see (its own; any for coordinators); NotFound otherwise.

    A job whose lease expired while unfinished is marked failed first.
    """
    _fail_stale(session, job_id)
    query = access.jobs(viewer).where(Job.id == job_id)
    if not with_result:
        query = query.options(defer(Job.result))  # type: ignore[arg-type]
    job = session.exec(query).first()
    session.commit()
    if job is None:
        raise NotFound("There is no such job.")
    return job


def recent_jobs(
    session: Session, viewer: Viewer, limit: int = RECENT, *, school_id: str | None = None
) -> list[Job]:
    """The viewer's own latest jobs, newest first (without their files); only those for
    `school_id` when given."""
    own = session.exec(
        select(Job.id).where(Job.account_id == viewer.account_id, _stale(utcnow()))
    ).all()
    if own:
        _fail_stale(session, *own)
    query = select(Job).where(Job.account_id == viewer.account_id)
    if school_id is not None:
        query = query.where(Job.school_id == school_id)
    jobs = session.exec(
        query.options(defer(Job.result))  # type: ignore[arg-type]
        .order_by(col(Job.created_at).desc())
        .limit(limit)
    ).all()
    session.commit()
    return list(jobs)


def download(session: Session, viewer: Viewer, job_id: str) -> Job:
    """A finished job with its file; Conflict while it is not done."""
    job = get_job(session, viewer, job_id, with_result=True)
    if job.status is not JobStatus.DONE or job.result is None:
        raise Conflict("This job has no file to download: it is not finished, or it failed.")
    return job


# ---- running jobs -------------------------------------------------------------------------


FAILED_UNEXPECTEDLY = (
    "The job stopped on an unexpected error (recorded in the service's log); start it again, "
    "and tell the coordinator if it fails again."
)


class JobRunner:
    """Runs the jobs of this process on worker threads, and keeps their leases alive."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        renderer: DocumentRenderer,
        workers: int = 1,
        pool: RenderPool | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.renderer = renderer
        self.pool = pool or RenderPool(renderer, 1)
        """Where the PDFs render (the service's or the worker's pool; shut down by its owner)."""
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="job")
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        # Started with the first job: an application that runs none keeps no thread for it.
        self._heartbeat: threading.Thread | None = None

    def recover(self) -> int:
        """Mark failed the jobs left unfinished by a process that died; return how many."""
        with Session(self.engine) as session:
            return _fail_stale(session)

    def start(self, job_id: str) -> Future[None] | None:
        """Run the (queued) job in the background: on a thread of this process, or nothing
        to do when the task queue's workers run it (it was queued with its row)."""
        if queue.uses_queue(self.settings):
            return None
        with self._lock:
            self._held.add(job_id)
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._beat, daemon=True, name="job-lease")
                self._heartbeat.start()
        return self._pool.submit(self._run, job_id)

    def shutdown(self) -> None:
        """Stop taking jobs; a running job stops after its current document and is failed."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = list(self._held)
        if left:
            with Session(self.engine) as session:
                session.execute(
                    update(Job)
                    .where(col(Job.id).in_(left), col(Job.status).in_(UNFINISHED))
                    .values(status=JobStatus.FAILED, message=INTERRUPTED, finished_at=utcnow())
                )
                session.commit()

    def _beat(self) -> None:
        interval = max(0.2, min(5.0, self.settings.lease_seconds / 3))
        while not self._closing.wait(interval):
            with self._lock:
                held = list(self._held)
            if not held:
                continue
            try:
                with Session(self.engine) as session:
                    session.execute(
                        update(Job)
                        .where(col(Job.id).in_(held), col(Job.status).in_(UNFINISHED))
                        .values(lease_expires_at=utcnow() + _lease(self.settings))
                    )
                    session.commit()
            except Exception:  # a busy database: the next beat tries again
                log.exception("renewing job leases failed")

    def run_here(self, job_id: str) -> None:
        """Run the job now, on this thread (a worker of the task queue): from the start
        again if a worker that died had begun it."""
        self._run(job_id, again=True)

    def _run(self, job_id: str, *, again: bool = False) -> None:
        try:
            started = self._begin(job_id, again=again)
            if started is not None:
                viewer, plan = started
                self._build_zip(job_id, viewer, plan)
        except ServiceError as refusal:
            self._finish(job_id, JobStatus.FAILED, message=refusal.message)
        except Exception:
            # The error's text may hold database details: it goes to the log, not the page.
            log.exception("job %s failed", job_id)
            self._finish(job_id, JobStatus.FAILED, message=FAILED_UNEXPECTEDLY)
        finally:
            with self._lock:
                self._held.discard(job_id)

    def _begin(self, job_id: str, *, again: bool = False) -> tuple[Viewer, BundlePlan] | None:
        """Mark the job running (if it is still queued; or running, `again`, when the
        worker that began it died) and check its plan again."""
        startable = (JobStatus.QUEUED, JobStatus.RUNNING) if again else (JobStatus.QUEUED,)
        with Session(self.engine, expire_on_commit=False) as session:
            now = utcnow()
            won = session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status).in_(startable))
                .values(status=JobStatus.RUNNING, started_at=now, done=0)
            )
            session.commit()
            if not getattr(won, "rowcount", 0):
                return None
            job = session.get_one(Job, job_id)
            account = session.get(Account, job.account_id)
            if account is None or not account.active:
                raise NotFound("The account that started this job no longer exists.")
            viewer = Viewer.of(account)
            kinds = [DocumentKind(kind) for kind in job.params.get("kinds", [])]
            plan = plan_bundle(
                session, viewer, int(job.params["round_id"]), job.school_id or "", kinds
            )
            return viewer, plan

    def _build_zip(self, job_id: str, viewer: Viewer, plan: BundlePlan) -> None:
        # stream_bundle yields once after each document it adds, then once for index.csv:
        # a piece is counted as a document when another piece follows it.
        parts: list[bytes] = []
        stream = stream_bundle(self.engine, viewer, self.renderer, plan, utcnow().date(), self.pool)
        try:
            for piece in stream:
                if parts:
                    self._progress(job_id, len(parts))
                parts.append(piece)
                if self._closing.is_set():
                    self._finish(job_id, JobStatus.FAILED, message=INTERRUPTED)
                    return
        finally:
            if isinstance(stream, Generator):
                stream.close()  # its sessions end now, not when it is collected
        self._finish(job_id, JobStatus.DONE, result=b"".join(parts))

    def _progress(self, job_id: str, done: int) -> None:
        """Save how many documents are in the archive so far (never more than the total)."""
        with Session(self.engine) as session:
            session.execute(
                update(Job)
                .where(
                    col(Job.id) == job_id,
                    col(Job.status) == JobStatus.RUNNING,
                    col(Job.total) >= done,
                )
                .values(done=done)
            )
            session.commit()

    def _finish(
        self, job_id: str, status: JobStatus, *, message: str = "", result: bytes | None = None
    ) -> None:
        values: dict[str, object] = {
            "status": status,
            "message": message[:2000],
            "finished_at": utcnow(),
        }
        if result is not None:
            values["result"] = result
        with Session(self.engine) as session:
            session.execute(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.status).in_(UNFINISHED))
                .values(**values)
            )
            session.commit()
