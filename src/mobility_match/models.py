"""The database tables (SQLModel): who takes part, what is offered, rounds and who did what.

Students and offers are stored column for column as CONTRACT.md describes
them, so that records.py turns a row into the matching engine's plain types and
back without loss. A round keeps its own snapshot of students and offers: later
edits never change a solved or published round.

Times are aware datetimes in UTC (`utcnow()`); SQLModel stores and returns them
so on SQLite and PostgreSQL alike. This module
holds table definitions only: no queries, no rules.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """The current time, in UTC, time zone attached (as every column stores it)."""
    return dt.datetime.now(dt.UTC)


class Role(StrEnum):
    COORDINATOR = "coordinator"
    PARTNER = "partner"
    TEACHER = "teacher"
    STUDENT = "student"
    EVALUATOR = "evaluator"


class SchoolKind(StrEnum):
    PILOT = "pilot"
    CONTROL = "control"


class OfferStatus(StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"


class RoundStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    SOLVED = "solved"
    PUBLISHED = "published"


class Response(StrEnum):
    """A placed student's answer to a published placement, or the host's withdrawal."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class CredentialKind(StrEnum):
    SESSION = "session"
    API_TOKEN = "api_token"
    INVITATION = "invitation"


class School(SQLModel, table=True):
    """A lycée or apprentice centre; pilot schools send students abroad, controls are followed."""

    school_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    kind: SchoolKind = Field(default=SchoolKind.PILOT, max_length=16)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    contact_name: str = Field(default="", max_length=200)
    """Who host companies write to: the teacher following the placements."""
    contact_email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    contact_function: str = Field(default="", max_length=120)
    """The contact's function, printed under the signature (empty: the programme's wording)."""
    oid: str = Field(default="", max_length=9)
    """The school's Erasmus+ organisation ID (`E` and 8 digits), when it has one."""


class Partner(SQLModel, table=True):
    """A partner organisation of one host country (OFAJ, ABC Wiedzy, British Council…)."""

    code: str = Field(primary_key=True, max_length=32)
    country: str = Field(max_length=2)
    name: str = Field(max_length=200)


class Company(SQLModel, table=True):
    """A host company, brought by one partner."""

    company_id: str = Field(primary_key=True, max_length=64)
    partner: str = Field(foreign_key="partner.code", index=True, max_length=32)
    company_name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    city: str = Field(max_length=120)
    address: str = Field(max_length=300)


class Student(SQLModel, table=True):
    """A graduate taking part, as in students.csv."""

    student_id: str = Field(primary_key=True, max_length=64)
    first_name: str = Field(max_length=120)
    last_name: str = Field(max_length=120)
    email: str = Field(default="", max_length=254)
    gender: str = Field(max_length=1)
    birth_date: dt.date
    school_id: str = Field(foreign_key="school.school_id", index=True, max_length=64)
    diploma: str = Field(max_length=16)
    trade: str = Field(max_length=32)
    languages: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    available_from: dt.date
    available_to: dt.date
    preferences: list[str] = Field(default_factory=list, sa_type=JSON)
    extra: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=utcnow)
    cohort: int | None = Field(default=None, index=True)
    """The year of the diploma: the cohort the evaluation follows the graduate in."""
    guardian_consent_on: dt.date | None = None
    """When a parent or guardian agreed that a minor be asked for the follow-up."""


class Offer(SQLModel, table=True):
    """A company's places for one period, as in the offers files."""

    offer_id: str = Field(primary_key=True, max_length=64)
    partner: str = Field(foreign_key="partner.code", index=True, max_length=32)
    company_id: str = Field(foreign_key="company.company_id", index=True, max_length=64)
    contact_name: str = Field(max_length=200)
    contact_email: str = Field(max_length=254)
    sector: str = Field(max_length=16)
    trades: list[str] = Field(default_factory=list, sa_type=JSON)
    places: int
    start_date: dt.date
    end_date: dt.date
    language_requirement: str = Field(default="", max_length=200)
    accepts_minors: bool = False
    extra: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    status: OfferStatus = Field(default=OfferStatus.OPEN, max_length=16)
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Account(SQLModel, table=True):
    """Someone who signs in: staff with a password, students through an invitation."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=254)
    display_name: str = Field(default="", max_length=200)
    role: Role = Field(max_length=16)
    password_hash: str | None = Field(default=None, max_length=200)
    school_id: str | None = Field(default=None, foreign_key="school.school_id", max_length=64)
    partner: str | None = Field(default=None, foreign_key="partner.code", max_length=32)
    student_id: str | None = Field(
        default=None, foreign_key="student.student_id", unique=True, max_length=64
    )
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)
    language: str = Field(default="", max_length=8)
    """The language of the pages, chosen once by the person (empty: the default, French)."""


class Credential(SQLModel, table=True):
    """A session, an API token or a student invitation; only a hash of the secret is kept."""

    __tablename__ = "credential"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: CredentialKind = Field(max_length=16)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(default="", max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    invitation_id: int | None = Field(default=None, foreign_key="credential.id", index=True)
    """For a student's session: the invitation it was opened with (None: not from one)."""
    issued_by: int | None = Field(default=None, foreign_key="account.id")
    """For an invitation: the account that made it; for a session opened with one, the same
    (so that the session alone says whose link it came from)."""


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, counted to slow down password guessing."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=254)
    client: str = Field(index=True, max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class KnownSignIn(SQLModel, table=True):
    """An address an account signed in from successfully, kept 90 days after its last use:
    others' failed sign-ins do not slow this account down from there."""

    __tablename__ = "known_sign_in"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    client: str = Field(max_length=64)
    last_at: dt.datetime = Field(default_factory=utcnow, index=True)


class Round(SQLModel, table=True):
    """A matching round: a snapshot, its solve, its review and its publication."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    status: RoundStatus = Field(default=RoundStatus.DRAFT, max_length=16)
    version: int = 1
    """Raised by every state change; changes are compare-and-set on (status, version)."""
    policy: str = Field(default="", max_length=2000)
    time_limit: float = 60.0
    seed: int = 0
    previous_round_id: int | None = Field(default=None, foreign_key="round.id")
    superseded_by: int | None = Field(default=None, foreign_key="round.id")
    """The published re-run that replaced this published round; answers go there."""
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    solve_attempt: str | None = Field(default=None, max_length=64)
    lease_expires_at: dt.datetime | None = None
    progress: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    report: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str = Field(default="", max_length=2000)
    notes: list[str] = Field(default_factory=list, sa_type=JSON)
    """What a coordinator should know of how the round was made (locks not carried over)."""
    solved_at: dt.datetime | None = None
    published_at: dt.datetime | None = None
    response_deadline: dt.date | None = None
    inputs_sha256: str = Field(default="", max_length=64)
    """SHA-256 of the round's inputs (its snapshot and locks), recorded when it is solved."""
    software: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    """Versions of mobility_match, OR-tools and Python that solved it."""
    fairness_price: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    """The same round solved without gender balance and without school fairness."""
    project_number: str = Field(default="", max_length=40)
    """The Erasmus+ project (grant agreement) number the round's mobilities belong to."""


class RoundSnapshot(SQLModel, table=True):
    """The students and offers a round was created from, as CONTRACT.md rows."""

    __tablename__ = "round_snapshot"

    round_id: int = Field(foreign_key="round.id", primary_key=True)
    students: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    offers: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow)


class RoundLock(SQLModel, table=True):
    """A coordinator's lock in a round: the student on that offer, or unplaced (offer None)."""

    __tablename__ = "round_lock"

    __table_args__ = (UniqueConstraint("round_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    student_id: str = Field(max_length=64)
    offer_id: str | None = Field(default=None, max_length=64)


class Assignment(SQLModel, table=True):
    """One student's outcome in a round.

    Names, school, partner and the offer's summary are copied from the round's
    snapshot, so that lists and scoping need no snapshot parsing.
    """

    __table_args__ = (
        UniqueConstraint("round_id", "student_id"),
        # The review table filters and sorts one round's rows by these (10,000 students).
        Index("ix_assignment_round_name", "round_id", "last_name", "first_name"),
        Index("ix_assignment_round_school", "round_id", "school_id"),
        Index("ix_assignment_round_country", "round_id", "country"),
        Index("ix_assignment_round_sector", "round_id", "sector"),
        Index("ix_assignment_round_gender", "round_id", "gender"),
        Index("ix_assignment_round_reason", "round_id", "reason_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    student_id: str = Field(max_length=64, index=True)
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    school_id: str = Field(max_length=64, index=True)
    gender: str = Field(default="", max_length=1)
    """The student's gender in the round's snapshot (F, M, X)."""
    trade: str = Field(default="", max_length=32)
    sector: str = Field(default="", max_length=16)
    """The sector of the student's trade (services, production; empty if unknown)."""
    eligible: bool = False
    """Whether the student had at least one acceptable offer in the round."""
    offer_id: str | None = Field(default=None, max_length=64)
    partner: str | None = Field(default=None, max_length=32, index=True)
    company_name: str = Field(default="", max_length=200)
    country: str = Field(default="", max_length=2)
    city: str = Field(default="", max_length=120)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    preference_rank: int | None = None
    locked: bool = False
    reason_code: str = Field(default="", max_length=32)
    reason: str = Field(default="", max_length=2000)
    response: Response | None = Field(default=None, max_length=16)
    responded_at: dt.datetime | None = None
    version: int = 1


class AuditEvent(SQLModel, table=True):
    """Who did what, when, to which object. Never a password or a token."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    actor: str = Field(default="", max_length=254)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(default="", max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ChecklistStep(SQLModel, table=True):
    """One preparation step of a published placement, made from the country's checklist data.

    School and country are copied from the assignment so that the overdue view
    is one indexed query.
    """

    __tablename__ = "checklist_step"

    __table_args__ = (UniqueConstraint("round_id", "student_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    student_id: str = Field(max_length=64, index=True)
    school_id: str = Field(max_length=64, index=True)
    country: str = Field(max_length=2)
    key: str = Field(max_length=64)
    position: int = 0
    title: str = Field(max_length=300)
    explanation: str = Field(default="", max_length=2000)
    who: str = Field(max_length=16)
    due_on: dt.date = Field(index=True)
    check_legal: bool = False
    legal_note: str = Field(default="", max_length=1000)
    done_at: dt.datetime | None = None
    done_by: int | None = Field(default=None, foreign_key="account.id")
    done_by_name: str = Field(default="", max_length=254)


class PlacementDocument(SQLModel, table=True):
    """One generated version of a placement document, kept as printed.

    A new version is stored only when the rendered text changes; marking a
    version sent records who sent it and when, so that after a change one knows
    which version the host or the student holds.
    """

    __tablename__ = "placement_document"

    __table_args__ = (UniqueConstraint("round_id", "student_id", "kind", "lang", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    student_id: str = Field(max_length=64, index=True)
    school_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)
    lang: str = Field(max_length=8)
    version: int
    issued_on: dt.date
    """The date the document bears; regenerating unchanged content keeps it."""
    fingerprint: str = Field(max_length=64)
    """SHA-256 of the rendered HTML: the same text is the same version."""
    html: str = Field(sa_type=Text)
    pdf: bytes = Field(sa_type=LargeBinary)
    created_at: dt.datetime = Field(default_factory=utcnow)
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_by_name: str = Field(default="", max_length=254)
    sent_at: dt.datetime | None = None
    sent_by: int | None = Field(default=None, foreign_key="account.id")
    sent_by_name: str = Field(default="", max_length=254)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(SQLModel, table=True):
    """A long piece of work started from a page (a school's documents ZIP…), run in the
    background so that closing the page loses nothing; its result is kept to download.

    The id is a random token: a job is reached only by whoever started it (and coordinators).
    """

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    account_id: int = Field(foreign_key="account.id", index=True)
    school_id: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: JobStatus = Field(default=JobStatus.QUEUED, max_length=16)
    done: int = 0
    total: int = 0
    message: str = Field(default="", max_length=2000)
    file_name: str = Field(default="", max_length=200)
    media_type: str = Field(default="", max_length=100)
    result: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    lease_expires_at: dt.datetime | None = None


class UploadDraft(SQLModel, table=True):
    """A file uploaded for an import whose preview is being looked at, kept until it is
    applied or dropped, so that the person need not send it twice.

    Rows of one upload share `draft` (a random token) and belong to one account.
    """

    __tablename__ = "upload_draft"

    id: int | None = Field(default=None, primary_key=True)
    draft: str = Field(max_length=64, index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=16)
    position: int = 0
    file_name: str = Field(max_length=255)
    content: bytes = Field(sa_type=LargeBinary)
    created_at: dt.datetime = Field(default_factory=utcnow)


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxMail(SQLModel, table=True):
    """One mail to send, written in the transaction of the change that causes it (a publish
    that rolls back leaves none); services/outbox.py delivers it once.

    Its text is rendered when it is written. `key` says what the mail is about
    (`publish:<round>:<student>`): writing the same key again changes nothing. A link that
    signs someone in is kept apart (`link`) and forgotten once the mail is delivered or
    has failed.
    """

    __tablename__ = "outbox"

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=32)
    audience: str = Field(max_length=16)
    """Whom it is for: `student`, `guardian`, `teacher`, `coordinator` or `partner`."""
    recipient: str = Field(max_length=254)
    recipient_name: str = Field(default="", max_length=254)
    language: str = Field(max_length=8)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(sa_type=Text)
    link: str | None = Field(default=None, max_length=500)
    round_id: int | None = Field(default=None, foreign_key="round.id", index=True)
    student_id: str | None = Field(default=None, max_length=64, index=True)
    account_id: int | None = Field(default=None, index=True)
    """For a mail to staff (a teacher, a coordinator, a partner): the account it is for."""
    status: MailStatus = Field(default=MailStatus.QUEUED, max_length=16)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: dt.datetime | None = None
    last_error: str = Field(default="", max_length=1000)
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None


# ---- the evaluation: what happened to each graduate ---------------------------------


class PlacementOutcomeKind(StrEnum):
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    NOT_STARTED = "not_started"


class InterruptionReason(StrEnum):
    HEALTH = "health"
    FAMILY = "family"
    HOST = "host"
    """The host ended the placement."""
    ADAPTATION = "adaptation"
    """Difficulties living or working abroad."""
    CONDUCT = "conduct"
    OTHER = "other"


class PlacementOutcome(SQLModel, table=True):
    """How a published placement ended, recorded by a teacher, a coordinator or a partner."""

    __tablename__ = "placement_outcome"
    __table_args__ = (UniqueConstraint("round_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    student_id: str = Field(max_length=64, index=True)
    offer_id: str = Field(max_length=64)
    outcome: PlacementOutcomeKind = Field(max_length=16)
    interrupted_on: dt.date | None = None
    reason: InterruptionReason | None = Field(default=None, max_length=16)
    note: str = Field(default="", max_length=500)
    recorded_by: int | None = Field(default=None, foreign_key="account.id")
    recorded_at: dt.datetime = Field(default_factory=utcnow)
    version: int = 1


class Situation(StrEnum):
    """A graduate's situation, in the categories of the French national insertion statistics."""

    PERMANENT_CONTRACT = "permanent_contract"
    FIXED_TERM_CONTRACT = "fixed_term_contract"
    TEMPORARY_AGENCY = "temporary_agency"
    WORK_STUDY = "work_study"
    """An apprenticeship or another work-study contract."""
    SELF_EMPLOYED = "self_employed"
    EDUCATION = "education"
    """In further education or training."""
    JOB_SEEKING = "job_seeking"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"


EMPLOYED_SITUATIONS = frozenset(
    {
        Situation.PERMANENT_CONTRACT,
        Situation.FIXED_TERM_CONTRACT,
        Situation.TEMPORARY_AGENCY,
        Situation.WORK_STUDY,
        Situation.SELF_EMPLOYED,
    }
)
"""The situations that count as "in employment" (the national insertion statistics' own)."""


class AnswerSource(StrEnum):
    LINK = "link"
    """The graduate answered through his or her follow-up link."""
    TEACHER = "teacher"
    """A teacher entered it (after a phone call)."""
    IMPORT = "import"


class FollowUpAnswer(SQLModel, table=True):
    """A graduate's situation at one wave of the follow-up (months after the diploma)."""

    __tablename__ = "follow_up_answer"
    __table_args__ = (UniqueConstraint("student_id", "wave"),)

    id: int | None = Field(default=None, primary_key=True)
    student_id: str = Field(max_length=64, index=True)
    wave: int
    """Months after the diploma: 6 or 12 (configurable)."""
    situation: Situation = Field(max_length=24)
    in_trade: bool | None = None
    """Whether the job is in the graduate's trade (None: not employed, or not said)."""
    country: str = Field(default="", max_length=2)
    """Where the graduate works or studies (ISO code; FR for France)."""
    as_of: dt.date
    source: AnswerSource = Field(max_length=16)
    recorded_by: int | None = Field(default=None, foreign_key="account.id")
    recorded_at: dt.datetime = Field(default_factory=utcnow)


class SurveyKind(StrEnum):
    FOLLOW_UP = "follow_up"
    HOST_REVIEW = "host_review"


class SurveyLink(SQLModel, table=True):
    """A single-use, expiring link that asks someone outside the service: a graduate for the
    follow-up, a host's tutor for the end-of-placement review. Only a hash of its secret is
    kept."""

    __tablename__ = "survey_link"

    id: int | None = Field(default=None, primary_key=True)
    kind: SurveyKind = Field(max_length=16)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    student_id: str = Field(max_length=64, index=True)
    wave: int | None = None
    round_id: int | None = Field(default=None, foreign_key="round.id")
    offer_id: str | None = Field(default=None, max_length=64)
    recipient: str = Field(default="", max_length=254)
    language: str = Field(default="fr", max_length=8)
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    reminders: int = 0
    last_reminded_at: dt.datetime | None = None


class HostReview(SQLModel, table=True):
    """The host tutor's end-of-placement review of a trainee."""

    __tablename__ = "host_review"
    __table_args__ = (UniqueConstraint("round_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    student_id: str = Field(max_length=64, index=True)
    offer_id: str = Field(max_length=64)
    actual_start: dt.date | None = None
    actual_end: dt.date | None = None
    days_absent: int | None = None
    skills: list[str] = Field(default_factory=list, sa_type=JSON)
    """Skills the tutor observed, from the vocabulary of the review form."""
    comment: str = Field(default="", max_length=2000)
    would_host_again: bool | None = None
    language: str = Field(default="en", max_length=8)
    answered_at: dt.datetime = Field(default_factory=utcnow)
