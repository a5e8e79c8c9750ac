"""Kaplan-Meier against a hand-computed 10-patient fixture.

Months (event E / censored C): 2E 4E 5C 7E 9E 12C 13E 15E 20C 26C.
S: 2 -> 9/10 = .900; 4 -> .900 x 8/9 = .800; 7 -> .800 x 6/7 = .686; 9 -> .686 x 5/6 = .571;
13 -> .571 x 3/4 = .429 (first value <= .5): median 13 months. At risk (still followed at
t): 0 -> 10; 6 -> 7; 12 -> 5; 18 -> 2; 24 -> 1."""

from __future__ import annotations

import pytest

from netmdt.registry import survival

DURATIONS = [2, 4, 5, 7, 9, 12, 13, 15, 20, 26]
EVENTS = [True, True, False, True, True, False, True, True, False, False]


def test_median_and_numbers_at_risk_equal_the_hand_values() -> None:
    curve = survival.fit("all", DURATIONS, EVENTS)
    assert curve.median_months == 13
    assert curve.at_risk == {0: 10, 6: 7, 12: 5, 18: 2, 24: 1}
    assert (curve.n, curve.events) == (10, 6)


def test_survival_function_equals_the_hand_products() -> None:
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(DURATIONS, EVENTS)
    at = {t: float(kmf.survival_function_at_times(t).iloc[0]) for t in (2, 4, 7, 9, 13)}
    assert at == pytest.approx(
        {2: 0.9, 4: 0.8, 7: 0.8 * 6 / 7, 9: 0.8 * 5 / 7, 13: 0.8 * 5 / 7 * 3 / 4}
    )


def test_median_not_reached_is_none() -> None:
    curve = survival.fit("few", [3, 10, 12], [True, False, False])
    assert curve.median_months is None


def test_log_rank_only_with_five_events_in_each_group() -> None:
    a = survival.fit("A", DURATIONS, EVENTS)
    b = survival.fit("B", [1, 2, 3, 4], [True, True, True, True])
    p, why = survival.logrank([a, b])
    assert p is None and why.startswith("too few events") and "B" in why
    c = survival.fit("C", [1, 2, 3, 4, 5, 6], [True] * 6)
    p, why = survival.logrank([a, c])
    assert p is not None and 0 <= p <= 1 and why == "log-rank test"


def test_the_figure_is_a_png() -> None:
    uri = survival.figure_png("PFS", {"all": (DURATIONS, EVENTS)})
    assert uri.startswith("data:image/png;base64,")
