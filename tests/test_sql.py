"""The SQL compilation gives the Python evaluator's answers (differential test on DuckDB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from benchmarks.assess import generate_cases

from netmdt import KnowledgeBase, parse_case
from netmdt.engine.expr import column
from netmdt.engine.facts import facts_of
from netmdt.engine.sql import case_table_columns
from netmdt.kb import load_kb
from tests.kbfixture import wide_kb

KB: KnowledgeBase = load_kb()
COLUMNS = case_table_columns()
# The bundled criteria, and those of the wide test knowledge base, which reads every case
# field the bundled one does not (the case format v1.1 fields among them).
EXPRESSIONS = [
    (f"{o.id}.{c.id}", c.expr, c.evaluate)
    for kb in (KB, wide_kb())
    for o in kb.options.values()
    for c in o.criteria
    if kb is KB or c.id.startswith("wide_")
] + [
    (f"{o.id}.funding{i}", r.expr, r.evaluate)
    for o in KB.options.values()
    for i, r in enumerate(o.funding["nhs_england"])
    if r.expr is not None and r.evaluate is not None
]


def row(facts: dict[str, Any]) -> list[Any]:
    values = {column(p): v for p, v in facts.items() if not p.startswith("derived.")}
    treatments = values.get("history__prior_treatments")
    if treatments is not None:
        values["history__prior_treatments"] = [t.model_dump() for t in treatments]
    return [values.get(c) for c in COLUMNS]


def load(con: duckdb.DuckDBPyConnection, rows: list[list[Any]]) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE cases ("
        + ", ".join(f'"{c}" {t}' for c, t in COLUMNS.items())
        + ")"
    )
    con.executemany(f"INSERT INTO cases VALUES ({', '.join('?' * len(COLUMNS))})", rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_criterion_and_funding_rule_agrees_with_python(seed: int) -> None:
    """400 seeded cases with unknowns and values at every threshold, one query each."""
    facts = [
        facts_of(parse_case({**data, "id": str(i)}))
        for i, data in enumerate(generate_cases(400, seed))
    ]
    con = duckdb.connect()
    load(con, [row(f) for f in facts])
    selects = ", ".join(
        f"{expr.sql('duckdb')} AS c{i}" for i, (_, expr, _) in enumerate(EXPRESSIONS)
    )
    results = con.execute(f"SELECT id, {selects} FROM cases ORDER BY CAST(id AS INTEGER)")
    mismatches = []
    for f, sql_row in zip(facts, results.fetchall(), strict=True):
        for (name, _, evaluate), sql in zip(EXPRESSIONS, sql_row[1:], strict=True):
            if evaluate(f) is not sql:
                mismatches.append((sql_row[0], name, evaluate(f), sql))
    assert mismatches == []


def test_every_criterion_agrees_with_python_on_the_scenario_cases() -> None:
    """The public scenario cases (thresholds written from the guidelines), one query."""
    import yaml

    paths = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
    cases: list[dict[str, Any]] = [
        yaml.safe_load(p.read_text(encoding="utf-8"))["case"] for p in paths
    ]
    facts = [facts_of(parse_case({**data, "id": str(i)})) for i, data in enumerate(cases)]
    con = duckdb.connect()
    load(con, [row(f) for f in facts])
    selects = ", ".join(
        f"{expr.sql('duckdb')} AS c{i}" for i, (_, expr, _) in enumerate(EXPRESSIONS)
    )
    results = con.execute(f"SELECT id, {selects} FROM cases ORDER BY CAST(id AS INTEGER)")
    mismatches = [
        (paths[int(sql_row[0])].stem, name, evaluate(f), sql)
        for f, sql_row in zip(facts, results.fetchall(), strict=True)
        for (name, _, evaluate), sql in zip(EXPRESSIONS, sql_row[1:], strict=True)
        if evaluate(f) is not sql
    ]
    assert len(cases) > 300 and mismatches == []


def test_derived_facts_agree_with_python() -> None:
    from netmdt.engine.schema import DERIVED
    from netmdt.engine.sql import derived_sql

    samples = [
        {"tumour": {"grade": "G1", "ki67_percent": 25, "mitotic_count_per_2mm2": 3}},
        {"tumour": {"ki67_percent": 2.9}},
        {"tumour": {"mitotic_count_per_2mm2": 21}},
        {},
        {"tumour": {"type": "paraganglioma", "primary_site": "pancreas"}},
        {"tumour": {"type": "net", "primary_site": "colon", "colon_segment": "sigmoid"}},
        {"tumour": {"type": "net", "lung_subtype": "lcnec", "primary_site": "lung"}},
        {"labs": {"egfr_ml_min": 45}, "performance": {"karnofsky": 60}},
        {
            "labs": {"egfr_ml_min": 45, "creatinine_clearance_ml_min": 38},
            "performance": {"karnofsky": 0},
        },
    ]
    facts = [facts_of(parse_case({**s, "id": str(i)})) for i, s in enumerate(samples)]
    con = duckdb.connect()
    load(con, [row(f) for f in facts])
    names = sorted(DERIVED)
    selects = ", ".join(derived_sql(n, "duckdb") for n in names)
    got = con.execute(f"SELECT {selects} FROM cases ORDER BY CAST(id AS INTEGER)").fetchall()
    assert [list(r) for r in got] == [[f.get(n) for n in names] for f in facts]
