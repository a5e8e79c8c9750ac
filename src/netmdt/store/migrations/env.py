"""Alembic environment: netmdt runs migrations in-process (``netmdt.store.db.migrate``),
handing over its own connection; no logging configuration is touched."""

from __future__ import annotations

from alembic import context

import netmdt.governance.tables
import netmdt.meeting.tables
import netmdt.narrative.tables
import netmdt.registry.tables
import netmdt.survey.tables  # noqa: F401  (the survey's tables on the same metadata)
from netmdt.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
