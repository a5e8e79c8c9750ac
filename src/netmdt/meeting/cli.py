"""``netmdt meeting``: the minutes of a meeting as a PDF or HTML file, from the command line
(for the MDT coordinator's records; audited as an export by ``netmdt-cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="MDT meetings: minutes (docs/meetings.md).", no_args_is_help=True)


@app.command("minutes")
def minutes(
    meeting_id: Annotated[int, typer.Argument(help="The meeting's number (as in /meetings/ID)")],
    out: Annotated[Path, typer.Option("--out", help="The file to write: .pdf, or .html")],
) -> None:
    """Write a meeting's minutes (attendance, quoracy, each case's outcome and actions)."""
    from netmdt.config import load_settings
    from netmdt.errors import NotFoundError
    from netmdt.kb import load_kb
    from netmdt.meeting import render as docs
    from netmdt.meeting.web import minutes_args
    from netmdt.store.db import opened
    from netmdt.store.services import Actor

    settings = load_settings()
    actor = Actor("netmdt-cli", frozenset())
    try:
        with opened(settings.database_url) as db:
            args = minutes_args(db, settings, load_kb(), actor, meeting_id)
    except NotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if out.suffix == ".pdf":
        out.write_bytes(docs.pdf(docs.minutes_html, *args))
    else:
        out.write_text(docs.pdf_source(docs.minutes_html, *args))
    typer.echo(f"wrote {out}")
