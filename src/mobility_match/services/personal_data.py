"""A student's personal data: everything stored about him or her, exported; erasure; retention.

`export_person` gathers every row that names a student (the record, the account,
its sessions and invitations without their secrets, assignments, locks and
snapshot entries of every round, checklist steps, stored documents, upload
drafts and jobs holding the student's row or documents, audit events about him
or her) into one `PersonalData`; `export_zip` makes the ZIP a person downloads:
`person.json` (the keys of EXPORT_KEYS) and `documents/*.pdf`.

`erase_person` (a coordinator's request) and `apply_retention` (the periodic
command) erase in one transaction: what only serves the person (record,
account, sessions, invitations, checklist, documents, drafts, jobs) is deleted;
what the programme's accounts and statistics need (assignments, locks and
snapshot entries of past rounds) is pseudonymised under an opaque reference,
keeping gender, trade, school, languages, dates and outcome; audit events about
the person are rewritten to carry the reference instead. The one event of the
erasure names only the reference. No HTTP here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, delete, func, or_, update
from sqlmodel import Session, SQLModel, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.matching.pairs import adult_from
from mobility_match.models import (
    Account,
    Assignment,
    AuditEvent,
    ChecklistStep,
    Credential,
    CredentialKind,
    FollowUpAnswer,
    HostReview,
    Job,
    KnownSignIn,
    LoginAttempt,
    OutboxMail,
    PlacementDocument,
    PlacementOutcome,
    Response,
    Role,
    Round,
    RoundLock,
    RoundSnapshot,
    RoundStatus,
    Student,
    SurveyLink,
    UploadDraft,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.documents import file_name
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.placements import is_current
from mobility_match.services.rows import chunks, require

FORMAT = "mobility_match personal data export, version 1"

EXPORT_KEYS: dict[str, str] = {
    "format": "This file's format and version.",
    "exported_at": "When the export was made (UTC).",
    "student_id": "The student's id, as in students.csv.",
    "student": "The student's record as imported (names, e-mail, gender, birth date, school, "
    "diploma, trade, languages, availability, choices, other columns such as a guardian).",
    "account": "The student's account (no password is ever stored for a student), or null.",
    "sessions": "Sessions and API tokens of the account: when opened, until when (no secret).",
    "invitations": "Invitation links issued: when, until when, when used (no secret).",
    "known_sign_ins": "Addresses the account signed in from, kept 90 days after last use.",
    "failed_sign_ins": "Failed sign-ins under the account's username: when, from where.",
    "assignments": "The student's outcome in every round (with the round's name and state): "
    "offer, company, country, dates, choice rank, reason when unplaced, the answer.",
    "round_locks": "Placements fixed by a coordinator in a round.",
    "round_snapshots": "The student's entry in the data each round was solved on.",
    "checklist_steps": "Preparation steps of the placements: due dates, done when, by whom.",
    "documents": "Generated documents (letters, agreement, certificate, checklist): each "
    "version, when sent; `file` is the PDF in this ZIP.",
    "upload_drafts": "Files uploaded for an import, waiting for their preview, that hold the "
    "student's row (the files hold other people's rows too and are not copied here).",
    "mails": "Mails sent (or to be sent) about the student, to him or her or to a parent or "
    "guardian, with their text and delivery state (without any sign-in link).",
    "jobs": "Background jobs started by the student, or whose result holds his or her "
    "documents (the result itself is not copied: the documents are in `documents`).",
    "audit_events": "Events of the audit log about the student, done by him or her, or "
    "naming him or her: when, who, what.",
    "placement_outcomes": "How each published placement ended (completed, interrupted: when "
    "and why, did not start), and when it was recorded.",
    "follow_up_answers": "The student's situation after the diploma at each wave of the "
    "follow-up (job, studies…, in the trade, country), and how it was told.",
    "host_reviews": "The host tutor's end-of-placement review: actual dates, days absent, "
    "skills observed, would host again, comment.",
    "survey_links": "Follow-up links mailed to the student, and review links mailed to the "
    "host about him or her: when, to whom, until when, when used, reminders (no secret).",
}
"""Each key of person.json and what it holds (also in docs/record-of-processing.md)."""

ERASED_PREFIX = "erased-"
"""How the opaque reference of an erased person starts (the rest is random)."""

EXPORT_ACTION = "person.export"
ERASE_ACTION = "person.erase"


def is_erased(student_id: str) -> bool:
    """Whether an id found in a round is the reference of an erased person."""
    return student_id.startswith(ERASED_PREFIX)


# ---- who the person is: the words that identify him or her ------------------------------


@dataclass(frozen=True)
class _Person:
    """A student and what identifies him or her in free text."""

    student: Student
    account: Account | None

    @property
    def student_id(self) -> str:
        return self.student.student_id

    @property
    def account_id(self) -> int | None:
        return self.account.id if self.account is not None else None

    def words(self) -> list[str]:
        """What names the person anywhere: id, names, e-mail, username, guardian's details."""
        student = self.student
        words = [
            student.student_id,
            f"{student.first_name} {student.last_name}",
            f"{student.last_name} {student.first_name}",
            student.email,
        ]
        if self.account is not None:
            words += [self.account.username, self.account.display_name]
        words += [value for key, value in student.extra.items() if key.startswith("guardian_")]
        unique = {word.strip() for word in words if len(word.strip()) >= 2}
        unique.add(student.student_id)  # however short
        return sorted(unique, key=len, reverse=True)  # the longest first when replacing

    def pattern(self, *, with_names: bool = False) -> re.Pattern[str]:
        """Any of `words()` as a whole word, any case; with the first and last names alone
        too when `with_names` (in what is known to be about the person)."""
        words = self.words()
        if with_names:
            names = (self.student.first_name.strip(), self.student.last_name.strip())
            words += sorted((name for name in names if len(name) >= 2), key=len, reverse=True)
        alternatives = "|".join(re.escape(word) for word in words)
        return re.compile(rf"(?<![\w@.-])(?:{alternatives})(?![\w@-])", re.IGNORECASE)

    @cached_property
    def mention(self) -> re.Pattern[str]:
        """What, in any text, names the person."""
        return self.pattern()

    @cached_property
    def about(self) -> re.Pattern[str]:
        """What names the person in a text known to be about him or her."""
        return self.pattern(with_names=True)

    def sieve(self) -> set[str]:
        """Tokens (`_tokens`) of which any text naming the person holds one: a quick sieve
        before `mention` decides."""
        keys: set[str] = set()
        for word in self.words():
            parts = _tokens(word)
            keys |= {part for part in parts if len(part) >= 3} or parts
        return keys


_TOKEN = re.compile(r"[\w@.'’-]+")


def _tokens(text: str) -> set[str]:
    """The words of a text, in lower case, as ids, e-mails and names are cut."""
    return {token.strip(".'’-").lower() for token in _TOKEN.findall(text)} - {""}


class _Matcher:
    """Which of some persons an audit event is about, by its object or author, or names."""

    def __init__(self, persons: Sequence[_Person]) -> None:
        self.by_id = {person.student_id: person for person in persons}
        self.by_account = {p.account_id: p for p in persons if p.account_id is not None}
        self.by_username = {p.account.username.lower(): p for p in persons if p.account}
        self.by_key: dict[str, list[_Person]] = {}
        for person in persons:
            for key in person.sieve():
                self.by_key.setdefault(key, []).append(person)

    def structural(self, event: AuditEvent) -> list[_Person]:
        """The persons the event is about by its object, or whose account did it."""
        found = []
        if event.object_type == "student":
            found.append(self.by_id.get(event.object_id))
        elif event.object_type == "assignment":
            found.append(self.by_id.get(event.object_id.rpartition("/")[2]))
        elif event.object_type == "account" and event.object_id.isdigit():
            found.append(self.by_account.get(int(event.object_id)))
        if event.account_id is not None:
            found.append(self.by_account.get(event.account_id))
        found.append(self.by_username.get(event.actor.lower()))
        return list({person.student_id: person for person in found if person}.values())

    def named(self, event: AuditEvent) -> list[_Person]:
        """The persons the event's details or object name."""
        text = json.dumps(event.details, ensure_ascii=False) + " " + event.object_id
        candidates = {
            person.student_id: person
            for token in _tokens(text)
            for person in self.by_key.get(token, ())
        }
        return [person for person in candidates.values() if person.mention.search(text)]


def _person(session: Session, student: Student) -> _Person:
    account = session.exec(select(Account).where(Account.student_id == student.student_id)).first()
    return _Person(student, account)


def _row(row: SQLModel, *exclude: str) -> dict[str, Any]:
    dumped: dict[str, Any] = row.model_dump(mode="json", exclude=set(exclude))
    return dumped


# ---- where the person is: one query (or scan) per kind of row ---------------------------


def _audit_candidates(person: _Person) -> ColumnElement[bool]:
    """Audit events that may be about the person (checked exactly in Python afterwards)."""
    sid = person.student_id
    conditions: list[ColumnElement[bool]] = [
        and_(col(AuditEvent.object_type) == "student", col(AuditEvent.object_id) == sid),
        and_(
            col(AuditEvent.object_type) == "assignment",
            col(AuditEvent.object_id).endswith(f"/{sid}", autoescape=True),
        ),
    ]
    if person.account is not None:
        conditions += [
            col(AuditEvent.account_id) == person.account_id,
            and_(
                col(AuditEvent.object_type) == "account",
                col(AuditEvent.object_id) == str(person.account_id),
            ),
            func.lower(col(AuditEvent.actor)) == person.account.username.lower(),
        ]
    text = func.lower(cast(col(AuditEvent.details), Text))
    for word in person.words():
        # As stored: JSON may escape letters beyond ASCII (\u00e8), or not.
        escaped = json.dumps(word)[1:-1]
        for form in {word.lower(), escaped.lower(), json.dumps(word.lower())[1:-1]}:
            conditions.append(text.contains(form, autoescape=True))
    return or_(*conditions)


def _audit_events(session: Session, person: _Person) -> list[AuditEvent]:
    """Every audit event about the person, done by him or her, or naming him or her."""
    matcher = _Matcher([person])
    query = select(AuditEvent).where(_audit_candidates(person)).order_by(col(AuditEvent.id))
    return [
        event for event in session.exec(query) if matcher.structural(event) or matcher.named(event)
    ]


def _snapshot_entries(session: Session, student_id: str) -> Iterator[tuple[RoundSnapshot, int]]:
    """Each round snapshot holding the student, with the index of his or her entry."""
    quoted = json.dumps(student_id)
    query = select(RoundSnapshot).where(
        cast(col(RoundSnapshot.students), Text).contains(quoted, autoescape=True)
    )
    for snapshot in session.exec(query.order_by(col(RoundSnapshot.round_id))):
        for index, entry in enumerate(snapshot.students):
            if entry.get("student_id") == student_id:
                yield snapshot, index
                break


def _upload_drafts(session: Session, student_id: str) -> list[UploadDraft]:
    drafts = session.exec(
        select(UploadDraft).where(UploadDraft.kind == "students").order_by(col(UploadDraft.id))
    ).all()
    return [draft for draft in drafts if student_id in _file_tokens(draft.content)]


def _bundle_students(result: bytes) -> set[str]:
    """The students a school's documents ZIP lists in its index.csv."""
    try:
        with zipfile.ZipFile(io.BytesIO(result)) as archive:
            if "index.csv" not in archive.namelist():
                return set()
            index = archive.read("index.csv").decode("utf-8-sig", "replace")
    except zipfile.BadZipFile:
        return set()
    return {row.get("student_id") or "" for row in csv.DictReader(io.StringIO(index))}


def _jobs(session: Session, person: _Person) -> list[Job]:
    """Jobs the student started, and jobs whose result holds his or her documents."""
    found = []
    own = col(Job.account_id) == person.account_id if person.account is not None else None
    school = and_(col(Job.school_id) == person.student.school_id, col(Job.result).is_not(None))
    query = select(Job).where(or_(school, own) if own is not None else school)
    for job in session.exec(query.order_by(col(Job.created_at))):
        if (person.account is not None and job.account_id == person.account_id) or (
            job.result is not None and person.student_id in _bundle_students(job.result)
        ):
            found.append(job)
    return found


def _credentials(session: Session, person: _Person) -> list[Credential]:
    if person.account is None:
        return []
    return list(
        session.exec(
            select(Credential)
            .where(Credential.account_id == person.account_id)
            .order_by(col(Credential.id))
        )
    )


# ---- export ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalData:
    """Everything stored about one student: `data` is person.json, `files` the PDFs."""

    student_id: str
    data: dict[str, Any]
    files: list[tuple[str, bytes]] = field(default_factory=list)


def _exportable(session: Session, viewer: Viewer, student_id: str) -> Student:
    """The student, if the viewer may export his or her data: the student him- or herself,
    a teacher of the school (for a minor, the parent asks there), any coordinator."""
    require(viewer, Role.COORDINATOR, Role.TEACHER, Role.STUDENT)
    student = session.exec(access.students(viewer).where(Student.student_id == student_id)).first()
    if student is None:
        raise NotFound(f"There is no student {student_id}.")
    return student


def export_person(session: Session, viewer: Viewer, student_id: str) -> PersonalData:
    """Everything stored about a student the viewer may see (404 otherwise); audited."""
    student = _exportable(session, viewer, student_id)
    person = _person(session, student)
    data = _gather(session, person)
    files = []
    documents = session.exec(
        select(PlacementDocument)
        .where(PlacementDocument.student_id == student_id)
        .order_by(col(PlacementDocument.id))
    ).all()
    for document in documents:
        name = f"documents/{document.round_id}-{file_name(document)}"
        files.append((name, document.pdf))
        data["documents"].append({**_row(document, "html", "pdf"), "file": name})
    audit.record(session, viewer, EXPORT_ACTION, "student", student_id)
    session.commit()
    return PersonalData(student_id, data, files)


def _gather(session: Session, person: _Person) -> dict[str, Any]:
    sid = person.student_id
    rounds = {round_.id: round_ for round_ in session.exec(select(Round))}

    def round_of(round_id: int) -> dict[str, Any]:
        round_ = rounds[round_id]
        return {
            "id": round_.id,
            "name": round_.name,
            "status": round_.status.value,
            "published_at": round_.published_at.isoformat() if round_.published_at else None,
        }

    credentials = _credentials(session, person)
    assignments = session.exec(
        select(Assignment).where(Assignment.student_id == sid).order_by(col(Assignment.round_id))
    ).all()
    known: Sequence[KnownSignIn] = []
    failed: Sequence[LoginAttempt] = []
    if person.account is not None:
        known = session.exec(
            select(KnownSignIn).where(KnownSignIn.account_id == person.account_id)
        ).all()
        failed = session.exec(
            select(LoginAttempt).where(
                func.lower(col(LoginAttempt.username)) == person.account.username.lower()
            )
        ).all()
    return {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "student_id": sid,
        "student": _row(person.student),
        "account": _row(person.account, "password_hash") if person.account else None,
        "sessions": [
            _row(c, "token_hash") for c in credentials if c.kind is not CredentialKind.INVITATION
        ],
        "invitations": [
            _row(c, "token_hash") for c in credentials if c.kind is CredentialKind.INVITATION
        ],
        "known_sign_ins": [_row(row) for row in known],
        "failed_sign_ins": [_row(row) for row in failed],
        "assignments": [{**_row(a), "round": round_of(a.round_id)} for a in assignments],
        "round_locks": [
            _row(lock)
            for lock in session.exec(
                select(RoundLock).where(RoundLock.student_id == sid).order_by(col(RoundLock.id))
            )
        ],
        "round_snapshots": [
            {"round": round_of(snapshot.round_id), "student": snapshot.students[index]}
            for snapshot, index in _snapshot_entries(session, sid)
        ],
        "checklist_steps": [
            _row(step)
            for step in session.exec(
                select(ChecklistStep)
                .where(ChecklistStep.student_id == sid)
                .order_by(col(ChecklistStep.round_id), col(ChecklistStep.position))
            )
        ],
        "documents": [],
        "upload_drafts": [_row(draft, "content") for draft in _upload_drafts(session, sid)],
        # Not the parameters, which list the school's other students.
        "mails": [
            _row(mail, "link")
            for mail in session.exec(
                select(OutboxMail).where(OutboxMail.student_id == sid).order_by(col(OutboxMail.id))
            )
        ],
        "jobs": [_row(job, "result", "params") for job in _jobs(session, person)],
        "audit_events": [_row(event) for event in _audit_events(session, person)],
        "placement_outcomes": _evaluation_rows(session, PlacementOutcome, sid, "round_id"),
        "follow_up_answers": _evaluation_rows(session, FollowUpAnswer, sid, "wave"),
        "host_reviews": _evaluation_rows(session, HostReview, sid, "round_id"),
        "survey_links": _evaluation_rows(session, SurveyLink, sid, "id", "token_hash"),
    }


_Evaluated = PlacementOutcome | FollowUpAnswer | HostReview | SurveyLink


def _evaluation_rows(
    session: Session, table: type[_Evaluated], sid: str, order: str, *hidden: str
) -> list[dict[str, Any]]:
    """The evaluation's rows about the student in `table`, by `order`, without `hidden`."""
    query = select(table).where(table.student_id == sid).order_by(getattr(table, order))
    return [_row(row, *hidden) for row in session.exec(query)]


def export_zip(export: PersonalData) -> bytes:
    """The export as a ZIP: person.json, README.txt (what each key holds) and the PDFs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "person.json", json.dumps(export.data, ensure_ascii=False, indent=2) + "\n"
        )
        keys = "\n".join(f"{key}: {meaning}" for key, meaning in EXPORT_KEYS.items())
        archive.writestr("README.txt", f"{FORMAT}\n\nperson.json holds:\n\n{keys}\n")
        for name, content in export.files:
            archive.writestr(name, content)
    return buffer.getvalue()


def zip_name(student_id: str) -> str:
    """The download's file name."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", student_id)[:64]
    return f"donnees-personnelles-{safe}.zip"


# ---- erasure --------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: the opaque reference and how many rows of each kind."""

    reference: str
    deleted: dict[str, int]
    pseudonymised: dict[str, int]


def current_placement(session: Session, student_id: str, today: dt.date) -> Assignment | None:
    """The student's placement in the current published round (not replaced by a re-run),
    neither declined nor withdrawn, and not over by `today`; None if there is none."""
    return session.exec(
        select(Assignment)
        .join(Round, col(Round.id) == col(Assignment.round_id))
        .where(
            Assignment.student_id == student_id,
            col(Round.status) == RoundStatus.PUBLISHED,
            col(Round.superseded_by).is_(None),
            is_current(),
            col(Assignment.end_date) >= today,
        )
    ).first()


def erase_person(
    session: Session,
    viewer: Viewer,
    student_id: str,
    *,
    confirm: str,
    today: dt.date,
    end_placement: bool = False,
) -> Erasure:
    """Erase a student (coordinators): `confirm` must repeat the id.

    A current published placement is refused unless `end_placement`, which records it as
    declined in the same transaction (its place is then filled by a re-run).
    """
    require(viewer, Role.COORDINATOR)
    student = session.exec(
        select(Student).where(Student.student_id == student_id).with_for_update()
    ).first()
    if student is None:
        raise NotFound(f"There is no student {student_id}.")
    if confirm.strip() != student_id:
        raise Refused(
            "The erasure was not confirmed.",
            problems=[f"confirm: type the student's id, {student_id}, to confirm the erasure."],
        )
    running = _running_rounds(session, [student_id])
    if running:
        session.rollback()
        raise Conflict(
            f"Round {running[0]} is being solved with student {student_id}; wait for the solve "
            "to end (or cancel it), then erase."
        )
    placement = current_placement(session, student_id, today)
    if placement is not None and not end_placement:
        session.rollback()
        raise Conflict(
            f"Student {student_id} holds a current placement ({placement.offer_id}, "
            f"{placement.company_name}) in published round {placement.round_id}, which the "
            "host and the school are preparing. End it first: the student declines it, or "
            "erase with end_placement to record it as declined; then re-run the round to give "
            "the place to someone else."
        )
    try:
        if placement is not None:
            placement.response = Response.DECLINED
            placement.responded_at = utcnow()
            placement.version += 1
            session.add(placement)
            audit.record(
                session,
                viewer,
                "assignment.decline",
                "assignment",
                f"{placement.round_id}/{student_id}",
                on_erasure=True,
            )
            session.flush()
        (erasure,) = _erase_all(session, viewer, [_person(session, student)], reason="request")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return erasure


UNDECIDED = (RoundStatus.DRAFT, RoundStatus.SOLVED)
"""Rounds whose outcome is not published: an erased person leaves them."""

FEW = 20
"""Up to this many persons, an erasure asks the database for their audit events and
snapshots; past it (retention) it reads each once and sorts them out itself."""


def _redact(value: Any, pattern: re.Pattern[str], reference: str) -> Any:
    """`value` (text, or JSON made of lists and objects) with `pattern` replaced."""
    if isinstance(value, str):
        return pattern.sub(reference, value)
    if isinstance(value, list):
        return [_redact(item, pattern, reference) for item in value]
    if isinstance(value, dict):
        return {key: _redact(item, pattern, reference) for key, item in value.items()}
    return value


def _running_rounds(session: Session, student_ids: Iterable[str]) -> list[int]:
    """The rounds being solved whose snapshot holds one of the students: a solve writes
    back what it read, so nobody is erased from under it."""
    wanted = set(student_ids)
    running = session.exec(
        select(RoundSnapshot)
        .join(Round, col(Round.id) == col(RoundSnapshot.round_id))
        .where(col(Round.status) == RoundStatus.RUNNING)
    ).all()
    return [
        snapshot.round_id
        for snapshot in running
        if any(entry["student_id"] in wanted for entry in snapshot.students)
    ]


def _erase_all(
    session: Session, viewer: Viewer | None, persons: Sequence[_Person], *, reason: str
) -> list[Erasure]:
    """Erase `persons` within the caller's transaction (no commit), one event each."""
    reference = {person.student_id: ERASED_PREFIX + secrets.token_hex(8) for person in persons}
    deleted: dict[str, dict[str, int]] = {person.student_id: {} for person in persons}
    kept: dict[str, dict[str, int]] = {
        person.student_id: {"audit_events": 0, "round_snapshots": 0} for person in persons
    }
    _rewrite_audit_events(session, persons, reference, kept)
    _rewrite_snapshots(session, persons, reference, kept)
    undecided = select(Round.id).where(col(Round.status).in_(UNDECIDED))
    for ids in chunks(list(reference)):
        for table in (Assignment, RoundLock):
            session.exec(
                delete(table)
                .where(col(table.student_id).in_(ids), col(table.round_id).in_(undecided))
                .execution_options(synchronize_session=False)
            )
        refs = case(reference, value=col(Assignment.student_id))
        _count(session, kept, "assignments", Assignment.student_id, ids)
        session.exec(
            update(Assignment)
            .where(col(Assignment.student_id).in_(ids))
            .values(student_id=refs, first_name="", last_name=refs, version=Assignment.version + 1)
            .execution_options(synchronize_session=False)
        )
        _count(session, kept, "round_locks", RoundLock.student_id, ids)
        session.exec(
            update(RoundLock)
            .where(col(RoundLock.student_id).in_(ids))
            .values(student_id=case(reference, value=col(RoundLock.student_id)))
            .execution_options(synchronize_session=False)
        )
        for name, column in (
            ("checklist_steps", ChecklistStep.student_id),
            ("documents", PlacementDocument.student_id),
        ):
            _count(session, deleted, name, column, ids)
            session.exec(
                delete(column.class_)  # type: ignore[attr-defined]
                .where(col(column).in_(ids))
                .execution_options(synchronize_session=False)
            )
        # The evaluation keeps outcomes and situations under the reference (a note may name
        # the person: it goes); the links, which hold the address, go.
        _count(session, kept, "placement_outcomes", PlacementOutcome.student_id, ids)
        session.exec(
            update(PlacementOutcome)
            .where(col(PlacementOutcome.student_id).in_(ids))
            .values(student_id=case(reference, value=col(PlacementOutcome.student_id)), note="")
            .execution_options(synchronize_session=False)
        )
        _count(session, kept, "follow_up_answers", FollowUpAnswer.student_id, ids)
        session.exec(
            update(FollowUpAnswer)
            .where(col(FollowUpAnswer.student_id).in_(ids))
            .values(student_id=case(reference, value=col(FollowUpAnswer.student_id)))
            .execution_options(synchronize_session=False)
        )
        # The host tutor's review too (its comment may name the person: it goes).
        _count(session, kept, "host_reviews", HostReview.student_id, ids)
        session.exec(
            update(HostReview)
            .where(col(HostReview.student_id).in_(ids))
            .values(student_id=case(reference, value=col(HostReview.student_id)), comment="")
            .execution_options(synchronize_session=False)
        )
        _count(session, deleted, "survey_links", SurveyLink.student_id, ids)
        session.exec(
            delete(SurveyLink)
            .where(col(SurveyLink.student_id).in_(ids))
            .execution_options(synchronize_session=False)
        )
        _count(session, deleted, "mails", OutboxMail.student_id, ids)
        session.exec(
            delete(OutboxMail)
            .where(col(OutboxMail.student_id).in_(ids))
            .execution_options(synchronize_session=False)
        )
    _delete_files(session, persons, deleted)
    accounts = [person for person in persons if person.account is not None]
    of_account: dict[int, str] = {}
    for person in accounts:
        if person.account_id is not None:
            of_account[person.account_id] = person.student_id
    for batch in chunks(list(of_account)):
        for account_id, kind in session.exec(
            select(Credential.account_id, Credential.kind).where(
                col(Credential.account_id).in_(batch)
            )
        ):
            done = deleted[of_account[account_id]]
            name = "invitations" if kind is CredentialKind.INVITATION else "sessions"
            done[name] = done.get(name, 0) + 1
        by_name = {
            person.account.username.lower(): person.student_id
            for person in accounts
            if person.account is not None and person.account_id in batch
        }
        for username, count in session.exec(
            select(func.lower(col(LoginAttempt.username)), func.count())
            .where(func.lower(col(LoginAttempt.username)).in_(list(by_name)))
            .group_by(func.lower(col(LoginAttempt.username)))
        ):
            deleted[by_name[username]]["failed_sign_ins"] = count
        _count(session, deleted, "known_sign_ins", KnownSignIn.account_id, batch, of_account)
        for statement in (
            delete(Credential).where(col(Credential.account_id).in_(batch)),
            delete(KnownSignIn).where(col(KnownSignIn.account_id).in_(batch)),
            delete(LoginAttempt).where(func.lower(col(LoginAttempt.username)).in_(list(by_name))),
        ):
            session.exec(statement.execution_options(synchronize_session=False))
    session.flush()
    for account_ids in chunks(list(of_account)):
        _let_go(session, account_ids)
        session.exec(delete(Account).where(col(Account.id).in_(account_ids)))
    for ids in chunks([person.student_id for person in persons]):
        session.exec(delete(Student).where(col(Student.student_id).in_(ids)))
    erasures = []
    for person in persons:
        sid = person.student_id
        deleted[sid]["account"] = int(person.account is not None)
        deleted[sid]["student"] = 1
        audit.record(
            session,
            viewer,
            ERASE_ACTION,
            "person",
            reference[sid],
            reason=reason,
            deleted=deleted[sid],
            pseudonymised=kept[sid],
        )
        erasures.append(Erasure(reference[sid], deleted[sid], kept[sid]))
    session.flush()
    return erasures


def _count(
    session: Session,
    counts: dict[str, dict[str, int]],
    name: str,
    column: Any,
    keys: Sequence[Any],
    student_of: dict[Any, str] | None = None,
) -> None:
    """Add to `counts[student][name]` how many rows have each of `keys` in `column` (keys
    are student ids, or what `student_of` turns into one)."""
    for key, count in session.exec(
        select(column, func.count()).where(col(column).in_(keys)).group_by(column)
    ):
        student_id = student_of[key] if student_of is not None else key
        counts[student_id][name] = counts[student_id].get(name, 0) + count


def _rewrite_audit_events(
    session: Session,
    persons: Sequence[_Person],
    reference: dict[str, str],
    kept: dict[str, dict[str, int]],
) -> None:
    """Audit events about the persons carry their references instead of what names them."""
    matcher = _Matcher(persons)
    query = select(AuditEvent).order_by(col(AuditEvent.id))
    if len(persons) <= FEW:
        query = query.where(or_(*(_audit_candidates(person) for person in persons)))
    for event in session.exec(query.execution_options(yield_per=1000)):
        structural = matcher.structural(event)
        named = matcher.named(event)
        if not structural and not named:
            continue
        about = {person.student_id for person in structural}
        for person in {p.student_id: p for p in structural + named}.values():
            sid, ref = person.student_id, reference[person.student_id]
            pattern = person.about if sid in about else person.mention
            if event.object_type == "student" and event.object_id == sid:
                event.object_id = ref
            elif event.object_type == "assignment" and event.object_id.endswith(f"/{sid}"):
                event.object_id = event.object_id.removesuffix(sid) + ref
            elif event.object_type != "account":
                event.object_id = pattern.sub(ref, event.object_id)[:64]
            account = person.account
            if account is not None and (
                event.account_id == account.id or event.actor.lower() == account.username.lower()
            ):
                event.account_id = None
                event.actor = ref
            event.details = _redact(event.details, pattern, ref)
            kept[sid]["audit_events"] += 1
        session.add(event)


def _rewrite_snapshots(
    session: Session,
    persons: Sequence[_Person],
    reference: dict[str, str],
    kept: dict[str, dict[str, int]],
) -> None:
    """Each round snapshot holding the persons gets their pseudonymous entries instead;
    the round's notes (which name students a re-run could not keep) their references."""
    by_id = {person.student_id: person for person in persons}
    query = select(RoundSnapshot.round_id).order_by(col(RoundSnapshot.round_id))
    if len(persons) <= FEW:
        text = cast(col(RoundSnapshot.students), Text)
        query = query.where(
            or_(*(text.contains(json.dumps(sid), autoescape=True) for sid in by_id))
        )
    for round_id in list(session.exec(query)):
        snapshot = session.get_one(RoundSnapshot, round_id)
        starts = [dt.date.fromisoformat(offer["start_date"]) for offer in snapshot.offers]
        touched = [by_id[e["student_id"]] for e in snapshot.students if e["student_id"] in by_id]
        if not touched:
            session.expunge(snapshot)  # a large object: let it go
            continue
        round_ = session.get_one(Round, round_id)
        if round_.status in UNDECIDED:
            # Not published yet: the person leaves the round, so that no placement is ever
            # published for someone erased; what the solve reported stays as it was.
            snapshot.students = [e for e in snapshot.students if e["student_id"] not in by_id]
            round_.notes = [
                *round_.notes,
                f"{len(touched)} student(s) erased after the round was made left it; "
                "its report still counts them.",
            ]
        else:
            snapshot.students = [
                _pseudonymous_entry(entry, reference[entry["student_id"]], starts)
                if entry["student_id"] in by_id
                else entry
                for entry in snapshot.students
            ]
        # The in-memory copies of snapshots are keyed by this time: a new one is read anew.
        snapshot.created_at = utcnow()
        session.add(snapshot)
        written = json.dumps([round_.notes, round_.error], ensure_ascii=False)
        for person in touched:
            ref = reference[person.student_id]
            if _tokens(written) & person.sieve():
                round_.notes = _redact(round_.notes, person.mention, ref)
                round_.error = _redact(round_.error, person.mention, ref)
            name = "left_unpublished_rounds" if round_.status in UNDECIDED else "round_snapshots"
            kept[person.student_id][name] = kept[person.student_id].get(name, 0) + 1
        session.add(round_)
        session.flush()
        session.expunge(snapshot)


def _file_tokens(content: bytes) -> set[str]:
    """The cells of an uploaded file (CSV, or XLSX's XML), for finding ids in it."""
    if content.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                text = " ".join(
                    archive.read(name).decode("utf-8", "replace")
                    for name in archive.namelist()
                    if name.endswith(".xml")
                )
        except zipfile.BadZipFile:
            text = content.decode("utf-8", "replace")
    else:
        text = content.decode("utf-8", "replace")
    return set(re.split(r"[\s,;\"<>]+", text))


def _delete_files(
    session: Session, persons: Sequence[_Person], deleted: dict[str, dict[str, int]]
) -> None:
    """Delete the upload drafts and the school ZIPs holding the persons, and what their
    accounts uploaded or started."""
    ids = {person.student_id for person in persons}
    accounts = {person.account_id for person in persons if person.account_id is not None}
    drafts = session.exec(
        select(UploadDraft.id, UploadDraft.kind, UploadDraft.account_id, UploadDraft.content)
    ).all()
    doomed: list[int] = []
    for draft_id, kind, account_id, content in drafts:
        found = ids & _file_tokens(content) if kind == "students" else set()
        for sid in found:
            deleted[sid]["upload_drafts"] = deleted[sid].get("upload_drafts", 0) + 1
        if found or account_id in accounts:
            doomed.append(draft_id or 0)
    for batch in chunks(doomed):
        session.exec(delete(UploadDraft).where(col(UploadDraft.id).in_(batch)))
    schools = {person.student.school_id for person in persons}
    jobs = session.exec(
        select(Job.id, Job.account_id, Job.result).where(
            or_(col(Job.school_id).in_(schools), col(Job.account_id).in_(accounts))
        )
    ).all()
    doomed_jobs: list[str] = []
    for job_id, account_id, result in jobs:
        found = ids & _bundle_students(result) if result is not None else set()
        for sid in found:
            deleted[sid]["jobs"] = deleted[sid].get("jobs", 0) + 1
        if found or account_id in accounts:
            doomed_jobs.append(job_id)
    for job_batch in chunks(doomed_jobs):
        session.exec(delete(Job).where(col(Job.id).in_(job_batch)))


def _let_go(session: Session, account_ids: Sequence[int]) -> None:
    """Whatever else still points at the accounts (who made or sent a document, who ticked
    a step, who issued a link…) points at nobody: every reference to `account.id` in the
    schema is found from the tables themselves, so a new one is never forgotten."""
    account_key = Account.__table__.c.id  # type: ignore[attr-defined]
    for table in SQLModel.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column is account_key and key.parent.nullable:
                column = key.parent
                session.execute(
                    update(table).where(column.in_(account_ids)).values({column.name: None})
                )


def _pseudonymous_entry(
    entry: dict[str, Any], reference: str, starts: Iterable[dt.date]
) -> dict[str, Any]:
    """A snapshot's student entry without what identifies the person.

    The birth date becomes one that gives the same answer to "a minor on this start
    date?" for every offer of the round (so the round's result and its explanations
    stay true), chosen from the offers' dates alone: it tells nothing the round's
    outcome does not.
    """
    birth = dt.date.fromisoformat(entry["birth_date"])
    adult = adult_from(birth)
    starts = sorted(set(starts))
    later = [day for day in starts if day >= adult]
    if not starts:
        coming_of_age = dt.date(2000, 1, 1)
    elif later:
        coming_of_age = later[0]  # adult from this start on (from the first, if always)
    else:
        coming_of_age = starts[-1] + dt.timedelta(days=1)  # a minor on every start
    try:
        neutral = coming_of_age.replace(year=coming_of_age.year - 18)
    except ValueError:  # 29 February
        neutral = dt.date(coming_of_age.year - 18, 2, 28)
    return {
        **entry,
        "student_id": reference,
        "first_name": "",
        "last_name": reference,
        "email": "",
        "birth_date": neutral.isoformat(),
        "extra": {},
    }


# ---- retention ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A student whose data are kept no longer: why, and since when."""

    student_id: str
    school_id: str
    cohort_end: dt.date
    """The end of the student's cohort: see `cohort_ends`."""
    due_on: dt.date
    """The first day the data may no longer be kept (cohort end + the retention)."""
    rounds: tuple[int, ...]
    """The rounds the student took part in (none: imported, never in a round)."""


def cohort_ends(session: Session) -> dict[str, tuple[dt.date, tuple[int, ...]]]:
    """Student id → (the end of his or her cohort, the rounds he or she is in).

    A cohort is the students of a round (and its re-runs). It ends when the last of
    its placements ends: the latest end date among the offers the round was made
    on, or the day the round was made if it had none. A student's cohort end is the
    latest one of the rounds he or she is in; a student in no round is counted from
    the later of the last day he or she was available and the last change of his or
    her record.
    """
    ends: dict[str, dt.date] = {}
    rounds_of: dict[str, list[int]] = {}
    # The round's creation, not the snapshot's time: an erasure renews the latter.
    made_on = dict(session.exec(select(col(Round.id), col(Round.created_at))).all())
    for snapshot in session.exec(select(RoundSnapshot).order_by(col(RoundSnapshot.round_id))):
        made = made_on[snapshot.round_id].date()
        end = max([dt.date.fromisoformat(offer["end_date"]) for offer in snapshot.offers] + [made])
        for entry in snapshot.students:
            sid = entry["student_id"]
            ends[sid] = max(ends.get(sid, end), end)
            rounds_of.setdefault(sid, []).append(snapshot.round_id)
    result = {}
    for sid, available_to, updated_at in session.exec(
        select(col(Student.student_id), col(Student.available_to), col(Student.updated_at))
    ):
        own = max(available_to, updated_at.date())
        end = ends.get(sid, own)
        result[sid] = (end, tuple(rounds_of.get(sid, ())))
    return result


def due_for_erasure(session: Session, *, today: dt.date, retention_days: int) -> list[Due]:
    """Students whose cohort ended at least `retention_days` before `today`, by school and
    id (a placement of theirs ended that long ago too: the cohort ends with its last one);
    not those of a round being solved right now (they are due at the next run)."""
    keep = dt.timedelta(days=retention_days)
    schools = dict(session.exec(select(Student.student_id, Student.school_id)).all())
    ends = cohort_ends(session)
    candidates = [sid for sid, (end, _rounds) in ends.items() if end + keep <= today]
    busy = set()
    for snapshot_round in _running_rounds(session, candidates):
        snapshot = session.get_one(RoundSnapshot, snapshot_round)
        busy |= {entry["student_id"] for entry in snapshot.students}
    due = [
        Due(sid, schools[sid], ends[sid][0], ends[sid][0] + keep, ends[sid][1])
        for sid in candidates
        if sid not in busy
    ]
    session.commit()
    return sorted(due, key=lambda d: (d.school_id, d.student_id))


def apply_retention(
    session: Session, *, today: dt.date, retention_days: int
) -> list[tuple[Due, Erasure]]:
    """Erase every student due (`due_for_erasure`), all in one transaction, each logged as an
    erasure by the system with the reason "retention"."""
    due = due_for_erasure(session, today=today, retention_days=retention_days)
    try:
        persons = []
        for ids in chunks([item.student_id for item in due]):
            students = session.exec(
                select(Student).where(col(Student.student_id).in_(ids)).with_for_update()
            ).all()
            accounts = {
                account.student_id: account
                for account in session.exec(select(Account).where(col(Account.student_id).in_(ids)))
            }
            persons += [_Person(s, accounts.get(s.student_id)) for s in students]
        order = {item.student_id: n for n, item in enumerate(due)}
        persons.sort(key=lambda person: order[person.student_id])
        erasures = _erase_all(session, None, persons, reason="retention")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return list(zip(due, erasures, strict=True))
