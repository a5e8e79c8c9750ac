"""The case narrative: question for the MDT, clinical history, pathology and radiology
report excerpts, in versions (never read by the engine).

Revision ID: 0009_case_narrative
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_case_narrative"
down_revision = "0008_trials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_narratives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("clinical_history", sa.Text(), nullable=False),
        sa.Column("pathology", sa.Text(), nullable=False),
        sa.Column("radiology", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_narratives_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_narratives")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_case_narratives_case_id")),
    )
    with op.batch_alter_table("case_narratives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_narratives_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_narratives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_narratives_case_id"))
    op.drop_table("case_narratives")
