"""task_queue: procrastinate's tables, on PostgreSQL only

On PostgreSQL the document jobs run on `mobility-match worker` processes through
procrastinate, a task queue kept in PostgreSQL: this revision creates its tables and
functions (`procrastinate_*`), from the schema of the pinned procrastinate version. A
later procrastinate version comes with a revision applying its own delta migrations. On
SQLite nothing changes: the service runs the jobs itself.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager  # noqa: PLC0415

    # Parameters are passed (none), so psycopg reads `%%` as `%`, as procrastinate does.
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"), ())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(
        """
        DO $$ DECLARE item record;
        BEGIN
          FOR item IN SELECT tablename FROM pg_tables
                      WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate_%'
          LOOP EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(item.tablename) || ' CASCADE';
          END LOOP;
          FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                      JOIN pg_namespace n ON n.oid = p.pronamespace
                      WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate_%'
          LOOP EXECUTE 'DROP FUNCTION IF EXISTS ' || item.signature || ' CASCADE';
          END LOOP;
          FOR item IN SELECT t.typname FROM pg_type t
                      JOIN pg_namespace n ON n.oid = t.typnamespace
                      WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate_%'
                        AND t.typtype = 'e'
          LOOP EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(item.typname) || ' CASCADE';
          END LOOP;
        END $$;
        """
    )
