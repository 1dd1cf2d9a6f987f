"""Pages of a teacher: the school's students and their preparation, inviting a student,
the school's contact details, and the school's placement documents (also for coordinators).

Each route asks who is asking (web/deps.py), calls the services the API calls
(people, checklists, invitations, documents, jobs, follow_up) and renders a
template of `templates/web/teacher/`. A teacher sees only his or her school:
another school's student, document or page answers 404.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.api.deps import RendererDep, SessionDep, SettingsDep
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.models import (
    Assignment,
    ChecklistStep,
    PlacementDocument,
    SchoolKind,
    utcnow,
)
from mobility_match.services import (
    answers,
    checklists,
    documents,
    follow_up,
    host_review,
    invitations,
    jobs,
    mail,
    people,
)
from mobility_match.services.checklists import MAY_TICK
from mobility_match.services.errors import Refused, ServiceError
from mobility_match.services.follow_up import Standing
from mobility_match.web import csrf
from mobility_match.web.deps import SchoolStaffPage, TeacherPage, safe_next
from mobility_match.web.pages.follow_up import student_evaluation
from mobility_match.web.pages.jobs import job_runner
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

STUDENTS_PER_PAGE = 50
PLACEMENTS_PER_PAGE = 10
"""Placements per page of the documents page (each lists five to six documents)."""
RECENT_JOBS = 5
"""The school's ZIP jobs the documents page lists."""


def _school_of(viewer: Viewer) -> str:
    return viewer.school_id or ""


# ---- the school's students -------------------------------------------------------------


@router.get("/teacher")
def students_page(
    request: Request,
    session: SessionDep,
    viewer: TeacherPage,
    state: Annotated[Standing | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The school's students with their placement, answer and checklist progress."""
    found = follow_up.school_follow_up(
        session,
        viewer,
        _school_of(viewer),
        utcnow().date(),
        standing=state,
        limit=STUDENTS_PER_PAGE,
        offset=(page - 1) * STUDENTS_PER_PAGE,
    )
    pages = max(1, math.ceil(found.count / STUDENTS_PER_PAGE))

    def page_url(number: int) -> str:
        return f"/teacher?page={number}" + (f"&state={state.value}" if state else "")

    context = {
        "found": found,
        "state": state.value if state else "",
        "standings": list(Standing),
        "control": found.school.kind is SchoolKind.CONTROL,
        "page": page,
        "pages": pages,
        "page_url": page_url,
    }
    return render(request, "teacher/students.html", context, viewer=viewer)


@router.get("/teacher/students/{student_id}")
def student_page(
    student_id: str,
    request: Request,
    session: SessionDep,
    viewer: TeacherPage,
    renderer: RendererDep,
) -> Response:
    """One student: the placement, the checklist to tick, the documents, the invitation."""
    student = people.get_student(session, viewer, student_id)
    round_ = follow_up.current_round(session, viewer)
    assignment = (
        follow_up.student_assignment(session, viewer, round_.id, student_id)
        if round_ is not None and round_.id is not None
        else None
    )
    steps: list[ChecklistStep] = []
    listing: list[dict[str, Any]] = []
    not_current = ""
    if assignment is not None and assignment.offer_id is not None:
        try:
            _current, steps = checklists.checklist(session, viewer, assignment.round_id, student_id)
            listing = _documents_of(session, viewer, renderer, assignment)
        except ServiceError as refusal:
            not_current = refusal.message
    # Who answered, through whose link; and what became of the newest link.
    origin = answers.answer_origin(session, assignment) if assignment is not None else None
    link = invitations.last_link(session, viewer, student_id)
    evaluation = student_evaluation(request, session, viewer, student, assignment)
    session.commit()
    may_tick = {actor.value for actor in MAY_TICK.get(viewer.role, frozenset())}
    context = {
        "student": student,
        "round": round_,
        "assignment": assignment,
        "origin": origin,
        "link": link,
        "standing": follow_up.standing_of(assignment).value,
        "steps": steps,
        "today": utcnow().date(),
        "may_tick": may_tick,
        "documents": listing,
        "not_current": not_current,
        "host_review": (
            host_review.review_state(session, viewer, assignment.round_id, student_id)
            if assignment is not None
            else None
        ),
        "back": f"/teacher/students/{student_id}",
        **evaluation,
    }
    return render(request, "teacher/student.html", context, viewer=viewer)


@router.post("/teacher/students/{student_id}/steps/{step_id}")
def tick_step(
    student_id: str,
    step_id: int,
    request: Request,
    session: SessionDep,
    viewer: TeacherPage,
    done: Annotated[bool, Form()] = True,
) -> Response:
    """Tick a step done (or not done again), then back to the student's checklist."""
    people.get_student(session, viewer, student_id)
    step = checklists.tick(session, viewer, step_id, done=done)
    _ = gettext_for(request, viewer)
    message = _("Step marked done: %(title)s") if done else _("Step marked not done: %(title)s")
    response = RedirectResponse(f"/teacher/students/{student_id}#checklist", status_code=303)
    set_flash(response, message % {"title": step.title})
    return response


@router.post("/teacher/students/{student_id}/invitation")
def invite(
    student_id: str,
    request: Request,
    session: SessionDep,
    viewer: TeacherPage,
    settings: SettingsDep,
) -> Response:
    """A new invitation link, shown once with its QR code (never stored, never redirected)."""
    student = people.get_student(session, viewer, student_id)
    token, credential = invitations.invite_student(session, viewer, student_id, settings=settings)
    url = invitations.invitation_url(settings, token)
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2)
    assert credential.id is not None
    context = {
        "student": student,
        "url": url,
        "qr": qr,
        "expires_at": credential.expires_at,
        "mails": mail.invitation_mails(session, credential.id),
    }
    response = render(request, "teacher/invitation.html", context, viewer=viewer)
    # The link is a password for one sign-in: no cookie, no cache, no referrer carries it.
    del response.headers["set-cookie"]
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# ---- the school's contact details -----------------------------------------------------------


@router.get("/teacher/school")
def school_page(request: Request, session: SessionDep, viewer: TeacherPage) -> Response:
    """The school's contact details, to edit (they appear on the letters)."""
    school = people.get_school(session, viewer, _school_of(viewer))
    values = {field: getattr(school, field) for field in people.SCHOOL_CONTACT}
    return _school_form(request, viewer, school.name or school.school_id, values, {})


@router.post("/teacher/school")
def save_school(
    request: Request,
    session: SessionDep,
    viewer: TeacherPage,
    address: Annotated[str, Form(max_length=2000)] = "",
    city: Annotated[str, Form(max_length=2000)] = "",
    contact_name: Annotated[str, Form(max_length=2000)] = "",
    contact_email: Annotated[str, Form(max_length=2000)] = "",
    phone: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save the school's contact details; every problem is shown next to its field."""
    values = {
        "address": address,
        "city": city,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "phone": phone,
    }
    try:
        school = people.update_school_contact(session, viewer, _school_of(viewer), **values)
    except Refused as refusal:
        school = people.get_school(session, viewer, _school_of(viewer))
        errors: dict[str, str] = {}
        for problem in refusal.problems:
            field, _sep, sentence = problem.partition(": ")
            errors[field] = sentence
        name = school.name or school.school_id
        return _school_form(request, viewer, name, values, errors, status_code=422)
    _ = gettext_for(request, viewer)
    response = RedirectResponse("/teacher/school", status_code=303)
    set_flash(
        response,
        _("The contact details of %(school)s are saved; the next letters print them.")
        % {"school": school.name or school.school_id},
    )
    return response


def _school_form(
    request: Request,
    viewer: Viewer,
    name: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    context = {"school_name": name, "values": values, "errors": errors}
    return render(request, "teacher/school.html", context, viewer=viewer, status_code=status_code)


# ---- documents ---------------------------------------------------------------------------


def _documents_of(
    session: Session, viewer: Viewer, renderer: DocumentRenderer, assignment: Assignment
) -> list[dict[str, Any]]:
    """A placement's documents, per kind and language: the latest version, the one sent,
    and whether the placement changed since the latest."""
    rows = []
    for kind, lang, changed, stored in documents.versions(
        session, viewer, renderer, assignment.round_id, assignment.student_id, utcnow().date()
    ):
        latest: PlacementDocument | None = stored[0] if stored else None
        sent = next((d for d in stored if d.sent_at is not None), None)
        rows.append(
            {
                "kind": kind.value,
                "lang": lang,
                "changed": changed,
                "latest": latest,
                "sent": sent,
                "pdf": f"/api/rounds/{assignment.round_id}/placements/"
                f"{assignment.student_id}/documents/{kind.value}.pdf?lang={lang}",
            }
        )
    return rows


@router.get("/teacher/documents")
def my_documents(viewer: TeacherPage) -> Response:
    """The teacher's school's documents page."""
    return RedirectResponse(f"/schools/{_school_of(viewer)}/documents", status_code=303)


@router.get("/schools/{school_id}/documents")
def documents_page(
    school_id: str,
    request: Request,
    session: SessionDep,
    viewer: SchoolStaffPage,
    renderer: RendererDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """For each current placement of the school: each document, its versions, whether it
    was sent; the school's ZIP as a background job, and the recent jobs."""
    school = people.get_school(session, viewer, school_id)
    round_ = follow_up.current_round(session, viewer)
    placements: list[Assignment] = []
    if round_ is not None and round_.id is not None:
        placements = follow_up.current_placements(session, viewer, round_.id, school_id)
    pages = max(1, math.ceil(len(placements) / PLACEMENTS_PER_PAGE))
    shown = placements[(page - 1) * PLACEMENTS_PER_PAGE : page * PLACEMENTS_PER_PAGE]
    listing = [(a, _documents_of(session, viewer, renderer, a)) for a in shown]
    recent = jobs.recent_jobs(session, viewer, RECENT_JOBS, school_id=school_id)
    session.commit()

    def page_url(number: int) -> str:
        return f"/schools/{school_id}/documents?page={number}"

    context = {
        "school": school,
        "round": round_,
        "count": len(placements),
        "listing": listing,
        "kinds": [kind.value for kind in DocumentKind],
        "jobs": recent,
        "page": page,
        "pages": pages,
        "page_url": page_url,
        "back": f"/schools/{school_id}/documents" + (f"?page={page}" if page > 1 else ""),
    }
    return render(request, "teacher/documents.html", context, viewer=viewer)


@router.post("/schools/{school_id}/documents/{document_id}/sent")
def mark_sent(
    school_id: str,
    document_id: int,
    request: Request,
    session: SessionDep,
    viewer: SchoolStaffPage,
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record that a version was sent; back to the page it was marked from."""
    people.get_school(session, viewer, school_id)
    document = documents.mark_sent(session, viewer, document_id)
    _ = gettext_for(request, viewer)
    target = safe_next(next, f"/schools/{school_id}/documents")
    response = RedirectResponse(target, status_code=303)
    set_flash(
        response,
        _("Version %(version)d of this document is marked sent.") % {"version": document.version},
    )
    return response


@router.post("/schools/{school_id}/documents/zip")
def start_zip(
    school_id: str,
    request: Request,
    session: SessionDep,
    viewer: SchoolStaffPage,
    settings: SettingsDep,
    kind: Annotated[list[DocumentKind] | None, Form()] = None,
) -> Response:
    """Start building the school's ZIP in the background (all documents, or the kinds
    ticked); to its progress page."""
    kinds = kind or []
    round_ = follow_up.current_round(session, viewer)
    if round_ is None or round_.id is None:
        _ = gettext_for(request, viewer)
        raise Refused(_("There is no published round, so there are no documents yet."))
    job = jobs.create_documents_zip(session, viewer, round_.id, school_id, kinds, settings=settings)
    job_runner(request).start(job.id)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
