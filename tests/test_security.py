"""Security of the HTTP edge: authentication and roles on every route, CSRF, escaping,
login throttling, cookie flags, and no patient data in the logs."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.webapp import PASSWORD, ROLES, Harness, csrf_of, example_facts, login, make_harness

CARE = {"coordinator", "clinician"}
# Who may use each route: the specification the app is held to.
ACCESS: dict[tuple[str, str], set[str]] = {
    ("POST", "/api/assess"): CARE,
    ("POST", "/api/patients"): {"coordinator"},
    ("GET", "/api/patients"): CARE,
    ("GET", "/api/patients/{patient_id}"): CARE,
    ("GET", "/api/patients/{patient_id}/cases"): CARE,
    ("POST", "/api/patients/{patient_id}/cases"): {"coordinator"},
    ("GET", "/api/cases/{case_id}"): CARE,
    ("PUT", "/api/cases/{case_id}"): {"coordinator"},
    ("GET", "/api/cases/{case_id}/versions"): CARE,
    ("GET", "/api/cases/{case_id}/diff"): CARE,
    ("GET", "/api/cases/{case_id}/assessment"): CARE,
    ("GET", "/api/cases/{case_id}/assessment.fhir"): CARE,
    ("GET", "/api/cases/{case_id}/decisions"): CARE,
    ("POST", "/api/meetings"): {"coordinator"},
    ("GET", "/api/meetings"): CARE,
    ("GET", "/api/meetings/{meeting_id}"): CARE,
    ("POST", "/api/meetings/{meeting_id}/agenda"): {"coordinator"},
    ("POST", "/api/meetings/{meeting_id}/cases/{case_id}/decision"): {"clinician"},
    ("GET", "/api/audit"): {"auditor"},
    ("GET", "/api/reports/concordance"): {"auditor"},
    ("GET", "/api/users"): {"admin"},
    ("POST", "/api/users"): {"admin"},
    ("GET", "/meetings"): CARE,
    ("POST", "/meetings"): {"coordinator"},
    ("GET", "/meetings/{meeting_id}"): CARE,
    ("POST", "/meetings/{meeting_id}/agenda"): {"coordinator"},
    # the meeting (netmdt.meeting, issue #11)
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/move"): {"coordinator"},
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/remove"): {"coordinator"},
    ("POST", "/meetings/{meeting_id}/attendance"): {"coordinator"},
    ("GET", "/meetings/{meeting_id}/cases/{case_id}"): CARE,
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/item"): CARE,
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/outcome"): CARE,
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/actions"): CARE,
    ("POST", "/meetings/{meeting_id}/actions/{action_id}/done"): CARE,
    ("GET", "/meetings/{meeting_id}/cases/{case_id}/letter"): CARE,
    ("GET", "/meetings/{meeting_id}/list"): CARE,
    ("GET", "/meetings/{meeting_id}/minutes"): CARE,
    ("GET", "/members"): {"coordinator", "admin"},
    ("POST", "/members"): {"coordinator", "admin"},
    ("POST", "/members/{member_id}/active"): {"coordinator", "admin"},
    ("PUT", "/api/meetings/{meeting_id}/cases/{case_id}"): CARE,
    ("DELETE", "/api/meetings/{meeting_id}/cases/{case_id}"): {"coordinator"},
    ("PUT", "/api/meetings/{meeting_id}/agenda"): {"coordinator"},
    ("PUT", "/api/meetings/{meeting_id}/attendance"): {"coordinator"},
    ("PUT", "/api/meetings/{meeting_id}/cases/{case_id}/outcome"): CARE,
    ("POST", "/api/meetings/{meeting_id}/cases/{case_id}/actions"): CARE,
    ("GET", "/api/members"): {"coordinator", "admin"},
    ("POST", "/admin/users/{user_id}/profile"): {"admin"},
    ("PUT", "/api/users/{user_id}/profile"): {"admin"},
    ("POST", "/api/members"): {"coordinator", "admin"},
    ("GET", "/patients"): CARE,
    ("GET", "/patients/new"): {"coordinator"},
    ("POST", "/patients"): {"coordinator"},
    ("GET", "/patients/find"): CARE,
    ("GET", "/patients/{patient_id}"): CARE,
    ("GET", "/patients/{patient_id}/cases/new"): {"coordinator"},
    ("POST", "/patients/{patient_id}/cases/new/fhir"): {"coordinator"},
    ("POST", "/patients/{patient_id}/cases"): {"coordinator"},
    ("GET", "/cases/{case_id}"): CARE,
    ("GET", "/cases/{case_id}/edit"): {"coordinator"},
    ("POST", "/cases/{case_id}/edit/fhir"): {"coordinator"},
    ("POST", "/cases/{case_id}/edit"): {"coordinator"},
    ("GET", "/cases/{case_id}/history"): CARE,
    ("GET", "/cases/{case_id}/decision"): {"clinician"},
    ("POST", "/cases/{case_id}/decision"): {"clinician"},
    ("GET", "/cases/{case_id}/summary"): CARE,
    ("GET", "/cases/{case_id}/summary.pdf"): CARE,
    ("GET", "/audit"): {"auditor"},
    ("GET", "/audit.csv"): {"auditor"},
    ("GET", "/reports/concordance"): {"auditor"},
    ("GET", "/admin/users"): {"admin"},
    ("POST", "/admin/users"): {"admin"},
    ("GET", "/api/tokens"): {"admin"},
    ("POST", "/api/tokens/{token_id}/revoke"): {"admin"},
    ("POST", "/api/users/{user_id}/deactivate"): {"admin"},
    ("POST", "/api/users/{user_id}/activate"): {"admin"},
    ("PUT", "/api/users/{user_id}/password"): {"admin"},
    ("GET", "/admin/users/{user_id}"): {"admin"},
    ("POST", "/admin/users/{user_id}/deactivate"): {"admin"},
    ("POST", "/admin/users/{user_id}/activate"): {"admin"},
    ("POST", "/admin/users/{user_id}/password"): {"admin"},
    ("POST", "/admin/tokens/{token_id}/revoke"): {"admin"},
    ("GET", "/surveys"): {"coordinator", "clinician", "auditor"},
    ("GET", "/surveys/{survey_id}"): {"coordinator", "clinician", "auditor"},
    ("POST", "/surveys/{survey_id}/invite"): {"coordinator"},
    ("GET", "/surveys/{survey_id}/plot/{by}.svg"): {"coordinator", "clinician", "auditor"},
    ("GET", "/surveys/{survey_id}/responses.csv"): {"coordinator", "clinician", "auditor"},
    ("GET", "/surveys/{survey_id}/redcap-records.csv"): {"coordinator", "clinician", "auditor"},
    ("GET", "/api/surveys/{survey_id}/responses"): {"coordinator", "clinician", "auditor"},
    ("GET", "/governance"): {"clinical_lead"},
    ("GET", "/governance/items/{item}"): {"clinical_lead"},
    ("POST", "/governance/items/{item}"): {"clinical_lead"},
    ("GET", "/governance/settings"): {"clinical_lead"},
    ("POST", "/governance/settings/{name}"): {"clinical_lead"},
    ("GET", "/governance/release"): {"clinical_lead"},
    ("POST", "/governance/release"): {"clinical_lead"},
    ("GET", "/governance/report"): {"clinical_lead", "auditor"},
    ("GET", "/governance/report.pdf"): {"clinical_lead", "auditor"},
    ("GET", "/governance/rounds"): {"clinical_lead", "clinician"},
    ("POST", "/governance/rounds"): {"clinical_lead"},
    ("GET", "/governance/rounds/{round_id}"): {"clinical_lead", "clinician"},
    ("POST", "/governance/rounds/{round_id}/respond"): {"clinical_lead", "clinician"},
    ("POST", "/governance/rounds/{round_id}/close"): {"clinical_lead"},
    ("POST", "/governance/rounds/{round_id}/invite"): {"clinical_lead"},
    ("POST", "/governance/rounds/{round_id}/cancel"): {"clinical_lead"},
    # trial matching (docs/trials.md)
    ("GET", "/api/trials"): CARE,
    ("GET", "/api/cases/{case_id}/trials"): CARE,
    # the PRRT audit registry (docs/registry.md)
    ("GET", "/api/registry/status"): {"clinician", "auditor"},
    ("PUT", "/api/registry/status"): {"admin"},
    ("POST", "/api/registry/enrolments"): {"clinician"},
    ("GET", "/api/registry/enrolments"): {"clinician", "auditor"},
    ("GET", "/api/registry/enrolments/{enrolment_id}"): {"clinician", "auditor"},
    ("GET", "/api/registry/enrolments/{enrolment_id}/assessment"): {"clinician", "auditor"},
    ("POST", "/api/registry/enrolments/{enrolment_id}/cycles"): {"clinician"},
    ("POST", "/api/registry/enrolments/{enrolment_id}/labs"): {"clinician"},
    ("POST", "/api/registry/enrolments/{enrolment_id}/adverse-events"): {"clinician"},
    ("POST", "/api/registry/enrolments/{enrolment_id}/scans"): {"clinician"},
    ("POST", "/api/registry/enrolments/{enrolment_id}/proms"): {"clinician"},
    ("PATCH", "/api/registry/enrolments/{enrolment_id}/follow-up"): {"clinician"},
    ("GET", "/api/registry/overdue"): {"clinician", "auditor"},
    ("GET", "/api/registry/report.pdf"): {"auditor"},
    ("GET", "/registry"): {"clinician", "auditor"},
    ("GET", "/registry/enrol"): {"clinician"},
    ("POST", "/registry/enrol"): {"clinician"},
    ("GET", "/registry/report"): {"auditor"},
    ("GET", "/registry/report.pdf"): {"auditor"},
    ("GET", "/admin/registry"): {"admin"},
    ("POST", "/admin/registry"): {"admin"},
    ("GET", "/registry/{enrolment_id}"): {"clinician", "auditor"},
    ("POST", "/registry/{enrolment_id}/cycles"): {"clinician"},
    ("POST", "/registry/{enrolment_id}/labs"): {"clinician"},
    ("POST", "/registry/{enrolment_id}/scans"): {"clinician"},
    ("POST", "/registry/{enrolment_id}/adverse-events"): {"clinician"},
    ("POST", "/registry/{enrolment_id}/follow-up"): {"clinician"},
    ("GET", "/account/password"): set(ROLES),
    ("POST", "/account/password"): set(ROLES),
}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/governance/governance.css"),  # the governance pages' stylesheet
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("GET", "/openapi.json"),
    ("GET", "/cds-services"),  # CDS Hooks discovery: no patient data
    # The patient's survey page: its one-time link's token (tests/test_survey_flow.py).
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
    ("GET", "/s/{token}/thanks"),
    ("POST", "/s/{token}/stop"),
}
# CDS Hooks calls carry the EHR's signed JWT, not a user's login (tests/test_cdshooks.py).
JWT = {("POST", "/cds-services/{service_id}"), ("POST", "/cds-services/{service_id}/feedback")}
# Anything else under /cds-services answers a JSON 404 or 405 and reads nothing.
CDS_ERRORS = {("POST", "/cds-services"), ("PUT", "/cds-services"), ("PATCH", "/cds-services"),
              ("DELETE", "/cds-services"), ("OPTIONS", "/cds-services")} | {
    (m, "/cds-services/{rest:path}")
    for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}  # fmt: skip
QUERY = {"/cases/{case_id}": "", "/cases/{case_id}/decision": "?meeting=1"}


def routes(web: Harness) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, including those of included routers."""
    found = set()
    pending = list(web.app.routes)
    while pending:
        route = pending.pop()
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI's wrapper of an included router
            pending.extend(included.routes)
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def url(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path) + QUERY.get(path, "")


def test_every_route_has_an_access_rule(sqlite_web: Harness) -> None:
    assert routes(sqlite_web) - PUBLIC - JWT - CDS_ERRORS == set(ACCESS)


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_401_without_login(sqlite_web: Harness, method: str, path: str) -> None:
    r = sqlite_web.client.request(method, url(path), follow_redirects=False)
    assert r.status_code == 401, r.text


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_403_for_every_wrong_role(sqlite_web: Harness, method: str, path: str) -> None:
    for role in sorted(set(ROLES) - ACCESS[(method, path)]):
        r = sqlite_web.call(role, method, url(path), follow_redirects=False)
        assert r.status_code == 403, (role, r.text)


def test_an_unknown_token_is_401(sqlite_web: Harness) -> None:
    r = sqlite_web.client.get("/api/patients", headers={"Authorization": "Bearer nmdt_forged"})
    assert (r.status_code, r.headers["www-authenticate"]) == (401, "Bearer")


def test_a_form_without_its_csrf_token_is_refused_and_stores_nothing(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    token = login(client, "coordinator")
    form = {"name": "No Token", "date_of_birth": "1960-01-01"}
    assert client.post("/patients", data=form, follow_redirects=False).status_code == 403
    wrong = {**form, "csrf_token": "forged"}
    assert client.post("/patients", data=wrong, follow_redirects=False).status_code == 403
    assert sqlite_web.call("coordinator", "GET", "/api/patients").json() == []
    ok = client.post("/patients", data={**form, "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_cookie_authenticated_api_writes_need_the_csrf_header(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    token = login(client, "coordinator")
    body = {"name": "A B", "date_of_birth": "1960-01-01"}
    assert client.post("/api/patients", json=body).status_code == 403
    assert (
        client.post("/api/patients", json=body, headers={"X-CSRF-Token": token}).status_code == 201
    )


def test_login_is_throttled_after_repeated_failures(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    token = csrf_of(client.get("/login").text)
    attempt = {"name": "clinician", "password": "wrong password!", "csrf_token": token}
    assert [client.post("/login", data=attempt).status_code for _ in range(5)] == [401] * 5
    right = client.post("/login", data={**attempt, "password": PASSWORD}, follow_redirects=False)
    # Retry-After: what is left of the 15-minute window that the first failure opened.
    assert (right.status_code, 0 < int(right.headers["retry-after"]) <= 900) == (429, True)
    assert "Too many failed logins" in right.text or "too many failed logins" in right.text


def test_session_cookie_flags(tmp_path: Any) -> None:
    for https, secure in ((False, False), (True, True)):
        web = make_harness(f"sqlite:///{tmp_path / f'{https}.db'}", https=https)
        token = csrf_of(web.client.get("/login").text)
        r = web.client.post(
            "/login",
            data={"name": "clinician", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        cookie = r.headers["set-cookie"].lower()
        assert ("httponly" in cookie, "samesite=lax" in cookie, "secure" in cookie) == (
            True,
            True,
            secure,
        )


PAYLOAD = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def test_free_text_is_rendered_escaped_on_every_page(sqlite_web: Harness) -> None:
    web = sqlite_web
    patient = web.patient(name=PAYLOAD, hospital_number=PAYLOAD[:40])
    facts = {
        **example_facts(),
        "history": {"prior_surgery": [PAYLOAD]},
        "context": {"preferences": [PAYLOAD]},
    }
    r = web.call(
        "coordinator",
        "POST",
        f"/api/patients/{patient['id']}/cases",
        json={"title": PAYLOAD, "facts": facts},
    )
    case = r.json()
    web.call(
        "coordinator",
        "PUT",
        f"/api/cases/{case['id']}",
        json={"base_version": 1, "facts": facts, "note": PAYLOAD},
    )
    meeting = web.call(
        "coordinator",
        "POST",
        "/api/meetings",
        json={"date": "2026-11-27", "title": PAYLOAD, "attendees": [PAYLOAD]},
    ).json()
    web.call(
        "coordinator", "POST", f"/api/meetings/{meeting['id']}/agenda", json={"case_id": case["id"]}
    )
    web.call(
        "clinician",
        "POST",
        f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision",
        json={
            "chosen": ["surgery_curative"],
            "rationale": PAYLOAD,
            "deviation_reason": "other",
            "deviation_text": PAYLOAD,
        },
    )
    pages = {
        "coordinator": [
            f"/patients/{patient['id']}",
            "/patients",
            f"/meetings/{meeting['id']}",
            "/meetings",
            f"/cases/{case['id']}",
            f"/cases/{case['id']}/edit",
            f"/cases/{case['id']}/history",
        ],
        "clinician": [f"/cases/{case['id']}/decision?meeting={meeting['id']}"],
    }
    for role, paths in pages.items():
        for path in paths:
            html = web.call(role, "GET", path).text
            assert PAYLOAD not in html, path
            assert ESCAPED in html or ESCAPED[:30] in html, path


def test_no_patient_data_in_the_logs(sqlite_web: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    web = sqlite_web
    patient = web.patient(name="Zebedee Quokka")
    web.case(patient["id"])
    web.call("coordinator", "GET", "/patients/find?nhs_number=9434765919", follow_redirects=False)
    web.call("coordinator", "GET", "/api/patients?q=Zebedee")
    web.call(
        "coordinator",
        "POST",
        "/api/patients",
        json={"name": "Zebedee Quokka", "date_of_birth": "2999-01-01"},
    )
    client_side = ("httpx", "httpx2")  # the test client's own request log, not the app's
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name not in client_side)
    assert "GET /patients/find 303" in logged  # requests are logged, by route template
    for secret in ("Zebedee", "Quokka", "9434765919", "1962-03-01", "2999"):
        assert secret not in logged


def test_login_redirects_only_within_the_site(sqlite_web: Harness) -> None:
    client: TestClient = sqlite_web.client
    token = csrf_of(client.get("/login").text)
    for target, landing in (
        ("/patients", "/patients"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
    ):
        r = client.post(
            "/login",
            data={"name": "clinician", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == landing
        token = csrf_of(client.get("/login").text)


def test_database_errors_never_carry_the_statement_values(sqlite_web: Harness) -> None:
    import sqlalchemy as sa

    engine = sqlite_web.app.state.netmdt.engine
    with pytest.raises(sa.exc.IntegrityError) as raised, engine.begin() as con:
        con.execute(
            sa.text("INSERT INTO patients (id, name) VALUES (:id, :name)"),
            {"id": 1, "name": "Zebedee Quokka"},
        )
    assert "Zebedee" not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)


def test_security_headers_on_pages_and_api(sqlite_web: Harness) -> None:
    for path in ("/login", "/api/patients", "/healthz"):
        headers = sqlite_web.call("clinician", "GET", path).headers
        got = {
            k: headers[k] for k in ("cache-control", "x-frame-options", "content-security-policy")
        }
        assert got == {
            "cache-control": "no-store",
            "x-frame-options": "DENY",
            "content-security-policy": "default-src 'self'; script-src 'self'; object-src "
            "'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        }, path


def test_a_mistyped_name_never_reaches_the_audit_log(sqlite_web: Harness) -> None:
    client = sqlite_web.client
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"name": "my secret password", "password": "x", "csrf_token": token})
    client.post("/login", data={"name": "clinician", "password": "wrong", "csrf_token": token})
    events = [(e["actor"], e["action"]) for e in sqlite_web.audit()[:2]]
    assert events == [("clinician", "login_failed"), ("(unknown user name)", "login_failed")]


def test_a_session_ends_after_its_lifetime_even_when_used(
    sqlite_web: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import netmdt.api.deps

    login(sqlite_web.client, "clinician")
    assert sqlite_web.client.get("/meetings").status_code == 200
    later = time.time() + 10 * 3600 + 1  # NETMDT_SESSION_HOURS is 10 by default
    monkeypatch.setattr(netmdt.api.deps.time, "time", lambda: later)
    assert sqlite_web.client.get("/meetings").status_code == 401


def test_a_link_from_the_ehr_survives_the_login(sqlite_web: Harness) -> None:
    patient = sqlite_web.patient()
    page = sqlite_web.client.get("/patients/find?nhs_number=943-476-5919")
    assert page.status_code == 401
    assert 'name="next" value="/patients/find?nhs_number=943-476-5919"' in page.text
    r = sqlite_web.call(
        "clinician", "GET", "/patients/find?nhs_number=943-476-5919", follow_redirects=False
    )
    assert r.headers["location"] == f"/patients/{patient['id']}"
