"""Helpers the services share to check and write rows: no rules of the programme here.

A role check, ids cut into `IN (…)`-sized chunks, the fields a new version of a
row changes, and a commit that turns a row inserted meanwhile into a Conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from mobility_match.access import Viewer
from mobility_match.models import Role
from mobility_match.services.errors import Conflict, Forbidden

T = TypeVar("T")

IN_CHUNK = 1000
"""Ids per `IN (…)` query, well below SQLite's and PostgreSQL's bound parameter limits."""

UNVERSIONED = frozenset({"version", "updated_at"})
"""A row's bookkeeping fields, which an import or a form never sets."""


def require(viewer: Viewer, *roles: Role) -> None:
    """Raise Forbidden unless the viewer has one of `roles`."""
    if viewer.role not in roles:
        names = ", ".join(role.value for role in roles)
        raise Forbidden(f"Only these roles may do this: {names}.")


def chunks(ids: Iterable[T]) -> Iterator[list[T]]:
    """The ids in lists of at most IN_CHUNK, for `IN (…)` queries."""
    batch: list[T] = []
    for item in ids:
        batch.append(item)
        if len(batch) == IN_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def changed_fields(
    row: SQLModel, new: SQLModel, exclude: AbstractSet[str] = UNVERSIONED
) -> dict[str, Any]:
    """The fields of table row `new` whose values differ from those of stored `row`."""
    old_values = row.model_dump(exclude=set(exclude))
    new_values = new.model_dump(exclude=set(exclude))
    return {name: value for name, value in new_values.items() if old_values.get(name) != value}


@contextmanager
def saving(session: Session, conflict: str) -> Iterator[None]:
    """Commit the block's changes; a row someone inserted meanwhile (same id) is a Conflict."""
    try:
        yield
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(conflict) from None
