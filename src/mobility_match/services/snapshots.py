"""What a round is made of: its snapshot as the engine's objects, the locks a re-run carries.

A snapshot never changes once written; the objects of the last few are kept in
memory. No state changes of rounds here (services/rounds.py does those).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from mobility_match import domain, records
from mobility_match.domain import Lock, RoundInput, load_vocabulary
from mobility_match.matching.rules import why_not
from mobility_match.models import (
    Assignment,
    Response,
    Round,
    RoundLock,
    RoundSnapshot,
)


def carried_locks(session: Session, previous: Round) -> dict[str, str | None]:
    """What a re-run keeps of a published round: confirmed placements, declines, locks."""
    locks: dict[str, str | None] = {}
    for assignment in session.exec(select(Assignment).where(Assignment.round_id == previous.id)):
        if assignment.response is Response.DECLINED:
            locks[assignment.student_id] = None
        elif assignment.response is Response.CONFIRMED or assignment.locked:
            locks[assignment.student_id] = assignment.offer_id
    return locks


def lockable(
    carried: Mapping[str, str | None],
    students: Mapping[str, domain.Student],
    offers: Mapping[str, domain.Offer],
) -> tuple[dict[str, str | None], list[str]]:
    """The carried locks that still hold in the new round, and a note for each that does not.

    A confirmed placement cannot be kept when its offer was withdrawn, when an edit
    of the offer or the student now breaks a hard rule, or when the offer has fewer
    places than confirmed students (the first ones by id keep theirs).
    """
    vocabulary = load_vocabulary()
    kept: dict[str, str | None] = {}
    notes: list[str] = []
    taken: Counter[str] = Counter()
    for student_id, offer_id in sorted(carried.items()):
        student = students.get(student_id)
        if student is None:
            continue  # no longer in the programme (or now in a control school)
        if offer_id is None:
            kept[student_id] = None
            continue
        offer = offers.get(offer_id)
        if offer is None:
            why: str | None = f"{offer_id} is no longer open"
        else:
            why = why_not(student, offer, vocabulary)
            if why is None and taken[offer_id] >= offer.places:
                why = f"{offer.label()} has no place left for every confirmed student"
        if why is not None:
            notes.append(f"{student_id} is not kept on {offer_id}: {why}")
            continue
        taken[offer_id] += 1
        kept[student_id] = offer_id
    return kept, notes


Students = tuple[domain.Student, ...]
Offers = tuple[domain.Offer, ...]

_SNAPSHOTS_KEPT = 4


@dataclass(frozen=True)
class _Kept:
    """A snapshot's objects, and the same by id (built once, when it is read)."""

    students: Students
    offers: Offers
    student_of: Mapping[str, domain.Student]
    offer_of: Mapping[str, domain.Offer]


_snapshots: OrderedDict[tuple[str, int, dt.datetime], _Kept] = OrderedDict()
_snapshots_lock = threading.Lock()


def _kept(session: Session, round_: Round) -> _Kept:
    """The round's snapshot as the engine's objects, from memory when kept.

    A snapshot never changes once written, so the objects of the last few are kept
    in memory: reviewing a 10,000-student round (statistics, moves, exports, documents)
    then does not rebuild them from JSON at every request. The key holds the database
    and the snapshot's creation time, so a new database with the same round ids
    never gets another's objects.
    """
    created = session.exec(
        select(RoundSnapshot.created_at).where(RoundSnapshot.round_id == round_.id)
    ).one()
    bind = session.get_bind()
    key = (bind.engine.url.render_as_string(), round_.id or 0, created)
    with _snapshots_lock:
        if key in _snapshots:
            _snapshots.move_to_end(key)
            return _snapshots[key]
    snapshot = session.get_one(RoundSnapshot, round_.id)
    students = records.snapshot_students(snapshot.students)
    offers = records.snapshot_offers(snapshot.offers)
    kept = _Kept(
        students,
        offers,
        {student.student_id: student for student in students},
        {offer.offer_id: offer for offer in offers},
    )
    with _snapshots_lock:
        _snapshots[key] = kept
        while len(_snapshots) > _SNAPSHOTS_KEPT:
            _snapshots.popitem(last=False)
    return kept


def snapshot_objects(session: Session, round_: Round) -> tuple[Students, Offers]:
    """The students and offers of the round's snapshot, as the engine's objects."""
    kept = _kept(session, round_)
    return kept.students, kept.offers


def snapshot_placement(
    session: Session, round_: Round, student_id: str, offer_id: str | None
) -> tuple[domain.Student, domain.Offer | None]:
    """A student and an offer of the round's snapshot, found by id at once (documents of a
    10,000-student round ask for each placement's)."""
    kept = _kept(session, round_)
    offer = kept.offer_of.get(offer_id) if offer_id is not None else None
    return kept.student_of[student_id], offer


def placed_students(
    session: Session, round_: Round
) -> dict[str, tuple[domain.Student, domain.Offer]]:
    """Student id → (student, offer) from the round's snapshot, for its placed assignments."""
    kept = _kept(session, round_)
    student_of, offer_of = kept.student_of, kept.offer_of
    rows = session.exec(
        select(Assignment.student_id, Assignment.offer_id).where(
            Assignment.round_id == round_.id, col(Assignment.offer_id).is_not(None)
        )
    ).all()
    return {
        student_id: (student_of[student_id], offer_of[offer_id])
        for student_id, offer_id in rows
        if offer_id is not None
    }


def round_input(session: Session, round_: Round, *, declines: bool = False) -> RoundInput:
    """The round's students and offers as its snapshot holds them, with its current locks.

    With `declines` (for a solve, whose explanations need it), a lock to nowhere of a
    student who declined in the round this one re-runs names that round.
    """
    students, offers = snapshot_objects(session, round_)
    locks = session.exec(
        select(RoundLock).where(RoundLock.round_id == round_.id).order_by(col(RoundLock.student_id))
    ).all()
    unplaced = {lock.student_id for lock in locks if lock.offer_id is None}
    declined = declined_rounds(session, round_, unplaced) if declines and unplaced else {}
    return RoundInput(
        students,
        offers,
        tuple(
            Lock(lock.student_id, lock.offer_id, declined.get(lock.student_id)) for lock in locks
        ),
    )


def declined_rounds(session: Session, round_: Round, students: Iterable[str]) -> dict[str, int]:
    """Student → the round whose placement he or she declined, for those of `students`
    that the re-runs leading to `round_` keep unplaced for that (a re-run of a re-run
    still names the round where the student declined)."""
    found: dict[str, int] = {}
    pending = set(students)
    round_id = round_.previous_round_id
    while round_id is not None and pending:
        rows = session.exec(
            select(Assignment.student_id, Assignment.response, Assignment.reason_code).where(
                Assignment.round_id == round_id, col(Assignment.student_id).in_(pending)
            )
        ).all()
        pending = set()
        for student_id, response, reason_code in rows:
            if response is Response.DECLINED:
                found[student_id] = round_id
            elif reason_code == domain.ReasonCode.DECLINED.value:
                pending.add(student_id)  # declined further back: look there
        round_id = session.exec(select(Round.previous_round_id).where(Round.id == round_id)).one()
    return found


def previous_assignment(session: Session, round_: Round) -> Mapping[str, str | None] | None:
    """Student → offer in the round this one re-runs (the hint and the 'changes' baseline)."""
    if round_.previous_round_id is None:
        return None
    rows = session.exec(
        select(Assignment).where(Assignment.round_id == round_.previous_round_id)
    ).all()
    return {row.student_id: row.offer_id for row in rows}
