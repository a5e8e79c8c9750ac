"""``netmdt survey``: export the survey definition, invite patients (one-time links),
issue scheduled links that are due, record an opt-out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from netmdt.errors import NetmdtError, NotFoundError

survey_app = typer.Typer(
    help="The patient survey of SSA injections (docs/survey.md).", no_args_is_help=True
)
err = Console(stderr=True, highlight=False)
ACTOR = "netmdt-cli"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: NETMDT_DATABASE_URL or sqlite:///netmdt.db)."
    ),
]
SurveyOption = Annotated[str, typer.Option("--survey", help="Survey id.")]


@contextmanager
def _db(url: str | None) -> Iterator[Session]:
    from netmdt.store.db import opened

    try:
        with opened(url) as db:
            yield db
    except (NetmdtError, KeyError) as error:
        err.print(f"error: {error}")
        raise typer.Exit(2) from None


def _base_url() -> str:
    from netmdt.config import load_settings

    return load_settings().base_url


@survey_app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="fhir, redcap or xlsform.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    survey: SurveyOption = "ssa_injection",
) -> None:
    """Write the survey as a FHIR Questionnaire (JSON), a REDCap data dictionary (CSV)
    or an XLSForm (.xlsx)."""
    from netmdt.survey.export import export
    from netmdt.survey.model import load_survey

    if fmt not in ("fhir", "redcap", "xlsform"):
        err.print(f"error: --format: {fmt!r} is not one of fhir, redcap, xlsform")
        raise typer.Exit(2)
    try:
        definition = load_survey(survey)
    except KeyError as error:
        err.print(f"error: --survey: {error.args[0]}")
        raise typer.Exit(2) from None
    export(definition, fmt, out)
    err.print(f"Wrote {definition.id} {definition.version} as {fmt} to {out}.")


@survey_app.command("invite")
def invite_cmd(
    patient_id: Annotated[int, typer.Argument(help="The patient's record id in netmdt.")],
    db: DbOption = None,
    injection_date: Annotated[
        str | None,
        typer.Option("--injection-date", help="YYYY-MM-DD; with --schedule, days count from it."),
    ] = None,
    schedule: Annotated[
        bool, typer.Option("--schedule", help="Also schedule day 14 and day 28 links.")
    ] = False,
    survey: SurveyOption = "ssa_injection",
) -> None:
    """Print a one-time link for the patient (opaque token; only its hash is stored)."""
    from netmdt.survey.service import SCHEDULE_DAYS, invite

    today = date.today()
    try:
        when = date.fromisoformat(injection_date) if injection_date else None
    except ValueError:
        err.print("error: --injection-date: give a date as YYYY-MM-DD")
        raise typer.Exit(2) from None
    days = SCHEDULE_DAYS if schedule else (0,)
    with _db(db) as session:
        issued = invite(
            session,
            ACTOR,
            patient_id,
            today=today,
            injection_date=when,
            days=days,
            survey_id=survey,
        )
    for link in issued:
        print(link.link(_base_url()))
    if not issued:
        err.print("No link is due yet; `netmdt survey due` issues them on their day.")


@survey_app.command("due")
def due_cmd(db: DbOption = None) -> None:
    """Issue the scheduled links that are due today (skipping patients who opted out);
    print one line each: invitation id and link."""
    from netmdt.survey.service import issue_due

    with _db(db) as session:
        issued = issue_due(session, ACTOR, date.today())
    for link in issued:
        print(f"{link.invitation_id}\t{link.link(_base_url())}")


@survey_app.command("opt-out")
def opt_out_cmd(
    patient_id: Annotated[int, typer.Argument(help="The patient's record id.")],
    db: DbOption = None,
) -> None:
    """Record that the patient wants no more surveys; pending links are cancelled."""
    from netmdt.survey.service import opt_out

    with _db(db) as session:
        try:
            cancelled = opt_out(session, ACTOR, patient_id)
        except NotFoundError as error:
            err.print(f"error: {error}")
            raise typer.Exit(2) from None
    err.print(f"Patient {patient_id} opted out; {cancelled} pending invitation(s) cancelled.")
