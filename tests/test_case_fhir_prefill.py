"""Pre-filling a new case from a FHIR R4 Bundle (issue #11): the form is filled, the page
says what was filled and what was not understood, nothing is stored until the
coordinator saves, the import is authorised and audited (counts only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.webapp import Harness, csrf_of, login

ROOT = Path(__file__).parent
EXAMPLES = Path("/work/shared/fhir-examples")
PNET = (ROOT / "fhir/pnet-bundle.json").read_text()


def _coordinator(web: Harness) -> tuple[TestClient, int, str]:
    patient = web.patient()
    client = TestClient(web.app)
    login(client, "coordinator")
    page = client.get(f"/patients/{patient['id']}/cases/new").text
    assert "Pre-fill from a FHIR bundle" in page
    return client, patient["id"], csrf_of(page)


def _prefill(client: TestClient, patient_id: int, token: str, bundle: str) -> Any:
    return client.post(
        f"/patients/{patient_id}/cases/new/fhir", data={"csrf_token": token, "bundle": bundle}
    )


def test_a_bundle_fills_the_form_and_stores_nothing(sqlite_web: Harness) -> None:
    web = sqlite_web
    client, pid, token = _coordinator(web)
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
    assert "The Bundle&#39;s patient was born on 2 Jul 1961, this patient on 1 Mar 1962" in page
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
    assert refused == [{"patient": pid, "refused": True}] * 3


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
    r = _prefill(client, pid, token, synthea.read_text())
    assert r.status_code == 200, r.text
    assert "Filled from the FHIR bundle: 5 field(s)." in r.text
    assert "is a cancer that is not neuroendocrine" in r.text
    assert "<li>Encounter (18): a resource type netmdt does not read</li>" in r.text
    assert "Not understood: 13 kind(s) of entry" in r.text
    mcode = EXAMPLES / "mcode-trial-matching/TrialMatching_Patient01.json"
    assert json.loads(mcode.read_text())["id"].endswith("_1")  # breaks the FHIR id pattern
    r = _prefill(client, pid, token, mcode.read_text())
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
