"""``netmdt serve``, ``netmdt user add`` and ``netmdt token create``: the web service and
its accounts. Settings come from ``NETMDT_*`` environment variables (docs/web.md)."""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from netmdt.config import Settings
from netmdt.errors import ConflictError, RecordValidationError
from netmdt.store import tables as t

user_app = typer.Typer(help="Manage the web app's users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
err = Console(stderr=True, highlight=False)


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

    settings = Settings()
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


def _sessions() -> sessionmaker[Session]:
    from netmdt.store.db import make_engine, migrate, session_factory

    engine = make_engine(Settings().database_url)
    migrate(engine)
    return session_factory(engine)


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
            "--role", help="admin, coordinator, clinician or auditor; repeat for several."
        ),
    ],
) -> None:
    """Add a user; the password is read from a prompt, or from stdin when piped."""
    from netmdt.api.routes import add_user, user_input

    try:
        data = user_input(name, role, _read_password())
        with _sessions()() as db:
            add_user(db, "netmdt-cli", data)
    except RecordValidationError as error:
        for problem in error.problems:
            err.print(f"error: {problem}")
        raise typer.Exit(2) from None
    except ConflictError as error:
        err.print(f"error: {error}")
        raise typer.Exit(2) from None
    err.print(f"User {name} added with role(s) {', '.join(role)}.")


@token_app.command("create")
def token_create(name: Annotated[str, typer.Argument(help="The user the token acts as.")]) -> None:
    """Print a new API token for a user (shown once; only its hash is stored)."""
    from netmdt.api.security import create_token

    with _sessions()() as db:
        user = db.scalar(select(t.User).where(t.User.name == name, t.User.active.is_(True)))
        if user is None:
            err.print(f"error: no active user called {name!r}")
            raise typer.Exit(2)
        print(create_token(db, user))
