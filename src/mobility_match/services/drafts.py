"""Files uploaded for an import and kept while their preview is looked at (upload drafts).

Uploading a file for an import stores it here under a random draft token; the
preview reads it back, applying imports it and deletes it, abandoning deletes
it. A draft is its uploader's alone (anyone else's, or an expired one, is
NotFound, as a missing one) and lasts a day. Nothing here reads a file's rows:
services/imports.py does.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete
from sqlmodel import Session, col, select

from mobility_match.access import Viewer
from mobility_match.models import Role, UploadDraft, utcnow
from mobility_match.services.errors import NotFound, Refused
from mobility_match.services.rows import require
from mobility_match.uploads import upload_name

DraftKind = Literal["students", "offers"]

LIFETIME = dt.timedelta(days=1)
"""How long an uploaded file waits for its preview to be applied or abandoned."""

MAX_FILES = 20
"""The most offers files one upload may hold (one per country is usual)."""


@dataclass(frozen=True)
class Draft:
    """An upload waiting for its preview to be applied: what kind, its files, when."""

    token: str
    kind: DraftKind
    files: list[tuple[bytes, str]]
    """Each file's bytes and name, in upload order."""
    created_at: dt.datetime


def _may_upload(viewer: Viewer, kind: DraftKind) -> None:
    if kind == "students":
        require(viewer, Role.COORDINATOR)
    else:
        require(viewer, Role.COORDINATOR, Role.PARTNER)


def create_draft(
    session: Session, viewer: Viewer, kind: DraftKind, files: Sequence[tuple[bytes, str]]
) -> str:
    """Keep uploaded files (bytes, client's name) for a preview; the new draft's token.

    The caller has bounded each file's size already (the upload limit). Expired
    drafts of anyone are removed on the way.
    """
    _may_upload(viewer, kind)
    if not files or (kind == "students" and len(files) != 1):
        session.rollback()
        raise Refused(
            "file: choose one file to upload."
            if kind == "students"
            else "file: choose at least one file to upload."
        )
    if len(files) > MAX_FILES:
        session.rollback()
        raise Refused(f"file: upload at most {MAX_FILES} files at once.")
    session.exec(delete(UploadDraft).where(col(UploadDraft.created_at) <= utcnow() - LIFETIME))
    token = secrets.token_urlsafe(24)
    session.add_all(
        UploadDraft(
            draft=token,
            account_id=viewer.account_id,
            kind=kind,
            position=position,
            file_name=upload_name(filename),
            content=data,
        )
        for position, (data, filename) in enumerate(files)
    )
    session.commit()
    return token


def get_draft(session: Session, viewer: Viewer, token: str) -> Draft:
    """The viewer's live draft `token`; NotFound for anyone else's, an expired or a missing one."""
    rows = session.exec(
        select(UploadDraft)
        .where(
            UploadDraft.draft == token,
            UploadDraft.account_id == viewer.account_id,
            col(UploadDraft.created_at) > utcnow() - LIFETIME,
        )
        .order_by(col(UploadDraft.position))
    ).all()
    # End the read transaction now: on SQLite it holds the write lock until it ends.
    session.commit()
    if not rows:
        raise NotFound("There is no such upload waiting: it was applied, abandoned or expired.")
    kind: DraftKind = "students" if rows[0].kind == "students" else "offers"
    _may_upload(viewer, kind)
    files = [(row.content, row.file_name) for row in rows]
    return Draft(token, kind, files, rows[0].created_at)


def delete_draft(session: Session, viewer: Viewer, token: str) -> None:
    """Forget the viewer's draft `token`; NotFound when there is none."""
    deleted = session.exec(
        delete(UploadDraft).where(
            col(UploadDraft.draft) == token, col(UploadDraft.account_id) == viewer.account_id
        )
    ).rowcount
    if not deleted:
        session.rollback()
        raise NotFound("There is no such upload waiting: it was applied, abandoned or expired.")
    session.commit()
