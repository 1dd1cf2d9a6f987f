"""The database engine and sessions; schema migrations.

SQLite (the default) is opened in WAL mode with a busy timeout and foreign keys
on, and every transaction starts with `BEGIN IMMEDIATE`: pysqlite's default
deferred transactions let two read-modify-write requests read the same row and
one update silently overwrite the other. With the write lock taken at BEGIN,
the second request waits instead. PostgreSQL needs none of this: services lock
the rows they change (`SELECT … FOR UPDATE`) and round states change by
compare-and-set, which is correct on both.

Requests that only read (`read_only(engine)`) start a plain deferred `BEGIN`
instead, with `PRAGMA query_only` on: in WAL mode they read a consistent
snapshot without waiting for writers or making anyone wait, so that many
readers (threads or worker processes) go in parallel; a write slipped into
such a transaction fails loudly instead of racing.

Statement parameters are never logged nor shown in a database error's message
(`hide_parameters`): they hold token hashes and personal data.

This module knows nothing of HTTP or of the matching engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "mobility_match_read_only"
"""The execution option of engines whose transactions only read (`read_only`)."""


def make_engine(url: str) -> Engine:
    """An engine for `url`, with SQLite set up for safe concurrent writes."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        poolclass=NullPool,
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (below), not pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("PRAGMA query_only=OFF")
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same database for transactions that only read: on SQLite they neither take nor
    wait for the write lock (and may not write); elsewhere nothing changes."""
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end of the block, or rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(files("mobility_match") / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Apply every pending migration (what the run command does before serving)."""
    command.upgrade(alembic_config(engine), "head")
