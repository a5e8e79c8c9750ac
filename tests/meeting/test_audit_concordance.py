"""The audit log's paging, date range, case-insensitive filters and CSV export; the
concordance report's filters and its links to the deviating cases."""

from __future__ import annotations

import csv
import io

from tests.webapp import Harness


def test_audit_filters_ignore_case_page_and_export_csv(web: Harness) -> None:
    for i in range(3):
        web.patient(name=f"P {i}", nhs_number=["9434765919", "9990000018", "9990000026"][i])
    rows = web.call(
        "auditor", "GET", "/api/audit", params={"action": "CREATE", "record_type": "Patient"}
    )
    assert [e["record_type"] for e in rows.json()] == ["patient"] * 3
    page = web.call(
        "auditor",
        "GET",
        "/api/audit",
        params={"action": "create", "record_type": "patient", "limit": 2, "offset": 2},
    ).json()
    assert len(page) == 1
    future = web.call("auditor", "GET", "/api/audit", params={"since": "2999-01-01"}).json()
    assert future == []
    listing = web.call(
        "auditor", "GET", "/audit", params={"who": "COORDINATOR", "record_type": "patient"}
    )
    assert listing.status_code == 200 and "3 event(s); page 1 of 1" in listing.text
    exported = web.call("auditor", "GET", "/audit.csv", params={"record_type": "PATIENT"})
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["id", "at_utc", "actor", "action", "record_type", "record_id", "detail"]
    assert [r[2:5] for r in table[1:]] == [["coordinator", "create", "patient"]] * 3
    bad = web.call("auditor", "GET", "/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "since" in bad.text
    assert ("export", "audit_log") in {(e["action"], e["record_type"]) for e in web.audit()}


def test_concordance_filters_and_deviating_cases(web: Harness) -> None:
    p = web.patient()
    case = web.case(p["id"])
    meeting = web.meeting(case["id"])
    decision = {
        "chosen": ["liver_transplant"],
        "rationale": "Patient's wish.",
        "deviation_reason": "patient_preference",
    }
    r = web.call(
        "clinician",
        "POST",
        f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision",
        json=decision,
    )
    assert r.status_code == 201, r.text
    report = web.call("auditor", "GET", "/api/reports/concordance").json()
    assert report["deviating"] == [
        {
            "decision_id": r.json()["id"],
            "case_id": case["id"],
            "meeting_id": meeting["id"],
            "meeting_date": "2026-11-27",
            "chosen": ["liver_transplant"],
            "deviation_reason": "patient_preference",
            "recorded_by": "clinician",
        }
    ]
    for params in ({"since": "2026-11-28"}, {"clinician": "someone-else"}, {"meeting": 999}):
        assert (
            web.call("auditor", "GET", "/api/reports/concordance", params=params).json()[
                "decisions"
            ]
            == 0
        )
    kept = web.call("auditor", "GET", "/api/reports/concordance", params={"clinician": "CLINICIAN"})
    assert kept.json()["decisions"] == 1
    page = web.call("auditor", "GET", "/reports/concordance", params={"until": "2026-11-27"}).text
    assert f'href="/cases/{case["id"]}"' in page
