"""`mobility-match serve`: migrate the database, load demo data if asked, run the service.

Kept apart from cli.py so that the command line stays a thin layer: this module
does the start-up steps in order and prints how to sign in with demo data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import uvicorn
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine, migrate
from mobility_match.domain import load_vocabulary
from mobility_match.importing import ImportFailed, read_offers
from mobility_match.services.demo import DemoAccount, demo_accounts, is_empty, load_demo
from mobility_match.services.reference import ensure_partners


def prepare_database(settings: Settings) -> None:
    """Apply pending migrations and the reference data."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with Session(engine) as session:
            ensure_partners(session)
    finally:
        engine.dispose()


def prepare_demo(
    settings: Settings, companies: Sequence[Path], students: int, seed: int, console: Console
) -> list[DemoAccount]:
    """Load the demo programme into an empty database; fresh demo sign-ins either way."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            if is_empty(session):
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
            return demo_accounts(session, settings.public_url, settings.invitation_days)
    finally:
        engine.dispose()


def print_sign_ins(console: Console, accounts: Sequence[DemoAccount], public_url: str) -> None:
    """How to sign in as each demo account (passwords are new at every start)."""
    table = Table(title="Demo sign-ins (new at every start with --demo)")
    table.add_column("role")
    table.add_column("username")
    table.add_column("password, or invitation link")
    table.add_column("sees")
    for account in accounts:
        table.add_row(account.role.value, account.username, account.secret, account.scope)
    console.print(table)
    console.print(
        f"Sign in: POST {public_url}/api/auth/login with "
        '{"username": …, "password": …}; API documentation: '
        f"{public_url}/docs"
    )


def run(settings: Settings, host: str, port: int) -> None:
    """Serve the API until interrupted."""
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
