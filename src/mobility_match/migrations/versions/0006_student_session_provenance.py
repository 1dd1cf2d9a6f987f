"""student_session_provenance: student sessions remember the invitation they come from

A session opened with an invitation link keeps the invitation's id and the account
that made the link; an invitation keeps the account that made it. Rows made before
this revision have neither (unknown).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invitation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("issued_by", sa.Integer(), nullable=True))
        batch_op.create_index("ix_credential_invitation_id", ["invitation_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_credential_invitation_id_credential", "credential", ["invitation_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_credential_issued_by_account", "account", ["issued_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_constraint("fk_credential_issued_by_account", type_="foreignkey")
        batch_op.drop_constraint("fk_credential_invitation_id_credential", type_="foreignkey")
        batch_op.drop_index("ix_credential_invitation_id")
        batch_op.drop_column("issued_by")
        batch_op.drop_column("invitation_id")
