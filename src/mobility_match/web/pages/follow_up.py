"""Pages of the evaluation's data: the graduate's follow-up page (phone first, no sign-in:
the link is the key), what a teacher records on a student's page (a situation after a
phone call, a parent's consent, a placement's outcome), the coordinator's import of a
file of situations, and the response rates per school and wave.

Every value is checked by services/follow_up_survey.py and services/outcomes.py (the API
calls the same); this module chooses words and lays things out. A GET of the follow-up
link uses nothing up; its form's POST does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, SessionDep, SettingsDep
from mobility_match.api.imports import read_upload
from mobility_match.config import Settings
from mobility_match.models import (
    Assignment,
    InterruptionReason,
    PlacementOutcomeKind,
    Role,
    Situation,
    Student,
    utcnow,
)
from mobility_match.services import follow_up_survey, outcomes
from mobility_match.services.errors import Gone, NotFound, Refused
from mobility_match.services.follow_up_survey import EMPLOYED, LOCATED, AnswerInput
from mobility_match.web import csrf
from mobility_match.web.deps import (
    CoordinatorPage,
    PartnerPage,
    SchoolStaffPage,
    TeacherPage,
    safe_next,
)
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]
StudentId = Annotated[str, Path(min_length=1, max_length=64)]
Text = Annotated[str, Form(max_length=2000)]
SECRET_URL_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

Gettext = Callable[[str], str]


def situation_labels(_: Gettext) -> dict[str, str]:
    """The situations in the graduate's words."""
    return {
        Situation.PERMANENT_CONTRACT: _("I work on an open-ended contract (CDI)"),
        Situation.FIXED_TERM_CONTRACT: _("I work on a fixed-term contract (CDD)"),
        Situation.TEMPORARY_AGENCY: _("I work through a temporary work agency (intérim)"),
        Situation.WORK_STUDY: _("I am an apprentice or on another work-study contract"),
        Situation.SELF_EMPLOYED: _("I work for myself (self-employed)"),
        Situation.EDUCATION: _("I am studying or in training"),
        Situation.JOB_SEEKING: _("I am looking for a job"),
        Situation.INACTIVE: _("I am neither working, studying nor looking for a job"),
        Situation.UNKNOWN: _("Unknown"),
    }


def country_labels(_: Gettext) -> dict[str, str]:
    return {
        "FR": _("France"),
        "DE": _("Germany"),
        "PL": _("Poland"),
        "UK": _("United Kingdom"),
        "BE": _("Belgium"),
        "LU": _("Luxembourg"),
        "CH": _("Switzerland"),
        "ES": _("Spain"),
        "IT": _("Italy"),
        "PT": _("Portugal"),
        "NL": _("Netherlands"),
        "IE": _("Ireland"),
        "AT": _("Austria"),
        "OTHER": _("Another country"),
    }


def outcome_labels(_: Gettext) -> dict[str, dict[str, str]]:
    return {
        "outcomes": {
            PlacementOutcomeKind.COMPLETED: _("Completed"),
            PlacementOutcomeKind.INTERRUPTED: _("Interrupted"),
            PlacementOutcomeKind.NOT_STARTED: _("Did not start"),
        },
        "reasons": {
            InterruptionReason.HEALTH: _("Health"),
            InterruptionReason.FAMILY: _("Family reasons"),
            InterruptionReason.HOST: _("Ended by the host"),
            InterruptionReason.ADAPTATION: _("Difficulties living or working abroad"),
            InterruptionReason.CONDUCT: _("Conduct"),
            InterruptionReason.OTHER: _("Other reason"),
        },
    }


def _field_errors(problems: list[tuple[str, str]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field, sentence in problems:
        errors.setdefault(field, sentence)
    return errors


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---- the graduate's page ------------------------------------------------------------------


def _survey_page(
    request: Request,
    token: str,
    view: follow_up_survey.LinkView,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    _ = gettext_for(request, None)
    context = {
        "token": token,
        "view": view,
        "values": values,
        "errors": errors,
        "situations": situation_labels(_),
        "employed": [s.value for s in EMPLOYED],
        "countries": country_labels(_),
    }
    response = render(request, "follow_up/survey.html", context, status_code=status_code)
    response.headers.update(SECRET_URL_HEADERS)
    return response


def _invalid_link(request: Request, error: NotFound | Gone) -> Response:
    status_code = 410 if isinstance(error, Gone) else 404
    response = render(request, "follow_up/invalid.html", {}, status_code=status_code)
    response.headers.update(SECRET_URL_HEADERS)
    return response


@router.get("/follow-up/{token}")
def survey_page(request: Request, token: str, session: SessionDep) -> Response:
    """The graduate's questions (a GET uses nothing up: mail scanners open links)."""
    try:
        view = follow_up_survey.get_link(session, token)
    except (NotFound, Gone) as error:
        return _invalid_link(request, error)
    return _survey_page(request, token, view, {}, {})


@router.post("/follow-up/{token}")
def answer_survey(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    situation: Text = "",
    in_trade: Text = "",
    country: Text = "",
) -> Response:
    """Record the answer and use the link up; a wrong answer shows the form again."""
    values = {"situation": situation, "in_trade": in_trade, "country": country}
    # One form for every situation: what does not apply to the one chosen is not kept.
    if situation not in {s.value for s in EMPLOYED}:
        in_trade = ""
    if situation not in {s.value for s in LOCATED}:
        country = ""
    try:
        view = follow_up_survey.get_link(session, token)
        problems, stored = follow_up_survey.answer_by_link(
            session, token, AnswerInput(situation, in_trade, country), settings
        )
    except (NotFound, Gone) as error:
        return _invalid_link(request, error)
    if stored is None:
        return _survey_page(request, token, view, values, _field_errors(problems), 422)
    response = render(request, "follow_up/thanks.html", {"first_name": view.first_name})
    response.headers.update(SECRET_URL_HEADERS)
    return response


# ---- a student's page: what teachers (and coordinators) record ---------------------------


def student_evaluation(
    request: Request,
    session: Session,
    viewer: Viewer,
    student: Student,
    assignment: Assignment | None,
) -> dict[str, Any]:
    """What the teacher's page of a student shows of the evaluation: the follow-up answers
    and their form, the guardian's consent, the placement's outcome and its form."""
    _ = gettext_for(request, viewer)
    settings = _settings(request)
    today = utcnow().date()
    answers = follow_up_survey.answers_of(session, viewer, student.student_id)
    waves = []
    minor = False
    for wave in settings.follow_up_waves:
        day = follow_up_survey.wave_date(student.cohort, wave, settings) if student.cohort else None
        minor = minor or (day is not None and follow_up_survey.is_minor_on(student, day))
        answer = next((a for a in answers if a.wave == wave), None)
        waves.append({"wave": wave, "date": day, "answer": answer})
    return {
        "follow_up": {
            "waves": waves,
            "minor": minor,
            "situations": situation_labels(_),
            "countries": country_labels(_),
            "today": today,
            "base": f"/teacher/students/{student.student_id}",
        },
        "outcome": outcome_context(request, session, viewer, assignment),
    }


def outcome_context(
    request: Request, session: Session, viewer: Viewer, assignment: Assignment | None
) -> dict[str, Any] | None:
    """The outcome form of a placement (None: no placement, or not of a published round)."""
    if assignment is None or assignment.offer_id is None or viewer.role not in OUTCOME_ACTIONS:
        return None
    _ = gettext_for(request, viewer)
    recorded = outcomes.get_outcome(session, viewer, assignment.round_id, assignment.student_id)
    return {
        "action": OUTCOME_ACTIONS[viewer.role].format(
            round_id=assignment.round_id, student_id=quote(assignment.student_id, safe="")
        ),
        "recorded": recorded,
        "assignment": assignment,
        **outcome_labels(_),
    }


OUTCOME_ACTIONS = {
    Role.TEACHER: "/teacher/placements/{round_id}/{student_id}/outcome",
    Role.PARTNER: "/partner/placements/{round_id}/{student_id}/outcome",
    Role.COORDINATOR: "/coordinator/rounds/{round_id}/students/{student_id}/outcome",
}
"""Where each role's outcome form posts (one route per role, as each role's pages)."""


@dataclass(frozen=True)
class OutcomeForm:
    outcome: str
    interrupted_on: str
    reason: str
    note: str
    next: str


def _outcome_form(
    outcome: Text = "",
    interrupted_on: Text = "",
    reason: Text = "",
    note: Text = "",
    next: Text = "",
) -> OutcomeForm:
    return OutcomeForm(outcome, interrupted_on, reason, note, next)


OutcomeFormDep = Annotated[OutcomeForm, Depends(_outcome_form)]


def _record_outcome(
    request: Request,
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    form: OutcomeForm,
) -> Response:
    """Record the outcome; back to the page of the form, which says what was done or why
    not (each problem naming its field)."""
    _ = gettext_for(request, viewer)
    response = RedirectResponse(safe_next(form.next, "/home"), status_code=303)
    try:
        day = dt.date.fromisoformat(form.interrupted_on) if form.interrupted_on.strip() else None
    except ValueError:
        problem = _("the date of the interruption is not a date (YYYY-MM-DD).")
        set_flash(response, _("The outcome is not recorded: %(problem)s") % {"problem": problem})
        return response
    given = outcomes.OutcomeInput(form.outcome, day, form.reason, form.note)
    try:
        outcomes.record_outcome(session, viewer, round_id, student_id, given)
    except Refused as refusal:
        problem = "; ".join(refusal.problems)
        set_flash(response, _("The outcome is not recorded: %(problem)s") % {"problem": problem})
        return response
    set_flash(response, _("The outcome of the placement is recorded."))
    return response


@router.post("/teacher/placements/{round_id}/{student_id}/outcome")
def teacher_outcome(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: TeacherPage,
    form: OutcomeFormDep,
) -> Response:
    """A teacher records how a placement of the school's student ended."""
    return _record_outcome(request, session, viewer, round_id, student_id, form)


@router.post("/partner/placements/{round_id}/{student_id}/outcome")
def partner_outcome(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: PartnerPage,
    form: OutcomeFormDep,
) -> Response:
    """A partner records how a placement in its companies ended."""
    return _record_outcome(request, session, viewer, round_id, student_id, form)


@router.post("/coordinator/rounds/{round_id}/students/{student_id}/outcome")
def coordinator_outcome(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: CoordinatorPage,
    form: OutcomeFormDep,
) -> Response:
    """A coordinator records how a placement ended."""
    return _record_outcome(request, session, viewer, round_id, student_id, form)


@router.post("/teacher/students/{student_id}/follow-up")
def record_situation(
    request: Request,
    student_id: StudentId,
    session: SessionDep,
    viewer: SchoolStaffPage,
    settings: SettingsDep,
    wave: Annotated[int, Form(ge=0, le=999)] = 0,
    situation: Text = "",
    in_trade: Text = "",
    country: Text = "",
    as_of: Text = "",
) -> Response:
    """A situation told on the phone, for one wave; refused with every problem named."""
    _ = gettext_for(request, viewer)
    response = RedirectResponse(f"/teacher/students/{student_id}#follow-up", status_code=303)
    try:
        day = dt.date.fromisoformat(as_of) if as_of.strip() else None
    except ValueError:
        message = _("the date is not a date (YYYY-MM-DD).")
        set_flash(response, _("The situation is not recorded: %(problem)s") % {"problem": message})
        return response
    try:
        follow_up_survey.record_answer(
            session,
            viewer,
            student_id,
            wave,
            AnswerInput(situation, in_trade, country, day),
            settings,
        )
    except Refused as refusal:
        set_flash(
            response,
            _("The situation is not recorded: %(problem)s")
            % {"problem": "; ".join(refusal.problems)},
        )
        return response
    set_flash(response, _("The situation is recorded."))
    return response


@router.post("/teacher/students/{student_id}/guardian-consent")
def record_consent(
    request: Request,
    student_id: StudentId,
    session: SessionDep,
    viewer: SchoolStaffPage,
    consent_on: Text = "",
) -> Response:
    """The day a parent agreed that the minor be asked (empty: the consent is taken back)."""
    _ = gettext_for(request, viewer)
    response = RedirectResponse(f"/teacher/students/{student_id}#follow-up", status_code=303)
    try:
        day = dt.date.fromisoformat(consent_on) if consent_on.strip() else None
        follow_up_survey.record_consent(session, viewer, student_id, day, today=utcnow().date())
    except ValueError:
        set_flash(response, _("The consent is not recorded: the date is not a date (YYYY-MM-DD)."))
        return response
    except Refused as refusal:
        set_flash(
            response,
            _("The consent is not recorded: %(problem)s")
            % {"problem": "; ".join(refusal.problems)},
        )
        return response
    set_flash(
        response,
        _("The consent is recorded.") if day else _("The consent is taken back."),
    )
    return response


# ---- response rates and the import ------------------------------------------------------


def _rates_page(request: Request, session: Session, viewer: Viewer, template: str) -> Response:
    settings = _settings(request)
    rates = follow_up_survey.response_rates(session, viewer, settings, utcnow().date())
    context = {"rates": rates, "waves": settings.follow_up_waves}
    return render(request, template, context, viewer=viewer)


@router.get("/coordinator/follow-up")
def coordinator_rates(request: Request, session: SessionDep, viewer: CoordinatorPage) -> Response:
    """Response rates of the follow-up, per school (pilot and control), cohort and wave."""
    return _rates_page(request, session, viewer, "follow_up/rates.html")


@router.get("/teacher/follow-up")
def teacher_rates(request: Request, session: SessionDep, viewer: SchoolStaffPage) -> Response:
    """The school's response rates of the follow-up, per cohort and wave."""
    return _rates_page(request, session, viewer, "follow_up/rates.html")


@router.post("/coordinator/imports/follow-up")
async def import_situations(
    request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """Import a file of situations, all or nothing; every problem shown by row and column."""
    form = await request.form()  # already parsed by csrf.check, with the files spooled
    files = [part for part in form.getlist("file") if isinstance(part, UploadFile)]
    chosen = [upload for upload in files if upload.filename]
    return await run_in_threadpool(_import, request, session, viewer, chosen)


def _import(
    request: Request, session: Session, viewer: Viewer, chosen: list[UploadFile]
) -> Response:
    _ = gettext_for(request, viewer)
    settings = _settings(request)
    problems: list[str] = []
    message = ""
    if not chosen:
        message = _("Choose a file to upload.")
    else:
        try:
            data, filename = read_upload(chosen[0], settings.upload_max_bytes)
            done = follow_up_survey.import_answers(session, viewer, data, filename, settings)
        except HTTPException as error:
            message = str(error.detail)
        except Refused as refusal:
            message, problems = refusal.message, list(refusal.problems)
        else:
            response = RedirectResponse("/coordinator/follow-up", status_code=303)
            set_flash(
                response,
                _("Imported. New answers: %(created)d; answers replaced: %(replaced)d.")
                % {"created": done.created, "replaced": done.replaced},
            )
            return response
    context = {"message": message, "problems": problems}
    return render(request, "follow_up/import_refused.html", context, viewer=viewer, status_code=422)
