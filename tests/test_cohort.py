"""Screening a cohort in SQL gives what assess() gives, case by case and option by option."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from benchmarks.assess import generate_cases

from netmdt import KnowledgeBase, assess, load_kb, parse_case
from netmdt.cohort.sql import screen_sql
from netmdt.cohort.table import create_table, insert_cases
from tests.differential import pending_fields

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
                pending_fields(o),
            )
    return out


def sql_rows(cases: list) -> dict[tuple[str, str], tuple]:  # type: ignore[type-arg]
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, cases)
    result = con.execute(SQL).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4], list(r[5]), list(r[6])) for r in result}


@pytest.mark.parametrize("seed", range(101, 121))  # 20 x 1,000 = 20,000 cases
def test_sql_screening_equals_the_engine(seed: int) -> None:
    cases = [
        parse_case({**d, "id": f"{seed}-{i}"}) for i, d in enumerate(generate_cases(1000, seed))
    ]
    python, sql = python_rows(cases), sql_rows(cases)
    assert sql.keys() == python.keys()
    differences = {k: (python[k], sql[k]) for k in python if python[k] != sql[k]}
    assert differences == {}


def _differential(kb: KnowledgeBase, seed: int, n: int) -> dict[tuple[str, str], tuple]:  # type: ignore[type-arg]
    from tests.differential import assert_rows_match_the_engine

    cases = [parse_case({**d, "id": f"{seed}-{i}"}) for i, d in enumerate(generate_cases(n, seed))]
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, cases)
    rows = con.execute(screen_sql(kb)).fetchall()
    assert_rows_match_the_engine(rows, cases, kb)
    return {(r[0], r[1]): (r[2], list(r[5]), list(r[6])) for r in rows}


@pytest.mark.parametrize("seed", [201, 202, 203])
def test_before_treatment_screens_like_the_engine(seed: int) -> None:
    """Blood-test requirements as before_treatment: the same verdicts and pending checks."""
    from tests.kbfixture import before_treatment_kb

    rows = _differential(before_treatment_kb(), seed, 1000)
    pending = [r for r in rows.values() if r[2]]
    assert {"consider", "insufficient_information"} <= {r[0] for r in pending}
    assert {r[0] for r in pending} <= {"recommended", "consider", "insufficient_information"}
    assert any(r[0] == "not_recommended" and not r[1] for r in rows.values())


@pytest.mark.parametrize("seed", [211, 212])
def test_a_query_over_more_than_63_fields_screens_like_the_engine(seed: int) -> None:
    """Two missing-fact mask words: the second word's fields are missing and pending too."""
    from netmdt.cohort.plan import WORD_BITS
    from tests.kbfixture import wide_kb

    kb = wide_kb()
    fields = sorted({p for o in kb.options.values() for c in o.criteria for p in c.reads})
    assert len(fields) > WORD_BITS
    rows = _differential(kb, seed, 1000)
    second = set(fields[WORD_BITS:])
    assert any(set(r[1]) & second for r in rows.values())
    assert any(set(r[2]) & second for r in rows.values())


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
