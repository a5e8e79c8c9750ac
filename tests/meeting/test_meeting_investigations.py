"""The investigations the MDT asks for with a decision (issue #11): validated against
the case's unknown facts, stored (migration 0010), audited as a count, and shown on the
case page, the meeting's case page, the minutes, the letters and the patient summary
(only those asked for; free text never). SQLite and PostgreSQL (the ``web`` fixture)."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient

from tests.webapp import Harness, csrf_of, login

SURGEON = "disease.debulkable_percent"
SURGEON_WORDS = "Tumour burden that can be removed (%, surgeon&#39;s estimate) — ask the surgeon"
SURGEON_STEP = "A surgeon looks at your scans to judge how much of the tumour an operation"


def _setup(web: Harness) -> tuple[int, int]:
    case = web.case(web.patient()["id"])["id"]
    return case, web.meeting(case)["id"]


def _decide(web: Harness, m: int, case: int, **body: Any) -> Any:
    decision = {"chosen": [], "rationale": "Facts first.", **body}
    return web.call("clinician", "POST", f"/api/meetings/{m}/cases/{case}/decision", json=decision)


def test_investigations_are_stored_returned_audited_and_shown(web: Harness) -> None:
    case, m = _setup(web)
    asked = [{"field": SURGEON}, {"text": "MRI liver with contrast"}]
    r = _decide(web, m, case, investigations=asked)
    assert r.status_code == 201, r.text
    expected = [
        {"field": SURGEON, "text": None},
        {"field": None, "text": "MRI liver with contrast"},
    ]
    assert r.json()["investigations"] == expected
    listed = web.call("clinician", "GET", f"/api/cases/{case}/decisions").json()
    assert [d["investigations"] for d in listed] == [expected]
    created = [e for e in web.audit() if (e["action"], e["record_type"]) == ("create", "decision")]
    assert [e["detail"] for e in created] == [{"case": case, "meeting": m, "investigations": 2}]
    line = f"{SURGEON_WORDS}; MRI liver with contrast"
    page = web.call("coordinator", "GET", f"/cases/{case}").text
    assert f"Investigations requested: {line}" in page
    item = web.call("coordinator", "GET", f"/meetings/{m}/cases/{case}").text
    assert f"<li>{SURGEON_WORDS}</li><li>MRI liver with contrast</li>" in item
    minutes = web.call("coordinator", "GET", f"/meetings/{m}/minutes").text
    assert f"<p>Investigations requested: {line}</p>" in minutes
    letter = web.call("coordinator", "GET", f"/meetings/{m}/cases/{case}/letter?to=gp").text
    assert (
        "<h2>Investigations requested</h2>"
        f"<ul><li>{SURGEON_WORDS}</li><li>MRI liver with contrast</li></ul>"
    ) in letter
    docx = web.call("coordinator", "GET", f"/meetings/{m}/cases/{case}/letter?to=gp&format=docx")
    assert docx.status_code == 200
    from docx import Document

    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    at = paragraphs.index("Investigations requested")
    assert paragraphs[at + 1 : at + 3] == [
        SURGEON_WORDS.replace("&#39;", "'"),
        "MRI liver with contrast",
    ]
    # The patient summary: only what the MDT asked for, the free text never.
    summary = web.call("coordinator", "GET", f"/cases/{case}/summary").text
    assert SURGEON_STEP in summary
    assert "Talking with you about what you want from your care." not in summary  # not asked
    assert "Other tests your team asked for. They will explain them to you." in summary
    assert "MRI liver" not in summary


def test_a_decision_asking_for_nothing_lists_nothing_to_the_patient(web: Harness) -> None:
    case, m = _setup(web)
    r = _decide(web, m, case)
    assert (r.status_code, r.json()["investigations"]) == (201, [])
    summary = web.call("coordinator", "GET", f"/cases/{case}/summary").text
    assert "What your team asked to find out" not in summary
    assert SURGEON_STEP not in summary
    assert "Investigations requested" not in web.call("coordinator", "GET", f"/cases/{case}").text


def test_bad_investigations_are_refused_naming_the_item(web: Harness) -> None:
    case, m = _setup(web)
    r = _decide(web, m, case, investigations=[{"text": "CT"}, {"field": "tumour.ki67_percent"}])
    assert r.status_code == 422
    (problem,) = r.json()["error"]["problems"]
    assert problem["where"] == "investigations.1.field"
    assert problem["message"].startswith(
        "'tumour.ki67_percent' is not a fact this case's assessment lists as unknown; allowed: "
    )
    assert SURGEON in problem["message"]
    r = _decide(web, m, case, investigations=[{"field": SURGEON}, {"field": SURGEON}])
    assert r.status_code == 422
    assert [p["where"] for p in r.json()["error"]["problems"]] == ["investigations.1.field"]
    r = _decide(web, m, case, investigations=[{}])
    assert r.status_code == 422
    assert "free text ('text')" in r.text
    r = _decide(web, m, case, investigations=[{"text": "x" * 501}])
    assert r.status_code == 422 and "investigations.0.text" in r.text
    r = _decide(web, m, case, investigations=[{"text": f"CT {i}"} for i in range(31)])
    assert r.status_code == 422
    # Nothing was stored by any of them.
    assert web.call("clinician", "GET", f"/api/cases/{case}/decisions").json() == []


def test_the_decision_form_offers_the_unknown_facts_and_free_text(sqlite_web: Harness) -> None:
    web = sqlite_web
    case, m = _setup(web)
    clinician = TestClient(web.app)
    login(clinician, "clinician")
    url = f"/cases/{case}/decision?meeting={m}&back=meeting"
    page = clinician.get(url).text
    assert f'name="investigation" value="{SURGEON}"' in page
    assert f'<label for="inv-2">{SURGEON_WORDS}</label>' in page
    fields = {
        "csrf_token": csrf_of(page),
        "case_version": "1",
        "rationale": "Facts first.",
        "investigation": [SURGEON],
        "investigation_other": "MRI liver\n\n  Chromogranin A  \n",
    }
    # A line too long is refused with the form kept as typed.
    bad = clinician.post(url, data={**fields, "investigation_other": "y" * 501})
    assert bad.status_code == 422
    assert 'id="err-investigations"' in bad.text and "y" * 501 in bad.text
    assert f'value="{SURGEON}" checked' in bad.text
    r = clinician.post(url, data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    (decision,) = web.call("clinician", "GET", f"/api/cases/{case}/decisions").json()
    assert decision["investigations"] == [
        {"field": SURGEON, "text": None},
        {"field": None, "text": "MRI liver"},
        {"field": None, "text": "Chromogranin A"},
    ]
