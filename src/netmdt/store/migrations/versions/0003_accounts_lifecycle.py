"""Account lifecycle and login throttling: session epochs, token expiry, last use and
revocation time, user deactivation; atomic login-throttling counters (replacing the
unbounded login_failures table); a credential epoch that empties every process's token
cache; unique agenda positions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True)))

    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_name"))
    op.drop_table("login_failures")
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("trusted_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_attempts_window_start"), ["window_start"], unique=False
        )

    epoch = op.create_table(
        "credential_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_epoch")),
    )
    op.bulk_insert(epoch, [{"id": 1, "epoch": 0}])

    # Agendas built by concurrent additions may hold duplicate positions: renumber each
    # meeting's items 1..n in their current order before positions become unique.
    # (Ranks from one snapshot first: an UPDATE with a correlated count would see the rows
    # it has already renumbered on SQLite.)
    op.execute(
        "CREATE TEMPORARY TABLE agenda_ranks AS SELECT id, ROW_NUMBER() OVER "
        "(PARTITION BY meeting_id ORDER BY position, id) AS rank FROM agenda_items"
    )
    op.execute(
        "UPDATE agenda_items SET position = "
        "(SELECT rank FROM agenda_ranks WHERE agenda_ranks.id = agenda_items.id)"
    )
    op.execute("DROP TABLE agenda_ranks")
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_agenda_items_position", ["meeting_id", "position"])


def downgrade() -> None:
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_constraint("uq_agenda_items_position", type_="unique")
    op.drop_table("credential_epoch")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_window_start"))
    op.drop_table("login_attempts")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_name"), ["name"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("deactivated_at")
        batch_op.drop_column("session_epoch")
