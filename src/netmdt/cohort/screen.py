"""``netmdt screen``: a whole cohort through the knowledge base, in DuckDB."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

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
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise CohortError(f"--out: unknown format {out.suffix!r}; allowed: .parquet, .csv")
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
        task = bar.add_task(f"reading and checking {source.name}", total=None)
        n = load_cohort(con, source, assessed_on)
        if where_sql:
            con.execute(f"DELETE FROM cases WHERE NOT coalesce(({where_sql}), FALSE)")
            # compact: chunks are rowid ranges, so rowids must run 0..n-1 again
            con.execute("CREATE OR REPLACE TEMP TABLE kept AS SELECT * FROM cases ORDER BY rowid")
            con.execute("DROP TABLE cases")
            con.execute("ALTER TABLE kept RENAME TO cases")
            n = int((con.execute("SELECT count(*) FROM cases").fetchone() or [0])[0])
        parts = _screen_in_chunks(con, kb, n, out, options, verdicts, bar, task)
        _concatenate(con, parts, out)
        bar.update(task, advance=1)
    summary = Summary(cases=int((con.execute("SELECT count(*) FROM cases").fetchone() or [0])[0]))
    reader = "read_parquet" if out.suffix.lower() == ".parquet" else "read_csv"
    for option, verdict, count in con.execute(
        f"SELECT option, verdict, count(*) FROM {reader}('{out}') GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        summary.counts.setdefault(option, {})[verdict] = count
    return summary


CHUNK = 100_000  # cases screened at once: bounds memory; results are written per chunk


def _chunks(n: int) -> int:
    return max(1, -(-n // CHUNK))


def _screen_in_chunks(
    con: duckdb.DuckDBPyConnection,
    kb: KnowledgeBase,
    n: int,
    out: Path,
    options: list[str] | None,
    verdicts: list[str] | None,
    bar: Progress,
    task: TaskID,
) -> list[Path]:
    """Screen the cases CHUNK at a time (by position: no copy, no full scan), each chunk to
    its own file; the concatenated files are in the input's order, then by option."""
    where = f" WHERE verdict IN ({', '.join(repr(v) for v in verdicts)})" if verdicts else ""
    parts = []
    for i in range(_chunks(n)):
        first, last = i * CHUNK + 1, min(n, (i + 1) * CHUNK)
        bar.update(
            task,
            total=_chunks(n),
            completed=i,
            description=f"screening cases {first:,}-{last:,} of {n:,}",
        )
        chunk = (
            f"(SELECT *, rowid AS _pos FROM cases WHERE rowid >= {i * CHUNK} "
            f"AND rowid < {(i + 1) * CHUNK}) AS chunk"
        )
        query = screen_sql(kb, options, table=chunk, carry=("_pos",))
        part = out.with_name(f".{out.name}.part{i:05d}.parquet")
        write_results(
            con,
            "SELECT case_id, option, verdict, funding_pathway, registry_status, missing "
            f"FROM ({query}){where} ORDER BY _pos, option",
            part,
        )
        parts.append(part)
    return parts


def _concatenate(con: duckdb.DuckDBPyConnection, parts: list[Path], out: Path) -> None:
    files = "[" + ", ".join(f"'{p}'" for p in parts) + "]"
    try:
        write_results(con, f"SELECT * FROM read_parquet({files})", out)
    finally:
        for p in parts:
            p.unlink(missing_ok=True)
