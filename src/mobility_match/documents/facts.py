"""The plain facts of one published placement, as every document and checklist needs them.

services/documents.py builds a `PlacementFacts` from the database (the round's
snapshot, the school, the partner); templates read it and nothing else, so a
template never runs a query and a test can render a letter from a hand-built
value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from mobility_match import identifiers
from mobility_match.domain import (
    Country,
    Diploma,
    Gender,
    Offer,
    Student,
    cefr_name,
    optional_columns,
)

HOST_LANGUAGE: dict[Country, str] = {Country.DE: "de", Country.PL: "pl", Country.UK: "en"}
"""The language letters to a host company are written in (the French original goes with them)."""


class Actor(StrEnum):
    """Who does a checklist step (and may tick it, with anyone above in the list)."""

    STUDENT = "student"
    TEACHER = "teacher"
    COORDINATOR = "coordinator"


@dataclass(frozen=True)
class DueStep:
    """One preparation step of one placement, with its date."""

    key: str
    """Stable identifier from the checklist data (e.g. `ceam`); unique within a checklist."""
    title: str
    explanation: str
    who: Actor
    due_on: dt.date
    check_legal: bool = False
    """The coordinator should check the step's legal detail before relying on it."""
    legal_note: str = ""
    """What to check, and where (a URL or the name of the rule)."""


@dataclass(frozen=True)
class PlacementFacts:
    """Everything a placement document says, gathered once; no database row, no request."""

    round_id: int
    issued_on: dt.date
    # the learner
    student_id: str
    first_name: str
    last_name: str
    gender: Gender
    birth_date: dt.date
    email: str
    diploma: Diploma
    trade: str
    """Trade code (see vocabularies/trades.csv)."""
    minor: bool
    """Under 18 on the start date."""
    guardian_name: str
    guardian_email: str
    guardian_phone: str
    """Parent or guardian contact (students.csv optional columns); empty when not given."""
    # the sending school
    school_id: str
    school_name: str
    school_address: str
    school_city: str
    school_contact_name: str
    school_contact_email: str
    school_phone: str
    # the host
    offer_id: str
    company_name: str
    company_address: str
    city: str
    country: Country
    tutor_name: str
    tutor_email: str
    partner_code: str
    partner_name: str
    start_date: dt.date
    end_date: dt.date
    response_deadline: dt.date | None
    """Until when the student confirms or declines the placement."""
    first_steps: tuple[DueStep, ...] = ()
    """The checklist's earliest open steps, for the student's letter."""
    # optional details the data may give (empty when it does not)
    tutor_gender: str = ""
    """`F` or `M` when the offer says (its optional `contact_gender` column): the salutation
    then names the contact (`Sehr geehrte Frau Schmidt`); empty otherwise."""
    tutor_function: str = ""
    """The contact's function in the company (the offer's optional `contact_function`)."""
    school_contact_function: str = ""
    """The signer's function at the school; empty: the programme's wording for it."""
    student_address: str = ""
    """The learner's postal address (students.csv optional `address` column)."""
    working_language: str = ""
    """The language of the placement (`de`, `en`, `pl`): the offer's requirement the learner
    meets, else the host country's language."""
    working_level: str = ""
    """The learner's CEFR level in the working language; empty when unknown."""
    project_number: str = ""
    """The round's Erasmus+ project (grant agreement) number; empty when not given."""
    school_oid: str = ""
    partner_oid: str = ""
    host_oid: str = ""
    """Erasmus+ organisation IDs (the school's, the partner's, the offer's optional
    `company_oid`); empty when unknown."""
    emergency_name: str = ""
    emergency_phone: str = ""
    """Whom to call in an emergency (students.csv optional columns); empty when not given."""
    working_hours: str = ""
    """The placement's working hours (the offer's optional `working_hours`), as written."""
    # after return (host review)
    actual_start: dt.date | None = None
    actual_end: dt.date | None = None
    """The dates the host tutor's review gives; None before it (or when it leaves them)."""
    days_absent: int | None = None
    skills_observed: tuple[str, ...] = ()
    """Codes of vocabularies/host_review_skills.csv the tutor ticked, in the review's order.
    The review's free comment is never a fact of a document: it may be personal."""

    @property
    def mobility_id(self) -> str:
        """The placement's mobility identifier (identifiers.mobility_id)."""
        return identifiers.mobility_id(self.student_id, self.offer_id)

    @property
    def weeks(self) -> int:
        """The placement's length in whole weeks, a started week counting as one."""
        days = (self.end_date - self.start_date).days + 1
        return -(-days // 7)

    @property
    def mobility_start(self) -> dt.date:
        """The first day abroad: the host's actual date once it gave one, else the plan's."""
        return self.actual_start or self.start_date

    @property
    def mobility_end(self) -> dt.date:
        """The last day abroad: the host's actual date once it gave one, else the plan's."""
        return self.actual_end or self.end_date

    @property
    def mobility_weeks(self) -> int:
        """The length of the stay actually made, in whole weeks, a started week counting."""
        days = (self.mobility_end - self.mobility_start).days + 1
        return max(1, -(-days // 7))


def working_language(student: Student, offer: Offer) -> tuple[str, str]:
    """The placement's working language and the learner's CEFR level in it.

    The first alternative of the offer's requirement that the learner meets; without one,
    the host country's language. The level is empty when the learner's file gives none.
    """
    for need in offer.language_requirement:
        if student.languages.get(need.lang, 0) >= need.level:
            return need.lang, cefr_name(student.languages[need.lang])
    lang = HOST_LANGUAGE[offer.country]
    level = student.languages.get(lang, 0)
    return lang, cefr_name(level) if level else ""


def with_details(facts: PlacementFacts, student: Student, offer: Offer) -> PlacementFacts:
    """The facts completed with what the documents say beyond the placement itself: the
    optional columns of the snapshot's student and offer (`address`, `emergency_name`,
    `emergency_phone`; `contact_gender`, `contact_function`, `company_oid`,
    `working_hours`) and the working language."""
    offer_extra = optional_columns(offer.extra)
    student_extra = optional_columns(student.extra)
    gender = offer_extra.get("contact_gender", "").upper()
    language, level = working_language(student, offer)
    return replace(
        facts,
        tutor_gender=gender if gender in ("F", "M") else "",
        tutor_function=offer_extra.get("contact_function", ""),
        student_address=student_extra.get("address", ""),
        working_language=language,
        working_level=level,
        host_oid=offer_extra.get("company_oid", "").upper(),
        working_hours=offer_extra.get("working_hours", ""),
        emergency_name=student_extra.get("emergency_name", ""),
        emergency_phone=student_extra.get("emergency_phone", ""),
    )
