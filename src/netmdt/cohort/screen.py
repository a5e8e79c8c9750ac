"""``netmdt screen``: a whole cohort through the knowledge base, in DuckDB."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from netmdt.assessment import VERDICTS
from netmdt.cohort.io import load_cohort, read_results, write_results
from netmdt.cohort.sql import OPEN_TRIAL, _trial_arms, screen_sql
from netmdt.engine.expr import Apply, DefRef, ExprError, FieldRef, Node
from netmdt.errors import CohortError
from netmdt.kb.load import parse_filter
from netmdt.kb.model import KnowledgeBase
from netmdt.textcheck import shown


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
        check_where(where)
        try:
            node = parse_filter(kb, where)
            if _reads(node, OPEN_TRIAL) and any(a.here for a in _trial_arms(kb)):
                raise CohortError(
                    f"--where: {OPEN_TRIAL} cannot be filtered on while trials are open at "
                    "our centre (a filter sees the case alone); use --option clinical_trial "
                    "or the trial columns of the results"
                )
            where_sql = node.sql("duckdb")
        except ExprError as exc:
            raise CohortError(f"--where: {exc}") from None
        except (RecursionError, ValueError) as exc:
            raise CohortError(f"--where: cannot be read ({shown(str(exc))})") from None
    con = con or duckdb.connect()
    try:
        return _screen(kb, source, out, assessed_on, options, verdicts, where_sql, progress, con)
    except duckdb.Error as exc:  # e.g. a filter DuckDB cannot bind: a message, not a trace
        raise CohortError(f"cannot screen {source.name}: {shown(str(exc), 300)}") from None


MAX_WHERE = 2000  # characters of a --where expression
MAX_DIGITS = 30  # digits of a number in it
MAX_NESTING = 100  # parentheses and "not"s in it


def check_where(where: str) -> None:
    """Bounds on a --where expression, before it is parsed: its length, the length of its
    numbers (a 400-digit number is ``inf`` as a float) and how deeply it nests."""
    for number in re.findall(r"\d[\d.]*", where):
        if sum(c.isdigit() for c in number) > MAX_DIGITS:
            raise CohortError(
                f"--where: the number {shown(number, 40)} has more than {MAX_DIGITS} digits"
            )
    depth = deepest = 0
    for char in where:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    nots = len(re.findall(r"\bnot\b", where))
    if deepest > MAX_NESTING or nots > MAX_NESTING:
        raise CohortError(f"--where: nested more than {MAX_NESTING} deep")
    if len(where) > MAX_WHERE:
        raise CohortError(f"--where: longer than {MAX_WHERE} characters")


def _screen(
    kb: KnowledgeBase,
    source: Path,
    out: Path,
    assessed_on: date,
    options: list[str] | None,
    verdicts: list[str] | None,
    where_sql: str | None,
    progress: Console | None,
    con: duckdb.DuckDBPyConnection,
) -> Summary:
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
            n = int((con.execute(f"SELECT count(*) FROM {_cases(where_sql)}").fetchone() or [0])[0])
        bar.update(task, description=f"screening {n:,} cases into {out.name}")
        keep_order(con)
        query = results_query(kb, options, verdicts, where_sql)
        if out.suffix.lower() == ".csv":  # a list column: ';'-separated, like missing
            query = (
                "SELECT * REPLACE (array_to_string(pending_checks, ';') AS pending_checks) "
                f"FROM ({query})"
            )
        write_results(con, query, out)
    summary = Summary(cases=n)
    written = read_results(con, out).aggregate("option, verdict, count(*)").order("ALL")
    for option, verdict, count in written.fetchall():
        summary.counts.setdefault(option, {})[verdict] = count
    return summary


def _reads(node: Node, path: str) -> bool:
    """Whether a parsed expression reads the field ``path`` (through definitions too)."""
    if isinstance(node, FieldRef):
        return node.info.path == path
    if isinstance(node, DefRef):
        return _reads(node.definition.expr, path)
    if isinstance(node, Apply):
        return any(_reads(a, path) for a in node.args)
    return False


def _cases(where_sql: str | None) -> str:
    if not where_sql:
        return "cases"
    return f"(SELECT * FROM cases WHERE coalesce(({where_sql}), FALSE)) AS cases"


def results_query(
    kb: KnowledgeBase,
    options: list[str] | None = None,
    verdicts: list[str] | None = None,
    where_sql: str | None = None,
) -> str:
    """The rows ``screen`` writes: each case's rows in the order of the cases table, then
    by option id; the closed sets of values as ENUMs (Parquet and CSV readers see text)."""
    query = screen_sql(kb, sorted(options or kb.options), table=_cases(where_sql), enums=True)
    if verdicts:
        return f"SELECT * FROM ({query}) WHERE verdict IN ({', '.join(map(repr, verdicts))})"
    return query


def keep_order(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``results_query`` stream in the table's order: a scan keeps it through
    projections, filters and unnesting (preserve_insertion_order), not through a join, so
    long IN lists stay expressions instead of becoming joins (the in_clause rewrite).
    One query writes the whole file: no chunks, no part files, no sort."""
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET disabled_optimizers = 'in_clause'")
