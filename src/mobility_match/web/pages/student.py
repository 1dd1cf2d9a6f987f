"""Pages of a student (phone first): the invitation link, the placement and its answer, the
preparation checklist, his or her own letter and checklist as PDF, and "why this placement".

Every page calls the same services as the API (answers, checklists, documents,
explanations, invitations); nothing here queries the database. The wording of
"why this placement" is made here, in plain French, from the facts the
explanations service gives: the data used, the rules, each choice judged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from mobility_match import domain
from mobility_match.access import Viewer
from mobility_match.api.auth import set_session_cookie
from mobility_match.api.deps import MAX_ID, RendererDep, SessionDep, SettingsDep
from mobility_match.documents.facts import Actor, PlacementFacts
from mobility_match.matching.rules import HARD_RULES, HardRule, RuleContext, age_limit
from mobility_match.matching.stages import Stage
from mobility_match.models import Assignment, Role, Round, utcnow
from mobility_match.models import Response as Answer
from mobility_match.services import (
    answers,
    checklists,
    documents,
    explanations,
    invitations,
    mail,
)
from mobility_match.services.errors import Gone, NotFound, Refused
from mobility_match.services.placements import facts_of
from mobility_match.services.rounds import round_policy
from mobility_match.web import csrf
from mobility_match.web.deps import StudentPage, optional_viewer
from mobility_match.web.pages.reasons import reason_words
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

SECRET_URL_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""The invitation page's URL holds a secret: no cache keeps it, no other site learns it."""

OPENSTREETMAP_SEARCH = "https://www.openstreetmap.org/search"


def _today() -> dt.date:
    return utcnow().date()


# ---- the invitation link ------------------------------------------------------------


@router.get("/invite/{token}")
def invitation_page(request: Request, token: str, session: SessionDep) -> Response:
    """The page of an invitation link: the student's first name and one button (a GET
    uses nothing up: mail scanners open links before the student does)."""
    try:
        first_name = invitations.get_invitation_first_name(session, token)
    except (NotFound, Gone) as error:
        return _invalid_link(request, error)
    response = render(
        request, "student/invitation.html", {"first_name": first_name, "token": token}
    )
    response.headers.update(SECRET_URL_HEADERS)
    return response


@router.post("/invite/{token}/accept")
def accept_invitation(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """Use the link up, open the student's session and go to his or her page."""
    try:
        signed_in = invitations.accept_invitation(
            session, token, settings=settings, signed_in_as=_staff_in(request, session)
        )
    except (NotFound, Gone) as error:
        return _invalid_link(request, error)
    response = RedirectResponse("/student", status_code=303)
    set_session_cookie(response, signed_in.token, settings)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _staff_in(request: Request, session: SessionDep) -> str | None:
    """The username of the staff member whose live session the browser holds, if any: a
    link used from a teacher's browser is then plain in the audit log."""
    viewer = optional_viewer(request, session)
    return viewer.username if viewer is not None and viewer.role is not Role.STUDENT else None


def _invalid_link(request: Request, error: NotFound | Gone) -> Response:
    """A used, replaced, expired or unknown link: ask the teacher for a new one (a used
    one says when it was used: if it was not the student, someone else has the link)."""
    status_code = 410 if isinstance(error, Gone) else 404
    used_at = error.used_at if isinstance(error, invitations.InvitationUsed) else None
    response = render(
        request,
        "student/invitation_invalid.html",
        {"detail": error.message, "used_at": used_at},
        status_code=status_code,
    )
    response.headers.update(SECRET_URL_HEADERS)
    return response


# ---- the placement and its answer ----------------------------------------------------


@dataclass(frozen=True)
class Current:
    """The student's assignment in the newest published round that no re-run replaced."""

    assignment: Assignment
    round: Round
    facts: PlacementFacts | None
    """What the letter says of the placement (None when the student is not placed)."""
    today: dt.date
    may_confirm: bool = False
    may_decline: bool = False
    """Whether confirming, declining can be recorded now (answers.answer_problems)."""
    refusal_kept: bool = False
    """A refusal that can no longer be taken back though the deadline is not past (a
    re-run of the round started since)."""

    @property
    def answer(self) -> Answer:
        return self.assignment.response or Answer.PENDING

    @property
    def closed(self) -> bool:
        deadline = self.round.response_deadline
        return deadline is not None and self.today > deadline

    @property
    def may_answer(self) -> bool:
        """Whether an answer can still be given or changed (answers.answer_problems decides)."""
        return self.may_confirm or self.may_decline

    @property
    def map_url(self) -> str:
        if self.facts is None:
            return ""
        where = ", ".join(
            part
            for part in (self.facts.company_address, self.facts.city, self.facts.country.value)
            if part
        )
        return f"{OPENSTREETMAP_SEARCH}?{urlencode({'query': where})}"


def _current(session: SessionDep, viewer: Viewer) -> Current | None:
    """The placement to show: the newest published round not replaced by a re-run."""
    today = _today()
    for assignment, round_ in answers.my_placements(session, viewer):
        if round_.superseded_by is not None:
            continue
        facts = None
        if assignment.offer_id is not None:
            facts = facts_of(session, assignment, round_, [], issued_on=today)
        refusals = {
            response: answers.answer_problems(session, assignment, round_, response, today)
            for response in (Answer.CONFIRMED, Answer.DECLINED)
        }
        answer = assignment.response or Answer.PENDING
        return Current(
            assignment,
            round_,
            facts,
            today,
            may_confirm=answer is not Answer.CONFIRMED and not refusals[Answer.CONFIRMED],
            may_decline=answer is not Answer.DECLINED and not refusals[Answer.DECLINED],
            refusal_kept=answer is Answer.DECLINED
            and not refusals[Answer.DECLINED]
            and bool(refusals[Answer.CONFIRMED]),
        )
    return None


@router.get("/student")
def student_home(request: Request, viewer: StudentPage, session: SessionDep) -> Response:
    """The student's own page: the placement, the deadline and the answer."""
    words = _Words(gettext_for(request, viewer))
    context = {
        "current": _current(session, viewer),
        "country_name": words.country,
        "reason_of": words.reason,
        "mails": mail.my_mails(session, viewer),
    }
    return render(request, "student/home.html", context, viewer=viewer)


@router.get("/student/answer")
def answer_page(
    request: Request,
    viewer: StudentPage,
    session: SessionDep,
    decision: Annotated[Literal["confirm", "decline"], Query()],
) -> Response:
    """The confirmation step: what confirming or declining means, and one button."""
    return _answer_form(request, viewer, session, decision, [])


def _answer_form(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    decision: str,
    problems: list[str],
    status_code: int = 200,
) -> Response:
    words = _Words(gettext_for(request, viewer))
    context = {
        "current": _current(session, viewer),
        "decision": decision,
        "problems": problems,
        "country_name": words.country,
    }
    return render(request, "student/answer.html", context, viewer=viewer, status_code=status_code)


@router.post("/student/answer")
def answer(
    request: Request,
    viewer: StudentPage,
    session: SessionDep,
    decision: Annotated[Literal["confirm", "decline"], Form()],
    round_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    """Record the answer (answers.respond); a refusal is shown on the confirmation step."""
    _ = gettext_for(request, viewer)
    assert viewer.student_id is not None
    try:
        answers.respond(
            session, viewer, round_id, viewer.student_id, decision == "confirm", _today()
        )
    except Refused as refused:
        session.rollback()
        problems = [refused.message, *refused.problems]
        return _answer_form(request, viewer, session, decision, problems, 422)
    response = RedirectResponse("/student", status_code=303)
    if decision == "confirm":
        set_flash(response, _("Thank you: your placement is confirmed."))
    else:
        set_flash(response, _("Your answer is recorded: you declined this placement."))
    return response


# ---- the checklist and the documents -------------------------------------------------


@router.get("/student/checklist")
def checklist_page(request: Request, viewer: StudentPage, session: SessionDep) -> Response:
    """The preparation steps with their dates; the student ticks his or her own."""
    try:
        assignment, steps = checklists.my_checklist(session, viewer)
    except NotFound:
        assignment, steps = None, []
    context = {
        "assignment": assignment,
        "steps": steps,
        "today": _today(),
        "student_actor": Actor.STUDENT.value,
    }
    return render(request, "student/checklist.html", context, viewer=viewer)


@router.post("/student/checklist/{step_id}")
def tick_step(
    request: Request,
    viewer: StudentPage,
    session: SessionDep,
    step_id: int,
    done: Annotated[bool, Form()],
) -> Response:
    """Tick (or untick) one of the student's own steps (checklists.tick)."""
    _ = gettext_for(request, viewer)
    step = checklists.tick(session, viewer, step_id, done=done)
    response = RedirectResponse(f"/student/checklist#step-{step_id}", status_code=303)
    message = _("Done: “%(step)s”.") if done else _("Marked as not done: “%(step)s”.")
    set_flash(response, message % {"step": step.title})
    return response


@router.get("/student/documents/{kind}.pdf")
def own_document(
    kind: str, viewer: StudentPage, session: SessionDep, renderer: RendererDep
) -> Response:
    """The student's own letter, checklist or Europass Mobility as PDF (other documents are
    the school's)."""
    document = documents.generate_own(session, viewer, renderer, kind, _today())
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{documents.file_name(document)}"',
            "Cache-Control": "no-store",
        },
    )


# ---- why this placement ---------------------------------------------------------------


@dataclass
class Choice:
    """One entry of the student's preferences, judged."""

    rank: int
    entry: str
    label: str
    outcome: Literal["obtained", "possible", "impossible", "absent"]
    reasons: list[str] = field(default_factory=list)
    """For one offer: every rule it breaks, in words."""
    offers: list[tuple[str, list[str]]] = field(default_factory=list)
    """For a country or `*`: each offer it covered, with the rules it breaks."""


@router.get("/student/why")
def why_page(request: Request, viewer: StudentPage, session: SessionDep) -> Response:
    """ "Why this placement": the data used, the rules, each choice judged, the goals in
    their order, and whom to ask (CRPA L311-3-1, R311-3-1-2)."""
    _ = gettext_for(request, viewer)
    current = _current(session, viewer)
    if current is None:
        return render(request, "student/why.html", {"current": None}, viewer=viewer)
    assert viewer.student_id is not None
    judged = explanations.student_verdicts(
        session, viewer, current.round.id or 0, viewer.student_id
    )
    words = _Words(_)
    student = judged.student
    placed = judged.placed_offer
    choices = [
        _judge_choice(words, judged, rank, entry)
        for rank, entry in enumerate(student.preferences, start=1)
    ]
    acceptable = [v for v in judged.verdicts if v.acceptable]
    stages = [words.stage(name) for name in round_policy(current.round).stages]
    if current.round.previous_round_id is not None:
        # A re-run keeps earlier placements where it can, right after placing the most.
        stages.insert(1, words.stage(Stage.CHANGES))
    placed_verdict = judged.verdict(placed.offer_id) if placed else None
    context: dict[str, Any] = {
        "current": current,
        "student": student,
        "placed": placed,
        "trade": words.trade(student.trade),
        "diploma": words.diploma(student.diploma),
        "student_languages": [
            (words.language(code), domain.cefr_name(level))
            for code, level in sorted(student.languages.items())
        ],
        "age": _age_on(student.birth_date, placed.start_date) if placed else None,
        "rules": [words.rule(rule) for rule in HARD_RULES],
        "choices": choices,
        "possible": len(acceptable),
        "offers": len(judged.verdicts),
        "stages": stages,
        "placed_rank": placed_verdict.preference_rank if placed_verdict else None,
        "reason": words.reason(current.assignment.reason_code),
        "country_name": words.country,
    }
    return render(request, "student/why.html", context, viewer=viewer)


def _age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _judge_choice(
    words: _Words, judged: explanations.StudentVerdicts, rank: int, entry: str
) -> Choice:
    """Whether one preference entry (an offer, a country or `*`) was possible, and why not."""
    placed = judged.placed_offer
    student = judged.student
    if entry == domain.ANY_OTHER:
        covered = list(judged.verdicts)
        label = words.any_other()
    elif entry in domain.Country.__members__:
        covered = [v for v in judged.verdicts if v.offer.country.value == entry]
        label = words.country_choice(entry)
    else:
        verdict = judged.verdict(entry)
        if verdict is None:
            return Choice(rank, entry, words.unknown_offer(entry), "absent")
        label = words.offer_label(verdict.offer)
        if placed is not None and placed.offer_id == entry:
            return Choice(rank, entry, label, "obtained")
        outcome: Literal["possible", "impossible"] = (
            "possible" if verdict.acceptable else "impossible"
        )
        reasons = [words.broken(rule, student, verdict.offer) for rule in verdict.broken]
        return Choice(rank, entry, label, outcome, reasons)
    if not covered:
        return Choice(rank, entry, label, "absent")
    if placed is not None and any(v.offer.offer_id == placed.offer_id for v in covered):
        best_rank = judged.verdict(placed.offer_id)
        if best_rank is not None and best_rank.preference_rank == rank:
            return Choice(rank, entry, label, "obtained")
    if any(v.acceptable for v in covered):
        return Choice(rank, entry, label, "possible")
    offers = [
        (
            words.offer_label(v.offer),
            [
                words.broken(rule, student, v.offer)
                for rule in v.broken
                if rule.name != "preferences"
            ],
        )
        for v in covered
    ]
    return Choice(rank, entry, label, "impossible", offers=offers)


class _Words:
    """The plain-French (or English) words of "why this placement", made from the facts."""

    def __init__(self, gettext: Any) -> None:
        self._ = gettext

    def country(self, code: str) -> str:
        _ = self._
        names = {"DE": _("Germany"), "PL": _("Poland"), "UK": _("the United Kingdom")}
        return str(names.get(code, code))

    def country_choice(self, code: str) -> str:
        _ = self._
        names = {
            "DE": _("any placement in Germany"),
            "PL": _("any placement in Poland"),
            "UK": _("any placement in the United Kingdom"),
        }
        return str(names.get(code, code))

    def any_other(self) -> str:
        return str(self._("“*”: any other possible placement"))

    def unknown_offer(self, offer_id: str) -> str:
        return str(self._("Offer %(offer)s") % {"offer": offer_id})

    def offer_label(self, offer: domain.Offer) -> str:
        return str(
            self._("%(company)s in %(city)s (offer %(offer)s)")
            % {"company": offer.company_name, "city": offer.city, "offer": offer.offer_id}
        )

    def trade(self, code: str) -> str:
        trade = domain.load_vocabulary().trades.get(code)
        return trade.title if trade is not None else code

    def diploma(self, diploma: domain.Diploma) -> str:
        return "CAP" if diploma is domain.Diploma.CAP else str(self._("bac pro"))

    def language(self, code: str) -> str:
        _ = self._
        names = {"en": _("English"), "de": _("German"), "pl": _("Polish")}
        return str(names.get(code, code))

    def in_language(self, code: str) -> str:
        _ = self._
        names = {"en": _("in English"), "de": _("in German"), "pl": _("in Polish")}
        return str(names.get(code, _("in the language “%(code)s”") % {"code": code}))

    def rule(self, rule: HardRule) -> tuple[str, str]:
        """A rule's name and its one sentence."""
        _ = self._
        sentences = {
            "trade": (
                _("Trade"),
                _(
                    "The offer must be open to your trade (or to every trade of its sector, "
                    "services or production)."
                ),
            ),
            "language": (
                _("Language"),
                _(
                    "If the company asks for a level in a language, you must have it (one of "
                    "the levels asked for is enough)."
                ),
            ),
            "dates": (
                _("Dates"),
                _("The whole placement must fall within the dates when you are available."),
            ),
            "age": (
                _("Age"),
                _(
                    "If you are under 18 on the first day, the company must accept minors; "
                    "never in the United Kingdom, where you must be 18 on the last day to "
                    "apply for the visa, weeks before the start."
                ),
            ),
            "preferences": (
                _("Choices"),
                _(
                    "If you made choices without “*”, you can only be placed on an offer that "
                    "matches one of them."
                ),
            ),
        }
        # A rule without words here yet: its name and its own sentence, in English.
        name, sentence = sentences.get(rule.name, (rule.name, rule.summary))
        return str(name), str(sentence)

    def broken(self, rule: HardRule, student: domain.Student, offer: domain.Offer) -> str:
        """Why this offer breaks `rule` for this student, from their own values."""
        _ = self._
        if rule.name == "trade":
            if offer.takes_every_trade:
                services = offer.sector is domain.Sector.SERVICES
                sector = _("services") if services else _("production")
                asked = _("the trades of the %(sector)s sector") % {"sector": sector}
            else:
                asked = ", ".join(self.trade(code) for code in sorted(offer.trades))
            return str(
                _("this offer is for %(asked)s; your trade is %(trade)s.")
                % {"asked": asked, "trade": self.trade(student.trade)}
            )
        if rule.name == "language":
            asked = _(" or ").join(
                f"{domain.cefr_name(need.level)} {self.in_language(need.lang)}"
                for need in offer.language_requirement
            )
            have = []
            for lang in dict.fromkeys(need.lang for need in offer.language_requirement):
                level = student.languages.get(lang)
                have.append(
                    f"{domain.cefr_name(level)} {self.in_language(lang)}"
                    if level
                    else _("no level %(in_language)s") % {"in_language": self.in_language(lang)}
                )
            return str(
                _("this offer asks for %(asked)s; you have %(have)s.")
                % {"asked": asked, "have": _(" and ").join(have)}
            )
        if rule.name == "dates":
            return str(
                _(
                    "this placement runs from %(start)s to %(end)s; you are available from "
                    "%(from)s to %(to)s."
                )
                % {
                    "start": offer.start_date.strftime("%d/%m/%Y"),
                    "end": offer.end_date.strftime("%d/%m/%Y"),
                    "from": student.available_from.strftime("%d/%m/%Y"),
                    "to": student.available_to.strftime("%d/%m/%Y"),
                }
            )
        if rule.name == "age":
            limit = age_limit(offer)
            values = {
                "age": _age_on(student.birth_date, limit.day),
                "start": offer.start_date.strftime("%d/%m/%Y"),
                "deadline": limit.day.strftime("%d/%m/%Y"),
            }
            if limit.visa:
                return str(
                    _(
                        "you will be %(age)d on %(deadline)s, the last day to apply for the visa "
                        "a placement in the United Kingdom needs, and only an adult may apply."
                    )
                    % values
                )
            return str(
                _("you will be %(age)d on %(start)s, and this company does not accept minors.")
                % values
            )
        if rule.name == "preferences":
            return str(_("this offer matches none of your choices."))
        # A rule without words here yet: its own sentence, in English.
        return rule.refusal(student, offer, RuleContext.of(domain.load_vocabulary()))

    def stage(self, name: Stage) -> str:
        _ = self._
        names = {
            Stage.PLACEMENTS: _("place as many students as possible"),
            Stage.GENDER_GAP: _(
                "give girls and boys the same chances (the same share of them placed)"
            ),
            Stage.CHANGES: _(
                "change as few placements as possible compared with the previous round"
            ),
            Stage.PREFERENCES: _("respect everyone's choices as well as possible"),
            Stage.SCHOOL_FAIRNESS: _(
                "be fair between schools (the school with the lowest share of students "
                "placed as high as possible)"
            ),
        }
        return str(names.get(name, name))

    def reason(self, code: str) -> str:
        words = reason_words(code, self._)
        return words.to_student if words else ""
