"""Routes importing the CONTRACT.md files over HTTP: students (coordinators) and offers.

The request body as a whole is bounded by api/limits.py before it is spooled;
each upload is then read in chunks and refused (413, naming the file) as soon
as it passes the size limit, so a large body is never held in memory. The rest
(file type, workbook checks, every cell) is services/imports.py's and
uploads.py's job, with the command line's messages naming the client's file.
Nothing is stored when anything is wrong.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile, status
from starlette.datastructures import UploadFile as AnyUpload

from mobility_match.access import Viewer
from mobility_match.api.deps import Coordinator, SessionDep, SettingsDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.models import Role
from mobility_match.services import imports
from mobility_match.uploads import upload_name

router = APIRouter(prefix="/api/imports", tags=["imports"], responses=SIGNED_IN)

Host = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.PARTNER))]

_CHUNK = 1024 * 1024


def read_upload(upload: AnyUpload, limit: int) -> tuple[bytes, str]:
    """The upload's bytes and client file name; 413 as soon as it passes `limit` bytes."""
    filename = upload.filename or ""
    parts: list[bytes] = []
    size = 0
    while chunk := upload.file.read(min(_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{upload_name(filename)} is larger than the upload limit of {limit:,} bytes; "
                "split it into smaller files, or remove rows and columns that are not needed.",
            )
    return b"".join(parts), filename


StudentsFile = Annotated[UploadFile, File(description="A students file, .csv or .xlsx.")]


@router.post("/students/dry-run", responses=responses(413))
def plan_students_import(
    file: StudentsFile, session: SessionDep, viewer: Coordinator, settings: SettingsDep
) -> imports.StudentsPlanned:
    """What importing a students file would do, writing nothing: how many students it
    creates, updates and leaves unchanged, and `to_confirm`, the stored students whose
    name or birth date it changes or who are in a published round, with the
    `confirmation` code the import needs for them. 422 lists every problem."""
    data, filename = read_upload(file, settings.upload_max_bytes)
    return imports.plan_students(
        session, viewer, data, filename, max_bytes=settings.upload_max_bytes
    )


@router.post("/students", responses=responses(409, 413))
def import_students(
    file: StudentsFile,
    session: SessionDep,
    viewer: Coordinator,
    settings: SettingsDep,
    confirm: Annotated[
        str,
        Form(
            max_length=64,
            description="The `confirmation` code of a dry run (or of a 409), when the file "
            "changes who stored students are or students in a published round.",
        ),
    ] = "",
) -> imports.StudentsImported:
    """Import a students file, all or nothing; 422 lists every problem as FILE:ROW:COLUMN.

    A file that changes the name or birth date of stored students, or students in a
    published round, is imported only with `confirm` set to the code of that list;
    otherwise 409 (type `…/confirmation-needed`) names them in `to_confirm`, with the
    code in `confirmation`, and nothing is written.
    """
    data, filename = read_upload(file, settings.upload_max_bytes)
    return imports.import_students(
        session, viewer, data, filename, max_bytes=settings.upload_max_bytes, confirm=confirm
    )


@router.post("/offers", responses=responses(409, 413))
def import_offers(
    file: Annotated[
        list[UploadFile], File(description="One or more offers files (repeat the field).")
    ],
    session: SessionDep,
    viewer: Host,
    settings: SettingsDep,
) -> imports.OffersImported:
    """Import offers files, all or nothing; a partner only its own offers; 422 lists all."""
    uploads = [read_upload(upload, settings.upload_max_bytes) for upload in file]
    return imports.import_offers(session, viewer, uploads, max_bytes=settings.upload_max_bytes)
