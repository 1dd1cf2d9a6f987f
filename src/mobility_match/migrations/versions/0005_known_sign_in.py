"""known_sign_in: the addresses each account signed in from, so that others' failures
do not slow it down from there

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_sign_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_known_sign_in_account_id", "known_sign_in", ["account_id"], unique=False)
    op.create_index("ix_known_sign_in_last_at", "known_sign_in", ["last_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_known_sign_in_last_at", table_name="known_sign_in")
    op.drop_index("ix_known_sign_in_account_id", table_name="known_sign_in")
    op.drop_table("known_sign_in")
