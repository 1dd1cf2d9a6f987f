"""Schools and students: who may see whom, school records, and importing students files.

Lists and look-ups are scoped by access.py (a teacher sees the school's
students, a student only their own record). An uploaded students file is read
by the command line's readers (through uploads.py) and checked against the
offers in the database; it is stored all or nothing, upserted by student id,
so importing the same file twice changes nothing. No HTTP here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, or_, select

from mobility_match import access, domain, records, uploads
from mobility_match.access import Viewer
from mobility_match.importing import Problem, read_table
from mobility_match.importing.sheet import sorted_problems
from mobility_match.importing.students import StudentsFile, read_students_file
from mobility_match.models import Role, School, SchoolKind, Student, utcnow
from mobility_match.services import audit
from mobility_match.services.errors import Conflict, Forbidden, NotFound, Refused

T = TypeVar("T")

MAX_PAGE = 500
"""The most students one page of a list holds."""

IN_CHUNK = 1000
"""Ids per `IN (…)` query, well below SQLite's and PostgreSQL's bound parameter limits."""

_UNVERSIONED = frozenset({"version", "updated_at"})


def require(viewer: Viewer, *roles: Role) -> None:
    """Raise Forbidden unless the viewer has one of `roles`."""
    if viewer.role not in roles:
        names = ", ".join(role.value for role in roles)
        raise Forbidden(f"Only these roles may do this: {names}.")


def chunks(ids: Iterable[T]) -> Iterator[list[T]]:
    """The ids in lists of at most IN_CHUNK, for `IN (…)` queries."""
    batch: list[T] = []
    for item in ids:
        batch.append(item)
        if len(batch) == IN_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def changed_fields(
    row: SQLModel, new: SQLModel, exclude: AbstractSet[str] = _UNVERSIONED
) -> dict[str, Any]:
    """The fields of table row `new` whose values differ from those of stored `row`."""
    old_values = row.model_dump(exclude=set(exclude))
    new_values = new.model_dump(exclude=set(exclude))
    return {name: value for name, value in new_values.items() if old_values.get(name) != value}


def text_limits(*tables: str) -> dict[str, int]:
    """The longest text each column of these tables holds, by column name (first table wins)."""
    limits: dict[str, int] = {}
    for table in tables:
        for column in SQLModel.metadata.tables[table].columns:
            length = getattr(column.type, "length", None)
            if isinstance(length, int):
                limits.setdefault(column.name, length)
    return limits


def too_long(
    file: str, frame: pd.DataFrame, limits: Mapping[str, int], reported: Iterable[Problem]
) -> list[Problem]:
    """Report cells longer than their database column holds, but cells already reported.

    The command line keeps no limits; PostgreSQL refuses a longer text, so an
    upload checks it here, located like every other problem.
    """
    seen = {(problem.row, problem.column) for problem in reported if problem.file == file}
    problems = []
    for column, limit in limits.items():
        if column not in frame.columns:
            continue
        lengths = frame[column].str.len()
        over = lengths[lengths > limit]
        for number, length in zip(over.index.tolist(), over.tolist(), strict=True):
            if (number, column) not in seen:
                message = f"this is {length} characters long; at most {limit} fit, shorten it"
                problems.append(Problem(file, number, column, message))
    return problems


def upload_refused(names: Sequence[str], problems: Sequence[Problem]) -> Refused:
    """The refusal of an upload with problems: nothing was stored."""
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return Refused(
        f"{', '.join(names)}: {count}; nothing was imported. Fix every one and upload again.",
        problems=[str(problem) for problem in problems],
    )


# ---- schools -------------------------------------------------------------------------


def list_schools(session: Session, viewer: Viewer) -> list[School]:
    """Schools: all for coordinators, a teacher's own; others may not list schools."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    query = access.schools(viewer).order_by(col(School.school_id))
    return list(session.exec(query).all())


def get_school(session: Session, viewer: Viewer, school_id: str) -> School:
    """One school within the viewer's scope; NotFound otherwise."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    school = session.exec(access.schools(viewer).where(School.school_id == school_id)).first()
    if school is None:
        raise NotFound(f"There is no school {school_id}.")
    return school


def create_school(
    session: Session, viewer: Viewer, *, school_id: str, name: str, kind: SchoolKind
) -> School:
    """Add a school (coordinators); Conflict when the id is taken."""
    require(viewer, Role.COORDINATOR)
    if session.get(School, school_id) is not None:
        raise Conflict(f"School {school_id} already exists; change it with PUT instead.")
    school = School(school_id=school_id, name=name, kind=kind)
    with saving(session, f"School {school_id} was just created; change it with PUT instead."):
        session.add(school)
        audit.record(
            session, viewer, "school.create", "school", school_id, name=name, kind=kind.value
        )
    return school


def update_school(
    session: Session, viewer: Viewer, school_id: str, *, name: str, kind: SchoolKind
) -> School:
    """Change a school's name and kind (coordinators)."""
    require(viewer, Role.COORDINATOR)
    query = access.schools(viewer).where(School.school_id == school_id)
    query = query.with_for_update().execution_options(populate_existing=True)
    school = session.exec(query).first()
    if school is None:
        raise NotFound(f"There is no school {school_id}.")
    wanted = {"name": name, "kind": kind}
    changes = {key: value for key, value in wanted.items() if getattr(school, key) != value}
    if changes:
        school.sqlmodel_update(changes)
        session.add(school)
        audit.record(session, viewer, "school.update", "school", school_id, changed=sorted(changes))
    session.commit()
    return school


# ---- students ------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentsPage:
    """One page of a list of students, and how many match in all."""

    students: list[Student]
    count: int


def list_students(
    session: Session,
    viewer: Viewer,
    *,
    school_id: str | None = None,
    trade: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> StudentsPage:
    """Students within the viewer's scope, by name, filtered; `q` matches words of the names."""
    require(viewer, Role.COORDINATOR, Role.TEACHER, Role.STUDENT)
    query = access.students(viewer)
    if school_id:
        query = query.where(Student.school_id == school_id)
    if trade:
        query = query.where(Student.trade == trade.strip().lower())
    for word in (q or "").lower().split():
        # Lowered here too: SQLite's lower() folds ASCII letters only.
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                col(Student.first_name).ilike(pattern, escape="\\"),
                col(Student.last_name).ilike(pattern, escape="\\"),
            )
        )
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = query.order_by(col(Student.last_name), col(Student.first_name), col(Student.student_id))
    rows = session.exec(page.offset(offset).limit(min(limit, MAX_PAGE))).all()
    return StudentsPage(list(rows), count)


def get_student(session: Session, viewer: Viewer, student_id: str) -> Student:
    """One student within the viewer's scope; NotFound otherwise."""
    require(viewer, Role.COORDINATOR, Role.TEACHER, Role.STUDENT)
    student = session.exec(access.students(viewer).where(Student.student_id == student_id)).first()
    if student is None:
        raise NotFound(f"There is no student {student_id}.")
    return student


# ---- importing a students file -------------------------------------------------------

_STUDENT_LIMITS = text_limits("student")


@dataclass(frozen=True)
class StudentsImported:
    """What an import of a students file did."""

    file: str
    created: int
    updated: int
    unchanged: int
    schools_created: list[str]


def import_students(
    session: Session, viewer: Viewer, data: bytes, filename: str, *, max_bytes: int
) -> StudentsImported:
    """Store an uploaded students file, all or nothing; Refused lists every problem."""
    require(viewer, Role.COORDINATOR)
    name = uploads.upload_name(filename)
    offer_ids = {offer.offer_id for offer in session.exec(access.offers(viewer)).all()}
    # End the read transaction before reading the file: on SQLite it holds the write lock.
    session.commit()
    vocabulary = domain.load_vocabulary()
    read = uploads.read_uploads(
        [(data, filename)],
        lambda paths: _read_students(paths[0], vocabulary, offer_ids),
        what="students",
        max_bytes=max_bytes,
    )
    if read.problems:
        raise upload_refused([name], read.problems)
    with saving(session, "The same students were just imported by someone else; upload again."):
        counts = _store_students(session, viewer, read.objects)
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
        )
    return StudentsImported(name, created, updated, unchanged, schools_created)


def _read_students(
    path: Path, vocabulary: domain.Vocabulary, offer_ids: AbstractSet[str]
) -> tuple[list[domain.Student], list[Problem]]:
    """Read a students file as load_round does, its preferences checked against `offer_ids`."""
    read = read_students_file(path, vocabulary)
    problems = [*read.problems, *_unknown_preferences(str(path), read, offer_ids)]
    frame, _ = read_table(path)
    problems.extend(too_long(str(path), frame, _STUDENT_LIMITS, problems))
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
    session: Session, viewer: Viewer, students: Sequence[domain.Student]
) -> tuple[int, int, int, list[str]]:
    """Upsert the students (and their unknown schools); return the counts, not committed."""
    school_ids = sorted({student.school_id for student in students})
    known: set[str] = set()
    for batch in chunks(school_ids):
        schools = access.schools(viewer).where(col(School.school_id).in_(batch))
        known.update(school.school_id for school in session.exec(schools).all())
    schools_created = [school_id for school_id in school_ids if school_id not in known]
    session.add_all(
        School(school_id=school_id, kind=SchoolKind.PILOT) for school_id in schools_created
    )
    session.flush()
    existing: dict[str, Student] = {}
    # Locked in id order, as every import does, so two imports never wait on each other.
    for batch in chunks(sorted(student.student_id for student in students)):
        query = access.students(viewer).where(col(Student.student_id).in_(batch))
        query = query.with_for_update().execution_options(populate_existing=True)
        existing.update((row.student_id, row) for row in session.exec(query))
    created = updated = 0
    now = utcnow()
    for student in students:
        new = records.student_row(student)
        row = existing.get(student.student_id)
        if row is None:
            session.add(new)
            created += 1
            continue
        changes = changed_fields(row, new)
        if changes:
            row.sqlmodel_update({**changes, "version": row.version + 1, "updated_at": now})
            session.add(row)
            updated += 1
    return created, updated, len(students) - created - updated, schools_created


@contextmanager
def saving(session: Session, conflict: str) -> Iterator[None]:
    """Commit the block's changes; a row someone inserted meanwhile (same id) is a Conflict."""
    try:
        yield
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(conflict) from None
