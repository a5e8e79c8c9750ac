"""The governance pages as the clinical lead uses them: the worklist, reviewing an item,
recording a local setting, seeing the release's impact and activating it; then what the
MDT sees on the case page and in the API."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.governance.test_reviews import _liver_facts
from tests.webapp import Harness, csrf_of, login, sqlite_web  # noqa: F401

ITEM = "thermal_ablation.few_lesions"


def _post(client: TestClient, page: str, path: str, data: dict[str, Any]) -> Any:
    """Submit the page's form for ``path`` with the CSRF token that form carries."""
    html = client.get(page).text
    form = html[html.index(f'<form method="post" action="{path}"') :]
    token = csrf_of(form[: form.index("</form>")])
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _rows(html: str) -> list[tuple[str, str, str]]:
    """The worklist's rows: (item, state, cases decided)."""
    return re.findall(
        r'<a href="/governance/items/([a-z0-9_.:]+)">[^"]*</a><span class="kind">[^<]*</span>'
        r'</td>\s*<td data-label="State">([a-z ]+)</td><td class="num" '
        r'data-label="Cases decided">(\d+)</td>',
        html,
    )


def test_the_clinical_lead_reviews_and_localises_and_the_mdt_sees_it(
    sqlite_web: Harness,  # noqa: F811
) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"], _liver_facts(4))
    client = web.client
    login(client, "clinical_lead")
    worklist = client.get("/governance")
    assert worklist.status_code == 200
    rows = _rows(worklist.text)
    # ranked: the items deciding the stored case's verdicts and trial match states first
    # (all awaiting review), 50 to a page
    counts = [int(n) for _, _, n in rows]
    assert len(rows) == 50 and counts == sorted(counts, reverse=True)
    assert counts[0] == 1 and {state for _, state, _ in rows} == {"awaiting"}
    assert "(page 1 of " in worklist.text and 'rel="next"' in worklist.text
    second = _rows(client.get("/governance?page=2").text)
    assert second and set(second).isdisjoint(rows)
    ablation = _rows(client.get("/governance?scope=thermal_ablation&q=FEW_lesions").text)
    assert [i for i, _, _ in ablation] == [ITEM]
    trials = _rows(client.get("/governance?scope=trials&state=all&q=ki-67").text)
    assert trials and all(i.startswith("trial:") for i, _, _ in trials)
    page = f"/governance/items/{ITEM}"
    r = _post(client, page, page, {"status": "approved", "comment": ""})
    assert (r.status_code, r.headers["location"]) == (303, f"{page}?saved=1")
    shown = client.get(page + "?saved=1").text
    assert "Review recorded." in shown and "approved by clinical_lead" in shown
    refused = _post(client, page, page, {"status": "rejected", "comment": ""})
    assert refused.status_code == 422
    r = _post(
        client,
        "/governance/settings",
        "/governance/settings/max_ablation_lesions",
        {"value": "3", "comment": "our interventional radiologists"},
    )
    assert r.status_code == 303
    release = client.get("/governance/release").text
    assert re.search(
        rf"case-{case['id']}</a></td><td>thermal_ablation</td><td>consider</td>"
        r"<td>not recommended</td>",
        release,
    )
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', release)
    assert fingerprint is not None
    r = _post(client, "/governance/release", "/governance/release", {"fingerprint": fingerprint[1]})
    assert (r.status_code, r.headers["location"]) == (303, "/governance/report")
    report = client.get("/governance/report").text
    assert "2026.11-r1 (in force)" in report and "1 verdict change(s) at activation" in report

    today = date.today().isoformat()
    api = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    option: Any = next(o for o in api["options"] if o["option"] == "thermal_ablation")
    reasons = {r["criterion"]: r for r in option["reasons"]}
    assert option["verdict"] == "not_recommended"
    assert reasons["few_lesions"]["review"] == {
        "status": "approved",
        "by": "clinical_lead",
        "on": today,
        "verdict": "approved",
        "local_settings": [
            {
                "name": "max_ablation_lesions",
                "value": 3,
                "default": 5,
                "unit": "liver metastases",
                "by": "clinical_lead",
                "on": today,
            }
        ],
    }
    assert reasons["few_lesions"]["text"] == (
        "At most 3 (local setting) liver metastases (configurable default)"
    )
    fhir = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment.fhir").json()
    actions = [a for e in fhir["entry"] for a in e["resource"].get("action", [])]
    ablation_action = next(a for a in actions if a["title"].startswith("Thermal ablation"))
    assert (
        "UNMET: At most 3 (local setting) liver metastases (configurable default) (reviewed at "
        f"this centre by clinical_lead, {today}) (local setting max_ablation_lesions = 3 liver "
        f"metastases (default 5; set by clinical_lead, {today}))"
    ) in ablation_action["description"].splitlines()
    mdt = TestClient(web.app)
    login(mdt, "clinician")
    html = mdt.get(f"/cases/{case['id']}").text
    assert f"reviewed at this centre by clinical_lead, {today}" in html
    assert (
        f"local setting max_ablation_lesions = 3 liver metastases (default 5; set by "
        f"clinical_lead, {today})" in html
    )
    assert "awaiting review" in html
    pdf = web.call("auditor", "GET", "/governance/report.pdf")
    assert (pdf.status_code, pdf.headers["content-type"], pdf.content[:5]) == (
        200,
        "application/pdf",
        b"%PDF-",
    )


def test_a_trial_criterion_reviewed_on_its_page_shows_on_the_trials_panel(
    sqlite_web: Harness,  # noqa: F811
) -> None:
    web = sqlite_web
    case = web.case(web.patient()["id"], _liver_facts(4))
    client = web.client
    login(client, "clinical_lead")
    item = "trial:netter_3.ki67_lt_10"
    page = f"/governance/items/{item}"
    shown = client.get(page).text
    assert "inclusion criterion of the trial NETTER-3" in shown
    assert "https://clinicaltrialcompass.org/trial/NCT06784752" in shown
    r = _post(client, page, page, {"status": "approved", "comment": ""})
    assert (r.status_code, r.headers["location"]) == (303, f"{page}?saved=1")
    today = date.today().isoformat()
    api = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    netter = next(m for m in api["trials"] if m["trial"] == "netter_3")
    reviews = {r["criterion"]: r["review"] for r in netter["reasons"]}
    assert reviews["ki67_lt_10"] == {
        "status": "approved",
        "by": "clinical_lead",
        "on": today,
        "verdict": "approved",
        "local_settings": [],
    }
    assert reviews["sstr_ge_liver"]["status"] == "awaiting"
    mdt = TestClient(web.app)
    login(mdt, "clinician")
    html = mdt.get(f"/cases/{case['id']}").text
    panel = html[html.index('id="trial-netter_3"') :]
    panel = panel[: panel.index("</details>")]
    rows = re.findall(r"<td>([^<]+) <span class=\"review[^\"]*\">([^<]+)</span>", panel)
    assert (
        "Ki-67 below 10% (grade 1 or grade 2)",
        f"reviewed at this centre by clinical_lead, {today}",
    ) in rows
    assert ("Diagnosed within the 6 months before screening", "awaiting review") in rows


def test_a_review_round_on_the_web(sqlite_web: Harness) -> None:  # noqa: F811
    web = sqlite_web
    lead = web.client
    login(lead, "clinical_lead")
    items = f"{ITEM}\ntrial:netter_3.ki67_lt_10"
    page = f"/governance/rounds?item={ITEM}"
    assert f">{ITEM}</textarea>" in lead.get(page).text
    r = _post(lead, page, "/governance/rounds", {"items": items, "reviewers": ["clinician"]})
    assert (r.status_code, r.headers["location"]) == (303, "/governance/rounds/1")
    doc = TestClient(web.app)
    login(doc, "clinician")
    shown = doc.get("/governance/rounds/1").text
    assert "clinician: no response yet" in shown and "Close the round" not in shown
    r = _post(
        doc,
        "/governance/rounds/1",
        "/governance/rounds/1/respond",
        {"verdict": "needs_discussion", "comment": "our IR team ablates up to 3"},
    )
    assert r.status_code == 303
    assert "Record my response" not in doc.get("/governance/rounds/1").text  # once per round
    assert doc.post("/governance/rounds/1/close", data={"verdict": "approved"}).status_code in (
        403,
        422,
    )
    r = _post(
        lead,
        "/governance/rounds/1",
        "/governance/rounds/1/close",
        {"verdict": "approved_with_local_change", "comment": "limit set to 3 locally"},
    )
    assert r.status_code == 303
    closed = lead.get("/governance/rounds/1?saved=closed").text
    assert "clinician: <strong>needs discussion</strong>" in closed
    assert "<strong>approved with local change</strong> by clinical_lead" in closed
    item = lead.get(f"/governance/items/{ITEM}").text
    assert '(<a href="/governance/rounds/1">round 1</a>): limit set to 3 locally' in item
    assert '<span class="state">approved</span>' in item


def test_a_lead_invites_and_cancels_a_round_on_the_web(sqlite_web: Harness) -> None:  # noqa: F811
    web = sqlite_web
    lead = web.client
    login(lead, "clinical_lead")
    page = "/governance/rounds"
    r = _post(lead, page, "/governance/rounds", {"items": ITEM, "reviewers": ["clinician"]})
    assert (r.status_code, r.headers["location"]) == (303, "/governance/rounds/1")
    doc = TestClient(web.app)
    login(doc, "clinician")
    shown = doc.get("/governance/rounds/1").text
    assert "Invite more reviewers" not in shown and "Cancel the round" not in shown
    assert doc.post("/governance/rounds/1/cancel", data={"reason": "x"}).status_code in (403, 422)
    r = _post(
        lead,
        "/governance/rounds/1",
        "/governance/rounds/1/invite",
        {"reviewers": ["clinical_lead"]},
    )
    assert (r.status_code, r.headers["location"]) == (303, "/governance/rounds/1?saved=invited")
    invited = lead.get("/governance/rounds/1?saved=invited").text
    assert "Reviewers invited." in invited and "clinical_lead: no response yet" in invited
    empty = _post(lead, "/governance/rounds/1", "/governance/rounds/1/cancel", {"reason": " "})
    assert empty.status_code == 422 and "say why the round is cancelled" in empty.text
    r = _post(lead, "/governance/rounds/1", "/governance/rounds/1/cancel", {"reason": "wrong item"})
    assert (r.status_code, r.headers["location"]) == (303, "/governance/rounds/1?saved=cancelled")
    cancelled = lead.get("/governance/rounds/1?saved=cancelled").text
    assert "<h1>Review round 1: cancelled</h1>" in cancelled
    assert f"By clinical_lead, {date.today()}: wrong item (no review recorded)" in cancelled
    assert "Close the round" not in cancelled and "Record my response" not in cancelled
    listed = lead.get("/governance/rounds").text
    assert '<a href="/governance/rounds/1">Round 1</a>: cancelled, 1 item(s)' in listed
    item = lead.get(f"/governance/items/{ITEM}").text
    assert '<span class="state">awaiting</span>' in item  # no review written
