"""Retention of the evaluation: once the evaluation has ended (`evaluation_end`) and the
months it is kept after (`evaluation_retention_months`) have passed, the personal data of
the evaluated cohorts are erased and what the evaluation learnt is kept under pseudonyms.

`plan` says what would be done (and changes nothing); `apply` does it in one
transaction. For each graduate of a cohort (`Student.cohort` set): the keyed pseudonym
(HMAC-SHA-256 under MOBILITY_MATCH_PSEUDONYM_KEY, the one of the pseudonymised export)
replaces the id in the follow-up answers, placement outcomes, host reviews, assignments,
locks, round snapshots and the audit log; names are removed from them (from the tutor's
comment and the outcome's note too); the graduate's record keeps gender, school,
diploma, trade, languages and cohort but loses names, e-mail, the other columns
(address, phone, guardian) and the exact birth date (the 1st of January of the birth
year remains). The account, its sessions and links, the mails, survey links,
preparation steps, documents and files holding the graduate are deleted. Each graduate
gets one audit event naming only the pseudonym, and the run one event with the counts.

The erasure of personal_data.py is the model: its rewriting of audit events and
snapshots is used as is, so that both say the same of a person. No HTTP here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, delete, func, update
from sqlmodel import Session, SQLModel, col, select

from mobility_match.config import Settings
from mobility_match.models import (
    Account,
    Assignment,
    ChecklistStep,
    Credential,
    FollowUpAnswer,
    HostReview,
    KnownSignIn,
    LoginAttempt,
    OutboxMail,
    PlacementDocument,
    PlacementOutcome,
    Round,
    RoundLock,
    RoundSnapshot,
    Student,
    SurveyLink,
    utcnow,
)
from mobility_match.services import audit
from mobility_match.services.personal_data import (
    UNDECIDED,
    _delete_files,
    _let_go,
    _Person,
    _rewrite_audit_events,
    _rewrite_snapshots,
    _running_rounds,
    is_erased,
)
from mobility_match.services.pseudonymised import pseudonym
from mobility_match.services.rows import chunks

ACTION = "evaluation.pseudonymise"
"""The audit event of one graduate (it names only the pseudonym)."""
RUN_ACTION = "evaluation.retention"
"""The audit event of one run, with its counts."""
KEPT: dict[str, type[SQLModel]] = {
    "follow_up_answers": FollowUpAnswer,
    "placement_outcomes": PlacementOutcome,
    "host_reviews": HostReview,
    "assignments": Assignment,
    "round_locks": RoundLock,
}
"""Rows kept under the pseudonym (assignments and locks of rounds still undecided are
deleted instead)."""
DELETED: dict[str, type[SQLModel]] = {
    "survey_links": SurveyLink,
    "mails": OutboxMail,
    "checklist_steps": ChecklistStep,
    "documents": PlacementDocument,
}
NAME_GONE = "[…]"
"""What replaces the graduate's names and ids in a tutor's comment or an outcome's note."""
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def is_pseudonymised(student_id: str) -> bool:
    """Whether an id is already a pseudonym (the retention made it)."""
    return _PSEUDONYM.fullmatch(student_id) is not None


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved `months` later (the last day of the month if it has fewer days)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Plan:
    """What a run does (or would do) on `today`."""

    today: dt.date
    evaluation_end: dt.date | None
    months: int
    cohort: int | None
    students: tuple[str, ...] = ()
    """The graduates whose data go, by id."""
    cohorts: dict[int, int] = field(default_factory=dict)
    """Graduates per cohort."""
    kept: dict[str, int] = field(default_factory=dict)
    """Rows kept under pseudonyms, by kind."""
    deleted: dict[str, int] = field(default_factory=dict)
    """Rows deleted, by kind (`accounts` included)."""
    busy: tuple[str, ...] = ()
    """Graduates of a round being solved right now: due at the next run."""

    @property
    def due_on(self) -> dt.date | None:
        """The first day the cohorts' personal data may no longer be kept."""
        if self.evaluation_end is None:
            return None
        return add_months(self.evaluation_end, self.months)

    @property
    def due(self) -> bool:
        return self.due_on is not None and self.today >= self.due_on


def plan(
    session: Session, settings: Settings, *, today: dt.date, cohort: int | None = None
) -> Plan:
    """What `apply` would do on `today` (for one cohort, or every cohort); nothing changes."""
    empty = Plan(today, settings.evaluation_end, settings.evaluation_retention_months, cohort)
    if not empty.due:
        session.commit()
        return empty
    query = select(Student.student_id, Student.cohort).where(col(Student.cohort).is_not(None))
    if cohort is not None:
        query = query.where(Student.cohort == cohort)
    rows = [
        (sid, year)
        for sid, year in session.exec(query.order_by(col(Student.student_id)))
        if not is_pseudonymised(sid) and not is_erased(sid)
    ]
    wanted = {sid for sid, _year in rows}
    busy: set[str] = set()
    for round_id in _running_rounds(session, wanted):
        snapshot = session.get_one(RoundSnapshot, round_id)
        busy |= {entry["student_id"] for entry in snapshot.students} & wanted
    rows = [(sid, year) for sid, year in rows if sid not in busy]
    ids = [sid for sid, _year in rows]
    kept = Counter[str]()
    deleted = Counter[str]()
    undecided = select(Round.id).where(col(Round.status).in_(UNDECIDED))
    for batch in chunks(ids):
        for name, table in KEPT.items():
            kept[name] += _count(session, table, batch)
        for name, table in DELETED.items():
            deleted[name] += _count(session, table, batch)
        for name, table in (("assignments", Assignment), ("round_locks", RoundLock)):
            undecided_rows = session.exec(
                select(func.count())
                .select_from(table)
                .where(col(table.student_id).in_(batch), col(table.round_id).in_(undecided))
            ).one()
            kept[name] -= undecided_rows
            deleted[f"{name}_of_undecided_rounds"] += undecided_rows
        deleted["accounts"] += session.exec(
            select(func.count()).select_from(Account).where(col(Account.student_id).in_(batch))
        ).one()
    session.commit()
    return Plan(
        today,
        settings.evaluation_end,
        settings.evaluation_retention_months,
        cohort,
        tuple(ids),
        dict(sorted(Counter(year for _sid, year in rows if year is not None).items())),
        {name: count for name, count in kept.items() if count},
        {name: count for name, count in deleted.items() if count},
        tuple(sorted(busy)),
    )


def _count(session: Session, table: type[SQLModel], ids: Sequence[str]) -> int:
    column = table.student_id  # type: ignore[attr-defined]
    return int(
        session.exec(select(func.count()).select_from(table).where(col(column).in_(ids))).one()
    )


def apply(
    session: Session, settings: Settings, *, today: dt.date, cohort: int | None = None
) -> Plan:
    """Do what `plan` says, in one transaction, and log it; the plan that was done."""
    done = plan(session, settings, today=today, cohort=cohort)
    if not done.students:
        return done
    key = settings.pseudonym_key.get_secret_value()
    try:
        persons: list[_Person] = []
        for batch in chunks(done.students):
            students = session.exec(
                select(Student).where(col(Student.student_id).in_(batch)).with_for_update()
            ).all()
            accounts = {
                account.student_id: account
                for account in session.exec(
                    select(Account).where(col(Account.student_id).in_(batch))
                )
            }
            persons += [_Person(s, accounts.get(s.student_id)) for s in students]
        _pseudonymise(
            session, persons, {p.student_id: pseudonym(key, p.student_id) for p in persons}
        )
        audit.record(
            session,
            None,
            RUN_ACTION,
            "evaluation",
            done.today.isoformat(),
            evaluation_end=str(done.evaluation_end),
            months=done.months,
            cohort=done.cohort,
            cohorts={str(year): count for year, count in done.cohorts.items()},
            kept=done.kept,
            deleted=done.deleted,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return done


def _pseudonymise(session: Session, persons: Sequence[_Person], reference: dict[str, str]) -> None:
    """Within the caller's transaction: every row of `persons` under its pseudonym, what
    names them gone."""
    kept = {p.student_id: {"audit_events": 0, "round_snapshots": 0} for p in persons}
    deleted: dict[str, dict[str, int]] = {p.student_id: {} for p in persons}
    _rewrite_audit_events(session, persons, reference, kept)
    _rewrite_snapshots(session, persons, reference, kept)
    by_id = {person.student_id: person for person in persons}
    undecided = select(Round.id).where(col(Round.status).in_(UNDECIDED))
    for ids in chunks(list(reference)):
        refs = {sid: reference[sid] for sid in ids}
        for table in (Assignment, RoundLock):
            session.exec(
                delete(table)
                .where(col(table.student_id).in_(ids), col(table.round_id).in_(undecided))
                .execution_options(synchronize_session=False)
            )
        for doomed in DELETED.values():
            column = doomed.student_id  # type: ignore[attr-defined]
            session.exec(
                delete(doomed)
                .where(col(column).in_(ids))
                .execution_options(synchronize_session=False)
            )
        session.exec(
            update(Assignment)
            .where(col(Assignment.student_id).in_(ids))
            .values(
                student_id=case(refs, value=col(Assignment.student_id)),
                first_name="",
                last_name=case(refs, value=col(Assignment.student_id)),
                version=Assignment.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        for renamed in (RoundLock, FollowUpAnswer):
            column = renamed.student_id
            session.exec(
                update(renamed)
                .where(col(column).in_(ids))
                .values(student_id=case(refs, value=col(column)))
                .execution_options(synchronize_session=False)
            )
        # Free text may name the trainee: the names go with the id.
        for outcome in session.exec(
            select(PlacementOutcome).where(col(PlacementOutcome.student_id).in_(ids))
        ):
            person = by_id[outcome.student_id]
            outcome.note = person.about.sub(NAME_GONE, outcome.note)[:500]
            outcome.student_id = reference[person.student_id]
            session.add(outcome)
        for review in session.exec(select(HostReview).where(col(HostReview.student_id).in_(ids))):
            person = by_id[review.student_id]
            review.comment = person.about.sub(NAME_GONE, review.comment)[:2000]
            review.student_id = reference[person.student_id]
            session.add(review)
        session.flush()
    _delete_files(session, persons, deleted)
    account_ids = [person.account_id for person in persons if person.account_id is not None]
    usernames = [person.account.username.lower() for person in persons if person.account]
    for batch in chunks(account_ids):
        for statement in (
            delete(Credential).where(col(Credential.account_id).in_(batch)),
            delete(KnownSignIn).where(col(KnownSignIn.account_id).in_(batch)),
        ):
            session.exec(statement.execution_options(synchronize_session=False))
    for names in chunks(usernames):
        session.exec(
            delete(LoginAttempt)
            .where(func.lower(col(LoginAttempt.username)).in_(names))
            .execution_options(synchronize_session=False)
        )
    session.flush()
    for batch in chunks(account_ids):
        _let_go(session, batch)
        session.exec(delete(Account).where(col(Account.id).in_(batch)))
    now = utcnow()
    for person in persons:
        student = person.student
        ref = reference[student.student_id]
        session.exec(
            update(Student)
            .where(col(Student.student_id) == student.student_id)
            .values(
                student_id=ref,
                first_name="",
                last_name="",
                email="",
                birth_date=dt.date(student.birth_date.year, 1, 1),
                extra={},
                version=student.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            None,
            ACTION,
            "person",
            ref,
            reason="evaluation_retention",
            cohort=student.cohort,
            pseudonymised=kept[student.student_id],
            deleted=deleted[student.student_id],
        )
        session.expunge(student)
    session.flush()


def describe(done: Plan, *, applied: bool) -> list[str]:
    """What the command prints: what was (or would be) done, in sentences."""
    if done.evaluation_end is None:
        return [
            "MOBILITY_MATCH_EVALUATION_END is not set: the evaluation is going on, and nothing "
            "is erased."
        ]
    assert done.due_on is not None
    if not done.due:
        return [
            f"Nothing is due on {done.today}: the evaluation ended on {done.evaluation_end} and "
            f"its personal data are kept {done.months} months, until "
            f"{done.due_on - dt.timedelta(days=1)}."
        ]
    scope = f"cohort {done.cohort}" if done.cohort is not None else "the evaluated cohorts"
    lines = []
    if not done.students:
        lines.append(
            f"Nothing to do on {done.today}: no graduate of {scope} holds personal data any "
            "more (all are under pseudonyms)."
        )
    else:
        cohorts = ", ".join(f"{year} ({count})" for year, count in done.cohorts.items())
        lines += [
            f"{'Done' if applied else 'To do'} on {done.today} (the evaluation ended on "
            f"{done.evaluation_end}, kept {done.months} months: due since {done.due_on}): "
            f"{len(done.students)} graduates of {scope}: {cohorts}.",
            "Erased: first and last names, e-mails, addresses, phones, guardians' details and "
            "every other column of the records; birth dates cut to the year; names in tutors' "
            "comments and outcome notes.",
            "Kept under pseudonyms (HMAC-SHA-256 under MOBILITY_MATCH_PSEUDONYM_KEY): "
            + (", ".join(f"{name} {count}" for name, count in done.kept.items()) or "no row")
            + ", and each graduate's record without what names him or her.",
            "Deleted: "
            + (", ".join(f"{name} {count}" for name, count in done.deleted.items()) or "no row")
            + ".",
        ]
    if done.busy:
        lines.append(
            f"{len(done.busy)} graduates are in a round being solved right now: they are left "
            "for the next run."
        )
    if done.students:
        lines.append(
            "Logged in the audit log: evaluation.retention, and evaluation.pseudonymise for each "
            "graduate."
            if applied
            else "Nothing was changed; run again with --apply to do it."
        )
    return lines
