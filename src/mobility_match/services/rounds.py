"""The life of a matching round: creation, solve requests, cancel, publication, re-runs.

States: draft → running → solved → published (DESIGN.md). Every state change is
a compare-and-set on (status, version): `UPDATE round … WHERE id=… AND version=…`
with the row count checked, so two requests racing for the same change cannot
both win, on SQLite and PostgreSQL alike. One published round is current at a
time: another is published only as a re-run that replaces it (`publish`). What a
round is made of (its snapshot, the locks a re-run carries) is in
services/snapshots.py; the solve runs in services/solving.py; reviewing
(statistics, locks, moves, diffs) is in services/review.py; reading assignments
and students' answers in services/answers.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from mobility_match import access, identifiers, records
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.documents.checklists import Checklists
from mobility_match.matching.policy import DEFAULT_POLICY, Policy, PolicyError, parse_policy
from mobility_match.models import (
    Assignment,
    Company,
    Offer,
    OfferStatus,
    Response,
    Role,
    Round,
    RoundLock,
    RoundSnapshot,
    RoundStatus,
    School,
    SchoolKind,
    Student,
    utcnow,
)
from mobility_match.services import audit, mail
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.preparation import instantiate as instantiate_checklists
from mobility_match.services.rows import require
from mobility_match.services.snapshots import carried_locks, lockable


def get_round(session: Session, viewer: Viewer, round_id: int) -> Round:
    """The round if the viewer may see it (coordinators: all; others: published); else 404."""
    found = session.exec(access.rounds(viewer).where(Round.id == round_id)).first()
    if found is None:
        raise NotFound(f"There is no round {round_id}.")
    return found


def get_live_round(
    session: Session, viewer: Viewer, round_id: int, recover: Callable[[], object]
) -> Round:
    """The round as `get_round` gives it, after giving it back if its solver died.

    A round left running with an expired lease (its process stopped) is released
    by `recover` (the solver's), so that whoever reads it sees it solvable again.
    """
    round_ = get_round(session, viewer, round_id)
    if lease_expired(round_, utcnow()):
        session.commit()  # end this read first: on SQLite it holds the lock recover() needs
        recover()
        session.refresh(round_)
    return round_


def list_rounds(session: Session, viewer: Viewer) -> list[Round]:
    """The rounds the viewer may see, newest first."""
    return list(session.exec(access.rounds(viewer).order_by(col(Round.id).desc())))


def _pilot_students() -> SelectOfScalar[Student]:
    """The students a new round takes: those of pilot schools still available (their
    availability window not over). Graduates of earlier cohorts, kept for the evaluation's
    follow-up, can no longer be placed: a round leaves them out (and mails them nothing)."""
    return (
        select(Student)
        .join(School, col(School.school_id) == col(Student.school_id))
        .where(School.kind == SchoolKind.PILOT, col(Student.available_to) >= dt.date.today())
    )


OPEN_OFFER = col(Offer.status) == OfferStatus.OPEN
"""The offers a new round takes: the open ones."""


@dataclass(frozen=True)
class RoundScope:
    """What a round created now would be made of."""

    students: int
    schools: int
    offers: int
    places: int


def new_round_scope(session: Session, viewer: Viewer) -> RoundScope:
    """How many students (and their pilot schools) and open offers (and places) a new round
    would take, counted by the same queries as create_round (coordinators)."""
    require(viewer, Role.COORDINATOR)
    students = _pilot_students().subquery()
    offers = select(Offer).where(OPEN_OFFER).subquery()
    student_count, school_count = session.execute(
        select(func.count(), func.count(func.distinct(students.c.school_id)))
    ).one()
    offer_count, places = session.execute(
        select(func.count(), func.coalesce(func.sum(offers.c.places), 0))
    ).one()
    return RoundScope(int(student_count), int(school_count), int(offer_count), int(places))


def round_policy(round_: Round) -> Policy:
    """The policy a round is solved under (its TOML, else the default)."""
    return parse_policy(round_.policy, "policy") if round_.policy.strip() else DEFAULT_POLICY


def change_state(
    session: Session, round_: Round, expected: set[RoundStatus], **values: Any
) -> bool:
    """Compare-and-set: apply `values` and bump the version if the round is still as read.

    True when this call won; the caller commits. The round object is refreshed.
    """
    statement = (
        update(Round)
        .where(
            col(Round.id) == round_.id,
            col(Round.version) == round_.version,
            col(Round.status).in_(expected),
        )
        .values(version=round_.version + 1, **values)
    )
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    won = result.rowcount == 1
    session.refresh(round_)
    return won


def create_round(
    session: Session,
    viewer: Viewer,
    *,
    name: str,
    policy: str = "",
    time_limit: float | None = None,
    seed: int = 0,
    previous_round_id: int | None = None,
    default_time_limit: float = 60.0,
    project_number: str = "",
) -> Round:
    """A new draft round on a snapshot of the students of pilot schools and the open offers.

    `project_number` is the Erasmus+ project (grant agreement) number its mobilities belong
    to; a re-run given none keeps the previous round's."""
    problems = []
    try:
        project_number = identifiers.project_number(project_number)
    except ValueError as invalid:
        problems.append(f"project_number: {invalid}")
    if policy.strip():
        try:
            parse_policy(policy, "policy")
        except PolicyError as error:
            problems.extend(str(error).splitlines())
    previous = None
    if previous_round_id is not None:
        previous = session.get(Round, previous_round_id)
        if previous is None or previous.status is not RoundStatus.PUBLISHED:
            problems.append(
                f"previous_round_id: round {previous_round_id} is not a published round; "
                "a re-run starts from a published one"
            )
        elif previous.superseded_by is not None:
            problems.append(
                f"previous_round_id: round {previous_round_id} was replaced by round "
                f"{previous.superseded_by}; re-run that one"
            )
    if problems:
        raise Refused("The round cannot be created.", problems=problems)
    if previous is not None and not project_number:
        project_number = previous.project_number
    students = session.exec(_pilot_students().order_by(col(Student.student_id))).all()
    offers = session.exec(
        select(Offer, Company)
        .join(Company, col(Company.company_id) == col(Offer.company_id))
        .where(OPEN_OFFER)
        .order_by(col(Offer.offer_id))
    ).all()
    round_ = Round(
        name=name,
        policy=policy,
        time_limit=time_limit or default_time_limit,
        seed=seed,
        previous_round_id=previous_round_id,
        created_by=viewer.account_id,
        project_number=project_number,
    )
    session.add(round_)
    session.flush()
    assert round_.id is not None
    session.add(
        RoundSnapshot(
            round_id=round_.id,
            students=[records.student_snapshot(s) for s in students],
            offers=[records.offer_snapshot(o, c) for o, c in offers],
        )
    )
    carried = carried_locks(session, previous) if previous else {}
    kept, round_.notes = lockable(
        carried,
        {s.student_id: records.student_domain(s) for s in students},
        {o.offer_id: records.offer_domain(o, c) for o, c in offers},
    )
    for student_id, offer_id in kept.items():
        session.add(RoundLock(round_id=round_.id, student_id=student_id, offer_id=offer_id))
    audit.record(
        session,
        viewer,
        "round.create",
        "round",
        round_.id,
        name=name,
        students=len(students),
        offers=len(offers),
        previous_round_id=previous_round_id,
        locks_carried=len(kept),
        locks_not_carried=round_.notes,
    )
    session.commit()
    return round_


def lease_expired(round_: Round, now: dt.datetime) -> bool:
    """Whether the round is running with no live lease: its solver died, it can be taken back."""
    return round_.status is RoundStatus.RUNNING and (
        round_.lease_expires_at is None or round_.lease_expires_at <= now
    )


def request_solve(
    session: Session,
    viewer: Viewer,
    round_id: int,
    lease: dt.timedelta,
    *,
    again: bool = False,
) -> str:
    """Mark the round running for a new solve attempt; return the attempt id.

    Conflict when it is already running (with a live lease) or published, and
    when it already has a result unless `again` asks to solve it again: a
    solve replaces the result, so it is never started by a repeated click or
    request. The result stays until the new one is saved (services/solving.py).
    """
    round_ = get_round(session, viewer, round_id)
    now = utcnow()
    if round_.status not in (RoundStatus.DRAFT, RoundStatus.SOLVED) and not lease_expired(
        round_, now
    ):
        raise Conflict(_why_not_solvable(round_))
    has_result = round_.status is RoundStatus.SOLVED or (
        round_.status is RoundStatus.RUNNING and round_.solved_at is not None
    )
    if has_result and not again:
        raise Conflict(
            f"Round {round_id} is already solved; solving it again replaces its result. "
            'To do so, ask for it explicitly (API: the body {"again": true}).'
        )
    attempt = uuid.uuid4().hex
    expected = {RoundStatus.DRAFT, RoundStatus.RUNNING}
    if again:
        expected.add(RoundStatus.SOLVED)
    won = change_state(
        session,
        round_,
        expected,
        status=RoundStatus.RUNNING,
        solve_attempt=attempt,
        lease_expires_at=now + lease,
        progress={
            "stage": "starting",
            "index": 0,
            "total": 0,
            "best": None,
            "bound": None,
            "started_at": now.isoformat(),
        },
        error="",
    )
    if not won:
        session.rollback()
        raise Conflict("The round changed meanwhile (another solve started); reload it.")
    audit.record(session, viewer, "round.solve", "round", round_id, attempt=attempt, again=again)
    session.commit()
    return attempt


def _why_not_solvable(round_: Round) -> str:
    if round_.status is RoundStatus.RUNNING:
        return "The round is already being solved; follow its progress or cancel it."
    return "A published round cannot be solved again; re-run it to make a new round."


def cancel_solve(session: Session, viewer: Viewer, round_id: int) -> Round:
    """Stop a running solve: the round goes back to what it was before (draft or solved)."""
    round_ = get_round(session, viewer, round_id)
    if round_.status is not RoundStatus.RUNNING:
        raise Conflict("The round is not being solved.")
    if not change_state(
        session, round_, {RoundStatus.RUNNING}, **release_values(session, round_, "")
    ):
        session.rollback()
        raise Conflict("The solve ended meanwhile; reload the round.")
    audit.record(session, viewer, "round.cancel", "round", round_id)
    session.commit()
    return round_


def release_values(session: Session, round_: Round, error: str) -> dict[str, Any]:
    """The columns that end a solve without a result: back to solved if it had one."""
    has_result = (
        session.exec(select(Assignment.id).where(Assignment.round_id == round_.id)).first()
        is not None
    )
    return {
        "status": RoundStatus.SOLVED if has_result else RoundStatus.DRAFT,
        "solve_attempt": None,
        "lease_expires_at": None,
        "progress": None,
        "error": error,
    }


def publish(
    session: Session,
    viewer: Viewer,
    round_id: int,
    response_deadline: dt.date,
    today: dt.date,
    checklists: Checklists,
    *,
    settings: Settings | None = None,
) -> Round:
    """Make a solved round's assignments visible; placed students answer by the deadline.

    Each placed student's preparation checklist is written in the same transaction, and
    so are, with `settings`, the mails that tell each student of a first publication his
    or her placement or reason, and of a re-run each student whose placement changed
    (services/mail.py).
    """
    round_ = get_round(session, viewer, round_id)
    if round_.status is not RoundStatus.SOLVED:
        raise Conflict(f"Only a solved round can be published; this one is {round_.status}.")
    previous = session.get(Round, round_.previous_round_id) if round_.previous_round_id else None
    if previous is not None and previous.superseded_by is not None:
        raise Conflict(
            f"Round {previous.id} was already replaced by round {previous.superseded_by}; "
            f"re-run round {previous.superseded_by} instead."
        )
    if response_deadline < today:
        raise Refused(
            "The round cannot be published.",
            problems=[f"response_deadline: {response_deadline} is in the past"],
        )
    current = current_published_round(session, locking=True)
    if current is not None and current.id not in (round_.id, round_.previous_round_id):
        session.rollback()
        raise Conflict(
            f"Round {current.id} « {current.name} » is the published round; "
            "publish a re-run of it to replace it."
        )
    if not change_state(
        session,
        round_,
        {RoundStatus.SOLVED},
        status=RoundStatus.PUBLISHED,
        published_at=utcnow(),
        response_deadline=response_deadline,
    ):
        session.rollback()
        raise Conflict("The round changed meanwhile; reload it.")
    session.execute(
        update(Assignment)
        .where(col(Assignment.round_id) == round_id, col(Assignment.offer_id).is_not(None))
        .values(response=Response.PENDING)
    )
    if previous is not None:
        _replace(session, previous, round_id)
    steps = instantiate_checklists(session, round_, previous, checklists)
    mailed = None
    if settings is not None:
        mailed = mail.enqueue_publication(session, round_, settings, previous)
    audit.record(
        session,
        viewer,
        "round.publish",
        "round",
        round_id,
        deadline=response_deadline.isoformat(),
        replaces=previous.id if previous else None,
        checklist_steps=steps,
        **(
            {"mails": mailed.mails, "students_without_email": mailed.without_email}
            if mailed is not None
            else {}
        ),
    )
    session.commit()
    return round_


def current_published_round(session: Session, *, locking: bool = False) -> Round | None:
    """The published round students answer in (published, not replaced), if any.

    With `locking`, first lock every round that is or may become it (solved, or
    published and not replaced), so that two publishes never both see none: a
    publish holds its own round's lock until it commits, and the other waits for
    it, then reads again. PostgreSQL reads committed rows at each statement, and
    SQLite's transactions are serialized from their start (db.py), so the read
    after the lock sees any publish that went first.
    """
    if locking:
        session.execute(
            select(Round.id)
            .where(
                col(Round.status).in_((RoundStatus.SOLVED, RoundStatus.PUBLISHED)),
                col(Round.superseded_by).is_(None),
            )
            .order_by(col(Round.id))
            .with_for_update()
        ).all()
    return session.exec(
        select(Round)
        .where(Round.status == RoundStatus.PUBLISHED, col(Round.superseded_by).is_(None))
        .order_by(col(Round.id).desc())
        .execution_options(populate_existing=True)
    ).first()


def _replace(session: Session, previous: Round, round_id: int) -> None:
    """Mark the re-run round as the one students answer in; keep confirmations that hold.

    A student confirmed in the previous round and kept on the same offer stays
    confirmed: nobody is asked twice for the same placement.
    """
    replaced = session.execute(
        update(Round)
        .where(col(Round.id) == previous.id, col(Round.superseded_by).is_(None))
        .values(superseded_by=round_id)
    )
    assert isinstance(replaced, CursorResult)
    if replaced.rowcount != 1:
        session.rollback()
        raise Conflict(f"Round {previous.id} was replaced meanwhile; reload it.")
    confirmed = {
        row.student_id: row
        for row in session.exec(
            select(Assignment).where(
                Assignment.round_id == previous.id, Assignment.response == Response.CONFIRMED
            )
        )
    }
    for row in session.exec(select(Assignment).where(Assignment.round_id == round_id)):
        before = confirmed.get(row.student_id)
        if before is not None and before.offer_id == row.offer_id:
            row.response = Response.CONFIRMED
            row.responded_at = before.responded_at
            session.add(row)


def rerun(
    session: Session,
    viewer: Viewer,
    round_id: int,
    *,
    name: str | None = None,
    default_time_limit: float = 60.0,
) -> Round:
    """A new draft round on current data, re-running the published round `round_id`.

    It keeps the round's policy, time limit and seed; confirmed placements and
    declines are carried as locks (create_round), and its solve changes as few
    placements of the published round as it can.
    """
    previous = get_round(session, viewer, round_id)
    return create_round(
        session,
        viewer,
        name=name or f"{previous.name} (re-run)",
        policy=previous.policy,
        time_limit=previous.time_limit,
        seed=previous.seed,
        previous_round_id=round_id,
        default_time_limit=default_time_limit,
    )


def answers_count(session: Session, viewer: Viewer, round_id: int) -> dict[Response, int]:
    """How many placed students of the round have confirmed, declined, been withdrawn by
    their host, or not answered yet (every answer present, zero when none), in the
    viewer's scope."""
    get_round(session, viewer, round_id)
    placed = (
        access.assignments(viewer)
        .where(Assignment.round_id == round_id, col(Assignment.offer_id).is_not(None))
        .subquery()
    )
    counts = dict.fromkeys(Response, 0)
    for answer, count in session.execute(
        select(placed.c.response, func.count()).group_by(placed.c.response)
    ):
        if answer is not None:
            counts[Response(answer)] = int(count)
    return counts
