"""The meeting (issue #11): agenda order, question and status, removal, attendance and
quoracy, outcomes with actions and waiting-time dates, minutes, lists and letters (never
before a decision). Each test runs on SQLite and on PostgreSQL (the ``web`` fixture)."""

from __future__ import annotations

import io
from typing import Any

from tests.webapp import Harness, example_facts

CORE = [
    ("Dr Olu Oncologist", "medical_oncologist"),
    ("Ms Sue Surgeon", "surgeon"),
    ("Dr Ray Radiologist", "radiologist"),
    ("Dr Pat Pathologist", "histopathologist"),
    ("Dr Nick Nuclear", "nuclear_medicine"),
    ("Nina Nurse", "specialist_nurse"),
]


def _three(web: Harness) -> tuple[dict[str, Any], list[int]]:
    cases = []
    for name, nhs in [("Ann A", "9434765919"), ("Bob B", "9990000018"), ("Cat C", "9990000026")]:
        p = web.patient(name=name, nhs_number=nhs)
        cases.append(web.case(p["id"])["id"])
    return web.meeting(*cases), cases


def test_reorder_and_remove_keep_the_agenda_whole(web: Harness) -> None:
    meeting, (a, b, c) = _three(web)
    m = meeting["id"]
    r = web.call("coordinator", "PUT", f"/api/meetings/{m}/agenda", json={"case_ids": [c, a, b]})
    assert (r.status_code, r.json()["case_ids"]) == (200, [c, a, b])
    bad = web.call("coordinator", "PUT", f"/api/meetings/{m}/agenda", json={"case_ids": [c, a]})
    assert bad.status_code == 422
    assert bad.json()["error"]["problems"][0]["where"] == "case_ids"
    assert web.call("coordinator", "DELETE", f"/api/meetings/{m}/cases/{a}").status_code == 204
    got = web.call("clinician", "GET", f"/api/meetings/{m}").json()["case_ids"]
    assert got == [c, b]
    # A case with a decision stays on the agenda.
    decided = web.call(
        "clinician",
        "POST",
        f"/api/meetings/{m}/cases/{b}/decision",
        json={"chosen": [], "rationale": "Needs a biopsy first."},
    )
    assert decided.status_code == 201, decided.text
    r = web.call("coordinator", "DELETE", f"/api/meetings/{m}/cases/{b}")
    assert r.status_code == 409 and "decision recorded" in r.json()["error"]["message"]


def test_item_question_and_status_deferred_needs_a_reason(web: Harness) -> None:
    meeting, (a, _, _) = _three(web)
    url = f"/api/meetings/{meeting['id']}/cases/{a}"
    r = web.call("clinician", "PUT", url, json={"status": "deferred"})
    assert r.status_code == 422
    assert "status_reason" in r.json()["error"]["problems"][0]["message"]
    body = {"question": "PRRT now?", "status": "deferred", "status_reason": "awaiting MRI"}
    assert web.call("clinician", "PUT", url, json=body).status_code == 204
    assert web.call("clinician", "PUT", url, json={"status": "nonsense"}).status_code == 422
    actions = [(e["action"], e["record_type"]) for e in web.audit()]
    assert ("update", "agenda_item") in actions


def test_attendance_and_quoracy(web: Harness) -> None:
    meeting, _ = _three(web)
    ids = []
    for name, role in CORE:
        r = web.call("coordinator", "POST", "/api/members", json={"name": name, "role": role})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    m = meeting["id"]
    url = f"/api/meetings/{m}/attendance"
    assert web.call("coordinator", "PUT", url, json={"member_ids": ids[:-1]}).status_code == 204
    page = _page(web, f"/meetings/{m}")
    assert "Not quorate: no one present for NET clinical nurse specialist." in page
    assert web.call("coordinator", "PUT", url, json={"member_ids": ids}).status_code == 204
    assert "Quorate: every core role is present." in _page(web, f"/meetings/{m}")
    r = web.call("coordinator", "PUT", url, json={"member_ids": [999]})
    assert r.status_code == 422


def _page(web: Harness, path: str) -> str:
    r = web.call("coordinator", "GET", path)
    assert r.status_code == 200, r.text
    return str(r.text)


def test_outcome_actions_dates_minutes_and_letters(web: Harness) -> None:
    meeting, (a, _, _) = _three(web)
    m = meeting["id"]
    base = f"/api/meetings/{m}/cases/{a}"
    # No letter, in any format, before the MDT's decision.
    for fmt in ("html", "pdf", "docx"):
        r = web.call("clinician", "GET", f"/meetings/{m}/cases/{a}/letter?to=gp&format={fmt}")
        assert r.status_code == 409 and "only after one is recorded" in r.text
    outcome = {
        "follow_up": "rediscuss",
        "follow_up_on": "2027-01-08",
        "responsible_clinician": "Dr Olu Oncologist",
        "key_worker": "Nina Nurse",
        "patient_told": "yes",
        "patient_told_on": "2026-11-28",
        "gp": "Dr Gee\nHigh Street Surgery\nAnytown AN1 1AA",
        "referral_on": "2026-10-01",
        "diagnosis_told_on": "2026-10-20",
        "decision_to_treat_on": "2026-11-27",
        "first_treatment_on": "2026-12-20",
    }
    assert web.call("clinician", "PUT", f"{base}/outcome", json=outcome).status_code == 204
    wrong = {**outcome, "first_treatment_on": "2026-11-01"}
    r = web.call("clinician", "PUT", f"{base}/outcome", json=wrong)
    assert r.status_code == 422 and "first_treatment_on" in r.text
    act = {
        "what": "Request Ga-68 DOTATATE PET",
        "owner": "Dr Ray Radiologist",
        "due_on": "2026-12-04",
    }
    r = web.call("clinician", "POST", f"{base}/actions", json=act)
    assert r.status_code == 201, r.text
    decision = {"chosen": ["prrt_lu177_dotatate"], "rationale": "Progressing, SSTR-positive."}
    r = web.call("clinician", "POST", f"/api/meetings/{m}/cases/{a}/decision", json=decision)
    assert r.status_code == 201, r.text

    item = _page(web, f"/meetings/{m}/cases/{a}")
    assert "Request Ga-68 DOTATATE PET" in item
    assert "<td>19</td>" in item  # 28-day FDS: 1 to 20 Oct
    assert "<td>23</td>" in item  # 31-day: 27 Nov to 20 Dec
    assert "<td>80</td>" in item and "breached" in item  # 62-day: 1 Oct to 20 Dec
    letter = _page(web, f"/meetings/{m}/cases/{a}/letter?to=gp")
    for text in ["High Street Surgery", "943 476 5919", "Lu-177", "Progressing, SSTR-positive.",
                 "Re-discussion at the MDT: 8 Jan 2027", "Nina Nurse", "Yes (28 Nov 2026)",
                 "Neuroendocrine tumour (NET) of the small intestine"]:  # fmt: skip
        assert text in letter, text
    pdf = web.call("clinician", "GET", f"/meetings/{m}/cases/{a}/letter?to=referrer&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    docx_file = web.call("clinician", "GET", f"/meetings/{m}/cases/{a}/letter?format=docx")
    import docx

    words = "\n".join(p.text for p in docx.Document(io.BytesIO(docx_file.content)).paragraphs)
    assert "Progressing, SSTR-positive." in words and "943 476 5919" in words
    minutes = _page(web, f"/meetings/{m}/minutes")
    assert "Request Ga-68 DOTATATE PET" in minutes and "943 476 5919" in minutes
    assert "Not quorate" in minutes
    assert web.call("clinician", "GET", f"/meetings/{m}/minutes?format=pdf").content[:4] == b"%PDF"
    audited = {(e["action"], e["record_type"]) for e in web.audit()}
    assert {("export", "letter"), ("export", "minutes"), ("create", "action"),
            ("update", "outcome")} <= audited  # fmt: skip


def test_premeeting_list_has_the_review_lists(web: Harness) -> None:
    meeting, (a, _b, _) = _three(web)
    m = meeting["id"]
    body = {"question": "Is the liver lesion a metastasis?", "radiology_review": True}
    assert (
        web.call("coordinator", "PUT", f"/api/meetings/{m}/cases/{a}", json=body).status_code == 204
    )
    page = _page(web, f"/meetings/{m}/list")
    radiology = page[page.index("Radiology review list") :]
    pathology = page[page.index("Pathology review list") : page.index("Radiology review list")]
    assert "Ann A" in radiology and "Is the liver lesion a metastasis?" in radiology
    assert "None." in pathology
    assert "999 000 0018" in page  # identifiers of every case


def test_add_a_case_by_search(web: Harness) -> None:
    meeting, (_a, _b, c) = _three(web)
    m = meeting["id"]
    web.call("coordinator", "DELETE", f"/api/meetings/{m}/cases/{c}")
    page = _page(web, f"/meetings/{m}?q=cat")
    assert f'name="case_id" value="{c}"' in page
    assert _page(web, f"/meetings/{m}?q=999 000 0026").count('name="case_id"') == 1
    assert example_facts()  # the harness's facts are the SI-NET example


def test_decisions_say_who_by_full_name_and_role(web: Harness) -> None:
    users = web.call("admin", "GET", "/api/users").json()
    clinician = next(u for u in users if u["name"] == "clinician")
    profile = {"full_name": "Dr Olu Oncologist", "professional_role": "medical_oncologist"}
    r = web.call("admin", "PUT", f"/api/users/{clinician['id']}/profile", json=profile)
    assert (r.status_code, r.json()["full_name"]) == (200, "Dr Olu Oncologist")
    bad = web.call(
        "admin",
        "PUT",
        f"/api/users/{clinician['id']}/profile",
        json={"professional_role": "wizard"},
    )
    assert bad.status_code == 422
    meeting, (a, _, _) = _three(web)
    m = meeting["id"]
    decision = {"chosen": [], "rationale": "Biopsy first."}
    assert (
        web.call(
            "clinician", "POST", f"/api/meetings/{m}/cases/{a}/decision", json=decision
        ).status_code
        == 201
    )
    assert "Recorded by Dr Olu Oncologist (Medical oncologist)." in _page(
        web, f"/meetings/{m}/minutes"
    )
    assert "Recorded by Dr Olu Oncologist (Medical oncologist)." in _page(
        web, f"/meetings/{m}/cases/{a}"
    )
