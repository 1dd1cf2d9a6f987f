"""Importing the CONTRACT.md files uploaded over HTTP: a students file and offers files.

Each upload is checked and read by the command line's readers through
uploads.py, then checked against the database (a preference must name a stored
offer; a partner may bring only its own offers, and an id keeps its owner; no
text longer than its column), and stored all or nothing: students upserted by
student id, offers by offer id, their companies by company id, so importing the
same files twice changes nothing. Every problem is named by file, row and
column, all at once. No HTTP here, and nothing here touches a round.

A students file that would change who a stored student is (name or birth date),
or change a student who is in a published round, is stored only once the
importer confirms that list: `plan_students` (the API's dry run, the page's
preview) gives the list and a confirmation code, a digest of the list; the
import with that code applies, and one without it (or with the code of another
list, the database having changed meanwhile) is refused with the list.

Each import runs in three steps, so that a preview (services/previews.py) can
run the first two and never write: reading (`read_students_upload`,
`read_offers_upload`: the files and every problem), comparing (`compare_students`,
`compare_offers`: what each row would create or change) and storing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from mobility_match import access, domain, records, uploads
from mobility_match.access import Viewer
from mobility_match.importing import Problem, cells, read_table
from mobility_match.importing.offers import read_offers_files
from mobility_match.importing.sheet import sorted_problems
from mobility_match.importing.students import StudentsFile, read_students_file
from mobility_match.models import (
    Assignment,
    Company,
    Offer,
    Role,
    Round,
    RoundStatus,
    School,
    SchoolKind,
    Student,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.errors import ConfirmationNeeded, Refused
from mobility_match.services.offers import (
    OFFER_STATE,
    foreign_company,
    parsed_cell,
    store_companies,
    stored_companies,
)
from mobility_match.services.rows import UNVERSIONED, changed_fields, chunks, require, saving

Stored = TypeVar("Stored", Student, Offer)
"""A row an import upserts by its id: a student or an offer, both versioned."""
Row = TypeVar("Row", Student, Offer, Company)


@dataclass(frozen=True)
class RowChange(Generic[Row]):
    """What storing one row of a file would do: create it, change some fields, or nothing."""

    row: Row
    """The row as the file gives it."""
    stored: Row | None
    """The row as the database holds it; None when the row is new."""
    changes: dict[str, Any] = field(default_factory=dict)
    """The fields whose value would change, with their new values."""

    @property
    def action(self) -> str:
        """`created`, `updated` or `unchanged`."""
        if self.stored is None:
            return "created"
        return "updated" if self.changes else "unchanged"


@dataclass(frozen=True)
class Read:
    """What reading uploaded files gave: their names, the rows read, every problem, and the
    text of each cell a problem names (file, row, column), to show it next to the problem."""

    names: list[str]
    objects: list[Any]
    problems: list[Problem]
    cells: dict[tuple[str, int, str], str]


# ---- what both imports check and say -------------------------------------------------


def _text_limits(*tables: str) -> dict[str, int]:
    """The longest text each column of these tables holds, by column name (first table wins)."""
    limits: dict[str, int] = {}
    for table in tables:
        for column in SQLModel.metadata.tables[table].columns:
            length = getattr(column.type, "length", None)
            if isinstance(length, int):
                limits.setdefault(column.name, length)
    return limits


OTHER_TEXT_LIMIT = 2000
"""The longest cell of a column with no length of its own in the database (a column of
one's own, kept in the row's `extra`; preferences; trades): an upload of 9 MB in one cell
would otherwise be stored and sent back with every list."""


def _too_long(
    file: str, frame: pd.DataFrame, limits: Mapping[str, int], reported: Iterable[Problem]
) -> list[Problem]:
    """Report cells longer than their database column holds (OTHER_TEXT_LIMIT for columns
    without a length), but cells already reported.

    The command line keeps no limits; PostgreSQL refuses a longer text, so an
    upload checks it here, located like every other problem.
    """
    seen = {(problem.row, problem.column) for problem in reported if problem.file == file}
    problems = []
    for column in frame.columns:
        # Columns stored as JSON (preferences, trades, columns of one's own) get one bound.
        limit = limits.get(column, OTHER_TEXT_LIMIT)
        lengths = frame[column].str.len()
        over = lengths[lengths > limit]
        for number, length in zip(over.index.tolist(), over.tolist(), strict=True):
            if (number, column) not in seen:
                message = f"this is {length} characters long; at most {limit} fit, shorten it"
                problems.append(Problem(file, number, column, message))
    return problems


def _upload_refused(names: Sequence[str], problems: Sequence[Problem]) -> Refused:
    """The refusal of an upload with problems: nothing was stored."""
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return Refused(
        f"{', '.join(names)}: {count}; nothing was imported. Fix every one and upload again.",
        problems=[str(problem) for problem in problems],
    )


# ---- importing a students file -------------------------------------------------------

_STUDENT_LIMITS = _text_limits("student")


@dataclass(frozen=True)
class StudentsImported:
    """What an import of a students file did."""

    file: str
    created: int
    updated: int
    unchanged: int
    schools_created: list[str]
    """Schools that were not known, created as pilot schools without a name."""


@dataclass(frozen=True)
class StudentsPlan:
    """What storing a students file would do (compare_students)."""

    students: list[RowChange[Student]]
    schools_created: list[str]
    """Schools that are not known, which the import creates as pilot schools."""


def read_students_upload(
    session: Session, viewer: Viewer, data: bytes, filename: str, *, max_bytes: int
) -> Read:
    """Check and read an uploaded students file (coordinators): every problem, nothing stored."""
    require(viewer, Role.COORDINATOR)
    offer_ids = {offer.offer_id for offer in session.exec(access.offers(viewer)).all()}
    # End the read transaction before reading the file: on SQLite it holds the write lock.
    session.commit()
    vocabulary = domain.load_vocabulary()
    frames: dict[str, pd.DataFrame] = {}
    read = uploads.read_uploads(
        [(data, filename)],
        _keeping_frames(frames, lambda paths: _read_students(paths[0], vocabulary, offer_ids)),
        what="students",
        max_bytes=max_bytes,
    )
    return Read(read.names, read.objects, read.problems, _problem_cells(read.problems, frames))


def compare_students(
    session: Session, viewer: Viewer, students: Sequence[domain.Student], *, lock: bool = False
) -> StudentsPlan:
    """What storing `students` would create and change (with `lock`, the stored rows are
    locked for the update that follows); nothing is written."""
    require(viewer, Role.COORDINATOR)
    school_ids = sorted({student.school_id for student in students})
    known: set[str] = set()
    for batch in chunks(school_ids):
        schools = access.schools(viewer).where(col(School.school_id).in_(batch))
        known.update(school.school_id for school in session.exec(schools).all())
    schools_created = [school_id for school_id in school_ids if school_id not in known]
    rows = [records.student_row(student) for student in students]
    # A guardian's consent is recorded on the teacher's page, never by a file: kept.
    kept = UNVERSIONED | {"guardian_consent_on"}
    changes = _compare(session, Student, access.students(viewer), rows, kept, lock=lock)
    return StudentsPlan(changes, schools_created)


IDENTITY_FIELDS = ("first_name", "last_name", "birth_date")
"""The fields that say who a student is: changing one may make an id another person."""


@dataclass(frozen=True)
class ToConfirm:
    """A stored student an import would change who he or she is, or who is in a
    published round (and whose record the import changes)."""

    student_id: str
    stored_name: str
    """The name stored now."""
    identity: dict[str, list[str]]
    """Each identity field that would change: [stored value, value in the file]."""
    changed: list[str]
    """Every field that would change."""
    published_rounds: list[str]
    """The published rounds the student is in."""


@dataclass(frozen=True)
class StudentsPlanned:
    """What importing a students file would do (a dry run: nothing is written)."""

    file: str
    created: int
    updated: int
    unchanged: int
    schools_created: list[str]
    to_confirm: list[ToConfirm]
    """The students whose change must be confirmed; empty when none."""
    confirmation: str
    """The code that confirms exactly this list ("" when there is nothing to confirm)."""


def published_rounds_of(session: Session, student_ids: Iterable[str]) -> dict[str, list[str]]:
    """The published rounds each of these students is in (placed or not), by student id.

    Unscoped: only a coordinator's students import comes here (compare_students checks).
    """
    found: dict[str, list[str]] = {}
    for batch in chunks(sorted(set(student_ids))):
        rows = session.exec(
            select(Assignment.student_id, Round.name)
            .where(
                col(Assignment.round_id) == col(Round.id),
                col(Round.status) == RoundStatus.PUBLISHED,
                col(Assignment.student_id).in_(batch),
            )
            .order_by(col(Round.id))
        ).all()
        for student_id, name in rows:
            found.setdefault(student_id, []).append(name)
    return found


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def to_confirm(
    session: Session,
    changes: Sequence[RowChange[Student]],
    published: Mapping[str, list[str]] | None = None,
) -> list[ToConfirm]:
    """The updated students whose identity changes or who are in a published round
    (`published`: published_rounds_of these students, when the caller has it already)."""
    updated = [change for change in changes if change.action == "updated"]
    if published is None:
        published = published_rounds_of(session, (change.row.student_id for change in updated))
    found = []
    for change in updated:
        stored = change.stored
        assert stored is not None
        identity = {
            name: [_text(getattr(stored, name)), _text(change.changes[name])]
            for name in IDENTITY_FIELDS
            if name in change.changes
        }
        rounds = published.get(stored.student_id, [])
        if identity or rounds:
            found.append(
                ToConfirm(
                    stored.student_id,
                    f"{stored.first_name} {stored.last_name}",
                    identity,
                    sorted(change.changes),
                    rounds,
                )
            )
    return found


def confirmation_code(items: Sequence[ToConfirm]) -> str:
    """A digest of the list to confirm: the same list, the same code; "" for none."""
    if not items:
        return ""
    listed = [
        [item.student_id, item.identity, item.changed, item.published_rounds] for item in items
    ]
    return hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()[:24]


def _confirmation_needed(items: Sequence[ToConfirm], code: str, given: str) -> ConfirmationNeeded:
    renamed = sum(1 for item in items if item.identity)
    published = sum(1 for item in items if item.published_rounds)
    stale = " (the list changed since the code was given)" if given else ""
    return ConfirmationNeeded(
        f"Nothing was imported: this file changes the name or birth date of {renamed} stored "
        f"student(s) and the record of {published} student(s) in a published round. Check "
        f"each of them in to_confirm, then send the same file again with "
        f"confirm={code}{stale}.",
        details={"confirmation": code, "to_confirm": [asdict(item) for item in items]},
    )


def plan_students(
    session: Session, viewer: Viewer, data: bytes, filename: str, *, max_bytes: int
) -> StudentsPlanned:
    """What importing a students file would do, and what must be confirmed; Refused lists
    every problem. Nothing is written."""
    name = uploads.upload_name(filename)
    read = read_students_upload(session, viewer, data, filename, max_bytes=max_bytes)
    if read.problems:
        raise _upload_refused([name], read.problems)
    try:
        plan = compare_students(session, viewer, read.objects)
        items = to_confirm(session, plan.students)
        actions = [change.action for change in plan.students]
        return StudentsPlanned(
            name,
            actions.count("created"),
            actions.count("updated"),
            actions.count("unchanged"),
            plan.schools_created,
            items,
            confirmation_code(items),
        )
    finally:
        session.rollback()


def import_students(
    session: Session,
    viewer: Viewer,
    data: bytes,
    filename: str,
    *,
    max_bytes: int,
    confirm: str = "",
) -> StudentsImported:
    """Store an uploaded students file, all or nothing; Refused lists every problem.

    ConfirmationNeeded (nothing written) when the file changes who stored students are
    or students in a published round, unless `confirm` is the code of that very list.
    """
    require(viewer, Role.COORDINATOR)
    name = uploads.upload_name(filename)
    read = read_students_upload(session, viewer, data, filename, max_bytes=max_bytes)
    if read.problems:
        raise _upload_refused([name], read.problems)
    with saving(session, "The same students were just imported by someone else; upload again."):
        plan = compare_students(session, viewer, read.objects, lock=True)
        items = to_confirm(session, plan.students)
        code = confirmation_code(items)
        if code != (confirm if items else ""):
            session.rollback()
            raise _confirmation_needed(items, code, confirm)
        counts = _store_students(session, plan, len(read.objects))
        created, updated, unchanged, schools_created = counts
        audit.record(
            session,
            viewer,
            "students.import",
            "students",
            name[:64],
            file=name,
            created=created,
            updated=updated,
            unchanged=unchanged,
            schools_created=schools_created,
            confirmed=[item.student_id for item in items],
        )
    return StudentsImported(name, created, updated, unchanged, schools_created)


def _read_students(
    path: Path, vocabulary: domain.Vocabulary, offer_ids: AbstractSet[str]
) -> tuple[list[domain.Student], list[Problem]]:
    """Read a students file as load_round does, its preferences checked against `offer_ids`."""
    read = read_students_file(path, vocabulary)
    problems = [*read.problems, *_unknown_preferences(str(path), read, offer_ids)]
    frame, _ = read_table(path)
    problems.extend(_too_long(str(path), frame, _STUDENT_LIMITS, problems))
    return read.students, sorted_problems(problems, {str(path): read.columns})


def _unknown_preferences(
    file: str, read: StudentsFile, offer_ids: AbstractSet[str]
) -> list[Problem]:
    """Report, once per cell, preference entries that name no offer in the database."""
    countries = {country.value for country in domain.Country}
    problems = []
    for number, preferences in read.preferences.items():
        unknown = [
            entry
            for entry in preferences
            if entry != domain.ANY_OTHER and entry not in countries and entry not in offer_ids
        ]
        if not unknown:
            continue
        faults = []
        for entry in unknown:
            close = difflib.get_close_matches(entry, sorted(offer_ids), n=3, cutoff=0.6)
            faults.append(f"'{entry}'" + (f" (closest: {', '.join(close)})" if close else ""))
        verb = "is" if len(unknown) == 1 else "are"
        problems.append(
            Problem(
                file,
                number,
                "preferences",
                f"{', '.join(faults)} {verb} neither an offer in the database nor a country "
                "(DE, PL, UK); check the offer ids, or import the offers first",
            )
        )
    return problems


def _store_students(
    session: Session, plan: StudentsPlan, rows: int
) -> tuple[int, int, int, list[str]]:
    """Upsert the planned students (and their unknown schools) of a file of `rows` rows;
    return the counts, not committed."""
    session.add_all(
        School(school_id=school_id, kind=SchoolKind.PILOT) for school_id in plan.schools_created
    )
    session.flush()
    created, updated = _store(session, plan.students)
    return created, updated, rows - created - updated, plan.schools_created


# ---- importing offers files ------------------------------------------------------------

_OFFER_LIMITS = _text_limits("offer", "company")


@dataclass(frozen=True)
class OffersImported:
    """What an import of offers files did."""

    files: list[str]
    created: int
    updated: int
    unchanged: int
    companies_created: list[str]
    companies_updated: list[str]


def import_offers(
    session: Session, viewer: Viewer, files: Sequence[tuple[bytes, str]], *, max_bytes: int
) -> OffersImported:
    """Store uploaded offers files (bytes, client's name), all or nothing; Refused lists all.

    A partner may upload only its own organisation's offers, and may not reuse
    an offer id of another partner's offer.
    """
    read = read_offers_upload(session, viewer, files, max_bytes=max_bytes)
    names, offers = read.names, read.objects
    if read.problems:
        raise _upload_refused(names, read.problems)
    with saving(session, "The same offers were just imported by someone else; upload again."):
        counts = _store_offers(session, viewer, offers)
        created, updated, companies_created, companies_updated = counts
        unchanged = len(offers) - created - updated
        audit.record(
            session,
            viewer,
            "offers.import",
            "offers",
            ", ".join(names)[:64],
            files=names,
            created=created,
            updated=updated,
            unchanged=unchanged,
            companies_created=companies_created,
            companies_updated=companies_updated,
        )
    return OffersImported(names, created, updated, unchanged, companies_created, companies_updated)


@dataclass(frozen=True)
class OffersPlan:
    """What storing offers files would do (compare_offers)."""

    offers: list[RowChange[Offer]]
    companies: list[RowChange[Company]]


def read_offers_upload(
    session: Session, viewer: Viewer, files: Sequence[tuple[bytes, str]], *, max_bytes: int
) -> Read:
    """Check and read uploaded offers files (bytes, client's name): every problem, nothing
    stored. A partner's rows must be its own offers, with ids no other partner uses."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    own = None if viewer.is_coordinator else viewer.partner
    # Unscoped on purpose: ids are global, and whose they are decides what an upload may do.
    offer_owners = dict(session.exec(select(Offer.offer_id, Offer.partner)).all())
    company_owners = dict(session.exec(select(Company.company_id, Company.partner)).all())
    # End the read transaction before reading the files: on SQLite it holds the write lock.
    session.commit()
    vocabulary = domain.load_vocabulary()
    owners = _Owners(own, offer_owners, company_owners)
    frames: dict[str, pd.DataFrame] = {}
    read = uploads.read_uploads(
        files,
        _keeping_frames(frames, lambda paths: _read_offers(paths, vocabulary, owners)),
        what="offers",
        max_bytes=max_bytes,
    )
    return Read(read.names, read.objects, read.problems, _problem_cells(read.problems, frames))


def compare_offers(session: Session, viewer: Viewer, offers: Sequence[domain.Offer]) -> OffersPlan:
    """What storing `offers` would create and change, offers and companies; nothing is
    written (import_offers stores companies with offers.store_companies, which compares
    them with the same changed_fields)."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    rows, companies = _offer_rows(offers)
    stored = stored_companies(session, companies)
    company_changes = [
        RowChange(
            company,
            stored.get(company_id),
            {}
            if company_id not in stored
            else changed_fields(stored[company_id], company, frozenset()),
        )
        for company_id, company in companies.items()
    ]
    changes = _compare(session, Offer, access.offers(viewer), rows, OFFER_STATE, lock=False)
    return OffersPlan(changes, company_changes)


@dataclass(frozen=True)
class _Owners:
    """Who is uploading, and whose the stored offer and company ids are."""

    partner: str | None
    """The uploading partner; None for a coordinator."""
    offers: Mapping[str, str]
    companies: Mapping[str, str]


def _read_offers(
    paths: Sequence[Path], vocabulary: domain.Vocabulary, owners: _Owners
) -> tuple[list[domain.Offer], list[Problem]]:
    """Read offers files as load_round does, and check each row's partner and ids' owners."""
    read = read_offers_files(paths, vocabulary)
    problems = list(read.problems)
    partner_of = cells.partner(vocabulary)
    first: dict[str, tuple[str, str, int]] = {}
    for path in paths:
        frame, _ = read_table(path)
        problems.extend(_too_long(str(path), frame, _OFFER_LIMITS, problems))
        for number, row in zip(frame.index.tolist(), frame.to_dict("records"), strict=True):
            place = Problem(str(path), number, "", "")
            partner = parsed_cell(partner_of, str(row.get("partner", "")))
            problems.extend(_owners_problems(place, row, partner, owners, first))
    return read.offers, sorted_problems(problems, read.columns)


def _owners_problems(
    place: Problem,
    row: Mapping[Hashable, object],
    partner: str | None,
    owners: _Owners,
    first: dict[str, tuple[str, str, int]],
) -> list[Problem]:
    """Check a row's partner, and whose its offer and company ids are (at `place`'s file:row).

    `first` holds each company id's partner, with the file and row where first met.
    """
    problems = []

    def report(column: str, message: str) -> None:
        problems.append(replace(place, column=column, message=message))

    offer_id = str(row.get("offer_id", ""))
    company_id = str(row.get("company_id", ""))
    if owners.partner is not None and partner not in (None, owners.partner):
        report(
            "partner", f"this offer is of {partner}; you may upload offers of {owners.partner} only"
        )
    owner = owners.offers.get(offer_id)
    if owners.partner is not None and owner not in (None, owners.partner):
        message = f"offer id {offer_id} is used by another partner's offer; choose another id"
        report("offer_id", message)
    if not company_id or partner is None:
        return problems
    stored = owners.companies.get(company_id)
    if stored is not None and stored != partner:
        name_owner = owners.partner is None
        report("company_id", foreign_company(company_id, stored, name_owner=name_owner))
    elif company_id in first and first[company_id][0] != partner:
        other, file, number = first[company_id]
        where = f"row {number}" + ("" if file == place.file else f" of {file}")
        report(
            "company_id",
            f"company {company_id} is brought by {other} on {where}; one company keeps one partner",
        )
    else:
        first.setdefault(company_id, (partner, place.file, place.row))
    return problems


def _store_offers(
    session: Session, viewer: Viewer, offers: Sequence[domain.Offer]
) -> tuple[int, int, list[str], list[str]]:
    """Upsert the offers and their companies (not committed); return what changed."""
    rows, companies = _offer_rows(offers)
    companies_created, companies_updated = store_companies(session, companies.values())
    # An offer of another partner is outside the viewer's scope, so its id is inserted again
    # and fails on commit: a Conflict (the upload was checked for such ids; this is a race).
    changes = _compare(session, Offer, access.offers(viewer), rows, OFFER_STATE, lock=True)
    created, updated = _store(session, changes)
    return created, updated, companies_created, companies_updated


def _offer_rows(offers: Sequence[domain.Offer]) -> tuple[list[Offer], dict[str, Company]]:
    """The offers' table rows, and their companies by id."""
    rows: list[Offer] = []
    companies: dict[str, Company] = {}
    for offer in offers:
        row, company = records.offer_rows(offer)
        rows.append(row)
        # A company met on several rows keeps its first row's city and address.
        companies.setdefault(company.company_id, company)
    return rows, companies


# ---- comparing and storing rows, and locating the cells of problems --------------------


def _compare(
    session: Session,
    table: type[Stored],
    scope: SelectOfScalar[Stored],
    rows: Sequence[Stored],
    unversioned: AbstractSet[str],
    *,
    lock: bool,
) -> list[RowChange[Stored]]:
    """Each row with its stored version in `scope` (if any) and the fields that differ.

    With `lock`, the stored rows are locked in id order, as every import does, so
    two imports never wait on each other.
    """
    (id_column,) = inspect(table).primary_key
    key = id_column.key
    existing: dict[str, Stored] = {}
    for batch in chunks(sorted(getattr(row, key) for row in rows)):
        query = scope.where(id_column.in_(batch))
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        existing.update((getattr(row, key), row) for row in session.exec(query))
    changes: list[RowChange[Stored]] = []
    for new in rows:
        stored = existing.get(getattr(new, key))
        found = {} if stored is None else changed_fields(stored, new, unversioned)
        changes.append(RowChange(new, stored, found))
    return changes


def _store(session: Session, changes: Sequence[RowChange[Stored]]) -> tuple[int, int]:
    """Insert the new rows, update those that differ (version + 1); how many of each.

    Not committed.
    """
    created = updated = 0
    now = utcnow()
    for change in changes:
        if change.stored is None:
            session.add(change.row)
            created += 1
        elif change.changes:
            stored = change.stored
            stored.sqlmodel_update(
                {**change.changes, "version": stored.version + 1, "updated_at": now}
            )
            session.add(stored)
            updated += 1
    return created, updated


Reader = Callable[[list[Path]], tuple[list[Any], list[Problem]]]


def _keeping_frames(frames: dict[str, pd.DataFrame], read: Reader) -> Reader:
    """`read`, which also keeps each file's cells in `frames` under the file's client name
    (uploads.py writes each upload under that name), to show the cells problems name."""

    def reading(paths: list[Path]) -> tuple[list[Any], list[Problem]]:
        objects, problems = read(paths)
        faulty = {problem.file for problem in problems}
        for path in paths:
            if str(path) in faulty:  # a good file is not read twice
                frames[path.name] = read_table(path)[0]
        return objects, problems

    return reading


def _problem_cells(
    problems: Sequence[Problem], frames: Mapping[str, pd.DataFrame]
) -> dict[tuple[str, int, str], str]:
    """The text of each cell a problem names, by (file, row, column)."""
    cells: dict[tuple[str, int, str], str] = {}
    for problem in problems:
        frame = frames.get(problem.file)
        if frame is None or problem.column not in frame.columns or problem.row not in frame.index:
            continue
        value = frame.at[problem.row, problem.column]
        cells[(problem.file, problem.row, problem.column)] = value if isinstance(value, str) else ""
    return cells
