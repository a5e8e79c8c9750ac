"""The derived facts and the flattened facts are unchanged by the engine's speed work.

Differential: ``derive`` (written for speed: a rank table, warning text built only when
grade sources disagree, no function-level import behind ``Case.derived``) equals
``reference_derive`` below, the straightforward implementation it replaced (kept
verbatim but for its inputs: dicts of sources, ``max(key=GRADES.index)``), on every
field of ``Derived``, the warnings (text and order) and ``months_since``; and
``facts_of`` (generated) equals ``reference_facts_of`` (walks the model). Over every
scenario and example, a synthetic cohort of 3,000 cases, Hypothesis cases of the whole
model and Hypothesis cases crowded on the derived facts' inputs and their boundaries.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netmdt import Case, parse_case
from netmdt.case.derived import (
    CARCINOID_GRADE,
    COLON_GROUP,
    GEP_SITES,
    NON_GEP_TYPES,
    SITE_GROUP,
    Derived,
    derive,
    karnofsky_to_ecog,
    ki67_grade,
    mitotic_grade,
    months_between,
)
from netmdt.case.model import iter_dates
from netmdt.engine.facts import OPEN_TRIAL, facts_of, reference_facts_of
from netmdt.synth import synthetic_cases
from tests.strategies import ASSESSED_ON, DATES, case_dicts

GRADES = ("G1", "G2", "G3")  # the old derive ranked grades by their place here

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "scenarios").glob("*.yaml")) + sorted(
    (HERE.parent / "src/netmdt/examples").glob("*.yaml")
)
FIELDS = [f.name for f in dataclasses.fields(Derived) if f.name != "case"]


# ------------------------------------------------ the reference (the code before issue 16)


def reference_derive(case: Case) -> dict[str, Any]:
    """Every derived field, the warnings and ``months_since``, as the old ``derive`` gave them."""
    t, labs, perf = case.tumour, case.labs, case.performance
    warnings: list[str] = []
    grade = _effective_grade(case, warnings)
    crcl = labs.creatinine_clearance_ml_min if labs else None
    egfr = labs.egfr_ml_min if labs else None
    ecog = perf.ecog if perf else None
    from_karnofsky = karnofsky_to_ecog(perf.karnofsky if perf else None)
    if ecog is not None and from_karnofsky is not None and abs(ecog - from_karnofsky) > 1:
        warnings.append(
            f"ECOG {ecog} and Karnofsky {perf.karnofsky if perf else ''} disagree; ECOG is used."
        )
    if case.pregnant and (case.sex == "male" or (case.age_years or 0) >= 55):
        warnings.append("pregnant: true is recorded for a man or a woman aged 55 or more; check.")
    nec_like = _nec_like(case)
    if nec_like and t is not None and t.type == "net":
        warnings.append(
            "tumour.type is net but the subtype is a neuroendocrine carcinoma "
            "(LCNEC/SCLC or a NEC subtype); rules treat it as a NEC."
        )
    months = (
        {}
        if case.assessed_on is None
        else {p: months_between(d, case.assessed_on) for p, d in iter_dates(case)}
    )
    return {
        "effective_grade": grade,
        "renal_ml_min": crcl if crcl is not None else egfr,
        "ecog_effective": ecog if ecog is not None else from_karnofsky,
        "gep_primary": _gep_primary(case),
        "embryological_group": _embryological_group(case),
        "nec_like": nec_like,
        "warnings": tuple(warnings),
        "months_since": months,
    }


def _effective_grade(case: Case, warnings: list[str]) -> str | None:
    t = case.tumour
    if t is None:
        return None
    if t.lung_subtype in CARCINOID_GRADE:
        return _carcinoid_grade(t.lung_subtype, case, warnings)
    found = {
        "recorded grade": t.grade,
        "Ki-67 index": ki67_grade(t.ki67_percent),
        "mitotic count": mitotic_grade(t.mitotic_count_per_2mm2),
    }
    grades = {k: v for k, v in found.items() if v is not None}
    if not grades:
        return None
    highest = max(grades.values(), key=GRADES.index)
    if len(set(grades.values())) > 1:
        parts = ", ".join(f"{k} {v}" for k, v in grades.items())
        warnings.append(f"Grade sources disagree ({parts}); the higher grade {highest} is used.")
    return highest


def _carcinoid_grade(subtype: str, case: Case, warnings: list[str]) -> str:
    t = case.tumour
    assert t is not None
    grade = CARCINOID_GRADE[subtype]
    name = subtype.replace("_", " ")
    article = "an" if name.startswith("a") else "a"
    if t.ki67_percent is not None and t.ki67_percent > 20:
        warnings.append(
            f"Ki-67 {t.ki67_percent:g} % in {article} {name}: thoracic carcinoids are graded by "
            f"subtype ({grade}-equivalent is used), not Ki-67; a carcinoid with a high Ki-67 "
            "behaves more aggressively: review the histology (mitoses, necrosis; LCNEC?) and "
            "consider FDG PET."
        )
    others = {
        "recorded grade": t.grade,
        "mitotic count": mitotic_grade(t.mitotic_count_per_2mm2),
    }
    disagree = {k: v for k, v in others.items() if v is not None and v != grade}
    if disagree:
        parts = ", ".join(f"{k} {v}" for k, v in disagree.items())
        warnings.append(
            f"Grade sources disagree with the {name} subtype ({parts}); the subtype "
            f"({grade}-equivalent) is used for a thoracic carcinoid."
        )
    return grade


def _gep_primary(case: Case) -> bool | None:
    t = case.tumour
    if t is None:
        return None
    if t.type in NON_GEP_TYPES:
        return False
    if t.primary_site is None:
        return None
    return t.primary_site in GEP_SITES


def _embryological_group(case: Case) -> str | None:
    t = case.tumour
    if t is None or t.primary_site is None:
        return None
    if t.primary_site == "colon":
        return COLON_GROUP.get(t.colon_segment) if t.colon_segment else None
    return SITE_GROUP.get(t.primary_site)


def _nec_like(case: Case) -> bool | None:
    t = case.tumour
    if t is None:
        return None
    if t.type == "nec" or t.nec_subtype is not None or t.lung_subtype in ("lcnec", "sclc"):
        return True
    return None if t.type is None else False


# ------------------------------------------------------------------- the comparison


def typed(values: dict[str, Any]) -> dict[str, tuple[Any, type]]:
    """Each value with its type (True is not 1, 25 is not 25.0)."""
    return {k: (v, type(v)) for k, v in values.items()}


def differences(data: dict[str, Any]) -> list[str]:
    """Where the derived facts or the facts of a case differ from the references."""
    expected = reference_derive(Case.model_validate(data))
    case = Case.model_validate(data)  # a fresh case: ``derived`` is computed here
    found = [
        f"Case.derived.{name}"
        for name, value in typed(_derived(case.derived)).items()
        if value != typed(expected)[name]
    ]
    direct = derive(Case.model_validate(data))
    if typed(_derived(direct)) != typed(expected):
        found.append("derive")
    facts = facts_of(case)
    reference = reference_facts_of(case)
    reference.pop("derived", None)  # the cached Derived object itself, never a rule's fact
    if typed(facts) != typed(reference):
        found.append("facts_of")
    derived_facts = {k: v for k, v in facts.items() if k.startswith("derived.")}
    if typed(derived_facts) != typed(_derived_facts(expected)):
        found.append("facts_of: derived.*")
    return found


def _derived_facts(expected: dict[str, Any]) -> dict[str, Any]:
    """The ``derived.*`` facts: every derived value that is known, and no open trial."""
    values = {k: v for k, v in expected.items() if k not in ("warnings", "months_since")}
    known = {"derived." + k: v for k, v in values.items() if v is not None}
    return {**known, OPEN_TRIAL: False}


def _derived(d: Derived) -> dict[str, Any]:
    return {**{name: getattr(d, name) for name in FIELDS}, "months_since": d.months_since}


def test_the_reference_covers_every_field_of_derived() -> None:
    assert [*FIELDS, "months_since"] == list(reference_derive(Case()))


def _case_data(path: Path) -> Any:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["case"] if "expect" in data else data


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_scenario_and_example_derives_the_same(path: Path) -> None:
    data = parse_case(_case_data(path)).model_dump(exclude_none=True)
    assert differences(data) == []


def test_a_synthetic_cohort_derives_the_same() -> None:
    found = {}
    warned = 0
    for data in synthetic_cases(3000, 16):
        if problems := differences(data):
            found[data["id"]] = problems
        warned += bool(reference_derive(Case.model_validate(data))["warnings"])
    assert found == {}
    assert warned > 100  # the cohort reaches the warnings, not only the common path


@given(case_dicts())
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_random_cases_derive_the_same(data: dict[str, Any]) -> None:
    assert differences(data) == []


def _some(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with some of these fields (absent = unknown)."""
    return st.fixed_dictionaries({}, optional=fields)


# The inputs of the derived facts, values crowded on the boundaries of each rule.
KI67 = st.sampled_from([0, 2.9, 3, 3.0, 20, 20.0, 20.1, 21, 25, 100]) | st.floats(0, 100)
MITOSES = st.sampled_from([0, 1.9, 2, 20, 20.1, 21]) | st.floats(0, 500)
DERIVED_INPUTS = _some(
    tumour=_some(
        type=st.sampled_from(["net", "nec", "minen", "paraganglioma", "phaeochromocytoma"]),
        primary_site=st.sampled_from(["pancreas", "colon", "lung", "thymus", "unknown", "other"]),
        colon_segment=st.sampled_from(["caecum", "ascending", "transverse", "sigmoid"]),
        grade=st.sampled_from(["G1", "G2", "G3"]),
        ki67_percent=KI67,
        mitotic_count_per_2mm2=MITOSES,
        lung_subtype=st.sampled_from(["typical_carcinoid", "atypical_carcinoid", "lcnec", "sclc"]),
        nec_subtype=st.sampled_from(["small_cell", "large_cell"]),
    ),
    labs=_some(
        creatinine_clearance_ml_min=st.sampled_from([0, 30, 35.5]),
        egfr_ml_min=st.sampled_from([0.0, 70, 90.5]),
        date=DATES,
    ),
    performance=_some(ecog=st.integers(0, 4), karnofsky=st.integers(0, 100)),
    sex=st.sampled_from(["female", "male", "other"]),
    age_years=st.sampled_from([30, 54, 55, 80]),
    pregnant=st.booleans(),
    assessed_on=st.just(ASSESSED_ON),
)


@given(DERIVED_INPUTS)
@settings(max_examples=1500, deadline=None)
def test_cases_crowded_on_the_derived_inputs_derive_the_same(data: dict[str, Any]) -> None:
    assert differences(data) == []
