"""Routes of the audit log (coordinators): who did what, when, to which object."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, select

from mobility_match.api.deps import Coordinator, SessionDep
from mobility_match.models import AuditEvent

router = APIRouter(prefix="/api/audit", tags=["audit"])


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
    object_type: str | None = None,
    object_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEventPublic]:
    """The latest audit events, newest first, optionally of one object."""
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    return [AuditEventPublic.model_validate(e.model_dump()) for e in session.exec(query)]
