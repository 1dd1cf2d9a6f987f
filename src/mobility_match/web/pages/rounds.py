"""Pages of the coordinator's rounds: the dashboard, a new round, its solve (live progress,
cancel), publication, re-run after withdrawals and declines, and the diff of two rounds.

Thin like the API's routes (api/rounds.py): who is asking, the same service
functions (services/rounds.py, services/review.py), a template. A refused
action (a Conflict or a Refused of the service) is shown on the round page,
next to its form, rather than as a bare error page.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from mobility_match import identifiers
from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, ChecklistsDep, SessionDep, SettingsDep
from mobility_match.api.rounds import SolverDep
from mobility_match.matching.stages import POLICY_STAGES, STAGE_SPECS, Stage
from mobility_match.models import MailStatus, Round, RoundStatus, utcnow
from mobility_match.models import Response as Answer
from mobility_match.report_model import stored_report
from mobility_match.services import fairness_price, mail, placements, review, rounds
from mobility_match.services.errors import Conflict, Refused
from mobility_match.web import csrf
from mobility_match.web.deps import CoordinatorPage
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form(max_length=200)]

POSITIONS = len(POLICY_STAGES)
"""The new-round form has one choice of stage per position."""

DEADLINE_DAYS = 14
"""The response deadline the publish form proposes: two weeks from today."""


def stage_texts(_: Any) -> dict[str, tuple[str, str]]:
    """Each objective stage's name and one-line explanation, in the page's language (the
    stages' labels are in matching/stages.py; their French is in rounds.po)."""
    texts = {"starting": (_("Preparing the round"), _("Reading the students and offers."))}
    for stage, spec in STAGE_SPECS.items():
        texts[stage] = (_(spec.label), _(spec.summary))
    return texts


STAGE_UNITS: dict[Stage, str] = {stage: spec.unit.value for stage, spec in STAGE_SPECS.items()}
"""How the pages show each stage's value (templates/web/rounds/parts.html, stage_value),
from its spec: students and ranks as numbers, a rate as a percentage, a gap between two
rates in percentage points."""


def tolerance_hints(_: Any) -> dict[Stage, str]:
    """What the tolerance of each stage means, in the page's language."""
    return {
        Stage.PLACEMENTS: _(
            "Share of the most placements the later stages may give up "
            "(5 keeps at least 95 % of them)."
        ),
        Stage.GENDER_GAP: _("Percentage points the gap may grow above the smallest gap."),
        Stage.PREFERENCES: _("Share the preference cost may grow above the least cost."),
        Stage.SCHOOL_FAIRNESS: _(
            "Percentage points the lowest school rate may fall below its best value."
        ),
    }


def country_names(_: Any) -> dict[str, str]:
    return {"DE": _("Germany"), "PL": _("Poland"), "UK": _("United Kingdom")}


# The dashboard.


@router.get("/coordinator")
def dashboard(request: Request, session: SessionDep, viewer: CoordinatorPage) -> Response:
    """Every round with its state and figures, and what a new round would take."""
    context = {
        "rounds": rounds.list_rounds(session, viewer),
        "scope": rounds.new_round_scope(session, viewer),
    }
    return render(request, "rounds/dashboard.html", context, viewer=viewer)


# A new round.


def _default_form(settings_limit: float) -> dict[str, str]:
    values = {
        "name": "",
        "time_limit": f"{settings_limit:g}",
        "seed": "0",
        "project_number": "",
    }
    for position, stage in enumerate(POLICY_STAGES, start=1):
        values[f"stage_{position}"] = stage
    for stage in POLICY_STAGES:
        values[f"tolerance_{stage}"] = "0"
    return values


def _new_round_page(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    _ = gettext_for(request, viewer)
    context = {
        "values": values,
        "errors": errors or {},
        "problems": problems or [],
        "stages": POLICY_STAGES,
        "stage_texts": stage_texts(_),
        "tolerance_hints": tolerance_hints(_),
        "positions": range(1, POSITIONS + 1),
    }
    return render(request, "rounds/new.html", context, viewer=viewer, status_code=status_code)


@router.get("/coordinator/rounds/new")
def new_round(request: Request, viewer: CoordinatorPage, settings: SettingsDep) -> Response:
    """The form of a new round: name, time limit, seed, and the matching policy."""
    return _new_round_page(request, viewer, _default_form(settings.solve_time_limit))


def policy_toml(values: dict[str, str], _: Any) -> tuple[str, dict[str, str]]:
    """The policy TOML of the form's stage order and tolerances ("" for the default
    policy), and the problems of its fields (field name → sentence)."""
    errors: dict[str, str] = {}
    order: list[str] = []
    for position in range(1, POSITIONS + 1):
        field = f"stage_{position}"
        stage = values.get(field, "")
        if not stage:
            continue
        if stage not in POLICY_STAGES:
            errors[field] = _("Choose one of the listed stages.")
        elif stage in order:
            errors[field] = _("This stage is already chosen at an earlier position.")
        else:
            order.append(stage)
    if not order and not errors:
        errors["stage_1"] = _("Choose at least one stage.")
    tolerances: dict[str, Decimal] = {}
    for stage in POLICY_STAGES:
        field = f"tolerance_{stage}"
        raw = values.get(field, "").strip().replace(",", ".") or "0"
        try:
            percent = Decimal(raw)
        except InvalidOperation:
            percent = Decimal(-1)
        if not percent.is_finite() or not 0 <= percent <= 100:
            errors[field] = _("Enter a number from 0 to 100.")
        elif percent and stage in order:
            tolerances[stage] = percent / 100
    if errors or (tuple(order) == POLICY_STAGES and not tolerances):
        return "", errors
    lines = ["stages = [" + ", ".join(f'"{stage}"' for stage in order) + "]"]
    if tolerances:
        lines.append("[tolerance]")
        lines.extend(f"{stage} = {format(share, 'f')}" for stage, share in tolerances.items())
    return "\n".join(lines) + "\n", errors


@router.post("/coordinator/rounds")
def create_round(
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    settings: SettingsDep,
    name: FormText = "",
    time_limit: FormText = "",
    seed: FormText = "",
    stage_1: FormText = "",
    stage_2: FormText = "",
    stage_3: FormText = "",
    stage_4: FormText = "",
    tolerance_placements: FormText = "",
    tolerance_gender_gap: FormText = "",
    tolerance_preferences: FormText = "",
    tolerance_school_fairness: FormText = "",
    project_number: FormText = "",
) -> Response:
    """Create a draft round on a snapshot of the current students and open offers."""
    _ = gettext_for(request, viewer)
    values = {
        "name": name,
        "time_limit": time_limit,
        "seed": seed,
        "stage_1": stage_1,
        "stage_2": stage_2,
        "stage_3": stage_3,
        "stage_4": stage_4,
        "tolerance_placements": tolerance_placements,
        "tolerance_gender_gap": tolerance_gender_gap,
        "tolerance_preferences": tolerance_preferences,
        "tolerance_school_fairness": tolerance_school_fairness,
        "project_number": project_number,
    }
    policy, errors = policy_toml(values, _)
    if not name.strip():
        errors["name"] = _("Give the round a name.")
    limit = _seconds(time_limit)
    if limit is None or not 0 < limit <= 3600:
        errors["time_limit"] = _("Enter a number of seconds from 1 to 3600.")
    chosen_seed = _whole(seed or "0")
    if chosen_seed is None or not 0 <= chosen_seed <= MAX_ID:
        errors["seed"] = _("Enter a whole number, 0 or more.")
    try:
        identifiers.project_number(project_number)
    except ValueError:
        errors["project_number"] = _(
            "Enter the project number of the grant agreement, e.g. %(example)s, or nothing."
        ) % {"example": identifiers.PROJECT_NUMBER_EXAMPLE}
    if errors:
        return _new_round_page(request, viewer, values, errors, status_code=422)
    try:
        round_ = rounds.create_round(
            session,
            viewer,
            name=name.strip(),
            policy=policy,
            time_limit=limit,
            seed=chosen_seed or 0,
            default_time_limit=settings.solve_time_limit,
            project_number=project_number,
        )
    except Refused as refusal:
        problems = [refusal.message, *refusal.problems]
        return _new_round_page(request, viewer, values, problems=problems, status_code=422)
    response = RedirectResponse(f"/coordinator/rounds/{round_.id}", status_code=303)
    set_flash(response, _("The round was created. Start its solve when you are ready."))
    return response


def _seconds(raw: str) -> float | None:
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        return None


# A round.


def _elapsed(progress: dict[str, Any] | None) -> int | None:
    started = (progress or {}).get("started_at")
    if not isinstance(started, str):
        return None
    try:
        since = dt.datetime.fromisoformat(started)
    except ValueError:
        return None
    return max(0, int((utcnow() - since).total_seconds()))


def _round_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    round_: Round,
    *,
    refusal: str = "",
    problems: list[str] | None = None,
    deadline_error: str = "",
    deadline: str = "",
    rerun_name: str = "",
    status_code: int = 200,
) -> Response:
    _ = gettext_for(request, viewer)
    round_id = round_.id or 0
    previous = (
        rounds.get_round(session, viewer, round_.previous_round_id)
        if round_.previous_round_id
        else None
    )
    answers = (
        rounds.answers_count(session, viewer, round_id)
        if round_.status is RoundStatus.PUBLISHED
        else None
    )
    context = {
        "round": round_,
        "previous": previous,
        "answers": answers,
        "answer_order": [Answer.CONFIRMED, Answer.DECLINED, Answer.WITHDRAWN, Answer.PENDING],
        "policy": rounds.round_policy(round_),
        "report": stored_report(round_.report),
        "stage_texts": stage_texts(_),
        "stage_units": STAGE_UNITS,
        "elapsed": _elapsed(round_.progress),
        "refusal": refusal,
        "problems": problems or [],
        "deadline_error": deadline_error,
        "deadline": deadline or (utcnow().date() + dt.timedelta(days=DEADLINE_DAYS)).isoformat(),
        "rerun_name": rerun_name or _("%(name)s (re-run)") % {"name": round_.name},
        "mail_states": MailStatus,
        "delivery": (
            mail.round_delivery(session, viewer, round_id)
            if round_.status is RoundStatus.PUBLISHED
            else None
        ),
        "to_complete": placements.minors_without_hours(session, round_),
        "fairness": (
            fairness_price.get(session, viewer, round_id)
            if round_.status in (RoundStatus.SOLVED, RoundStatus.PUBLISHED)
            else None
        ),
    }
    return render(request, "rounds/round.html", context, viewer=viewer, status_code=status_code)


@router.get("/coordinator/rounds/{round_id}")
def show_round(
    request: Request,
    round_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
    solver: SolverDep,
) -> Response:
    """A round and the actions its state allows; its live progress while it is solved."""
    round_ = rounds.get_live_round(session, viewer, round_id, solver.recover)
    return _round_page(request, session, viewer, round_)


def _refused_here(
    request: Request,
    session: Session,
    viewer: Viewer,
    round_id: int,
    error: Conflict | Refused,
    **shown: Any,
) -> Response:
    """The round page again, with the refusal said where the action was asked."""
    session.rollback()
    round_ = rounds.get_round(session, viewer, round_id)
    status_code = 409 if isinstance(error, Conflict) else 422
    problems = list(error.problems) if isinstance(error, Refused) else []
    return _round_page(
        request,
        session,
        viewer,
        round_,
        refusal=error.message,
        problems=problems,
        status_code=status_code,
        **shown,
    )


def _back_to(round_id: int, message: str) -> Response:
    response = RedirectResponse(f"/coordinator/rounds/{round_id}", status_code=303)
    set_flash(response, message)
    return response


@router.post("/coordinator/rounds/{round_id}/solve")
def solve(
    request: Request,
    round_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
    solver: SolverDep,
    again: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Start solving the round in the background, then follow it on the round's page; a
    solved round's button says `again=1`: its result is replaced when the new one is done."""
    _ = gettext_for(request, viewer)
    try:
        attempt = rounds.request_solve(session, viewer, round_id, solver.lease, again=again == "1")
    except (Conflict, Refused) as error:
        return _refused_here(request, session, viewer, round_id, error)
    solver.start(round_id, attempt)
    return _back_to(round_id, _("The solve has started."))


@router.post("/coordinator/rounds/{round_id}/fairness-price")
def compute_fairness_price(
    request: Request,
    round_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
    solver: SolverDep,
) -> Response:
    """Solve the round again without gender balance and without school fairness, in the
    background (services/fairness_price.py), to show what balance costs."""
    _ = gettext_for(request, viewer)
    try:
        attempt = fairness_price.request(session, viewer, round_id)
    except (Conflict, Refused) as error:
        return _refused_here(request, session, viewer, round_id, error)
    engine = session.get_bind().engine
    solver.run_later(lambda stop: fairness_price.run(engine, round_id, attempt, stop))
    return _back_to(
        round_id,
        _("The price of fairness is being computed; reload this page in a moment."),
    )


@router.post("/coordinator/rounds/{round_id}/cancel")
def cancel(
    request: Request,
    round_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
    solver: SolverDep,
) -> Response:
    """Stop the round's solve; it goes back to draft (or to its previous result)."""
    _ = gettext_for(request, viewer)
    try:
        rounds.cancel_solve(session, viewer, round_id)
    except (Conflict, Refused) as error:
        return _refused_here(request, session, viewer, round_id, error)
    solver.cancel(round_id)
    return _back_to(round_id, _("The solve was cancelled."))


@router.post("/coordinator/rounds/{round_id}/publish")
def publish(
    request: Request,
    round_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
    checklists: ChecklistsDep,
    settings: SettingsDep,
    response_deadline: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Publish a solved round with the last day students may answer."""
    _ = gettext_for(request, viewer)
    try:
        deadline = dt.date.fromisoformat(response_deadline.strip())
    except ValueError:
        round_ = rounds.get_round(session, viewer, round_id)
        return _round_page(
            request,
            session,
            viewer,
            round_,
            deadline_error=_("Enter a date, for example 2027-03-31."),
            deadline=response_deadline,
            status_code=422,
        )
    try:
        rounds.publish(
            session, viewer, round_id, deadline, utcnow().date(), checklists, settings=settings
        )
    except Refused as error:
        field = [p.split(": ", 1)[-1] for p in error.problems if p.startswith("response_deadline")]
        return _refused_here(
            request,
            session,
            viewer,
            round_id,
            error,
            deadline_error="; ".join(field),
            deadline=response_deadline,
        )
    except Conflict as error:
        return _refused_here(request, session, viewer, round_id, error)
    return _back_to(
        round_id,
        _("The round is published: students, teachers and partners now see its placements."),
    )


@router.post("/coordinator/rounds/{round_id}/rerun")
def rerun(
    request: Request,
    round_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
    settings: SettingsDep,
    name: FormText = "",
) -> Response:
    """A new draft round from current data that keeps as many placements as it can."""
    _ = gettext_for(request, viewer)
    try:
        round_ = rounds.rerun(
            session,
            viewer,
            round_id,
            name=name.strip() or None,
            default_time_limit=settings.solve_time_limit,
        )
    except (Conflict, Refused) as error:
        return _refused_here(request, session, viewer, round_id, error, rerun_name=name)
    return _back_to(
        round_.id or 0,
        _("A new round was made from round %(n)d. Start its solve when you are ready.")
        % {"n": round_id},
    )


# The diff of two rounds.


@router.get("/coordinator/rounds/{round_id}/diff/{other_id}")
def diff(
    request: Request,
    round_id: RoundId,
    other_id: RoundId,
    session: SessionDep,
    viewer: CoordinatorPage,
) -> Response:
    """The students placed differently in round `other_id` than in round `round_id`."""
    _ = gettext_for(request, viewer)
    changes = review.diff(session, viewer, round_id, other_id)
    context = {
        "before": rounds.get_round(session, viewer, round_id),
        "after": rounds.get_round(session, viewer, other_id),
        "changes": changes,
        "countries": country_names(_),
    }
    return render(request, "rounds/diff.html", context, viewer=viewer)
