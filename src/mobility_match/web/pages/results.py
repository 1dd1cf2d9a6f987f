"""Pages: the coordinator's review of a round — the assignments table (sorted, filtered and
paged by the database), the statistics with their charts, and one student's page with the
offers judged by the rules, lock, move and unplace.

Every figure, row and rule comes from the services the API uses (answers, review,
explanations); this module only chooses words and lays things out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from mobility_match import domain
from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, ReadSessionDep, SessionDep
from mobility_match.matching.rules import HardRule, RuleContext, age_limit
from mobility_match.models import RoundStatus
from mobility_match.services import answers, explanations, host_review, review
from mobility_match.services.errors import Refused
from mobility_match.services.rounds import get_round
from mobility_match.statistics import GroupFigures, RoundStatistics
from mobility_match.web import csrf
from mobility_match.web.charts import BarChart, Series, bar_chart
from mobility_match.web.deps import CoordinatorPage
from mobility_match.web.pages.follow_up import outcome_context
from mobility_match.web.pages.reasons import reason_labels
from mobility_match.web.pages.rounds import country_names
from mobility_match.web.templating import gettext_for, page_language, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]
StudentId = Annotated[str, Path(min_length=1, max_length=64)]
Choice = Annotated[str, Query(max_length=64)]
PAGE_SIZE = 50
REJECTED_SHOWN = 50
"""Rejected offers listed per page on a student's page (acceptable ones are all listed)."""

Gettext = Callable[[str], str]


def _labels(_: Gettext) -> dict[str, dict[str, str]]:
    """The words for the codes the pages show, in the page's language."""
    return {
        "country": country_names(_),
        "sector": {"services": _("Services"), "production": _("Production"), "unknown": "?"},
        "gender": {"F": _("Girls"), "M": _("Boys"), "X": _("Other or not stated")},
        "gender_of_one": {"F": _("Girl"), "M": _("Boy"), "X": _("Other or not stated")},
        "reason": reason_labels(_),
        "response": {
            "pending": _("Pending answer"),
            "confirmed": _("Confirmed"),
            "declined": _("Declined"),
            "withdrawn": _("Offer withdrawn by the host"),
        },
        "level": {
            "en": _("English %(level)s"),
            "de": _("German %(level)s"),
            "pl": _("Polish %(level)s"),
            "fr": _("French %(level)s"),
            "es": _("Spanish %(level)s"),
            "it": _("Italian %(level)s"),
        },
        "trade": {code: trade.title for code, trade in domain.load_vocabulary().trades.items()},
    }


# ---- the assignments table -------------------------------------------------------------


@router.get("/coordinator/rounds/{round_id}/assignments")
def assignments_page(
    request: Request,
    round_id: RoundId,
    session: ReadSessionDep,
    viewer: CoordinatorPage,
    school: Choice = "",
    country: Choice = "",
    sector: Choice = "",
    gender: Choice = "",
    reason: Choice = "",
    sort: Choice = "name",
    order: Choice = "asc",
    page: Annotated[int, Query(ge=1, le=MAX_ID)] = 1,
) -> Response:
    """The round's assignments: a table sorted, filtered and paged by the database."""
    round_ = get_round(session, viewer, round_id)
    filters = answers.AssignmentFilters(school, country, sector, gender, reason)
    sort = sort if sort in answers.SORTS else "name"
    descending = order == "desc"
    found = answers.page_assignments(
        session, viewer, round_id, filters, sort, descending, page, PAGE_SIZE
    )
    state = {
        "school": school,
        "country": country,
        "sector": sector,
        "gender": gender,
        "reason": reason,
        "sort": sort,
        "order": "desc" if descending else "asc",
    }

    def url_of(page: int | None = None, **changes: str) -> str:
        """This table's address with `changes` (a new sort starts again at page 1)."""
        values = {**state, **changes}
        if page is not None and page > 1:
            values["page"] = str(page)
        kept = {key: value for key, value in values.items() if value}
        if kept.get("sort") == "name" and kept.get("order") == "asc" and not changes:
            kept.pop("sort")
            kept.pop("order")
        return f"/coordinator/rounds/{round_id}/assignments?{urlencode(kept)}"

    def sort_url(key: str) -> str:
        again = key == sort and not descending
        return url_of(sort=key, order="desc" if again else "asc")

    context = {
        "round": round_,
        "found": found,
        "state": state,
        "filters_used": any((school, country, sector, gender, reason)),
        "url_of": url_of,
        "sort_url": sort_url,
        "schools": answers.round_schools(session, viewer, round_id),
        "labels": _labels(gettext_for(request, viewer)),
        "published": round_.status is RoundStatus.PUBLISHED,
        "reason_choices": [answers.PLACED, answers.UNPLACED] + [c.value for c in domain.ReasonCode],
    }
    return render(request, "results/assignments.html", context, viewer=viewer)


# ---- statistics --------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """A dimension of the statistics (country, sector, school): its charts and table rows."""

    key: str
    title: str
    counts: BarChart
    rates: BarChart
    rows: list[tuple[str, dict[str, GroupFigures]]]
    """Category name → gender → figures, in the charts' order."""


def _breakdown(
    key: str,
    title: str,
    groups: Mapping[str, Mapping[str, GroupFigures]],
    names: Mapping[str, str],
    genders: Sequence[str],
    series: Sequence[Series],
) -> Breakdown:
    """Charts of placements and of rates by gender (`series[i]` draws `genders[i]`)."""
    rows = [(names.get(code, code), dict(by_gender)) for code, by_gender in groups.items()]
    rows.sort(key=lambda row: row[0].casefold())
    categories = [name for name, _figures in rows]
    counts = bar_chart(
        categories, series, [[float(g[gender].placed) for gender in genders] for _n, g in rows]
    )
    rates = bar_chart(
        categories, series, [[g[gender].rate for gender in genders] for _n, g in rows], rate=True
    )
    return Breakdown(key, title, counts, rates, rows)


def _breakdowns(
    stats: RoundStatistics,
    school_names: Mapping[str, str],
    labels: Mapping[str, Mapping[str, str]],
    _: Gettext,
) -> tuple[list[str], list[Series], list[Breakdown]]:
    """The genders shown (X only when the round has such students), their series, and the
    breakdowns by country, sector and school."""
    genders = [g.value for g in domain.Gender if g is not domain.Gender.X]
    if stats.by_gender[domain.Gender.X.value].students:
        genders.append(domain.Gender.X.value)
    series = [Series(g.lower(), labels["gender"][g]) for g in genders]
    parts = [
        _breakdown(key, title, groups, names, genders, series)
        for key, title, groups, names in (
            ("country", _("By host country"), stats.by_country_and_gender, labels["country"]),
            ("sector", _("By sector"), stats.by_sector_and_gender, labels["sector"]),
            ("school", _("By school"), stats.by_school_and_gender, school_names),
        )
    ]
    return genders, series, parts


@router.get("/coordinator/rounds/{round_id}/statistics")
def statistics_page(
    request: Request, round_id: RoundId, session: ReadSessionDep, viewer: CoordinatorPage
) -> Response:
    """The round's figures: headline figures, charts by gender for each country, sector and
    school, the reasons of the unplaced; each chart's numbers in a table under it."""
    _ = gettext_for(request, viewer)
    round_ = get_round(session, viewer, round_id)
    stats = review.statistics(session, viewer, round_id)
    school_names = dict(answers.round_schools(session, viewer, round_id))
    labels = _labels(_)
    genders, series, parts = _breakdowns(stats, school_names, labels, _)
    reasons = list(stats.unplaced_by_reason.items())
    reason_chart = bar_chart(
        [labels["reason"].get(code, code) for code, _n in reasons],
        [Series("all", _("Unplaced students"))],
        [[float(n)] for _code, n in reasons],
    )
    lowest = stats.lowest_school
    context = {
        "round": round_,
        "stats": stats,
        "share": Fraction(stats.placed, stats.students) if stats.students else None,
        "gap_points": round(stats.gender_gap * 100, 1),
        "lowest_name": school_names.get(lowest, lowest) if lowest else "",
        "series": series,
        "parts": parts,
        "reasons": [(code, labels["reason"].get(code, code), n) for code, n in reasons],
        "reason_chart": reason_chart,
        "labels": labels,
        "genders": genders,
        "countries": {
            labels["country"].get(code, code): figures for code, figures in stats.by_country.items()
        },
    }
    return render(request, "results/statistics.html", context, viewer=viewer)


# ---- one student -------------------------------------------------------------------------


class Phrasing:
    """Every hard rule a (student, offer) pair breaks, said from their facts, in words."""

    def __init__(self, _: Gettext, language: str) -> None:
        self._ = _
        self.language = language
        self.labels = _labels(_)

    def date(self, day: dt.date) -> str:
        return format_date(day, "long", locale=self.language)

    def trade(self, code: str) -> str:
        return self.labels["trade"].get(code, code)

    def level(self, lang: str, rank: int) -> str:
        """A level in a language, as "English B1" (a language without a name: its code)."""
        phrase = self.labels["level"].get(lang, f"{lang} %(level)s")
        return phrase % {"level": domain.cefr_name(rank)}

    def choice(self, entry: str) -> str:
        if entry == domain.ANY_OTHER:
            return self._("any other offer")
        return self.labels["country"].get(entry, entry)

    def choices(self, student: domain.Student) -> str:
        return ", ".join(self.choice(entry) for entry in student.preferences)

    def languages(self, student: domain.Student) -> str:
        known = sorted(student.languages.items())
        return ", ".join(self.level(lang, rank) for lang, rank in known) or self._("none")

    def rule(self, rule: HardRule, student: domain.Student, offer: domain.Offer) -> str:
        _ = self._
        if rule.name == "trade":
            if offer.takes_every_trade:
                return _(
                    "Trade: the offer takes every trade of its sector (%(sector)s), and "
                    "“%(trade)s” is not one of them."
                ) % {
                    "sector": self.labels["sector"].get(offer.sector.value, offer.sector.value),
                    "trade": self.trade(student.trade),
                }
            return _("Trade: the offer is for %(trades)s, not for “%(trade)s”, the student's.") % {
                "trades": ", ".join(
                    _("“%(trade)s”") % {"trade": self.trade(code)} for code in sorted(offer.trades)
                ),
                "trade": self.trade(student.trade),
            }
        if rule.name == "language":
            needs = _(" or ").join(
                self.level(need.lang, need.level) for need in offer.language_requirement
            )
            asked = sorted({need.lang for need in offer.language_requirement})
            held = [
                self.level(lang, student.languages[lang])
                for lang in asked
                if student.languages.get(lang)
            ]
            return _("Language: the offer asks for %(needs)s; the student's level: %(levels)s.") % {
                "needs": needs,
                "levels": ", ".join(held) or _("none in these languages"),
            }
        if rule.name == "dates":
            return _(
                "Dates: the placement runs from %(start)s to %(end)s, outside the student's "
                "availability (from %(available_from)s to %(available_to)s)."
            ) % {
                "start": self.date(offer.start_date),
                "end": self.date(offer.end_date),
                "available_from": self.date(student.available_from),
                "available_to": self.date(student.available_to),
            }
        if rule.name == "age":
            limit = age_limit(offer)
            if limit.visa:
                return _(
                    "Age: the student will not be 18 on %(deadline)s, the last day to apply "
                    "for the visa this placement needs (it starts on %(start)s), and only an "
                    "adult may apply for it."
                ) % {"deadline": self.date(limit.day), "start": self.date(offer.start_date)}
            return _(
                "Age: the student will not be 18 on %(start)s, when the placement starts, and "
                "this host company does not take minors."
            ) % {"start": self.date(offer.start_date)}
        if rule.name == "preferences":
            return _(
                "Preferences: the offer matches none of the student's choices (%(choices)s)."
            ) % {"choices": self.choices(student)}
        # A rule without words here yet: its own sentence, in English.
        return rule.refusal(student, offer, RuleContext.of(domain.load_vocabulary()))


@dataclass(frozen=True)
class OfferLine:
    """An offer of the round on a student's page: its verdict, its places, in words."""

    verdict: explanations.OfferVerdict
    taken: int
    student: domain.Student
    phrasing: Phrasing

    @property
    def free(self) -> int:
        return max(0, self.verdict.offer.places - self.taken)

    @property
    def reasons(self) -> list[str]:
        """Every hard rule the offer breaks for the student, in words: said only for the
        lines a page shows (a round may have thousands of offers)."""
        offer = self.verdict.offer
        return [self.phrasing.rule(rule, self.student, offer) for rule in self.verdict.broken]


def _student_context(
    request: Request,
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    rejected_page: int = 1,
) -> dict[str, Any]:
    _ = gettext_for(request, viewer)
    phrasing = Phrasing(_, page_language(request, viewer))
    found = explanations.student_verdicts(session, viewer, round_id, student_id)
    taken = answers.places_taken(session, viewer, round_id)
    student, assignment = found.student, found.assignment
    lines = [
        OfferLine(verdict, taken.get(verdict.offer.offer_id, 0), student, phrasing)
        for verdict in found.verdicts
    ]
    acceptable = [line for line in lines if line.verdict.acceptable]
    rejected = [line for line in lines if not line.verdict.acceptable]
    pages = max(1, -(-len(rejected) // REJECTED_SHOWN))
    rejected_page = min(max(1, rejected_page), pages)
    start = (rejected_page - 1) * REJECTED_SHOWN
    placed = found.placed_offer
    school = answers.school_names(session, {assignment.school_id})[assignment.school_id]
    return {
        "round": found.round,
        "assignment": assignment,
        "student": student,
        "school_name": school,
        "placed": placed,
        "placed_verdict": found.verdict(placed.offer_id) if placed else None,
        "acceptable": acceptable,
        "rejected": rejected[start : start + REJECTED_SHOWN],
        "rejected_count": len(rejected),
        "rejected_page": rejected_page,
        "rejected_pages": pages,
        "rejected_url": lambda page: (
            f"/coordinator/rounds/{round_id}/students/{student_id}?rejected_page={page}#rejected"
        ),
        "editable": found.round.status is RoundStatus.SOLVED,
        "outcome": (
            outcome_context(request, session, viewer, assignment)
            if found.round.status is RoundStatus.PUBLISHED
            else None
        ),
        "labels": phrasing.labels,
        "student_languages": phrasing.languages(student),
        "choices": phrasing.choices(student),
        "minor_today": student.is_minor_on(dt.date.today()),
        "base": f"/coordinator/rounds/{round_id}/students/{student_id}",
        "line_of": {line.verdict.offer.offer_id: line for line in lines},
        "host_review": host_review.review_state(session, viewer, round_id, student_id),
        "move_problems": [],
        "move_reasons": [],
        "chosen": "",
        "typed": "",
    }


@router.get("/coordinator/rounds/{round_id}/students/{student_id}")
def student_page(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: ReadSessionDep,
    viewer: CoordinatorPage,
    rejected_page: Annotated[int, Query(ge=1, le=MAX_ID)] = 1,
) -> Response:
    """One student in the round: the placement or its reason, every offer judged by the
    rules (acceptable ones first), and lock, move, unplace while the round is solved."""
    context = _student_context(request, session, viewer, round_id, student_id, rejected_page)
    return render(request, "results/student.html", context, viewer=viewer)


def _back(round_id: int, student_id: str, message: str) -> Response:
    response = RedirectResponse(
        f"/coordinator/rounds/{round_id}/students/{student_id}", status_code=303
    )
    set_flash(response, message)
    return response


@router.post("/coordinator/rounds/{round_id}/students/{student_id}/lock")
def lock(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: CoordinatorPage,
) -> Response:
    """Keep the student's placement (or non-placement) in later solves."""
    _ = gettext_for(request, viewer)
    review.lock(session, viewer, round_id, student_id)
    return _back(round_id, student_id, _("The placement is locked: a new solve keeps it."))


@router.post("/coordinator/rounds/{round_id}/students/{student_id}/unlock")
def unlock(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: CoordinatorPage,
) -> Response:
    """Let later solves place the student freely again."""
    _ = gettext_for(request, viewer)
    review.unlock(session, viewer, round_id, student_id)
    return _back(round_id, student_id, _("The placement is unlocked: a new solve may change it."))


@router.post("/coordinator/rounds/{round_id}/students/{student_id}/move")
def move(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: CoordinatorPage,
    offer_id: Annotated[str, Form(max_length=64)] = "",
    typed_offer_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Place the student on the chosen (or typed) offer, every hard rule and the places
    checked; a refusal is shown on the student's page with its reasons."""
    _ = gettext_for(request, viewer)
    wanted = typed_offer_id.strip() or offer_id.strip()
    if not wanted:
        return _refused(
            request,
            session,
            viewer,
            round_id,
            student_id,
            [],
            "",
            "",
            [_("Choose an offer in the list, or type its id.")],
        )
    try:
        row = review.move(session, viewer, round_id, student_id, wanted)
    except Refused as error:
        session.rollback()
        problems = [error.message, *error.problems]
        return _refused(
            request, session, viewer, round_id, student_id, problems, offer_id, typed_offer_id
        )
    # The flash is a cookie: it names the offer, never the student (the page does).
    message = _("The student is now placed on %(offer)s (%(company)s, %(city)s) and locked there.")
    return _back(
        round_id,
        student_id,
        message % {"offer": row.offer_id, "company": row.company_name, "city": row.city},
    )


@router.post("/coordinator/rounds/{round_id}/students/{student_id}/unplace")
def unplace(
    request: Request,
    round_id: RoundId,
    student_id: StudentId,
    session: SessionDep,
    viewer: CoordinatorPage,
) -> Response:
    """Leave the student unplaced, locked so, in this round and its later solves."""
    _ = gettext_for(request, viewer)
    review.move(session, viewer, round_id, student_id, None)
    return _back(round_id, student_id, _("The student is now unplaced, and locked so."))


def _refused(
    request: Request,
    session: Session,
    viewer: Viewer,
    round_id: int,
    student_id: str,
    problems: list[str],
    chosen: str,
    typed: str,
    reasons: Sequence[str] = (),
) -> Response:
    """The student's page again (422), the refusal next to the move form, the form kept.

    `problems` are the service's sentences (in English, a known gap); `reasons` ours, in
    the page's language, and the rules the wanted offer breaks are said in words too.
    """
    _ = gettext_for(request, viewer)
    context = _student_context(request, session, viewer, round_id, student_id)
    wanted = typed.strip() or chosen.strip()
    reasons = list(reasons)
    line = context["line_of"].get(wanted)
    if line is None and wanted:
        reasons.append(_("%(offer)s is not an offer of this round.") % {"offer": wanted})
    if line is not None:
        reasons.extend(line.reasons)
        if line.verdict.acceptable and line.free == 0:
            reasons.append(
                _("%(offer)s has no free place: its %(places)d places are taken.")
                % {"offer": wanted, "places": line.verdict.offer.places}
            )
    context.update(move_problems=problems, move_reasons=reasons, chosen=chosen, typed=typed)
    return render(request, "results/student.html", context, viewer=viewer, status_code=422)
