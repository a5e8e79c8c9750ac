"""The prospective PRRT audit registry (netmdt.registry): the centre's status history,
enrolments linked to MDT decisions, cycles, labs, adverse events and scans.

Revision ID: 0005_registry
Revises: 0003
Create Date: 2026-12-02 02:33:26.403859
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_registry"
down_revision = "0004_meeting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_status_changes")),
    )
    op.create_table(
        "registry_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("case_version", sa.Integer(), nullable=False),
        sa.Column("option", sa.String(length=40), nullable=False),
        sa.Column("kb_version", sa.String(length=40), nullable=False),
        sa.Column("kb_fingerprint", sa.String(length=80), nullable=False),
        sa.Column("assessment_json", sa.Text(), nullable=False),
        sa.Column("subgroup", sa.String(length=30), nullable=False),
        sa.Column("subgroup_reason", sa.Text(), nullable=False),
        sa.Column("registry_status", sa.String(length=20), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=False),
        sa.Column("info_sheet_version", sa.String(length=40), nullable=False),
        sa.Column("planned_cycles", sa.Integer(), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("progression_date", sa.Date(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("death_cause", sa.String(length=40), nullable=True),
        sa.Column("last_contact", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_registry_enrolments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_registry_enrolments_decision_id_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_registry_enrolments_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_enrolments")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_registry_enrolments_decision_id")),
    )
    with op.batch_alter_table("registry_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_enrolments_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_enrolments_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "registry_cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("agent", sa.String(length=30), nullable=False),
        sa.Column("prescribed_gbq", sa.Float(), nullable=False),
        sa.Column("administered_gbq", sa.Float(), nullable=False),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["registry_enrolments.id"],
            name=op.f("fk_registry_cycles_enrolment_id_registry_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_cycles")),
        sa.UniqueConstraint("enrolment_id", "number", name=op.f("uq_registry_cycles_enrolment_id")),
    )
    with op.batch_alter_table("registry_cycles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_cycles_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "registry_labs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("analyte", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("lln", sa.Float(), nullable=True),
        sa.Column("uln", sa.Float(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("grade_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["registry_enrolments.id"],
            name=op.f("fk_registry_labs_enrolment_id_registry_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_labs")),
    )
    with op.batch_alter_table("registry_labs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_labs_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "registry_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("scanned_on", sa.Date(), nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column(
            "lesions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("new_lesions", sa.Boolean(), nullable=False),
        sa.Column("non_target", sa.String(length=30), nullable=False),
        sa.Column("sstr_response", sa.String(length=30), nullable=True),
        sa.Column("sum_mm", sa.Float(), nullable=False),
        sa.Column("response", sa.String(length=4), nullable=True),
        sa.Column("response_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["registry_enrolments.id"],
            name=op.f("fk_registry_scans_enrolment_id_registry_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_scans")),
    )
    with op.batch_alter_table("registry_scans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_scans_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "registry_adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("meddra_code", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("ctcae_version", sa.String(length=10), nullable=False),
        sa.Column("onset", sa.Date(), nullable=False),
        sa.Column("resolved", sa.Date(), nullable=True),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["registry_enrolments.id"],
            name=op.f("fk_registry_adverse_events_enrolment_id_registry_enrolments"),
        ),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["registry_labs.id"],
            name=op.f("fk_registry_adverse_events_lab_id_registry_labs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_adverse_events")),
    )
    with op.batch_alter_table("registry_adverse_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_adverse_events_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "registry_prom_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=30), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("scale", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("licence_ref", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["registry_enrolments.id"],
            name=op.f("fk_registry_prom_scores_enrolment_id_registry_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_prom_scores")),
    )
    with op.batch_alter_table("registry_prom_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_prom_scores_enrolment_id"), ["enrolment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_prom_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_prom_scores_enrolment_id"))

    op.drop_table("registry_prom_scores")
    with op.batch_alter_table("registry_adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_adverse_events_enrolment_id"))

    op.drop_table("registry_adverse_events")
    with op.batch_alter_table("registry_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_scans_enrolment_id"))

    op.drop_table("registry_scans")
    with op.batch_alter_table("registry_labs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_labs_enrolment_id"))

    op.drop_table("registry_labs")
    with op.batch_alter_table("registry_cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_cycles_enrolment_id"))

    op.drop_table("registry_cycles")
    with op.batch_alter_table("registry_enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_enrolments_patient_id"))
        batch_op.drop_index(batch_op.f("ix_registry_enrolments_case_id"))

    op.drop_table("registry_enrolments")
    op.drop_table("registry_status_changes")
