"""``netmdt screen``: a whole cohort through the knowledge base, in DuckDB."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from netmdt.assessment import VERDICTS
from netmdt.cohort.io import load_cohort, write_results
from netmdt.cohort.sql import screen_sql
from netmdt.engine.expr import ExprError
from netmdt.errors import CohortError
from netmdt.kb.load import parse_filter
from netmdt.kb.model import KnowledgeBase


@dataclass
class Summary:
    cases: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # option -> verdict -> n


def screen(
    kb: KnowledgeBase,
    source: Path,
    out: Path,
    assessed_on: date,
    *,
    options: list[str] | None = None,
    verdicts: list[str] | None = None,
    where: str | None = None,
    progress: Console | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Summary:
    """Load and check ``source``, screen it, write ``out``; returns counts by option."""
    for o in options or []:
        if o not in kb.options:
            raise CohortError(f"--option: unknown option {o!r}; options: {', '.join(kb.options)}")
    for v in verdicts or []:
        if v not in VERDICTS:
            raise CohortError(f"--verdict: unknown verdict {v!r}; verdicts: {', '.join(VERDICTS)}")
    where_sql = None
    if where:
        try:
            where_sql = parse_filter(kb, where).sql("duckdb")
        except ExprError as exc:
            raise CohortError(f"--where: {exc}") from None
    con = con or duckdb.connect()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=progress or Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"reading and checking {source.name}", total=3)
        n = load_cohort(con, source, assessed_on)
        if where_sql:
            con.execute(f"DELETE FROM cases WHERE NOT coalesce(({where_sql}), FALSE)")
        query = screen_sql(kb, options)
        if verdicts:
            listed = ", ".join(f"'{v}'" for v in verdicts)
            query = f"SELECT * FROM ({query}) WHERE verdict IN ({listed})"
        bar.update(task, advance=1, description=f"screening {n:,} cases into {out.name}")
        write_results(con, f"{query} ORDER BY case_id, option", out)
        bar.update(task, advance=1)
    summary = Summary(cases=int((con.execute("SELECT count(*) FROM cases").fetchone() or [0])[0]))
    reader = "read_parquet" if out.suffix.lower() == ".parquet" else "read_csv"
    for option, verdict, count in con.execute(
        f"SELECT option, verdict, count(*) FROM {reader}('{out}') GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        summary.counts.setdefault(option, {})[verdict] = count
    return summary
