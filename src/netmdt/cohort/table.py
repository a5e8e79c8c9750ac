"""The flat case table the cohort SQL runs over, and loading cases into it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from netmdt.case.model import Case
from netmdt.engine.expr import column
from netmdt.engine.facts import facts_of
from netmdt.engine.sql import case_table_columns

COLUMNS = case_table_columns()
TREATMENTS = "history__prior_treatments"
COLUMN_TYPES = "{" + ", ".join(f"'{c}': '{t}'" for c, t in COLUMNS.items()) + "}"


def case_row(case: Case) -> dict[str, Any]:
    """A case as a row of the flat table (``unknown`` progression stored as NULL)."""
    values = {column(p): v for p, v in facts_of(case).items() if not p.startswith("derived.")}
    treatments = values.get(TREATMENTS)
    if treatments is not None:
        values[TREATMENTS] = [t.model_dump() for t in treatments]
    return {c: values.get(c) for c in COLUMNS}


def create_table(con: duckdb.DuckDBPyConnection, name: str = "cases") -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {name} ("
        + ", ".join(f'"{c}" {t}' for c, t in COLUMNS.items())
        + ")"
    )


def insert_cases(con: duckdb.DuckDBPyConnection, cases: Iterable[Case], name: str = "cases") -> int:
    """Bulk-load validated cases: JSON lines in a temporary file, read by DuckDB with the
    table's own column types (far faster than row-by-row inserts). Returns the count."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.jsonl"
        n = 0
        with path.open("w", encoding="utf-8") as fh:
            for case in cases:
                fh.write(json.dumps(case_row(case), default=str) + "\n")
                n += 1
        if n:
            con.execute(
                f"INSERT INTO {name} SELECT * FROM read_json('{path}', "
                f"format = 'newline_delimited', columns = {COLUMN_TYPES})"
            )
    return n


def flat_row(data: dict[str, Any]) -> dict[str, Any]:
    """A case-format dict (trusted: e.g. from ``netmdt synth``) as a flat-table row, without
    building the case model; ``unknown`` progression becomes NULL, dates ISO strings."""
    row: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = prefix + key
            if isinstance(value, dict):
                walk(value, name + "__")
            elif value is not None:
                row[name] = value

    walk(data, "")
    if row.get("disease__progression") == "unknown":
        del row["disease__progression"]
    return {c: row.get(c) for c in COLUMNS}


def write_flat(rows: Iterable[dict[str, Any]], out: Path) -> int:
    """Write flat rows to Parquet or CSV (by extension) through DuckDB; returns the count."""
    from netmdt.cohort.io import write_results

    con = duckdb.connect()
    create_table(con)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        n = 0
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, default=str) + "\n")
                n += 1
        if n:
            con.execute(
                f"INSERT INTO cases SELECT * FROM read_json('{path}', "
                f"format = 'newline_delimited', columns = {COLUMN_TYPES})"
            )
    if out.suffix.lower() == ".csv":
        lists = [c for c, t in COLUMNS.items() if t == "VARCHAR[]"]
        replace = ", ".join(f"to_json({c}) AS {c}" for c in lists)  # [] is not unknown
        replace += f", to_json({TREATMENTS}) AS {TREATMENTS}"
        write_results(con, f"SELECT * REPLACE ({replace}) FROM cases", out, missing_column=False)
    else:
        write_results(con, "SELECT * FROM cases", out, missing_column=False)
    return n
