"""The document jobs on PostgreSQL: procrastinate's task queue, served by workers.

On SQLite the service runs each job on a thread of its own (services/jobs.py,
`JobRunner`). On PostgreSQL, unless `MOBILITY_MATCH_JOBS_IN_SERVICE=true`, creating a
job also defers a procrastinate job (queue `documents`) in the same transaction, and
`mobility-match worker` processes, on any machine that reaches the database, run it:

- a worker sends a heartbeat every `worker_heartbeat_seconds`; each worker looks, as often,
  for jobs held by a worker whose heartbeat stopped for three beats (killed, or its machine
  lost) and retries them: the ZIP is built again from the start, and the person who asked
  sees its progress start over rather than a failure;
- the job's row (`models.Job`) keeps its state, progress and file as on SQLite: pages and
  the API read it the same way.
No HTTP here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import procrastinate
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from mobility_match.config import Settings
from mobility_match.documents.rendering import DocumentRenderer
from mobility_match.services.render_pool import RenderPool, processes_for

log = logging.getLogger(__name__)

QUEUE = "documents"
"""The procrastinate queue of the document jobs."""
STALLED_BEATS = 3
"""A worker whose heartbeat stopped this many beats ago has died: its jobs are retried."""

blueprint = procrastinate.Blueprint()


@dataclass(frozen=True)
class Runtime:
    """What a worker process's tasks work with."""

    engine: Engine
    settings: Settings
    renderer: DocumentRenderer
    pool: RenderPool


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def uses_queue(settings: Settings) -> bool:
    """Whether document jobs go through the queue (else the service's own threads)."""
    return not settings.jobs_from_service


def make_app(settings: Settings) -> procrastinate.App:
    """The queue's app on the settings' PostgreSQL database (not opened)."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
    )
    app.add_tasks_from(blueprint, namespace="mobility_match")
    return app


def defer_documents_zip(session: Session, settings: Settings, job_id: str) -> None:
    """Queue the job in the session's transaction: it is queued if and only if the job's row
    is committed."""
    driver = session.connection().connection.driver_connection
    make_app(settings).configure_task(
        "mobility_match:documents_zip", queue=QUEUE, connection=driver
    ).defer(job_id=job_id)


@blueprint.task(name="documents_zip", queue=QUEUE, pass_context=True)
def documents_zip(context: procrastinate.JobContext, job_id: str) -> None:
    """Build the ZIP of a documents job (again from the start, if a dead worker held it)."""
    from mobility_match.services.jobs import JobRunner  # noqa: PLC0415

    runtime: Runtime = context.additional_context["runtime"]
    JobRunner(runtime.engine, runtime.settings, runtime.renderer, pool=runtime.pool).run_here(
        job_id
    )


async def _retry_stalled(app: procrastinate.App, every: float) -> None:
    """Give the jobs of dead workers back to the queue, every `every` seconds."""
    while True:
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=every * STALLED_BEATS
            )
            for job in stalled:
                log.warning("job %s: its worker stopped; running it again", job.id)
                await app.job_manager.retry_job(job)
        except Exception:  # the database is busy or away: look again at the next beat
            log.exception("looking for stalled jobs failed")
        await asyncio.sleep(every)


async def _serve(app: procrastinate.App, runtime: Runtime) -> None:
    every = runtime.settings.worker_heartbeat_seconds
    async with app.open_async():
        retrying = asyncio.create_task(_retry_stalled(app, every))
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=1,
                additional_context={"runtime": runtime},
                update_heartbeat_interval=every,
                stalled_worker_timeout=every * STALLED_BEATS,
                install_signal_handlers=True,
            )
        finally:
            retrying.cancel()


def run_worker(engine: Engine, settings: Settings, renderer: DocumentRenderer) -> None:
    """Run the document jobs of the queue until SIGINT or SIGTERM (blocking)."""
    pool = RenderPool(renderer, processes_for(settings.render_processes))
    try:
        asyncio.run(_serve(make_app(settings), Runtime(engine, settings, renderer, pool)))
    finally:
        pool.shutdown()
