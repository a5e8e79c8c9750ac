"""FHIR import: real examples written by others, and NET bundles of our own, to whole cases."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from netmdt.case import Case, load_case
from netmdt.cli import app
from netmdt.engine.assess import assess
from netmdt.errors import FhirError, Problem
from netmdt.fhir import ImportResult, import_fhir
from netmdt.fhir.codes import tables
from netmdt.fhir.importer import LIST_FIELDS, leaf_paths

HERE = Path(__file__).parent / "fhir"
EXTERNAL = HERE / "external"
DAY = date(2026, 11, 27)
EXTERNAL_FILES = sorted(EXTERNAL.glob("*/*.json"))


def case(data: dict[str, Any]) -> Case:
    return Case.model_validate({"assessed_on": DAY, **data})


def verdicts(result: ImportResult) -> dict[str, str]:
    return {o.option: o.verdict for o in assess(result.case).options}


def test_the_external_examples_are_all_here() -> None:
    assert [p.parent.name for p in EXTERNAL_FILES].count("mcode-stu1") == 28
    assert len(EXTERNAL_FILES) == 34


def assert_every_value_has_its_provenance(result: ImportResult) -> None:
    """Each known case field has a fact naming its resource, and each fact is in the case."""
    case_data = result.case.model_dump(exclude_none=True)

    def value_at(path: str) -> Any:
        node: Any = case_data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    known = {p for p in leaf_paths(Case) if value_at(p) is not None} - {"assessed_on"}
    facts = {f.field for f in result.report.facts}
    assert facts == known
    assert set(result.report.unknown) == set(leaf_paths(Case)) - known - {"assessed_on"}
    for f in result.report.facts:
        if f.field not in ("history.prior_treatments", *LIST_FIELDS):
            assert value_at(f.field) == f.value, f.field


@pytest.mark.parametrize("path", EXTERNAL_FILES, ids=lambda p: p.name[:50])
def test_every_external_file_imports_with_every_value_traced(path: Path) -> None:
    result = import_fhir(path, assessed_on=DAY)
    assert result.case.assessed_on == DAY
    assert result.report.resources  # something was read
    assert_every_value_has_its_provenance(result)


@pytest.mark.parametrize("name", ["si-net-bundle.json", "pnet-bundle.json"])
def test_every_value_of_our_bundles_is_traced(name: str) -> None:
    assert_every_value_has_its_provenance(import_fhir(HERE / name, assessed_on=DAY))


# ------------------------------------------------------------------ mCODE


def mcode_patient01() -> list[dict[str, Any]]:
    """The mCODE STU1 examples of patient 01 (the folder also holds patient 02)."""
    return [
        json.loads(p.read_text())
        for p in sorted((EXTERNAL / "mcode-stu1").glob("*.json"))
        if p.name != "Patient-mCODEPatientExample02.json"
    ]


def test_the_mcode_examples_map_to_the_facts_they_carry() -> None:
    result = import_fhir(mcode_patient01(), assessed_on=DAY)
    assert result.case == case(
        {
            "id": "Patient/mCODEPatientExample01",
            "age_years": 75,
            "sex": "male",
            "disease": {"extrahepatic_metastases": ["brain"]},
            "performance": {"ecog": 0, "karnofsky": 90},
            "history": {
                "prior_surgery": ["lung_resection"],
                "primary_resection_date": "2019-03-01",
            },
        }
    )
    unmapped = {(u.resource_id, u.reason) for u in result.report.unmapped}
    assert (
        "mCODEPrimaryCancerConditionExample01",
        "Non-small cell lung cancer (disorder): not a neuroendocrine neoplasm; netmdt's tumour "
        "types do not include it (tumour.type stays unknown)",
    ) in unmapped
    assert ("mCODETNMClinicalStageGroupExample01", "code not in netmdt's tables") in unmapped
    assert (
        "mCODECancerRelatedMedicationStatementExample01",
        "medication not one of netmdt's treatment options",
    ) in unmapped
    assert "tumour.type" in result.report.unknown
    assert result.report.warnings == [
        "Condition/mCODEPrimaryCancerConditionExample01 is a cancer that is not neuroendocrine "
        "(Non-small cell lung cancer (disorder)); netmdt's rules are for neuroendocrine neoplasms",
        "disease.extrahepatic_metastases lists only the sites recorded as conditions; other "
        "sites are not known to be absent (the FHIR record does not say staging was complete)",
    ]


def test_the_mcode_folder_holds_two_patients_and_is_refused_whole() -> None:
    with pytest.raises(FhirError) as err:
        import_fhir(EXTERNAL / "mcode-stu1", assessed_on=DAY)
    assert err.value.problems == [
        Problem(
            "Patient",
            "the input holds 2 patients (mCODEPatientExample01, mCODEPatientExample02); "
            "import one patient at a time",
            "several_patients",
        )
    ]


def test_a_trial_matching_bundle_with_a_bad_bundle_id_imports_with_a_warning() -> None:
    result = import_fhir(
        EXTERNAL / "mcode-trial-matching/TrialMatching_Patient01.json", assessed_on=DAY
    )
    assert result.case == case(
        {
            "id": "Patient/mCODETrialMatchingPatientExample01",
            "age_years": 67,
            "sex": "female",
            "disease": {"liver_metastases": {"present": True}, "extrahepatic_metastases": ["bone"]},
            "performance": {"ecog": 1},
        }
    )
    assert result.report.warnings[0] == (
        "Bundle/9aa0a829-14be-4951-84e7-5dd453708011_1.id: "
        "'9aa0a829-14be-4951-84e7-5dd453708011_1' breaks the FHIR id pattern "
        "[A-Za-z0-9-.]{1,64}; the Bundle is only a wrapper, so its entries were read as usual"
    )


def test_the_second_trial_matching_bundle_keeps_its_chemotherapy() -> None:
    result = import_fhir(
        EXTERNAL / "mcode-trial-matching/TrialMatching_Patient02.json", assessed_on=DAY
    )
    assert result.case == case(
        {
            "id": "Patient/mCODETrialMatchingPatientExample02",
            "age_years": 53,
            "sex": "female",
            "disease": {"extrahepatic_metastases": ["bone"]},
            "performance": {"ecog": 1},
            "history": {
                "prior_treatments": [
                    # four radiation procedures (SNOMED 53438000, 445232009): one course
                    {
                        "therapy": "palliative_radiotherapy",
                        "start": "2019-04-01",
                        "end": "2019-11-01",
                    },
                    {"therapy": "chemotherapy", "start": "2019-10-01"},
                ]
            },
        }
    )
    chemo = [
        f
        for f in result.report.facts
        if f.field == "history.prior_treatments" and "radiation" not in (f.note or "")
    ]
    assert [(f.resource_id, f.note) for f in chemo] == [
        (
            "mCODETrialMatchingCancerMedicationStatement07PatientExample02",
            "matched 'capecitabine oral product'",
        ),
        (
            "mCODETrialMatchingCancerMedicationStatement10PatientExample02",
            "matched 'gemcitabine injetable product'",
        ),
    ]


# ------------------------------------------------------------------ Synthea


def test_the_small_cell_lung_cancer_patient_is_a_poorly_differentiated_nec_of_the_lung() -> None:
    path = EXTERNAL / "synthea-r4/Sherman_McGlynn_8ef2ef98-48c5-427e-80d4-5e8f30ac8bf5.json"
    result = import_fhir(path, assessed_on=date(2009, 9, 1))
    assert result.case == Case.model_validate(
        {
            "id": "Patient/ffb8ae8f-8c7f-4475-8c42-d38419108e94",
            "assessed_on": "2009-09-01",
            "age_years": 72,
            "sex": "male",
            "tumour": {
                "type": "nec",
                "primary_site": "lung",
                "lung_subtype": "sclc",
                "nec_subtype": "small_cell",
            },
            "labs": {
                "egfr_ml_min": 19.1828,
                "albumin_g_l": 50.9149,
                "haemoglobin_g_l": 137.7386,
                "platelets_10e9_l": 323.4217,
                "wbc_10e9_l": 3.8971,
                "bilirubin_umol_l": 12.4254,
                "date": "2003-04-07",
            },
            "history": {
                "prior_treatments": [
                    {"therapy": "chemotherapy", "start": "2003-01-07"},
                    # combined chemotherapy and radiation therapy (SNOMED 703423002)
                    {
                        "therapy": "palliative_radiotherapy",
                        "start": "2009-08-01",
                        "end": "2009-08-23",
                    },
                ]
            },
        }
    )
    assert result.case.derived.nec_like is True
    tumour = [
        (f.field, f.resource_id, f.element)
        for f in result.report.facts
        if f.field.startswith("tumour.")
    ]
    assert tumour == [
        ("tumour.type", "5c82e77b-c381-4d47-abcb-c27b0db4e1a8", "Condition.code"),
        ("tumour.primary_site", "5c82e77b-c381-4d47-abcb-c27b0db4e1a8", "Condition.code"),
        ("tumour.lung_subtype", "5c82e77b-c381-4d47-abcb-c27b0db4e1a8", "Condition.code"),
        ("tumour.nec_subtype", "5c82e77b-c381-4d47-abcb-c27b0db4e1a8", "Condition.code"),
    ]
    assert (
        "Patient/ffb8ae8f-8c7f-4475-8c42-d38419108e94 is recorded as deceased "
        "2012-07-31T06:01:37+00:00" in result.report.warnings
    )


def test_the_patient_without_cancer_leaves_the_tumour_unknown() -> None:
    path = EXTERNAL / "synthea-r4/Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json"
    result = import_fhir(path, assessed_on=DAY)
    assert result.case.tumour is None
    assert {"tumour.type", "tumour.primary_site", "disease.progression"} <= set(
        result.report.unknown
    )


# ------------------------------------------------------------------ our NET bundles

SI_NET_CASE = {
    "id": "Patient/si-net-patient",
    "age_years": 58,
    "sex": "female",
    "pregnant": False,
    "tumour": {
        "type": "net",
        "primary_site": "jejunum_ileum",
        "grade": "G2",
        "ki67_percent": 8.0,
        "functional_syndrome": ["carcinoid_syndrome"],
    },
    "disease": {"liver_metastases": {"present": True}},
    "imaging": {
        "sstr": {
            "modality": "ga68_dotatate_pet",
            "positive": True,
            "uptake_vs_liver": "above",
            "all_lesions_avid": True,
            "krenning_score": 4,
            "date": "2026-10-02",
        }
    },
    "labs": {
        "egfr_ml_min": 78.0,
        "bilirubin_x_uln": 0.5,
        "albumin_g_l": 38.0,
        "haemoglobin_g_l": 124.0,
        "platelets_10e9_l": 210.0,
        "wbc_10e9_l": 6.1,
        "neutrophils_10e9_l": 3.8,
        "bilirubin_umol_l": 10.2624,
        "alt_x_uln": 0.6,
        "inr": 1.0,
        "nt_probnp_ng_l": 120.0,
        "u5hiaa_umol_24h": 210.0,
        "date": "2026-11-18",
    },
    "performance": {"ecog": 1},
    "history": {
        "prior_treatments": [{"therapy": "ssa_long_acting", "start": "2024-03-01"}],
        "prior_surgery": ["small_bowel_resection"],
        "primary_resection_date": "2023-02-15",
    },
}
SI_NET_VERDICTS = {
    "surgery_curative": "insufficient_information",
    "surgery_debulking": "insufficient_information",
    "ssa_short_acting": "consider",
    "ssa_long_acting": "recommended",
    "chemotherapy": "not_recommended",
    "interferon_alpha": "insufficient_information",
    "mibg_i131": "not_recommended",
    "prrt_lu177_dotatate": "insufficient_information",
    "prrt_y90_dotatoc": "insufficient_information",
    "liver_embolisation": "insufficient_information",
    "thermal_ablation": "insufficient_information",
    "liver_transplant": "insufficient_information",
    "clinical_trial": "insufficient_information",
    "everolimus": "insufficient_information",
    "sunitinib": "not_recommended",
    "telotristat": "insufficient_information",
    "active_surveillance": "not_recommended",
    "endoscopic_resection": "not_recommended",
    "cabozantinib": "not_recommended",
    "best_supportive_care": "consider",
    "hormone_syndrome_control": "not_recommended",
    "sirt": "insufficient_information",
    "palliative_radiotherapy": "insufficient_information",
}


def test_the_functional_si_net_bundle_round_trips_to_the_expected_case_and_verdicts() -> None:
    result = import_fhir(HERE / "si-net-bundle.json", assessed_on=DAY)
    assert result.case == case(SI_NET_CASE)
    assert verdicts(result) == SI_NET_VERDICTS
    assert result.report.unmapped == []
    assert result.report.warnings == []


def test_after_adding_the_progression_the_record_lacks_prrt_needs_only_two_facts() -> None:
    result = import_fhir(HERE / "si-net-bundle.json", assessed_on=DAY)
    data = result.case.model_dump()
    data["disease"].update(progression="progressive", progression_date=date(2026, 9, 1))
    data["performance"]["comorbidities"] = []
    data["context"] = {"health_system": "nhs_england"}
    prrt = assess(Case.model_validate(data)).option("prrt_lu177_dotatate")
    assert (prrt.verdict, [m.field for m in prrt.missing]) == (
        "insufficient_information",
        ["disease.carcinoid_heart_disease", "performance.life_expectancy_months"],
    )


def test_the_newest_value_wins_and_the_older_is_reported() -> None:
    result = import_fhir(HERE / "si-net-bundle.json", assessed_on=DAY)
    egfr = [
        (f.value, f.resource_id, f.date)
        for f in result.report.facts
        if f.field == "labs.egfr_ml_min"
    ]
    older = [
        (f.value, f.resource_id, f.date)
        for f in result.report.superseded
        if f.field == "labs.egfr_ml_min"
    ]
    assert egfr == [(78.0, "si-net-egfr", date(2026, 11, 20))]
    assert older == [(65.0, "si-net-egfr-old", date(2026, 5, 1))]


def test_facts_dated_after_assessed_on_are_not_used() -> None:
    result = import_fhir(HERE / "si-net-bundle.json", assessed_on=date(2026, 8, 1))
    assert result.case.imaging is None or result.case.imaging.sstr is None
    assert result.case.labs is not None and result.case.labs.egfr_ml_min == 65.0
    reasons = {u.reason for u in result.report.unmapped if u.resource_id == "si-net-ga68-pet"}
    assert reasons == {"dated 2026-10-02, after assessed_on (2026-08-01)"}


PNET_CASE = {
    "id": "Patient/pnet-patient",
    "age_years": 65,
    "sex": "male",
    "tumour": {"type": "net", "primary_site": "pancreas", "ki67_percent": 12.0},
    "disease": {"liver_metastases": {"present": True}},
    "labs": {"creatinine_clearance_ml_min": 72.0, "bilirubin_umol_l": 12.0, "date": "2026-11-10"},
    "performance": {"ecog": 1, "karnofsky": 80},
    "history": {
        "prior_treatments": [{"therapy": "chemotherapy", "start": "2026-10-01"}],
        "prior_surgery": ["pancreaticoduodenectomy"],
        "biliary_enteric_anastomosis": True,
        "primary_resection_date": "2025-07-10",
    },
}
PNET_VERDICTS = {
    "surgery_curative": "insufficient_information",
    "surgery_debulking": "insufficient_information",
    "ssa_short_acting": "insufficient_information",
    "ssa_long_acting": "insufficient_information",
    "chemotherapy": "insufficient_information",
    "interferon_alpha": "not_recommended",
    "mibg_i131": "insufficient_information",
    "prrt_lu177_dotatate": "insufficient_information",
    "prrt_y90_dotatoc": "insufficient_information",
    "liver_embolisation": "insufficient_information",
    "thermal_ablation": "insufficient_information",
    "liver_transplant": "not_recommended",
    "clinical_trial": "insufficient_information",
    "everolimus": "insufficient_information",
    "sunitinib": "insufficient_information",
    "telotristat": "not_recommended",
    "active_surveillance": "insufficient_information",
    "endoscopic_resection": "not_recommended",
    "cabozantinib": "insufficient_information",
    "best_supportive_care": "consider",
    "hormone_syndrome_control": "insufficient_information",
    "sirt": "insufficient_information",
    "palliative_radiotherapy": "insufficient_information",
}


def test_the_pnet_bundle_with_a_whipple_round_trips_with_its_provenance() -> None:
    result = import_fhir(HERE / "pnet-bundle.json", assessed_on=DAY)
    assert result.case == case(PNET_CASE)
    assert verdicts(result) == PNET_VERDICTS
    assert [
        (f.field, f.resource_type, f.resource_id, f.element, f.date) for f in result.report.facts
    ] == [
        ("id", "Patient", "pnet-patient", "Patient.id", None),
        ("age_years", "Patient", "pnet-patient", "Patient.birthDate", None),
        ("sex", "Patient", "pnet-patient", "Patient.gender", None),
        (
            "tumour.type",
            "Condition",
            "pnet-primary",
            "Condition.extension[histology-morphology-behavior]",
            date(2025, 6, 1),
        ),
        ("tumour.primary_site", "Condition", "pnet-primary", "Condition.code", date(2025, 6, 1)),
        (
            "tumour.ki67_percent",
            "Observation",
            "pnet-ki67",
            "Observation.valueQuantity",
            date(2025, 7, 20),
        ),
        ("history.prior_surgery", "Procedure", "pnet-whipple", "Procedure.code", date(2025, 7, 10)),
        (
            "history.primary_resection_date",
            "Procedure",
            "pnet-whipple",
            "Procedure.code",
            date(2025, 7, 10),
        ),
        (
            "history.biliary_enteric_anastomosis",
            "Procedure",
            "pnet-whipple",
            "Procedure.code",
            date(2025, 7, 10),
        ),
        (
            "disease.liver_metastases.present",
            "Condition",
            "pnet-liver-mets",
            "Condition.code",
            date(2026, 9, 15),
        ),
        (
            "performance.ecog",
            "Observation",
            "pnet-ecog",
            "Observation.valueCodeableConcept",
            date(2026, 11, 10),
        ),
        (
            "performance.karnofsky",
            "Observation",
            "pnet-karnofsky",
            "Observation.valueInteger",
            date(2026, 11, 10),
        ),
        (
            "labs.bilirubin_umol_l",
            "Observation",
            "pnet-bilirubin",
            "Observation.valueQuantity",
            date(2026, 11, 10),
        ),
        (
            "labs.creatinine_clearance_ml_min",
            "Observation",
            "pnet-crcl",
            "Observation.valueQuantity",
            date(2026, 11, 10),
        ),
        (
            "history.prior_treatments",
            "MedicationRequest",
            "pnet-capecitabine",
            "MedicationRequest.medicationCodeableConcept",
            date(2026, 10, 1),
        ),
        (
            "labs.date",
            "Observation",
            "pnet-bilirubin",
            "Observation.valueQuantity",
            date(2026, 11, 10),
        ),
    ]
    assert [(u.resource_id, u.element, u.reason) for u in result.report.unmapped] == [
        (
            "pnet-bilirubin",
            "Observation.referenceRange",
            "labs.bilirubin_x_uln: no reference range with an upper limit, so the value cannot be "
            "expressed as a multiple of the upper limit of normal",
        ),
        (
            "pnet-future-everolimus",
            "MedicationRequest.medicationCodeableConcept",
            "starts 2026-12-15, after assessed_on (2026-11-27)",
        ),
    ]
    assert "labs.bilirubin_x_uln" in result.report.unknown
    assert "pregnant" in result.report.unknown


# ------------------------------------------------------------------ unknown, never false


def patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1970-01-01",
        **extra,
    }


def observation(rid: str, code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": "2026-11-01",
        **value,
    }


def test_absent_facts_stay_unknown_and_are_listed() -> None:
    result = import_fhir([patient()], assessed_on=DAY)
    assert result.case == case({"id": "Patient/p1", "age_years": 56, "sex": "female"})
    assert result.report.unknown == [
        p for p in leaf_paths(Case) if p not in ("id", "assessed_on", "age_years", "sex")
    ]
    assert result.report.facts[-1].field == "sex"


def test_an_unknown_pregnancy_answer_stays_unknown() -> None:
    obs = observation(
        "preg",
        "82810-3",
        valueCodeableConcept={
            "coding": [{"system": "http://loinc.org", "code": "LA4489-6", "display": "Unknown"}]
        },
    )
    result = import_fhir([patient(), obs], assessed_on=DAY)
    assert result.case.pregnant is None
    assert [(u.resource_id, u.code, u.reason) for u in result.report.unmapped] == [
        (
            "preg",
            "http://loinc.org|LA4489-6",
            "pregnant: answer not recognised (an unknown answer stays unknown)",
        ),
    ]


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        (
            {"value": 210, "unit": "/mm3"},
            "labs.platelets_10e9_l: unit '/mm3' cannot be converted (known: 10*9/L, 10^9/L, "
            "10*3/uL, 10^3/uL, /nL, x10E9/L)",
        ),
        (
            {"value": 50, "comparator": "<", "unit": "10*9/L"},
            "labs.platelets_10e9_l: a value < 50.0 is not an exact value",
        ),
    ],
)
def test_values_that_cannot_be_converted_are_reported(
    quantity: dict[str, Any], reason: str
) -> None:
    obs = observation("plt", "777-3", valueQuantity=quantity)
    result = import_fhir([patient(), obs], assessed_on=DAY)
    assert result.case.labs is None
    assert [u.reason for u in result.report.unmapped] == [reason]


def test_a_resolved_metastasis_and_a_refuted_diagnosis_are_not_used() -> None:
    liver = {
        "resourceType": "Condition",
        "id": "m1",
        "clinicalStatus": {"coding": [{"code": "resolved"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "94381002"}]},
    }
    net = {
        "resourceType": "Condition",
        "id": "c1",
        "verificationStatus": {"coding": [{"code": "refuted"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.012"}]},
    }
    result = import_fhir([patient(), liver, net], assessed_on=DAY)
    assert result.case.disease is None and result.case.tumour is None
    assert [u.reason for u in result.report.unmapped] == [
        "metastasis recorded as resolved",
        "diagnosis refuted",
    ]


# ------------------------------------------------------------------ malformed input


def bad_ki67() -> dict[str, Any]:
    return observation(
        "ki",
        "29593-1",
        valueQuantity={"value": 8, "unit": "%", "code": "%"},
        effectiveDateTime="yesterday",
    )


def test_an_invalid_resource_is_set_aside_with_a_warning() -> None:
    result = import_fhir([patient(), bad_ki67()], assessed_on=DAY)
    assert result.case.tumour is None
    assert [(u.resource_id, u.element) for u in result.report.unmapped] == [
        ("ki", "Observation.effectiveDateTime")
    ]
    assert result.report.unmapped[0].reason.startswith(
        "not valid FHIR R4 (read with the R4B model)"
    )
    assert result.report.warnings == [
        "Observation/ki is not valid FHIR (1 problem(s)); it was not used"
    ]


def test_strict_import_refuses_an_invalid_resource_naming_it() -> None:
    with pytest.raises(FhirError) as err:
        import_fhir([patient(), bad_ki67()], assessed_on=DAY, strict=True)
    [problem] = err.value.problems
    assert (problem.where, problem.code) == ("Observation/ki.effectiveDateTime", "invalid_resource")


def test_a_value_the_case_format_rejects_is_reported_not_imported() -> None:
    obs = observation("ki", "29593-1", valueQuantity={"value": 150, "unit": "%", "code": "%"})
    result = import_fhir([patient(), obs], assessed_on=DAY)
    assert result.case.tumour is None
    assert [u.reason for u in result.report.unmapped] == [
        "tumour.ki67_percent = 150.0 rejected by the case format: Input should be less than "
        "or equal to 100 (got 150.0)"
    ]


@pytest.mark.parametrize(
    ("source", "problems"),
    [
        (
            42,
            [
                Problem(
                    "",
                    "FHIR input must be a Bundle, a list of resources or a path, got int",
                    "not_fhir",
                )
            ],
        ),
        (
            [{"id": "x"}],
            [
                Problem(
                    "input[0]", "not a FHIR resource (a JSON object with resourceType)", "not_fhir"
                )
            ],
        ),
        (
            {"resourceType": "Bundle", "entry": {}},
            [Problem("Bundle.entry", "must be a list", "not_fhir")],
        ),
        (
            [patient(), patient(id="p2")],
            [
                Problem(
                    "Patient",
                    "the input holds 2 patients (p1, p2); import one patient at a time",
                    "several_patients",
                )
            ],
        ),
    ],
)
def test_input_that_is_not_fhir_raises_one_error_listing_every_problem(
    source: Any, problems: list[Problem]
) -> None:
    with pytest.raises(FhirError) as err:
        import_fhir(source, assessed_on=DAY)
    assert err.value.problems == problems


def test_files_that_are_not_json_or_missing_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(FhirError) as err:
        import_fhir(tmp_path, assessed_on=DAY)
    assert err.value.problems == [
        Problem(f"{tmp_path / 'a.json'} line 1", "not valid JSON", "json")
    ]
    with pytest.raises(FhirError) as err:
        import_fhir(tmp_path / "none.json", assessed_on=DAY)
    assert err.value.problems[0].code == "file"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FhirError, match=r"no \.json files"):
        import_fhir(empty, assessed_on=DAY)


def test_every_code_table_entry_names_its_source() -> None:
    t = tables()
    entries = [
        *t.primary.values(),
        *t.other_cancers.values(),
        *t.metastases.values(),
        *t.syndromes.values(),
        *t.body_sites.values(),
    ]
    rules = [*t.quantities, *t.scores, *t.coded, *t.medications, *t.procedures]
    assert all(e.source.startswith("http") for e in entries)
    assert all(r.source.startswith("http") for r in rules)
    case_fields = set(leaf_paths(Case))
    assert {r.field for r in [*t.quantities, *t.scores, *t.coded]} <= case_fields


# ------------------------------------------------------------------ CLI


def test_the_cli_writes_a_case_that_loads_back_the_same(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    result = CliRunner().invoke(
        app,
        [
            "fhir",
            "import",
            str(HERE / "pnet-bundle.json"),
            "--assessed-on",
            "2026-11-27",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_case(out) == case(PNET_CASE)
    assert yaml.safe_load(out.read_text())["tumour"] == PNET_CASE["tumour"]


def test_the_cli_report_lists_provenance_on_stderr() -> None:
    result = CliRunner().invoke(
        app,
        [
            "fhir",
            "import",
            str(HERE / "pnet-bundle.json"),
            "--assessed-on",
            "2026-11-27",
            "--report",
        ],
    )
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["id"] == "Patient/pnet-patient"
    assert (
        "  tumour.ki67_percent = 12.0  <- Observation/pnet-ki67 Observation.valueQuantity "
        "(2025-07-20)"
    ) in result.stderr.splitlines()


def test_the_cli_refuses_bad_input_with_exit_2_and_one_line_per_problem(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["fhir", "import", str(EXTERNAL / "mcode-stu1")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Patient: the input holds 2 patients (mCODEPatientExample01, mCODEPatientExample02); "
        "import one patient at a time"
    ]
    result = CliRunner().invoke(
        app, ["fhir", "import", str(HERE / "pnet-bundle.json"), "--assessed-on", "27/11/2026"]
    )
    assert result.exit_code == 2
    assert result.stderr == "--assessed-on: '27/11/2026' is not an ISO date (YYYY-MM-DD)\n"


def test_every_fhir_problem_code_is_documented() -> None:
    import re

    root = Path(__file__).parent.parent
    source = "".join(p.read_text() for p in (root / "src/netmdt/fhir").glob("*.py"))
    codes = set()
    for start in (m.end() for m in re.finditer(r"\bProblem\(", source)):
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        codes.add(re.findall(r'"([a-z_]+)"', source[start:end])[-1])
    assert codes == {
        "not_fhir",
        "file",
        "json",
        "several_patients",
        "invalid_resource",
        "case",
        "invalid_output",
    }
    errors_doc = (root / "docs/errors.md").read_text()
    for code in codes:
        assert f"`{code}`" in errors_doc, code


def test_a_folder_of_resource_files_imports_like_the_bundle(tmp_path: Path) -> None:
    bundle = json.loads((HERE / "pnet-bundle.json").read_text())
    for entry in bundle["entry"]:
        r = entry["resource"]
        (tmp_path / f"{r['resourceType']}-{r['id']}.json").write_text(json.dumps(r))
    from_folder = import_fhir(tmp_path, assessed_on=DAY)
    assert from_folder.case == import_fhir(bundle, assessed_on=DAY).case == case(PNET_CASE)


def test_a_medication_reference_is_followed_to_its_medication() -> None:
    med = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "0",
                    "display": "Everolimus 10mg tablets",
                }
            ]
        },
    }
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "completed",
        "medicationReference": {"reference": "Medication/m1"},
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": "2025-01-01", "end": "2025-09-30"},
    }
    result = import_fhir([patient(), med, statement], assessed_on=DAY)
    assert result.case.history is not None
    assert result.case.history.model_dump(exclude_none=True) == {
        "prior_treatments": [
            {"therapy": "everolimus", "start": date(2025, 1, 1), "end": date(2025, 9, 30)}
        ]
    }
    assert [u.reason for u in result.report.unmapped] == [
        "read through the MedicationStatement or MedicationRequest that refers to it"
    ]


def test_the_public_api_is_sorted_and_complete() -> None:
    import netmdt.cdshooks
    import netmdt.fhir

    def isort_style(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, rest
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    for module in (netmdt.fhir, netmdt.cdshooks):
        assert module.__all__ == sorted(module.__all__, key=isort_style)
        assert all(getattr(module, name) for name in module.__all__)


@pytest.mark.parametrize(
    ("name", "cancer"),
    [
        (
            "Darin_Skiles_31c343e9-5d7f-444e-9be4-56b1a6ec6146.json",
            "Primary malignant neoplasm of colon",
        ),
        (
            "Austin_Franecki_f23eef30-acb2-49da-8091-159b61dc1ed5.json",
            "Non-small cell lung cancer (disorder)",
        ),
    ],
)
def test_a_cancer_that_is_not_neuroendocrine_is_said_so_and_left_unknown(
    name: str, cancer: str
) -> None:
    result = import_fhir(EXTERNAL / "synthea-r4" / name, assessed_on=DAY)
    assert result.case.tumour is None
    assert any(
        f"a cancer that is not neuroendocrine ({cancer})" in w for w in result.report.warnings
    )


def test_the_cli_strict_and_health_system_options(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([patient(), bad_ki67()][1]))
    runner = CliRunner()
    result = runner.invoke(app, ["fhir", "import", str(bad), "--strict"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Observation/ki.effectiveDateTime: ")
    result = runner.invoke(
        app,
        [
            "fhir",
            "import",
            str(HERE / "pnet-bundle.json"),
            "--assessed-on",
            "2026-11-27",
            "--health-system",
            "nhs_england",
        ],
    )
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["context"] == {"health_system": "nhs_england"}
    result = runner.invoke(
        app, ["fhir", "import", str(HERE / "pnet-bundle.json"), "--health-system", "nhs_scotland"]
    )
    assert result.exit_code == 2
    assert result.stderr == "--health-system: 'nhs_scotland'; allowed: nhs_england, other\n"


def _mutations(resource: dict[str, Any]) -> Any:
    """The resource with one element (top level or one below) replaced by a wrong type."""
    for key, value in resource.items():
        if key in ("resourceType",):
            continue
        for wrong in ("x", 7, [], {}, [1], None, True):
            yield {**resource, key: wrong}
        if isinstance(value, dict):
            for sub in value:
                for wrong in ("x", [], {}, None):
                    yield {**resource, key: {**value, sub: wrong}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for sub in value[0]:
                for wrong in ("x", [], {}, None):
                    yield {**resource, key: [{**value[0], sub: wrong}, *value[1:]]}


@pytest.mark.parametrize("name", ["si-net-bundle.json", "pnet-bundle.json"])
def test_no_malformed_resource_causes_anything_but_a_fhir_error(name: str) -> None:
    bundle = json.loads((HERE / name).read_text())
    resources = [e["resource"] for e in bundle["entry"]]
    tried = 0
    for i, resource in enumerate(resources):
        for mutated in _mutations(resource):
            tried += 1
            try:
                result = import_fhir(
                    [*resources[:i], mutated, *resources[i + 1 :]], assessed_on=DAY
                )
            except FhirError:
                continue
            assert isinstance(result.case, Case)
    assert tried > 500


def test_a_wrongly_shaped_element_is_named_in_the_report() -> None:
    net = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "bodySite": "ileum",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.012"}]},
    }
    result = import_fhir([patient(), net], assessed_on=DAY)
    assert result.case.tumour is None
    assert [(u.resource_id, u.element) for u in result.report.unmapped] == [
        ("c1", "Condition.bodySite")
    ]
    assert result.report.warnings == [
        "Condition/c1 is not valid FHIR (1 problem(s)); it was not used"
    ]


def test_a_snomed_morphology_in_the_mcode_extension_gives_type_and_grade() -> None:
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2026-01-05",
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/"
                "mcode-histology-morphology-behavior",
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "1286770005"}]
                },
            }
        ],
        "code": {"text": "Neuroendocrine tumour of pancreas"},
        "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "15776009"}]}],
    }
    result = import_fhir([patient(), condition], assessed_on=DAY)
    assert result.case.tumour is not None
    assert result.case.tumour.model_dump(exclude_none=True) == {
        "type": "net",
        "primary_site": "pancreas",
        "grade": "G2",
    }


def _statement(rid: str, display: str, start: str, end: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": {"text": display},
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": start, "end": end},
    }


def _procedure(rid: str, display: str, day: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": {"text": display},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": day,
    }


def test_the_new_therapies_import_as_prior_treatments() -> None:
    resources = [
        patient(),
        _statement("s1", "Cabometyx 60 mg film-coated tablets", "2025-03-01", "2025-12-01"),
        _statement("s2", "Diazoxide 50 mg tablets", "2024-01-01", "2024-06-01"),
        _procedure("p1", "Selective internal radiation therapy (SIRT), right lobe", "2024-08-01"),
        _procedure("p2", "Palliative radiotherapy 8 Gy single fraction, T10", "2026-02-01"),
        _procedure("p3", "Stereotactic body radiation therapy (SBRT), lung", "2026-03-01"),
    ]
    result = import_fhir(resources, assessed_on=DAY)
    assert result.case.history is not None
    assert result.case.history.model_dump(exclude_none=True) == {
        "prior_treatments": [
            {"therapy": "cabozantinib", "start": date(2025, 3, 1), "end": date(2025, 12, 1)},
            {
                "therapy": "hormone_syndrome_control",
                "start": date(2024, 1, 1),
                "end": date(2024, 6, 1),
            },
            {"therapy": "sirt", "start": date(2024, 8, 1), "end": date(2024, 8, 1)},
            # two radiotherapy procedures make one course
            {
                "therapy": "palliative_radiotherapy",
                "start": date(2026, 2, 1),
                "end": date(2026, 3, 1),
            },
        ],
        "prior_liver_directed_therapy": ["sirt"],
    }


def test_common_acid_and_blood_pressure_medicines_are_not_read_as_syndrome_control() -> None:
    resources = [
        patient(),
        _statement("s1", "Omeprazole 20 mg capsules", "2024-01-01", "2024-06-01"),
        _statement("s2", "Doxazosin 4 mg tablets", "2024-01-01", "2024-06-01"),
    ]
    result = import_fhir(resources, assessed_on=DAY)
    assert result.case.history is None or not result.case.history.prior_treatments
    assert len(result.report.unmapped) == 2
