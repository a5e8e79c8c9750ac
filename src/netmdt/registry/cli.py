"""``netmdt registry ...``: the centre's registry status, the audit report, the export for
pooling and the overdue list. The database is ``--db`` or NETMDT_DATABASE_URL (as for
``serve``); every command is audited as the operating-system user running it."""

from __future__ import annotations

import getpass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from netmdt.errors import NetmdtError
from netmdt.registry.schemas import RecordOut
from netmdt.store.db import opened

registry_app = typer.Typer(
    help="The prospective PRRT audit registry: status, report, export, overdue.",
    no_args_is_help=True,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: NETMDT_DATABASE_URL, as for serve)."),
]


class StatusChoice(StrEnum):
    open = "open"
    on_hold = "on_hold"
    closed = "closed"


class ExportFormat(StrEnum):
    redcap = "redcap"
    csv = "csv"
    parquet = "parquet"


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@registry_app.command("status")
def status_cmd(
    set_to: Annotated[
        StatusChoice | None, typer.Option("--set", help="Set the centre's registry status.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Show (or --set) the centre's PRRT registry status; the engine's funding note reads it."""
    from netmdt.registry.status import current_status, history, set_status
    from netmdt.store.services import audit

    with opened(db) as session:
        if set_to is not None:
            set_status(session, _actor(), set_to.value)
        else:
            audit(session, _actor(), "read", "registry_status")
            session.commit()
        now = current_status(session)
        print(now or "on_hold (the knowledge base's default; never set)")
        for row in history(session)[-5:]:
            print(f"  {row.set_at:%Y-%m-%d %H:%M} {row.status} by {row.set_by}")


@registry_app.command("report")
def report_cmd(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the report as a PDF to this file.")
    ] = None,
    db: DbOption = None,
) -> None:
    """The audit report (PDF with --out, else a text summary)."""
    from netmdt.registry.report import report_data, report_pdf

    with opened(db) as session:
        data = report_data(session, _actor(), date.today())
    if out is not None:
        out.write_bytes(report_pdf(data))
        print(f"wrote {out}")
        return
    print(f"PRRT audit registry: {data['n']} enrolled, {data['treated']} treated")
    for sub, n in data["by_subgroup"].items():
        print(f"  {data['words'].get(sub, sub)}: {n}")
    for end in ("pfs", "os"):
        c = data["curves"][end]["overall"]
        if c is not None:
            median = "not reached" if c.median_months is None else f"{c.median_months:.1f}"
            print(f"  {end.upper()}: {c.events} event(s) in {c.n}; median (months): {median}")


@registry_app.command("export")
def export_cmd(
    format: Annotated[ExportFormat, typer.Option("--format", help="redcap, csv or parquet.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    db: DbOption = None,
) -> None:
    """Export the registry for pooling: REDCap data dictionary + flat records, or one
    CSV/Parquet table per form."""
    from netmdt.registry import redcap
    from netmdt.registry.service import list_enrolments
    from netmdt.store.services import audit

    with opened(db) as session:
        records = list_enrolments(session, _actor())
        audit(
            session, _actor(), "export", "registry", None, format=format.value, count=len(records)
        )
        session.commit()
    if format is ExportFormat.redcap:
        written = redcap.write(records, out)
    else:
        try:
            written = tables_export(records, out, format.value)
        except NetmdtError as e:
            err.print(str(e))
            raise typer.Exit(2) from None
    for path in written:
        print(path)


def tables_export(records: list[RecordOut], out: Path, fmt: str) -> list[Path]:
    """One table per form (the REDCap forms' fields), CSV or Parquet (through DuckDB)."""
    import csv

    from netmdt.errors import CohortError
    from netmdt.registry import redcap

    rows = redcap.records_of(records)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for form in redcap.FORMS:
        names = [f.name for f in redcap.DICTIONARY if f.form == form and f.name != "record_id"]
        repeating = form in redcap.REPEATING
        mine = [r for r in rows if r["redcap_repeat_instrument"] == (form if repeating else "")]
        cols = ["record_id", *(["instance"] if repeating else []), *names]
        table = [
            {"record_id": r["record_id"], "instance": r["redcap_repeat_instance"]}
            | {n: r[n] for n in names}
            for r in mine
        ]
        path = out / f"{form}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            w = csv.DictWriter(handle, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(table)
        if fmt == "parquet":
            try:
                import duckdb
            except ImportError:
                raise CohortError("Parquet export needs DuckDB (pip install duckdb)") from None
            target = out / f"{form}.parquet"
            con = duckdb.connect()
            con.execute(
                f"COPY (SELECT * FROM read_csv('{path}', all_varchar=true, header=true)) "
                f"TO '{target}' (FORMAT parquet)"
            )
            con.close()
            path.unlink()
            path = target
        written.append(path)
    return written


@registry_app.command("overdue")
def overdue_cmd(db: DbOption = None) -> None:
    """Post-cycle bloods, restaging scans and follow-up contacts that are overdue."""
    from netmdt.registry.service import overdue

    with opened(db) as session:
        for item in overdue(session, _actor(), date.today()):
            print(f"R{item['enrolment']}: {item['what']} (due {item['due']})")
