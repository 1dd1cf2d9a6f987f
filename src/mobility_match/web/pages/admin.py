"""Pages: the coordinators' administration: accounts (create, new password, deactivate,
sign-in blocks), the audit log, and the schools (contact details, overdue steps, exports).

A password made here is shown once, in the answer to the POST that made it
(never in a URL, a cookie or a redirect), and that answer is never cached.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from mobility_match import identifiers
from mobility_match.access import Viewer
from mobility_match.api.deps import MAX_ID, SessionDep, SettingsDep
from mobility_match.api.people import SchoolUpdate
from mobility_match.models import Account, Role, SchoolKind, utcnow
from mobility_match.services import (
    accounts,
    audit,
    checklists,
    follow_up,
    offers,
    people,
    school_overview,
    sessions,
)
from mobility_match.services.errors import Refused
from mobility_match.web import csrf
from mobility_match.web.deps import CoordinatorPage
from mobility_match.web.templating import gettext_for, render, set_flash

router = APIRouter(dependencies=[Depends(csrf.check)], include_in_schema=False)

ACCOUNTS_PER_PAGE = 100
EVENTS_PER_PAGE = 50
STEPS_PER_PAGE = 50

STAFF_ROLES = (Role.TEACHER, Role.PARTNER, Role.COORDINATOR, Role.EVALUATOR)
"""The roles a coordinator creates accounts of (students get theirs by invitation)."""

Text = Annotated[str, Form(max_length=1000)]
AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]

ACCOUNT_FIELDS = ("username", "display_name", "role", "school_id", "partner")


def _errors(found: dict[str, str] | None) -> defaultdict[str, str]:
    """Problems by field, "" for a field without one (templates ask for every field)."""
    return defaultdict(str, found or {})


def _page_number(page: str) -> int:
    """A page number from the query (1 for anything else)."""
    return int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1


def _pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


# ---- accounts -----------------------------------------------------------------------------


def _accounts_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    settings: SettingsDep,
    *,
    role: str = "",
    page: str = "1",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    chosen = Role(role) if role in {r.value for r in Role} else None
    number = _page_number(page)
    listed = accounts.list_accounts(
        session,
        viewer,
        role=chosen,
        limit=ACCOUNTS_PER_PAGE,
        offset=(number - 1) * ACCOUNTS_PER_PAGE,
    )
    context = {
        "listed": listed,
        "role": chosen.value if chosen else "",
        "roles": list(Role),
        "staff_roles": STAFF_ROLES,
        "page": number,
        "pages": _pages(listed.total, ACCOUNTS_PER_PAGE),
        "blocked": sessions.blocked_usernames(session, viewer, settings),
        "blocked_addresses": sessions.blocked_addresses(session, viewer, settings),
        "schools": people.list_schools(session, viewer),
        "partners": offers.list_partners(session, viewer),
        "form": form or dict.fromkeys(ACCOUNT_FIELDS, "") | {"role": Role.TEACHER.value},
        "errors": _errors(errors),
        "problems": problems or [],
    }
    session.commit()
    return render(request, "admin/accounts.html", context, viewer=viewer, status_code=status_code)


@router.get("/coordinator/accounts")
def accounts_page(
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    settings: SettingsDep,
    role: str = "",
    page: str = "1",
) -> Response:
    """Every account (by role, paged), the form to create one, and blocked usernames."""
    return _accounts_page(request, session, viewer, settings, role=role, page=page)


def _field_problems(problems: list[str], fields: tuple[str, ...]) -> dict[str, str]:
    """The service's problems ("field: sentence") by the form field they concern."""
    found: dict[str, str] = {}
    for problem in problems:
        name, _, sentence = problem.partition(": ")
        if name in fields and sentence:
            found[name] = f"{found[name]} {sentence}" if name in found else sentence
    return found


@router.post("/coordinator/accounts")
def create_account(
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    settings: SettingsDep,
    username: Text = "",
    display_name: Text = "",
    role: Text = "",
    school_id: Text = "",
    partner: Text = "",
) -> Response:
    """Create a staff account with a random password, shown once on the answer."""
    _ = gettext_for(request, viewer)
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "school_id": school_id,
        "partner": partner,
    }
    errors: dict[str, str] = {}
    if role not in {r.value for r in STAFF_ROLES}:
        errors["role"] = _("Choose a teacher, partner, coordinator or evaluator account.")
    if len(username) > 254:
        errors["username"] = _("A username has at most 254 characters.")
    if len(display_name) > 200:
        errors["display_name"] = _("A name has at most 200 characters.")
    if errors:
        return _accounts_page(
            request, session, viewer, settings, form=form, errors=errors, status_code=422
        )
    chosen = Role(role)
    password = accounts.new_password()
    try:
        account = accounts.create_account(
            session,
            viewer,
            username=username,
            display_name=display_name,
            role=chosen,
            password=password,
            school_id=(school_id or None) if chosen is Role.TEACHER else None,
            partner=(partner or None) if chosen is Role.PARTNER else None,
        )
    except Refused as error:
        fields = ("username", "display_name", "school_id", "partner")
        errors = _field_problems(list(error.problems), fields)
        unplaced = [p for p in error.problems if p.partition(": ")[0] not in errors]
        return _accounts_page(
            request,
            session,
            viewer,
            settings,
            form=form,
            errors=errors,
            problems=unplaced,
            status_code=422,
        )
    return _password_page(request, viewer, account, password, created=True)


def _password_page(
    request: Request, viewer: Viewer, account: Account, password: str, *, created: bool
) -> Response:
    """The answer that shows a new password, once (never cached: render sets no-store)."""
    context = {"account": account, "password": password, "created": created}
    return render(request, "admin/password.html", context, viewer=viewer)


@router.post("/coordinator/accounts/{account_id}/password")
def reset_password(
    account_id: AccountId, request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """Give the account a new random password, shown once; its sessions end."""
    password = accounts.reset_password(session, viewer, account_id)
    account = accounts.get_account(session, account_id)
    session.commit()
    return _password_page(request, viewer, account, password, created=False)


@router.post("/coordinator/accounts/{account_id}/deactivate")
def deactivate_account(
    account_id: AccountId, request: Request, session: SessionDep, viewer: CoordinatorPage
) -> Response:
    """Disable an account and end all its sessions, tokens and invitations."""
    _ = gettext_for(request, viewer)
    account = accounts.deactivate_account(session, viewer, account_id)
    response = RedirectResponse("/coordinator/accounts", status_code=303)
    set_flash(
        response,
        _("The account %(username)s is deactivated; it can no longer sign in.")
        % {"username": account.username},
    )
    return response


@router.post("/coordinator/accounts/unblock")
def lift_block(
    request: Request, session: SessionDep, viewer: CoordinatorPage, username: Text = ""
) -> Response:
    """Let a username blocked by failed sign-ins sign in again at once."""
    _ = gettext_for(request, viewer)
    sessions.lift_block(session, viewer, username)
    response = RedirectResponse("/coordinator/accounts", status_code=303)
    set_flash(
        response,
        _("%(username)s may sign in again.") % {"username": username},
    )
    return response


@router.post("/coordinator/accounts/unblock-address")
def lift_address_block(
    request: Request, session: SessionDep, viewer: CoordinatorPage, client: Text = ""
) -> Response:
    """Let an address blocked by failed sign-ins on many usernames sign in again at once."""
    _ = gettext_for(request, viewer)
    sessions.lift_address_block(session, viewer, client)
    response = RedirectResponse("/coordinator/accounts", status_code=303)
    set_flash(response, _("Sign-ins from %(address)s are allowed again.") % {"address": client})
    return response


# ---- audit log ----------------------------------------------------------------------------


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@router.get("/coordinator/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: str = "",
    until: str = "",
    page: str = "1",
) -> Response:
    """Audit events, newest first, filtered by actor, action, object and dates, paged."""
    _ = gettext_for(request, viewer)
    errors: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for name, text in (("since", since), ("until", until)):
        days[name] = _day(text) if text else None
        if text and days[name] is None:
            errors[name] = _("Give a date as YYYY-MM-DD.")
    filters = audit.EventFilter(
        actor=actor.strip()[:254] or None,
        action=action[:64] or None,
        object_type=object_type[:32] or None,
        object_id=object_id.strip()[:64] or None,
        since=days["since"],
        until=days["until"],
    )
    number = _page_number(page)
    listed = audit.list_events(
        session, viewer, filters, limit=EVENTS_PER_PAGE, offset=(number - 1) * EVENTS_PER_PAGE
    )
    actions, types = audit.actions_and_types(session, viewer)
    query = {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "since": since,
        "until": until,
    }
    context: dict[str, Any] = {
        "events": listed.events,
        "total": listed.total,
        "page": number,
        "pages": _pages(listed.total, EVENTS_PER_PAGE),
        "filters": query,
        "kept": {key: value for key, value in query.items() if value},
        "actions": actions,
        "types": types,
        "errors": _errors(errors),
    }
    return render(
        request, "admin/audit.html", context, viewer=viewer, status_code=422 if errors else 200
    )


# ---- schools ------------------------------------------------------------------------------


@router.get("/coordinator/schools")
def schools_page(request: Request, session: SessionDep, viewer: CoordinatorPage) -> Response:
    """Every school: kind, city, contact and number of students."""
    summaries = school_overview.school_summaries(session, viewer)
    return render(request, "admin/schools.html", {"summaries": summaries}, viewer=viewer)


def _school_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    school_id: str,
    *,
    page: str = "1",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    school = people.get_school(session, viewer, school_id)
    number = _page_number(page)
    groups, late = checklists.overdue(
        session,
        viewer,
        utcnow().date(),
        school_id=school_id,
        limit=STEPS_PER_PAGE,
        offset=(number - 1) * STEPS_PER_PAGE,
    )
    overdue_total = sum(group.overdue_steps for group in groups)
    current = follow_up.current_round(session, viewer)
    session.commit()
    context = {
        "school": school,
        "form": form or {name: getattr(school, name) for name in _SCHOOL_FIELDS},
        "kinds": list(SchoolKind),
        "errors": _errors(errors),
        "groups": groups,
        "late": late,
        "overdue_total": overdue_total,
        "page": number,
        "pages": _pages(overdue_total, STEPS_PER_PAGE),
        "current": current,
    }
    return render(request, "admin/school.html", context, viewer=viewer, status_code=status_code)


_SCHOOL_FIELDS = (
    "name",
    "kind",
    "address",
    "city",
    "contact_name",
    "contact_function",
    "contact_email",
    "phone",
    "oid",
)


@router.get("/coordinator/schools/{school_id}")
def school_page(
    school_id: str,
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    page: str = "1",
) -> Response:
    """A school's contact details (to edit), its overdue checklist steps, its exports."""
    return _school_page(request, session, viewer, school_id, page=page)


@router.post("/coordinator/schools/{school_id}")
def update_school(
    school_id: str,
    request: Request,
    session: SessionDep,
    viewer: CoordinatorPage,
    name: Text = "",
    kind: Text = "",
    address: Text = "",
    city: Text = "",
    contact_name: Text = "",
    contact_email: Text = "",
    phone: Text = "",
    contact_function: Text = "",
    oid: Text = "",
) -> Response:
    """Change the school's name, kind and contact details (printed on letters)."""
    _ = gettext_for(request, viewer)
    form = {
        "name": name,
        "kind": kind,
        "address": address,
        "city": city,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "phone": phone,
        "contact_function": contact_function,
        "oid": oid,
    }
    try:
        body = SchoolUpdate.model_validate({key: value.strip() for key, value in form.items()})
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in error.errors():
            field = str(item["loc"][0])
            limit = (item.get("ctx") or {}).get("max_length")
            if limit is not None:
                errors[field] = _("At most %(count)d characters.") % {"count": limit}
            else:
                errors[field] = _("Choose pilot or control.")
        return _school_page(
            request, session, viewer, school_id, form=form, errors=errors, status_code=422
        )
    contact = {key: getattr(body, key) for key in people.SCHOOL_CONTACT}
    # The contact's rules are the teacher's form's (an e-mail address that letters print).
    problems = people.contact_problems(contact)
    if problems:
        found = {name: sentence for name, _sep, sentence in (p.partition(": ") for p in problems)}
        if "oid" in found:
            found["oid"] = _(
                "Enter the Erasmus+ organisation ID: E and 8 digits, e.g. %(example)s, or nothing."
            ) % {"example": identifiers.OID_EXAMPLE}
        return _school_page(
            request, session, viewer, school_id, form=form, errors=found, status_code=422
        )
    people.update_school(session, viewer, school_id, name=body.name, kind=body.kind, **contact)
    response = RedirectResponse(f"/coordinator/schools/{school_id}", status_code=303)
    set_flash(response, _("The school's details are saved."))
    return response
