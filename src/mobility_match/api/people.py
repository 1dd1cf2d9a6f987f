"""Routes of schools and students: coordinators see all, teachers their school, students themselves.

Each route declares the roles it serves and calls services/people.py, which
scopes every query; someone else's student answers 404, as a missing one does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, Coordinator, SessionDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.domain import cefr_name
from mobility_match.models import Role, School, SchoolKind, Student
from mobility_match.services import people

router = APIRouter(tags=["people"], responses=SIGNED_IN)

SchoolReader = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER))]
StudentReader = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER, Role.STUDENT))]
SchoolId = Annotated[str, Path(description="The school's id (UAI code of a lycée or CFA).")]


class SchoolBase(BaseModel):
    name: str = Field(default="", max_length=200)
    kind: SchoolKind = Field(
        default=SchoolKind.PILOT,
        description="pilot: its students go abroad; control: they are only followed.",
    )
    address: str = Field(default="", max_length=300, description="Printed on letters.")
    city: str = Field(default="", max_length=120)
    contact_name: str = Field(
        default="", max_length=200, description="Who host companies write to."
    )
    contact_email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    contact_function: str = Field(
        default="",
        max_length=120,
        description="The contact's function, printed under the signature (e.g. DDFPT).",
    )
    oid: str = Field(
        default="",
        max_length=9,
        description="The school's Erasmus+ organisation ID: E and 8 digits, e.g. E10123456.",
    )


class SchoolCreate(SchoolBase):
    school_id: str = Field(min_length=1, max_length=64)


class SchoolUpdate(SchoolBase):
    pass


class SchoolPublic(SchoolBase):
    model_config = ConfigDict(from_attributes=True)

    school_id: str

    @classmethod
    def of(cls, school: School) -> SchoolPublic:
        return cls.model_validate(school)


class StudentPublic(BaseModel):
    """A student as in students.csv; languages by CEFR level name."""

    student_id: str
    first_name: str
    last_name: str
    email: str
    gender: str
    birth_date: dt.date
    school_id: str
    diploma: str
    trade: str
    languages: dict[str, str] = Field(description="CEFR level per language code, e.g. en: B1.")
    available_from: dt.date
    available_to: dt.date
    preferences: list[str]
    extra: dict[str, str]
    version: int
    updated_at: dt.datetime

    @classmethod
    def of(cls, student: Student) -> StudentPublic:
        languages = {lang: cefr_name(level) for lang, level in student.languages.items()}
        return cls.model_validate({**student.model_dump(), "languages": languages})


class StudentsPublic(BaseModel):
    data: list[StudentPublic]
    count: int = Field(description="How many students match in all pages.")


@router.get("/api/schools")
def list_schools(session: SessionDep, viewer: SchoolReader) -> list[SchoolPublic]:
    """The schools you may see: all for coordinators, a teacher's own."""
    return [SchoolPublic.of(school) for school in people.list_schools(session, viewer)]


@router.get("/api/schools/{school_id}", responses=responses(404))
def get_school(school_id: SchoolId, session: SessionDep, viewer: SchoolReader) -> SchoolPublic:
    """One school; 404 when it is not one you may see."""
    return SchoolPublic.of(people.get_school(session, viewer, school_id))


@router.post("/api/schools", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_school(body: SchoolCreate, session: SessionDep, viewer: Coordinator) -> SchoolPublic:
    """Add a school; 409 when the id is taken."""
    school = people.create_school(session, viewer, **body.model_dump())
    return SchoolPublic.of(school)


@router.put("/api/schools/{school_id}", responses=responses(404, 409))
def update_school(
    school_id: SchoolId, body: SchoolUpdate, session: SessionDep, viewer: Coordinator
) -> SchoolPublic:
    """Change a school's name and kind, and the contact details sent (others are kept)."""
    given = body.model_dump(exclude_unset=True)
    contact = {key: value for key, value in given.items() if key in people.SCHOOL_CONTACT}
    school = people.update_school(
        session, viewer, school_id, name=body.name, kind=body.kind, **contact
    )
    return SchoolPublic.of(school)


@router.get("/api/students")
def list_students(
    session: SessionDep,
    viewer: StudentReader,
    school_id: Annotated[str | None, Query(description="Only this school's students.")] = None,
    trade: Annotated[str | None, Query(description="Only students of this trade code.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words found in the first or last name.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=people.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> StudentsPublic:
    """Students you may see (coordinators all, teachers their school's, students themselves)."""
    page = people.list_students(
        session, viewer, school_id=school_id, trade=trade, q=q, limit=limit, offset=offset
    )
    return StudentsPublic(data=[StudentPublic.of(s) for s in page.students], count=page.count)


@router.get("/api/students/{student_id}", responses=responses(404))
def get_student(
    student_id: Annotated[str, Path(description="The student's id, as in students.csv.")],
    session: SessionDep,
    viewer: StudentReader,
) -> StudentPublic:
    """One student; 404 when it is not one you may see."""
    return StudentPublic.of(people.get_student(session, viewer, student_id))
