"""Pre-filling a new case from a FHIR R4 Bundle (issue #11): the form is filled, the page
says what was filled and what was not understood, nothing is stored until the
coordinator saves, the import is authorised and audited (counts only)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netmdt.fhir.prefill import (
    Identity,
    Prefill,
    PrefillError,
    check_identity,
    merge_into,
    name_words,
)
from tests.webapp import Harness, csrf_of, login

ROOT = Path(__file__).parent
EXAMPLES = Path("/work/shared/fhir-examples")
PNET = (ROOT / "fhir/pnet-bundle.json").read_text()


def _coordinator(web: Harness, **patient_changes: Any) -> tuple[TestClient, int, str]:
    patient = web.patient(**patient_changes)
    client = TestClient(web.app)
    login(client, "coordinator")
    page = client.get(f"/patients/{patient['id']}/cases/new").text
    assert "Pre-fill from a FHIR bundle" in page
    return client, patient["id"], csrf_of(page)


def _prefill(
    client: TestClient, patient_id: int, token: str, bundle: str, *, checked: bool = False
) -> Any:
    data = {"csrf_token": token, "bundle": bundle}
    if checked:
        data["identity_checked"] = "yes"
    return client.post(f"/patients/{patient_id}/cases/new/fhir", data=data)


# The PNET Bundle's Patient is born on 2 Jul 1961 with hospital identifier MRN-0042.
PNET_PATIENT = {"date_of_birth": "1961-07-02", "hospital_number": "MRN-0042"}


def _with_patient(*patients: dict[str, Any], bundle: str = PNET) -> str:
    """The PNET Bundle with its Patient replaced by ``patients`` (none: no Patient)."""
    data = json.loads(bundle)
    rest = [e for e in data["entry"] if e["resource"]["resourceType"] != "Patient"]
    data["entry"] = [{"resource": {"resourceType": "Patient", **p}} for p in patients] + rest
    return json.dumps(data)


def _same_person(**changes: Any) -> dict[str, Any]:
    """A Bundle Patient that is tests.webapp.PATIENT (Ann Example), with ``changes``."""
    return {
        "id": "pnet-patient",
        "identifier": [
            {"system": NHS, "value": "943 476 5919"},
            {"system": "https://hospital.example.org/mrn", "value": "h123456"},
        ],
        "name": [{"use": "official", "family": "EXAMPLÉ", "given": ["Ánn", "Maria"]}],
        "gender": "female",
        "birthDate": "1962-03-01",
        **changes,
    }


NHS = "https://fhir.nhs.uk/Id/nhs-number"
# What the PNET Bundle changes in tests.webapp's example case (the Bundle also fills the
# tumour type, liver metastases and ECOG status, with the example's values).
CHANGED = (
    "<li>Sex</li><li>Primary tumour site</li><li>Ki-67 index (%)</li>"
    "<li>Creatinine clearance (mL/min)</li><li>Bilirubin (µmol/L)</li>"
    "<li>Date of blood tests</li><li>Karnofsky performance status (%)</li>"
    "<li>Prior treatments (therapy, dates, cycles, outcome, progression-free months)</li>"
    "<li>Prior operations</li><li>Bilio-enteric anastomosis (e.g. after Whipple)</li>"
    "<li>Date the primary was resected</li>"
)
ANN = Identity("Ann Example", date(1962, 3, 1), "9434765919", "H123456")


def test_a_bundle_fills_the_form_and_stores_nothing(sqlite_web: Harness) -> None:
    web = sqlite_web
    client, pid, token = _coordinator(web, **PNET_PATIENT)
    r = _prefill(client, pid, token, PNET)
    assert r.status_code == 200, r.text
    page = r.text
    assert "Filled from the FHIR bundle: 14 field(s). Nothing is saved yet." in page
    assert (
        '<ul class="filled"><li>Sex</li><li>Tumour type (NET, NEC, MiNEN, paraganglioma, '
        "phaeochromocytoma, MTC)</li><li>Primary tumour site</li><li>Ki-67 index (%)</li>"
        "<li>Liver metastases present</li><li>Creatinine clearance (mL/min)</li>"
        "<li>Bilirubin (µmol/L)</li><li>Date of blood tests</li>"
        "<li>ECOG performance status (0-4)</li><li>Karnofsky performance status (%)</li>"
        "<li>Prior treatments (therapy, dates, cycles, outcome, progression-free months)</li>"
        "<li>Prior operations</li><li>Bilio-enteric anastomosis (e.g. after Whipple)</li>"
        "<li>Date the primary was resected</li></ul>"
    ) in page
    # The form's boxes hold the Bundle's facts.
    assert 'name="tumour.ki67_percent" value="12.0"' in page
    assert '<option value="pancreas" selected>' in page
    assert 'name="labs.date" value="2026-11-10"' in page
    # What was not understood, in words (no field path), and the identity check.
    assert "Not understood: 2 kind(s) of entry" in page
    assert (
        "<li>Observation: Bilirubin (x upper limit of normal): no reference range with an "
        "upper limit, so the value cannot be expressed as a multiple of the upper limit of "
        "normal</li><li>MedicationRequest: starts 15 Dec 2026, after the date of the case</li>"
    ) in page
    assert "this patient" not in page  # same birth date and hospital number: no warning
    # Nothing stored; the import is audited with counts only.
    assert web.call("coordinator", "GET", f"/api/patients/{pid}/cases").json() == []
    (event,) = [e for e in web.audit() if e["record_type"] == "fhir_bundle"]
    assert (event["action"], event["actor"]) == ("import", "coordinator")
    assert event["detail"] == {"patient": pid, "facts": 14, "unmapped": 2, "resources": 11}


def test_bad_input_is_refused_saying_why(sqlite_web: Harness) -> None:
    web = sqlite_web
    client, pid, token = _coordinator(web)
    for text, message in [
        ("", "paste a FHIR R4 Bundle (JSON), or choose its file"),
        ("{not json", "not JSON (line 1, column 2"),
        ('{"resourceType": "Patient"}', "not a FHIR Bundle"),
    ]:
        r = _prefill(client, pid, token, text)
        assert r.status_code == 422
        assert f"FHIR bundle: {message}" in r.text.replace("&#34;", '"')
        assert (
            'id="f-bundle" name="bundle" rows="4" spellcheck="false" aria-invalid="true"' in r.text
        )
    refused = [e["detail"] for e in web.audit() if e["record_type"] == "fhir_bundle"]
    assert refused == [{"patient": pid, "refused": True, "reason": "unreadable"}] * 3


def test_only_a_coordinator_may_prefill(sqlite_web: Harness) -> None:
    web = sqlite_web
    pid = web.patient()["id"]
    clinician = TestClient(web.app)
    token = login(clinician, "clinician")
    r = clinician.post(
        f"/patients/{pid}/cases/new/fhir", data={"csrf_token": token, "bundle": PNET}
    )
    assert r.status_code == 403
    anonymous = TestClient(web.app)
    assert (
        anonymous.post(f"/patients/{pid}/cases/new/fhir", data={"bundle": PNET}).status_code == 401
    )


def test_bundles_written_by_others(sqlite_web: Harness) -> None:
    """Real R4 data netmdt did not write: a Synthea patient with a non-neuroendocrine
    cancer, and an mCODE bundle whose Bundle.id breaks the FHIR id pattern."""
    web = sqlite_web
    client, pid, token = _coordinator(web)
    synthea = EXAMPLES / "synthea-r4/Darin_Skiles_31c343e9-5d7f-444e-9be4-56b1a6ec6146.json"
    r = _prefill(client, pid, token, synthea.read_text(), checked=True)
    assert r.status_code == 200, r.text
    assert "Filled from the FHIR bundle: 5 field(s)." in r.text
    assert "is a cancer that is not neuroendocrine" in r.text
    assert "<li>Encounter (18): a resource type netmdt does not read</li>" in r.text
    assert "Not understood: 13 kind(s) of entry" in r.text
    mcode = EXAMPLES / "mcode-trial-matching/TrialMatching_Patient01.json"
    assert json.loads(mcode.read_text())["id"].endswith("_1")  # breaks the FHIR id pattern
    r = _prefill(client, pid, token, mcode.read_text(), checked=True)
    assert r.status_code == 200, r.text
    assert "Filled from the FHIR bundle: 4 field(s)." in r.text
    assert "breaks the FHIR id pattern" in r.text
    assert (
        "<li>MedicationStatement (5): medication not one of netmdt&#39;s treatment options"
        in r.text
    )
    counts = [e["detail"] for e in web.audit() if e["record_type"] == "fhir_bundle"]
    assert counts == [  # the newest first
        {"patient": pid, "facts": 4, "unmapped": 14, "resources": 18},
        {"patient": pid, "facts": 5, "unmapped": 161, "resources": 168},
    ]


# -- identity: the Bundle's Patient against the netmdt patient ---------------------------


def test_the_same_person_passes_every_check() -> None:
    """NHS number with spaces, names in capitals with accents, the hospital number in
    lower case: all the same person, nothing to check."""
    bundle = json.loads(_with_patient(_same_person()))
    assert check_identity(bundle, ANN) == ([], [])
    assert name_words("Zoë O'Brien-SMITH") == ["zoe", "o", "brien", "smith"]


def test_another_nhs_number_is_refused_naming_it() -> None:
    bundle = json.loads(
        _with_patient(_same_person(identifier=[{"system": NHS, "value": "999-000-0018"}]))
    )
    with pytest.raises(PrefillError) as raised:
        check_identity(bundle, ANN)
    assert (str(raised.value), raised.value.reason) == (
        "the Bundle's NHS number (999 000 0018) is not this patient's (943 476 5919): "
        "it is another patient's record, so nothing was pre-filled",
        "nhs_number_mismatch",
    )
    # Same name and birth date do not rescue it; no NHS number on either side: compared
    # on the rest.
    assert check_identity(bundle, Identity("Ann Example", date(1962, 3, 1), None, None)) == (
        [],
        [],
    )


def test_name_and_birth_date_mismatches_are_named() -> None:
    other = _same_person(
        name=[{"family": "Exemple", "given": ["Anne"]}], birthDate="1962-01-03", identifier=[]
    )
    assert check_identity(json.loads(_with_patient(other)), ANN) == (
        [
            "Name: the Bundle's patient is Anne Exemple, this patient is Ann Example.",
            "Date of birth: the Bundle's patient was born on 3 Jan 1962, this patient on "
            "1 Mar 1962.",
        ],
        [
            "No identifier in the Bundle is this patient's hospital number (H123456): "
            "check whose record it is."
        ],
    )
    # A given name matching but another family name is a mismatch too; a name given only
    # as text is compared word for word.
    family = _same_person(name=[{"family": "Other", "given": ["Ann"]}])
    assert check_identity(json.loads(_with_patient(family)), ANN)[0] == [
        "Name: the Bundle's patient is Ann Other, this patient is Ann Example."
    ]
    text = _same_person(name=[{"text": "EXAMPLE, Ann"}])
    assert check_identity(json.loads(_with_patient(text)), ANN) == ([], [])
    # An empty name says nothing; a partial birth date that agrees is no mismatch, one
    # that disagrees is.
    vague = _same_person(name=[{"use": "usual"}], birthDate="1962-03")
    assert check_identity(json.loads(_with_patient(vague)), ANN) == ([], [])
    year = _same_person(birthDate="1961")
    assert check_identity(json.loads(_with_patient(year)), ANN)[0] == [
        "Date of birth: the Bundle's patient was born on 1961, this patient on 1 Mar 1962."
    ]


def test_several_patients_are_refused_and_none_is_a_warning() -> None:
    two = json.loads(_with_patient(_same_person(), _same_person(id="b")))
    with pytest.raises(PrefillError) as raised:
        check_identity(two, ANN)
    assert (str(raised.value), raised.value.reason) == (
        "the Bundle holds 2 Patients: paste the Bundle of one patient",
        "several_patients",
    )
    assert check_identity(json.loads(_with_patient()), ANN) == (
        [],
        ["The Bundle holds no Patient: check whose record it is before saving."],
    )


def test_the_route_refuses_another_nhs_number_and_stores_nothing(sqlite_web: Harness) -> None:
    web = sqlite_web
    client, pid, token = _coordinator(web)
    other = _with_patient(_same_person(identifier=[{"system": NHS, "value": "9990000018"}]))
    r = _prefill(client, pid, token, other, checked=True)  # a tick does not override it
    assert r.status_code == 422
    assert (
        "FHIR bundle: the Bundle&#39;s NHS number (999 000 0018) is not this patient&#39;s "
        "(943 476 5919): it is another patient&#39;s record, so nothing was pre-filled"
    ) in r.text
    assert 'name="tumour.ki67_percent" value=""' in r.text or 'ki67_percent" value' not in r.text
    assert "12.0" not in r.text and "identity_checked" not in r.text
    r = _prefill(client, pid, token, _with_patient(_same_person(), _same_person(id="b")))
    assert r.status_code == 422
    assert "FHIR bundle: the Bundle holds 2 Patients" in r.text
    assert web.call("coordinator", "GET", f"/api/patients/{pid}/cases").json() == []
    refused = [e["detail"] for e in web.audit() if e["record_type"] == "fhir_bundle"]
    assert refused == [  # the newest first; no patient data, only the outcome
        {"patient": pid, "refused": True, "reason": "several_patients"},
        {"patient": pid, "refused": True, "reason": "nhs_number_mismatch"},
    ]


def test_the_route_fills_only_after_a_name_or_birth_date_mismatch_is_acknowledged(
    sqlite_web: Harness,
) -> None:
    web = sqlite_web
    client, pid, token = _coordinator(web)
    other = _with_patient(_same_person(birthDate="1962-01-03"))
    r = _prefill(client, pid, token, other)
    assert r.status_code == 422
    page = r.text
    assert "12.0" not in page  # not filled
    assert (
        '<ul class="mismatches"><li>Date of birth: the Bundle&#39;s patient was born on '
        "3 Jan 1962, this patient on 1 Mar 1962.</li></ul>"
    ) in page
    assert (
        '<input type="checkbox" id="f-identity_checked" name="identity_checked" value="yes">'
    ) in page
    assert "&#34;birthDate&#34;: &#34;1962-01-03&#34;" in page  # the Bundle kept to resend
    r = _prefill(client, pid, token, other, checked=True)
    assert r.status_code == 200, r.text
    assert 'name="tumour.ki67_percent" value="12.0"' in r.text
    assert (
        '<ul class="warnings"><li>Date of birth: the Bundle&#39;s patient was born on '
        "3 Jan 1962, this patient on 1 Mar 1962. You confirmed that the Bundle is this "
        "patient&#39;s record.</li>"
    ) in r.text
    assert "identity_checked" not in r.text
    details = [e["detail"] for e in web.audit() if e["record_type"] == "fhir_bundle"]
    assert details == [
        {"patient": pid, "facts": 14, "unmapped": 2, "resources": 11},
        {"patient": pid, "refused": True, "reason": "identity_unconfirmed"},
    ]


# -- the edit form of an existing case --------------------------------------------------


def test_merge_keeps_what_the_bundle_does_not_say_and_names_what_it_changes() -> None:
    current = {
        "tumour.ki67_percent": 3.0,
        "tumour.primary_site": "pancreas",
        "history.prior_treatments": [{"therapy": "ssa_long_acting"}],
        "history.prior_treatments.0.therapy": "ssa_long_acting",
        "labs.date": "2026-01-01",
    }
    made = Prefill(
        values={
            "tumour.ki67_percent": 12.0,
            "tumour.primary_site": "pancreas",
            "history.prior_treatments": [],
            "sex": "male",
        },
        paths=["sex", "tumour.primary_site", "tumour.ki67_percent", "history.prior_treatments"],
    )
    labels = {
        "sex": "Sex",
        "tumour.primary_site": "Primary tumour site",
        "tumour.ki67_percent": "Ki-67 index (%)",
        "history.prior_treatments": "Prior treatments",
    }
    assert merge_into(current, made, labels) == {
        "tumour.ki67_percent": 12.0,
        "tumour.primary_site": "pancreas",
        "history.prior_treatments": [],
        "labs.date": "2026-01-01",
        "sex": "male",
    }
    assert made.changed == ["Sex", "Ki-67 index (%)", "Prior treatments"]


def test_the_edit_form_prefills_shows_the_changes_and_stores_nothing(sqlite_web: Harness) -> None:
    web = sqlite_web
    pid = web.patient(**PNET_PATIENT)["id"]
    case = web.case(pid)
    client = TestClient(web.app)
    login(client, "coordinator")
    page = client.get(f"/cases/{case['id']}/edit").text
    assert f'action="/cases/{case["id"]}/edit/fhir"' in page
    r = client.post(
        f"/cases/{case['id']}/edit/fhir", data={"csrf_token": csrf_of(page), "bundle": PNET}
    )
    assert r.status_code == 200, r.text
    assert 'name="tumour.ki67_percent" value="12.0"' in r.text
    changed = r.text.split('<ul class="changed">')[1].split("</ul>")[0]
    assert changed == CHANGED
    # Nothing stored: still one version; the import audited with the case.
    assert web.call("coordinator", "GET", f"/api/cases/{case['id']}").json()["version"] == 1
    (event,) = [e for e in web.audit() if e["record_type"] == "fhir_bundle"]
    assert event["detail"] == {
        "patient": pid,
        "case": case["id"],
        "facts": 14,
        "unmapped": 2,
        "resources": 11,
    }
    # Another patient's NHS number is refused on the edit form too.
    other = _with_patient({"identifier": [{"system": NHS, "value": "9990000018"}]})
    r = client.post(
        f"/cases/{case['id']}/edit/fhir",
        data={"csrf_token": csrf_of(page), "bundle": other},
    )
    assert r.status_code == 422
    assert "FHIR bundle: the Bundle&#39;s NHS number (999 000 0018)" in r.text
