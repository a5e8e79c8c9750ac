"""The centre's registry status reaches every execution of the rules alike: the generated
Python engine, the reference closures, the summary view and the cohort SQL (DuckDB) give
the same funding for the derived knowledge base; only PRRT's audit_registry route changes;
never set, the knowledge base is used unchanged."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from benchmarks.assess import generate_cases

from netmdt import KnowledgeBase, assess, load_kb, parse_case
from netmdt.cohort.sql import screen_sql
from netmdt.cohort.table import create_table, insert_cases
from netmdt.engine.assess import assess_summary
from netmdt.registry.status import REGISTRY_OPTIONS, centre_kb
from tests.differential import assert_rows_match_the_engine

KB = load_kb()
REFERENCE: KnowledgeBase = load_kb(reference=True)
CASES = [parse_case({**d, "id": f"s-{i}"}) for i, d in enumerate(generate_cases(300, 1313))]


def test_never_set_is_the_knowledge_base_itself() -> None:
    assert centre_kb(KB, None) is KB
    assert centre_kb(centre_kb(KB, "open"), None) is KB
    assert centre_kb(centre_kb(KB, "open"), "closed") is centre_kb(KB, "closed")


@pytest.mark.parametrize("status", ["open", "on_hold", "closed"])
def test_generated_and_reference_engines_agree(status: str) -> None:
    fast, slow = centre_kb(KB, status), centre_kb(REFERENCE, status)
    assert fast.fingerprint == slow.fingerprint != KB.fingerprint
    registry = 0
    for case in CASES:
        a, b = assess(case, fast), assess(case, slow)
        assert a == b
        summary = assess_summary(case, fast)
        for o, s in zip(a.options, summary.options, strict=True):
            assert (s.funding.pathway, s.funding.registry_status) == (
                o.funding.pathway,
                o.funding.registry_status,
            )
            if o.funding.pathway == "audit_registry" and o.option in REGISTRY_OPTIONS:
                registry += 1
                assert o.funding.registry_status == status
                assert o.funding.note.startswith("The centre's PRRT audit registry is")
    assert registry > 0


def test_only_prrts_registry_route_changes() -> None:
    base, opened = KB, centre_kb(KB, "closed")
    for case in CASES[:100]:
        for o, p in zip(assess(case, base).options, assess(case, opened).options, strict=True):
            if o.funding.pathway == "audit_registry" and o.option in REGISTRY_OPTIONS:
                assert (p.funding.registry_status, o.funding.registry_status) == (
                    "closed",
                    "on_hold",
                )
            elif o.option in REGISTRY_OPTIONS:  # an unknown route quotes the rule's note
                assert (p.verdict, p.funding.pathway, p.funding.missing) == (
                    o.verdict,
                    o.funding.pathway,
                    o.funding.missing,
                )
            else:
                assert (p.verdict, p.funding) == (o.verdict, o.funding)


def test_the_cohort_sql_carries_the_centres_status() -> None:
    kb = centre_kb(KB, "open")
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, CASES)
    assert_rows_match_the_engine(con.execute(screen_sql(kb)).fetchall(), CASES, kb)


def test_a_database_without_the_registry_tables_gives_the_knowledge_bases_status(
    tmp_path: Path,
) -> None:
    from sqlalchemy import create_engine

    from netmdt.registry.status import cached_status

    engine = create_engine(f"sqlite:///{tmp_path}/empty.db")
    assert cached_status(engine) is None
