"""The database layer: SQLite set up for concurrent writes, migrations matching the tables."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine
from sqlmodel import Session, SQLModel, select

from mobility_match.db import make_engine, migrate
from mobility_match.models import School
from tests.conftest import TEST_DATABASE_URL

UPDATES = 400


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """Every SQLite connection is in WAL mode, checks foreign keys and waits for locks."""
    engine = make_engine(f"sqlite:///{tmp_path}/settings.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def _context(connection: Connection) -> MigrationContext:
    """The tables of the models, not the task queue's (procrastinate's, on PostgreSQL)."""

    def ours(name: str | None, type_: str, _parents: object) -> bool:
        return not (type_ == "table" and (name or "").startswith("procrastinate_"))

    return MigrationContext.configure(connection, opts={"include_name": ours})


def test_the_migrations_create_exactly_the_tables_of_the_models(engine: Engine) -> None:
    """No table or column of models.py is missing from the migrations, or the other way round."""
    with engine.connect() as connection:
        differences = compare_metadata(_context(connection), SQLModel.metadata)
    assert differences == []


def test_migrating_an_up_to_date_database_changes_nothing(engine: Engine) -> None:
    """The run command may apply migrations at every start."""
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(_context(connection), SQLModel.metadata) == []


def test_four_hundred_concurrent_read_modify_writes_lose_nothing(engine: Engine) -> None:
    """Concurrent read-modify-write transactions on one row keep every update.

    pysqlite's deferred transactions lose hundreds of these; BEGIN IMMEDIATE (SQLite)
    and SELECT … FOR UPDATE (PostgreSQL) lose none.
    """
    with Session(engine) as session:
        session.add(School(school_id="COUNTER", name="0"))
        session.commit()

    def increment(_: int) -> None:
        with Session(engine) as session:
            query = select(School).where(School.school_id == "COUNTER")
            school = session.exec(query.with_for_update()).one()
            school.name = str(int(school.name) + 1)
            session.add(school)
            session.commit()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(increment, range(UPDATES)))
    with Session(engine) as session:
        assert session.get_one(School, "COUNTER").name == str(UPDATES)


def test_the_suite_database_is_the_one_asked_for(engine: Engine) -> None:
    """With MOBILITY_MATCH_TEST_DATABASE_URL set, the tests really run on PostgreSQL."""
    expected = "postgresql" if TEST_DATABASE_URL else "sqlite"
    assert engine.dialect.name == expected
