"""Pages: importing files with a preview, for coordinators (students, offers) and partners
(their offers).

Sending a file imports nothing: it is kept as a draft (services/drafts.py) and
the browser goes to its preview (services/previews.py: what the import would
create, update or leave unchanged, or every problem by row and column). Only
"Apply" runs the import (services/imports.py, all or nothing) from the kept
bytes; "Abandon" forgets them. A draft is its uploader's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from mobility_match.access import Viewer
from mobility_match.api.deps import SessionDep
from mobility_match.api.imports import read_upload
from mobility_match.services import drafts, imports, previews
from mobility_match.services.drafts import DraftKind
from mobility_match.services.errors import ConfirmationNeeded, Refused
from mobility_match.uploads import shown_size
from mobility_match.web import csrf
from mobility_match.web.deps import CoordinatorPage, PartnerPage
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)


@dataclass(frozen=True)
class Place:
    """Where a kind of person uploads: the page's address and what may be uploaded there."""

    base: str
    kinds: tuple[DraftKind, ...]

    def action(self, kind: DraftKind) -> str:
        """Where the upload form of `kind` posts."""
        return f"{self.base}/{kind}" if len(self.kinds) > 1 else self.base


COORDINATOR = Place("/coordinator/imports", ("students", "offers"))
PARTNER = Place("/partner/upload", ("offers",))


def _form(
    request: Request,
    viewer: Viewer,
    place: Place,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    limit = _max_bytes(request)
    context = {
        "place": place,
        "errors": errors or {},
        "max_size": shown_size(limit, limit, up=False),
    }
    return render(request, "uploads/form.html", context, viewer=viewer, status_code=status_code)


def _max_bytes(request: Request) -> int:
    limit: int = request.app.state.settings.upload_max_bytes
    return limit


async def _upload(
    request: Request, session: SessionDep, viewer: Viewer, place: Place, kind: DraftKind
) -> Response:
    """The form's files (an empty file input sends a part without a file name: none)."""
    form = await request.form()  # already parsed by csrf.check, with the files spooled
    files = [part for part in form.getlist("file") if isinstance(part, UploadFile)]
    chosen = [upload for upload in files if upload.filename]
    # Reading the files and storing them blocks: not in the event loop.
    return await run_in_threadpool(_keep, request, session, viewer, place, kind, chosen)


def _keep(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    place: Place,
    kind: DraftKind,
    chosen: list[UploadFile],
) -> Response:
    """Keep the files as a draft and go to its preview; the form again when none was sent."""
    _ = gettext_for(request, viewer)
    if not chosen:
        return _form(request, viewer, place, {kind: _("Choose a file to upload.")}, 422)
    limit = _max_bytes(request)
    try:
        uploads = [read_upload(upload, limit) for upload in chosen]
    except HTTPException as error:
        return _form(request, viewer, place, {kind: str(error.detail)}, error.status_code)
    try:
        token = drafts.create_draft(session, viewer, kind, uploads)
    except Refused as error:
        return _form(request, viewer, place, {kind: error.message}, 422)
    return RedirectResponse(f"{place.base}/preview/{token}", status_code=303)


def _preview(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    place: Place,
    token: str,
    refusal: str = "",
) -> Response:
    draft = drafts.get_draft(session, viewer, token)
    shown = previews.preview(session, viewer, draft, max_bytes=_max_bytes(request))
    context = {
        "place": place,
        "token": token,
        "preview": shown,
        "refusal": refusal,
        "shown_rows": previews.SHOWN_ROWS,
    }
    status_code = 422 if refusal or not shown.applicable else 200
    return render(request, "uploads/preview.html", context, viewer=viewer, status_code=status_code)


def _apply(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    place: Place,
    token: str,
    confirm: str = "",
) -> Response:
    """Import the draft's files (all or nothing), forget them, and say what was done."""
    _ = gettext_for(request, viewer)
    draft = drafts.get_draft(session, viewer, token)
    limit = _max_bytes(request)
    try:
        if draft.kind == "students":
            (data, filename), *_rest = draft.files
            students = imports.import_students(
                session, viewer, data, filename, max_bytes=limit, confirm=confirm
            )
            counts = (students.created, students.updated, students.unchanged)
        else:
            offers = imports.import_offers(session, viewer, draft.files, max_bytes=limit)
            counts = (offers.created, offers.updated, offers.unchanged)
    except (Refused, ConfirmationNeeded) as error:
        # The database changed since the preview: show the preview as it is now.
        return _preview(request, session, viewer, place, token, error.message)
    drafts.delete_draft(session, viewer, token)
    response = RedirectResponse(place.base, status_code=303)
    message = _("Imported. Created: %(created)d; updated: %(updated)d; unchanged: %(unchanged)d.")
    created, updated, unchanged = counts
    set_flash(response, message % {"created": created, "updated": updated, "unchanged": unchanged})
    return response


def _discard(
    request: Request, session: SessionDep, viewer: Viewer, place: Place, token: str
) -> Response:
    _ = gettext_for(request, viewer)
    drafts.delete_draft(session, viewer, token)
    response = RedirectResponse(place.base, status_code=303)
    set_flash(response, _("The upload was abandoned; nothing was imported."))
    return response


# ---- coordinators ---------------------------------------------------------------------


@router.get("/coordinator/imports")
def coordinator_imports(request: Request, viewer: CoordinatorPage) -> Response:
    """Upload a students file or offers files, to preview what importing them would do."""
    return _form(request, viewer, COORDINATOR)


@router.post("/coordinator/imports/students")
async def coordinator_upload_students(
    request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """Keep a students file and show its preview."""
    return await _upload(request, session, viewer, COORDINATOR, "students")


@router.post("/coordinator/imports/offers")
async def coordinator_upload_offers(
    request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """Keep offers files and show their preview."""
    return await _upload(request, session, viewer, COORDINATOR, "offers")


@router.get("/coordinator/imports/preview/{draft}")
def coordinator_preview(
    draft: str, request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """What importing the uploaded file would do, or every problem by row and column."""
    return _preview(request, session, viewer, COORDINATOR, draft)


@router.post("/coordinator/imports/preview/{draft}/apply")
def coordinator_apply(
    draft: str,
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    confirm: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Import the previewed file; `confirm` confirms the students the preview flagged."""
    return _apply(request, session, viewer, COORDINATOR, draft, confirm)


@router.post("/coordinator/imports/preview/{draft}/discard")
def coordinator_discard(
    draft: str, request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """Forget the uploaded file without importing it."""
    return _discard(request, session, viewer, COORDINATOR, draft)


# ---- partners ---------------------------------------------------------------------------


@router.get("/partner/upload")
def partner_upload_page(request: Request, viewer: PartnerPage) -> Response:
    """Upload offers files of the partner's organisation, to preview them."""
    return _form(request, viewer, PARTNER)


@router.post("/partner/upload")
async def partner_upload(request: Request, session: SessionDep, viewer: PartnerPage) -> Response:
    """Keep the partner's offers files and show their preview."""
    return await _upload(request, session, viewer, PARTNER, "offers")


@router.get("/partner/upload/preview/{draft}")
def partner_preview(
    draft: str, request: Request, session: SessionDep, viewer: PartnerPage
) -> Response:
    """What importing the partner's files would do, or every problem by row and column."""
    return _preview(request, session, viewer, PARTNER, draft)


@router.post("/partner/upload/preview/{draft}/apply")
def partner_apply(
    draft: str, request: Request, session: SessionDep, viewer: PartnerPage
) -> Response:
    """Import the partner's previewed files."""
    return _apply(request, session, viewer, PARTNER, draft)


@router.post("/partner/upload/preview/{draft}/discard")
def partner_discard(
    draft: str, request: Request, session: SessionDep, viewer: PartnerPage
) -> Response:
    """Forget the partner's uploaded files without importing them."""
    return _discard(request, session, viewer, PARTNER, draft)
