"""Fixtures of the service tests: a migrated database, the app, a client, accounts.

The suite runs on a fresh SQLite file per test by default; when
MOBILITY_MATCH_TEST_DATABASE_URL is set (a PostgreSQL URL), on that database
instead (one per pytest-xdist worker, beside it), emptied before each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from mobility_match import security
from mobility_match.api.app import create_app
from mobility_match.config import Settings
from mobility_match.db import make_engine, migrate
from mobility_match.services.reference import ensure_partners

PRODUCTION_PASSWORDS = (security._passwords, security._DUMMY_HASH)
"""The service's argon2id hasher (64 MiB, 3 passes: about 0.15 s a hash or a check) and its
hash for unknown usernames, kept for tests/test_passwords.py."""

# Every other test hashes and checks passwords with argon2id too, at its lowest cost: the
# same code paths (hash, verify, the dummy hash of unknown usernames), without spending
# 0.15 s of CPU on each of the thousands of sign-ins and accounts of the suite. A hash
# carries its parameters, so the service's own processes started by tests check them.
security._passwords = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
security._DUMMY_HASH = security._passwords.hash("a password nobody has")


def _per_worker(url: str) -> str:
    """The test database of this pytest-xdist worker: `<name>_<worker>`, created if missing
    (parallel workers must not empty each other's tables)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


QUEUE_TABLES = ("procrastinate_jobs", "procrastinate_workers", "procrastinate_periodic_defers")
"""The task queue's tables on PostgreSQL (migration 0011), emptied with ours."""

TEST_DATABASE_URL = _per_worker(os.environ.get("MOBILITY_MATCH_TEST_DATABASE_URL", ""))


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a SQLite file to copy, or the PostgreSQL URL, reset once."""
    if TEST_DATABASE_URL:
        engine = make_engine(TEST_DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        migrate(engine)
        engine.dispose()
        yield TEST_DATABASE_URL
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection closed, SQLite folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    yield str(path)


@pytest.fixture
def database_url(_database_template: str, tmp_path: Path) -> str:
    """The URL of an empty, migrated database for one test."""
    if TEST_DATABASE_URL:
        engine = make_engine(TEST_DATABASE_URL)
        tables = ", ".join(f'"{name}"' for name in [*SQLModel.metadata.tables, *QUEUE_TABLES])
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return TEST_DATABASE_URL
    path = tmp_path / "test.db"
    shutil.copyfile(_database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's engine, with the reference partners loaded."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        ensure_partners(session)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for tests: short solves, the test client's address in links, mails written
    to the test's own folder."""
    return Settings(
        database_url=database_url,
        mail_dir=tmp_path / "mail",
        public_url="http://testserver",
        solve_time_limit=20.0,
        lease_seconds=30.0,
        # The service runs document jobs itself on both databases here; the task queue
        # of PostgreSQL and its workers are tests/test_worker_queue.py's.
        jobs_in_service=True,
        render_processes=1,  # in the test's process; tests/test_render_pool.py uses two
        # Tests deliver the outbox themselves (deliver_due); a sender thread of the app
        # would race them for the mails (tests/test_mail.py starts one where it is meant).
        mail_in_service=False,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the app, its startup and shutdown run."""
    with TestClient(app) as client:
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL (the second lane of .ci/run) run only the tests that use a database:
    the others (the engine, the file readers, the PDFs) ran in the first lane already and
    would do exactly the same again. The pages' own tests (tests/test_web_*.py) stay in the
    first lane too: pages call the service functions that the API's tests run here, and
    which pages show what to whom is checked here by tests/test_page_access.py."""
    if not TEST_DATABASE_URL:
        return
    kept = [
        item
        for item in items
        if "database_url" in getattr(item, "fixturenames", ())
        and not item.path.name.startswith("test_web_")
    ]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
