"""Placement documents as printed and sent: generated, kept per version, marked sent.

A document is rendered from the placement's facts; a new version is stored
only when its text changes (the same text keeps its version and its date), and
marking a version sent records who sent it and when. PDF rendering takes a
good part of a second, so it always runs outside a database transaction: on
SQLite every transaction holds the write lock. The ZIP per school is in
services/bundles.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.documents.facts import DueStep, PlacementFacts, with_details
from mobility_match.documents.rendering import (
    DocumentKind,
    DocumentRenderer,
    available_languages,
)
from mobility_match.domain import Country
from mobility_match.models import (
    Assignment,
    PlacementDocument,
    Role,
    Round,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.checklists import my_checklist
from mobility_match.services.errors import Conflict, Forbidden, NotFound, Refused
from mobility_match.services.placements import (
    check_current,
    current_placement,
    due_step,
    facts_of,
    placement_steps,
)
from mobility_match.services.snapshots import snapshot_placement


@dataclass(frozen=True)
class Draft:
    """A document rendered to HTML, and whether it differs from the latest stored version."""

    assignment: Assignment
    kind: DocumentKind
    lang: str
    html: str
    fingerprint: str
    issued_on: dt.date
    latest: PlacementDocument | None

    @property
    def unchanged(self) -> bool:
        return self.latest is not None and self.latest.fingerprint == self.fingerprint


def choose_language(kind: DocumentKind, country: Country, lang: str | None) -> str:
    """The language asked for, or the document's default; Refused naming the valid ones."""
    valid = available_languages(kind, country)
    if lang is None:
        return valid[0]
    if lang not in valid:
        raise Refused(
            "This document does not exist in that language.",
            problems=[
                f"lang: {lang!r} is not available for the {kind.value} of a placement in "
                f"{country.value}; valid: {', '.join(valid)}"
            ],
        )
    return lang


def preview(
    session: Session,
    viewer: Viewer,
    renderer: DocumentRenderer,
    round_id: int,
    student_id: str,
    kind: DocumentKind,
    lang: str | None,
    today: dt.date,
) -> str:
    """The document's HTML as it would be generated now; nothing is stored."""
    assignment, round_ = current_placement(session, viewer, round_id, student_id)
    (draft,) = draft_documents(session, renderer, assignment, round_, [(kind, lang)], today)
    return draft.html


def generate(
    session: Session,
    viewer: Viewer,
    renderer: DocumentRenderer,
    round_id: int,
    student_id: str,
    kind: DocumentKind,
    lang: str | None,
    today: dt.date,
) -> tuple[PlacementDocument, bool]:
    """The document's latest version, stored first if its text changed; True when new."""
    assignment, round_ = current_placement(session, viewer, round_id, student_id)
    (draft,) = draft_documents(session, renderer, assignment, round_, [(kind, lang)], today)
    session.commit()  # end the read transaction before the slow rendering
    if draft.unchanged:
        assert draft.latest is not None
        return draft.latest, False
    stored = store_versions(session, viewer, [(draft, renderer.pdf(draft.html))])
    return stored[0], True


STUDENT_OWN_KINDS = (
    DocumentKind.STUDENT_LETTER,
    DocumentKind.CHECKLIST,
    DocumentKind.EUROPASS_MOBILITY,
)
"""The documents a student may produce for himself or herself (the Europass Mobility records
the student's own skills, to join to a CV); the rest are the school's."""


def generate_own(
    session: Session,
    viewer: Viewer,
    renderer: DocumentRenderer,
    kind: str,
    today: dt.date,
) -> PlacementDocument:
    """A student's own letter, checklist or Europass Mobility, for his or her current
    placement only, in the document's default language: stored as a version like the
    school's (the same text keeps its version); any other kind is NotFound, and so is a
    document when the student has no current placement."""
    if viewer.role is not Role.STUDENT or viewer.student_id is None:
        raise Forbidden("Only a student asks for his or her own documents here.")
    wanted = next((k for k in STUDENT_OWN_KINDS if k.value == kind), None)
    if wanted is None:
        raise NotFound(f"There is no document {kind!r} for students.")
    assignment, _steps = my_checklist(session, viewer)
    document, _new = generate(
        session, viewer, renderer, assignment.round_id, viewer.student_id, wanted, None, today
    )
    return document


def versions(
    session: Session,
    viewer: Viewer,
    renderer: DocumentRenderer,
    round_id: int,
    student_id: str,
    today: dt.date,
) -> list[tuple[DocumentKind, str, bool, list[PlacementDocument]]]:
    """Per document and language: whether the text changed since the latest version, and
    every stored version, newest first.

    A list page calls this for each placement, so it renders as little as it can: a
    document never generated has nothing to compare (it counts as changed, unrendered),
    and a generated one is rendered once, dated as its latest version, and compared."""
    assignment, round_ = current_placement(session, viewer, round_id, student_id)
    stored = session.exec(
        select(PlacementDocument)
        .where(
            PlacementDocument.round_id == round_id,
            PlacementDocument.student_id == student_id,
        )
        .order_by(col(PlacementDocument.version).desc())
    ).all()
    country = Country(assignment.country)
    facts, steps = _placement_facts(session, assignment, round_, today)
    listing = []
    for kind, asked in every_document(country):
        lang = choose_language(kind, country, asked)
        kept = [d for d in stored if d.kind == kind.value and d.lang == lang]
        changed = not kept or kept[0].fingerprint != _fingerprint(
            _html(renderer, kind, lang, facts, steps, kept[0].issued_on)
        )
        listing.append((kind, lang, changed, kept))
    return listing


def get_document(session: Session, viewer: Viewer, document_id: int) -> PlacementDocument:
    """A stored version within the viewer's scope (a teacher's school); 404 otherwise."""
    document = session.exec(
        access.documents(viewer).where(PlacementDocument.id == document_id)
    ).first()
    if document is None:
        raise NotFound(f"There is no document {document_id}.")
    return document


def mark_sent(session: Session, viewer: Viewer, document_id: int) -> PlacementDocument:
    """Record that this version was sent (the first time counts); audited."""
    document = get_document(session, viewer, document_id)
    if document.sent_at is None:
        document.sent_at = utcnow()
        document.sent_by = viewer.account_id
        document.sent_by_name = viewer.username
        session.add(document)
        _audit(session, viewer, "document.sent", document)
        session.commit()
    return document


def file_name(document: PlacementDocument) -> str:
    """A download name that says what the file is, in ASCII."""
    name = f"{document.student_id}-{document.kind}-{document.lang}-v{document.version}"
    return ascii_name(name) + ".pdf"


# ---- drafts and versions (also used by services/bundles.py) --------------------------


def every_document(country: Country) -> list[tuple[DocumentKind, str | None]]:
    """Every document of a placement in `country`, in each of its languages."""
    return [(kind, lang) for kind in DocumentKind for lang in available_languages(kind, country)]


def draft_documents(
    session: Session,
    renderer: DocumentRenderer,
    assignment: Assignment,
    round_: Round,
    wanted: Sequence[tuple[DocumentKind, str | None]],
    today: dt.date,
) -> list[Draft]:
    """Render the wanted documents of one placement to HTML, its facts gathered once.

    A document keeps the date of its latest version while its text is unchanged;
    a changed text is dated today.
    """
    country = Country(assignment.country)
    facts, steps = _placement_facts(session, assignment, round_, today)
    drafts = []
    for kind, asked in wanted:
        lang = choose_language(kind, country, asked)
        latest = session.exec(
            select(PlacementDocument)
            .where(
                PlacementDocument.round_id == assignment.round_id,
                PlacementDocument.student_id == assignment.student_id,
                PlacementDocument.kind == kind.value,
                PlacementDocument.lang == lang,
            )
            .order_by(col(PlacementDocument.version).desc())
        ).first()
        issued_on = latest.issued_on if latest else today
        html = _html(renderer, kind, lang, facts, steps, issued_on)
        if latest is not None and _fingerprint(html) != latest.fingerprint:
            issued_on = today
            html = _html(renderer, kind, lang, facts, steps, issued_on)
        drafts.append(Draft(assignment, kind, lang, html, _fingerprint(html), issued_on, latest))
    return drafts


def _placement_facts(
    session: Session, assignment: Assignment, round_: Round, today: dt.date
) -> tuple[PlacementFacts, list[DueStep]]:
    """A placement's facts (dated today) and checklist steps, gathered once for its documents."""
    steps = [
        due_step(step)
        for step in placement_steps(session, assignment.round_id, assignment.student_id)
    ]
    facts = facts_of(session, assignment, round_, steps, issued_on=today)
    # The optional details (working language, extra columns) from the snapshot, cached.
    student, offer = snapshot_placement(session, round_, assignment.student_id, assignment.offer_id)
    assert offer is not None, "documents are for placed students"
    return with_details(facts, student, offer), steps


def _html(
    renderer: DocumentRenderer,
    kind: DocumentKind,
    lang: str,
    facts: PlacementFacts,
    steps: list[DueStep],
    issued_on: dt.date,
) -> str:
    """One document's HTML, dated `issued_on` (only the checklist lists the steps)."""
    shown = steps if kind is DocumentKind.CHECKLIST else []
    return renderer.html(kind, lang, replace(facts, issued_on=issued_on), shown)


def store_versions(
    session: Session, viewer: Viewer, rendered: Sequence[tuple[Draft, bytes]]
) -> list[PlacementDocument]:
    """Write new versions in one short transaction, after checking the placements still hold."""
    documents = []
    for draft, pdf in rendered:
        assignment = session.get_one(Assignment, draft.assignment.id)
        check_current(assignment, session.get_one(Round, assignment.round_id))
        document = PlacementDocument(
            round_id=assignment.round_id,
            student_id=assignment.student_id,
            school_id=assignment.school_id,
            kind=draft.kind.value,
            lang=draft.lang,
            version=(draft.latest.version + 1) if draft.latest else 1,
            issued_on=draft.issued_on,
            fingerprint=draft.fingerprint,
            html=draft.html,
            pdf=pdf,
            created_by=viewer.account_id,
            created_by_name=viewer.username,
        )
        session.add(document)
        documents.append(document)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "Someone generated the same document at the same moment; ask again."
        ) from None
    for document in documents:
        _audit(session, viewer, "document.generate", document)
    session.commit()
    return documents


def _audit(session: Session, viewer: Viewer, action: str, document: PlacementDocument) -> None:
    audit.record(
        session,
        viewer,
        action,
        "placement_document",
        document.id or 0,
        round_id=document.round_id,
        student_id=document.student_id,
        kind=document.kind,
        lang=document.lang,
        version=document.version,
    )


def _fingerprint(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


def ascii_name(text: str) -> str:
    """Letters, digits, `-` and `_` only: safe as a file name in any archive tool."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9_-]+", "_", plain).strip("_") or "document"
