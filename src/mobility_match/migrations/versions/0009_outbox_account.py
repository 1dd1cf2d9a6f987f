"""outbox_account: the account a staff mail was sent to

A mail to a teacher, a coordinator or a partner names the account it was written for
(`outbox.account_id`), so that each person's page lists the mails sent to him or her;
students' mails keep naming the student (`outbox.student_id`). Like `student_id`, no
foreign key: an erased student's or a removed account's mails are deleted with them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("account_id", sa.Integer(), nullable=True))
    op.create_index("ix_outbox_account_id", "outbox", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_account_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("account_id")
