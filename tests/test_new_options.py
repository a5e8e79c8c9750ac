"""The five options added in issue #9 (cabozantinib, best supportive care, hormone syndrome
control, SIRT, palliative radiotherapy) and the liver_embolisation changes: warnings, pending
checks and invariants that the scenario files (tests/scenarios/new-*.yaml) cannot express."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmdt import KnowledgeBase, assess, load_case, parse_case

HERE = Path(__file__).parent
BASE: dict[str, Any] = yaml.safe_load(
    next((HERE / "scenarios").glob("new-01-*.yaml")).read_text(encoding="utf-8")
)["case"]
NEW_OPTIONS = [
    "cabozantinib",
    "best_supportive_care",
    "hormone_syndrome_control",
    "sirt",
    "palliative_radiotherapy",
]
MINE = [*NEW_OPTIONS, "liver_embolisation"]
PPGL_WORDING = re.compile(
    r"^Phaeochromocytoma/paraganglioma: alpha-adrenergic blockade first, then beta-blockade, "
    r"before [A-Za-z -]+ \(Endocrine Society PPGL guideline, Lenders 2014\); octreotide does not "
    r"prevent a catecholamine crisis\."
)


def with_changes(**changes: Any) -> dict[str, Any]:
    """The new-01 case (progressive SI-NET with liver metastases) with dotted-path changes."""
    case = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = case
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return case


def warnings_of(kb: KnowledgeBase, option: str, **changes: Any) -> list[str]:
    return assess(parse_case(with_changes(**changes)), kb).option(option).warnings


PPGL = {
    "tumour__type": "paraganglioma",
    "tumour__primary_site": "other",
    "tumour__functional_syndrome": ["catecholamine_excess"],
    "tumour__symptoms_controlled": True,
}


@pytest.mark.parametrize("option", ["liver_embolisation", "sirt"])
def test_ppgl_gets_alpha_blockade_and_no_octreotide_cover(kb: KnowledgeBase, option: str) -> None:
    texts = warnings_of(kb, option, **PPGL)
    assert [t for t in texts if PPGL_WORDING.match(t)] != []
    assert [t for t in texts if "octreotide cover" in t] == []


def test_carcinoid_syndrome_gets_octreotide_cover_and_no_alpha_blockade(
    kb: KnowledgeBase,
) -> None:
    texts = warnings_of(
        kb,
        "liver_embolisation",
        tumour__functional_syndrome=["carcinoid_syndrome"],
        tumour__symptoms_controlled=False,
    )
    assert [t for t in texts if "octreotide cover" in t] != []
    assert [t for t in texts if PPGL_WORDING.match(t)] == []


@pytest.mark.parametrize("option", ["liver_embolisation", "sirt", "hormone_syndrome_control"])
def test_insulinoma_gets_glucose_monitoring(kb: KnowledgeBase, option: str) -> None:
    texts = warnings_of(
        kb,
        option,
        tumour__primary_site="pancreas",
        tumour__functional_syndrome=["insulinoma"],
        tumour__symptoms_controlled=False,
    )
    assert [t for t in texts if "glucose" in t and "Insulinoma" in t] != []


def test_the_ppgl_warning_is_worded_the_same_in_every_option_of_this_change(
    kb: KnowledgeBase,
) -> None:
    texts = {
        option: w.text
        for option in MINE
        for w in kb.options[option].warnings
        if w.id == "ppgl_alpha_blockade"
    }
    assert sorted(texts) == [
        "hormone_syndrome_control",
        "liver_embolisation",
        "palliative_radiotherapy",
        "sirt",
    ]
    assert {o: bool(PPGL_WORDING.match(" ".join(t.split()))) for o, t in texts.items()} == {
        o: True for o in texts
    }


def test_routine_checks_not_yet_known_are_pending_not_missing(kb: KnowledgeBase) -> None:
    case = with_changes(
        sex="female",
        age_years=40,
        pregnant=None,
        labs__bilirubin_x_uln=None,
        labs__bilirubin_umol_l=None,
        imaging__lung_shunt_percent=None,
        performance__comorbidities=None,
    )
    assessment = assess(parse_case(case), kb)
    pending = {
        option: sorted({p.criterion for p in assessment.option(option).pending_checks})
        for option in ("cabozantinib", "sirt")
    }
    assert pending == {
        "cabozantinib": [
            "bilirubin_le_3",
            "blood_pressure_controlled",
            "not_known_pregnant",
            "pregnancy_excluded",
        ],
        "sirt": ["bilirubin_lt_34", "lung_shunt_le_20", "not_known_pregnant", "pregnancy_excluded"],
    }
    assert {o: assessment.option(o).verdict for o in ("cabozantinib", "sirt")} == {
        "cabozantinib": "recommended",
        "sirt": "recommended",
    }
    assert {o: assessment.option(o).missing for o in ("cabozantinib", "sirt")} == {
        "cabozantinib": [],
        "sirt": [],
    }


def _all_cases() -> list[tuple[str, Any]]:
    found = [
        (p.stem, load_case(p))
        for p in sorted((HERE.parent / "src/netmdt/examples").rglob("*.yaml"))
        if p.name != "patients.yaml"
    ]
    found += [
        (p.stem, parse_case(yaml.safe_load(p.read_text(encoding="utf-8"))["case"]))
        for p in sorted((HERE / "scenarios").glob("*.yaml"))
    ]
    return found


def test_best_supportive_care_is_never_negative_nor_undecided(kb: KnowledgeBase) -> None:
    verdicts = {
        name: assess(case, kb).option("best_supportive_care").verdict for name, case in _all_cases()
    }
    assert {v for v in verdicts.values()} <= {"recommended", "consider"}
    assert len(verdicts) > 300


def test_every_criterion_of_the_new_options_says_why_it_is_in_its_group(
    kb: KnowledgeBase,
) -> None:
    assert [
        f"{option}.{c.id}"
        for option in MINE
        for c in kb.options[option].criteria
        if not c.group_reason
    ] == []
