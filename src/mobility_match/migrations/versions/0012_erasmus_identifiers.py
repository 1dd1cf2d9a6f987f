"""erasmus_identifiers: the round's project number, the school's OID and contact's function

- `round.project_number`: the Erasmus+ project (grant agreement) number of the round's
  mobilities, printed on learning agreements and used by the Beneficiary Module export;
- `school.oid`: the school's Erasmus+ organisation ID (`E` and 8 digits);
- `school.contact_function`: the function of the school's contact, printed under the
  signature.

All three are optional texts, empty on existing rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("round", "project_number", 40),
    ("school", "oid", 9),
    ("school", "contact_function", 120),
)


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    for table, column, length in COLUMNS:
        op.add_column(
            table,
            sa.Column(column, string(length=length), nullable=False, server_default=""),
        )


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy and drop `round`
    # and `school`, which other tables' foreign keys refer to.
    for table, column, _length in reversed(COLUMNS):
        op.drop_column(table, column)
