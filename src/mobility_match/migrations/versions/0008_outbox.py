"""outbox: mails written with the change that causes them, delivered once

One row per mail: recipient, kind, language, subject and bodies rendered when it was
written, the round and student it concerns, its delivery state (queued, sent, failed),
attempts and next attempt, the claim of the sender delivering it, and a unique key that
makes writing the same mail twice a no-op.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    moment = sqlmodel.sql.sqltypes.UTCDateTime
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", string(length=200), nullable=False),
        sa.Column("kind", string(length=32), nullable=False),
        sa.Column("audience", string(length=16), nullable=False),
        sa.Column("recipient", string(length=254), nullable=False),
        sa.Column("recipient_name", string(length=254), nullable=False),
        sa.Column("language", string(length=8), nullable=False),
        sa.Column("subject", string(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("link", string(length=500), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("student_id", string(length=64), nullable=True),
        sa.Column("status", sa.Enum("QUEUED", "SENT", "FAILED", name="mailstatus"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", moment(), nullable=False),
        sa.Column("claimed_by", string(length=64), nullable=True),
        sa.Column("claimed_until", moment(), nullable=True),
        sa.Column("last_error", string(length=1000), nullable=False),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("sent_at", moment(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_outbox_round_id", "outbox", ["round_id"], unique=False)
    op.create_index("ix_outbox_student_id", "outbox", ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_student_id", table_name="outbox")
    op.drop_index("ix_outbox_round_id", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    sa.Enum(name="mailstatus").drop(op.get_bind(), checkfirst=True)
