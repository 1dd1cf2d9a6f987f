"""Host offers and their companies: listing, a form's check, create and update, withdrawal.

Partners see and change only their own organisation's offers (access.py);
coordinators all. An offer sent by form or API is checked with the same cell
parsers and rules as an offers file, and every problem is named by its field.
Importing offers files is services/imports.py's job, which stores companies
through `store_companies` here. A change never touches a round: rounds keep
snapshots. No HTTP here.

Offer ids are global, so another partner's offer id must tell a partner nothing
beyond what a taken id tells: reading, replacing, patching or withdrawing an
offer outside one's scope raises the very NotFound of a missing id ("There is no
offer X."), and creating an offer with any taken id, one's own or another
partner's, raises the very Conflict of `taken_id` (no partner named in either).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from mobility_match import access, domain, records
from mobility_match.access import Viewer
from mobility_match.config import Settings
from mobility_match.documents import formatting
from mobility_match.importing import Problem, cells, offer_from_row
from mobility_match.importing.offers import (
    OFFER_COLUMNS,
    OFFER_DETAIL_COLUMNS,
    OFFER_OPTIONAL_COLUMNS,
)
from mobility_match.importing.sheet import Row, sorted_problems
from mobility_match.importing.table import Invalid
from mobility_match.models import Company, Offer, OfferStatus, Partner, Role, utcnow
from mobility_match.services import audit
from mobility_match.services.answers import on_offer_withdrawn
from mobility_match.services.errors import Conflict, NotFound, Refused
from mobility_match.services.rows import (
    changed_fields,
    chunks,
    require,
    saving,
)

OfferView = tuple[Offer, Company]
"""An offer with its company: together they hold every column of an offers file."""

OFFER_STATE = frozenset({"status", "version", "updated_at"})
_FIELDS = (*OFFER_COLUMNS, *OFFER_OPTIONAL_COLUMNS)


MAX_EXTRA_FIELDS = 50
MAX_EXTRA_NAME = 64
MAX_EXTRA_VALUE = 2000
"""Bounds of an offer's columns of one's own (`extra`), kept with the offer and sent back with
every list of offers."""


class OfferFields(BaseModel):
    """An offer's columns as a form or the API sends them (CONTRACT.md names), but its id."""

    partner: str = Field(
        default="", description="The partner organisation; a partner may leave it empty."
    )
    company_id: str = Field(max_length=64)
    company_name: str = Field(max_length=200)
    country: str = Field(description="DE, PL or UK (GB is read as UK): the partner's country.")
    city: str = Field(max_length=120)
    address: str = Field(max_length=300)
    contact_name: str = Field(max_length=200)
    contact_email: str = Field(max_length=254)
    sector: str = Field(description="services or production.")
    trades: list[str] | str = Field(
        description="Trade codes of the sector, or ['*'] for all of them (or one ';'-separated "
        "text, as in a file)."
    )
    places: int
    start_date: dt.date
    end_date: dt.date
    language_requirement: str = Field(
        default="", max_length=200, description="Alternatives lang:LEVEL separated by |."
    )
    accepts_minors: bool = False
    extra: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_EXTRA_FIELDS,
        description=f"Columns of your own: at most {MAX_EXTRA_FIELDS}, names of at most "
        f"{MAX_EXTRA_NAME} characters, values of at most {MAX_EXTRA_VALUE}. Two are checked "
        "and printed on the learning agreement: `working_hours` (at most 120 characters, e.g. "
        "35 h/semaine, 8 h–16 h, lun.–ven.) and `company_oid` (the host company's Erasmus+ "
        "organisation ID, E and 8 digits).",
    )

    @field_validator("extra")
    @classmethod
    def _bounded_extra(cls, extra: dict[str, str]) -> dict[str, str]:
        for name, value in extra.items():
            if len(name) > MAX_EXTRA_NAME:
                raise ValueError(f"the name {name[:20]!r}… is over {MAX_EXTRA_NAME} characters")
            if len(value) > MAX_EXTRA_VALUE:
                raise ValueError(
                    f"the value of {name!r} is {len(value)} characters; at most {MAX_EXTRA_VALUE}"
                )
        return extra


def _refused(what: str, problems: Sequence[Problem]) -> Refused:
    """A refusal listing each problem as `field: message`."""
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return Refused(
        f"{what} has {count}; nothing was saved.",
        problems=[f"{problem.column}: {problem.message}" for problem in problems],
    )


# ---- partners and companies ------------------------------------------------------------


def list_partners(session: Session, viewer: Viewer) -> list[Partner]:
    """Every partner organisation: anyone signed in may see who the partners are."""
    return list(session.exec(select(Partner).order_by(col(Partner.code))).all())


def list_companies(session: Session, viewer: Viewer) -> list[Company]:
    """Companies: all for coordinators, a partner's own."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    query = select(Company).order_by(col(Company.company_id))
    if not viewer.is_coordinator:
        query = query.where(Company.partner == viewer.partner)
    return list(session.exec(query).all())


def stored_companies(
    session: Session, company_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Company]:
    """The stored companies of these ids (any partner's: ids are global), by id."""
    found: dict[str, Company] = {}
    for batch in chunks(sorted(set(company_ids))):
        query = select(Company).where(col(Company.company_id).in_(batch))
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        found.update((company.company_id, company) for company in session.exec(query))
    return found


def store_companies(session: Session, companies: Iterable[Company]) -> tuple[list[str], list[str]]:
    """Insert or update companies (not committed); return the ids created and updated.

    Callers refuse a company id of another partner first; meeting one here means
    it was stored meanwhile, a Conflict.
    """
    wanted = {company.company_id: company for company in companies}
    stored = stored_companies(session, wanted, lock=True)
    created: list[str] = []
    updated: list[str] = []
    for company_id, company in wanted.items():
        row = stored.get(company_id)
        if row is None:
            session.add(company)
            created.append(company_id)
        elif row.partner != company.partner:
            raise Conflict(f"Company {company_id} was just stored by another partner; try again.")
        elif changes := changed_fields(row, company, frozenset()):
            row.sqlmodel_update(changes)
            session.add(row)
            updated.append(company_id)
    session.flush()
    return created, updated


# ---- offers ----------------------------------------------------------------------------


def list_offers(
    session: Session,
    viewer: Viewer,
    *,
    country: str | None = None,
    sector: str | None = None,
    trade: str | None = None,
    status: OfferStatus | None = None,
) -> list[OfferView]:
    """Offers in the viewer's scope, by id; `trade` also matches offers open to its whole sector."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    vocabulary = domain.load_vocabulary()
    problems: list[Problem] = []
    given = {"country": country, "sector": sector, "trade": trade}
    filters = Row("", 0, {k: v.strip() for k, v in given.items() if v is not None}, problems)
    country_code = filters.value("country", cells.country)
    sector_code = filters.value("sector", cells.sector)
    trade_code = filters.value("trade", cells.trade(vocabulary))
    if problems:
        raise _refused("The search", problems)
    query = select(Offer)
    if country_code is not None:
        query = query.join(Company, col(Company.company_id) == col(Offer.company_id)).where(
            Company.country == country_code.value
        )
    if sector_code is not None:
        query = query.where(Offer.sector == sector_code.value)
    if status is not None:
        query = query.where(Offer.status == status)
    rows = list(session.exec(access.offers(viewer, query).order_by(col(Offer.offer_id))).all())
    if trade_code is not None:
        # Trades are a JSON list; filtering here keeps the query the same on SQLite and PostgreSQL.
        trade_sector = vocabulary.trades[trade_code].sector.value
        rows = [
            row
            for row in rows
            if trade_code in row.trades or (not row.trades and row.sector == trade_sector)
        ]
    companies = stored_companies(session, (row.company_id for row in rows))
    return [(row, companies[row.company_id]) for row in rows]


def not_found(offer_id: str) -> NotFound:
    """The one answer for an offer that is missing or outside the viewer's scope."""
    return NotFound(f"There is no offer {offer_id}.")


def taken_id(offer_id: str) -> Conflict:
    """The one answer for creating an offer with a taken id, whoever's offer holds it."""
    return Conflict(f"Offer id {offer_id} is already used; choose another id.")


def get_offer(session: Session, viewer: Viewer, offer_id: str) -> OfferView:
    """One offer in the viewer's scope, with its company; NotFound otherwise."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    row = session.exec(access.offers(viewer).where(Offer.offer_id == offer_id)).first()
    if row is None:
        raise not_found(offer_id)
    return _view(session, row)


def offer_fields(view: OfferView) -> OfferFields:
    """A stored offer's columns as a form or the API would send them to keep it as it is."""
    offer, company = view
    stored = {
        **company.model_dump(),
        **offer.model_dump(),
        "trades": offer.trades or [domain.ANY_OTHER],
    }
    return OfferFields.model_validate(stored)


def _view(session: Session, row: Offer) -> OfferView:
    company = session.get(Company, row.company_id)
    assert company is not None, "an offer's company is a foreign key"
    return row, company


def _locked_offer(session: Session, viewer: Viewer, offer_id: str) -> Offer:
    """The offer, locked for an update (its newest values, not a copy read earlier)."""
    query = access.offers(viewer).where(Offer.offer_id == offer_id)
    query = query.with_for_update().execution_options(populate_existing=True)
    row = session.exec(query).first()
    if row is None:
        raise not_found(offer_id)
    return row


def _changeable_offer(
    session: Session, viewer: Viewer, offer_id: str, version: int | None
) -> Offer:
    """The offer, locked, open and at `version` when one is given; Conflict otherwise."""
    row = _locked_offer(session, viewer, offer_id)
    if version is not None and version != row.version:
        raise Conflict(
            f"Offer {offer_id} was changed by someone else (it is now at version "
            f"{row.version}, not {version}); reload it and make your change again."
        )
    if row.status is OfferStatus.WITHDRAWN:
        raise Conflict(f"Offer {offer_id} is withdrawn; submit a new offer instead.")
    return row


def _checked_offer(
    session: Session, viewer: Viewer, offer_id: str, fields: OfferFields
) -> domain.Offer:
    """The offer as an offers file row would give it; Refused naming every field that is wrong.

    The row is checked by the very function that checks a row of an offers file.
    """
    text = {
        **fields.model_dump(exclude={"extra"}),
        "trades": fields.trades if isinstance(fields.trades, str) else ";".join(fields.trades),
        "accepts_minors": "true" if fields.accepts_minors else "false",
        **{name: fields.extra[name] for name in OFFER_DETAIL_COLUMNS if name in fields.extra},
    }
    offer = _checked_text(session, viewer, offer_id, {k: str(v) for k, v in text.items()})
    extra = {**fields.extra, **dict(offer.extra)}  # the checked details, trimmed
    return replace(offer, extra=tuple(sorted(extra.items())))


def check_offer_text(
    session: Session, viewer: Viewer, offer_id: str, text: Mapping[str, str]
) -> None:
    """Check an offer given as the text of its cells, saving nothing; Refused names every
    wrong field. For a form whose places or dates are not even a number or a date, so that
    its other fields are still checked by the same rules as create_offer's."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    _checked_text(session, viewer, offer_id, text)


def _checked_text(
    session: Session, viewer: Viewer, offer_id: str, text: Mapping[str, str]
) -> domain.Offer:
    """The offer of these cells (OfferFields' names, as text); Refused naming every problem."""
    vocabulary = domain.load_vocabulary()
    problems: list[Problem] = []
    partner = text.get("partner", "").strip()
    if viewer.role is Role.PARTNER:
        own = viewer.partner or ""
        if partner and partner.upper() != own.upper():
            message = f"you submit offers of {own} only; leave it empty or put {own}"
            problems.append(Problem("", 0, "partner", message))
        partner = own
    given = {
        **{column: text.get(column, "") for column in _FIELDS},
        **{name: text[name] for name in OFFER_DETAIL_COLUMNS if name in text},
        "offer_id": offer_id,
        "partner": partner,
    }
    row = Row("", 0, {key: value.strip() for key, value in given.items()}, problems)
    checked_id = row.value("offer_id", cells.required("offer id", "offer"))
    details = [name for name in OFFER_DETAIL_COLUMNS if name in given]
    offer = offer_from_row(row, checked_id, vocabulary, details)
    partner_code = parsed_cell(cells.partner(vocabulary), partner)
    company = session.get(Company, row.cells["company_id"])
    if company is not None and partner_code is not None and company.partner != partner_code:
        row.report(
            "company_id",
            foreign_company(company.company_id, company.partner, name_owner=viewer.is_coordinator),
        )
    if offer is None or problems:
        what = f"Offer {checked_id}" if checked_id else "The offer"
        raise _refused(what, sorted_problems(problems, {"": (*_FIELDS, *OFFER_DETAIL_COLUMNS)}))
    return offer


def foreign_company(company_id: str, owner: str, *, name_owner: bool) -> str:
    """Say that a company id belongs to another partner (named to coordinators only)."""
    whose = f"partner {owner}" if name_owner else "another partner"
    return f"company {company_id} belongs to {whose}; use another company id"


def parsed_cell(parse: Callable[[str], str], cell: str) -> str | None:
    """The parsed cell, or None when it is wrong (the readers report that)."""
    try:
        return parse(cell.strip())
    except Invalid:
        return None


def create_offer(session: Session, viewer: Viewer, offer_id: str, fields: OfferFields) -> OfferView:
    """Add an offer and create or update its company; Refused names every wrong field."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    offer = _checked_offer(session, viewer, offer_id, fields)
    # Unscoped on purpose: offer ids are global, so one taken by another partner is taken.
    taken = select(Offer.offer_id).where(Offer.offer_id == offer.offer_id)
    if session.exec(taken).first() is not None:
        raise taken_id(offer.offer_id)
    row, company = records.offer_rows(offer)
    with saving(session, f"Offer {row.offer_id} or company {row.company_id} was just created."):
        created, updated = store_companies(session, [company])
        session.add(row)
        audit.record(
            session,
            viewer,
            "offer.create",
            "offer",
            row.offer_id,
            partner=row.partner,
            company_created=bool(created),
            company_updated=bool(updated),
        )
    return _view(session, row)


def update_offer(
    session: Session,
    viewer: Viewer,
    offer_id: str,
    fields: OfferFields,
    *,
    version: int | None = None,
) -> OfferView:
    """Replace an open offer's columns; Conflict when `version` is not the stored one."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    row = _changeable_offer(session, viewer, offer_id, version)
    new_row, company = records.offer_rows(_checked_offer(session, viewer, offer_id, fields))
    with saving(session, f"Company {company.company_id} was just created; try again."):
        created, updated = store_companies(session, [company])
        changes = changed_fields(row, new_row, OFFER_STATE)
        if changes or created or updated:
            row.sqlmodel_update({**changes, "version": row.version + 1, "updated_at": utcnow()})
            session.add(row)
            audit.record(
                session,
                viewer,
                "offer.update",
                "offer",
                offer_id,
                changed=sorted(changes),
                company_created=bool(created),
                company_updated=bool(updated),
                version=row.version,
            )
    return _view(session, row)


def patch_offer(
    session: Session,
    viewer: Viewer,
    offer_id: str,
    changes: Mapping[str, object],
    *,
    version: int | None = None,
) -> OfferView:
    """Change only the columns in `changes` (OfferFields' names): the others keep their stored
    values, and the merged offer is checked and saved by update_offer, rule for rule.

    The stored values are read under the update's lock, so a change made meanwhile by someone
    else is kept. A new company id of the offer's own partner brings that company's name and
    address unless they are sent too; another partner's company lends nothing (update_offer
    refuses it without saying whose it is). Refused names every wrong field.
    """
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    row = _changeable_offer(session, viewer, offer_id, version)
    company = session.get(Company, row.company_id)
    new_company = session.get(Company, str(changes.get("company_id", row.company_id)))
    if new_company is not None and new_company.partner == row.partner:
        company = new_company
    assert company is not None, "an offer's company is a foreign key"
    stored = offer_fields((row, company)).model_dump()
    try:
        fields = OfferFields.model_validate({**stored, **changes})
    except ValidationError as invalid:
        problems = [
            Problem("", 0, ".".join(str(part) for part in error["loc"]), error["msg"])
            for error in invalid.errors()
        ]
        raise _refused(f"Offer {offer_id}", problems) from None
    return update_offer(session, viewer, offer_id, fields, version=version)


def withdraw_offer(
    session: Session, viewer: Viewer, offer_id: str, settings: Settings | None = None
) -> OfferView:
    """Withdraw an offer and mark its published placements withdrawn (with `settings`, the
    students concerned and their teachers are mailed); again changes nothing."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    row = _locked_offer(session, viewer, offer_id)
    if row.status is not OfferStatus.WITHDRAWN:
        row.sqlmodel_update(
            {"status": OfferStatus.WITHDRAWN, "version": row.version + 1, "updated_at": utcnow()}
        )
        session.add(row)
        session.flush()
        placements = on_offer_withdrawn(session, viewer, offer_id, settings)
        audit.record(
            session, viewer, "offer.withdraw", "offer", offer_id, placements_withdrawn=placements
        )
    session.commit()
    return _view(session, row)


# ---- what a form shows -----------------------------------------------------------------


@cache
def trade_titles(language: str) -> dict[str, str]:
    """Each trade's title in `language` (fr, en, de or pl; French otherwise), by code: the
    titles the documents print."""
    language = language if language in formatting.LOCALES else "fr"
    trades = domain.load_vocabulary().trades
    return {code: formatting.trade_title(code, language) for code in trades}


def suggest_offer_id(session: Session, viewer: Viewer) -> str:
    """A free offer id for a partner's next offer: its country, then the next number."""
    require(viewer, Role.COORDINATOR, Role.PARTNER)
    partner = domain.load_vocabulary().partners.get(viewer.partner or "")
    prefix = f"{partner.country.value if partner else 'OFFER'}-"
    # Unscoped on purpose: offer ids are global, so one taken by another partner is taken.
    ids = session.exec(select(Offer.offer_id).where(col(Offer.offer_id).startswith(prefix)))
    numbers = [int(tail) for tail in (i[len(prefix) :] for i in ids) if tail.isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"
