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
