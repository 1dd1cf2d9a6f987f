"""Routes: signing in and out, API tokens, accounts, student invitations.

Each route checks who is asking (a dependency), calls services/sessions.py,
accounts.py or invitations.py and serialises the answer; no route returns a
password hash, and a token is shown only in the answer that creates it. The
invitation link's page (GET /invite/{token}, which uses nothing up) is a page of
web/pages/student.py; POST /invite/{token} here uses the link up for a script.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from mobility_match.access import Viewer
from mobility_match.api.deps import (
    MAX_ID,
    SESSION_COOKIE,
    Coordinator,
    SessionDep,
    SettingsDep,
    Staff,
    ViewerDep,
    allow,
)
from mobility_match.api.problems import SIGNED_IN, responses
from mobility_match.config import Settings
from mobility_match.models import Account, Role
from mobility_match.services import accounts, invitations, sessions

router = APIRouter(responses=SIGNED_IN)

MAX_PASSWORD_LENGTH = 1024


class AccountPublic(BaseModel):
    """An account as others may see it: never its password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    school_id: str | None
    partner: str | None
    student_id: str | None
    active: bool

    @classmethod
    def of(cls, account: Account) -> AccountPublic:
        return cls.model_validate(account)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class SessionPublic(BaseModel):
    """A session just opened: its token (shown this once), its end and whose it is."""

    token: str
    expires_at: dt.datetime
    account: AccountPublic


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    days: float | None = Field(
        default=None, gt=0, le=3660, description="Days until it expires; none: never."
    )


class TokenPublic(BaseModel):
    """An API token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


class TokenCreated(TokenPublic):
    """A new API token, with its secret: shown this once, never again."""

    token: str


class AccountCreate(BaseModel):
    username: str = Field(min_length=1, max_length=254)
    display_name: str = Field(max_length=200)
    role: Role
    password: str | None = Field(default=None, max_length=MAX_PASSWORD_LENGTH)
    school_id: str | None = Field(default=None, max_length=64)
    partner: str | None = Field(default=None, max_length=32)
    student_id: str | None = Field(default=None, max_length=64)


class InvitationPublic(BaseModel):
    """The link to send to a student; it signs the student in once, until `expires_at`."""

    url: str
    expires_at: dt.datetime


def client_address(request: Request) -> str:
    """The address failed sign-ins are counted against (run behind a proxy with --proxy-headers)."""
    return request.client.host if request.client is not None else "unknown"


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Give the browser its session: an HttpOnly, SameSite=Strict cookie, never cached."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    response.headers["Cache-Control"] = "no-store"


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=settings.secure_cookies
    )


def _session_answer(
    response: Response, signed_in: sessions.SignedIn, settings: Settings
) -> SessionPublic:
    """Set the session cookie and return the session's JSON."""
    set_session_cookie(response, signed_in.token, settings)
    return SessionPublic(
        token=signed_in.token,
        expires_at=signed_in.expires_at,
        account=AccountPublic.of(signed_in.account),
    )


@router.post("/api/auth/login", tags=["auth"])
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> SessionPublic:
    """Sign in with a username and password; opens a session (token and cookie)."""
    signed_in = sessions.sign_in(
        session,
        username=body.username,
        password=body.password,
        client=client_address(request),
        settings=settings,
    )
    return _session_answer(response, signed_in, settings)


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
def logout(viewer: ViewerDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign out: end the current session and clear its cookie (an API token stays valid)."""
    sessions.sign_out(session, viewer)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.get("/api/auth/me", tags=["auth"])
def me(viewer: ViewerDep, session: SessionDep) -> AccountPublic:
    """The signed-in account."""
    return AccountPublic.of(accounts.get_account(session, viewer.account_id))


@router.post("/api/auth/tokens", status_code=status.HTTP_201_CREATED, tags=["auth"])
def create_token(body: TokenCreate, viewer: Staff, session: SessionDep) -> TokenCreated:
    """Create an API token for scripts; its value is shown in this answer only."""
    token, credential = sessions.create_api_token(session, viewer, name=body.name, days=body.days)
    public = TokenPublic.model_validate(credential)
    return TokenCreated(**public.model_dump(), token=token)


@router.get("/api/auth/tokens", tags=["auth"])
def list_tokens(viewer: Staff, session: SessionDep) -> list[TokenPublic]:
    """The caller's live API tokens, without their values."""
    return [TokenPublic.model_validate(row) for row in sessions.get_all_api_tokens(session, viewer)]


@router.delete(
    "/api/auth/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses=responses(404),
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)], viewer: Staff, session: SessionDep
) -> None:
    """Revoke one of the caller's API tokens."""
    sessions.revoke_api_token(session, viewer, token_id)


@router.get("/api/accounts", tags=["accounts"])
def list_accounts(_viewer: Coordinator, session: SessionDep) -> list[AccountPublic]:
    """Every account (coordinators only)."""
    return [AccountPublic.of(account) for account in accounts.get_all_accounts(session)]


@router.post(
    "/api/accounts",
    status_code=status.HTTP_201_CREATED,
    tags=["accounts"],
    responses=responses(409),
)
def create_account(body: AccountCreate, viewer: Coordinator, session: SessionDep) -> AccountPublic:
    """Create an account; every broken rule is listed, each naming its field."""
    account = accounts.create_account(session, viewer, **body.model_dump())
    return AccountPublic.of(account)


@router.post(
    "/api/accounts/{account_id}/deactivate", tags=["accounts"], responses=responses(404, 409)
)
def deactivate_account(
    account_id: Annotated[int, Path(ge=1, le=MAX_ID)], viewer: Coordinator, session: SessionDep
) -> AccountPublic:
    """Disable an account and end its sessions, tokens and invitations."""
    return AccountPublic.of(accounts.deactivate_account(session, viewer, account_id))


Inviter = Annotated[Viewer, Depends(allow(Role.COORDINATOR, Role.TEACHER))]


@router.post(
    "/api/students/{student_id}/invitation",
    status_code=status.HTTP_201_CREATED,
    tags=["accounts"],
    responses=responses(404, 409),
)
def invite_student(
    student_id: str, viewer: Inviter, session: SessionDep, settings: SettingsDep
) -> InvitationPublic:
    """A single-use sign-in link for a student; earlier unused links stop working."""
    token, credential = invitations.invite_student(session, viewer, student_id, settings=settings)
    assert credential.expires_at is not None
    url = f"{settings.public_url.rstrip('/')}/invite/{token}"
    return InvitationPublic(url=url, expires_at=credential.expires_at)


@router.post("/invite/{token}", tags=["accounts"], responses=responses(404, 409, 410))
def accept_invitation(
    token: str, response: Response, session: SessionDep, settings: SettingsDep
) -> SessionPublic:
    """Use an invitation link up and open the student's session (token and cookie)."""
    signed_in = invitations.accept_invitation(session, token, settings=settings)
    return _session_answer(response, signed_in, settings)
