"""Recording a decision from the meeting (issue #11): the form returns to where it was
opened from, and the case page says who decided by full name and professional role."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.webapp import Harness, csrf_of, login


def _record(client: TestClient, case_id: int, meeting_id: int, back: str) -> str:
    query = f"meeting={meeting_id}" + (f"&back={back}" if back else "")
    page = client.get(f"/cases/{case_id}/decision?{query}")
    assert page.status_code == 200, page.text
    kept = f"&amp;back={back}" if back == "meeting" else ""  # only "meeting" is kept
    assert f'action="/cases/{case_id}/decision?meeting={meeting_id}{kept}"' in page.text
    r = client.post(
        f"/cases/{case_id}/decision?{query}",
        data={
            "csrf_token": csrf_of(page.text),
            "case_version": "1",
            "rationale": "Biopsy first, then discuss again.",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_a_decision_returns_to_where_it_was_opened(sqlite_web: Harness) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])["id"]
    m = web.meeting(case)["id"]
    clinician = TestClient(web.app)
    login(clinician, "clinician")
    item = clinician.get(f"/meetings/{m}/cases/{case}").text
    assert f'href="/cases/{case}/decision?meeting={m}&amp;back=meeting">Record decision' in item
    assert _record(clinician, case, m, "meeting") == f"/meetings/{m}/cases/{case}#decision"
    # Once decided, the meeting's case page offers an amendment, which returns there too.
    item = clinician.get(f"/meetings/{m}/cases/{case}").text
    assert f'href="/cases/{case}/decision?meeting={m}&amp;back=meeting">Amend' in item
    # From the plain case page: back to the case page. An unknown "back" is the default.
    assert _record(clinician, case, m, "") == f"/cases/{case}#decisions"
    assert _record(clinician, case, m, "https://evil.example") == f"/cases/{case}#decisions"


def test_a_failed_decision_keeps_its_way_back(sqlite_web: Harness) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"])["id"]
    m = web.meeting(case)["id"]
    clinician = TestClient(web.app)
    login(clinician, "clinician")
    page = clinician.get(f"/cases/{case}/decision?meeting={m}&back=meeting").text
    assert f'href="/meetings/{m}/cases/{case}#decision">Back without recording' in page
    r = clinician.post(
        f"/cases/{case}/decision?meeting={m}&back=meeting",
        data={"csrf_token": csrf_of(page), "case_version": "1", "rationale": ""},
    )
    assert r.status_code == 422
    assert f'action="/cases/{case}/decision?meeting={m}&amp;back=meeting"' in r.text


def test_the_case_page_names_the_decider_with_their_role(web: Harness) -> None:
    users = web.call("admin", "GET", "/api/users").json()
    clinician = next(u for u in users if u["name"] == "clinician")
    profile = {"full_name": "Dr Olu Oncologist", "professional_role": "medical_oncologist"}
    r = web.call("admin", "PUT", f"/api/users/{clinician['id']}/profile", json=profile)
    assert r.status_code == 200, r.text
    case = web.case(web.patient()["id"])["id"]
    m = web.meeting(case)["id"]
    decision = {"chosen": [], "rationale": "Biopsy first."}
    r = web.call("clinician", "POST", f"/api/meetings/{m}/cases/{case}/decision", json=decision)
    assert r.status_code == 201, r.text
    page = web.call("coordinator", "GET", f"/cases/{case}").text
    assert ", by Dr Olu Oncologist (Medical oncologist): <strong>" in page
    assert ", by clinician:" not in page
