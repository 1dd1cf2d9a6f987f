"""Routes for coordinators looking after accounts: a new password, sign-in blocks.

A new password is shown in the answer that makes it, never again (and the
answer is not cached); the account's sessions end with the old password. A
username blocked by failed sign-ins, or an address blocked by failures on many
usernames, can be let in again before the window ends.
Both are audited, without the password.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from mobility_match.api.deps import MAX_ID, Coordinator, SessionDep, SettingsDep
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.services import accounts, sessions

router = APIRouter(prefix="/api/accounts", tags=["accounts"], responses=SIGNED_IN)


class NewPassword(BaseModel):
    """An account's new password: shown in this answer only."""

    account_id: int
    password: str


class BlockedPublic(BaseModel):
    """A username that may not sign in now, after too many failed sign-ins."""

    username: str
    failures: int
    retry_after: int = Field(description="Seconds until the block ends by itself.")


class LiftBlock(BaseModel):
    username: str = Field(min_length=1, max_length=254)


class BlockLifted(BaseModel):
    username: str
    failures_forgotten: int


class BlockedAddressPublic(BaseModel):
    """An address refused sign-in now (but for accounts that signed in from it before)."""

    client: str = Field(description="The address, as the service sees it.")
    failures: int
    usernames: int = Field(description="How many usernames the failures tried.")
    retry_after: int = Field(description="Seconds until the block ends by itself.")


class LiftAddressBlock(BaseModel):
    client: str = Field(min_length=1, max_length=64)


class AddressBlockLifted(BaseModel):
    client: str
    failures_forgotten: int


@router.post("/{account_id}/password", responses=responses(404, 409))
def reset_password(
    account_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    viewer: Coordinator,
    session: SessionDep,
    response: Response,
) -> NewPassword:
    """Give a staff account a new random password and end its sessions; shown once."""
    password = accounts.reset_password(session, viewer, account_id)
    response.headers["Cache-Control"] = "no-store"
    return NewPassword(account_id=account_id, password=password)


@router.get("/blocked")
def blocked(viewer: Coordinator, session: SessionDep, settings: SettingsDep) -> list[BlockedPublic]:
    """Usernames refused sign-in now after too many failures."""
    return [
        BlockedPublic(username=b.username, failures=b.failures, retry_after=b.retry_after)
        for b in sessions.blocked_usernames(session, viewer, settings)
    ]


@router.post("/blocked/lift", responses=responses(404))
def lift_block(body: LiftBlock, viewer: Coordinator, session: SessionDep) -> BlockLifted:
    """Let a blocked username sign in again at once (its failed sign-ins are forgotten)."""
    forgotten = sessions.lift_block(session, viewer, body.username)
    return BlockLifted(username=body.username, failures_forgotten=forgotten)


@router.get("/blocked-addresses")
def blocked_addresses(
    viewer: Coordinator, session: SessionDep, settings: SettingsDep
) -> list[BlockedAddressPublic]:
    """Addresses refused sign-in now after too many failures on any usernames (behind
    one address, a whole school may wait)."""
    return [
        BlockedAddressPublic(**dataclasses.asdict(b))
        for b in sessions.blocked_addresses(session, viewer, settings)
    ]


@router.post("/blocked-addresses/lift")
def lift_address_block(
    body: LiftAddressBlock, viewer: Coordinator, session: SessionDep
) -> AddressBlockLifted:
    """Let an address sign in again at once: its failed sign-ins are forgotten."""
    forgotten = sessions.lift_address_block(session, viewer, body.client)
    return AddressBlockLifted(client=body.client, failures_forgotten=forgotten)
