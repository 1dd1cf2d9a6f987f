"""A school's placement documents as one ZIP, streamed while the PDFs are rendered.

Rendering a PDF takes a few tenths of a second, so a school's bundle (six
documents per placed student) takes tens of seconds. The archive is therefore
streamed: each document is added as soon as it is rendered, which keeps the
connection busy and the memory flat. Changed documents get a new version first,
each in its own short transaction, exactly as if generated one by one. The
scope and the state of the round are checked before the first byte
(`plan_bundle`); a placement that stops being current meanwhile is left out and
listed, with the reason, in the archive's index.csv.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import deque
from collections.abc import Collection, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import Engine
from sqlmodel import Session, col

from mobility_match import access, exports
from mobility_match.access import Viewer
from mobility_match.documents.rendering import DocumentKind, DocumentRenderer
from mobility_match.domain import Country
from mobility_match.models import Assignment
from mobility_match.services import audit
from mobility_match.services.documents import (
    Draft,
    ascii_name,
    draft_documents,
    every_document,
    file_name,
    store_versions,
)
from mobility_match.services.errors import Conflict, ServiceError
from mobility_match.services.people import get_school
from mobility_match.services.placements import (
    check_round_current,
    current_placement,
    is_current,
)
from mobility_match.services.render_pool import RenderPool
from mobility_match.services.rounds import get_round

INDEX_COLUMNS = (
    "student_id",
    "last_name",
    "first_name",
    "document",
    "lang",
    "version",
    "new_version",
    "sent_at",
    "file",
    "left_out_because",
)


@dataclass(frozen=True)
class BundlePlan:
    """Whose documents go in a school's bundle, checked before streaming starts."""

    round_id: int
    school_id: str
    student_ids: tuple[str, ...]
    kinds: frozenset[DocumentKind]

    @property
    def file_name(self) -> str:
        return ascii_name(f"round-{self.round_id}-{self.school_id}-documents") + ".zip"


def plan_bundle(
    session: Session,
    viewer: Viewer,
    round_id: int,
    school_id: str,
    kinds: Collection[DocumentKind] = (),
) -> BundlePlan:
    """The school's current placements in the round, and the documents wanted of each
    (all when `kinds` is empty); 404 out of scope, 409/410 if none."""
    get_school(session, viewer, school_id)
    round_ = get_round(session, viewer, round_id)
    check_round_current(round_)
    placements = session.exec(
        access.assignments(viewer)
        .where(
            Assignment.round_id == round_id,
            Assignment.school_id == school_id,
            is_current(),
        )
        .order_by(col(Assignment.last_name), col(Assignment.first_name))
    ).all()
    if not placements:
        raise Conflict(
            f"School {school_id} has no current placement in round {round_id}: none placed, "
            "or every one declined or withdrawn."
        )
    session.commit()
    return BundlePlan(
        round_id,
        school_id,
        tuple(a.student_id for a in placements),
        frozenset(kinds or DocumentKind),
    )


class _Chunks(io.RawIOBase):
    """A write-only, unseekable sink: zipfile writes into it, the stream takes what came."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def stream_bundle(
    engine: Engine,
    viewer: Viewer,
    renderer: DocumentRenderer,
    plan: BundlePlan,
    today: dt.date,
    pool: RenderPool | None = None,
) -> Iterator[bytes]:
    """Yield the ZIP archive piece by piece: one folder per student, then index.csv.

    With a `pool` of several processes, the documents of the next students render while
    those of the first are stored and written; the archive's order and content are the same.
    """
    pool = pool or RenderPool(renderer, 1)
    sink = _Chunks()
    index: list[dict[str, object]] = []
    counts = {"documents": 0, "new_versions": 0}
    in_flight: deque[_Student] = deque()
    # Documents queued behind the student being written: enough that no process waits
    # while this one waits for that student's slowest document, or drafts the next.
    window = 4 * pool.processes
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:

        def write_first() -> Iterator[bytes]:
            student = in_flight.popleft()
            yield from _write_student(engine, viewer, student, archive, sink, index, counts)

        for student_id in plan.student_ids:
            with Session(engine, expire_on_commit=False) as session:
                try:
                    assignment, round_ = current_placement(
                        session, viewer, plan.round_id, student_id
                    )
                except ServiceError as refusal:
                    index.append({"student_id": student_id, "left_out_because": refusal.message})
                    continue
                wanted = [
                    (kind, lang)
                    for kind, lang in every_document(Country(assignment.country))
                    if kind in plan.kinds
                ]
                drafts = draft_documents(session, renderer, assignment, round_, wanted, today)
                session.commit()  # no transaction open while rendering
            rendering = [None if draft.unchanged else pool.submit(draft.html) for draft in drafts]
            in_flight.append(_Student(assignment, drafts, rendering))
            while in_flight and (in_flight[0].rendered or _queued_behind(in_flight) >= window):
                yield from write_first()
        while in_flight:
            yield from write_first()
        archive.writestr("index.csv", _index_csv(index))
    yield sink.take()
    with Session(engine) as session:
        audit.record(
            session,
            viewer,
            "document.bundle",
            "school",
            plan.school_id,
            round_id=plan.round_id,
            documents=counts["documents"],
            new_versions=counts["new_versions"],
        )
        session.commit()


@dataclass
class _Student:
    """A student's documents on their way into the archive: PDFs rendering for the new ones."""

    assignment: Assignment
    drafts: list[Draft]
    rendering: list[Future[bytes] | None]

    @property
    def rendering_count(self) -> int:
        return sum(1 for future in self.rendering if future is not None and not future.done())

    @property
    def rendered(self) -> bool:
        """Every new document's PDF is there: writing the student waits for nothing."""
        return self.rendering_count == 0


def _queued_behind(in_flight: deque[_Student]) -> int:
    """The documents still rendering for the students after the first."""
    return sum(student.rendering_count for student in islice(in_flight, 1, None))


def _write_student(
    engine: Engine,
    viewer: Viewer,
    student: _Student,
    archive: zipfile.ZipFile,
    sink: _Chunks,
    index: list[dict[str, object]],
    counts: dict[str, int],
) -> Iterator[bytes]:
    """Store the student's new versions, add every document to the archive, yield after each."""
    assignment = student.assignment
    folder = ascii_name(f"{assignment.last_name}-{assignment.first_name}-{assignment.student_id}")
    for draft, rendering in zip(student.drafts, student.rendering, strict=True):
        if rendering is None:
            assert draft.latest is not None
            document = draft.latest
        else:
            pdf = rendering.result()
            with Session(engine, expire_on_commit=False) as session:
                try:
                    (document,) = store_versions(session, viewer, [(draft, pdf)])
                except ServiceError as refusal:
                    index.append(
                        {"student_id": assignment.student_id, "left_out_because": refusal.message}
                    )
                    break
            counts["new_versions"] += 1
        member = f"{folder}/{file_name(document)}"
        archive.writestr(member, document.pdf)
        counts["documents"] += 1
        index.append(
            {
                "student_id": assignment.student_id,
                "last_name": assignment.last_name,
                "first_name": assignment.first_name,
                "document": draft.kind.value,
                "lang": draft.lang,
                "version": document.version,
                "new_version": not draft.unchanged,
                "sent_at": document.sent_at.isoformat() if document.sent_at else "",
                "file": member,
            }
        )
        yield sink.take()


def _index_csv(rows: list[dict[str, object]]) -> bytes:
    """What the archive holds (and leaves out), safe to open in a spreadsheet."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=INDEX_COLUMNS, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: exports.defuse(value) for key, value in row.items()})
    return ("\ufeff" + text.getvalue()).encode("utf-8")
