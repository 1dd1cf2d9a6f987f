"""What the programme mails, and to whom: one function per kind of mail, one template each.

Templates are `templates/mail/<kind>.<lang>.txt` (plain text; it sets `subject`) and
`<kind>.<lang>.html` (autoescaped), overridable from the templates folder of the
settings like the documents. They are rendered when the mail is written to the outbox
(services/outbox.py), in the recipient's language (French for students unless his or her
account chose English). A mail holds only its recipient's own data, the programme's
name, and no secret but the link meant for that recipient (kept apart, see outbox).

The words of an unplaced student's reason are the pages' own (wording/reasons.py), in
the recipient's language. No HTTP and no import of the web layer here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
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
    Partner,
    Role,
    Round,
    School,
    Student,
    utcnow,
)
from mobility_match.records import GUARDIAN_COLUMNS
from mobility_match.services.outbox import LINK, Mail, enqueue, enqueue_all
from mobility_match.services.rows import require
from mobility_match.wording.catalogues import translations
from mobility_match.wording.reasons import reason_words

LANGUAGES = ("fr", "en")
"""Languages mails to students and their families are written in; French first."""


@dataclass(frozen=True)
class MailKind:
    """A kind of mail: its template and whom it is for."""

    name: str
    audience: str
    languages: tuple[str, ...] = LANGUAGES
    """The languages its templates are written in (others get the first)."""


PUBLICATION_PLACED = MailKind("publication_placed", "student")
PUBLICATION_UNPLACED = MailKind("publication_unplaced", "student")
INVITATION = MailKind("invitation", "student")
INVITATION_GUARDIAN = MailKind("invitation_guardian", "guardian")
OFFER_WITHDRAWN = MailKind("offer_withdrawn", "student")
OFFER_WITHDRAWN_TEACHER = MailKind("offer_withdrawn_teacher", "teacher", ("fr",))
DEADLINE_REMINDER = MailKind("deadline_reminder", "student")
STEPS_REMINDER = MailKind("steps_reminder", "student")
STEPS_DIGEST_TEACHER = MailKind("steps_digest", "teacher", ("fr",))
STEPS_DIGEST_COORDINATOR = MailKind("steps_digest", "coordinator", ("fr",))
PUBLICATION_PARTNER = MailKind("publication_partner", "partner", ("fr", "en", "de", "pl"))
HOST_REVIEW_REQUEST = MailKind("host_review_request", "host", ("en", "de", "pl", "fr"))
"""To a host's tutor: the end-of-placement review of one trainee (services/host_review.py)."""
FOLLOW_UP_REQUEST = MailKind("follow_up_request", "student", ("fr",))

KINDS: Mapping[str, MailKind] = {
    kind.name: kind
    for kind in (
        PUBLICATION_PLACED,
        PUBLICATION_UNPLACED,
        INVITATION,
        INVITATION_GUARDIAN,
        OFFER_WITHDRAWN,
        OFFER_WITHDRAWN_TEACHER,
        DEADLINE_REMINDER,
        STEPS_REMINDER,
        STEPS_DIGEST_TEACHER,
        PUBLICATION_PARTNER,
        FOLLOW_UP_REQUEST,
        HOST_REVIEW_REQUEST,
    )
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
    language = language if language in kind.languages else kind.languages[0]
    text_env, html_env = _environments(settings.templates_dir)
    values = {"programme": settings.programme_name, "lang": language, "link": LINK, **context}
    module = text_env.get_template(f"mail/{kind.name}.{language}.txt").make_module(values)
    subject = str(getattr(module, "subject", "")).strip()
    html = html_env.get_template(f"mail/{kind.name}.{language}.html").render(
        {**values, "subject": subject}
    )
    return Rendered(subject, str(module).strip() + "\n", html)


def compose(
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
        language=language if language in kind.languages else kind.languages[0],
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        **about,
    )


def languages_of(session: Session, student_ids: list[str]) -> dict[str, str]:
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


def url(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"


# ---- publication --------------------------------------------------------------------------


@dataclass(frozen=True)
class Enqueued:
    """How many mails a change wrote, and how many people it could not reach."""

    mails: int
    without_email: int


def enqueue_publication(
    session: Session, round_: Round, settings: Settings, previous: Round | None = None
) -> Enqueued:
    """In the publish's transaction: each student of the round with an e-mail gets the
    placement and the response deadline, or the reason and what happens next. For a
    re-run of `previous`, only the students whose placement changed (another offer, newly
    placed, newly unplaced, or new to the round): the others' mail still holds."""
    assert round_.id is not None
    before: dict[str, str | None] = {}
    if previous is not None:
        before = dict(
            session.exec(
                select(Assignment.student_id, Assignment.offer_id).where(
                    Assignment.round_id == previous.id
                )
            ).all()
        )
    rows = session.exec(
        select(Assignment, Student.email)
        .join(Student, col(Student.student_id) == col(Assignment.student_id), isouter=True)
        .where(Assignment.round_id == round_.id)
        .order_by(col(Assignment.student_id))
    ).all()
    languages = languages_of(session, [row.student_id for row, _email in rows])
    link = url(settings, "/student")
    without = 0
    mails: list[Mail] = []
    for assignment, email in rows:
        changed = previous is not None
        same = assignment.student_id in before and before[assignment.student_id] == (
            assignment.offer_id
        )
        if changed and same:
            continue  # the placement (or the reason to be unplaced) did not change
        if not email or not email.strip():
            without += 1
            continue
        language = languages.get(assignment.student_id, LANGUAGES[0])
        context: dict[str, Any] = {
            "changed": changed,
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
        mails.append(
            compose(
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
        )
    assignments = [row for row, _email in rows]
    mails.extend(_partner_publication(session, round_, settings, assignments, before))
    return Enqueued(enqueue_all(session, mails), without)


PARTNER_LANGUAGES = {"DE": "de", "PL": "pl", "UK": "en"}
"""The language a partner's mail is in when its account chose none: its country's."""


def _partner_publication(
    session: Session,
    round_: Round,
    settings: Settings,
    rows: Sequence[Assignment],
    before: Mapping[str, str | None],
) -> list[Mail]:
    """Each partner organisation's accounts learn how many trainees each of its offers
    received (no names: those are on its placements page), in the partner's language. For
    a re-run, only partners whose offers gained or lost a trainee."""
    rerun = round_.previous_round_id is not None and bool(before)
    previous_offers = set(before.values()) if rerun else set()
    placed: dict[str, dict[str, list[Assignment]]] = {}
    changed_partners: set[str] = set()
    for row in rows:
        if row.offer_id is None or row.partner is None:
            continue
        placed.setdefault(row.partner, {}).setdefault(row.offer_id, []).append(row)
        if rerun and before.get(row.student_id) != row.offer_id:
            changed_partners.add(row.partner)
    if rerun:
        # A partner whose offer lost a trainee changed too, even with no new trainee.
        offer_partners = dict(
            session.exec(
                select(Assignment.offer_id, Assignment.partner).where(
                    Assignment.round_id == round_.previous_round_id,
                    col(Assignment.offer_id).in_([o for o in previous_offers if o is not None]),
                )
            ).all()
        )
        now_at = {row.student_id: row.offer_id for row in rows}
        for student_id, offer_id in before.items():
            if offer_id is not None and now_at.get(student_id) != offer_id:
                partner = offer_partners.get(offer_id)
                if partner is not None:
                    changed_partners.add(partner)
    partners = changed_partners if rerun else set(placed)
    if not partners:
        return []
    countries = dict(
        session.exec(
            select(Partner.code, Partner.country).where(col(Partner.code).in_(partners))
        ).all()
    )
    mails = []
    for person in staff(session, Role.PARTNER, partners=partners):
        code = person.partner or ""
        language = person.language or PARTNER_LANGUAGES.get(countries.get(code, ""), "en")
        offers = [
            {
                "offer_id": offer_id,
                "company": trainees[0].company_name,
                "city": trainees[0].city,
                "start": trainees[0].start_date,
                "end": trainees[0].end_date,
                "trainees": len(trainees),
            }
            for offer_id, trainees in sorted(placed.get(code, {}).items())
        ]
        mails.append(
            compose(
                PUBLICATION_PARTNER,
                f"publish:{round_.id}:partner:{person.account_id}",
                person.address,
                person.name,
                language,
                {
                    "recipient_name": person.name,
                    "changed": rerun,
                    "round_name": round_.name,
                    "deadline": round_.response_deadline,
                    "offers": offers,
                    "trainees": sum(offer["trainees"] for offer in offers),
                    "placements_page": url(settings, "/partner/placements"),
                },
                settings,
                round_id=round_.id,
                account_id=person.account_id,
            )
        )
    return mails


_COUNTRY_NAMES = {
    "fr": {"DE": "Allemagne", "PL": "Pologne", "UK": "Royaume-Uni"},
    "en": {"DE": "Germany", "PL": "Poland", "UK": "the United Kingdom"},
}


def _country_name(code: str, language: str) -> str:
    return _COUNTRY_NAMES.get(language, _COUNTRY_NAMES["fr"]).get(code, code)


# ---- a host's withdrawal --------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """A teacher or coordinator who can be mailed: the account's username is an address."""

    account_id: int
    address: str
    name: str
    school_id: str | None
    partner: str | None = None
    language: str = ""
    """The language the person chose for the pages (empty: none chosen)."""


def staff(
    session: Session,
    role: Role,
    school_ids: Collection[str] | None = None,
    partners: Collection[str] | None = None,
) -> list[Staff]:
    """The active accounts of `role` (of `school_ids` or `partners` if given) whose
    username is an e-mail address, by id."""
    query = select(Account).where(Account.role == role, col(Account.active).is_(True))
    if school_ids is not None:
        query = query.where(col(Account.school_id).in_(list(school_ids)))
    if partners is not None:
        query = query.where(col(Account.partner).in_(list(partners)))
    return [
        Staff(
            account.id,
            account.username,
            account.display_name or account.username,
            account.school_id,
            account.partner,
            account.language,
        )
        for account in session.exec(query.order_by(col(Account.id)))
        if account.id is not None and "@" in account.username
    ]


def enqueue_withdrawal(
    session: Session, offer_id: str, withdrawn: Sequence[Assignment], settings: Settings
) -> int:
    """In the withdrawal's transaction: each student whose placement the host withdrew is
    told, and each teacher of their schools gets the list of his or her school's students
    (nobody else's). How many mails were written."""
    if not withdrawn:
        return 0
    ids = [row.student_id for row in withdrawn]
    emails = dict(
        session.exec(
            select(Student.student_id, Student.email).where(col(Student.student_id).in_(ids))
        ).all()
    )
    languages = languages_of(session, ids)
    rounds = {row.round_id: session.get(Round, row.round_id) for row in withdrawn}
    link = url(settings, "/student")
    written = 0
    for row in withdrawn:
        round_ = rounds[row.round_id]
        address = (emails.get(row.student_id) or "").strip()
        if round_ is None or not address:
            continue
        written += enqueue(
            session,
            compose(
                OFFER_WITHDRAWN,
                f"withdrawn:{row.round_id}:{offer_id}:{row.student_id}",
                address,
                f"{row.first_name} {row.last_name}".strip(),
                languages.get(row.student_id, LANGUAGES[0]),
                {
                    "first_name": row.first_name,
                    "company": row.company_name,
                    "city": row.city,
                    "round_name": round_.name,
                    "student_page": link,
                },
                settings,
                round_id=row.round_id,
                student_id=row.student_id,
            ),
        )
    schools = {row.school_id for row in withdrawn}
    names = dict(
        session.exec(
            select(School.school_id, School.name).where(col(School.school_id).in_(schools))
        ).all()
    )
    first = withdrawn[0]
    first_round = rounds[first.round_id]
    for teacher in staff(session, Role.TEACHER, schools):
        students = sorted(
            f"{row.first_name} {row.last_name}".strip()
            for row in withdrawn
            if row.school_id == teacher.school_id
        )
        written += enqueue(
            session,
            compose(
                OFFER_WITHDRAWN_TEACHER,
                f"withdrawn:{first.round_id}:{offer_id}:teacher:{teacher.account_id}",
                teacher.address,
                teacher.name,
                "fr",
                {
                    "recipient_name": teacher.name,
                    "company": first.company_name,
                    "city": first.city,
                    "offer_id": offer_id,
                    "round_name": first_round.name if first_round is not None else "",
                    "scope": names.get(teacher.school_id or "", teacher.school_id or ""),
                    "students": students,
                    "follow_up_page": url(settings, "/teacher"),
                },
                settings,
                round_id=first.round_id,
                account_id=teacher.account_id,
            ),
        )
    return written


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
            compose(
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
            compose(
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
    """The mails sent (or to be sent) to the signed-in person, newest first: a student's
    own (not those to his or her guardian), a staff member's to his or her account."""
    if viewer.role is Role.STUDENT:
        if viewer.student_id is None:
            return []
        mine = (OutboxMail.student_id == viewer.student_id) & (OutboxMail.audience == "student")
    else:
        mine = OutboxMail.account_id == viewer.account_id
    return list(
        session.exec(
            select(OutboxMail)
            .where(mine)
            .order_by(col(OutboxMail.created_at).desc(), col(OutboxMail.id).desc())
            .limit(limit)
        ).all()
    )


def mail_address(session: Session, viewer: Viewer) -> str | None:
    """Where the service mails the signed-in person: a student's e-mail, a staff member's
    username when it is an address; None when it cannot mail him or her."""
    if viewer.role is Role.STUDENT:
        student = session.get(Student, viewer.student_id) if viewer.student_id else None
        address = (student.email or "").strip() if student is not None else ""
        return address or None
    return viewer.username if "@" in viewer.username else None


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
