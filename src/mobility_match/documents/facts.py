"""The plain facts of one published placement, as every document and checklist needs them.

services/documents.py builds a `PlacementFacts` from the database (the round's
snapshot, the school, the partner); templates read it and nothing else, so a
template never runs a query and a test can render a letter from a hand-built
value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from mobility_match.domain import Country, Diploma, Gender

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

    @property
    def weeks(self) -> int:
        """The placement's length in whole weeks, a started week counting as one."""
        days = (self.end_date - self.start_date).days + 1
        return -(-days // 7)
