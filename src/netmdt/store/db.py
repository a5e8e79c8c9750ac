"""The database engine, sessions and migrations (applied on start)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # hide_parameters: a database error's message (which may reach a log) never carries
    # the values of the statement, i.e. no patient data.
    if not url.startswith("sqlite"):
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent). Alembic is imported here, so
    that importing this module (every command does) costs no more than SQLAlchemy."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def opened(url: str | None = None) -> Iterator[Session]:
    """A session on the database at ``url`` (None: ``NETMDT_DATABASE_URL``), migrated
    first, for a command's one use: the engine and its pooled connections are closed on
    the way out."""
    from netmdt.config import load_settings

    engine = make_engine(url or load_settings().database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


def grant_app_role(engine: Engine, role: str) -> None:
    """PostgreSQL: give the app's restricted role the rights it needs and no more.

    Migrations run as the owner role; the app runs as ``role``, which owns nothing, so it
    cannot ALTER a table, disable or drop the audit log's triggers, or TRUNCATE; on
    ``audit_events`` it may only SELECT and INSERT, on ``alembic_version`` only SELECT.
    Run again after every upgrade (``netmdt db upgrade --grant ROLE`` does)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"role: {role!r} is not a plain lower-case PostgreSQL role name")
    with engine.begin() as con:
        quoted = engine.dialect.identifier_preparer.quote(role)
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
            f"REVOKE ALL ON audit_events FROM {quoted}",
            f"GRANT SELECT, INSERT ON audit_events TO {quoted}",
            f"REVOKE ALL ON alembic_version FROM {quoted}",
            f"GRANT SELECT ON alembic_version TO {quoted}",
        ):
            con.execute(text(statement))
