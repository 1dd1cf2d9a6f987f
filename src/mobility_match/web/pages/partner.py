"""Pages of a partner organisation: its offers, the offer form, withdrawing, who is placed.

A thin layer over services/offers.py (the one place of an offer's rules) and
services/host_placements.py (the rows of the placements page, its downloads and
the API's JSON). The form's problems come from the service as English sentences
naming a field; each kind this page recognises is said again in the partner's
language next to its field, the service's sentence being the fallback.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

import pandas as pd
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from mobility_match import domain, exports
from mobility_match.access import Viewer
from mobility_match.api.deps import SessionDep, SettingsDep
from mobility_match.domain import ANY_OTHER, CEFR_LEVELS, Sector
from mobility_match.importing import cells as cell_parsers
from mobility_match.importing.table import Invalid
from mobility_match.models import OfferStatus
from mobility_match.models import Response as Answer
from mobility_match.services import host_placements, offers, outcomes
from mobility_match.services.errors import Conflict, Refused
from mobility_match.services.host_placements import PLACEMENT_COLUMNS, HostPlacement
from mobility_match.services.offers import OfferFields, OfferView
from mobility_match.web import csrf
from mobility_match.web.deps import PartnerPage
from mobility_match.web.templating import gettext_for, page_language, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

Translate = Callable[..., str]
T = TypeVar("T")

OFFER_LANGUAGES = ("de", "en", "pl", "fr", "es", "it")
"""Languages the form's requirement offers (an offer's other codes are kept as they are)."""


class OfferForm(BaseModel):
    """The offer form as posted: every value is text, checked by the service."""

    offer_id: str = ""
    company_id: str = ""
    company_name: str = ""
    city: str = ""
    address: str = ""
    contact_name: str = ""
    contact_email: str = ""
    sector: str = ""
    trades: list[str] = []
    places: str = ""
    start_date: str = ""
    end_date: str = ""
    language_1: str = ""
    level_1: str = ""
    language_2: str = ""
    level_2: str = ""
    accepts_minors: str = ""
    working_hours: str = ""
    version: str = ""

    @classmethod
    def of(cls, view: OfferView) -> OfferForm:
        """The form filled with a stored offer."""
        offer, company = view
        split = [part.split(":", 1) for part in offer.language_requirement.split("|") if part]
        needs = [*[need for need in split if len(need) == 2][:2], ["", ""], ["", ""]]
        return cls(
            offer_id=offer.offer_id,
            company_id=company.company_id,
            company_name=company.company_name,
            city=company.city,
            address=company.address,
            contact_name=offer.contact_name,
            contact_email=offer.contact_email,
            sector=offer.sector,
            trades=list(offer.trades) or [ANY_OTHER],
            places=str(offer.places),
            start_date=offer.start_date.isoformat(),
            end_date=offer.end_date.isoformat(),
            language_1=needs[0][0],
            level_1=needs[0][1],
            language_2=needs[1][0],
            level_2=needs[1][1],
            accepts_minors="true" if offer.accepts_minors else "",
            working_hours=offer.extra.get("working_hours", ""),
            version=str(offer.version),
        )

    def requirement(self) -> tuple[str, list[str]]:
        """The language requirement as `lang:LEVEL|…`, and the alternatives left half-filled."""
        parts: list[str] = []
        halves: list[str] = []
        for number, (language_cell, level_cell) in enumerate(
            ((self.language_1, self.level_1), (self.language_2, self.level_2)), start=1
        ):
            language, level = language_cell.strip(), level_cell.strip()
            if language and level:
                parts.append(f"{language}:{level}")
            elif language or level:
                halves.append(str(number))
        return "|".join(parts), halves

    def cells(self, country: str, minors_allowed: bool) -> dict[str, str]:
        """The offer's cells as text, with the names of an offers file."""
        return {
            "company_id": self.company_id,
            "company_name": self.company_name,
            "country": country,
            "city": self.city,
            "address": self.address,
            "contact_name": self.contact_name,
            "contact_email": self.contact_email,
            "sector": self.sector,
            "trades": ";".join(code.strip() for code in self.trades if code.strip()),
            "places": self.places,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "language_requirement": self.requirement()[0],
            "accepts_minors": "true" if self.accepts_minors and minors_allowed else "false",
            "working_hours": self.working_hours,
        }


FormDep = Annotated[OfferForm, Form()]


# ---- words of the pages ------------------------------------------------------------------


def _labels(_: Translate) -> dict[str, str]:
    """Each field's label, for the form and for the list of problems above it."""
    return {
        "offer_id": _("Offer id"),
        "company_id": _("Company id"),
        "company_name": _("Company name"),
        "city": _("City"),
        "address": _("Address"),
        "contact_name": _("Tutor's name"),
        "contact_email": _("Tutor's e-mail address"),
        "sector": _("Sector"),
        "trades": _("Trades"),
        "places": _("Places"),
        "start_date": _("First day"),
        "end_date": _("Last day"),
        "language_requirement": _("Language requirement"),
        "accepts_minors": _("Students under 18"),
        "working_hours": _("Working hours"),
    }


def _words(_: Translate) -> dict[str, Any]:
    """Names the pages show for codes: sectors, languages, countries, answers."""
    return {
        "sectors": {"services": _("Services"), "production": _("Production")},
        "languages": {
            "de": _("German"),
            "en": _("English"),
            "pl": _("Polish"),
            "fr": _("French"),
            "es": _("Spanish"),
            "it": _("Italian"),
        },
        "countries": {"DE": _("Germany"), "PL": _("Poland"), "UK": _("the United Kingdom")},
        "answers": {
            "pending": _("Awaiting the answer"),
            "confirmed": _("Placement confirmed by the student"),
            "declined": _("Placement declined by the student"),
        },
    }


_PATTERNS: list[tuple[re.Pattern[str], Callable[[Translate, re.Match[str]], str]]] = [
    (
        re.compile(r"^the trades are empty"),
        lambda _, m: _("Tick at least one trade, or every trade of the sector."),
    ),
    (
        re.compile(r"is empty; every offer needs one$|^the (date|e-mail address) is empty"),
        lambda _, m: _("This field is required."),
    ),
    (
        re.compile(r"is not a valid date"),
        lambda _, m: _("This is not a date: enter the day, the month and the year."),
    ),
    (
        re.compile(r"^end_date \S+ is before start_date"),
        lambda _, m: _(
            "The last day is before the first day: a placement ends on or after its start."
        ),
    ),
    (
        re.compile(r"^places must be a whole number from 1 to ([\d,]+)"),
        lambda _, m: (
            _("Enter a whole number of places from 1 to %(most)s.")
            % {"most": m.group(1).replace(",", "")}
        ),
    ),
    (
        re.compile(r"^the working hours are \d+ characters; at most (\d+)"),
        lambda _, m: _("Too long: at most %(most)d characters.") % {"most": int(m.group(1))},
    ),
    (
        re.compile(r"is not an e-mail address"),
        lambda _, m: _("This is not an e-mail address: enter one like name@example.org."),
    ),
    (
        re.compile(r"^company \S+ belongs to"),
        lambda _, m: _(
            "This company id is used by another partner organisation: choose another company id."
        ),
    ),
    (
        re.compile(r"^unknown sector"),
        lambda _, m: _("Choose the sector: services or production."),
    ),
    (
        re.compile(r"is not a language requirement"),
        lambda _, m: _("Choose a language and a level for each alternative."),
    ),
    (
        re.compile(r"^country \S+ does not match partner"),
        lambda _, m: _("This country is not the one your organisation works in."),
    ),
    (
        re.compile(r"is not true or false"),
        lambda _, m: _("Tick the box, or leave it empty."),
    ),
    (
        re.compile(r"^Offer id \S+ is already used"),
        lambda _, m: _("This offer id is already used: choose another one."),
    ),
]

_TRADE_FAULT = re.compile(
    r"trade (?P<code>\S+) belongs to (?P<other>\w+), not to this (?P<sector>\w+) offer"
    r"|unknown trade '(?P<unknown>[^']*)'"
    r"|(?P<alone>\* must stand alone)"
)


def _say(_: Translate, column: str, message: str, titles: dict[str, str]) -> str:
    """The service's sentence about one field, in the page's language when it is a kind
    of problem this page knows; else the sentence itself."""
    if column == "trades":
        faults = list(_TRADE_FAULT.finditer(message))
        if faults:
            words = _words(_)["sectors"]
            said = []
            for fault in faults:
                if fault.group("code"):
                    code = fault.group("code")
                    said.append(
                        _("%(trade)s is a trade of the sector %(other)s, not of %(sector)s.")
                        % {
                            "trade": titles.get(code, code),
                            "other": words.get(fault.group("other"), fault.group("other")),
                            "sector": words.get(fault.group("sector"), fault.group("sector")),
                        }
                    )
                elif fault.group("unknown") is not None:
                    said.append(
                        _("%(code)s is not a trade of the programme.")
                        % {"code": fault.group("unknown")}
                    )
                else:
                    said.append(
                        _("Tick either every trade of the sector or some trades, not both.")
                    )
            return " ".join(said)
    for pattern, say in _PATTERNS:
        found = pattern.search(message)
        if found:
            return say(_, found)
    return message


class Problems:
    """A refused form's problems: by field (shown next to it), and the others."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}
        self.general: list[str] = []

    def add(self, column: str, message: str) -> None:
        if column in _FORM_FIELDS:
            self.by_field.setdefault(column, []).append(message)
        else:
            self.general.append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def count(self) -> int:
        return sum(len(items) for items in self.by_field.values()) + len(self.general)


_FORM_FIELDS = frozenset(
    {
        "offer_id",
        "company_id",
        "company_name",
        "city",
        "address",
        "contact_name",
        "contact_email",
        "sector",
        "trades",
        "places",
        "start_date",
        "end_date",
        "language_requirement",
        "accepts_minors",
        "working_hours",
    }
)


def _add_refusal(problems: Problems, error: Refused, _: Translate, language: str) -> None:
    """Put each of the service's `field: message` problems next to its field, translated."""
    titles = offers.trade_titles(language)
    for problem in error.problems or (error.message,):
        column, sep, message = problem.partition(": ")
        if not sep or column not in _FORM_FIELDS:
            problems.add("", _say(_, "", problem, titles))
        else:
            problems.add(column, _say(_, column, message, titles))


def _parsed(parse: Callable[[str], T], text: str) -> T | None:
    """The cell parsed as the service parses it, or None when the service will refuse it."""
    try:
        return parse(text.strip())
    except Invalid:
        return None


# ---- the partner's context --------------------------------------------------------------


def _country_of(viewer: Viewer) -> str:
    partner = domain.load_vocabulary().partners.get(viewer.partner or "")
    return partner.country.value if partner else ""


def _trades_by_sector(language: str, _: Translate) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """For the checkboxes: each sector, its name, and its trades (code, title) by title."""
    vocabulary = domain.load_vocabulary()
    titles = offers.trade_titles(language)
    sectors = _words(_)["sectors"]
    return [
        (
            sector.value,
            sectors[sector.value],
            sorted(
                ((code, titles.get(code, code)) for code in vocabulary.trades_of(sector)),
                key=lambda item: item[1].casefold(),
            ),
        )
        for sector in Sector
    ]


def _page_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    """What every partner page shows codes with."""
    _ = gettext_for(request, viewer)
    language = page_language(request, viewer)
    return {
        "words": _words(_),
        "titles": offers.trade_titles(language),
        "country": _country_of(viewer),
    }


def _form_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    form: OfferForm,
    *,
    offer: OfferView | None = None,
    problems: Problems | None = None,
    status_code: int = 200,
) -> Response:
    _ = gettext_for(request, viewer)
    language = page_language(request, viewer)
    problems = problems or Problems()
    labels = _labels(_)
    languages = dict(_words(_)["languages"])
    for code in (form.language_1, form.language_2):
        if code and code not in languages:
            languages[code] = code
    context = {
        **_page_context(request, viewer),
        "form": form,
        "offer": offer,
        "labels": labels,
        "errors": problems.by_field,
        "general": problems.general,
        "problem_count": problems.count(),
        "summary": [
            (field, labels[field], message)
            for field in labels
            for message in problems.by_field.get(field, [])
        ],
        "trades_by_sector": _trades_by_sector(language, _),
        "language_choices": list(languages.items()),
        "levels": CEFR_LEVELS,
        "companies": offers.list_companies(session, viewer),
    }
    return render(
        request, "partner/offer_form.html", context, viewer=viewer, status_code=status_code
    )


def _submit(
    session: Session,
    viewer: Viewer,
    offer_id: str,
    form: OfferForm,
    save: Callable[[OfferFields], OfferView],
    _: Translate,
    language: str,
    kept: Mapping[str, str] | None = None,
) -> Problems:
    """Check and save the form through the service; the problems if it was refused.
    `kept`: the stored offer's columns of its own (`extra`), which the form keeps."""
    country = _country_of(viewer)
    cells = form.cells(country, minors_allowed=country != domain.Country.UK.value)
    problems = Problems()
    _requirement, halves = form.requirement()
    for number in halves:
        problems.add(
            "language_requirement",
            _("Alternative %(number)s: choose both a language and its level.") % {"number": number},
        )
    places = _parsed(cell_parsers.places, cells["places"])
    start_date = _parsed(cell_parsers.date, cells["start_date"])
    end_date = _parsed(cell_parsers.date, cells["end_date"])
    fields: OfferFields | None = None
    try:
        if places is not None and start_date is not None and end_date is not None:
            fields = OfferFields.model_validate(
                {
                    **cells,
                    "places": places,
                    "start_date": start_date,
                    "end_date": end_date,
                    "accepts_minors": cells["accepts_minors"] == "true",
                    "extra": _extra(kept or {}, form.working_hours),
                }
            )
    except ValidationError as invalid:
        for error in invalid.errors():
            column = str(error["loc"][0]) if error["loc"] else ""
            limit = (error.get("ctx") or {}).get("max_length")
            if error["type"] == "string_too_long" and limit is not None:
                problems.add(column, _("Too long: at most %(most)d characters.") % {"most": limit})
    try:
        if fields is None or problems:
            # Not even a number or a date, or half an alternative: the service still checks
            # every other field by its rules, and saves nothing.
            offers.check_offer_text(session, viewer, offer_id, cells)
            if not problems:  # cannot happen: the same parsers refused a cell above
                problems.add("", _("The offer could not be checked; nothing was saved."))
        else:
            save(fields)
    except Refused as refused:
        session.rollback()
        _add_refusal(problems, refused, _, language)
    except Conflict as conflict:
        session.rollback()
        if "already used" in conflict.message:
            problems.add("offer_id", _say(_, "offer_id", conflict.message, {}))
        else:
            raise
    return problems


def _extra(kept: Mapping[str, str], working_hours: str) -> dict[str, str]:
    """The offer's columns of its own: those stored, with the form's working hours."""
    extra = {name: value for name, value in kept.items() if name != "working_hours"}
    if working_hours.strip():
        extra["working_hours"] = working_hours.strip()
    return extra


# ---- the offers ---------------------------------------------------------------------------


@router.get("/partner")
def offers_page(request: Request, session: SessionDep, viewer: PartnerPage) -> Response:
    """The organisation's offers, with their state and what can be done with each."""
    found = offers.list_offers(session, viewer)
    open_offers = [offer for offer, _company in found if offer.status is OfferStatus.OPEN]
    context = {
        **_page_context(request, viewer),
        "offers": found,
        "open_count": len(open_offers),
        "withdrawn_count": len(found) - len(open_offers),
        "open_places": sum(offer.places for offer in open_offers),
    }
    return render(request, "partner/offers.html", context, viewer=viewer)


@router.get("/partner/offers/new")
def new_offer_page(request: Request, session: SessionDep, viewer: PartnerPage) -> Response:
    """An empty offer form, with a free offer id proposed."""
    form = OfferForm(offer_id=offers.suggest_offer_id(session, viewer), places="1")
    return _form_page(request, session, viewer, form)


@router.post("/partner/offers")
def create_offer(
    request: Request, session: SessionDep, viewer: PartnerPage, form: FormDep
) -> Response:
    """Add the offer; the form again, every problem next to its field, when it is refused."""
    _ = gettext_for(request, viewer)
    language = page_language(request, viewer)
    offer_id = form.offer_id.strip()

    def save(fields: OfferFields) -> OfferView:
        return offers.create_offer(session, viewer, offer_id, fields)

    problems = _submit(session, viewer, offer_id, form, save, _, language)
    if problems:
        return _form_page(request, session, viewer, form, problems=problems, status_code=422)
    response = RedirectResponse("/partner", status_code=303)
    set_flash(response, _("Offer %(offer)s was added.") % {"offer": offer_id})
    return response


@router.get("/partner/offers/{offer_id}")
def edit_offer_page(
    offer_id: str, request: Request, session: SessionDep, viewer: PartnerPage
) -> Response:
    """The offer's form, filled, with the version it shows."""
    view = offers.get_offer(session, viewer, offer_id)
    return _form_page(request, session, viewer, OfferForm.of(view), offer=view)


@router.post("/partner/offers/{offer_id}")
def update_offer(
    offer_id: str, request: Request, session: SessionDep, viewer: PartnerPage, form: FormDep
) -> Response:
    """Save the offer's new values, unless someone changed it since the form was opened."""
    _ = gettext_for(request, viewer)
    language = page_language(request, viewer)
    view = offers.get_offer(session, viewer, offer_id)
    session.commit()
    version = int(form.version) if form.version.isdigit() else None
    form.offer_id = offer_id

    def save(fields: OfferFields) -> OfferView:
        return offers.update_offer(session, viewer, offer_id, fields, version=version)

    try:
        problems = _submit(session, viewer, offer_id, form, save, _, language, view[0].extra)
    except Conflict:
        session.rollback()
        current = offers.get_offer(session, viewer, offer_id)
        problems = Problems()
        if current[0].status is OfferStatus.WITHDRAWN:
            problems.add("", _("This offer is withdrawn: it can no longer be changed."))
        else:
            problems.add(
                "",
                _(
                    "Someone else changed this offer after you opened it. Your changes were "
                    "not saved: the form now shows the offer as it is; make your changes again."
                ),
            )
        fresh = OfferForm.of(current)
        return _form_page(
            request, session, viewer, fresh, offer=current, problems=problems, status_code=409
        )
    if problems:
        return _form_page(
            request, session, viewer, form, offer=view, problems=problems, status_code=422
        )
    response = RedirectResponse("/partner", status_code=303)
    set_flash(response, _("Offer %(offer)s was saved.") % {"offer": offer_id})
    return response


@router.get("/partner/offers/{offer_id}/withdraw")
def withdraw_page(
    offer_id: str, request: Request, session: SessionDep, viewer: PartnerPage
) -> Response:
    """What withdrawing the offer does, and the button that does it."""
    view = offers.get_offer(session, viewer, offer_id)
    placed = host_placements.host_placements(session, viewer, offer_id=offer_id)
    current = [row for row in placed if row.response is not Answer.DECLINED]
    context = {**_page_context(request, viewer), "offer": view, "placed": current}
    return render(request, "partner/withdraw.html", context, viewer=viewer)


@router.post("/partner/offers/{offer_id}/withdraw")
def withdraw_offer(
    offer_id: str,
    request: Request,
    session: SessionDep,
    viewer: PartnerPage,
    settings: SettingsDep,
) -> Response:
    """Withdraw the offer (its placed students lose their placement and are told, with
    their teachers); back to the offers."""
    _ = gettext_for(request, viewer)
    offers.withdraw_offer(session, viewer, offer_id, settings)
    response = RedirectResponse("/partner", status_code=303)
    set_flash(response, _("Offer %(offer)s was withdrawn.") % {"offer": offer_id})
    return response


# ---- who is placed ----------------------------------------------------------------------


@router.get("/partner/placements")
def placements_page(request: Request, session: SessionDep, viewer: PartnerPage) -> Response:
    """The students placed in the organisation's companies, with their school's contact."""
    rows = host_placements.host_placements(session, viewer)
    context = {
        **_page_context(request, viewer),
        "placements": rows,
        "confirmed": sum(1 for row in rows if row.response is Answer.CONFIRMED),
        "pending": sum(1 for row in rows if row.response is Answer.PENDING),
        "declined": sum(1 for row in rows if row.response is Answer.DECLINED),
        "outcomes": outcomes.outcomes_of(
            session, viewer, [(row.round_id, row.student_id) for row in rows]
        ),
    }
    return render(request, "partner/placements.html", context, viewer=viewer)


def placements_frame(rows: list[HostPlacement]) -> pd.DataFrame:
    """The placements as a table: one row per student, PLACEMENT_COLUMNS."""
    return pd.DataFrame(
        [
            [
                value.value if isinstance(value, Answer) else value
                for value in (getattr(row, column) for column in PLACEMENT_COLUMNS)
            ]
            for row in rows
        ],
        columns=list(PLACEMENT_COLUMNS),
    )


@router.get("/partner/placements.{fmt}")
def placements_download(
    fmt: Literal["csv", "xlsx"], session: SessionDep, viewer: PartnerPage
) -> Response:
    """The placements page as CSV or XLSX, safe to open in a spreadsheet."""
    frame = placements_frame(host_placements.host_placements(session, viewer))
    body = (
        exports.to_csv_bytes(frame) if fmt == "csv" else exports.to_xlsx_bytes(frame, "placements")
    )
    name = f"placements-{viewer.partner or 'partner'}-{dt.date.today().isoformat()}.{fmt}"
    return Response(
        body,
        media_type=exports.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
