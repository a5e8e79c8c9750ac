"""The screen and trials: with trials open at our centre (local settings), the SQL sets
``derived.open_trial_eligible`` from the trial verdicts as ``netmdt.assess`` does, and
each trial's (or arm's) verdict is a column of the output, equal to the assessment's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from benchmarks.assess import generate_cases

from netmdt import Case, KnowledgeBase, assess, load_kb, parse_case
from netmdt.cohort.screen import screen
from netmdt.cohort.sql import screen_sql, trial_columns
from netmdt.cohort.table import create_table, insert_cases
from netmdt.errors import CohortError
from netmdt.synth import synthetic_cases
from netmdt.trials.load import CLOSED
from netmdt.trials.local import localised
from netmdt.trials.match import Local
from tests.differential import assert_rows_match_the_engine

BASE: KnowledgeBase = load_kb()
NOT_CLOSED = frozenset(
    t.id
    for t in BASE.trials.values()
    if not t.card.historical and t.card.overall_status not in CLOSED
)
# every trial that is not closed opened here by local decision, and one closed card
# (never open, not even with the override: docs/trials.md)
ALL_HERE = localised(BASE, Local(open_here=NOT_CLOSED | {"radiant2"}))
# only two: arms of one (litespark_015) and a trial that is not yet recruiting
SOME_HERE = localised(BASE, Local(open_here=frozenset({"litespark_015", "ucl_lu177_unlicensed"})))
# our centre named as a site (Royal Free Hospital: a not-yet-recruiting site)
CENTRE = localised(BASE, Local(centre=("royal free hospital",)))
DAY = date(2026, 11, 27)


def cohort(seed: int, n: int) -> list[Case]:
    """Varied cases from both generators (the synthetic cohort reaches the trial setting)."""
    half = [{**d, "id": f"g{seed}-{i}"} for i, d in enumerate(generate_cases(n // 2, seed))]
    other = [{**d, "id": f"s{seed}-{i}"} for i, d in enumerate(synthetic_cases(n - n // 2, seed))]
    return [parse_case(d) for d in half + other]


def sql_rows(kb: KnowledgeBase, cases: list[Case]) -> tuple[list[str], list[Sequence[Any]]]:
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, cases)
    result = con.execute(screen_sql(kb))
    names = [d[0] for d in result.description]
    return names, result.fetchall()


def engine_trials(kb: KnowledgeBase, cases: list[Case]) -> dict[tuple[str, str], str]:
    """(case, trial column) -> the assessment's verdict for that trial (or arm)."""
    out = {}
    for case in cases:
        for m in assess(case, kb).trials:
            name = "trial__" + m.trial + (f"__{m.arm}" if m.arm else "")
            out[(str(case.id), name)] = m.verdict
    return out


def clinical_trial(kb: KnowledgeBase, cases: list[Case]) -> dict[str, str]:
    return {
        str(c.id): o.verdict
        for c in cases
        for o in assess(c, kb).options
        if o.option == "clinical_trial"
    }


def test_open_trials_here_change_clinical_trial_in_the_screen_as_in_the_engine() -> None:
    """The discrepancy this fixes: the screen took the fact as FALSE whatever was open."""
    cases = cohort(301, 1200)
    engine = clinical_trial(ALL_HERE, cases)
    assert {"recommended", "insufficient_information"} <= set(engine.values())
    # the fact matters: without trials open here these cases are not recommended
    alone = clinical_trial(BASE, cases)
    assert any(alone[k] != v for k, v in engine.items())
    _, rows = sql_rows(ALL_HERE, cases)
    screened = {str(r[0]): r[2] for r in rows if r[1] == "clinical_trial"}
    assert {k: (v, screened[k]) for k, v in engine.items() if screened[k] != v} == {}


@pytest.mark.parametrize(
    ("kb", "seed"),
    [(BASE, 311), (ALL_HERE, 312), (SOME_HERE, 313), (CENTRE, 314), (ALL_HERE, 315)],
    ids=["none-here", "all-here", "some-here", "centre", "all-here-2"],
)
def test_every_option_and_trial_verdict_equals_the_engine(kb: KnowledgeBase, seed: int) -> None:
    cases = cohort(seed, 1000)
    names, rows = sql_rows(kb, cases)
    assert_rows_match_the_engine(rows, cases, kb)
    columns = trial_columns(kb)
    assert names[-len(columns) :] == list(columns)
    at = {name: names.index(name) for name in columns}
    sql = {(str(r[0]), name): r[i] for r in rows for name, i in at.items()}
    engine = engine_trials(kb, cases)
    assert sql.keys() == engine.keys()
    assert {k: (engine[k], sql[k]) for k in engine if sql[k] != engine[k]} == {}
    assert set(engine.values()) == {"eligible", "possibly_eligible", "not_eligible"}


def test_the_trial_columns_are_the_assessments_trials() -> None:
    """One column per trial that is not closed (per arm where criteria are arm-specific),
    in the knowledge base's order, whatever is open here."""
    expected = []
    for t in BASE.trials.values():
        if t.id not in NOT_CLOSED:
            continue
        arms = [a.id for a in t.card.arms] if t.arm_specific else [None]
        expected += ["trial__" + t.id + (f"__{a}" if a else "") for a in arms]
    assert list(trial_columns(BASE)) == expected == list(trial_columns(ALL_HERE))
    assert "trial__litespark_015__ppgl" in expected and "trial__radiant2" not in expected


def test_the_screen_file_has_the_trial_columns(tmp_path: Path) -> None:
    cases = cohort(321, 200)
    source = tmp_path / "c.parquet"
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, cases)
    con.table("cases").write_parquet(str(source))
    engine = engine_trials(ALL_HERE, cases)
    for suffix in (".parquet", ".csv"):
        out = tmp_path / f"out{suffix}"
        screen(ALL_HERE, source, out, DAY, options=["clinical_trial"])
        rel = duckdb.read_parquet(str(out)) if suffix == ".parquet" else duckdb.read_csv(str(out))
        names = rel.columns
        assert names[:7] == [
            "case_id",
            "option",
            "verdict",
            "funding_pathway",
            "registry_status",
            "missing",
            "pending_checks",
        ]
        assert names[7:] == list(trial_columns(ALL_HERE))
        got = {(str(r[0]), n): r[7 + i] for r in rel.fetchall() for i, n in enumerate(names[7:])}
        assert got == engine


def test_a_filter_on_the_open_trial_fact_is_refused_while_trials_are_open_here(
    tmp_path: Path,
) -> None:
    """A --where filter runs on the case alone (the fact would be FALSE): refused when
    some trial is open here, as it would silently drop cases; allowed otherwise."""
    source = tmp_path / "c.parquet"
    con = duckdb.connect()
    create_table(con)
    insert_cases(con, cohort(331, 20))
    con.table("cases").write_parquet(str(source))
    where = "tumour.type == net and not derived.open_trial_eligible"
    with pytest.raises(CohortError, match=r"derived\.open_trial_eligible cannot be filtered"):
        screen(SOME_HERE, source, tmp_path / "o.parquet", DAY, where=where)
    assert screen(BASE, source, tmp_path / "o.parquet", DAY, where=where).cases > 0
    assert screen(SOME_HERE, source, tmp_path / "o.parquet", DAY, where="tumour.type == net")


def test_a_node_planned_before_the_fact_is_replanned_after() -> None:
    """A node planned for a trial (the fact from the case alone: FALSE), e.g. a shared
    definition, is planned afresh for the options once the fact is the verdicts' column."""
    from netmdt.cohort.plan import Planner
    from netmdt.kb.load import parse_filter

    node = parse_filter(BASE, "derived.open_trial_eligible == true")
    planner = Planner([])
    before = planner.ref(node)[0]
    fact = planner.column("TRUE", 1)  # stands for the verdicts' column
    planner.derived["derived.open_trial_eligible"] = (fact, 1)
    assert planner.ref(node)[0] == before  # cached
    planner.forget_nodes()
    after = planner.ref(node)[0]
    assert after != before
    sql = {c: s for layer in planner.layers for s, c in layer.items()}
    false = next(c for c, s in sql.items() if s == "FALSE")  # derived_sql: the case alone
    assert sql[before] == f"({false} = TRUE)" and sql[after] == f"({fact} = TRUE)"
