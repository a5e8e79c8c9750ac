"""The indication subgroup from the case, including the retreatment-interval boundary
(UCL NCT06121271: > 18 months from the start of previous PRRT)."""

from __future__ import annotations

from typing import Any

import pytest

from netmdt.case import parse_case
from netmdt.registry.subgroup import Subgroup, add_months, derive


def case(**facts: Any) -> Any:
    return parse_case({"id": "x", "assessed_on": "2026-11-27", **facts})


def gep_after(start: str | None) -> Any:
    course: dict[str, Any] = {"therapy": "prrt_lu177_dotatate", "cycles": 4, "outcome": "response"}
    if start:
        course["start"] = start
    return case(
        tumour={"type": "net", "primary_site": "jejunum_ileum"},
        history={"prior_treatments": [course]},
    )


@pytest.mark.parametrize(
    ("tumour", "subgroup"),
    [
        (
            {"type": "net", "primary_site": "lung", "lung_subtype": "atypical_carcinoid"},
            "bronchial",
        ),
        ({"type": "net", "primary_site": "thymus"}, "thymic"),
        ({"type": "paraganglioma"}, "ppgl"),
        ({"type": "phaeochromocytoma"}, "ppgl"),
        ({"type": "medullary_thyroid_carcinoma"}, "mtc"),
        ({"type": "net", "primary_site": "other"}, "other_non_gep"),
    ],
)
def test_non_gep_subgroups(tumour: dict[str, Any], subgroup: str) -> None:
    assert derive(case(tumour=tumour)).subgroup == subgroup


def test_retreatment_boundary_at_18_months_from_the_start() -> None:
    assert derive(gep_after("2025-05-26")).subgroup == "gep_retreatment"  # 18 months + 1 day
    at_18 = derive(gep_after("2025-05-27"))  # exactly 18 months: not "more than"
    assert at_18.subgroup == "not_eligible" and "NCT06121271" in at_18.reason
    at_17 = derive(gep_after("2025-06-27"))
    assert at_17.subgroup == "not_eligible"
    assert at_17.reason.startswith("not eligible for the retreatment arm")


def test_unknown_facts_give_unknown_with_the_field_named() -> None:
    assert derive(gep_after(None)) == Subgroup(
        "unknown", derive(gep_after(None)).reason, ["history.prior_treatments[].start"]
    )
    assert derive(case(tumour={"type": "net"})).missing == ["tumour.primary_site"]
    assert derive(case()).missing == ["tumour.type"]
    no_history = derive(case(tumour={"type": "net", "primary_site": "pancreas"}))
    assert no_history.missing == ["history.prior_treatments"]


def test_gep_first_course_is_not_the_registry() -> None:
    first = case(
        tumour={"type": "net", "primary_site": "pancreas"}, history={"prior_treatments": []}
    )
    assert derive(first).subgroup == "not_eligible"


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    from datetime import date

    assert add_months(date(2025, 5, 27), 18) == date(2026, 11, 27)
    assert add_months(date(2025, 8, 31), 18) == date(2027, 2, 28)
