"""Kleene logic: full truth tables (T true, F false, U unknown)."""

import pytest

from netmdt.engine.logic import all_, and_, any_, not_, or_

T, F, U = True, False, None
AND = {"TT": T, "TF": F, "TU": U, "FT": F, "FF": F, "FU": F, "UT": U, "UF": F, "UU": U}
OR = {"TT": T, "TF": T, "TU": T, "FT": T, "FF": F, "FU": U, "UT": T, "UF": U, "UU": U}
VALUE = {"T": T, "F": F, "U": U}


@pytest.mark.parametrize("cell", sorted(AND))
def test_and(cell: str) -> None:
    assert and_(VALUE[cell[0]], VALUE[cell[1]]) is AND[cell]
    assert all_([VALUE[cell[0]], VALUE[cell[1]]]) is AND[cell]


@pytest.mark.parametrize("cell", sorted(OR))
def test_or(cell: str) -> None:
    assert or_(VALUE[cell[0]], VALUE[cell[1]]) is OR[cell]
    assert any_([VALUE[cell[0]], VALUE[cell[1]]]) is OR[cell]


def test_not() -> None:
    assert [not_(T), not_(F), not_(U)] == [F, T, U]


def test_empty_conjunction_and_disjunction() -> None:
    assert (all_([]), any_([])) == (T, F)


def _engine(op: str, cells: str) -> tuple[bool | None, int]:
    """The engine's own compiled operator over fields holding T, F or (absent) U."""
    from netmdt.case import parse_case
    from netmdt.engine.expr import parse, unknowns
    from netmdt.engine.facts import facts_of
    from netmdt.kb.load import _Scope

    fields = ["pregnant", "breastfeeding"][: len(cells)]
    text = (
        f" {op} ".join(f"{f} == true" for f in fields) if op != "not" else "not (pregnant == true)"
    )
    case = {f: VALUE[c] for f, c in zip(fields, cells, strict=True) if VALUE[c] is not None}
    node = parse(text, _Scope({}))
    facts = facts_of(parse_case(case))
    value = node.compile()(facts)
    assert node.tracer()(facts)[0] is value
    return value, len(unknowns(node, facts))


@pytest.mark.parametrize("cell", sorted(AND))
def test_engine_and_or_follow_the_tables_and_trace_the_unknowns(cell: str) -> None:
    for op, table in (("and", AND), ("or", OR)):
        value, n_unknown = _engine(op, cell)
        assert value is table[cell]
        assert n_unknown == (cell.count("U") if value is None else 0)


def test_engine_not() -> None:
    assert [_engine("not", c)[0] for c in "TFU"] == [F, T, U]
