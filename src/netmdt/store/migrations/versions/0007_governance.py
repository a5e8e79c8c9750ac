"""Clinical governance of the knowledge base: review records, local settings, releases,
and the release each stored assessment was made with.

Revision ID: 0007_governance
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_governance"
down_revision = "0006_survey"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kb_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reviewer", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_reviews")),
    )
    op.create_index(op.f("ix_kb_reviews_item"), "kb_reviews", ["item"])
    op.create_table(
        "kb_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("set_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_settings")),
    )
    op.create_index(op.f("ix_kb_settings_name"), "kb_settings", ["name"])
    op.create_table(
        "kb_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release", sa.String(length=80), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("kb_version", sa.String(length=40), nullable=False),
        sa.Column("kb_fingerprint", sa.String(length=80), nullable=False),
        sa.Column("content_fingerprint", sa.String(length=80), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("reviews", JSON, nullable=False),
        sa.Column("impact", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_by", sa.String(length=80), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_releases")),
        sa.UniqueConstraint("release", name=op.f("uq_kb_releases_release")),
    )
    op.create_table(
        "assessment_releases",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_releases_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["kb_releases.id"],
            name=op.f("fk_assessment_releases_release_id_kb_releases"),
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_assessment_releases")),
    )
    op.create_index(
        op.f("ix_assessment_releases_release_id"), "assessment_releases", ["release_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_assessment_releases_release_id"), table_name="assessment_releases")
    op.drop_table("assessment_releases")
    op.drop_table("kb_releases")
    op.drop_index(op.f("ix_kb_settings_name"), table_name="kb_settings")
    op.drop_table("kb_settings")
    op.drop_index(op.f("ix_kb_reviews_item"), table_name="kb_reviews")
    op.drop_table("kb_reviews")
