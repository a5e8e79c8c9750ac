"""Screening a cohort in SQL gives what assess() gives, case by case and option by option."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from benchmarks.assess import generate_cases

from netmdt import KnowledgeBase, assess, load_kb, parse_case
from netmdt.cohort.sql import screen_sql
from netmdt.cohort.table import create_table, insert_cases

KB: KnowledgeBase = load_kb()
SQL = screen_sql(KB)


def python_rows(cases: list) -> dict[tuple[str, str], tuple]:  # type: ignore[type-arg]
    out = {}
    for case in cases:
        for o in assess(case, KB).options:
            out[(case.id, o.option)] = (
                o.verdict,
                o.funding.pathway,
                o.funding.registry_status,
                [m.field for m in o.missing],
            )
    return out


def sql_rows(cases: list) -> dict[tuple[str, str], tuple]:  # type: ignore[type-arg]
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, cases)
    result = con.execute(SQL).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4], list(r[5])) for r in result}


@pytest.mark.parametrize("seed", range(101, 121))  # 20 x 1,000 = 20,000 cases
def test_sql_screening_equals_the_engine(seed: int) -> None:
    cases = [
        parse_case({**d, "id": f"{seed}-{i}"}) for i, d in enumerate(generate_cases(1000, seed))
    ]
    python, sql = python_rows(cases), sql_rows(cases)
    assert sql.keys() == python.keys()
    differences = {k: (python[k], sql[k]) for k in python if python[k] != sql[k]}
    assert differences == {}


def test_sql_screening_equals_the_engine_on_the_scenario_cases() -> None:
    """The public scenario cases (thresholds from the guidelines), whatever the generator."""
    import yaml

    paths = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
    cases = [
        parse_case({**yaml.safe_load(p.read_text(encoding="utf-8"))["case"], "id": p.stem})
        for p in paths
    ]
    python, sql = python_rows(cases), sql_rows(cases)
    assert len(cases) > 300 and sql.keys() == python.keys()
    assert {k: (python[k], sql[k]) for k in python if python[k] != sql[k]} == {}
