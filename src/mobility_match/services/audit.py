"""The audit log: one event per change, written in the same transaction as the change.

Callers pass what changed in `details`; `record` drops any key that looks like
a secret, so a careless caller still cannot leak a password or token here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from mobility_match.access import Viewer, audit_fields
from mobility_match.models import AuditEvent

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
            details=_clean(details),
        )
    )
