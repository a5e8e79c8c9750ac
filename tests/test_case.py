"""The case model: strict validation with located errors, and the derived facts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from netmdt import Case, CaseFileError, CaseValidationError, assess, load_case, parse_case
from netmdt.case.derived import karnofsky_to_ecog, ki67_grade, mitotic_grade

DAY = "2026-11-27"


def problems(data: dict) -> list[str]:
    with pytest.raises(CaseValidationError) as info:
        parse_case(data)
    return [str(p) for p in info.value.problems]


def test_empty_case_is_valid_and_everything_unknown() -> None:
    case = parse_case({})
    assert case.model_dump(exclude_none=True) == {}
    d = case.derived
    assert (d.effective_grade, d.renal_ml_min, d.ecog_effective, d.gep_primary) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"age_years": False}, ["age_years: Input should be a valid integer (got False)"]),
        (
            {"tumour": {"ki67_percent": False}},
            ["tumour.ki67_percent: Input should be a valid number (got False)"],
        ),
        ({"pregnant": "no"}, ["pregnant: Input should be a valid boolean (got 'no')"]),
        (
            {"tumour": {"ki67_percent": 100.5}},
            ["tumour.ki67_percent: Input should be less than or equal to 100 (got 100.5)"],
        ),
        (
            {"tumour": {"ki67_percent": -1}},
            ["tumour.ki67_percent: Input should be greater than or equal to 0 (got -1)"],
        ),
        (
            {"performance": {"ecog": 5}},
            ["performance.ecog: Input should be less than or equal to 4 (got 5)"],
        ),
        (
            {"performance": {"karnofsky": 110}},
            ["performance.karnofsky: Input should be less than or equal to 100 (got 110)"],
        ),
        ({"age_years": 121}, ["age_years: Input should be less than or equal to 120 (got 121)"]),
        (
            {"labs": {"egfr_ml_min": -3}},
            ["labs.egfr_ml_min: Input should be greater than or equal to 0 (got -3)"],
        ),
        (
            {"tumour": {"primary_size_cm": 0}},
            ["tumour.primary_size_cm: Input should be greater than 0 (got 0)"],
        ),
        (
            {"disease": {"liver_metastases": {"liver_involvement_percent": 101}}},
            [
                "disease.liver_metastases.liver_involvement_percent: Input should be less than or "
                "equal to 100 (got 101)"
            ],
        ),
        (
            {"imaging": {"sstr": {"krenning_score": 5}}},
            ["imaging.sstr.krenning_score: Input should be less than or equal to 4 (got 5)"],
        ),
        (
            {"tumour": {"grade": "G4"}},
            ["tumour.grade: Input should be 'G1', 'G2' or 'G3' (got 'G4')"],
        ),
        ({"sex": "f"}, ["sex: Input should be 'female', 'male' or 'other' (got 'f')"]),
        (
            {"disease": {"progression": "worse"}},
            [
                "disease.progression: Input should be 'progressive', 'stable' or 'unknown' "
                "(got 'worse')"
            ],
        ),
        (
            {"assessed_on": "27/11/2026"},
            ["assessed_on: Input should be a valid date (got '27/11/2026')"],
        ),
        (
            {"assessed_on": DAY, "labs": {"date": "2026-11-28"}},
            ["labs.date (2026-11-28) is after assessed_on (2026-11-27)"],
        ),
        (
            {
                "assessed_on": DAY,
                "history": {
                    "prior_treatments": [
                        {"therapy": "everolimus", "start": "2026-01-01", "end": "2027-01-01"}
                    ]
                },
            },
            ["history.prior_treatments.0.end (2027-01-01) is after assessed_on (2026-11-27)"],
        ),
        (
            {"history": {"prior_treatments": [{"therapy": "aspirin"}]}},
            [
                "history.prior_treatments.0.therapy: Input should be 'surgery_curative', "
                "'surgery_debulking', 'ssa_short_acting', 'ssa_long_acting', 'chemotherapy', "
                "'interferon_alpha', 'mibg_i131', 'prrt_lu177_dotatate', 'prrt_y90_dotatoc', "
                "'liver_embolisation', 'thermal_ablation', 'liver_transplant', 'clinical_trial', "
                "'everolimus', 'sunitinib', 'telotristat', 'active_surveillance', "
                "'endoscopic_resection', 'cabozantinib', 'best_supportive_care', "
                "'hormone_syndrome_control', 'sirt' or 'palliative_radiotherapy' (got 'aspirin')"
            ],
        ),
        (
            {
                "history": {
                    "prior_treatments": [
                        {"therapy": "everolimus", "start": "2026-05-01", "end": "2026-01-01"}
                    ]
                }
            },
            [
                "history.prior_treatments.0: end (2026-01-01) is before start (2026-05-01) "
                "(got {'therapy': 'everolimus', 'start': '2026-05-01', 'end': '2026-01-01'})"
            ],
        ),
        (
            {"tumour": {"functional_syndrome": ["none", "insulinoma"]}},
            ["tumour.functional_syndrome: 'none' cannot be combined with a syndrome"],
        ),
        (
            {"tumour": {"gastric_type": 4}},
            ["tumour.gastric_type: Input should be 1, 2 or 3 (got 4)"],
        ),
        ([], None),
    ],
)
def test_bad_input_names_field_value_and_what_is_allowed(
    data: object, expected: list[str] | None
) -> None:
    if expected is None:
        with pytest.raises(CaseValidationError, match="a case must be a mapping"):
            parse_case(data)
        return
    assert problems(data) == expected  # type: ignore[arg-type]


def test_unknown_field_says_did_you_mean_and_lists_allowed() -> None:
    (message,) = problems({"labs": {"egfr": 40}})
    assert message.startswith(
        "labs.egfr: unknown field 'egfr'; did you mean 'egfr_ml_min'? "
        "(allowed here: albumin_g_l, alt_x_uln, bilirubin_umol_l,"
    )


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"age_years": 200, "sex": "x", "tumour": {"ki67": 3}})
    assert [p.split(":")[0] for p in found] == ["age_years", "sex", "tumour.ki67"]


def test_load_yaml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("id: a\nassessed_on: 2026-11-27\ntumour: {type: net}\n")
    (tmp_path / "c.json").write_text(
        '{"id": "a", "assessed_on": "2026-11-27", "tumour": {"type": "net"}}'
    )
    assert load_case(tmp_path / "c.yaml") == load_case(tmp_path / "c.json")


def test_assessed_on_defaults_to_the_callers_today(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("id: a\n")
    assert load_case(tmp_path / "c.yaml", today=date(2026, 1, 2)).assessed_on == date(2026, 1, 2)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="cannot read case file"):
        load_case(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(CaseFileError, match="not valid YAML or JSON"):
        load_case(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    ("ki67", "grade"),
    [
        (0, "G1"),
        (2.9, "G1"),
        (3, "G2"),
        (3.0, "G2"),
        (20, "G2"),
        (20.0, "G2"),
        (20.1, "G3"),
        (100, "G3"),
    ],
)
def test_ki67_grade_boundaries(ki67: float, grade: str) -> None:
    assert ki67_grade(ki67) == grade


@pytest.mark.parametrize(("mitoses", "grade"), [(1.9, "G1"), (2, "G2"), (20, "G2"), (21, "G3")])
def test_mitotic_grade_boundaries(mitoses: float, grade: str) -> None:
    assert mitotic_grade(mitoses) == grade


def test_effective_grade_is_the_highest_and_warns_on_disagreement() -> None:
    case = parse_case({"tumour": {"grade": "G1", "ki67_percent": 25, "mitotic_count_per_2mm2": 3}})
    assert case.derived.effective_grade == "G3"
    assert case.derived.warnings == (
        "Grade sources disagree (recorded grade G1, Ki-67 index G3, mitotic count G2); "
        "the higher grade G3 is used.",
    )
    agreeing = parse_case({"tumour": {"grade": "G2", "ki67_percent": 8}})
    assert (agreeing.derived.effective_grade, agreeing.derived.warnings) == ("G2", ())


@pytest.mark.parametrize("deep", [False, True])
def test_a_copy_with_other_facts_derives_its_own(deep: bool) -> None:
    """``Case.model_copy`` (update) never keeps the derived facts of the case it copies:
    a grade raised in the copy raises its effective grade and the engine's verdicts."""
    case = parse_case({"assessed_on": DAY, "tumour": {"type": "net", "grade": "G1"}})
    assert case.derived.effective_grade == "G1"  # derived (and kept) before the copy
    assert case.tumour is not None
    tumour = case.tumour.model_copy(update={"grade": "G3"})
    copied = case.model_copy(update={"tumour": tumour}, deep=deep)
    fresh = parse_case({"assessed_on": DAY, "tumour": {"type": "net", "grade": "G3"}})
    assert copied.derived == fresh.derived and copied.derived.effective_grade == "G3"
    assert case.derived.effective_grade == "G1"
    assert assess(copied) == assess(fresh)
    # a copy without updates keeps the same facts, and derives the same
    assert case.model_copy(deep=deep).derived == case.derived


@pytest.mark.parametrize(
    ("k", "ecog"),
    [
        (100, 0),
        (90, 0),
        (80, 1),
        (70, 1),
        (60, 2),
        (50, 2),
        (40, 3),
        (30, 3),
        (20, 4),
        (10, 4),
        (0, None),
    ],
)
def test_karnofsky_to_ecog(k: int, ecog: int | None) -> None:
    assert karnofsky_to_ecog(k) == ecog


def test_renal_prefers_creatinine_clearance() -> None:
    both = parse_case({"labs": {"egfr_ml_min": 70, "creatinine_clearance_ml_min": 35}})
    only = parse_case({"labs": {"egfr_ml_min": 70}})
    assert (both.derived.renal_ml_min, only.derived.renal_ml_min) == (35, 70)


@pytest.mark.parametrize(
    ("tumour", "gep", "group"),
    [
        ({"type": "net", "primary_site": "pancreas"}, True, "foregut"),
        ({"type": "net", "primary_site": "jejunum_ileum"}, True, "midgut"),
        ({"type": "net", "primary_site": "rectum"}, True, "hindgut"),
        ({"type": "net", "primary_site": "colon", "colon_segment": "caecum"}, True, "midgut"),
        ({"type": "net", "primary_site": "colon", "colon_segment": "sigmoid"}, True, "hindgut"),
        ({"type": "net", "primary_site": "colon", "colon_segment": "transverse"}, True, None),
        ({"type": "net", "primary_site": "lung"}, False, "foregut"),
        ({"type": "net", "primary_site": "unknown"}, False, None),
        ({"type": "paraganglioma", "primary_site": "other"}, False, None),
        ({"type": "phaeochromocytoma"}, False, None),
        ({"type": "net"}, None, None),
    ],
)
def test_gep_and_embryological_group(tumour: dict, gep: bool | None, group: str | None) -> None:
    d = parse_case({"tumour": tumour}).derived
    assert (d.gep_primary, d.embryological_group) == (gep, group)


def test_months_since_each_date_is_measured_from_assessed_on() -> None:
    case = parse_case(
        {
            "assessed_on": DAY,
            "imaging": {"sstr": {"date": "2026-05-27"}},
            "labs": {"date": "2026-11-27"},
        }
    )
    assert {k: round(v, 2) for k, v in case.derived.months_since.items()} == {
        "imaging.sstr.date": round(184 / 30.4375, 2),
        "labs.date": 0.0,
    }  # 184 days


def test_case_is_strict_about_numbers_given_as_strings() -> None:
    assert problems({"labs": {"inr": "1.2"}}) == [
        "labs.inr: Input should be a valid number (got '1.2')"
    ]


def test_case_model_rejects_unknown_top_level_fields() -> None:
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        Case.model_validate({"weight": 3})


@pytest.mark.parametrize(
    ("subtype", "ki67", "grade"),
    [
        ("typical_carcinoid", 2, "G1"),
        ("typical_carcinoid", 25, "G1"),
        ("atypical_carcinoid", 2.9, "G2"),
        ("atypical_carcinoid", 20, "G2"),
        ("atypical_carcinoid", 30, "G2"),
        ("atypical_carcinoid", None, "G2"),
        (None, 25, "G3"),  # no subtype: the GEP rule
    ],
)
def test_thoracic_carcinoid_grade_is_the_subtype_not_ki67(
    subtype: str | None, ki67: float | None, grade: str
) -> None:
    tumour: dict = {"type": "net", "primary_site": "lung"}
    if subtype:
        tumour["lung_subtype"] = subtype
    if ki67 is not None:
        tumour["ki67_percent"] = ki67
    assert parse_case({"tumour": tumour}).derived.effective_grade == grade


def test_thoracic_carcinoid_with_high_ki67_warns() -> None:
    at = parse_case({"tumour": {"lung_subtype": "atypical_carcinoid", "ki67_percent": 20}})
    above = parse_case({"tumour": {"lung_subtype": "atypical_carcinoid", "ki67_percent": 20.1}})
    assert at.derived.warnings == ()
    assert above.derived.warnings == (
        "Ki-67 20.1 % in an atypical carcinoid: thoracic carcinoids are graded by "
        "subtype (G2-equivalent is used), not Ki-67; a carcinoid with a high Ki-67 "
        "behaves more aggressively: review the histology (mitoses, necrosis; LCNEC?) and "
        "consider FDG PET.",
    )
    mixed = parse_case({"tumour": {"lung_subtype": "typical_carcinoid", "grade": "G2"}})
    assert (mixed.derived.effective_grade, mixed.derived.warnings) == (
        "G1",
        (
            "Grade sources disagree with the typical carcinoid subtype (recorded grade G2); "
            "the subtype (G1-equivalent) is used for a thoracic carcinoid.",
        ),
    )
