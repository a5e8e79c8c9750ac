"""Reading cohorts into the flat case table, checking them, and writing results.

Inputs, by file extension:

- ``.parquet``: the flat table (``engine.sql.case_table_columns``: one column per
  case field, ``labs.egfr_ml_min`` -> ``labs__egfr_ml_min``; lists as lists; prior
  treatments as a list of structs).
- ``.csv``: the same columns as text; a list is a JSON array (``[]`` is "none found")
  or ``;``-separated values; an empty field is unknown; prior treatments are a JSON
  array of objects.
- ``.jsonl`` / ``.ndjson``: one case-format document a line, each validated by the case
  model (slower; for registry scale use Parquet, e.g. from ``netmdt synth``).

Absent columns are unknown for every case. Every value is checked: its type, enum
values and ranges (the case model's), and dates not after ``assessed_on``; problems
name the row (1-based, data rows) and the column, and nothing is screened when there
is any.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Set
from datetime import date
from pathlib import Path
from typing import Any

import annotated_types as at
import duckdb

from netmdt.case.load import parse_case_json
from netmdt.cohort.table import COLUMN_TYPES, COLUMNS, TREATMENTS, create_table, insert_cases
from netmdt.engine.expr import column
from netmdt.engine.schema import case_fields
from netmdt.errors import CaseFileError, CaseValidationError, Problem
from netmdt.textcheck import shown

MAX_PROBLEMS = 20
FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def input_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CaseFileError(
            f"{path}: unknown input format {path.suffix!r}; allowed: .parquet, .csv, .jsonl"
        )
    if not path.exists():
        raise CaseFileError(f"{path}: no such file")
    return fmt


def load_cohort(
    con: duckdb.DuckDBPyConnection, path: Path, assessed_on: date, name: str = "cases"
) -> int:
    """Load, check and normalise a cohort into table ``name``; returns the case count."""
    fmt = input_format(path)
    create_table(con, name)
    if fmt == "jsonl":
        return insert_cases(con, _jsonl_cases(path, assessed_on), name)
    # The file is opened through DuckDB's relation API, never by pasting its name into
    # SQL: a crafted file name (``x'); COPY ...``) must not run SQL. The file's view is
    # named after the table, so a later load does not change this one.
    files = f"{name}__file"
    try:
        if fmt == "parquet":  # a view: Parquet numbers its rows deterministically
            con.read_parquet(str(path), file_row_number=True).create_view(files, replace=True)
            create, source = (
                "VIEW",
                f'SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) FROM "{files}"',
            )
        else:
            con.read_csv(str(path), header=True, all_varchar=True).create_view(files, replace=True)
            create, source = ("TABLE", f'SELECT row_number() OVER () AS _row, * FROM "{files}"')
        con.execute(f"CREATE OR REPLACE TEMP {create} raw AS {source}")
        raw_types = {c: t for c, t, *_ in con.execute("DESCRIBE raw").fetchall() if c != "_row"}
    except duckdb.Error as exc:
        raise CaseFileError(f"{path}: cannot read as {fmt}: {shown(str(exc), 300)}") from exc
    present = list(raw_types)
    # A column already of its type (Parquet written by netmdt) converts without loss:
    # no value of it can fail to convert, so it needs no conversion check (a join each).
    types = {c: t for c, t, *_ in con.execute(f"DESCRIBE {name}").fetchall()}
    typed_already = {c for c, t in raw_types.items() if types.get(c) == t}
    _check_columns(present, str(path))
    select = [_convert(c, fmt, assessed_on) if c in present else f'NULL AS "{c}"' for c in COLUMNS]
    if fmt == "parquet":
        # Parquet is typed and numbered already: the cases stay a view over the file,
        # checked in place and never copied (a scan keeps the file's order).
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW typed AS SELECT _row, {', '.join(select)} FROM raw"
        )
    else:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE typed AS SELECT _row, {', '.join(select)} FROM raw "
            "ORDER BY _row"
        )
    problems = _problems(con, present, typed_already)
    if problems:
        raise CaseValidationError(problems, str(path))
    con.execute(f"DROP TABLE {name}")
    if fmt == "parquet":  # self-contained: a later load's raw and typed do not change it
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(select)} FROM ({source}) raw"
        )
    else:  # the checked table becomes the cases table, in input order (rowid = position)
        con.execute("ALTER TABLE typed DROP COLUMN _row")
        con.execute(f"ALTER TABLE typed RENAME TO {name}")
    count = con.execute(f"SELECT count(*) FROM {name}").fetchone()
    return int(count[0]) if count else 0


def _jsonl_cases(path: Path, assessed_on: date) -> typing.Iterator[Any]:
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CaseFileError(f"{path}:{n}: not UTF-8 text (byte {exc.start})") from exc
            if line.strip():
                yield parse_case_json(line, source=f"{path}:{n}", today=assessed_on)


def _check_columns(present: list[str], source: str) -> None:
    problems = []
    for c in present:
        if c not in COLUMNS:
            hint = difflib.get_close_matches(c, list(COLUMNS), n=1)
            problems.append(
                Problem(
                    c,
                    "unknown column" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                    "unknown_field",
                )
            )
    if "id" not in present:
        problems.append(Problem("id", "every cohort needs an id column", "missing"))
    if problems:
        raise CaseValidationError(problems, source)


def _convert(c: str, fmt: str, assessed_on: date) -> str:
    """SQL converting the raw column to its type (NULL where it cannot: checked later)."""
    target = COLUMNS[c]
    raw = f'raw."{c}"'
    if c == "assessed_on":
        default = f"CASE WHEN {raw} IS NULL THEN DATE '{assessed_on}' END"
        return f'coalesce(TRY_CAST({raw} AS DATE), {default}) AS "{c}"'
    if c == "disease__progression":
        return f"NULLIF(CAST({raw} AS VARCHAR), 'unknown') AS \"{c}\""
    # json() raises on malformed JSON even inside TRY_CAST: only well-formed JSON reaches
    # it; the rest is NULL here and refused, with its column, by the checks that follow.
    if fmt == "csv" and target.endswith("[]") and c != TREATMENTS:
        as_json = f"CASE WHEN json_valid({raw}) THEN TRY_CAST(json({raw}) AS VARCHAR[]) END"
        return (
            f"CASE WHEN starts_with({raw}, '[') THEN {as_json} "
            f"ELSE string_split({raw}, ';') END AS \"{c}\""
        )
    if fmt == "csv" and c == TREATMENTS:
        return f'CASE WHEN json_valid({raw}) THEN TRY_CAST(json({raw}) AS {target}) END AS "{c}"'
    return f'TRY_CAST({raw} AS {target}) AS "{c}"'


def _bounds() -> dict[str, dict[str, float]]:
    """Numeric ranges of the case model, by column (ge/gt/le)."""
    from pydantic import BaseModel

    from netmdt.case.model import Case

    found: dict[str, dict[str, float]] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            sub = next(
                (
                    a
                    for a in (info.annotation, *typing.get_args(info.annotation))
                    if isinstance(a, type) and issubclass(a, BaseModel)
                ),
                None,
            )
            if sub is not None:
                walk(sub, prefix + name + ".")
                continue
            meta = list(info.metadata)
            for arg in typing.get_args(info.annotation):
                for m in typing.get_args(arg)[1:]:
                    meta += [m, *getattr(m, "metadata", [])]
            limits = {
                k: getattr(m, k)
                for m in meta
                for k in ("ge", "gt", "le")
                if isinstance(m, getattr(at, k.capitalize()))
            }
            if limits:
                found[column(prefix + name)] = limits

    walk(Case, "")
    return found


def _problems(
    con: duckdb.DuckDBPyConnection, present: list[str], typed_already: Set[str] = frozenset()
) -> list[Problem]:
    checks: list[str] = []
    fields = {column(p): f for p, f in case_fields().items()}
    for c in present:
        if c not in COLUMNS or c == "id":
            continue
        raw, typed = f'raw."{c}"', f'typed."{c}"'
        if c not in typed_already:
            checks.append(
                f"SELECT _row, '{c}', CAST({raw} AS VARCHAR), 'is not a valid {COLUMNS[c]}' "
                f"FROM raw JOIN typed USING (_row) WHERE {raw} IS NOT NULL AND {typed} IS NULL"
                + (
                    f" AND CAST({raw} AS VARCHAR) <> 'unknown'"
                    if c == "disease__progression"
                    else ""
                )
            )
        info = fields.get(c)
        if info is not None and info.type.kind in ("enum", "list") and info.type.values:
            allowed = ", ".join(f"'{v}'" for v in info.type.values)
            if info.type.kind == "enum":
                cond = f"{typed} NOT IN ({allowed})"
                value = f"CAST({typed} AS VARCHAR)"
            else:
                cond = f"len(list_filter({typed}, lambda v: v NOT IN ({allowed}))) > 0"
                value = f"CAST(list_filter({typed}, lambda v: v NOT IN ({allowed})) AS VARCHAR)"
            checks.append(
                f"SELECT _row, '{c}', {value}, 'is not one of {allowed.replace(chr(39), '')}' "
                f"FROM typed WHERE {cond}"
            )
        for kind, limit in _bounds().get(c, {}).items():
            op = {"ge": "<", "gt": "<=", "le": ">"}[kind]
            words = {"ge": "below", "gt": "not above", "le": "above"}[kind]
            checks.append(
                f"SELECT _row, '{c}', CAST({typed} AS VARCHAR), '{words} {limit:g}' "
                f"FROM typed WHERE {typed} {op} {limit}"
            )
        if COLUMNS[c] == "DATE" and c != "assessed_on":
            checks.append(
                f"SELECT _row, '{c}', CAST({typed} AS VARCHAR), 'is after assessed_on' "
                f"FROM typed WHERE {typed} > assessed_on"
            )
    if not checks:
        return []
    rows = con.execute(
        " UNION ALL ".join(checks) + f" ORDER BY 1, 2 LIMIT {MAX_PROBLEMS}"
    ).fetchall()
    return [Problem(f"row {r}, column {c}", f"{v!r} {msg}", "invalid") for r, c, v, msg in rows]


def write_results(
    con: duckdb.DuckDBPyConnection, query: str, out: Path, *, missing_column: bool = True
) -> None:
    """Write a result query by the file's extension (Parquet, or CSV with the ``missing``
    list ``;``-separated)."""
    suffix = out.suffix.lower()
    # The relation API writes the file: its name never becomes SQL.
    if suffix == ".parquet":
        con.sql(query).write_parquet(str(out))
    elif suffix == ".csv":
        select = (
            "SELECT * REPLACE (array_to_string(missing, ';') AS missing)"
            if missing_column
            else "SELECT *"
        )
        con.sql(f"{select} FROM ({query})").write_csv(str(out), header=True, sep=",")
    else:
        raise CaseFileError(f"{out}: unknown output format {out.suffix!r}; allowed: .parquet, .csv")


def read_results(con: duckdb.DuckDBPyConnection, out: Path) -> duckdb.DuckDBPyRelation:
    """The results written to ``out``, read back through the relation API."""
    if out.suffix.lower() == ".parquet":
        return con.read_parquet(str(out))
    return con.read_csv(str(out), header=True)


__all__ = ["COLUMN_TYPES", "input_format", "load_cohort", "read_results", "write_results"]
