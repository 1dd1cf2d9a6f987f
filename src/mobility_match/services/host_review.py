"""The host tutor's end-of-placement review: the link mailed when a placement ends, its
reminders, the answer, and what coordinators and teachers see of it.

When a published placement ends, the daily job (`send_host_reviews`, from
reminders.run_daily) mails the offer's contact a single-use link in the host
country's language, about that trainee only; 3 and 10 days later, if nobody
answered, a reminder with a link of its own (each mail's link works; answering
through any uses them all up). Only the SHA-256 of a link's secret is kept. Outbox keys
(`host_review:<round>:<student>`, `…:reminder:<3|10>`) make a second run write
nothing. Looking at a link (GET) uses nothing up: mail scanners open links.

The rules of an answer live in `answer_problems` (codes a page words in the tutor's
language). Nothing here knows of HTTP.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from sqlalchemy import update
from sqlmodel import Session, col, select

from mobility_match import access
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.models import (
    Assignment,
    HostReview,
    Offer,
    OutboxMail,
    PlacementOutcome,
    PlacementOutcomeKind,
    Role,
    Round,
    RoundStatus,
    Student,
    SurveyKind,
    SurveyLink,
    utcnow,
)
from mobility_match.security import new_token, token_hash
from mobility_match.services import audit, mail
from mobility_match.services.errors import Gone, NotFound, Refused
from mobility_match.services.outbox import enqueue
from mobility_match.services.placements import is_current

HOST_LANGUAGES = {"DE": "de", "PL": "pl", "UK": "en"}
"""The language of a host's review (mail and page): its country's."""
REMINDER_DAYS = (3, 10)
"""Days after the request when an unanswered review is reminded of, once each."""
CATCH_UP = dt.timedelta(days=30)
"""A placement that ended longer ago than this is not asked any more (the job did not run,
or the placement was published before reviews existed)."""
COMMENT_LENGTH = 2000
EARLY_START = dt.timedelta(days=31)
"""How much earlier than planned an actual start may be."""


# ---- the skills a tutor may tick: data, in every language of the review -----------------


@dataclass(frozen=True)
class Skill:
    code: str
    labels: Mapping[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["en"]


@cache
def skills() -> tuple[Skill, ...]:
    """The vocabulary of skills observed (vocabularies/host_review_skills.csv), in order."""
    text = (
        resources.files("mobility_match.vocabularies")
        .joinpath("host_review_skills.csv")
        .read_text("utf-8")
    )
    return tuple(
        Skill(row["code"], {k: v for k, v in row.items() if k != "code"})
        for row in csv.DictReader(text.splitlines())
    )


def skill_label(code: str, language: str) -> str:
    """A skill's words in `language` (the code itself if it left the vocabulary)."""
    return next((s.label(language) for s in skills() if s.code == code), code)


# ---- the daily job: requests and reminders -----------------------------------------------


@dataclass(frozen=True)
class Sent:
    """How many review mails one run wrote (a repeat writes none)."""

    requests: int = 0
    reminders: int = 0

    @property
    def total(self) -> int:
        return self.requests + self.reminders


def review_url(settings: Settings, token: str) -> str:
    return mail.url(settings, f"/review/{token}")


def _request_key(round_id: int, student_id: str) -> str:
    return f"host_review:{round_id}:{student_id}"


def send_host_reviews(session: Session, settings: Settings, today: dt.date) -> Sent:
    """Write today's review requests and reminders to the outbox and commit."""
    requests = _requests(session, settings, today)
    reminders = _reminders(session, settings, today)
    session.commit()
    return Sent(requests, reminders)


def _requests(session: Session, settings: Settings, today: dt.date) -> int:
    """A link to the tutor of each published placement that ended (by `today`, within
    CATCH_UP) and was not asked yet: neither declined, withdrawn nor recorded not started."""
    rows = session.exec(
        select(Assignment, Offer.contact_email, Offer.contact_name)
        .join(Round, col(Round.id) == col(Assignment.round_id))
        .join(Offer, col(Offer.offer_id) == col(Assignment.offer_id))
        .where(
            col(Round.status) == RoundStatus.PUBLISHED,
            col(Round.superseded_by).is_(None),
            is_current(),
            col(Assignment.end_date) <= today,
            col(Assignment.end_date) >= today - CATCH_UP,
        )
        .order_by(col(Assignment.round_id), col(Assignment.student_id))
    ).all()
    if not rows:
        return 0
    asked = {
        (round_id, student_id)
        for round_id, student_id in session.exec(
            select(SurveyLink.round_id, SurveyLink.student_id).where(
                SurveyLink.kind == SurveyKind.HOST_REVIEW,
                col(SurveyLink.round_id).in_({row.round_id for row, _e, _n in rows}),
            )
        )
    }
    not_started = {
        (round_id, student_id)
        for round_id, student_id in session.exec(
            select(PlacementOutcome.round_id, PlacementOutcome.student_id).where(
                PlacementOutcome.outcome == PlacementOutcomeKind.NOT_STARTED,
                col(PlacementOutcome.round_id).in_({row.round_id for row, _e, _n in rows}),
            )
        )
    }
    written = 0
    for assignment, email, name in rows:
        key = (assignment.round_id, assignment.student_id)
        if key in asked or key in not_started or not email.strip():
            continue
        written += _mail_link(session, settings, assignment, email, name, reminder=0)
    return written


def _mail_link(
    session: Session,
    settings: Settings,
    assignment: Assignment,
    email: str,
    name: str,
    *,
    reminder: int,
    expires_at: dt.datetime | None = None,
) -> int:
    """Write one mail with a new link about `assignment`'s trainee; the link is kept only
    if the mail was (a concurrent run that wrote it first keeps its own)."""
    now = utcnow()
    language = HOST_LANGUAGES.get(assignment.country, "en")
    token = new_token()
    link = SurveyLink(
        kind=SurveyKind.HOST_REVIEW,
        token_hash=token_hash(token),
        student_id=assignment.student_id,
        round_id=assignment.round_id,
        offer_id=assignment.offer_id,
        recipient=email.strip(),
        language=language,
        created_at=now,
        expires_at=expires_at or now + dt.timedelta(days=settings.host_review_link_days),
    )
    key = _request_key(assignment.round_id, assignment.student_id)
    if reminder:
        key += f":reminder:{reminder}"
    written = enqueue(
        session,
        mail.compose(
            mail.HOST_REVIEW_REQUEST,
            key,
            email,
            name,
            language,
            {
                "recipient_name": name,
                "first_name": assignment.first_name,
                "last_name": assignment.last_name,
                "company": assignment.company_name,
                "city": assignment.city,
                "start": assignment.start_date,
                "end": assignment.end_date,
                "expires_at": link.expires_at.date(),
                "reminder": reminder,
            },
            settings,
            round_id=assignment.round_id,
            student_id=assignment.student_id,
            link=review_url(settings, token),
        ),
    )
    if written:
        session.add(link)
        session.flush()
    return int(written)


def _reminders(session: Session, settings: Settings, today: dt.date) -> int:
    """A reminder, with a new link, to each tutor who has not answered 3 and 10 days after
    the request (the latest of those due, once each), while the request's link works."""
    now = utcnow()
    firsts: dict[tuple[int, str], SurveyLink] = {}
    for link in session.exec(
        select(SurveyLink)
        .where(
            SurveyLink.kind == SurveyKind.HOST_REVIEW,
            col(SurveyLink.used_at).is_(None),
            col(SurveyLink.expires_at) > now,
        )
        .order_by(col(SurveyLink.id))
    ):
        if link.round_id is not None:
            firsts.setdefault((link.round_id, link.student_id), link)
    due: dict[tuple[int, str], tuple[SurveyLink, int]] = {}
    for key, first in firsts.items():
        days = (today - first.created_at.date()).days
        tags = [tag for tag in REMINDER_DAYS if days >= tag]
        if tags:
            due[key] = (first, tags[-1])
    if not due:
        return 0
    keys = {k: f"{_request_key(*k)}:reminder:{tag}" for k, (_first, tag) in due.items()}
    written_before = set(
        session.exec(select(OutboxMail.key).where(col(OutboxMail.key).in_(keys.values())))
    )
    answered = _answered(session, list(due))
    written = 0
    for key, (first, tag) in sorted(due.items()):
        if keys[key] in written_before or key in answered:
            continue
        assignment = session.exec(
            select(Assignment).where(Assignment.round_id == key[0], Assignment.student_id == key[1])
        ).first()
        if assignment is None:
            continue
        offer = session.get(Offer, first.offer_id) if first.offer_id else None
        name = offer.contact_name if offer is not None else ""
        email = offer.contact_email if offer is not None else first.recipient
        if _mail_link(
            session, settings, assignment, email, name, reminder=tag, expires_at=first.expires_at
        ):
            first.reminders += 1
            first.last_reminded_at = now
            session.add(first)
            written += 1
    return written


def _answered(session: Session, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    rounds = {round_id for round_id, _student in keys}
    return {
        (round_id, student_id)
        for round_id, student_id in session.exec(
            select(HostReview.round_id, HostReview.student_id).where(
                col(HostReview.round_id).in_(rounds)
            )
        )
    }


# ---- the link and its answer -------------------------------------------------------------


class LinkUsed(Gone):
    """The review was already given (through this link or another of the same placement)."""

    def __init__(self, used_at: dt.datetime) -> None:
        super().__init__(f"This review link was already used on {used_at:%Y-%m-%d} (UTC).")
        self.used_at = used_at


class LinkExpired(Gone):
    def __init__(self, expires_at: dt.datetime) -> None:
        super().__init__(f"This review link expired on {expires_at:%Y-%m-%d} (UTC).")
        self.expires_at = expires_at


@dataclass(frozen=True)
class ReviewRequest:
    """What the review page shows: the trainee and the planned placement, nothing else."""

    link_id: int
    language: str
    first_name: str
    last_name: str
    company: str
    city: str
    start: dt.date | None
    end: dt.date | None


def _live_link(session: Session, token: str) -> SurveyLink:
    link = session.exec(
        select(SurveyLink).where(
            SurveyLink.token_hash == token_hash(token), SurveyLink.kind == SurveyKind.HOST_REVIEW
        )
    ).first()
    if link is None:
        raise NotFound("This review link is not valid.")
    if link.used_at is not None:
        raise LinkUsed(link.used_at)
    if link.expires_at <= utcnow():
        raise LinkExpired(link.expires_at)
    return link


def link_language(session: Session, token: str) -> str:
    """The language of a link, known or not, live or not (an unknown one: English)."""
    language = session.exec(
        select(SurveyLink.language).where(SurveyLink.token_hash == token_hash(token))
    ).first()
    return language or "en"


def open_request(session: Session, token: str) -> ReviewRequest:
    """The review a live link asks for (nothing is used up); NotFound, LinkUsed, LinkExpired."""
    link = _live_link(session, token)
    assignment = session.exec(
        select(Assignment).where(
            Assignment.round_id == link.round_id, Assignment.student_id == link.student_id
        )
    ).first()
    session.commit()
    if assignment is None:
        raise NotFound("This review link is not valid any more.")
    assert link.id is not None
    return ReviewRequest(
        link.id,
        link.language,
        assignment.first_name,
        assignment.last_name,
        assignment.company_name,
        assignment.city,
        assignment.start_date,
        assignment.end_date,
    )


@dataclass(frozen=True)
class ReviewAnswers:
    """A tutor's answers, typed (the page parses the form)."""

    actual_start: dt.date | None = None
    actual_end: dt.date | None = None
    days_absent: int | None = None
    skills: tuple[str, ...] = ()
    would_host_again: bool | None = None
    comment: str = ""


def answer_problems(
    answers: ReviewAnswers, request: ReviewRequest, today: dt.date
) -> list[tuple[str, str]]:
    """(field, code) for each rule the answers break; the page words each code. Codes:
    `future` (a date after today), `too_early` (a start more than a month before the
    planned one), `end_before_start`, `absent_too_many` (more days than the placement
    lasted, or negative), `unknown_skill`, `comment_too_long`."""
    problems = []
    for name, day in (("actual_start", answers.actual_start), ("actual_end", answers.actual_end)):
        if day is not None and day > today:
            problems.append((name, "future"))
    start = answers.actual_start
    if start is not None and request.start is not None and start < request.start - EARLY_START:
        problems.append(("actual_start", "too_early"))
    end = answers.actual_end
    if start is not None and end is not None and end < start:
        problems.append(("actual_end", "end_before_start"))
    first = start or request.start
    last = end or request.end
    if answers.days_absent is not None:
        length = (last - first).days + 1 if first is not None and last is not None else 366
        if not 0 <= answers.days_absent <= max(length, 0):
            problems.append(("days_absent", "absent_too_many"))
    known = {skill.code for skill in skills()}
    if any(code not in known for code in answers.skills):
        problems.append(("skills", "unknown_skill"))
    if len(answers.comment) > COMMENT_LENGTH:
        problems.append(("comment", "comment_too_long"))
    return problems


def submit_review(
    session: Session, token: str, answers: ReviewAnswers, today: dt.date
) -> HostReview:
    """Store the review and use up every link of the placement, at once (of two answers
    racing, one is stored, the other is told the link was used)."""
    request = open_request(session, token)
    problems = answer_problems(answers, request, today)
    if problems:
        raise Refused(
            "The review has mistakes.", problems=[f"{name}: {code}" for name, code in problems]
        )
    link = _live_link(session, token)
    now = utcnow()
    used = session.exec(
        update(SurveyLink)
        .where(
            col(SurveyLink.kind) == SurveyKind.HOST_REVIEW,
            col(SurveyLink.round_id) == link.round_id,
            col(SurveyLink.student_id) == link.student_id,
            col(SurveyLink.used_at).is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used < 1:
        session.rollback()
        raise LinkUsed(now)
    assert link.round_id is not None
    review = HostReview(
        round_id=link.round_id,
        student_id=link.student_id,
        offer_id=link.offer_id or "",
        actual_start=answers.actual_start,
        actual_end=answers.actual_end,
        days_absent=answers.days_absent,
        skills=list(dict.fromkeys(answers.skills)),
        comment=answers.comment.strip(),
        would_host_again=answers.would_host_again,
        language=link.language,
        answered_at=now,
    )
    session.add(review)
    audit.record(
        session,
        None,
        "host_review.answer",
        "assignment",
        f"{link.round_id}/{link.student_id}",
        link=link.id,
        language=link.language,
    )
    session.commit()
    return review


# ---- what coordinators and teachers see --------------------------------------------------


@dataclass(frozen=True)
class ReviewState:
    """A placement's review: when it was asked, how often reminded, and the answer."""

    requested_at: dt.datetime | None
    reminders: int
    expires_at: dt.datetime | None
    review: HostReview | None
    skill_codes: list[str] = field(default_factory=list)

    def skill_labels(self, language: str) -> list[str]:
        return [skill_label(code, language) for code in self.skill_codes]

    @property
    def expired(self) -> bool:
        return self.review is None and self.expires_at is not None and self.expires_at <= utcnow()


def review_state(
    session: Session, viewer: Viewer, round_id: int, student_id: str
) -> ReviewState | None:
    """The review of a student's placement in a round, for a coordinator or the student's
    teacher (None: never asked, or not the viewer's to see)."""
    if viewer.role not in (Role.COORDINATOR, Role.TEACHER):
        return None
    visible = session.exec(
        access.students(viewer, select(Student).where(Student.student_id == student_id))
    ).first()
    if visible is None:
        return None
    review = session.exec(
        select(HostReview).where(
            HostReview.round_id == round_id, HostReview.student_id == student_id
        )
    ).first()
    first = session.exec(
        select(SurveyLink)
        .where(
            SurveyLink.kind == SurveyKind.HOST_REVIEW,
            SurveyLink.round_id == round_id,
            SurveyLink.student_id == student_id,
        )
        .order_by(col(SurveyLink.id))
    ).first()
    if review is None and first is None:
        return None
    return ReviewState(
        first.created_at if first is not None else None,
        first.reminders if first is not None else 0,
        first.expires_at if first is not None else None,
        review,
        list(review.skills) if review is not None else [],
    )


def redact_names(text: str, names: Sequence[str], replacement: str) -> str:
    """`text` with each of `names` (whole words, any case) replaced (evaluation retention)."""
    words = sorted({name.strip() for name in names if len(name.strip()) >= 2}, key=len)[::-1]
    if not words:
        return text
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(word) for word in words) + r")(?!\w)", re.IGNORECASE
    )
    return pattern.sub(replacement, text)
