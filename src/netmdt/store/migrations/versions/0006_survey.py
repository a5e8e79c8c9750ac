"""The SSA injection survey: invitations (token hashes only), responses (FHIR
QuestionnaireResponse pinned to the survey version) and opt-outs.

Revision ID: 0006_survey
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_survey"
down_revision = "0005_registry"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.String(length=40), nullable=False),
        sa.Column("survey_version", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("injection_date", sa.Date(), nullable=True),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("issued_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_survey_invitations_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_invitations_token_hash")),
    )
    op.create_index(op.f("ix_survey_invitations_survey_id"), "survey_invitations", ["survey_id"])
    op.create_index(op.f("ix_survey_invitations_patient_id"), "survey_invitations", ["patient_id"])
    op.create_index(op.f("ix_survey_invitations_due_on"), "survey_invitations", ["due_on"])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.String(length=40), nullable=False),
        sa.Column("survey_version", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("resource", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_responses_invitation_id_survey_invitations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_survey_responses_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_survey_responses_invitation_id")),
    )
    op.create_index(op.f("ix_survey_responses_survey_id"), "survey_responses", ["survey_id"])
    op.create_index(op.f("ix_survey_responses_patient_id"), "survey_responses", ["patient_id"])
    op.create_table(
        "survey_opt_outs",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_survey_opt_outs_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_survey_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("survey_opt_outs")
    for name in ("survey_id", "patient_id"):
        op.drop_index(op.f(f"ix_survey_responses_{name}"), table_name="survey_responses")
    op.drop_table("survey_responses")
    for name in ("survey_id", "patient_id", "due_on"):
        op.drop_index(op.f(f"ix_survey_invitations_{name}"), table_name="survey_invitations")
    op.drop_table("survey_invitations")
