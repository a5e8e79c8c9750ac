"""Synthetic cohorts: valid, reproducible, distributed as documented, realistically incomplete."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest

from netmdt import parse_case
from netmdt.case.tumour import PrimarySite
from netmdt.synth import MISSING, SITE_INCIDENCE_PER_100K, SITE_WEIGHTS, synthetic_cases

DOC = (Path(__file__).parent.parent / "docs/synthetic-cohorts.md").read_text()
Case = dict[str, Any]


@pytest.fixture(scope="module")
def cohort() -> list[Case]:
    return list(synthetic_cases(5000, 2026))


def test_every_case_validates(cohort: list[Case]) -> None:
    for data in cohort:
        case = parse_case(data)
        assert case.id == data["id"]


def test_ids_are_unique_and_name_the_seed(cohort: list[Case]) -> None:
    ids = [c["id"] for c in cohort]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "synth-2026-0000000"
    assert ids[-1] == "synth-2026-0004999"


def test_the_same_seed_gives_the_same_cases() -> None:
    assert list(synthetic_cases(300, 7)) == list(synthetic_cases(300, 7))


def test_different_seeds_give_different_cases() -> None:
    def without_ids(seed: int) -> list[Case]:
        return [{k: v for k, v in c.items() if k != "id"} for c in synthetic_cases(300, seed)]

    assert without_ids(7) != without_ids(8)


def test_a_prefix_of_a_cohort_is_the_smaller_cohort() -> None:
    assert list(synthetic_cases(50, 3)) == list(synthetic_cases(200, 3))[:50]


def test_start_yields_the_same_cases_as_the_whole_cohort() -> None:
    whole = list(synthetic_cases(4300, 4))  # more than one block of cases
    assert list(synthetic_cases(300, 4, start=4000)) == whole[4000:4300]
    assert list(synthetic_cases(1, 4, start=4095)) == [whole[4095]]


def test_no_cases_for_n_zero_and_an_error_for_negative_n_or_start() -> None:
    assert list(synthetic_cases(0, 1)) == []
    with pytest.raises(ValueError, match="must be >= 0"):
        list(synthetic_cases(-1, 1))
    with pytest.raises(ValueError, match="must be >= 0"):
        list(synthetic_cases(1, 1, start=-1))


def test_site_weights_cover_the_case_format_and_sum_to_one() -> None:
    assert set(SITE_WEIGHTS) == set(get_args(PrimarySite))
    assert sum(SITE_WEIGHTS.values()) == pytest.approx(1.0)
    assert sum(SITE_INCIDENCE_PER_100K.values()) == pytest.approx(8.61)  # England 2018 total


def test_site_distribution_is_the_documented_one() -> None:
    sites = Counter(
        c["tumour"]["primary_site"]
        for c in synthetic_cases(20_000, 11)
        if "primary_site" in c["tumour"]
    )
    total = sum(sites.values())
    for site, weight in SITE_WEIGHTS.items():
        assert sites[site] / total == pytest.approx(weight, abs=0.01), site


def test_the_document_shows_the_site_table() -> None:
    for site, weight in SITE_WEIGHTS.items():
        rate = SITE_INCIDENCE_PER_100K[site]
        row = re.search(rf"^\| `{site}` \| {rate:.2f} \| {100 * weight:.1f} \|", DOC, re.M)
        assert row, f"docs/synthetic-cohorts.md: no table row for {site}"


def test_the_document_shows_every_missingness_probability() -> None:
    for section, fields in MISSING.items():
        for field, prob in fields.items():
            pattern = rf"`{field}` {100 * prob:g} %"
            assert re.search(pattern, DOC), f"{section}.{field}: {pattern!r} not in the doc"


def test_some_facts_are_missing_and_some_cases_are_complete(cohort: list[Case]) -> None:
    core: dict[str, Callable[[Case], bool]] = {
        "age_years": lambda c: "age_years" in c,
        "grade": lambda c: "grade" in c["tumour"],
        "ki67": lambda c: "ki67_percent" in c["tumour"],
        "egfr": lambda c: "egfr_ml_min" in c.get("labs", {}),
        "ecog": lambda c: "ecog" in c.get("performance", {}),
    }
    incomplete = sum(not all(f(c) for f in core.values()) for c in cohort)
    assert 0 < incomplete < len(cohort)
    for name, present in core.items():  # each fact is sometimes unknown, mostly known
        share = sum(present(c) for c in cohort) / len(cohort)
        assert 0.5 < share < 1.0, name


def test_site_specific_fields_only_where_they_apply(cohort: list[Case]) -> None:
    for c in cohort:
        t = c["tumour"]
        site = t.get("primary_site")
        if site is None:
            continue
        assert "lung_subtype" not in t or site == "lung"
        assert "gastric_type" not in t or site == "stomach"
        assert "colon_segment" not in t or site == "colon"
        assert "nec_subtype" not in t or t.get("type", "nec") == "nec"
        syndromes = t.get("functional_syndrome", [])
        assert "none" not in syndromes or syndromes == ["none"]


def test_clinical_correlations(cohort: list[Case]) -> None:
    nec_ki67 = [
        c["tumour"]["ki67_percent"]
        for c in cohort
        if c["tumour"].get("type") == "nec" and "ki67_percent" in c["tumour"]
    ]
    assert nec_ki67 and min(nec_ki67) > 20
    assert sum(k > 55 for k in nec_ki67) / len(nec_ki67) > 0.5

    def distant(c: Case) -> bool:
        d = c.get("disease", {})
        return bool(
            d.get("liver_metastases", {}).get("present") or d.get("extrahepatic_metastases")
        )

    def share(cases: list[Case], test: Callable[[Case], bool]) -> float:
        return sum(map(test, cases)) / len(cases)

    def nets(site: str) -> list[Case]:
        return [
            c
            for c in cohort
            if c["tumour"].get("primary_site") == site and c["tumour"].get("type") == "net"
        ]

    assert share(nets("appendix"), distant) < 0.10
    assert share(nets("rectum"), distant) < 0.10
    assert share(nets("jejunum_ileum"), distant) > 0.30
    rectal_sizes = [
        c["tumour"]["primary_size_cm"] for c in nets("rectum") if "primary_size_cm" in c["tumour"]
    ]
    assert sum(s < 1.0 for s in rectal_sizes) / len(rectal_sizes) > 0.6

    def carcinoid(c: Case) -> bool:
        return "carcinoid_syndrome" in c["tumour"].get("functional_syndrome", [])

    with_liver = [c for c in nets("jejunum_ileum") if distant(c)]
    without = [c for c in nets("jejunum_ileum") if not distant(c)]
    assert share(with_liver, carcinoid) > 3 * share(without, carcinoid)


def test_pregnancy_only_for_women_of_child_bearing_age(cohort: list[Case]) -> None:
    pregnant = [c for c in cohort if c.get("pregnant")]
    assert len(pregnant) < 0.01 * len(cohort)
    for c in pregnant:
        assert c.get("sex", "female") != "male"
        assert c.get("age_years", 0) < 50


def test_mostly_nhs_england(cohort: list[Case]) -> None:
    systems = Counter(c["context"].get("health_system") for c in cohort if "context" in c)
    assert systems["nhs_england"] > 0.85 * sum(systems.values()) - systems[None]


def test_every_date_is_on_or_before_the_assessment_date() -> None:
    day = date(2025, 3, 31)
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")

    def dates(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [d for v in value.values() for d in dates(v)]
        if isinstance(value, list):
            return [d for v in value for d in dates(v)]
        return [value] if isinstance(value, str) and iso.match(value) else []

    for data in synthetic_cases(1000, 5, assessed_on=day):
        assert data["assessed_on"] == "2025-03-31"
        assert all(d <= "2025-03-31" for d in dates(data))
        parse_case(data)
