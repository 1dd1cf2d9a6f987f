"""Routes of placement documents: preview, generate, download, mark sent, a ZIP per school.

Coordinators act for every placement, teachers for their school's students;
documents exist only for current published placements (services/placements.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from mobility_match.api.deps import MAX_ID, EngineDep, RendererDep, SchoolStaff, SessionDep
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.documents.rendering import DocumentKind, document_title
from mobility_match.models import PlacementDocument, utcnow
from mobility_match.services import bundles, documents

router = APIRouter(prefix="/api", tags=["documents"], responses=SIGNED_IN)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID, description="The round's number.")]
StudentId = Annotated[str, Path(description="The student's id, as in students.csv.")]
SchoolId = Annotated[str, Path(description="The school's id.")]
DocumentId = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored document version.")]
Lang = Annotated[
    str | None,
    Query(
        max_length=8,
        description="fr, or the host country's language (de, pl, en); default: the "
        "document's first language (French for the student's letter and checklist, the "
        "host's language for the others).",
    ),
]

PDF = "application/pdf"
PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class DocumentPublic(BaseModel):
    id: int
    student_id: str
    kind: str
    lang: str
    title: str
    version: int
    issued_on: dt.date
    created_at: dt.datetime
    created_by: str
    sent_at: dt.datetime | None
    sent_by: str

    @classmethod
    def of(cls, document: PlacementDocument) -> DocumentPublic:
        return cls(
            id=document.id or 0,
            student_id=document.student_id,
            kind=document.kind,
            lang=document.lang,
            title=document_title(DocumentKind(document.kind), document.lang),
            version=document.version,
            issued_on=document.issued_on,
            created_at=document.created_at,
            created_by=document.created_by_name,
            sent_at=document.sent_at,
            sent_by=document.sent_by_name,
        )


class DocumentVersions(BaseModel):
    kind: str
    lang: str
    title: str
    changed: bool = Field(
        description="The placement's data changed since the latest version (or none exists): "
        "generating now makes a new version."
    )
    sent_version: int | None = Field(description="The latest version marked sent, if any.")
    versions: list[DocumentPublic] = Field(description="Newest first.")


class Generate(BaseModel):
    kind: DocumentKind
    lang: str | None = Field(default=None, max_length=8)


@router.get(
    "/rounds/{round_id}/placements/{student_id}/documents", responses=responses(404, 409, 410)
)
def list_documents(
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: SchoolStaff,
    renderer: RendererDep,
) -> list[DocumentVersions]:
    """Every document of a placement, in each language: its versions and which was sent."""
    listing = documents.versions(session, viewer, renderer, round_id, student_id, utcnow().date())
    return [
        DocumentVersions(
            kind=kind.value,
            lang=lang,
            title=document_title(kind, lang),
            changed=changed,
            sent_version=next((d.version for d in stored if d.sent_at is not None), None),
            versions=[DocumentPublic.of(d) for d in stored],
        )
        for kind, lang, changed, stored in listing
    ]


@router.post(
    "/rounds/{round_id}/placements/{student_id}/documents",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": DocumentPublic, "description": "The latest version: its text is unchanged."},
        **responses(404, 409, 410),
    },
)
def generate(
    round_id: RoundId,
    student_id: StudentId,
    body: Generate,
    session: SessionDep,
    viewer: SchoolStaff,
    renderer: RendererDep,
    response: Response,
) -> DocumentPublic:
    """Generate a document: 201 with a new version when its text changed, else 200 with
    the latest one."""
    document, new = documents.generate(
        session, viewer, renderer, round_id, student_id, body.kind, body.lang, utcnow().date()
    )
    response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
    return DocumentPublic.of(document)


@router.get(
    "/rounds/{round_id}/placements/{student_id}/documents/{kind}.{fmt}",
    response_class=Response,
    responses={200: {"content": {PDF: {}, "text/html": {}}}, **responses(404, 409, 410)},
)
def document_file(
    round_id: RoundId,
    student_id: StudentId,
    kind: DocumentKind,
    fmt: Literal["pdf", "html"],
    session: SessionDep,
    viewer: SchoolStaff,
    renderer: RendererDep,
    lang: Lang = None,
) -> Response:
    """The document as PDF (generated as a version if its text changed) or as an HTML
    preview (nothing stored)."""
    today = utcnow().date()
    if fmt == "html":
        html = documents.preview(session, viewer, renderer, round_id, student_id, kind, lang, today)
        # Defence in depth: names are escaped, and a preview runs no script whatever it holds.
        return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_POLICY})
    document, _new = documents.generate(
        session, viewer, renderer, round_id, student_id, kind, lang, today
    )
    return _pdf(document)


@router.get(
    "/documents/{document_id}.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}}, **responses(404)},
)
def stored_document(document_id: DocumentId, session: SessionDep, viewer: SchoolStaff) -> Response:
    """A stored version exactly as it was generated (e.g. the one that was sent)."""
    return _pdf(documents.get_document(session, viewer, document_id))


@router.post("/documents/{document_id}/sent", responses=responses(404))
def mark_sent(document_id: DocumentId, session: SessionDep, viewer: SchoolStaff) -> DocumentPublic:
    """Record that this version was sent or handed out (the first time counts)."""
    return DocumentPublic.of(documents.mark_sent(session, viewer, document_id))


@router.get(
    "/rounds/{round_id}/schools/{school_id}/documents.zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **responses(404, 409, 410)},
)
def school_bundle(
    round_id: RoundId,
    school_id: SchoolId,
    session: SessionDep,
    engine: EngineDep,
    viewer: SchoolStaff,
    renderer: RendererDep,
    request: Request,
    kind: Annotated[
        list[DocumentKind] | None,
        Query(description="Only these documents (repeat the parameter); default: all."),
    ] = None,
) -> StreamingResponse:
    """Every document of the school's current placements in the round, as one ZIP (a folder
    per student, and index.csv); changed documents get a new version first. The archive
    streams while the PDFs are rendered (a tenth of a second or two each)."""
    plan = bundles.plan_bundle(session, viewer, round_id, school_id, kind or ())
    return StreamingResponse(
        bundles.stream_bundle(
            engine, viewer, renderer, plan, utcnow().date(), request.app.state.render_pool
        ),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{plan.file_name}"'},
    )


def _pdf(document: PlacementDocument) -> Response:
    return Response(
        document.pdf,
        media_type=PDF,
        headers={
            "Content-Disposition": f'inline; filename="{documents.file_name(document)}"',
            "X-Document-Id": str(document.id),
            "X-Document-Version": str(document.version),
        },
    )
