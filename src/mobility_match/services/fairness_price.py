"""The price of fairness: a solved round beside the same round solved without one balance goal.

Two more solves of the round's own inputs (snapshot, locks, seed, time limit),
each under the round's policy minus one stage: without `gender_gap`, and
without `school_fairness`. Each gives its placements, gender gap, preference
cost and lowest school rate, beside the round's own, so that a coordinator
sees what balance costs (often nothing).

It is asked for on the round's page or through the API, and runs in the
background on the solver's workers (`Solver.run_later`) after the request has
answered: it never lengthens a solve, and a round nobody asks about costs no
CPU (two solves may take twice the round's time limit). The result, with the
SHA-256 of the inputs it was computed on, is stored in `Round.fairness_price`:

    {"status": "running" | "done" | "failed", "attempt", "requested_at",
     "finished_at", "error", "inputs_sha256",
     "variants": [{"name": "round" | "without_gender_gap" | "without_school_fairness",
                   "dropped", "in_policy", "stages", "students", "placed",
                   "gender_gap", "preference_cost", "min_school_rate",
                   "proven", "seconds"}]}

The round's own figures are those of its report when its inputs have not
changed since its solve (same SHA-256); else (locks changed since) the round
is solved a third time, so that the three are solved on the same inputs.
Writing the result never changes the round's state or version.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from mobility_match.access import Viewer
from mobility_match.domain import RoundInput, RoundResult, StageStatus, load_vocabulary
from mobility_match.matching.engine import SolveCancelled, solve_round
from mobility_match.matching.policy import Policy
from mobility_match.matching.stages import Stage
from mobility_match.models import Role, Round, RoundStatus, utcnow
from mobility_match.report_model import RoundReport, stored_report
from mobility_match.services import audit
from mobility_match.services.errors import Conflict
from mobility_match.services.reproducibility import inputs_sha256
from mobility_match.services.rounds import get_round, round_policy
from mobility_match.services.rows import require
from mobility_match.services.snapshots import previous_assignment, round_input
from mobility_match.statistics import compute_statistics

log = logging.getLogger(__name__)

DROPPED: dict[str, Stage] = {
    "without_gender_gap": Stage.GENDER_GAP,
    "without_school_fairness": Stage.SCHOOL_FAIRNESS,
}
"""Each variant and the stage its policy leaves out."""

STALE_AFTER = dt.timedelta(seconds=60)
"""Beyond its solves' time limits, how long a computation may stay `running` before it is
taken for dead (its process stopped) and may be asked for again."""

Figures = dict[str, Any]
CancelCheck = Callable[[], bool]


def without(policy: Policy, stage: Stage) -> Policy | None:
    """The policy minus `stage` (its tolerance too); None when the stage is not in it or
    when nothing would be left to optimise."""
    if stage not in policy.stages or len(policy.stages) == 1:
        return None
    tolerance = {name: share for name, share in policy.tolerance.items() if name != stage}
    return replace(
        policy, stages=tuple(s for s in policy.stages if s != stage), tolerance=tolerance
    )


def figures(data: RoundInput, result: RoundResult) -> Figures:
    """What the comparison shows of one solve."""
    statistics = compute_statistics(data, result, load_vocabulary())
    return {
        "students": statistics.students,
        "placed": statistics.placed,
        "gender_gap": statistics.gender_gap,
        "preference_cost": statistics.preference_cost,
        "min_school_rate": statistics.min_school_rate,
        "proven": all(stage.status is StageStatus.OPTIMAL for stage in result.stages),
        "seconds": round(result.solve_seconds, 3),
    }


def report_figures(report: RoundReport) -> Figures:
    """The same figures, from a solved round's report."""
    return {
        "students": report.students,
        "placed": report.placed,
        "gender_gap": report.gender_gap,
        "preference_cost": report.preference_cost,
        "min_school_rate": report.min_school_rate,
        "proven": all(stage.status is StageStatus.OPTIMAL for stage in report.stages),
        "seconds": report.solve_seconds,
    }


def compare(
    data: RoundInput,
    policy: Policy,
    *,
    time_limit: float,
    seed: int,
    own: Figures | None = None,
    previous: Mapping[str, str | None] | None = None,
    cancelled: CancelCheck | None = None,
) -> list[Figures]:
    """The round (`own`, else solved here) and the round without each balance stage.

    A stage the policy does not have leaves the round as it is: that variant says
    so (`in_policy` false) and repeats the round's figures without solving.
    """

    def solve(chosen: Policy) -> Figures:
        result = solve_round(
            data,
            load_vocabulary(),
            chosen,
            time_limit=time_limit,
            seed=seed,
            previous=previous,
            cancelled=cancelled,
        )
        return figures(data, result)

    base = own if own is not None else solve(policy)
    variants = [{"name": "round", "dropped": None, "in_policy": True, **base}]
    variants[0]["stages"] = list(policy.stages)
    for name, stage in DROPPED.items():
        reduced = without(policy, stage)
        if reduced is None:
            variant = {**base, "stages": list(policy.stages), "in_policy": False}
        else:
            variant = {**solve(reduced), "stages": list(reduced.stages), "in_policy": True}
        variants.append({**variant, "name": name, "dropped": stage})
    return variants


def _running(price: Mapping[str, Any] | None, round_: Round, now: dt.datetime) -> bool:
    """Whether a computation is under way (and not left behind by a stopped process)."""
    if not price or price.get("status") != "running":
        return False
    try:
        requested = dt.datetime.fromisoformat(str(price.get("requested_at")))
    except ValueError:
        return False
    limit = dt.timedelta(seconds=3 * round_.time_limit) + STALE_AFTER
    return now - requested < limit


def request(session: Session, viewer: Viewer, round_id: int) -> str:
    """Mark the round's price of fairness as being computed; return the attempt id for `run`.

    Conflict when the round has no result yet or a computation is already under way.
    """
    require(viewer, Role.COORDINATOR)
    round_ = get_round(session, viewer, round_id)
    if round_.status is RoundStatus.RUNNING:
        raise Conflict(f"Round {round_id} is being solved; ask again once its solve is done.")
    if round_.status not in (RoundStatus.SOLVED, RoundStatus.PUBLISHED) or not round_.report:
        raise Conflict(
            f"Round {round_id} has no result yet; the price of fairness compares its result "
            "with the same round solved without a balance goal, so solve it first."
        )
    now = utcnow()
    if _running(round_.fairness_price, round_, now):
        raise Conflict(f"The price of fairness of round {round_id} is already being computed.")
    attempt = uuid.uuid4().hex
    _write(
        session,
        round_id,
        {"status": "running", "attempt": attempt, "requested_at": now.isoformat(), "error": ""},
    )
    audit.record(session, viewer, "round.fairness_price", "round", round_id, attempt=attempt)
    session.commit()
    return attempt


def run(engine: Engine, round_id: int, attempt: str, cancelled: CancelCheck) -> None:
    """Compute the price of fairness asked for under `attempt` and store it (a worker's task)."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            round_ = session.get_one(Round, round_id)
            data = round_input(session, round_, declines=True)
            policy = round_policy(round_)
            previous = previous_assignment(session, round_)
            report, solved_on = stored_report(round_.report), round_.inputs_sha256
            time_limit, seed = round_.time_limit, round_.seed
            session.commit()
        priced_on = inputs_sha256(data, policy)
        own = report_figures(report) if report and solved_on == priced_on else None
        variants = compare(
            data,
            policy,
            time_limit=time_limit,
            seed=seed,
            own=own,
            previous=previous,
            cancelled=cancelled,
        )
    except SolveCancelled:
        _finish(engine, round_id, attempt, {"status": "failed", "error": "interrupted"})
    except Exception as error:
        log.exception("the price of fairness of round %s failed", round_id)
        _finish(engine, round_id, attempt, {"status": "failed", "error": str(error)[:500]})
    else:
        _finish(
            engine,
            round_id,
            attempt,
            {"status": "done", "error": "", "inputs_sha256": priced_on, "variants": variants},
        )


def _finish(engine: Engine, round_id: int, attempt: str, values: dict[str, Any]) -> None:
    """Store the outcome if the round still waits for this attempt (not asked again since)."""
    with Session(engine, expire_on_commit=False) as session:
        round_ = session.get_one(Round, round_id)
        price = dict(round_.fairness_price or {})
        if price.get("attempt") != attempt:
            return
        price.update(values, finished_at=utcnow().isoformat())
        _write(session, round_id, price)
        session.commit()


def _write(session: Session, round_id: int, price: dict[str, Any]) -> None:
    session.execute(update(Round).where(col(Round.id) == round_id).values(fairness_price=price))


def get(session: Session, viewer: Viewer, round_id: int) -> dict[str, Any]:
    """The round's price of fairness as stored, and whether it is of the round's current result
    (`current`: computed on the inputs the round was last solved on)."""
    require(viewer, Role.COORDINATOR)
    round_ = get_round(session, viewer, round_id)
    price = dict(round_.fairness_price or {"status": "none"})
    price.pop("attempt", None)
    if price.get("status") == "running" and not _running(round_.fairness_price, round_, utcnow()):
        price.update(status="failed", error="interrupted")
    price["current"] = bool(
        price.get("status") == "done"
        and round_.inputs_sha256
        and price.get("inputs_sha256") == round_.inputs_sha256
    )
    return price
