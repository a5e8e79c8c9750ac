"""``netmdt screen --trial ID``: one trial's verdict for every case of a cohort, in SQL.

The criteria compile to SQL with the rule language's own compiler (``Node.sql``), where
NULL is unknown (Kleene logic); the verdict procedure is that of
``netmdt.trials.match.verdict_of``, written as one ``CASE``. A differential test holds
the two to the same answers (tests/trials/test_screen.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from netmdt.cohort.io import load_cohort, read_results, write_results
from netmdt.cohort.screen import keep_order
from netmdt.errors import CohortError
from netmdt.kb.model import KnowledgeBase
from netmdt.trials.load import Trial, TrialCriterion
from netmdt.trials.match import _arms


def _fails(c: TrialCriterion, dialect: str) -> str:
    value = "TRUE" if c.kind == "exclusion" else "FALSE"
    return f"coalesce(({c.expr.sql(dialect)}) = {value}, FALSE)"


def _unknown(c: TrialCriterion, dialect: str) -> str:
    return f"(({c.expr.sql(dialect)}) IS NULL)"


def verdict_sql(trial: Trial, arm: str | None, dialect: str = "duckdb") -> str:
    """The SQL of one trial arm's verdict (``eligible`` ...) over the cases table."""
    criteria = trial.criteria_for(arm)
    if not criteria:
        return "'eligible'"
    fails = " OR ".join(_fails(c, dialect) for c in criteria)
    unknown = " OR ".join(_unknown(c, dialect) for c in criteria)
    return (
        f"CASE WHEN {fails} THEN 'not_eligible' "
        f"WHEN {unknown} THEN 'possibly_eligible' ELSE 'eligible' END"
    )


def trial_query(trial: Trial, table: str = "cases", dialect: str = "duckdb") -> str:
    """A row per case and arm: case_id, trial, arm, verdict (arm by arm, each in the
    table's order)."""
    parts = []
    for arm in _arms(trial):
        arm_sql = "NULL" if arm is None else f"'{arm}'"
        parts.append(
            f"SELECT id AS case_id, '{trial.id}' AS trial, {arm_sql} AS arm, "
            f"{verdict_sql(trial, arm, dialect)} AS verdict FROM {table}"
        )
    return " UNION ALL ".join(parts)


def screen_trial(
    kb: KnowledgeBase,
    trial_id: str,
    source: Path,
    out: Path,
    assessed_on: date,
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, int]:
    """Screen a cohort file for one trial; writes ``out``; returns counts by verdict."""
    trial = kb.trials.get(trial_id)
    if trial is None:
        raise CohortError(f"--trial: no trial card {trial_id!r}; cards: {', '.join(kb.trials)}")
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise CohortError(f"--out: unknown format {out.suffix!r}; allowed: .parquet, .csv")
    con = con or duckdb.connect()
    load_cohort(con, source, assessed_on)
    keep_order(con)
    query = trial_query(trial)
    write_results(con, query, out, missing_column=False)
    written = read_results(con, out).aggregate("verdict, count(*)")  # not screened twice
    counts = written.fetchall()
    return {str(v): int(n) for v, n in counts}
