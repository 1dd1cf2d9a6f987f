"""`mobility-match serve`: migrate the database, load demo data if asked, run the service.

Kept apart from cli.py so that the command line stays a thin layer: this module
does the start-up steps in order and prints how to sign in with demo data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from rich.console import Console
from sqlmodel import Session

from mobility_match.api.app import create_app
from mobility_match.config import Settings, get_settings
from mobility_match.db import make_engine, migrate
from mobility_match.documents.checklists import ChecklistDataError, load_checklists
from mobility_match.documents.rendering import DocumentRenderer
from mobility_match.domain import load_vocabulary
from mobility_match.importing import ImportFailed, read_offers
from mobility_match.models import Role
from mobility_match.services.demo import (
    DemoAccount,
    demo_accounts,
    is_empty,
    load_demo,
    load_past_cohort,
    publish_demo_round,
)
from mobility_match.services.preparation import backfill as backfill_checklists
from mobility_match.services.reference import ensure_partners


def prepare_database(settings: Settings) -> None:
    """Apply pending migrations and the reference data; write the checklists that rounds
    published before checklists existed lack."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with Session(engine) as session:
            ensure_partners(session)
            backfill_checklists(session, load_checklists(settings.checklists_dir))
    finally:
        engine.dispose()


def prepare_demo(
    settings: Settings, companies: Sequence[Path], students: int, seed: int, console: Console
) -> list[DemoAccount]:
    """Load the demo programme into an empty database; fresh demo sign-ins either way."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            empty = is_empty(session)
            if empty:
                offers, problems = read_offers(companies, load_vocabulary())
                if problems:
                    raise ImportFailed(problems)
                loaded = load_demo(session, offers, students, seed)
                console.print(
                    f"Demo data loaded: {loaded.students} students in {loaded.schools} schools, "
                    f"{loaded.offers} offers."
                )
            else:
                console.print("The database already holds data: demo data not loaded again.")
            accounts = demo_accounts(session, settings)
        if empty:
            round_ = publish_demo_round(engine, settings, load_checklists(settings.checklists_dir))
            console.print(
                f"Demo round {round_.id} solved and published: documents and checklists of "
                "its placements can be tried at once."
            )
            # After the round, which takes the students of pilot schools: a past cohort is
            # followed, never placed again.
            with Session(engine) as session:
                answers = load_past_cohort(session, settings, students, seed, dt.date.today())
            console.print(
                f"A past cohort of {students} graduates, with {answers} follow-up answers: the "
                "evaluation's indicators show figures at once."
            )
        return accounts
    finally:
        engine.dispose()


def print_sign_ins(console: Console, accounts: Sequence[DemoAccount], public_url: str) -> None:
    """How to sign in as each demo account (passwords are new at every start)."""
    lines = ["Demo sign-ins (new at every start with --demo):"]
    for account in accounts:
        if account.role is Role.STUDENT:
            how = f"open the invitation link {account.secret}"
        else:
            how = f"username {account.username}  password {account.secret}"
        lines.append(f"  {account.role.value:<12} {how}  ({account.scope})")
    lines.append(
        f"Open {public_url}/ in a browser and sign in with one of these (the student opens "
        f"the link); the JSON API is documented at {public_url}/docs"
    )
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


_INVITATION_PATH = re.compile(r"(/invite/)[^/?\s]+")


class HideInvitationTokens(logging.Filter):
    """Blank the token of invitation links in access logs: a log line must not sign anyone in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _INVITATION_PATH.sub(r"\1…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def check_documents(settings: Settings) -> list[str]:
    """What is wrong with the templates folder or the checklist data set in the settings."""
    problems = []
    try:
        DocumentRenderer(settings.templates_dir)
    except ValueError as error:
        problems.append(f"MOBILITY_MATCH_TEMPLATES_DIR: {error}")
    try:
        load_checklists(settings.checklists_dir)
    except ChecklistDataError as error:
        problems.extend(f"MOBILITY_MATCH_CHECKLISTS_DIR: {p}" for p in error.problems)
    return problems


def worker_app() -> FastAPI:
    """The application of one of several worker processes, with the settings of the
    environment (`run` puts there what the command line worked out)."""
    logging.getLogger("uvicorn.access").addFilter(HideInvitationTokens())
    return create_app(get_settings())


def run(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted, in `workers` processes sharing the port.

    Several processes answer requests in parallel (Python runs one thread at a
    time per process): SQLite in WAL mode lets them read at once while writes
    take turns, and solves and jobs are shared out through leases (DESIGN.md).
    """
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    if workers > 1:
        # Each worker is a fresh process reading its settings from the environment:
        # hand over the public address worked out from --host and --port.
        os.environ.setdefault("MOBILITY_MATCH_PUBLIC_URL", settings.public_url)
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **options)
        return
    config = uvicorn.Config(create_app(settings), **options)
    server = uvicorn.Server(config)  # configures uvicorn's loggers; the filter goes on after
    logging.getLogger("uvicorn.access").addFilter(HideInvitationTokens())
    server.run()
