"""The registry through the HTTP API, on SQLite and PostgreSQL: the centre's status in the
funding note (stateless and stored assessments), enrolment linked to the MDT decision
(every 409 path), cycles, computed CTCAE grades, RECIST, follow-up, the overdue list, the
report and the REDCap export, with roles and audit."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from netmdt.registry import redcap
from netmdt.registry.schemas import RecordOut
from tests.webapp import ROOT, Harness

SCENARIO = ROOT / "tests/scenarios/rad-06-lung-atypical-carcinoid-prrt-registry-on-hold.yaml"
TODAY = date.today()
_numbers = itertools.count(1)


def bronchial_facts() -> dict[str, Any]:
    case = yaml.safe_load(SCENARIO.read_text())["case"]
    facts: dict[str, Any] = json.loads(json.dumps(case, default=str))
    facts.pop("id")
    facts.pop("age_years")
    return facts


def prrt_funding(assessment: dict[str, Any]) -> dict[str, Any]:
    return next(o["funding"] for o in assessment["options"] if o["option"] == "prrt_lu177_dotatate")


def decided(web: Harness, facts: dict[str, Any], chosen: list[str]) -> int:
    patient = web.patient(nhs_number=None, hospital_number=f"H{next(_numbers)}")
    case = web.case(patient["id"], facts)
    meeting = web.meeting(case["id"])
    r = web.call(
        "clinician",
        "POST",
        f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision",
        json={"chosen": chosen, "rationale": "MDT: PRRT in the registry", "deviation_reason": None},
    )
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


def enrol(web: Harness, decision: int, **changes: Any) -> Any:
    body = {
        "decision_id": decision,
        "consent_date": str(TODAY - timedelta(days=1)),
        "info_sheet_version": "v2.1 2026-10",
    } | changes
    return web.call("clinician", "POST", "/api/registry/enrolments", json=body)


def set_status(web: Harness, status: str) -> None:
    r = web.call("admin", "PUT", "/api/registry/status", json={"status": status})
    assert r.status_code == 200, r.text


def test_status_changes_the_funding_note_of_stateless_and_stored_assessments(web: Harness) -> None:
    facts = {**bronchial_facts(), "age_years": 66}
    before = prrt_funding(web.call("clinician", "POST", "/api/assess", json=facts).json())
    assert (before["pathway"], before["registry_status"]) == ("audit_registry", "on_hold")
    patient = web.patient()
    case = web.case(patient["id"], bronchial_facts())
    stored = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    assert prrt_funding(stored)["registry_status"] == "on_hold"
    set_status(web, "open")
    after = prrt_funding(web.call("clinician", "POST", "/api/assess", json=facts).json())
    assert after["registry_status"] == "open"
    assert after["note"].startswith("The centre's PRRT audit registry is open")
    assert "on hold" not in after["note"]
    stored = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    assert prrt_funding(stored)["registry_status"] == "open"
    set_status(web, "on_hold")
    held = prrt_funding(web.call("clinician", "POST", "/api/assess", json=facts).json())
    assert held["registry_status"] == "on_hold" and "currently on hold" in held["note"]
    # liver transplantation's audit_registry route is another registry: untouched
    other = web.call("clinician", "POST", "/api/assess", json=facts).json()
    lt = next(o["funding"] for o in other["options"] if o["option"] == "liver_transplant")
    assert lt["registry_status"] in (None, "open")
    changes = [
        e for e in web.audit() if e["record_type"] == "registry" and e["action"] == "set_status"
    ]
    assert [e["detail"]["status"] for e in changes] == ["on_hold", "open"]  # newest first
    assert (
        web.call("clinician", "PUT", "/api/registry/status", json={"status": "open"}).status_code
        == 403
    )
    bad = web.call("admin", "PUT", "/api/registry/status", json={"status": "paused"})
    assert bad.status_code == 422


def test_enrolment_needs_a_prrt_decision_through_the_registry(web: Harness) -> None:
    everolimus = decided(web, bronchial_facts(), ["everolimus"])
    r = enrol(web, everolimus)
    assert r.status_code == 409 and "not PRRT" in r.text
    prrt = decided(web, bronchial_facts(), ["prrt_lu177_dotatate"])
    r = enrol(web, prrt)
    assert r.status_code == 409 and "on hold" in r.text  # the registry is not open
    set_status(web, "open")
    gep = {
        **bronchial_facts(),
        "tumour": {**bronchial_facts()["tumour"], "primary_site": "pancreas", "lung_subtype": None},
    }
    first_course = decided(web, gep, ["prrt_lu177_dotatate"])
    r = enrol(web, first_course)
    assert r.status_code == 409 and "was nhs_commissioned, not the audit registry" in r.text
    assert enrol(web, 999_999).status_code == 404
    assert enrol(web, prrt, consent_date=str(TODAY + timedelta(days=1))).status_code == 422
    assert web.call("auditor", "POST", "/api/registry/enrolments", json={}).status_code == 403
    r = enrol(web, prrt)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["subgroup"], out["registry_status"], out["planned_cycles"]) == (
        "bronchial",
        "open",
        4,
    )
    assert out["decision_id"] == prrt and out["case_version"] == 1
    assert out["kb_fingerprint"].startswith("sha256:")
    assert enrol(web, prrt).status_code == 409  # already enrolled
    frozen = web.call("auditor", "GET", f"/api/registry/enrolments/{out['id']}/assessment")
    rested_on = json.loads(frozen.content)  # made when the decision was, the registry on hold
    assert rested_on["knowledge_base"]["fingerprint"] == out["kb_fingerprint"]
    assert prrt_funding(rested_on)["registry_status"] == "on_hold"
    now = web.call("clinician", "GET", f"/api/cases/{out['case_id']}/assessment").json()
    assert prrt_funding(now)["registry_status"] == "open"  # re-made under the open registry
    set_status(web, "closed")  # the frozen assessment does not follow later changes
    again = web.call("auditor", "GET", f"/api/registry/enrolments/{out['id']}/assessment")
    assert again.content == frozen.content


def enrolled(web: Harness) -> int:
    set_status(web, "open")
    decision = decided(web, bronchial_facts(), ["prrt_lu177_dotatate"])
    r = enrol(
        web,
        decision,
        enrolled_on=str(TODAY - timedelta(days=120)),
        consent_date=str(TODAY - timedelta(days=121)),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_cycles_labs_scans_follow_up_report_and_export(web: Harness, tmp_path: Path) -> None:
    rid = enrolled(web)
    base = f"/api/registry/enrolments/{rid}"
    start = TODAY - timedelta(days=110)

    def post(path: str, body: dict[str, Any]) -> Any:
        return web.call("clinician", "POST", base + path, json=body)

    huge = post("/cycles", {"given_on": str(start), "prescribed_gbq": 7.4, "administered_gbq": 740})
    assert huge.status_code == 422 and "administered_gbq" in huge.text
    early = post(
        "/cycles",
        {
            "given_on": str(TODAY - timedelta(days=200)),
            "prescribed_gbq": 7.4,
            "administered_gbq": 7.4,
        },
    )
    assert early.status_code == 422
    assert [p["where"] for p in early.json()["error"]["problems"]] == ["given_on"]
    c1 = post("/cycles", {"given_on": str(start), "prescribed_gbq": 7.4, "administered_gbq": 7.35})
    assert c1.status_code == 201 and c1.json()["warnings"] == []
    c2 = post(
        "/cycles",
        {
            "given_on": str(start + timedelta(days=30)),
            "prescribed_gbq": 7.4,
            "administered_gbq": 8.3,
        },
    )
    assert c2.status_code == 201
    assert c2.json()["cumulative_gbq"] == 15.65
    assert [w.split(" ")[0] for w in c2.json()["warnings"]] == ["administered", "30"]
    labs = post(
        "/labs",
        {
            "taken_on": str(start - timedelta(days=5)),
            "baseline": True,
            "results": {"platelets_10e9_l": {"value": 220, "lln": 150}},
        },
    )
    assert labs.status_code == 201 and labs.json()[0]["grade"] == 0
    labs = post(
        "/labs",
        {
            "taken_on": str(start + timedelta(days=14)),
            "results": {
                "platelets_10e9_l": {"value": 60, "lln": 150},
                "neutrophils_10e9_l": {"value": 0.9, "lln": 2.0},
            },
        },
    )
    assert [lab["grade"] for lab in labs.json()] == [2, 3]
    bad = post("/labs", {"taken_on": str(start), "results": {"platelets_10e9_l": {"value": 9000}}})
    assert bad.status_code == 422 and "platelets_10e9_l" in bad.text
    prom = post(
        "/proms",
        {
            "instrument": "eortc_qlq_c30",
            "completed_on": str(start),
            "scores": {"QL2": 66.7, "FA": 22.2},
            "licence_ref": "EORTC 2026-001",
        },
    )
    assert prom.status_code == 201 and [p["scale"] for p in prom.json()] == ["QL2", "FA"]
    off = post(
        "/proms",
        {
            "instrument": "eortc_qlq_c30",
            "completed_on": str(start),
            "scores": {"QL2": 120},
            "licence_ref": "EORTC 2026-001",
        },
    )
    assert off.status_code == 422 and "scores.QL2" in off.text
    ae = post(
        "/adverse-events", {"term": "Nausea", "grade": 1, "onset": str(start + timedelta(days=1))}
    )
    assert ae.status_code == 201 and ae.json()["ctcae_version"] == "5.0"
    node = post(
        "/scans",
        {
            "scanned_on": str(start - timedelta(days=20)),
            "baseline": True,
            "lesions": [{"lesion": "N1", "organ": "nodes", "nodal": True, "mm": 12}],
        },
    )
    assert node.status_code == 422 and "lesions[0].mm" in node.text
    lesions = [
        {"lesion": "L1", "organ": "liver", "mm": 40},
        {"lesion": "L2", "organ": "liver", "mm": 30},
    ]
    assert (
        post(
            "/scans",
            {"scanned_on": str(start - timedelta(days=20)), "baseline": True, "lesions": lesions},
        ).status_code
        == 201
    )
    follow = [
        {"lesion": "L1", "organ": "liver", "mm": 25},
        {"lesion": "L2", "organ": "liver", "mm": 20},
    ]
    scan = post(
        "/scans",
        {
            "scanned_on": str(start + timedelta(days=90)),
            "lesions": follow,
            "sstr_response": "partial",
        },
    )
    assert scan.status_code == 201 and scan.json()["response"] == "PR"
    before = web.call(
        "clinician",
        "PATCH",
        base + "/follow-up",
        json={"last_contact": str(TODAY - timedelta(days=400))},
    )
    assert before.status_code == 422 and "before the enrolment" in before.text
    ok = web.call(
        "clinician",
        "PATCH",
        base + "/follow-up",
        json={"last_contact": str(TODAY), "stop_reason": "patient choice"},
    )
    assert ok.status_code == 200
    record = web.call("auditor", "GET", base).json()
    assert (record["max_grade"], record["best_response"], record["cumulative_gbq"]) == (
        3,
        "PR",
        15.65,
    )
    assert [a["term"] for a in record["adverse_events"]] == [
        "Nausea",
        "Platelet count decreased",
        "Neutrophil count decreased",
    ]
    overdue = web.call("clinician", "GET", "/api/registry/overdue").json()
    assert [o["what"] for o in overdue] == [
        "6-week bloods after cycle 1",
        "2-week bloods after cycle 2",
        "6-week bloods after cycle 2",
    ]
    assert web.call("clinician", "GET", "/api/registry/report.pdf").status_code == 403
    pdf = web.call("auditor", "GET", "/api/registry/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = web.call("auditor", "GET", "/registry/report")
    assert "Progression-free survival" in page.text and "data:image/png;base64," in page.text
    # REDCap round trip of what the API returns
    listed = web.call("auditor", "GET", "/api/registry/enrolments").json()
    records = [RecordOut.model_validate(r) for r in listed]
    redcap.write(records, tmp_path)
    _, rows = redcap.read_export(tmp_path)
    assert rows == redcap.records_of(records)
    actions = {(e["action"], e["record_type"]) for e in web.audit()}
    assert {
        ("create", "registry_enrolment"),
        ("create", "registry_cycle"),
        ("create", "registry_labs"),
        ("create", "registry_scan"),
        ("update", "registry_enrolment"),
        ("read", "registry_report"),
        ("read", "registry_enrolment"),
    } <= actions
