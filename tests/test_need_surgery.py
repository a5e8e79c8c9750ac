"""Surgery need, functioning tumours and pre-treatment checks for the surgical and local options
(issue #9 items 1, 2 and 4; review S1, S2, M1, X10, X11): what the scenarios cannot assert
(warnings and pending checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from netmdt import KnowledgeBase, assess, parse_case

SCENARIOS = Path(__file__).parent / "scenarios"
ALPHA = "alpha-adrenergic blockade first, then beta-blockade"
OCTREOTIDE = "octreotide cover"


def scenario_case(stem: str) -> dict[str, Any]:
    path = next(SCENARIOS.glob(f"{stem}-*.yaml"))
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["case"]
    return case


def metastatic_paraganglioma() -> dict[str, Any]:
    return {
        "assessed_on": "2026-11-27",
        "age_years": 52,
        "sex": "male",
        "tumour": {
            "type": "paraganglioma",
            "primary_site": "other",
            "functional_syndrome": ["catecholamine_excess"],
            "symptoms_controlled": True,
            "hereditary_syndrome": "sdhx",
        },
        "disease": {
            "primary_in_situ": False,
            "resectable_for_cure": False,
            "regional_nodes": False,
            "liver_metastases": {"present": True, "count": 2, "largest_cm": 1.5},
            "extrahepatic_metastases": [],
            "progression": "progressive",
            "debulkable_percent": 90,
        },
        "performance": {"ecog": 0, "comorbidities": []},
        "history": {"prior_treatments": [], "biliary_enteric_anastomosis": False},
        "context": {"health_system": "nhs_england"},
    }


def test_ppgl_gets_alpha_blockade_and_no_octreotide_cover(kb: KnowledgeBase) -> None:
    result = assess(parse_case(metastatic_paraganglioma()), kb)
    shown = {
        option: (
            any(ALPHA in w for w in result.option(option).warnings),
            any(OCTREOTIDE in w for w in result.option(option).warnings),
        )
        for option in ("thermal_ablation", "surgery_debulking")
    }
    assert shown == {"thermal_ablation": (True, False), "surgery_debulking": (True, False)}


def test_carcinoid_liver_metastases_keep_octreotide_cover(kb: KnowledgeBase) -> None:
    result = assess(parse_case(scenario_case("need-35")), kb).option("thermal_ablation")
    assert (
        any(OCTREOTIDE in w for w in result.warnings),
        any(ALPHA in w for w in result.warnings),
    ) == (True, False)


def test_blockade_and_valve_grading_are_pending_checks_not_missing_facts(
    kb: KnowledgeBase,
) -> None:
    ppgl = assess(parse_case(scenario_case("need-50")), kb).option("surgery_curative")
    chd = assess(parse_case(scenario_case("need-45")), kb).option("surgery_curative")
    got = {
        "ppgl": (ppgl.verdict, [(p.criterion, p.field) for p in ppgl.pending_checks]),
        "chd": (chd.verdict, [(p.criterion, p.field) for p in chd.pending_checks]),
    }
    assert got == {
        "ppgl": (
            "recommended",
            [("alpha_blockade_ready", "history.alpha_blockade_established")],
        ),
        "chd": ("consider", [("chd_valves_not_severe", "disease.chd_valve_severity")]),
    }


def test_known_severe_valve_disease_defers_surgery_and_says_so(kb: KnowledgeBase) -> None:
    result = assess(parse_case(scenario_case("need-43")), kb).option("surgery_curative")
    assert result.verdict == "not_recommended"
    assert any("valve" in w and "reassess surgery" in w for w in result.warnings)


def test_insulinoma_gets_glucose_monitoring_and_the_eus_rfa_alternative(
    kb: KnowledgeBase,
) -> None:
    case = scenario_case("need-41")
    case["tumour"]["functional_syndrome"] = ["insulinoma"]
    result = assess(parse_case(case), kb).option("surgery_curative")
    assert (
        any("blood glucose" in w for w in result.warnings),
        any("EUS-guided radiofrequency ablation" in w for w in result.warnings),
        any("proton-pump inhibitor" in w for w in result.warnings),
    ) == (True, True, False)


def test_gastrinoma_gets_ppi_first(kb: KnowledgeBase) -> None:
    result = assess(parse_case(scenario_case("need-41")), kb).option("surgery_curative")
    assert any("proton-pump inhibitor first" in w for w in result.warnings)


def test_nothing_left_to_remove_names_follow_up(kb: KnowledgeBase) -> None:
    result = assess(parse_case(scenario_case("need-17")), kb).option("surgery_curative")
    assert result.verdict == "not_recommended"
    assert any("Nothing left to remove" in w for w in result.warnings), result.warnings


def test_endoscopic_standard_names_the_standard(kb: KnowledgeBase) -> None:
    result = assess(parse_case(scenario_case("need-06")), kb).option("surgery_curative")
    assert result.verdict == "consider"
    assert any("rectal NET of 1.0 cm or less" in w for w in result.warnings), result.warnings
