"""``netmdt serve``, ``netmdt user ...``, ``netmdt token ...`` and ``netmdt db upgrade``:
the web service, its accounts and its database. Settings come from ``NETMDT_*``
environment variables (docs/web.md)."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import select

from netmdt.config import load_settings
from netmdt.errors import ConflictError, NotFoundError, RecordValidationError
from netmdt.store import tables as t
from netmdt.store.db import opened

user_app = typer.Typer(help="Manage the web app's users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per problem


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the demo patients and meeting (on an empty database) and print a "
            "freshly generated login for the demo user.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Worker processes (each answers requests; more use more cores)."),
    ] = 1,
) -> None:
    """Run the MDT web app and API (migrations are applied on start)."""
    import uvicorn

    from netmdt.api import create_app
    from netmdt.api.logs import configure, log_config

    settings = load_settings()
    configure()  # third-party loggers quiet; nothing that identifies a patient (api/logs.py)
    app = create_app(settings)
    if demo:
        from netmdt.demo import load_demo

        state = app.state.netmdt
        try:
            login = load_demo(state.sessions, state.kb, datetime.now(UTC).date())
        except ConflictError as error:
            err.print(f"error: {error}")
            raise typer.Exit(2) from None
        err.print(f"Demo data in {settings.database_url} ({login.patients_loaded} new patients).")
        err.print(
            f"Open http://{host}:{port}/ and log in as [bold]{login.name}[/bold] "
            f"with password [bold]{login.password}[/bold]"
        )
        if login.survey_path:
            err.print(
                f"A demo patient's injection-survey link: http://{host}:{port}{login.survey_path}"
            )
    if workers == 1:
        uvicorn.run(app, host=host, port=port, access_log=False, log_config=log_config())
        return
    # Several processes: each builds its own app from the environment; they must share
    # the key that signs session cookies, or a login would hold in one worker only.
    os.environ["NETMDT_SECRET_KEY"] = settings.secret_key or secrets.token_urlsafe(32)
    uvicorn.run(
        "netmdt.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=log_config(),
    )


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Again: ") != first:
        err.print("The passwords differ.")
        raise typer.Exit(2)
    return first


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="admin, coordinator, clinician, auditor or clinical_lead; repeat for several.",
        ),
    ],
) -> None:
    """Add a user; the password is read from a prompt, or from stdin when piped."""
    from netmdt.api.routes import add_user, user_input

    try:
        data = user_input(name, role, _read_password())
        with opened() as db:
            add_user(db, "netmdt-cli", data)
    except RecordValidationError as error:
        for problem in error.problems:
            err.print(f"error: {problem}")
        raise typer.Exit(2) from None
    except ConflictError as error:
        err.print(f"error: {error}")
        raise typer.Exit(2) from None
    err.print(f"User {name} added with role(s) {', '.join(role)}.")


@contextmanager
def _cli_errors() -> Iterator[None]:
    """The CLI contract: exit 2 with one line per problem, never a traceback."""
    try:
        yield
    except RecordValidationError as error:
        for problem in error.problems:
            err.print(f"error: {problem}")
        raise typer.Exit(2) from None
    except (ConflictError, NotFoundError) as error:
        err.print(f"error: {error}")
        raise typer.Exit(2) from None


@user_app.command("list")
def user_list() -> None:
    """List the users: name, roles, active or not."""
    with opened() as db:
        for user in db.scalars(select(t.User).order_by(t.User.name)):
            state = "active" if user.active else "deactivated"
            print(f"{user.name}\t{','.join(user.roles)}\t{state}")


@user_app.command("deactivate")
def user_deactivate(name: Annotated[str, typer.Argument(help="The user to deactivate.")]) -> None:
    """Deactivate a user at once: logins refused, sessions ended, every token revoked."""
    from netmdt.store import accounts

    with _cli_errors(), opened() as db:
        accounts.deactivate_user(db, "netmdt-cli", accounts.user_named(db, name))
    err.print(f"User {name} deactivated: sessions ended, API tokens revoked.")


@user_app.command("activate")
def user_activate(name: Annotated[str, typer.Argument(help="The user to reactivate.")]) -> None:
    """Let a deactivated user log in again (revoked tokens stay revoked)."""
    from netmdt.store import accounts

    with _cli_errors(), opened() as db:
        accounts.activate_user(db, "netmdt-cli", accounts.user_named(db, name))
    err.print(f"User {name} reactivated.")


@user_app.command("password")
def user_password(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Set a user's password (prompt, or stdin when piped); their sessions end."""
    from netmdt.store import accounts

    with _cli_errors():
        password = _read_password()
        with opened() as db:
            accounts.set_password(db, "netmdt-cli", accounts.user_named(db, name), password)
    err.print(f"Password of {name} changed; their sessions have ended.")


def _expiry(text: str, default_days: float) -> datetime | None:
    """``--expires``: a number of days, a date (YYYY-MM-DD, end of that day UTC) or never."""
    text = text.strip().lower()
    if text == "never":
        return None
    now = datetime.now(UTC)
    try:
        days = float(text.removesuffix("d")) if text else default_days
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            err.print(f"error: --expires: {text!r} is not a number of days, a date or 'never'")
            raise typer.Exit(2) from None
        moment = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    else:
        if not 0 < days <= 3650:
            err.print("error: --expires: days must be more than 0 and at most 3650")
            raise typer.Exit(2)
        moment = now + timedelta(days=days)
    if moment <= now:
        err.print("error: --expires: that date has passed")
        raise typer.Exit(2)
    return moment


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    expires: Annotated[
        str,
        typer.Option(
            help="Days until it expires (e.g. 30), a date (2027-03-31) or 'never'. "
            "Default: NETMDT_TOKEN_EXPIRY_DAYS (90).",
        ),
    ] = "",
) -> None:
    """Print a new API token for a user (shown once; only its hash is stored)."""
    from netmdt.api.security import create_token

    settings = load_settings()
    expires_at = _expiry(expires, settings.token_expiry_days)
    with opened() as db:
        user = db.scalar(select(t.User).where(t.User.name == name, t.User.active.is_(True)))
        if user is None:
            err.print(f"error: no active user called {name!r}")
            raise typer.Exit(2)
        print(create_token(db, user, expires_at=expires_at, actor="netmdt-cli"))
    err.print(
        f"Token for {name}, expires {expires_at:%Y-%m-%d %H:%M} UTC."
        if expires_at
        else f"Token for {name}, never expires."
    )


def _when(moment: datetime | None, empty: str) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else empty


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
) -> None:
    """List API tokens: id, user, created, expires, last used, status (never the token)."""
    from netmdt.store import accounts

    with _cli_errors(), opened() as db:
        tokens = accounts.list_tokens(db, "netmdt-cli", user)
    print("id\tuser\tcreated\texpires\tlast_used\tstatus")
    for tk in tokens:
        status = f"revoked {_when(tk.revoked_at, '')}".strip() if tk.revoked else "valid"
        if (
            not tk.revoked
            and tk.expires_at
            and tk.expires_at.replace(tzinfo=UTC) <= datetime.now(UTC)
        ):
            status = "expired"
        print(
            f"{tk.id}\t{tk.user}\t{_when(tk.created_at, '')}\t{_when(tk.expires_at, 'never')}"
            f"\t{_when(tk.last_used_at, 'never')}\t{status}"
        )


@token_app.command("revoke")
def token_revoke(
    tokens: Annotated[
        list[str] | None,
        typer.Argument(help="Token ids (from `netmdt token list`) or the tokens themselves."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Revoke every token of this user instead.")
    ] = None,
) -> None:
    """Revoke API tokens (a running server refuses them within a second)."""
    from netmdt.api.security import TOKEN_PREFIX, token_hash
    from netmdt.store import accounts

    if not tokens and not user:
        err.print("error: name token ids, tokens, or --user NAME")
        raise typer.Exit(2)
    with _cli_errors(), opened() as db:
        ids: list[int] = []
        for item in tokens or []:
            if item.startswith(TOKEN_PREFIX):
                ids.append(accounts.token_id_of(db, token_hash(item)))
            elif item.isascii() and item.isdigit():
                ids.append(int(item))
            else:
                err.print(f"error: {item!r} is neither a token id nor a token ({TOKEN_PREFIX}...)")
                raise typer.Exit(2)
        if user:
            accounts.user_named(db, user)
            ids += [tk.id for tk in accounts.list_tokens(db, "netmdt-cli", user) if not tk.revoked]
        for token_id in ids:
            accounts.revoke_token(db, "netmdt-cli", token_id)
            err.print(f"Token {token_id} revoked.")


@db_app.command("upgrade")
def db_upgrade(
    grant: Annotated[
        str | None,
        typer.Option(
            "--grant",
            help="PostgreSQL: the app's own (restricted) role, given only the rights it needs "
            "(audit_events: SELECT and INSERT only).",
        ),
    ] = None,
) -> None:
    """Apply the migrations (as the database owner); --grant: the app's restricted role."""
    from netmdt.store.db import grant_app_role, make_engine, migrate

    engine = make_engine(load_settings().database_url)
    try:
        migrate(engine)
        if grant and engine.dialect.name != "postgresql":
            err.print("error: --grant is for PostgreSQL (SQLite has no roles)")
            raise typer.Exit(2)
        if grant:
            try:
                grant_app_role(engine, grant)
            except ValueError as error:
                err.print(f"error: {error}")
                raise typer.Exit(2) from None
    finally:
        engine.dispose()
    err.print(f"Migrated; role {grant} granted the app's rights." if grant else "Migrated.")
