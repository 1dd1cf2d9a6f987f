"""Reviewing a solved round: statistics, locks, moves by hand, and the diff of two rounds.

A move is checked against every hard rule of matching/rules.py and the offer's
places before it is made, and refused with the reasons otherwise; a moved
student is locked there, so a new solve keeps the coordinator's decision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.domain import (
    Placement,
    Reason,
    ReasonCode,
    RoundInput,
    RoundResult,
    bare_sentence,
    load_vocabulary,
)
from mobility_match.matching.explain import unplaced_by_hand
from mobility_match.matching.rules import preference_rank, why_not
from mobility_match.models import (
    Assignment,
    Offer,
    OfferStatus,
    Round,
    RoundLock,
    RoundSnapshot,
    RoundStatus,
    School,
)
from mobility_match.report_model import stored_report
from mobility_match.services import audit
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.rounds import get_round
from mobility_match.services.snapshots import round_input
from mobility_match.statistics import RoundStatistics, compute_statistics


def _assignments(session: Session, round_id: int) -> dict[str, Assignment]:
    rows = session.exec(select(Assignment).where(Assignment.round_id == round_id)).all()
    return {row.student_id: row for row in rows}


ResultRow = tuple[str, str | None, int | None, bool, str, str, bool]
"""What a round's result holds of an assignment: student, offer, rank, locked, reason
code and sentence, eligible."""


def _result_rows(session: Session, round_id: int) -> tuple[ResultRow, ...]:
    """The result's columns of the round's assignments, by student id: plain tuples, which
    a 10,000-student round reads in a fraction of the time its ORM objects take."""
    rows = session.connection().execute(
        sql_select(
            col(Assignment.student_id),
            col(Assignment.offer_id),
            col(Assignment.preference_rank),
            col(Assignment.locked),
            col(Assignment.reason_code),
            col(Assignment.reason),
            col(Assignment.eligible),
        )
        .where(col(Assignment.round_id) == round_id)
        .order_by(col(Assignment.student_id))
    )
    return tuple(tuple(row) for row in rows.all())  # type: ignore[misc]


def _has_result(round_: Round) -> None:
    if round_.status not in (RoundStatus.SOLVED, RoundStatus.PUBLISHED):
        raise Conflict(f"The round is {round_.status}: it has no result yet.")


def current_result(
    session: Session, round_: Round, data: RoundInput | None = None
) -> tuple[RoundInput, RoundResult]:
    """The round's input and its assignments as they stand now (after any moves)."""
    _has_result(round_)
    data = data or round_input(session, round_)
    by_student = {row[0]: row for row in _result_rows(session, round_.id or 0)}
    placements = []
    eligible = []
    for student in data.students:
        student_id, offer_id, rank, locked, reason_code, sentence, is_eligible = by_student[
            student.student_id
        ]
        reason = (
            Reason(ReasonCode(reason_code), bare_sentence(reason_code, sentence))
            if reason_code
            else None
        )
        placements.append(Placement(student_id, offer_id, rank, locked, reason))
        eligible.append(is_eligible)
    report = stored_report(round_.report)
    return data, RoundResult(
        placements=tuple(placements),
        stages=(),
        acceptable_pairs=report.acceptable_pairs if report else 0,
        solve_seconds=report.solve_seconds if report else 0.0,
        eligible=tuple(eligible),
    )


_STATISTICS_KEPT = 8
_statistics: OrderedDict[tuple[object, ...], RoundStatistics] = OrderedDict()
_statistics_lock = threading.Lock()
_computing_lock = threading.Lock()


def result_version(session: Session, round_: Round) -> tuple[object, ...]:
    """What changes whenever the round's result does: a solve writes new assignment rows and
    moves the round to a new version; any later change of an assignment (a lock, a move,
    an answer, a withdrawal, personal data put away) bumps that row's version, hence the
    sum of them. The row count, newest id and number placed are there for good measure."""
    count, placed, versions, newest = session.execute(
        sql_select(
            func.count(),
            func.count(col(Assignment.offer_id)),
            func.coalesce(func.sum(col(Assignment.version)), 0),
            func.max(col(Assignment.id)),
        ).where(col(Assignment.round_id) == round_.id)
    ).one()
    return (round_.version, count, placed, versions, newest)


def statistics(session: Session, viewer: Viewer, round_id: int) -> RoundStatistics:
    """The review figures of a round as it stands: by gender, country, sector, school, reasons.

    They are a function of the round's snapshot (which never changes) and of its
    assignments, so the figures of the last few rounds are kept in memory, keyed
    by the snapshot and the result's version (`result_version`), read afresh at
    every call: any change of an assignment makes a new key, and nothing needs
    invalidating. A hit costs one small query instead of reading 10,000 rows and
    computing again.
    """
    round_ = get_round(session, viewer, round_id)
    _has_result(round_)
    created = session.exec(
        select(RoundSnapshot.created_at).where(RoundSnapshot.round_id == round_id)
    ).one()
    bind = session.get_bind().engine.url.render_as_string()
    key = (bind, round_id, created, *result_version(session, round_))
    kept = _kept_statistics(key)
    if kept is not None:
        return kept
    # One computation at a time: requests arriving meanwhile wait for its figures
    # instead of all computing them at once (figures already kept never wait).
    with _computing_lock:
        kept = _kept_statistics(key)
        if kept is not None:
            return kept
        data, result = current_result(session, round_)
        figures = compute_statistics(data, result, load_vocabulary())
        with _statistics_lock:
            _statistics[key] = figures
            while len(_statistics) > _STATISTICS_KEPT:
                _statistics.popitem(last=False)
    return figures


def _kept_statistics(key: tuple[object, ...]) -> RoundStatistics | None:
    with _statistics_lock:
        if key in _statistics:
            _statistics.move_to_end(key)
            return _statistics[key]
    return None


def _editable(session: Session, viewer: Viewer, round_id: int, student_id: str) -> Round:
    """The round of an assignment to change, row-locked for the rest of the transaction.

    404 for a missing round or student first, then 409 unless the round is solved.
    The row lock makes edits of one round take turns, so that two moves can never
    both take an offer's last place (on PostgreSQL; SQLite's writes take turns anyway).
    """
    get_round(session, viewer, round_id)
    exists = session.exec(
        select(Assignment.id).where(
            Assignment.round_id == round_id, Assignment.student_id == student_id
        )
    ).first()
    if exists is None:
        raise NotFound(f"Round {round_id} has no assignment for student {student_id}.")
    round_ = session.exec(select(Round).where(Round.id == round_id).with_for_update()).one()
    if round_.status is not RoundStatus.SOLVED:
        raise Conflict(
            f"Placements can be locked or moved only in a solved round; this one is "
            f"{round_.status}. A published round changes through a re-run."
        )
    return round_


def _set_lock(session: Session, round_id: int, student_id: str, offer_id: str | None) -> None:
    lock = session.exec(
        select(RoundLock).where(RoundLock.round_id == round_id, RoundLock.student_id == student_id)
    ).first()
    if lock is None:
        lock = RoundLock(round_id=round_id, student_id=student_id)
    lock.offer_id = offer_id
    session.add(lock)


def _row_for_update(session: Session, round_id: int, student_id: str) -> Assignment:
    row = session.exec(
        select(Assignment)
        .where(Assignment.round_id == round_id, Assignment.student_id == student_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"Round {round_id} has no assignment for student {student_id}.")
    return row


def lock(session: Session, viewer: Viewer, round_id: int, student_id: str) -> Assignment:
    """Keep the student's current placement (or non-placement) in later solves."""
    return _set_locked(session, viewer, round_id, student_id, True)


def unlock(session: Session, viewer: Viewer, round_id: int, student_id: str) -> Assignment:
    """Let later solves place the student freely again."""
    return _set_locked(session, viewer, round_id, student_id, False)


def _set_locked(
    session: Session, viewer: Viewer, round_id: int, student_id: str, locked: bool
) -> Assignment:
    _editable(session, viewer, round_id, student_id)
    row = _row_for_update(session, round_id, student_id)
    if locked:
        _set_lock(session, round_id, student_id, row.offer_id)
    else:
        for found in session.exec(
            select(RoundLock).where(
                RoundLock.round_id == round_id, RoundLock.student_id == student_id
            )
        ):
            session.delete(found)
    row.locked = locked
    row.version += 1
    session.add(row)
    action = "assignment.lock" if locked else "assignment.unlock"
    audit.record(session, viewer, action, "assignment", f"{round_id}/{student_id}")
    session.commit()
    return row


def move(
    session: Session, viewer: Viewer, round_id: int, student_id: str, offer_id: str | None
) -> Assignment:
    """Place a student on another offer (None: unplace), if every hard rule and the places allow.

    Refused, with every reason, when the student's trade, language, dates, age or
    preferences exclude the offer, when it is full, or when its host withdrew it.
    """
    round_ = _editable(session, viewer, round_id, student_id)
    data = round_input(session, round_)
    student = next((s for s in data.students if s.student_id == student_id), None)
    if student is None:
        raise NotFound(f"Round {round_id} has no assignment for student {student_id}.")
    row = _row_for_update(session, round_id, student_id)
    problems: list[str] = []
    offer = None
    if offer_id is not None:
        offer = next((o for o in data.offers if o.offer_id == offer_id), None)
        if offer is None:
            raise Refused(
                "The move is refused.",
                problems=[f"offer_id: {offer_id} is not an offer of this round"],
            )
        reason = why_not(student, offer, load_vocabulary())
        if reason is not None:
            problems.append(reason)
        others = session.exec(
            select(Assignment.student_id).where(
                Assignment.round_id == round_id,
                Assignment.offer_id == offer_id,
                Assignment.student_id != student_id,
            )
        ).all()
        if len(others) >= offer.places:
            problems.append(
                f"{offer.label()} is full ({offer.places} places, taken by "
                f"{', '.join(sorted(others))}); move one of them first"
            )
        current = session.get(Offer, offer_id)
        if current is not None and current.status is OfferStatus.WITHDRAWN:
            problems.append(f"the host has withdrawn {offer.label()}")
    if problems:
        raise Refused(
            f"{student.first_name} {student.last_name} cannot be moved.", problems=problems
        )
    before = row.offer_id
    row.offer_id = offer_id
    row.partner = offer.partner if offer else None
    row.company_name = offer.company_name if offer else ""
    row.country = offer.country.value if offer else ""
    row.city = offer.city if offer else ""
    row.start_date = offer.start_date if offer else None
    row.end_date = offer.end_date if offer else None
    row.preference_rank = preference_rank(student, offer) if offer else None
    row.locked = True
    unplaced = None if offer else unplaced_by_hand()
    row.reason_code = unplaced.code.value if unplaced else ""
    row.reason = unplaced.sentence if unplaced else ""
    row.version += 1
    session.add(row)
    _set_lock(session, round_id, student_id, offer_id)
    audit.record(
        session,
        viewer,
        "assignment.move",
        "assignment",
        f"{round_id}/{student_id}",
        before=before,
        after=offer_id,
    )
    session.commit()
    return row


@dataclass(frozen=True)
class Place:
    """Where a student is placed in a round, as a person reads it."""

    offer_id: str
    company_name: str
    city: str
    country: str


@dataclass(frozen=True)
class Change:
    """A student whose placement differs between two rounds (before: the first round)."""

    student_id: str
    before: str | None
    after: str | None
    first_name: str = ""
    last_name: str = ""
    school_id: str = ""
    school_name: str = ""
    before_place: Place | None = None
    after_place: Place | None = None


def _place(row: Assignment | None) -> Place | None:
    if row is None or row.offer_id is None:
        return None
    return Place(row.offer_id, row.company_name, row.city, row.country)


def diff(session: Session, viewer: Viewer, round_id: int, other_id: int) -> Sequence[Change]:
    """The students placed differently in `other_id` than in `round_id` (absent = None),
    by last and first name, with their school and both placements (company, city, country)."""
    for wanted in (round_id, other_id):
        found = get_round(session, viewer, wanted)
        if found.status not in (RoundStatus.SOLVED, RoundStatus.PUBLISHED):
            raise Conflict(f"Round {wanted} has no result yet.")
    before = _assignments(session, round_id)
    after = _assignments(session, other_id)
    school_names = dict(session.exec(select(School.school_id, School.name)).all())
    changes = []
    for student_id in before.keys() | after.keys():
        old, new = before.get(student_id), after.get(student_id)
        old_offer = old.offer_id if old else None
        new_offer = new.offer_id if new else None
        if old_offer == new_offer and (old is None) == (new is None):
            continue
        person = new or old
        assert person is not None
        changes.append(
            Change(
                student_id,
                old_offer,
                new_offer,
                first_name=person.first_name,
                last_name=person.last_name,
                school_id=person.school_id,
                school_name=school_names.get(person.school_id, ""),
                before_place=_place(old),
                after_place=_place(new),
            )
        )
    return sorted(changes, key=lambda c: (c.last_name.lower(), c.first_name.lower(), c.student_id))
