"""Routes of the host side: partner organisations, companies and their offers.

Partners manage their own organisation's offers, coordinators every offer;
teachers and students get 403. Another partner's offer id answers as a missing
one on every route (GET, PUT, PATCH, withdraw: 404 "There is no offer X.") and
as a taken one when creating (409, one's own taken id alike): nothing says whose
it is. Routes call services/offers.py, which checks an offer as a row of an
offers file is checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from mobility_match.access import Viewer
from mobility_match.api.deps import SessionDep, SettingsDep, ViewerDep, allow
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.domain import ANY_OTHER
from mobility_match.models import OfferStatus, Response, Role
from mobility_match.services import host_placements, offers
from mobility_match.services.host_placements import HostPlacement
from mobility_match.services.offers import OfferFields, OfferView

router = APIRouter(tags=["offers"], responses=SIGNED_IN)

Host = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.PARTNER))]
OfferId = Annotated[str, Path(description="The offer's id, as in an offers file.")]


class PartnerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    country: str
    name: str


class CompanyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    company_id: str
    partner: str
    company_name: str
    country: str
    city: str
    address: str


class OfferCreate(OfferFields):
    offer_id: str = Field(min_length=1, max_length=64)


class OfferUpdate(OfferFields):
    version: int | None = Field(
        default=None, description="The version you read; 409 if the offer changed since."
    )


class OfferPatch(BaseModel):
    """Any of an offer's columns (OfferFields, checked as in a PUT), and the version you read;
    the columns not sent keep their values."""

    model_config = ConfigDict(extra="forbid")

    partner: str | None = None
    company_id: str | None = None
    company_name: str | None = None
    country: str | None = None
    city: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    sector: str | None = None
    trades: list[str] | str | None = None
    places: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    language_requirement: str | None = None
    accepts_minors: bool | None = None
    extra: dict[str, str] | None = None
    version: int | None = Field(
        default=None, description="The version you read; 409 if the offer changed since."
    )


class OfferPublic(BaseModel):
    """An offer with every column of an offers file, its status and version."""

    offer_id: str
    partner: str
    company_id: str
    company_name: str
    country: str
    city: str
    address: str
    contact_name: str
    contact_email: str
    sector: str
    trades: list[str] = Field(description="Trade codes, or ['*'] for every trade of the sector.")
    places: int
    start_date: dt.date
    end_date: dt.date
    language_requirement: str
    accepts_minors: bool
    extra: dict[str, str]
    status: OfferStatus
    version: int
    updated_at: dt.datetime

    @classmethod
    def of(cls, view: OfferView) -> OfferPublic:
        offer, company = view
        return cls.model_validate(
            {
                **company.model_dump(),
                **offer.model_dump(),
                "trades": offer.trades or [ANY_OTHER],
            }
        )


class HostPlacementPublic(BaseModel):
    """A student placed on one of your offers, with the school to write to and the answer."""

    model_config = ConfigDict(from_attributes=True)

    round_id: int
    offer_id: str
    company_name: str
    city: str
    student_id: str
    first_name: str
    last_name: str
    trade: str
    start_date: dt.date | None
    end_date: dt.date | None
    school_id: str
    school_name: str
    school_contact_name: str
    school_contact_email: str
    school_phone: str
    response: Response


@router.get("/api/partners")
def list_partners(session: SessionDep, viewer: ViewerDep) -> list[PartnerPublic]:
    """The partner organisations and the country each works in."""
    return [PartnerPublic.model_validate(p) for p in offers.list_partners(session, viewer)]


@router.get("/api/companies")
def list_companies(session: SessionDep, viewer: Host) -> list[CompanyPublic]:
    """Host companies: all for coordinators, a partner's own."""
    return [CompanyPublic.model_validate(c) for c in offers.list_companies(session, viewer)]


@router.get("/api/offers")
def list_offers(
    session: SessionDep,
    viewer: Host,
    country: Annotated[str | None, Query(description="DE, PL or UK.")] = None,
    sector: Annotated[str | None, Query(description="services or production.")] = None,
    trade: Annotated[
        str | None, Query(description="A trade code; offers open to its whole sector too.")
    ] = None,
    status: OfferStatus | None = None,
) -> list[OfferPublic]:
    """Offers you may see (coordinators all, partners their own), by id."""
    found = offers.list_offers(
        session, viewer, country=country, sector=sector, trade=trade, status=status
    )
    return [OfferPublic.of(view) for view in found]


@router.get("/api/offers/{offer_id}", responses=responses(404))
def get_offer(offer_id: OfferId, session: SessionDep, viewer: Host) -> OfferPublic:
    """One offer; 404 when it is not one you may see."""
    return OfferPublic.of(offers.get_offer(session, viewer, offer_id))


@router.post("/api/offers", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_offer(body: OfferCreate, session: SessionDep, viewer: Host) -> OfferPublic:
    """Submit an offer (a partner's own); 422 lists every wrong field, 409 a taken id."""
    fields = OfferFields.model_validate(body.model_dump(exclude={"offer_id"}))
    return OfferPublic.of(offers.create_offer(session, viewer, body.offer_id, fields))


@router.put("/api/offers/{offer_id}", responses=responses(404, 409))
def update_offer(
    offer_id: OfferId, body: OfferUpdate, session: SessionDep, viewer: Host
) -> OfferPublic:
    """Replace an offer's columns; 409 when `version` is not the current one."""
    fields = OfferFields.model_validate(body.model_dump(exclude={"version"}))
    view = offers.update_offer(session, viewer, offer_id, fields, version=body.version)
    return OfferPublic.of(view)


@router.patch("/api/offers/{offer_id}", responses=responses(404, 409))
def patch_offer(
    offer_id: OfferId, body: OfferPatch, session: SessionDep, viewer: Host
) -> OfferPublic:
    """Change the columns sent, keep the others; 422 names each wrong field, 409 a stale version."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    view = offers.patch_offer(session, viewer, offer_id, changes, version=body.version)
    return OfferPublic.of(view)


@router.post("/api/offers/{offer_id}/withdraw", responses=responses(404, 409))
def withdraw_offer(
    offer_id: OfferId, session: SessionDep, viewer: Host, settings: SettingsDep
) -> OfferPublic:
    """Withdraw an offer; its published placements are marked withdrawn by the host, and
    the students concerned and their teachers get a mail."""
    return OfferPublic.of(offers.withdraw_offer(session, viewer, offer_id, settings))


@router.get("/api/partner/placements")
def list_host_placements(session: SessionDep, viewer: Host) -> list[HostPlacementPublic]:
    """Students placed on your offers in current published rounds (coordinators: all)."""
    found: list[HostPlacement] = host_placements.host_placements(session, viewer)
    return [HostPlacementPublic.model_validate(row) for row in found]
