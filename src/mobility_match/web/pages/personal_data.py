"""Pages of personal data: "Mes données" for a student, a student's export for the school and
the coordinator, and the coordinator's erasure of a student after a confirmation step.

A thin layer over services/personal_data.py, which scopes, audits and does the work:
another school's student answers 404 as a missing one does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from mobility_match.access import Viewer
from mobility_match.api.deps import SessionDep
from mobility_match.api.personal_data import zip_response
from mobility_match.models import School, utcnow
from mobility_match.services import people, personal_data
from mobility_match.services.errors import Conflict, Refused
from mobility_match.web import csrf
from mobility_match.web.deps import CoordinatorPage, SchoolStaffPage, StudentPage
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)


@router.get("/student/personal-data")
def my_data(session: SessionDep, viewer: StudentPage) -> Response:
    """Everything stored about the signed-in student, as a ZIP."""
    return zip_response(personal_data.export_person(session, viewer, viewer.student_id or ""))


@router.get("/students/{student_id}/personal-data")
def student_data(student_id: str, session: SessionDep, viewer: SchoolStaffPage) -> Response:
    """Everything stored about a student of the school (any, for a coordinator), as a ZIP."""
    return zip_response(personal_data.export_person(session, viewer, student_id))


def _erasure_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    student_id: str,
    *,
    error: str = "",
    confirm_error: str = "",
    confirm: str = "",
    status_code: int = 200,
) -> Response:
    student = people.get_student(session, viewer, student_id)
    school = session.get(School, student.school_id)
    context = {
        "student": student,
        "school_name": school.name if school is not None and school.name else student.school_id,
        "placement": personal_data.current_placement(session, student_id, utcnow().date()),
        "error": error,
        "confirm_error": confirm_error,
        "confirm": confirm,
    }
    session.commit()
    return render(
        request, "personal_data/erasure.html", context, viewer=viewer, status_code=status_code
    )


@router.get("/coordinator/students/{student_id}/erasure")
def erasure_page(
    request: Request, student_id: str, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """What erasing the student deletes and keeps, and the form that confirms it."""
    return _erasure_page(request, session, viewer, student_id)


@router.post("/coordinator/students/{student_id}/erasure")
def erase(
    request: Request,
    student_id: str,
    session: SessionDep,
    viewer: CoordinatorPage,
    confirm: Annotated[str, Form(max_length=64)] = "",
    end_placement: Annotated[bool, Form()] = False,
) -> Response:
    """Erase the student once the id is typed again; the form again, saying why, if not."""
    _ = gettext_for(request, viewer)
    try:
        erasure = personal_data.erase_person(
            session,
            viewer,
            student_id,
            confirm=confirm,
            today=utcnow().date(),
            end_placement=end_placement,
        )
    except Refused:
        message = _("Type the student's id exactly as shown to confirm the erasure.")
        return _erasure_page(
            request,
            session,
            viewer,
            student_id,
            confirm_error=message,
            confirm=confirm,
            status_code=422,
        )
    except Conflict:
        message = _(
            "The student holds a placement that is being prepared: tick the box to end it "
            "(recorded as declined), or have the student decline it first."
        )
        return _erasure_page(
            request, session, viewer, student_id, error=message, confirm=confirm, status_code=409
        )
    response = RedirectResponse("/coordinator", status_code=303)
    set_flash(
        response,
        _("The student was erased. What the programme keeps now bears the reference %(ref)s.")
        % {"ref": erasure.reference},
    )
    return response
