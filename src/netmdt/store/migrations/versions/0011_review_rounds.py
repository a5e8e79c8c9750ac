"""Review rounds with several reviewers (openEHR CKM style): the round (closed with a
final review, or cancelled), each invited reviewer's response, and the round a review
record closed.

Revision ID: 0011_review_rounds
Revises: 0009_case_narrative
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_review_rounds"
down_revision = "0010_decision_investigations"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kb_review_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("reviewers", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verdict", sa.String(length=40), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_review_rounds")),
    )
    op.create_table(
        "kb_round_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=80), nullable=False),
        sa.Column("verdict", sa.String(length=40), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["kb_review_rounds.id"],
            name=op.f("fk_kb_round_responses_round_id_kb_review_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_round_responses")),
        sa.UniqueConstraint("round_id", "reviewer", name=op.f("uq_kb_round_responses_round_id")),
    )
    op.create_index(op.f("ix_kb_round_responses_round_id"), "kb_round_responses", ["round_id"])
    with op.batch_alter_table("kb_reviews") as batch:
        batch.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_kb_reviews_round_id"), ["round_id"])
        batch.create_foreign_key(
            batch.f("fk_kb_reviews_round_id_kb_review_rounds"),
            "kb_review_rounds",
            ["round_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("kb_reviews") as batch:
        batch.drop_constraint(batch.f("fk_kb_reviews_round_id_kb_review_rounds"), "foreignkey")
        batch.drop_index(batch.f("ix_kb_reviews_round_id"))
        batch.drop_column("round_id")
    op.drop_index(op.f("ix_kb_round_responses_round_id"), "kb_round_responses")
    op.drop_table("kb_round_responses")
    op.drop_table("kb_review_rounds")
