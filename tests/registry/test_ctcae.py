"""CTCAE v5.0 grades computed from laboratory values: every threshold of every row, on
both sides, and the acceptance examples (platelets 60 -> G2, neutrophils 0.9 -> G3,
Hb 85 -> G2, creatinine 2.0 x ULN -> G2)."""

from __future__ import annotations

import pytest

from netmdt.registry import ctcae


def test_every_row_quotes_the_nci_text_and_says_how_it_was_checked() -> None:
    table = ctcae.table()
    assert table["version"] == "5.0" and "CTCAE" in table["source"]["citation"]
    for row in table["terms"]:
        assert row["verified"] == "transcription", row["term"]
        assert set(row["grades"]) <= set(row["nci_text"]), row["term"]


@pytest.mark.parametrize(
    ("analyte", "value", "limits", "grade"),
    [
        ("platelets_10e9_l", 60, {"lln": 150}, 2),
        ("neutrophils_10e9_l", 0.9, {"lln": 2.0}, 3),
        ("haemoglobin_g_l", 85, {"lln": 130}, 2),
        ("creatinine_umol_l", 180, {"uln": 90}, 2),  # 2.0 x ULN
    ],
)
def test_acceptance_examples(
    analyte: str, value: float, limits: dict[str, float], grade: int
) -> None:
    assert ctcae.grade(analyte, value, **limits).grade == grade


LOW = [  # analyte, LLN, thresholds of grades 2, 3, 4 (strictly below)
    ("platelets_10e9_l", 150, [75, 50, 25]),
    ("neutrophils_10e9_l", 2.0, [1.5, 1.0, 0.5]),
    ("wbc_10e9_l", 4.0, [3.0, 2.0, 1.0]),
    ("lymphocytes_10e9_l", 1.0, [0.8, 0.5, 0.2]),
    ("haemoglobin_g_l", 130, [100, 80]),
]


@pytest.mark.parametrize(("analyte", "lln", "cuts"), LOW)
def test_low_terms_at_each_threshold(analyte: str, lln: float, cuts: list[float]) -> None:
    assert ctcae.grade(analyte, lln, lln=lln).grade == 0  # at the LLN: not below it
    assert ctcae.grade(analyte, lln - 0.01, lln=lln).grade == 1
    for g, cut in enumerate(cuts, start=2):
        assert ctcae.grade(analyte, cut, lln=lln).grade == g - 1, (analyte, cut)
        assert ctcae.grade(analyte, cut - 0.01, lln=lln).grade == g, (analyte, cut)


def test_a_grade_1_value_without_the_lln_is_not_gradable_but_a_lower_one_is() -> None:
    assert ctcae.grade("platelets_10e9_l", 100).grade is None
    assert "LLN" in ctcae.grade("platelets_10e9_l", 100).reason
    assert ctcae.grade("platelets_10e9_l", 60).grade == 2


@pytest.mark.parametrize(
    ("value", "baseline", "grade"),
    [(100, None, 0), (100.5, None, 1), (150, None, 1), (150.5, None, 2), (300, None, 2),
     (300.5, None, 3), (600, None, 3), (600.5, None, 4),
     # > 1.5 and > 3.0 x baseline give grades 2 and 3 even under the ULN (NCI text)
     (90, 60, 0), (90.5, 60, 2), (95, 60, 2), (180, 60, 2), (180.5, 60, 3)],
)  # fmt: skip
def test_creatinine_by_uln_and_baseline(value: float, baseline: float | None, grade: int) -> None:
    assert ctcae.grade("creatinine_umol_l", value, uln=100, baseline=baseline).grade == grade


def test_bilirubin_and_alt_use_the_baseline_rules_when_the_baseline_was_abnormal() -> None:
    # normal baseline (10 <= ULN 20): multiples of ULN
    assert [
        ctcae.grade("bilirubin_umol_l", v, uln=20, baseline=10).grade for v in (20, 21, 31, 61, 201)
    ] == [0, 1, 2, 3, 4]
    # abnormal baseline (30 > ULN 20): multiples of baseline
    assert [
        ctcae.grade("bilirubin_umol_l", v, uln=20, baseline=30).grade for v in (30, 31, 46, 91, 301)
    ] == [0, 1, 2, 3, 4]
    assert [
        ctcae.grade("alt_u_l", v, uln=40, baseline=100).grade for v in (149, 150, 301, 501, 2001)
    ] == [0, 1, 2, 3, 4]
    assert [ctcae.grade("alt_u_l", v, uln=40).grade for v in (40, 41, 121, 201, 801)] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_meddra_code_and_version_are_carried() -> None:
    g = ctcae.grade("platelets_10e9_l", 60, lln=150)
    assert (g.term, g.meddra_code, g.grade, g.ctcae_version) == (
        "Platelet count decreased",
        10035528,
        2,
        "5.0",
    )
