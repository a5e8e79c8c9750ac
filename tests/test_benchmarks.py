"""The benchmark's balanced orders: no measure always runs right after the same one."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from benchmarks.assess import balanced_orders


def test_four_measures_each_run_once_after_each_other() -> None:
    assert balanced_orders(4) == [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]


@pytest.mark.parametrize("n", range(2, 9))
def test_orders_are_balanced_for_what_ran_just_before(n: int) -> None:
    orders = balanced_orders(n)
    assert len(orders) == (n if n % 2 == 0 else 2 * n)
    assert all(sorted(order) == list(range(n)) for order in orders)
    after = Counter((a, b) for order in orders for a, b in pairwise(order))
    times = 1 if n % 2 == 0 else 2
    assert after == {(a, b): times for a in range(n) for b in range(n) if a != b}
    assert Counter(order[0] for order in orders) == dict.fromkeys(range(n), times)
