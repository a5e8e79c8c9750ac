"""Trial referrals: the trial card a decision choosing ``clinical_trial`` refers to.

Revision ID: 0008_trials
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_trials"
down_revision = "0007_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trial_ref", sa.String(80)))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("trial_ref")
