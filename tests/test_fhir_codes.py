"""Every observation code the FHIR import maps, one test each (issue 10, item 3): each
LOINC code with each unit it accepts lands in its case field with the right factor;
each coded answer gives its value; and codes that look close but are not the same
measurement (HER2, oestrogen receptor, a breast-cancer Ki-67) are never mapped."""

from __future__ import annotations

from typing import Any

import pytest

from netmdt.fhir import import_fhir
from netmdt.fhir.codes import tables
from tests.test_fhir_import import DAY, observation, patient


def value_at(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) or {}
    return data if data != {} else None


def imported(*resources: dict[str, Any]) -> dict[str, Any]:
    result = import_fhir([patient(), *resources], assessed_on=DAY)
    return result.case.model_dump(exclude_none=True)


QUANTITIES = [
    (rule.field, code, unit, factor)
    for rule in tables().quantities
    if not rule.ratio_to_uln
    for code in sorted(rule.codes)
    for unit, factor in rule.units.items()
]


@pytest.mark.parametrize(("field", "code", "unit", "factor"), QUANTITIES)
def test_every_quantity_code_and_unit_maps(field: str, code: str, unit: str, factor: float) -> None:
    value: dict[str, Any] = {"value": 7}
    if unit:  # "" stands for no unit at all (FHIR has no empty strings)
        value |= {"unit": unit, "code": unit, "system": "http://unitsofmeasure.org"}
    case = imported(observation("o1", code, valueQuantity=value))
    assert value_at(case, field) == pytest.approx(7 * factor), (field, code, unit)


RATIOS = [
    (rule.field, code) for rule in tables().quantities if rule.ratio_to_uln for code in rule.codes
]


@pytest.mark.parametrize(("field", "code"), sorted(RATIOS))
def test_every_ratio_to_uln_code_maps(field: str, code: str) -> None:
    obs = observation(
        "o1",
        code,
        valueQuantity={"value": 60, "unit": "U/L", "code": "U/L"},
        referenceRange=[{"high": {"value": 40, "unit": "U/L", "code": "U/L"}}],
    )
    assert value_at(imported(obs), field) == pytest.approx(1.5)


def test_ki67_maps_from_the_tissue_code() -> None:
    obs = observation("ki", "29593-1", valueQuantity={"value": 12, "unit": "%", "code": "%"})
    assert imported(obs)["tumour"] == {"ki67_percent": 12}


@pytest.mark.parametrize(
    "code",
    [
        "85330-9",  # Ki-67 in a *breast cancer* specimen: must not grade a NET
        "85319-2",  # HER2 [Presence] in Breast cancer specimen by Immune stain
        "85337-4",  # Estrogen receptor Ag [Presence] in Breast cancer specimen
        "29593-7",  # not a LOINC code (29593-1 is Ki-67)
    ],
)
def test_codes_that_are_not_a_net_ki67_are_never_mapped(code: str) -> None:
    obs = observation("x", code, valueQuantity={"value": 30, "unit": "%", "code": "%"})
    assert "tumour" not in imported(obs)


def test_no_unverified_code_maps_to_the_mitotic_count() -> None:
    """No LOINC code for mitoses per area could be verified: the field stays unknown."""
    fields = {r.field for r in (*tables().quantities, *tables().scores, *tables().coded)}
    assert "tumour.mitotic_count_per_2mm2" not in fields


PREGNANCY = [
    (code, system, answer, value)
    for code in ("2106-3", "2118-8", "2110-5")
    for system, answer, value in (
        ("http://loinc.org", "LA6576-8", "positive"),
        ("http://loinc.org", "LA6577-6", "negative"),
        ("http://snomed.info/sct", "10828004", "positive"),
        ("http://snomed.info/sct", "260385009", "negative"),
    )
]


@pytest.mark.parametrize(("code", "system", "answer", "value"), PREGNANCY)
def test_every_hcg_pregnancy_test_code_and_answer_maps(
    code: str, system: str, answer: str, value: str
) -> None:
    obs = observation(
        "hcg", code, valueCodeableConcept={"coding": [{"system": system, "code": answer}]}
    )
    assert imported(obs)["labs"] == {"pregnancy_test": value, "date": DAY.replace(day=1)}


def test_a_quantitative_hcg_is_not_read_as_a_pregnancy_test() -> None:
    obs = observation("hcg", "19080-1", valueQuantity={"value": 3, "unit": "[IU]/L"})
    assert "labs" not in imported(obs)
