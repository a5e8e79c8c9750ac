"""The MDT meeting (issue #11): members and attendance, per-item records (question,
status, review lists, follow-up, patient told, letter recipients), actions, cancer
waiting-time dates per case; users' full name and professional role.

Revision ID: 0004_meeting
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_meeting"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("professional_role", sa.String(length=40), nullable=True))
    op.create_table(
        "mdt_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mdt_members")),
    )
    op.create_table(
        "meeting_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_attendance_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["mdt_members.id"],
            name=op.f("fk_meeting_attendance_member_id_mdt_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendance")),
        sa.UniqueConstraint(
            "meeting_id", "member_id", name=op.f("uq_meeting_attendance_meeting_id")
        ),
    )
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_attendance_meeting_id"), ["meeting_id"], unique=False
        )
    op.create_table(
        "agenda_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("pathology_review", sa.Boolean(), nullable=False),
        sa.Column("radiology_review", sa.Boolean(), nullable=False),
        sa.Column("follow_up", sa.String(length=20), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("responsible_clinician", sa.String(length=200), nullable=True),
        sa.Column("key_worker", sa.String(length=200), nullable=True),
        sa.Column("patient_told", sa.String(length=10), nullable=False),
        sa.Column("patient_told_on", sa.Date(), nullable=True),
        sa.Column("gp", sa.Text(), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_agenda_records_agenda_item_id_agenda_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_records")),
        sa.UniqueConstraint("agenda_item_id", name=op.f("uq_agenda_records_agenda_item_id")),
    )
    op.create_table(
        "meeting_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_meeting_actions_agenda_item_id_agenda_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_actions")),
    )
    with op.batch_alter_table("meeting_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_actions_agenda_item_id"), ["agenda_item_id"], unique=False
        )
    op.create_table(
        "pathway_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("referral_on", sa.Date(), nullable=True),
        sa.Column("diagnosis_told_on", sa.Date(), nullable=True),
        sa.Column("decision_to_treat_on", sa.Date(), nullable=True),
        sa.Column("first_treatment_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_pathway_dates_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_dates")),
        sa.UniqueConstraint("case_id", name=op.f("uq_pathway_dates_case_id")),
    )


def downgrade() -> None:
    op.drop_table("pathway_dates")
    with op.batch_alter_table("meeting_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_actions_agenda_item_id"))
    op.drop_table("meeting_actions")
    op.drop_table("agenda_records")
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attendance_meeting_id"))
    op.drop_table("meeting_attendance")
    op.drop_table("mdt_members")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("professional_role")
        batch_op.drop_column("full_name")
