"""``netmdt kb diff``: what changed between two knowledge bases, and for whom.

Without a cohort: the criteria and funding rules added, removed or changed, option by
option. With a cohort: both knowledge bases screen it in one DuckDB session, and every
case and option whose verdict or funding pathway differs is listed (old -> new).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from netmdt.cohort.io import load_cohort, write_results
from netmdt.cohort.sql import screen_sql
from netmdt.kb.model import KnowledgeBase
from netmdt.kb.schema import GROUPS

CRITERION_KEYS = (
    "text",
    "when",
    "sources",
    "evidence",
    "review",
    "disagreement",
    "if_not_met",
    "group_reason",
)


@dataclass(frozen=True)
class Change:
    option: str
    item: str  # criterion id, "funding", or "option"
    kind: str  # added | removed | changed
    detail: str


@dataclass
class CohortChanges:
    cases: int
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)  # option, old, new


def _criteria(kb: KnowledgeBase, option: str) -> dict[str, dict[str, Any]]:
    raw = kb.raw.get(f"options/{option}.yaml") or {}
    return {c["id"]: {**c, "group": g} for g in GROUPS for c in raw.get(g) or []}


def _describe(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = []
    for key in ("group", *CRITERION_KEYS):
        if old.get(key) != new.get(key):
            parts.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return "; ".join(parts)


def criteria_changes(old: KnowledgeBase, new: KnowledgeBase) -> list[Change]:
    changes: list[Change] = []
    for option in sorted(set(old.options) | set(new.options)):
        if option not in new.options or option not in old.options:
            kind = "removed" if option not in new.options else "added"
            changes.append(Change(option, "option", kind, ""))
            continue
        a, b = _criteria(old, option), _criteria(new, option)
        for cid in sorted(set(a) | set(b)):
            if cid not in b:
                changes.append(Change(option, cid, "removed", str(a[cid].get("when"))))
            elif cid not in a:
                changes.append(Change(option, cid, "added", str(b[cid].get("when"))))
            elif (detail := _describe(a[cid], b[cid])) != "":
                changes.append(Change(option, cid, "changed", detail))
        fa = (old.raw.get(f"options/{option}.yaml") or {}).get("funding")
        fb = (new.raw.get(f"options/{option}.yaml") or {}).get("funding")
        if fa != fb:
            changes.append(Change(option, "funding", "changed", "NHS England funding rules"))
    return changes


def cohort_changes(
    old: KnowledgeBase, new: KnowledgeBase, cohort: Path, assessed_on: date, out: Path | None
) -> CohortChanges:
    con = duckdb.connect()
    n = load_cohort(con, cohort, assessed_on)
    con.execute(f"CREATE TEMP TABLE old_r AS {screen_sql(old)}")
    con.execute(f"CREATE TEMP TABLE new_r AS {screen_sql(new)}")
    query = (
        "SELECT case_id, option, o.verdict AS old_verdict, n.verdict AS new_verdict, "
        "o.funding_pathway AS old_funding_pathway, n.funding_pathway AS new_funding_pathway "
        "FROM old_r o FULL JOIN new_r n USING (case_id, option) "
        "WHERE o.verdict IS DISTINCT FROM n.verdict "
        "OR o.funding_pathway IS DISTINCT FROM n.funding_pathway ORDER BY case_id, option"
    )
    con.execute(f"CREATE TEMP TABLE changed AS {query}")
    if out is not None:
        write_results(con, "SELECT * FROM changed", out, missing_column=False)
    result = CohortChanges(cases=n)
    for option, a, b, count in con.execute(
        "SELECT option, old_verdict, new_verdict, count(*) FROM changed GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        result.counts[(option, str(a), str(b))] = count
    return result
