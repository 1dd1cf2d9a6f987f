"""assignments: the student's gender, trade and sector, and indexes for the review table

Existing assignments are filled from their round's snapshot (the sector is the
trade's, from the packaged vocabulary), so that older rounds filter as new ones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from mobility_match.domain import load_vocabulary

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_assignment_round_name": ["round_id", "last_name", "first_name"],
    "ix_assignment_round_school": ["round_id", "school_id"],
    "ix_assignment_round_country": ["round_id", "country"],
    "ix_assignment_round_sector": ["round_id", "sector"],
    "ix_assignment_round_gender": ["round_id", "gender"],
    "ix_assignment_round_reason": ["round_id", "reason_code"],
}


def upgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        for name, length in (("gender", 1), ("trade", 32), ("sector", 16)):
            batch_op.add_column(
                sa.Column(
                    name,
                    sqlmodel.sql.sqltypes.AutoString(length=length),
                    nullable=False,
                    server_default="",
                )
            )
        for index, columns in INDEXES.items():
            batch_op.create_index(index, columns, unique=False)
    _fill_from_snapshots()


def _fill_from_snapshots() -> None:
    """Copy each student's gender and trade from the round's snapshot; the trade's sector."""
    connection = op.get_bind()
    snapshot = sa.table(
        "round_snapshot", sa.column("round_id", sa.Integer), sa.column("students", sa.JSON)
    )
    assignment = sa.table(
        "assignment",
        sa.column("round_id", sa.Integer),
        sa.column("student_id", sa.String),
        sa.column("gender", sa.String),
        sa.column("trade", sa.String),
        sa.column("sector", sa.String),
    )
    trades = load_vocabulary().trades
    update = (
        assignment.update()
        .where(
            assignment.c.round_id == sa.bindparam("b_round"),
            assignment.c.student_id == sa.bindparam("b_student"),
        )
        .values(
            gender=sa.bindparam("b_gender"),
            trade=sa.bindparam("b_trade"),
            sector=sa.bindparam("b_sector"),
        )
    )
    for round_id, students in connection.execute(
        sa.select(snapshot.c.round_id, snapshot.c.students)
    ):
        rows = [
            {
                "b_round": round_id,
                "b_student": student["student_id"],
                "b_gender": str(student.get("gender", ""))[:1],
                "b_trade": str(student.get("trade", ""))[:32],
                "b_sector": (
                    trades[student["trade"]].sector.value if student.get("trade") in trades else ""
                ),
            }
            for student in students or []
        ]
        if rows:
            connection.execute(update, rows)


def downgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        for index in INDEXES:
            batch_op.drop_index(index)
        for name in ("sector", "trade", "gender"):
            batch_op.drop_column(name)
