"""Routes of the audit log (coordinators): who did what, when, to which object."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mobility_match.api.deps import Coordinator, SessionDep
from mobility_match.api.problems import SIGNED_IN
from mobility_match.services import audit

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=SIGNED_IN)


class AuditEventPublic(BaseModel):
    id: int
    at: dt.datetime
    account_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


@router.get("")
def list_events(
    session: SessionDep,
    viewer: Coordinator,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    actor: Annotated[
        str | None, Query(max_length=254, description="Part of the actor's username.")
    ] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[dt.date | None, Query(description="First day (UTC), included.")] = None,
    until: Annotated[dt.date | None, Query(description="Last day (UTC), included.")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Events to skip.")] = 0,
) -> list[AuditEventPublic]:
    """The latest audit events, newest first, filtered by actor, action, object or dates."""
    filters = audit.EventFilter(actor, action, object_type, object_id, since, until)
    page = audit.list_events(session, viewer, filters, limit=limit, offset=offset)
    return [AuditEventPublic.model_validate(e.model_dump()) for e in page.events]
