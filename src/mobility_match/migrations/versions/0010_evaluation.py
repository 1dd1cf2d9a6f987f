"""evaluation: cohorts, placement outcomes, follow-up answers, survey links, host
reviews, the evaluator role and what makes a round reproducible

- `student.cohort` (the diploma year) and `student.guardian_consent_on` (a parent's
  consent to ask a minor for the follow-up);
- `placement_outcome`: how a published placement ended (one per round and student);
- `follow_up_answer`: a graduate's situation at 6 or 12 months (one per wave), no
  foreign key to `student`, so that a cohort's answers can outlive its names
  (pseudonymised at the end of the evaluation);
- `survey_link`: single-use, expiring links (a hash of their secret) for the follow-up
  and the host tutor's review; `host_review`: the review;
- the role `evaluator`;
- `round.inputs_sha256`, `round.software` (versions), `round.fairness_price`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    moment = sqlmodel.sql.sqltypes.UTCDateTime
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'EVALUATOR'")
    op.add_column("student", sa.Column("cohort", sa.Integer(), nullable=True))
    op.add_column("student", sa.Column("guardian_consent_on", sa.Date(), nullable=True))
    op.create_index("ix_student_cohort", "student", ["cohort"], unique=False)
    op.add_column(
        "round",
        sa.Column("inputs_sha256", string(length=64), nullable=False, server_default=""),
    )
    op.add_column("round", sa.Column("software", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("round", sa.Column("fairness_price", sa.JSON(), nullable=True))

    op.create_table(
        "placement_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("student_id", string(length=64), nullable=False),
        sa.Column("offer_id", string(length=64), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("COMPLETED", "INTERRUPTED", "NOT_STARTED", name="placementoutcomekind"),
            nullable=False,
        ),
        sa.Column("interrupted_on", sa.Date(), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "HEALTH",
                "FAMILY",
                "HOST",
                "ADAPTATION",
                "CONDUCT",
                "OTHER",
                name="interruptionreason",
            ),
            nullable=True,
        ),
        sa.Column("note", string(length=500), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", moment(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by"], ["account.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "student_id"),
    )
    op.create_index("ix_placement_outcome_round_id", "placement_outcome", ["round_id"])
    op.create_index("ix_placement_outcome_student_id", "placement_outcome", ["student_id"])

    op.create_table(
        "follow_up_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", string(length=64), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column(
            "situation",
            sa.Enum(
                "PERMANENT_CONTRACT",
                "FIXED_TERM_CONTRACT",
                "TEMPORARY_AGENCY",
                "WORK_STUDY",
                "SELF_EMPLOYED",
                "EDUCATION",
                "JOB_SEEKING",
                "INACTIVE",
                "UNKNOWN",
                name="situation",
            ),
            nullable=False,
        ),
        sa.Column("in_trade", sa.Boolean(), nullable=True),
        sa.Column("country", string(length=2), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "source", sa.Enum("LINK", "TEACHER", "IMPORT", name="answersource"), nullable=False
        ),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", moment(), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("student_id", "wave"),
    )
    op.create_index("ix_follow_up_answer_student_id", "follow_up_answer", ["student_id"])

    op.create_table(
        "survey_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("FOLLOW_UP", "HOST_REVIEW", name="surveykind"), nullable=False),
        sa.Column("token_hash", string(length=64), nullable=False),
        sa.Column("student_id", string(length=64), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", string(length=64), nullable=True),
        sa.Column("recipient", string(length=254), nullable=False),
        sa.Column("language", string(length=8), nullable=False),
        sa.Column("created_at", moment(), nullable=False),
        sa.Column("expires_at", moment(), nullable=False),
        sa.Column("used_at", moment(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("last_reminded_at", moment(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_link_student_id", "survey_link", ["student_id"])
    op.create_index("ix_survey_link_token_hash", "survey_link", ["token_hash"], unique=True)

    op.create_table(
        "host_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("student_id", string(length=64), nullable=False),
        sa.Column("offer_id", string(length=64), nullable=False),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_end", sa.Date(), nullable=True),
        sa.Column("days_absent", sa.Integer(), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("comment", string(length=2000), nullable=False),
        sa.Column("would_host_again", sa.Boolean(), nullable=True),
        sa.Column("language", string(length=8), nullable=False),
        sa.Column("answered_at", moment(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "student_id"),
    )
    op.create_index("ix_host_review_round_id", "host_review", ["round_id"])
    op.create_index("ix_host_review_student_id", "host_review", ["student_id"])


def downgrade() -> None:
    for table in ("host_review", "survey_link", "follow_up_answer", "placement_outcome"):
        op.drop_table(table)
    bind = op.get_bind()
    for enum in ("surveykind", "answersource", "situation", "interruptionreason"):
        sa.Enum(name=enum).drop(bind, checkfirst=True)
    sa.Enum(name="placementoutcomekind").drop(bind, checkfirst=True)
    op.drop_index("ix_student_cohort", table_name="student")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy and drop `student`
    # and `round`, which other tables' foreign keys refer to.
    for table, column in (
        ("student", "guardian_consent_on"),
        ("student", "cohort"),
        ("round", "fairness_price"),
        ("round", "software"),
        ("round", "inputs_sha256"),
    ):
        op.drop_column(table, column)
    # PostgreSQL cannot drop a value from an enum type: `evaluator` stays in `role`.
