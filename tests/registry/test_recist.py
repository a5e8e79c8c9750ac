"""RECIST 1.1 from lesion measurements (the acceptance cases of the research memo D.B.6)."""

from __future__ import annotations

import pytest

from netmdt.errors import RecordValidationError
from netmdt.registry.recist import Scan, Target, best, check_baseline, responses


def one(mm: float, *, nodal: bool = False, name: str = "L1", organ: str = "liver") -> Target:
    return Target(name, organ, nodal, mm)


def split(total: float) -> tuple[Target, ...]:
    return (one(total / 2, name="a"), one(total / 2, name="b", organ="lung"))


@pytest.mark.parametrize(("after", "expected"), [(70, "PR"), (71, "SD"), (100, "SD")])
def test_partial_response_at_30_percent_from_baseline(after: float, expected: str) -> None:
    [r] = responses(Scan(split(100)), [Scan(split(after))])
    assert r.overall == expected
    assert r.sum_mm == after


def test_progression_needs_20_percent_and_5_mm_over_the_nadir() -> None:
    rs = responses(Scan(split(100)), [Scan(split(60)), Scan(split(72))])
    assert [r.overall for r in rs] == ["PR", "PD"]
    assert rs[1].nadir_mm == 60 and rs[1].change_from_nadir_percent == 20.0
    small = responses(Scan((one(14),)), [Scan((one(10),)), Scan((one(12),))])
    assert [r.overall for r in small] == ["SD", "SD"]  # nadir 10 -> 12: +20 % but only +2 mm
    assert small[1].change_from_nadir_percent == 20.0


def test_a_new_lesion_is_progression_whatever_the_sum() -> None:
    [r] = responses(Scan(split(100)), [Scan(split(50), new_lesions=True)])
    assert (r.target_response, r.overall, r.reason) == ("PR", "PD", "new lesion")


def test_complete_response_with_nodes_under_10_mm() -> None:
    base = Scan((one(30), one(20, nodal=True, name="N1", organ="nodes")))
    [cr] = responses(base, [Scan((one(0), one(9, nodal=True, name="N1", organ="nodes")))])
    assert cr.overall == "CR"
    [pr] = responses(base, [Scan((one(0), one(10, nodal=True, name="N1", organ="nodes")))])
    assert pr.overall == "PR"  # a node of 10 mm is not normal: not CR (sum 10 of 50: -80 %)
    [mixed] = responses(
        base, [Scan((one(0), one(9, nodal=True, name="N1", organ="nodes")), non_target="present")]
    )
    assert mixed.overall == "PR"


def test_too_many_targets_and_non_measurable_ones_are_refused_naming_the_lesion() -> None:
    six = [Target(f"L{i}", f"organ{i}", False, 20) for i in range(6)]
    with pytest.raises(RecordValidationError, match="at most 5"):
        check_baseline(six)
    three = [Target(f"L{i}", "liver", False, 20) for i in range(3)]
    with pytest.raises(RecordValidationError, match="at most 2 per organ"):
        check_baseline(three)
    with pytest.raises(RecordValidationError) as caught:
        check_baseline([Target("N1", "nodes", True, 12), Target("L1", "liver", False, 9)])
    assert [p.where for p in caught.value.problems] == ["lesions[0].mm", "lesions[1].mm"]
    check_baseline([Target("N1", "nodes", True, 15), Target("L1", "liver", False, 10)])


def test_best_response_and_follow_up_must_measure_the_baseline_targets() -> None:
    assert best(["SD", "PR", "PD"]) == "PR" and best([]) is None
    with pytest.raises(RecordValidationError, match="missing"):
        responses(Scan(split(100)), [Scan((one(40, name="a"),))])
