"""Decisions get a sequence number, unique per meeting and case; the audit log refuses
TRUNCATE on PostgreSQL too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE decisions SET sequence = (SELECT count(*) FROM decisions AS earlier "
        "WHERE earlier.meeting_id = decisions.meeting_id "
        "AND earlier.case_id = decisions.case_id AND earlier.id <= decisions.id)"
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column("sequence", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            op.f("uq_decisions_meeting_id"), ["meeting_id", "case_id", "sequence"]
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_decisions_meeting_id"), type_="unique")
        batch_op.drop_column("sequence")
