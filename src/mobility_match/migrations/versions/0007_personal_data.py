"""personal_data: personal data, erasure and retention

No change of the schema: the export reads, and the erasure deletes or rewrites, rows of
the existing tables (services/personal_data.py); the erasure's record is an audit event.
The revision stays so that the history names the step.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change."""


def downgrade() -> None:
    """Nothing to undo (erased data cannot come back with a downgrade)."""
