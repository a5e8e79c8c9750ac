"""The JSON API and its storage, on SQLite and on PostgreSQL (every test runs on both)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from netmdt import assess, parse_case
from tests.webapp import PATIENT, Harness, example_facts


def error(code: str, message: str, *problems: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "problems": [{"where": w, "message": m, "code": c} for w, m, c in problems],
        }
    }


def test_healthz_needs_no_login(web: Harness) -> None:
    assert web.client.get("/healthz").json() == {"status": "ok", "version": "0.1.0"}


def test_patient_is_stored_with_a_normalised_nhs_number(web: Harness) -> None:
    created = web.patient(nhs_number="943 476 5919")
    assert created == {**PATIENT, "id": created["id"]}
    got = web.call("clinician", "GET", f"/api/patients/{created['id']}")
    assert got.json() == created


def test_nhs_number_with_a_wrong_check_digit_is_refused_and_nothing_stored(web: Harness) -> None:
    r = web.call(
        "coordinator", "POST", "/api/patients", json={**PATIENT, "nhs_number": "9434765918"}
    )
    assert r.status_code == 422
    assert r.json() == error(
        "invalid",
        "the input is invalid",
        (
            "nhs_number",
            "must be 10 digits whose last digit is the modulus-11 check digit "
            "(NHS Data Dictionary)",
            "value_error",
        ),
    )
    assert web.call("coordinator", "GET", "/api/patients").json() == []


def test_a_second_patient_with_the_same_nhs_number_is_a_conflict(web: Harness) -> None:
    web.patient()
    r = web.call("coordinator", "POST", "/api/patients", json={**PATIENT, "name": "Other"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")


def test_case_is_assessed_with_the_engines_answer_and_the_kb_fingerprint(web: Harness) -> None:
    patient = web.patient()
    case = web.case(patient["id"])
    assert (case["version"], case["facts"]["age_years"]) == (1, 64)  # age from date of birth
    got = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    expected = assess(parse_case({**case["facts"], "id": f"case-{case['id']}"}))
    # stored cases are assessed at the centre: each reason carries its review there
    # (none yet: awaiting) instead of the bundled flag (netmdt.governance)
    awaiting = {"status": "awaiting", "by": None, "on": None, "verdict": None, "local_settings": []}
    want = expected.model_dump(mode="json")
    for o in want["options"]:
        for r in o["reasons"]:
            r["review"] = awaiting
    for m in want["trials"]:  # and each trial criterion too (trial:TRIAL.CRITERION)
        for r in m["reasons"]:
            r["review"] = awaiting
    assert got == want and want["trials"]
    with web.app.state.netmdt.sessions() as db:
        stored = db.execute(sa.text("SELECT kb_fingerprint FROM assessments")).scalars().all()
    assert stored == [web.app.state.netmdt.kb.fingerprint]


def test_invalid_facts_name_every_field_and_store_nothing(web: Harness) -> None:
    patient = web.patient()
    facts = {**example_facts(), "tumour": {"ki67_percent": 120, "grade": "G9"}}
    r = web.call(
        "coordinator",
        "POST",
        f"/api/patients/{patient['id']}/cases",
        json={"title": "x", "facts": facts},
    )
    assert r.status_code == 422
    assert [(p["where"], p["code"]) for p in r.json()["error"]["problems"]] == [
        ("facts.tumour.grade", "literal_error"),
        ("facts.tumour.ki67_percent", "less_than_equal"),
    ]
    assert web.call("coordinator", "GET", f"/api/patients/{patient['id']}/cases").json() == []


def test_age_that_contradicts_the_date_of_birth_is_refused(web: Harness) -> None:
    patient = web.patient()
    r = web.call(
        "coordinator",
        "POST",
        f"/api/patients/{patient['id']}/cases",
        json={"title": "x", "facts": {**example_facts(), "age_years": 50}},
    )
    assert r.json() == error(
        "invalid",
        "the input is invalid",
        (
            "facts.age_years",
            "50 does not match the date of birth (1962-03-01: 64 on 2026-11-27)",
            "inconsistent",
        ),
    )


def test_an_edit_makes_a_new_version_and_keeps_the_old_one(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    facts = {**example_facts(), "labs": {**example_facts()["labs"], "egfr_ml_min": 40}}
    r = web.call(
        "coordinator",
        "PUT",
        f"/api/cases/{case['id']}",
        json={"base_version": 1, "facts": facts, "note": "new bloods"},
    )
    assert (r.status_code, r.json()["version"]) == (200, 2)
    versions = web.call("clinician", "GET", f"/api/cases/{case['id']}/versions").json()
    assert [(v["version"], v["note"], v["facts"]["labs"]["egfr_ml_min"]) for v in versions] == [
        (1, "created", 78.0),
        (2, "new bloods", 40.0),
    ]
    diff = web.call("clinician", "GET", f"/api/cases/{case['id']}/diff?from=1&to=2").json()
    assert diff == [{"field": "labs.egfr_ml_min", "before": 78.0, "after": 40.0}]


def test_an_edit_from_a_stale_version_is_refused_with_409(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    first = {**example_facts(), "sex": "male"}
    assert (
        web.call(
            "coordinator",
            "PUT",
            f"/api/cases/{case['id']}",
            json={"base_version": 1, "facts": first},
        ).status_code
        == 200
    )
    r = web.call(
        "coordinator",
        "PUT",
        f"/api/cases/{case['id']}",
        json={"base_version": 1, "facts": example_facts()},
    )
    assert r.json() == error(
        "conflict",
        f"case {case['id']} is at version 2, not 1: "
        "someone else saved it first; reload, then edit again",
    )
    assert web.call("clinician", "GET", f"/api/cases/{case['id']}").json()["facts"]["sex"] == "male"


def test_two_concurrent_edits_from_one_version_one_wins_one_gets_409(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def edit(sex: str) -> None:
        with TestClient(web.app) as client:
            barrier.wait()
            r = client.put(
                f"/api/cases/{case['id']}",
                json={"base_version": 1, "facts": {**example_facts(), "sex": sex}},
                headers=web.h("coordinator"),
            )
            results[sex] = r.status_code

    threads = [threading.Thread(target=edit, args=(s,)) for s in ("male", "other")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [200, 409]
    winner = next(s for s, code in results.items() if code == 200)
    versions = web.call("clinician", "GET", f"/api/cases/{case['id']}/versions").json()
    assert [(v["version"], v["facts"]["sex"]) for v in versions] == [(1, "female"), (2, winner)]


def test_decision_that_deviates_needs_a_coded_reason(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    meeting = web.meeting(case["id"])
    url = f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision"
    # Curative surgery is not recommended for this patient: choosing it is a deviation.
    r = web.call(
        "clinician", "POST", url, json={"chosen": ["surgery_curative"], "rationale": "fit, keen"}
    )
    assert r.status_code == 422
    assert [p["where"] for p in r.json()["error"]["problems"]] == ["deviation_reason"]
    r = web.call(
        "clinician",
        "POST",
        url,
        json={"chosen": ["surgery_curative"], "rationale": "r", "deviation_reason": "other"},
    )
    assert [p["where"] for p in r.json()["error"]["problems"]] == ["deviation_text"]
    r = web.call(
        "clinician",
        "POST",
        url,
        json={
            "chosen": ["surgery_curative"],
            "rationale": "r",
            "deviation_reason": "patient_preference",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert {
        k: body[k]
        for k in ("chosen", "deviation", "deviation_reason", "case_version", "supersedes_id")
    } == {
        "chosen": ["surgery_curative"],
        "deviation": True,
        "deviation_reason": "patient_preference",
        "case_version": 1,
        "supersedes_id": None,
    }
    assert body["verdicts"]["surgery_curative"] == "not_recommended"


def test_an_amended_decision_supersedes_and_the_report_counts_the_latest(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    meeting = web.meeting(case["id"])
    url = f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision"
    first = web.call(
        "clinician",
        "POST",
        url,
        json={"chosen": ["surgery_curative"], "rationale": "r", "deviation_reason": "comorbidity"},
    ).json()
    second = web.call(
        "clinician", "POST", url, json={"chosen": ["ssa_long_acting"], "rationale": "r2"}
    ).json()
    assert (second["supersedes_id"], second["deviation"]) == (first["id"], False)
    report = web.call("auditor", "GET", "/api/reports/concordance").json()
    not_chosen = {
        o: {"recommended_not_chosen": 1}
        for o, v in second["verdicts"].items()
        if v == "recommended" and o != "ssa_long_acting"
    }
    assert second["verdicts"]["ssa_long_acting"] == "recommended"
    assert report == {
        "decisions": 1,
        "concordant": 1,
        "deviations": 0,
        "by_option": dict(sorted({**not_chosen, "ssa_long_acting": {"recommended": 1}}.items())),
        "by_deviation_reason": {},
        "trial_referrals": {},
        "deviating": [],
    }


def test_a_decision_for_a_case_not_on_the_agenda_is_refused(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    meeting = web.meeting()
    r = web.call(
        "clinician",
        "POST",
        f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision",
        json={"chosen": [], "rationale": "r"},
    )
    assert r.status_code == 422


def test_every_patient_read_and_write_is_audited(web: Harness) -> None:
    patient = web.patient()
    case = web.case(patient["id"])
    web.call("clinician", "GET", f"/api/cases/{case['id']}")
    web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment")
    events = [(e["actor"], e["action"], e["record_type"], e["record_id"]) for e in web.audit()]
    assert events[::-1] == [
        ("test-setup", "create", "user", "1"),
        ("netmdt", "create", "token", "1"),
        ("test-setup", "create", "user", "2"),
        ("netmdt", "create", "token", "2"),
        ("test-setup", "create", "user", "3"),
        ("netmdt", "create", "token", "3"),
        ("test-setup", "create", "user", "4"),
        ("netmdt", "create", "token", "4"),
        ("test-setup", "create", "user", "5"),
        ("netmdt", "create", "token", "5"),
        ("coordinator", "create", "patient", str(patient["id"])),
        ("coordinator", "create", "case", str(case["id"])),
        ("clinician", "read", "case", str(case["id"])),
        ("clinician", "read", "assessment", "1"),
    ]
    newest = web.audit()[0]  # reading the log is audited too
    assert (newest["actor"], newest["action"], newest["record_type"]) == (
        "auditor",
        "read",
        "audit_log",
    )


def test_the_audit_log_is_append_only_in_the_database(web: Harness) -> None:
    web.patient()
    engine = web.app.state.netmdt.engine
    statements = ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as con:
            con.execute(sa.text(statement))


def test_migrations_describe_the_same_schema_as_the_models(web: Harness) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from netmdt.store.tables import Base

    with web.app.state.netmdt.engine.connect() as con:
        assert compare_metadata(MigrationContext.configure(con), Base.metadata) == []


def test_stateless_assess_returns_the_engines_assessment(web: Harness) -> None:
    facts = {**example_facts(), "id": "adhoc", "age_years": 64}
    r = web.call("clinician", "POST", "/api/assess", json=facts)
    assert r.json() == assess(parse_case(facts)).model_dump(mode="json")
    bad = web.call("clinician", "POST", "/api/assess", json={"tumour": {"type": "carcinoid"}})
    assert [p["where"] for p in bad.json()["error"]["problems"]] == ["tumour.type"]


def test_non_finite_numbers_are_refused_not_stored_as_unknown(web: Harness) -> None:
    patient = web.patient()
    facts = {**example_facts(), "labs": {"bilirubin_x_uln": float("inf")}}
    body = json.dumps({"title": "t", "facts": facts}).replace("Infinity", "1e999")
    r = web.client.post(
        f"/api/patients/{patient['id']}/cases",
        content=body,
        headers={**web.h("coordinator"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert [p["where"] for p in r.json()["error"]["problems"]] == ["facts.labs.bilirubin_x_uln"]


def test_an_assessment_date_that_makes_no_sense_with_the_birth_date_is_a_422(
    web: Harness,
) -> None:
    patient = web.patient()
    for day in ("1950-01-01", "2200-01-01"):
        r = web.call(
            "coordinator",
            "POST",
            f"/api/patients/{patient['id']}/cases",
            json={"title": "t", "facts": {"assessed_on": day}},
        )
        assert r.status_code == 422, r.text
        assert [p["where"] for p in r.json()["error"]["problems"]] == ["facts.assessed_on"]


def test_two_decisions_at_the_same_moment_one_is_a_conflict(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    meeting = web.meeting(case["id"])
    url = f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision"
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def decide() -> None:
        with TestClient(web.app) as client:
            barrier.wait()
            r = client.post(url, json={"chosen": [], "rationale": "r"}, headers=web.h("clinician"))
            codes.append(r.status_code)

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    decisions = web.call("clinician", "GET", f"/api/cases/{case['id']}/decisions").json()
    # Serialised by the database, the second may still land as an amendment; never two
    # decisions both claiming to be the first.
    assert sorted(codes) in ([201, 201], [201, 409])
    assert [d["supersedes_id"] is None for d in decisions] == [True, False][: len(decisions)]


def test_unknown_api_paths_and_methods_use_the_error_shape(sqlite_web: Harness) -> None:
    r = sqlite_web.call("clinician", "GET", "/api/nope")
    assert (r.status_code, r.json()) == (404, error("not_found", "Not Found"))
    r = sqlite_web.call("clinician", "DELETE", "/api/cases/1")
    assert (r.status_code, r.json()) == (405, error("method_not_allowed", "Method Not Allowed"))
