"""Routes of a student's personal data: the export (a ZIP) and the erasure.

A student exports his or her own data; a teacher a student of the school (for a
minor, the parent asks the school); a coordinator anyone's, and erases. Someone
else's student answers 404 as a missing one does. services/personal_data.py
does the work and audits it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from mobility_match.access import Viewer
from mobility_match.api.deps import Coordinator, SessionDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.models import Role, utcnow
from mobility_match.services import personal_data

router = APIRouter(prefix="/api", tags=["personal data"], responses=SIGNED_IN)

StudentId = Annotated[str, Path(max_length=64, description="The student's id, as in students.csv.")]
Exporter = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER, Role.STUDENT))]
StudentViewer = Annotated[Viewer, Depends(allow(Role.STUDENT))]

ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "person.json and the PDFs."}
}


class ErasureRequest(BaseModel):
    confirm: str = Field(
        max_length=64, description="The student's id again: nothing is erased without it."
    )
    end_placement: bool = Field(
        default=False,
        description="Also end a current published placement (recorded as declined; a re-run "
        "gives the place to someone else). Without it such a student is refused (409).",
    )


class ErasurePublic(BaseModel):
    reference: str = Field(
        description="The opaque reference that replaces the student in what is kept."
    )
    deleted: dict[str, int] = Field(description="Rows deleted, per kind.")
    pseudonymised: dict[str, int] = Field(description="Rows kept under the reference, per kind.")


def zip_response(export: personal_data.PersonalData) -> Response:
    """The export as a ZIP download, never cached (the pages send it the same way)."""
    return Response(
        personal_data.export_zip(export),
        media_type="application/zip",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{personal_data.zip_name(export.student_id)}"'
            ),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/students/{student_id}/personal-data",
    response_class=Response,
    responses={**ZIP, **responses(404)},
)
def export_student(student_id: StudentId, session: SessionDep, viewer: Exporter) -> Response:
    """Everything stored about the student, as a ZIP: person.json (its keys explained in
    README.txt) and the stored PDFs. Students: their own; teachers: their school's."""
    return zip_response(personal_data.export_person(session, viewer, student_id))


@router.get("/me/personal-data", response_class=Response, responses=ZIP)
def export_mine(session: SessionDep, viewer: StudentViewer) -> Response:
    """Everything stored about you, as a ZIP (person.json and your documents as PDF)."""
    return zip_response(personal_data.export_person(session, viewer, viewer.student_id or ""))


@router.post("/students/{student_id}/erasure", responses=responses(404, 409))
def erase_student(
    student_id: StudentId, body: ErasureRequest, session: SessionDep, viewer: Coordinator
) -> ErasurePublic:
    """Erase the student: delete what only serves him or her, pseudonymise what the
    programme's accounts keep (past rounds' assignments and snapshots, the audit log), in
    one transaction; 409 while the student holds a current placement."""
    erasure = personal_data.erase_person(
        session,
        viewer,
        student_id,
        confirm=body.confirm,
        today=utcnow().date(),
        end_placement=body.end_placement,
    )
    return ErasurePublic(
        reference=erasure.reference,
        deleted=erasure.deleted,
        pseudonymised=erasure.pseudonymised,
    )
