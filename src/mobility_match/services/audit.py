"""The audit log: one event per change, written in the same transaction as the change.

Callers pass what changed in `details`; `record` drops any key that looks like
a secret, so a careless caller still cannot leak a password or token here. An
event of a student's session opened with an invitation link also names that
invitation and who made it (a teacher holding the link could have used it).
`list_events` is the one query of the log, for the API and the pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from mobility_match.access import Viewer, audit_fields
from mobility_match.models import Account, AuditEvent, Credential, Role
from mobility_match.services.errors import Forbidden

_SECRET_WORDS = ("password", "token", "secret", "hash")


def _clean(details: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _clean(value) if isinstance(value, Mapping) else value
        for key, value in details.items()
        if not any(word in key.lower() for word in _SECRET_WORDS)
    }


def record(
    session: Session,
    viewer: Viewer | None,
    action: str,
    object_type: str,
    object_id: object = "",
    **details: Any,
) -> None:
    """Add an audit event to the session's transaction (committed with the change)."""
    session.add(
        AuditEvent(
            **audit_fields(viewer),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            details=_clean({**details, **_origin(session, viewer)}),
        )
    )


ORIGIN_KEYS = ("via_invitation", "invitation_issued_by", "invitation_issuer_role")
"""The details every event of a student's session opened with an invitation carries."""


def _origin(session: Session, viewer: Viewer | None) -> dict[str, Any]:
    """For a student's session opened with an invitation: which one, and who made it."""
    if viewer is None or viewer.role is not Role.STUDENT or viewer.credential_id is None:
        return {}
    found = session.exec(
        select(Credential.invitation_id, Account.username, Account.role)
        .join(Account, col(Account.id) == col(Credential.issued_by), isouter=True)
        .where(Credential.id == viewer.credential_id)
    ).first()
    if found is None or found[0] is None:
        return {}
    invitation_id, username, role = found
    return dict(zip(ORIGIN_KEYS, (invitation_id, username or "", str(role or "")), strict=True))


def last_event(
    session: Session, object_type: str, object_id: str, actions: tuple[str, ...]
) -> AuditEvent | None:
    """The newest event of one of `actions` on an object (for a page the caller scoped)."""
    return session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id,
            col(AuditEvent.action).in_(actions),
        )
        .order_by(col(AuditEvent.id).desc())
    ).first()


# ---- reading the log (coordinators) --------------------------------------------------

MAX_PAGE = 1000
"""The most events one page holds."""


@dataclass(frozen=True)
class EventFilter:
    """Which events to list; None (or empty) means any."""

    actor: str | None = None
    """Part of the actor's username, any case."""
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: dt.date | None = None
    """The first day (UTC), included."""
    until: dt.date | None = None
    """The last day (UTC), included."""


@dataclass(frozen=True)
class EventsPage:
    events: list[AuditEvent]
    total: int
    """Events matching the filter, on every page."""


def list_events(
    session: Session,
    viewer: Viewer,
    filters: EventFilter | None = None,
    *,
    limit: int = 200,
    offset: int = 0,
) -> EventsPage:
    """Audit events matching `filters`, newest first, `limit` from `offset` (coordinators)."""
    if not viewer.is_coordinator:
        raise Forbidden("Only coordinators may read the audit log.")
    filters = filters or EventFilter()
    conditions: list[ColumnElement[bool]] = []
    if filters.actor:
        conditions.append(col(AuditEvent.actor).icontains(filters.actor, autoescape=True))
    if filters.action:
        conditions.append(col(AuditEvent.action) == filters.action)
    if filters.object_type:
        conditions.append(col(AuditEvent.object_type) == filters.object_type)
    if filters.object_id:
        conditions.append(col(AuditEvent.object_id) == filters.object_id)
    if filters.since is not None:
        start = dt.datetime.combine(filters.since, dt.time(), dt.UTC)
        conditions.append(col(AuditEvent.at) >= start)
    if filters.until is not None and filters.until < dt.date.max:  # the last day: no bound
        end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time(), dt.UTC)
        conditions.append(col(AuditEvent.at) < end)
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
    events = session.exec(
        select(AuditEvent)
        .where(*conditions)
        .order_by(col(AuditEvent.id).desc())
        .offset(offset)
        .limit(min(limit, MAX_PAGE))
    ).all()
    session.commit()
    return EventsPage(list(events), total)


def actions_and_types(session: Session, viewer: Viewer) -> tuple[list[str], list[str]]:
    """The actions and the object types the log holds, for choosing a filter (coordinators)."""
    if not viewer.is_coordinator:
        raise Forbidden("Only coordinators may read the audit log.")
    actions = session.exec(
        select(AuditEvent.action).distinct().order_by(col(AuditEvent.action))
    ).all()
    types = session.exec(
        select(AuditEvent.object_type).distinct().order_by(col(AuditEvent.object_type))
    ).all()
    session.commit()
    return list(actions), list(types)
