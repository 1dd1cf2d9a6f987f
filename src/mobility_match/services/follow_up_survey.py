"""The graduates' follow-up: their situation 6 and 12 months after the diploma (the waves of
the settings), for every school, pilot and control alike.

An answer comes three ways: the graduate's own single-use, expiring link (mailed by the
daily job when the wave's date comes, with reminders to those who have not answered, each
reminder carrying a new link that ends the earlier one), a teacher after a phone call, or
a coordinator's file (importing/follow_up.py, all or nothing). Each is checked by
`answer_problems`: a known situation, a date neither before the diploma nor in the future,
a graduate in the scope of the person recording it. A minor at the wave's date is asked
only once a parent's consent is recorded. The newest answer of a wave replaces the earlier
one; the audit log keeps both. Only a hash of a link's secret is kept (as invitations do);
a GET of the link uses nothing up, the page's POST does. No HTTP here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from mobility_match import access, uploads
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.importing.follow_up import FollowUpRow, read_follow_up
from mobility_match.importing.sheet import sorted_problems
from mobility_match.importing.table import Problem
from mobility_match.models import (
    EMPLOYED_SITUATIONS,
    AnswerSource,
    FollowUpAnswer,
    OutboxMail,
    Role,
    Situation,
    Student,
    SurveyKind,
    SurveyLink,
    utcnow,
)
from mobility_match.security import new_token, token_hash
from mobility_match.services import audit, mail
from mobility_match.services.errors import Gone, NotFound, Refused
from mobility_match.services.outbox import Mail, enqueue, enqueue_all
from mobility_match.services.rows import chunks, require

EMPLOYED = EMPLOYED_SITUATIONS
"""The situations of a graduate in employment (work-study contracts included)."""
LOCATED = EMPLOYED | {Situation.EDUCATION}
"""The situations that happen in a country (the answer says which)."""

COUNTRIES = (
    "FR",
    "DE",
    "PL",
    "UK",
    "BE",
    "LU",
    "CH",
    "ES",
    "IT",
    "PT",
    "NL",
    "IE",
    "AT",
    "OTHER",
)
"""Where a graduate works or studies: France, the host countries (UK as in CONTRACT.md),
neighbours, or another country (OTHER)."""

NO_LONGER_VALID = (
    "This follow-up link no longer works (already used, replaced by a newer one, or "
    "expired); your school may ask you by phone instead."
)


# ---- the waves ------------------------------------------------------------------------


def diploma_date(cohort: int, settings: Settings) -> dt.date:
    """The day of the diploma of a cohort (settings.diploma_day in the cohort's year)."""
    month, day = (int(part) for part in settings.diploma_day.split("-"))
    return dt.date(cohort, month, min(day, calendar.monthrange(cohort, month)[1]))


def wave_date(cohort: int, wave: int, settings: Settings) -> dt.date:
    """The day a cohort's graduates are asked for a wave: `wave` months after the diploma."""
    start = diploma_date(cohort, settings)
    months = start.month - 1 + wave
    year, month = start.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_minor_on(student: Student, day: dt.date) -> bool:
    birth = student.birth_date
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day)) < 18


# ---- checking an answer ---------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    """An answer as a form, a request or a file row gives it: words, checked here."""

    situation: str
    in_trade: str = ""
    """`yes`, `no` or empty (not employed, or not said)."""
    country: str = ""
    as_of: dt.date | None = None


@dataclass(frozen=True)
class CheckedAnswer:
    situation: Situation
    in_trade: bool | None
    country: str
    as_of: dt.date


_YES = frozenset({"yes", "oui", "true", "1", "vrai"})
_NO = frozenset({"no", "non", "false", "0", "faux"})


def answer_problems(
    student: Student,
    wave: int,
    given: AnswerInput,
    settings: Settings,
    today: dt.date,
) -> tuple[list[tuple[str, str]], CheckedAnswer | None]:
    """Every problem of an answer, as (field, sentence), and the checked answer if none."""
    problems: list[tuple[str, str]] = []
    if wave not in settings.follow_up_waves:
        waves = ", ".join(str(w) for w in settings.follow_up_waves)
        problems.append(("wave", f"{wave} is not a wave of the follow-up; expected {waves}"))
    text = given.situation.strip().lower()
    situation = next((s for s in Situation if s.value == text), None)
    if situation is None:
        shown = f"'{given.situation}' is not a situation" if text else "the situation is empty"
        valid = ", ".join(s.value for s in Situation)
        problems.append(("situation", f"{shown}; expected one of {valid}"))
    in_trade_text = given.in_trade.strip().lower()
    in_trade = True if in_trade_text in _YES else False if in_trade_text in _NO else None
    if in_trade_text and in_trade is None:
        problems.append(
            ("in_trade", f"'{given.in_trade}' is not yes or no; expected yes, no or nothing")
        )
    country = given.country.strip().upper()
    country = "UK" if country == "GB" else country
    if country and country not in COUNTRIES:
        problems.append(
            (
                "country",
                f"'{given.country}' is not a country code; expected one of {', '.join(COUNTRIES)}",
            )
        )
    if situation is not None and situation not in EMPLOYED and in_trade is not None:
        problems.append(("in_trade", "whether the job is in the trade is said only of a job"))
    if situation is not None and situation not in LOCATED and country:
        problems.append(("country", "a country is given only for a job or studies"))
    as_of = given.as_of or today
    diploma = diploma_date(student.cohort, settings) if student.cohort else None
    if diploma is not None and as_of < diploma:
        problems.append(
            (
                "as_of",
                f"{as_of} is before the diploma ({diploma}); the situation is the one after it",
            )
        )
    if as_of > today:
        problems.append(
            ("as_of", f"{as_of} is in the future; give the date the situation was known")
        )
    if student.cohort is None:
        problems.append(("student_id", f"{student.student_id} has no cohort; import it with one"))
    if problems or situation is None:
        return problems, None
    return [], CheckedAnswer(situation, in_trade, country, as_of)


def _stored_answer(
    session: Session,
    student_id: str,
    wave: int,
    answer: CheckedAnswer,
    source: AnswerSource,
    recorded_by: int | None,
) -> tuple[FollowUpAnswer, str | None]:
    """Insert or replace the wave's answer (not committed); the situation it replaced."""
    stored = session.exec(
        select(FollowUpAnswer)
        .where(FollowUpAnswer.student_id == student_id, FollowUpAnswer.wave == wave)
        .with_for_update()
    ).first()
    before = stored.situation.value if stored is not None else None
    if stored is None:
        stored = FollowUpAnswer(
            student_id=student_id,
            wave=wave,
            situation=answer.situation,
            as_of=answer.as_of,
            source=source,
        )
    stored.situation = answer.situation
    stored.in_trade = answer.in_trade
    stored.country = answer.country
    stored.as_of = answer.as_of
    stored.source = source
    stored.recorded_by = recorded_by
    stored.recorded_at = utcnow()
    session.add(stored)
    return stored, before


def _scoped_student(session: Session, viewer: Viewer, student_id: str) -> Student:
    student = session.exec(
        access.students(viewer, select(Student).where(Student.student_id == student_id))
    ).first()
    if student is None:
        where = " of your school" if viewer.role is Role.TEACHER else ""
        raise NotFound(f"There is no graduate {student_id!r}{where}.")
    return student


def record_answer(
    session: Session,
    viewer: Viewer,
    student_id: str,
    wave: int,
    given: AnswerInput,
    settings: Settings,
    *,
    today: dt.date | None = None,
) -> FollowUpAnswer:
    """A teacher (after a phone call) or a coordinator records a graduate's situation at a
    wave; Refused lists every problem as `field: sentence`, nothing written. Committed."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    student = _scoped_student(session, viewer, student_id)
    problems, answer = answer_problems(student, wave, given, settings, today or utcnow().date())
    if answer is None:
        raise Refused(
            "The follow-up answer is not recorded.",
            problems=[f"{field}: {sentence}" for field, sentence in problems],
        )
    stored, before = _stored_answer(
        session, student_id, wave, answer, AnswerSource.TEACHER, viewer.account_id
    )
    audit.record(
        session,
        viewer,
        "follow_up.record",
        "student",
        student_id,
        wave=wave,
        situation=answer.situation.value,
        replaced=before,
    )
    session.commit()
    return stored


def answers_of(session: Session, viewer: Viewer, student_id: str) -> list[FollowUpAnswer]:
    """A graduate's answers, by wave (the viewer's scope)."""
    _scoped_student(session, viewer, student_id)
    return list(
        session.exec(
            select(FollowUpAnswer)
            .where(FollowUpAnswer.student_id == student_id)
            .order_by(col(FollowUpAnswer.wave))
        )
    )


def record_consent(
    session: Session, viewer: Viewer, student_id: str, on: dt.date | None, *, today: dt.date
) -> Student:
    """Record (or, with None, take back) the date a parent agreed that a minor be asked
    for the follow-up. Teachers of the school and coordinators; committed, audited."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    student = _scoped_student(session, viewer, student_id)
    if on is not None and on > today:
        raise Refused(
            "The consent is not recorded.",
            problems=[f"guardian_consent_on: {on} is in the future; give the date it was given"],
        )
    before = student.guardian_consent_on
    student.guardian_consent_on = on
    session.add(student)
    audit.record(
        session,
        viewer,
        "follow_up.guardian_consent",
        "student",
        student_id,
        before=before.isoformat() if before else None,
        after=on.isoformat() if on else None,
    )
    session.commit()
    return student


# ---- the graduate's link ----------------------------------------------------------------


def follow_up_url(settings: Settings, token: str) -> str:
    return mail.url(settings, f"/follow-up/{token}")


def _live_link(session: Session, token: str) -> tuple[SurveyLink, Student]:
    link = session.exec(
        select(SurveyLink).where(
            SurveyLink.token_hash == token_hash(token), SurveyLink.kind == SurveyKind.FOLLOW_UP
        )
    ).first()
    if link is None:
        raise NotFound(NO_LONGER_VALID)
    student = session.get(Student, link.student_id)
    if link.used_at is not None or link.expires_at <= utcnow() or student is None:
        raise Gone(NO_LONGER_VALID)
    return link, student


@dataclass(frozen=True)
class LinkView:
    """What the follow-up page shows before the graduate answers."""

    first_name: str
    wave: int
    expires_at: dt.datetime


def get_link(session: Session, token: str) -> LinkView:
    """The live link of `token` (nothing used up: mail scanners open links); NotFound or
    Gone when unknown, used, replaced or expired."""
    link, student = _live_link(session, token)
    session.commit()
    return LinkView(student.first_name, link.wave or 0, link.expires_at)


def answer_by_link(
    session: Session, token: str, given: AnswerInput, settings: Settings
) -> tuple[list[tuple[str, str]], FollowUpAnswer | None]:
    """The graduate answers through the link: (problems, None) when the answer is not
    valid (the link still works), else the answer, the link used up. Gone if used."""
    link, student = _live_link(session, token)
    wave = link.wave or 0
    today = utcnow().date()
    problems, answer = answer_problems(
        student, wave, AnswerInput(given.situation, given.in_trade, given.country), settings, today
    )
    if answer is None:
        session.rollback()
        return problems, None
    now = utcnow()
    # Single use even when two answers race: only one UPDATE finds the link unused.
    used = session.exec(
        update(SurveyLink)
        .where(
            col(SurveyLink.id) == link.id,
            col(SurveyLink.used_at).is_(None),
            col(SurveyLink.expires_at) > now,
        )
        .values(used_at=now)
    ).rowcount
    if used != 1:
        session.rollback()
        raise Gone(NO_LONGER_VALID)
    stored, before = _stored_answer(
        session, student.student_id, wave, answer, AnswerSource.LINK, None
    )
    audit.record(
        session,
        None,
        "follow_up.answer",
        "student",
        student.student_id,
        wave=wave,
        situation=answer.situation.value,
        replaced=before,
        link=link.id,
    )
    session.commit()
    return [], stored


# ---- the daily job: requests and reminders -----------------------------------------------


@dataclass(frozen=True)
class FollowUpSent:
    """What one daily run wrote."""

    requests: int = 0
    reminders: int = 0
    minors_without_consent: int = 0
    """Graduates not asked because they are minors whose guardian's consent is not recorded."""


def _open_cohorts(settings: Settings, today: dt.date) -> list[tuple[int, int, dt.date]]:
    """(cohort, wave, wave date) of the waves asked now: from the wave's date until its links
    would have expired (a service stopped on that day catches up)."""
    window = dt.timedelta(days=settings.follow_up_link_days)
    found = []
    for wave in settings.follow_up_waves:
        for cohort in range(today.year - 3, today.year + 1):
            day = wave_date(cohort, wave, settings)
            if day <= today < day + window:
                found.append((cohort, wave, day))
    return found


def send_follow_up(session: Session, settings: Settings, today: dt.date) -> FollowUpSent:
    """Write today's follow-up requests and reminders to the outbox, and commit. A graduate
    with an answer to the wave, without an e-mail, or a minor on the wave's date without a
    recorded consent is not asked; a request or reminder already written is not again."""
    requests = minors = 0
    for cohort, wave, day in _open_cohorts(settings, today):
        students = session.exec(
            select(Student).where(Student.cohort == cohort).order_by(col(Student.student_id))
        ).all()
        answered = _answered(session, [s.student_id for s in students], wave)
        linked = _linked(session, [s.student_id for s in students], wave)
        asked: list[Student] = []
        for student in students:
            if student.student_id in answered or student.student_id in linked:
                continue
            if not student.email.strip():
                continue
            if is_minor_on(student, day) and student.guardian_consent_on is None:
                minors += 1
                continue
            asked.append(student)
        for start in range(0, len(asked), REQUESTS_PER_BATCH):
            requests += _requests(
                session, settings, asked[start : start + REQUESTS_PER_BATCH], wave
            )
    reminders = _remind(session, settings, today)
    session.commit()
    return FollowUpSent(requests, reminders, minors)


def _answered(session: Session, student_ids: Sequence[str], wave: int) -> set[str]:
    found: set[str] = set()
    for batch in chunks(student_ids):
        found.update(
            session.exec(
                select(FollowUpAnswer.student_id).where(
                    FollowUpAnswer.wave == wave, col(FollowUpAnswer.student_id).in_(batch)
                )
            )
        )
    return found


def _linked(session: Session, student_ids: Sequence[str], wave: int) -> set[str]:
    found: set[str] = set()
    for batch in chunks(student_ids):
        found.update(
            session.exec(
                select(SurveyLink.student_id).where(
                    SurveyLink.kind == SurveyKind.FOLLOW_UP,
                    SurveyLink.wave == wave,
                    col(SurveyLink.student_id).in_(batch),
                )
            )
        )
    return found


def _mail(
    settings: Settings, student: Student, wave: int, number: int, token: str, expires: dt.datetime
) -> Mail:
    return mail.compose(
        mail.FOLLOW_UP_REQUEST,
        f"follow-up:{student.student_id}:{wave}:{number}",
        student.email,
        f"{student.first_name} {student.last_name}".strip(),
        "fr",
        {
            "first_name": student.first_name,
            "months": wave,
            "expires_at": expires.date(),
            "reminder": number > 0,
        },
        settings,
        student_id=student.student_id,
        link=follow_up_url(settings, token),
    )


REQUESTS_PER_BATCH = 500
"""Requests written by one statement of the outbox (a cohort is thousands of graduates)."""


def _requests(session: Session, settings: Settings, students: Sequence[Student], wave: int) -> int:
    """A new link and its mail for each of `students` (not committed); how many were
    written. A mail already written (another run at the same time) gets no new link."""
    expires = utcnow() + dt.timedelta(days=settings.follow_up_link_days)
    made = []
    for student in students:
        token = new_token()
        link = SurveyLink(
            kind=SurveyKind.FOLLOW_UP,
            token_hash=token_hash(token),
            student_id=student.student_id,
            wave=wave,
            recipient=student.email.strip(),
            language="fr",
            expires_at=expires,
        )
        made.append((link, _mail(settings, student, wave, 0, token, expires)))
    if enqueue_all(session, [mail for _link, mail in made]) == len(made):
        session.add_all(link for link, _mail in made)
        return len(made)
    # Some were written meanwhile: keep the links of the mails this run wrote.
    keys = [mail.key for _link, mail in made]
    ours = set(
        session.exec(
            select(OutboxMail.key).where(
                col(OutboxMail.key).in_(keys),
                col(OutboxMail.link).in_([m.link for _l, m in made]),
            )
        )
    )
    session.add_all(link for link, mail in made if mail.key in ours)
    return len(ours)


def _remind(session: Session, settings: Settings, today: dt.date) -> int:
    """A reminder, with a new link ending the earlier one, to each graduate whose link is
    unused when a reminder day (counted from the request) comes."""
    days = settings.follow_up_reminders
    if not days:
        return 0
    live = session.exec(
        select(SurveyLink).where(
            SurveyLink.kind == SurveyKind.FOLLOW_UP,
            col(SurveyLink.used_at).is_(None),
            col(SurveyLink.expires_at) > utcnow(),
            col(SurveyLink.reminders) < len(days),
        )
    ).all()
    links = [
        link
        for link in live
        if link.wave is not None
        and today >= link.created_at.date() + dt.timedelta(days=days[link.reminders])
    ]
    students: dict[str, Student] = {}
    answered: set[tuple[str, int]] = set()
    for batch in chunks(sorted({link.student_id for link in links})):
        students.update(
            (s.student_id, s)
            for s in session.exec(select(Student).where(col(Student.student_id).in_(batch)))
        )
        answered.update(
            session.exec(
                select(FollowUpAnswer.student_id, FollowUpAnswer.wave).where(
                    col(FollowUpAnswer.student_id).in_(batch)
                )
            )
        )
    written = 0
    for link in links:
        student = students.get(link.student_id)
        if student is None or not student.email.strip() or link.wave is None:
            continue
        if (student.student_id, link.wave) in answered:
            continue
        token = new_token()
        expires = utcnow() + dt.timedelta(days=settings.follow_up_link_days)
        number = link.reminders + 1
        if not enqueue(session, _mail(settings, student, link.wave, number, token, expires)):
            continue
        # Compare-and-set on the count: two runs at once never rotate one link twice.
        session.exec(
            update(SurveyLink)
            .where(col(SurveyLink.id) == link.id, col(SurveyLink.reminders) == link.reminders)
            .values(
                token_hash=token_hash(token),
                reminders=number,
                last_reminded_at=utcnow(),
                expires_at=expires,
            )
        )
        written += 1
    return written


# ---- response rates ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRate:
    """One school's graduates of a cohort at one wave, and how many told their situation."""

    school_id: str
    school_name: str
    school_kind: str
    cohort: int
    wave: int
    asked_on: dt.date
    graduates: int
    asked: int
    """Graduates who were sent a link."""
    answered: int
    """Graduates whose situation is known (an answer other than `unknown`)."""

    @property
    def rate(self) -> float | None:
        return self.answered / self.graduates if self.graduates else None


def response_rates(
    session: Session, viewer: Viewer, settings: Settings, today: dt.date
) -> list[ResponseRate]:
    """Per school (the viewer's: a teacher's own), cohort and wave whose date has come."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    schools = {school.school_id: school for school in session.exec(access.schools(viewer))}
    if not schools:
        return []
    in_scope = col(Student.school_id).in_(list(schools))
    sizes = session.exec(
        select(Student.school_id, Student.cohort, func.count())
        .where(in_scope, col(Student.cohort).is_not(None))
        .group_by(col(Student.school_id), col(Student.cohort))
    ).all()
    answered = _counts(
        session.exec(
            select(Student.school_id, Student.cohort, FollowUpAnswer.wave, func.count())
            .join(FollowUpAnswer, col(FollowUpAnswer.student_id) == col(Student.student_id))
            .where(in_scope, FollowUpAnswer.situation != Situation.UNKNOWN)
            .group_by(col(Student.school_id), col(Student.cohort), col(FollowUpAnswer.wave))
        ).all()
    )
    asked = _counts(
        session.exec(
            select(Student.school_id, Student.cohort, SurveyLink.wave, func.count())
            .join(SurveyLink, col(SurveyLink.student_id) == col(Student.student_id))
            .where(in_scope, SurveyLink.kind == SurveyKind.FOLLOW_UP)
            .group_by(col(Student.school_id), col(Student.cohort), col(SurveyLink.wave))
        ).all()
    )
    rows = []
    for school_id, cohort, count in sizes:
        if cohort is None:
            continue
        school = schools[school_id]
        for wave in settings.follow_up_waves:
            day = wave_date(cohort, wave, settings)
            if day > today:
                continue
            key = (school_id, cohort, wave)
            rows.append(
                ResponseRate(
                    school_id,
                    school.name or school_id,
                    school.kind.value,
                    cohort,
                    wave,
                    day,
                    int(count),
                    asked.get(key, 0),
                    answered.get(key, 0),
                )
            )
    return sorted(rows, key=lambda r: (-r.cohort, r.wave, r.school_kind != "pilot", r.school_name))


def _counts(
    rows: Iterable[tuple[str, int | None, int | None, int]],
) -> dict[tuple[str, int, int], int]:
    return {
        (school_id, cohort, wave): int(count)
        for school_id, cohort, wave, count in rows
        if cohort is not None and wave is not None
    }


# ---- a file of situations -----------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpImported:
    """What an import of a follow-up file did."""

    file: str
    created: int
    replaced: int


def import_answers(
    session: Session,
    viewer: Viewer,
    data: bytes,
    filename: str,
    settings: Settings,
    *,
    today: dt.date | None = None,
) -> FollowUpImported:
    """Store a file of situations, all or nothing: Refused lists every problem as
    FILE:ROW:COLUMN (a graduate outside the importer's scope is one). Committed, audited."""
    require(viewer, Role.COORDINATOR, Role.TEACHER)
    day = today or utcnow().date()
    name = uploads.upload_name(filename)

    def read(paths: list[Path]) -> tuple[list[tuple[FollowUpRow, CheckedAnswer]], list[Problem]]:
        rows, problems, columns = read_follow_up(paths[0])
        file = str(paths[0])
        students: dict[str, Student] = {}
        for batch in chunks(sorted({row.student_id for row in rows})):
            query = access.students(viewer).where(col(Student.student_id).in_(batch))
            students.update((s.student_id, s) for s in session.exec(query))
        checked = []
        for row in rows:
            student = students.get(row.student_id)
            if student is None:
                where = " of your school" if viewer.role is Role.TEACHER else ""
                problems.append(
                    Problem(
                        file, row.row, "student_id", f"there is no graduate {row.student_id}{where}"
                    )
                )
                continue
            given = AnswerInput(row.situation, row.in_trade, row.country, row.as_of)
            found, answer = answer_problems(student, row.wave, given, settings, day)
            problems.extend(Problem(file, row.row, field, sentence) for field, sentence in found)
            if answer is not None:
                checked.append((row, answer))
        return checked, sorted_problems(problems, {file: columns})

    read_files = uploads.read_uploads(
        [(data, filename)], read, what="follow-up", max_bytes=settings.upload_max_bytes
    )
    if read_files.problems:
        count = len(read_files.problems)
        raise Refused(
            f"{name}: {count} problem{'' if count == 1 else 's'}; nothing was imported. "
            "Fix every one and upload again.",
            problems=[str(problem) for problem in read_files.problems],
        )
    checked: list[tuple[FollowUpRow, CheckedAnswer]] = read_files.objects
    stored: dict[tuple[str, int], FollowUpAnswer] = {}
    for batch in chunks(sorted({row.student_id for row, _answer in checked})):
        query = select(FollowUpAnswer).where(col(FollowUpAnswer.student_id).in_(batch))
        stored.update(((a.student_id, a.wave), a) for a in session.exec(query.with_for_update()))
    now = utcnow()
    for row, answer in checked:
        found = stored.get((row.student_id, row.wave))
        if found is None:
            found = FollowUpAnswer(
                student_id=row.student_id,
                wave=row.wave,
                situation=answer.situation,
                as_of=answer.as_of,
                source=AnswerSource.IMPORT,
            )
        found.sqlmodel_update(
            {
                "situation": answer.situation,
                "in_trade": answer.in_trade,
                "country": answer.country,
                "as_of": answer.as_of,
                "source": AnswerSource.IMPORT,
                "recorded_by": viewer.account_id,
                "recorded_at": now,
            }
        )
        session.add(found)
    replaced = sum((row.student_id, row.wave) in stored for row, _answer in checked)
    created = len(checked) - replaced
    audit.record(
        session,
        viewer,
        "follow_up.import",
        "follow_up",
        name[:64],
        file=name,
        created=created,
        replaced=replaced,
    )
    session.commit()
    return FollowUpImported(name, created, replaced)
