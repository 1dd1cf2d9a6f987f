"""Schools and students: who may see whom, and school records.

Lists and look-ups are scoped by access.py (a teacher sees the school's
students, a student only their own record). Importing a students file is
services/imports.py's job. No HTTP here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, func, or_, select

from mobility_match import access, identifiers
from mobility_match.access import Viewer
from mobility_match.models import Role, School, SchoolKind, Student
from mobility_match.services import audit
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.rows import require, saving

MAX_PAGE = 500
"""The most students one page of a list holds."""

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


SCHOOL_CONTACT = (
    "address",
    "city",
    "contact_name",
    "contact_email",
    "phone",
    "contact_function",
    "oid",
)
"""The school's details that letters to hosts and learning agreements print."""


def create_school(
    session: Session,
    viewer: Viewer,
    *,
    school_id: str,
    name: str,
    kind: SchoolKind,
    **contact: str,
) -> School:
    """Add a school (coordinators), with any of SCHOOL_CONTACT; Conflict when the id is taken."""
    require(viewer, Role.COORDINATOR)
    contact = _checked_contact(contact, "The school was not created.")
    if session.get(School, school_id) is not None:
        raise Conflict(f"School {school_id} already exists; change it with PUT instead.")
    school = School(school_id=school_id, name=name, kind=kind, **_contact(contact))
    with saving(session, f"School {school_id} was just created; change it with PUT instead."):
        session.add(school)
        audit.record(
            session, viewer, "school.create", "school", school_id, name=name, kind=kind.value
        )
    return school


def update_school(
    session: Session, viewer: Viewer, school_id: str, *, name: str, kind: SchoolKind, **contact: str
) -> School:
    """Change a school's name and kind, and the SCHOOL_CONTACT fields given (coordinators)."""
    require(viewer, Role.COORDINATOR)
    contact = _checked_contact(contact, "The school's details were not changed.")
    wanted = {"name": name, "kind": kind, **_contact(contact)}
    return _change_school(session, viewer, school_id, wanted)


CONTACT_LIMITS = {
    "address": 300,
    "city": 120,
    "contact_name": 200,
    "contact_email": 254,
    "phone": 40,
    "contact_function": 120,
    "oid": 9,
}
"""The longest value each SCHOOL_CONTACT field holds."""


def contact_problems(contact: dict[str, str]) -> list[str]:
    """Each problem of a school's contact details as `field: sentence` (none: valid)."""
    problems = [
        f"{field}: at most {limit} characters, not {len(contact[field])}."
        for field, limit in CONTACT_LIMITS.items()
        if len(contact.get(field, "")) > limit
    ]
    email = contact.get("contact_email", "")
    if email and (email.count("@") != 1 or " " in email or not all(email.split("@"))):
        problems.append(f"contact_email: {email!r} is not an e-mail address (name@domain).")
    try:
        identifiers.oid(contact.get("oid", ""))
    except ValueError as invalid:
        problems.append(f"oid: {invalid}.")
    return problems


def _checked_contact(contact: dict[str, str], refusal: str) -> dict[str, str]:
    """The contact details with the OID written as it is kept (upper case); Refused when the
    OID is malformed (the API's other bounds are its model's)."""
    problems = [p for p in contact_problems(contact) if p.startswith("oid: ")]
    if problems:
        raise Refused(refusal, problems=problems)
    if "oid" in contact:
        return {**contact, "oid": identifiers.oid(contact["oid"])}
    return contact


def update_school_contact(
    session: Session, viewer: Viewer, school_id: str, **contact: str
) -> School:
    """Change a school's contact details (SCHOOL_CONTACT; what letters print): coordinators
    any school's, a teacher the own school's; Refused with every field's problem."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    wanted = {key: value.strip() for key, value in _contact(contact).items()}
    problems = contact_problems(wanted)
    if problems:
        raise Refused("The school's contact details were not changed.", problems=problems)
    wanted = _checked_contact(wanted, "The school's contact details were not changed.")
    return _change_school(session, viewer, school_id, wanted)


def _change_school(
    session: Session, viewer: Viewer, school_id: str, wanted: Mapping[str, object]
) -> School:
    """Write the fields of `wanted` that differ (the row locked), audited; NotFound outside
    the viewer's scope."""
    query = access.schools(viewer).where(School.school_id == school_id)
    query = query.with_for_update().execution_options(populate_existing=True)
    school = session.exec(query).first()
    if school is None:
        raise NotFound(f"There is no school {school_id}.")
    changes = {key: value for key, value in wanted.items() if getattr(school, key) != value}
    if changes:
        school.sqlmodel_update(changes)
        session.add(school)
        audit.record(session, viewer, "school.update", "school", school_id, changed=sorted(changes))
    session.commit()
    return school


def _contact(fields: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(fields) - set(SCHOOL_CONTACT))
    if unknown:
        raise TypeError(f"not a school contact field: {', '.join(unknown)}")
    return fields


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
