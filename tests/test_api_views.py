"""The assessment views over HTTP (``?view=full|summary``) and gzip for large responses."""

from __future__ import annotations

import json

from netmdt import assess, load_kb, parse_case
from netmdt.engine.assess import assess_summary, summarize
from tests.webapp import Harness, example_facts


def test_post_assess_gives_either_view(sqlite_web: Harness) -> None:
    facts = example_facts()
    kb = load_kb()
    full = sqlite_web.call("clinician", "POST", "/api/assess", json=facts)
    default = sqlite_web.call("clinician", "POST", "/api/assess?view=full", json=facts)
    summary = sqlite_web.call("clinician", "POST", "/api/assess?view=summary", json=facts)
    assert (full.status_code, default.status_code, summary.status_code) == (200, 200, 200)
    case = parse_case(facts)
    assert full.json() == json.loads(assess(case, kb).model_dump_json()) == default.json()
    assert summary.json() == json.loads(assess_summary(case, kb).to_json())
    assert summary.json()["view"] == "summary"
    assert "reasons" not in summary.text


def test_an_unknown_view_is_refused_naming_the_choices(sqlite_web: Harness) -> None:
    r = sqlite_web.call("clinician", "POST", "/api/assess?view=short", json=example_facts())
    assert r.status_code == 422
    (problem,) = r.json()["error"]["problems"]
    assert problem["where"] == "query.view"
    assert "'full' or 'summary'" in problem["message"]


def test_the_stored_assessment_in_either_view(sqlite_web: Harness) -> None:
    patient = sqlite_web.patient()
    case = sqlite_web.case(patient["id"])
    path = f"/api/cases/{case['id']}/assessment"
    full = sqlite_web.call("clinician", "GET", path)
    summary = sqlite_web.call("clinician", "GET", path + "?view=summary")
    assert (full.status_code, summary.status_code) == (200, 200)
    from netmdt.assessment import Assessment

    stored = Assessment.model_validate(full.json())
    assert summary.json() == json.loads(summarize(stored).to_json())
    versioned = sqlite_web.call("clinician", "GET", path + "?version=1&view=summary")
    assert versioned.json() == summary.json()


def test_large_api_responses_are_gzipped_when_the_client_accepts_it(sqlite_web: Harness) -> None:
    facts = example_facts()
    headers = {**sqlite_web.h("clinician"), "Accept-Encoding": "gzip"}
    client = sqlite_web.client
    full = client.post("/api/assess", json=facts, headers=headers)
    assert full.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in full.headers["vary"].lower()
    raw = full.read()  # decoded by the client; the size on the wire is the header's
    assert int(full.headers["content-length"]) < len(raw) / 3
    assert json.loads(raw) == json.loads(assess(parse_case(facts), load_kb()).model_dump_json())
    plain = client.post("/api/assess", json=facts, headers={**headers, "Accept-Encoding": ""})
    assert "content-encoding" not in plain.headers
    assert plain.json() == full.json()
    small = client.post("/api/assess?view=summary", json=facts, headers=headers)
    assert "content-encoding" not in small.headers  # under the threshold: sent as it is


def test_only_the_api_is_gzipped() -> None:
    """Web pages carry the CSRF token beside user input: compressing them invites BREACH."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse
    from fastapi.testclient import TestClient

    from netmdt.api.app import GZipApi

    app = FastAPI()
    big = "x" * (GZipApi.MINIMUM_SIZE + 1)
    app.get("/api/big")(lambda: PlainTextResponse(big))
    app.get("/page")(lambda: PlainTextResponse(big))
    app.add_middleware(GZipApi)
    with TestClient(app) as client:
        api = client.get("/api/big", headers={"Accept-Encoding": "gzip"})
        page = client.get("/page", headers={"Accept-Encoding": "gzip"})
    assert (api.headers.get("content-encoding"), api.text) == ("gzip", big)
    assert (page.headers.get("content-encoding"), page.text) == (None, big)
