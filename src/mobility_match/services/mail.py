"""What the programme mails, and to whom: one function per kind of mail, one template each.

Templates are `templates/mail/<kind>.<lang>.txt` (plain text; it sets `subject`) and
`<kind>.<lang>.html` (autoescaped), overridable from the templates folder of the
settings like the documents. They are rendered when the mail is written to the outbox
(services/outbox.py), in the recipient's language (French for students unless his or her
account chose English). A mail holds only its recipient's own data, the programme's
name, and no secret but the link meant for that recipient (kept apart, see outbox).

The words of an unplaced student's reason are the pages' own (web/pages/reasons.py), in
the recipient's language. No HTTP here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func
from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.documents.formatting import full_name, long_date
from mobility_match.documents.rendering import packaged_templates_dir
from mobility_match.models import (
    Account,
    Assignment,
    MailStatus,
    OutboxMail,
    Role,
    Round,
    Student,
    utcnow,
)
from mobility_match.services.outbox import LINK, Mail, enqueue
from mobility_match.services.placements import GUARDIAN_COLUMNS
from mobility_match.services.rows import require
from mobility_match.web.i18n import translations
from mobility_match.web.pages.reasons import reason_words

LANGUAGES = ("fr", "en")
"""Languages mails to students and their families are written in; French first."""


@dataclass(frozen=True)
class MailKind:
    """A kind of mail: its template and whom it is for."""

    name: str
    audience: str


PUBLICATION_PLACED = MailKind("publication_placed", "student")
PUBLICATION_UNPLACED = MailKind("publication_unplaced", "student")
INVITATION = MailKind("invitation", "student")
INVITATION_GUARDIAN = MailKind("invitation_guardian", "guardian")

KINDS: Mapping[str, MailKind] = {
    kind.name: kind
    for kind in (PUBLICATION_PLACED, PUBLICATION_UNPLACED, INVITATION, INVITATION_GUARDIAN)
}
"""Every kind of mail; each has `templates/mail/<name>.<lang>.txt` and `.html` per language."""


# ---- rendering ----------------------------------------------------------------------------


@cache
def _environments(override: Path | None) -> tuple[Environment, Environment]:
    roots = [packaged_templates_dir()] if override is None else [override, packaged_templates_dir()]
    loader = ChoiceLoader([FileSystemLoader(str(root)) for root in roots])
    common: dict[str, Any] = {
        "loader": loader,
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    text = Environment(autoescape=False, **common)  # plain text, never HTML
    html = Environment(autoescape=True, **common)
    for environment in (text, html):
        environment.filters["long_date"] = long_date
        environment.globals["full_name"] = full_name
    return text, html


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(
    kind: MailKind, language: str, context: Mapping[str, Any], settings: Settings
) -> Rendered:
    """The subject, plain text and HTML of `kind` in `language` (French if not written)."""
    language = language if language in LANGUAGES else LANGUAGES[0]
    text_env, html_env = _environments(settings.templates_dir)
    values = {"programme": settings.programme_name, "lang": language, "link": LINK, **context}
    module = text_env.get_template(f"mail/{kind.name}.{language}.txt").make_module(values)
    subject = str(getattr(module, "subject", "")).strip()
    html = html_env.get_template(f"mail/{kind.name}.{language}.html").render(
        {**values, "subject": subject}
    )
    return Rendered(subject, str(module).strip() + "\n", html)


def _mail(
    kind: MailKind,
    key: str,
    recipient: str,
    recipient_name: str,
    language: str,
    context: Mapping[str, Any],
    settings: Settings,
    **about: Any,
) -> Mail:
    rendered = render(kind, language, context, settings)
    return Mail(
        key=key,
        kind=kind.name,
        audience=kind.audience,
        recipient=recipient.strip(),
        recipient_name=recipient_name,
        language=language if language in LANGUAGES else LANGUAGES[0],
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        **about,
    )


def _languages(session: Session, student_ids: list[str]) -> dict[str, str]:
    """The language each student's account chose (none: French)."""
    chosen: dict[str, str] = {}
    for start in range(0, len(student_ids), 500):
        for student_id, language in session.exec(
            select(Account.student_id, Account.language).where(
                col(Account.student_id).in_(student_ids[start : start + 500])
            )
        ):
            if student_id is not None and language in LANGUAGES:
                chosen[student_id] = language
    return chosen


def _url(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"


# ---- publication --------------------------------------------------------------------------


@dataclass(frozen=True)
class Enqueued:
    """How many mails a change wrote, and how many people it could not reach."""

    mails: int
    without_email: int


def enqueue_publication(session: Session, round_: Round, settings: Settings) -> Enqueued:
    """In the publish's transaction: each student of the round with an e-mail gets the
    placement and the response deadline, or the reason and what happens next."""
    assert round_.id is not None
    rows = session.exec(
        select(Assignment, Student.email)
        .join(Student, col(Student.student_id) == col(Assignment.student_id), isouter=True)
        .where(Assignment.round_id == round_.id)
        .order_by(col(Assignment.student_id))
    ).all()
    languages = _languages(session, [row.student_id for row, _email in rows])
    link = _url(settings, "/student")
    mails = without = 0
    for assignment, email in rows:
        if not email or not email.strip():
            without += 1
            continue
        language = languages.get(assignment.student_id, LANGUAGES[0])
        context: dict[str, Any] = {
            "first_name": assignment.first_name,
            "last_name": assignment.last_name,
            "round_name": round_.name,
            "deadline": round_.response_deadline,
            "student_page": link,
        }
        if assignment.offer_id is not None:
            kind = PUBLICATION_PLACED
            context.update(
                company=assignment.company_name,
                city=assignment.city,
                country=_country_name(assignment.country, language),
                start=assignment.start_date,
                end=assignment.end_date,
            )
        else:
            kind = PUBLICATION_UNPLACED
            words = reason_words(assignment.reason_code, translations(language).gettext)
            context["reason"] = words.to_student if words is not None else ""
        mail = _mail(
            kind,
            f"publish:{round_.id}:{assignment.student_id}",
            email,
            f"{assignment.first_name} {assignment.last_name}".strip(),
            language,
            context,
            settings,
            round_id=round_.id,
            student_id=assignment.student_id,
        )
        mails += enqueue(session, mail)
    return Enqueued(mails, without)


_COUNTRY_NAMES = {
    "fr": {"DE": "Allemagne", "PL": "Pologne", "UK": "Royaume-Uni"},
    "en": {"DE": "Germany", "PL": "Poland", "UK": "the United Kingdom"},
}


def _country_name(code: str, language: str) -> str:
    return _COUNTRY_NAMES.get(language, _COUNTRY_NAMES["fr"]).get(code, code)


# ---- invitations ----------------------------------------------------------------------------


def _is_minor(student: Student, today: dt.date) -> bool:
    birth = student.birth_date
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return age < 18


def enqueue_invitation(
    session: Session,
    student: Student,
    invitation_id: int,
    url: str,
    expires_at: dt.datetime,
    settings: Settings,
    language: str,
) -> list[OutboxMail]:
    """In the invitation's transaction: the link to the student (if he or she has an
    e-mail), and for a minor a notice without the link to the parent or guardian. Queued
    mails of the student's earlier links are dropped (those links no longer work)."""
    earlier = session.exec(
        select(OutboxMail).where(
            OutboxMail.student_id == student.student_id,
            col(OutboxMail.kind).in_([INVITATION.name, INVITATION_GUARDIAN.name]),
            OutboxMail.status == MailStatus.QUEUED,
        )
    ).all()
    for mail in earlier:
        session.delete(mail)
    name = f"{student.first_name} {student.last_name}".strip()
    context = {
        "first_name": student.first_name,
        "last_name": student.last_name,
        "expires_at": expires_at.date(),
    }
    keys = []
    if student.email.strip():
        key = f"invite:{invitation_id}:student"
        enqueue(
            session,
            _mail(
                INVITATION,
                key,
                student.email,
                name,
                language,
                context,
                settings,
                student_id=student.student_id,
                link=url,
            ),
        )
        keys.append(key)
    guardian_name, guardian_email = (student.extra.get(c, "").strip() for c in GUARDIAN_COLUMNS[:2])
    if guardian_email and _is_minor(student, utcnow().date()):
        key = f"invite:{invitation_id}:guardian"
        enqueue(
            session,
            _mail(
                INVITATION_GUARDIAN,
                key,
                guardian_email,
                guardian_name,
                LANGUAGES[0],
                {**context, "guardian_name": guardian_name, "mailed": bool(student.email.strip())},
                settings,
                student_id=student.student_id,
            ),
        )
        keys.append(key)
    session.flush()
    return list(session.exec(select(OutboxMail).where(col(OutboxMail.key).in_(keys))).all())


def invitation_mails(session: Session, invitation_id: int) -> list[OutboxMail]:
    """The mails an invitation wrote (to the student, to the guardian), for the page that
    shows the link."""
    prefix = f"invite:{invitation_id}:"
    return list(
        session.exec(
            select(OutboxMail)
            .where(col(OutboxMail.key).startswith(prefix))
            .order_by(col(OutboxMail.id))
        ).all()
    )


# ---- what the pages show ------------------------------------------------------------------


def my_mails(session: Session, viewer: Viewer, limit: int = 20) -> list[OutboxMail]:
    """The mails sent (or to be sent) to the signed-in student, newest first."""
    if viewer.student_id is None:
        return []
    return list(
        session.exec(
            select(OutboxMail)
            .where(OutboxMail.student_id == viewer.student_id, OutboxMail.audience == "student")
            .order_by(col(OutboxMail.created_at).desc(), col(OutboxMail.id).desc())
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class RoundDelivery:
    """The mails of a round: how many in each state, who was not reached and why."""

    counts: Mapping[MailStatus, int]
    failed: list[OutboxMail]
    not_mailed: int
    """Students of the round who got no publication mail (no e-mail address)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def round_delivery(session: Session, viewer: Viewer, round_id: int) -> RoundDelivery:
    """Delivery state of a round's mails (coordinators)."""
    require(viewer, Role.COORDINATOR)
    counts = dict.fromkeys(MailStatus, 0)
    for status, count in session.exec(
        select(OutboxMail.status, func.count())
        .where(OutboxMail.round_id == round_id)
        .group_by(col(OutboxMail.status))
    ):
        counts[MailStatus(status)] = int(count)
    failed = session.exec(
        select(OutboxMail)
        .where(OutboxMail.round_id == round_id, OutboxMail.status == MailStatus.FAILED)
        .order_by(col(OutboxMail.recipient_name), col(OutboxMail.id))
    ).all()
    round_ = session.get(Round, round_id)
    if round_ is None or round_.published_at is None or round_.previous_round_id is not None:
        # Only a first publication mails every student (a re-run's mails come later).
        return RoundDelivery(counts, list(failed), 0)
    students = session.exec(
        select(func.count()).select_from(Assignment).where(Assignment.round_id == round_id)
    ).one()
    mailed = session.exec(
        select(func.count(func.distinct(OutboxMail.student_id))).where(
            OutboxMail.round_id == round_id,
            col(OutboxMail.kind).in_([PUBLICATION_PLACED.name, PUBLICATION_UNPLACED.name]),
        )
    ).one()
    return RoundDelivery(counts, list(failed), max(0, int(students) - int(mailed)))
