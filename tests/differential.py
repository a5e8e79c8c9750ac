"""The check every SQL engine test shares: the screen's rows equal the Python engine's
answers (verdict, funding pathway, registry status, missing facts) for every option."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from netmdt import Case, KnowledgeBase, assess


def assert_rows_match_the_engine(
    rows: Iterable[Sequence[Any]], cases: list[Case], kb: KnowledgeBase
) -> None:
    sql = {(r[0], r[1]): (r[2], r[3], r[4], list(r[5])) for r in rows}
    python = {
        (case.id, o.option): (
            o.verdict,
            o.funding.pathway,
            o.funding.registry_status,
            [m.field for m in o.missing],
        )
        for case in cases
        for o in assess(case, kb).options
    }
    assert sql.keys() == python.keys()
    assert {k: (python[k], sql[k]) for k in python if python[k] != sql[k]} == {}
