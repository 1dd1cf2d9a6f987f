"""Pages of background jobs: a job's progress, its download, the account's recent jobs.

Jobs run on the application's JobRunner (services/jobs.py); closing a page loses
nothing. Someone else's job is 404, as a missing one. A page showing an
unfinished job is refreshed by `data-poll` (app.js) or, without JavaScript, by
a `<meta http-equiv="refresh">` inside `<noscript>`.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Depends, Request, Response

from mobility_match.api.deps import SessionDep
from mobility_match.services import jobs
from mobility_match.services.jobs import JobRunner
from mobility_match.web import csrf
from mobility_match.web.deps import PageViewer
from mobility_match.web.templating import render

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

_starting = threading.Lock()


def job_runner(request: Request) -> JobRunner:
    """The application's JobRunner (`app.state.jobs`), made on first use if the
    application did not make one at start-up."""
    state = request.app.state
    runner: JobRunner | None = getattr(state, "jobs", None)
    if runner is None:
        with _starting:
            runner = getattr(state, "jobs", None)
            if runner is None:
                runner = JobRunner(state.engine, state.settings, state.renderer)
                runner.recover()
                state.jobs = runner
    return runner


@router.get("/jobs")
def job_list(request: Request, session: SessionDep, viewer: PageViewer) -> Response:
    """The signed-in person's recent jobs, newest first."""
    recent = jobs.recent_jobs(session, viewer)
    return render(request, "jobs/list.html", {"jobs": recent}, viewer=viewer)


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, session: SessionDep, viewer: PageViewer) -> Response:
    """A job's progress; once done, its download; once failed, the reason."""
    job = jobs.get_job(session, viewer, job_id)
    context = {"job": job, "interrupted": jobs.INTERRUPTED}
    return render(request, "jobs/job.html", context, viewer=viewer)


@router.get("/jobs/{job_id}/download")
def job_download(job_id: str, session: SessionDep, viewer: PageViewer) -> Response:
    """The file a finished job made."""
    job = jobs.download(session, viewer, job_id)
    assert job.result is not None
    return Response(
        job.result,
        media_type=job.media_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{job.file_name or "download"}"',
            "Cache-Control": "no-store",
        },
    )
