"""``netmdt fhir ...``: import FHIR resources as a case.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, never a traceback).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
import yaml

from netmdt.errors import NetmdtError
from netmdt.fhir.importer import import_fhir

fhir_app = typer.Typer(
    help="Import FHIR R4 / mCODE resources as a case.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(lines: list[str]) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(2)


@fhir_app.command("import")
def import_cmd(
    bundle: Annotated[
        Path, typer.Argument(help="A Bundle JSON file, or a folder of resource JSON files.")
    ],
    assessed_on: Annotated[
        str | None,
        typer.Option("--assessed-on", help="Date the facts refer to (default: today)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the case (YAML) here, not to stdout.")
    ] = None,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Print every fact's provenance, what was not mapped "
            "and what is unknown (on stderr).",
        ),
    ] = False,
    health_system: Annotated[
        str | None, typer.Option("--health-system", help="nhs_england or other.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse input with any invalid resource.")
    ] = False,
) -> None:
    """Build a case from FHIR resources; every fact keeps its provenance."""
    try:
        day = date.fromisoformat(assessed_on) if assessed_on else date.today()
    except ValueError:
        raise _fail([f"--assessed-on: {assessed_on!r} is not an ISO date (YYYY-MM-DD)"]) from None
    if health_system not in (None, "nhs_england", "other"):
        raise _fail([f"--health-system: {health_system!r}; allowed: nhs_england, other"])
    try:
        result = import_fhir(
            bundle,
            assessed_on=day,
            health_system=health_system,  # type: ignore[arg-type]
            strict=strict,
        )
    except NetmdtError as e:
        raise _fail(str(e).splitlines()) from None
    text = yaml.safe_dump(
        result.case.model_dump(exclude_none=True), sort_keys=False, allow_unicode=True
    )
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    if report:
        typer.echo(result.report.text(), err=True)
    else:
        for w in result.report.warnings:
            typer.echo(f"warning: {w}", err=True)
