"""The check every SQL engine test shares: the screen's rows equal the Python engine's
answers (verdict, funding pathway, registry status, missing facts, the fields of the
pending checks) for every option."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from netmdt import Case, KnowledgeBase, assess
from netmdt.assessment import OptionAssessment


def assert_rows_match_the_engine(
    rows: Iterable[Sequence[Any]], cases: list[Case], kb: KnowledgeBase
) -> None:
    sql = {(r[0], r[1]): (r[2], r[3], r[4], list(r[5]), list(r[6])) for r in rows}
    python = {
        (case.id, o.option): (
            o.verdict,
            o.funding.pathway,
            o.funding.registry_status,
            [m.field for m in o.missing],
            pending_fields(o),
        )
        for case in cases
        for o in assess(case, kb).options
    }
    assert sql.keys() == python.keys()
    assert {k: (python[k], sql[k]) for k in python if python[k] != sql[k]} == {}


def pending_fields(o: OptionAssessment) -> list[str]:
    """The fields of an option's pending checks, once each, in order (as the SQL lists them)."""
    return list(dict.fromkeys(p.field for p in o.pending_checks))


def assert_trials_match_the_engine(
    names: Sequence[str], rows: Iterable[Sequence[Any]], cases: list[Case], kb: KnowledgeBase
) -> None:
    """The screen's trial columns (``names``: the result's column names) equal the
    assessment's trial verdicts, case by case and trial (or arm) by trial."""
    from netmdt.cohort.sql import trial_columns

    columns = trial_columns(kb)
    at = {n: i for i, n in enumerate(names) if n.startswith("trial__")}
    assert list(at) == list(columns) and columns
    sql = {(str(r[0]), n): r[i] for r in rows for n, i in at.items()}
    python = {
        (str(case.id), "trial__" + m.trial + (f"__{m.arm}" if m.arm else "")): m.verdict
        for case in cases
        for m in assess(case, kb).trials
    }
    assert sql.keys() == python.keys()
    assert {k: (python[k], sql[k]) for k in python if python[k] != sql[k]} == {}
