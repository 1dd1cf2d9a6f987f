"""Solving rounds in the background, with progress a client can poll, cancel and leases.

A solve request (services.rounds.request_solve) marks the round running under a
new attempt id and a lease; `Solver.start` then runs the engine on a worker
thread. While it runs, a heartbeat renews the lease and stores the latest
progress (stage, best value, bound); when the round is no longer running under
this attempt (cancelled, or taken over after the lease expired), the heartbeat
tells the engine to stop, and the result is thrown away. A process that dies
leaves a round running with a lease that soon expires: `recover` (at start-up
and whenever a round is read) gives such rounds back.

The heartbeat has a thread of its own (the solver's native code releases the
interpreter lock while it searches), and a failed renewal (the database busy
under load) is retried at the next beat instead of ending the heartbeat. A solve
still alive in this process is never given back by this process's `recover`,
whatever its lease says: the lease only tells *other* processes that its owner
died, after `lease_seconds` (30 s by default) without a beat.

Results are written in one transaction, compare-and-set on the attempt id. A
round solved again keeps its previous result (assignments, report) while the new
solve runs: that transaction is the only place it is replaced, so a cancelled,
failed or interrupted re-solve leaves the round solved with its previous result.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, delete, select

from mobility_match.config import Settings
from mobility_match.domain import RoundInput, RoundResult, load_vocabulary
from mobility_match.matching.engine import Progress, SolveCancelled, solve_round
from mobility_match.matching.policy import Policy
from mobility_match.matching.problem import LockError
from mobility_match.models import Assignment, Round, RoundStatus, utcnow
from mobility_match.reporting import report_data
from mobility_match.services import audit, reproducibility
from mobility_match.services.rounds import change_state, release_values, round_policy
from mobility_match.services.snapshots import previous_assignment, round_input
from mobility_match.statistics import compute_statistics

log = logging.getLogger(__name__)

INTERRUPTED = "The solve was interrupted (the service stopped); start it again."


class _Attempt:
    """One solve under way: its round, attempt id, latest progress and stop flag."""

    def __init__(self, round_id: int, attempt: str) -> None:
        self.round_id = round_id
        self.attempt = attempt
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.progress: dict[str, Any] | None = None
        self.started_at = utcnow()
        self.heartbeat: threading.Thread | None = None


class Solver:
    """Runs round solves on worker threads of this process."""

    def __init__(self, engine: Engine, settings: Settings, workers: int = 2) -> None:
        self.engine = engine
        self.settings = settings
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="solve")
        self._running: dict[str, _Attempt] = {}
        self._lock = threading.Lock()
        self._closing = False

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.lease_seconds)

    def start(self, round_id: int, attempt: str) -> Future[None]:
        """Solve the round in the background under `attempt` (already marked running)."""
        job = _Attempt(round_id, attempt)
        with self._lock:
            self._running[attempt] = job
        # The heartbeat starts now, not when a worker is free: a solve waiting for a
        # worker keeps its lease (and notices a cancel) while it waits.
        job.heartbeat = threading.Thread(target=self._heartbeat, args=(job,), daemon=True)
        job.heartbeat.start()
        return self._pool.submit(self._run, job)

    def cancel(self, round_id: int) -> None:
        """Ask the solves of a round running in this process to stop now."""
        with self._lock:
            for job in self._running.values():
                if job.round_id == round_id:
                    job.stop.set()

    def recover(self) -> int:
        """Give back rounds left running with an expired lease; return how many."""
        with self._lock:
            alive = [job.attempt for job in self._running.values()]
        query = select(Round).where(
            Round.status == RoundStatus.RUNNING, col(Round.lease_expires_at) <= utcnow()
        )
        if alive:
            query = query.where(
                or_(col(Round.solve_attempt).is_(None), col(Round.solve_attempt).not_in(alive))
            )
        with Session(self.engine, expire_on_commit=False) as session:
            stale = session.exec(query).all()
            recovered = 0
            for round_ in stale:
                values = release_values(session, round_, INTERRUPTED)
                if change_state(session, round_, {RoundStatus.RUNNING}, **values):
                    audit.record(session, None, "round.recover", "round", round_.id)
                    recovered += 1
            session.commit()
            return recovered

    def run_later(self, task: Callable[[Callable[[], bool]], None]) -> Future[None]:
        """Run a task about a solved round (services/fairness_price.py) on a worker; it is
        given a check that turns True when the service stops, to end its solves early."""
        return self._pool.submit(task, lambda: self._closing)

    def shutdown(self) -> None:
        """Stop every solve of this process and give their rounds back."""
        self._closing = True
        with self._lock:
            jobs = list(self._running.values())
        for job in jobs:
            job.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # The worker thread.

    def _run(self, job: _Attempt) -> None:
        try:
            if job.stop.is_set():
                raise SolveCancelled
            with Session(self.engine, expire_on_commit=False) as session:
                round_ = session.get_one(Round, job.round_id)
                data = round_input(session, round_, declines=True)
                policy = round_policy(round_)
                previous = previous_assignment(session, round_)
                time_limit, seed = round_.time_limit, round_.seed
                session.commit()
            result = solve_round(
                data,
                load_vocabulary(),
                policy,
                time_limit=time_limit,
                seed=seed,
                progress=lambda progress: self._progress(job, progress),
                cancelled=job.stop.is_set,
                previous=previous,
            )
        except SolveCancelled:
            self._release(job, INTERRUPTED if self._closing else "The solve was cancelled.")
        except LockError as error:
            self._release(job, f"The locks cannot all hold: {error}")
        except Exception as error:
            log.exception("solve of round %s failed", job.round_id)
            self._release(job, f"The solve failed: {error}")
        else:
            self._save(job, data, result, policy, seed)
        finally:
            job.finished.set()
            if job.heartbeat is not None:
                job.heartbeat.join()
            with self._lock:
                self._running.pop(job.attempt, None)

    def _progress(self, job: _Attempt, progress: Progress) -> None:
        job.progress = {
            "stage": progress.stage,
            "index": progress.index,
            "total": progress.total,
            "best": progress.best,
            "bound": progress.bound,
            "started_at": job.started_at.isoformat(),
        }

    def _heartbeat(self, job: _Attempt) -> None:
        """Renew the lease and store progress; stop the solve if the round was taken away."""
        interval = min(1.0, self.settings.lease_seconds / 3)
        while not job.finished.wait(interval):
            values: dict[str, Any] = {"lease_expires_at": utcnow() + self.lease}
            if job.progress is not None:
                values["progress"] = job.progress
            try:
                with Session(self.engine) as session:
                    result = session.execute(
                        update(Round)
                        .where(
                            col(Round.id) == job.round_id,
                            col(Round.status) == RoundStatus.RUNNING,
                            col(Round.solve_attempt) == job.attempt,
                        )
                        .values(**values)
                    )
                    session.commit()
            except Exception:  # the database busy or away for a moment: beat again soon
                log.warning("renewing the lease of round %s failed", job.round_id, exc_info=True)
                continue
            if getattr(result, "rowcount", 1) == 0:
                job.stop.set()
                return

    def _release(self, job: _Attempt, error: str) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            round_ = session.get_one(Round, job.round_id)
            if round_.status is RoundStatus.RUNNING and round_.solve_attempt == job.attempt:
                values = release_values(session, round_, error)
                change_state(session, round_, {RoundStatus.RUNNING}, **values)
            session.commit()

    def _save(
        self, job: _Attempt, data: RoundInput, result: RoundResult, policy: Policy, seed: int
    ) -> None:
        """Store the assignments and the report, if the round is still ours, replacing the
        previous result (of a round solved again) in the same transaction."""
        vocabulary = load_vocabulary()
        report = report_data(result, compute_statistics(data, result, vocabulary), policy, seed)
        inputs_hash, versions = (
            reproducibility.inputs_sha256(data, policy),
            reproducibility.software(),
        )
        report.update(inputs_sha256=inputs_hash, software=versions)
        with Session(self.engine, expire_on_commit=False) as session:
            round_ = session.get_one(Round, job.round_id)
            if round_.status is not RoundStatus.RUNNING or round_.solve_attempt != job.attempt:
                return
            report["time_limit"] = round_.time_limit
            won = change_state(
                session,
                round_,
                {RoundStatus.RUNNING},
                status=RoundStatus.SOLVED,
                solve_attempt=None,
                lease_expires_at=None,
                progress=None,
                report=report,
                error="",
                solved_at=utcnow(),
                inputs_sha256=inputs_hash,
                software=versions,
            )
            if not won:
                session.rollback()
                return
            session.execute(delete(Assignment).where(col(Assignment.round_id) == job.round_id))
            session.add_all(assignment_rows(job.round_id, data, result))
            audit.record(
                session,
                None,
                "round.solved",
                "round",
                job.round_id,
                placed=report["placed"],
                students=report["students"],
            )
            session.commit()


def assignment_rows(round_id: int, data: RoundInput, result: RoundResult) -> list[Assignment]:
    """The assignment rows of a solved round, one per student of its snapshot."""
    offers = {offer.offer_id: offer for offer in data.offers}
    trades = load_vocabulary().trades
    rows = []
    for student, placement, eligible in zip(
        data.students, result.placements, result.eligible, strict=True
    ):
        offer = offers.get(placement.offer_id) if placement.offer_id else None
        reason = placement.reason
        rows.append(
            Assignment(
                round_id=round_id,
                student_id=student.student_id,
                first_name=student.first_name,
                last_name=student.last_name,
                school_id=student.school_id,
                gender=student.gender.value,
                trade=student.trade,
                sector=trades[student.trade].sector.value if student.trade in trades else "",
                eligible=eligible,
                offer_id=placement.offer_id,
                partner=offer.partner if offer else None,
                company_name=offer.company_name if offer else "",
                country=offer.country.value if offer else "",
                city=offer.city if offer else "",
                start_date=offer.start_date if offer else None,
                end_date=offer.end_date if offer else None,
                preference_rank=placement.preference_rank,
                locked=placement.locked,
                reason_code=reason.code.value if reason else "",
                reason=reason.sentence if reason else "",
            )
        )
    return rows
