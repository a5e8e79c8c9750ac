"""The pieces wired together in the app: the CDS Hooks service (its cards and feedback
land in the audit log) and the FHIR output of a stored case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netmdt.cdshooks import SERVICE_ID
from netmdt.fhir import to_fhir
from netmdt.store.services import case_of
from tests.test_cdshooks import EHR, JWKS, SI_NET, hook_body, token
from tests.webapp import Harness, make_harness

ROOT = Path(__file__).resolve().parent.parent


def cds_app(tmp_path: Path) -> Harness:
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({EHR: JWKS}))
    return make_harness(
        f"sqlite:///{tmp_path / 'netmdt.db'}",
        base_url="https://netmdt.example.org",
        cds_issuers_file=str(issuers),
    )


def test_a_cds_card_and_its_feedback_are_audited(tmp_path: Path) -> None:
    web = cds_app(tmp_path)
    url = f"/cds-services/{SERVICE_ID}"
    r = web.client.post(url, json=hook_body(SI_NET), headers={"Authorization": f"Bearer {token()}"})
    assert r.status_code == 200, r.text
    card = r.json()["cards"][0]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": card["overrideReasons"][0]},
                "outcomeTimestamp": "2026-11-27T09:30:00Z",
            }
        ]
    }
    bearer = token(aud=f"https://netmdt.example.org{url}/feedback")
    r = web.client.post(
        f"{url}/feedback", json=feedback, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert r.status_code == 200, r.text
    events = [
        (e["actor"], e["action"], e["record_type"], e["record_id"], e["detail"])
        for e in web.audit()
    ]
    reason = card["overrideReasons"][0]["code"]
    assert events[:2] == [
        (
            f"cds:{EHR}",
            "cds_overridden",
            "cds_card",
            card["uuid"],
            {"override_reason": reason, "accepted_suggestions": 0},
        ),
        (
            f"cds:{EHR}",
            "read",
            "fhir_patient",
            "si-net-patient",
            {
                "card": card["uuid"],
                "indicator": card["indicator"],
                "kb_version": web.app.state.netmdt.kb.version,
            },
        ),
    ]


def test_a_token_from_an_untrusted_ehr_is_refused_by_the_app(tmp_path: Path) -> None:
    web = make_harness(f"sqlite:///{tmp_path / 'netmdt.db'}")  # no issuers configured
    r = web.client.post(
        f"/cds-services/{SERVICE_ID}",
        json=hook_body(SI_NET),
        headers={"Authorization": f"Bearer {token()}"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unknown_issuer")


def test_discovery_is_served_by_the_app(sqlite_web: Harness) -> None:
    services = sqlite_web.client.get("/cds-services").json()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [(SERVICE_ID, "patient-view")]


def test_stored_case_assessment_as_fhir(web: Harness) -> None:
    case = web.case(web.patient()["id"])
    r = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment.fhir")
    assert r.headers["content-type"] == "application/fhir+json"
    assessment = web.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    from netmdt import Assessment

    expected: Any = to_fhir(
        Assessment.model_validate(assessment), case_of(case["id"], case["facts"])
    )
    assert r.json() == expected


def test_screen_db_screens_the_stored_cases_like_the_engine(web: Harness, tmp_path: Path) -> None:
    import csv

    from typer.testing import CliRunner

    from netmdt import assess, parse_case
    from netmdt.cli import app

    first = web.case(web.patient()["id"])
    other = {**first["facts"], "labs": {**first["facts"]["labs"], "egfr_ml_min": 25}}
    second = web.case(web.patient(nhs_number="9990000018", name="B")["id"], other)
    url = web.app.state.netmdt.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(app, ["screen", "--db", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as f:
        got = {(r["case_id"], r["option"]): r["verdict"] for r in csv.DictReader(f)}
    expected = {}
    for case in (first, second):
        assessment = assess(parse_case({**case["facts"], "id": f"case-{case['id']}"}))
        for o in assessment.options:
            expected[(f"case-{case['id']}", o.option)] = o.verdict
    assert got == expected
    events = [(e["actor"], e["action"], e["record_type"], e["detail"]) for e in web.audit()]
    assert events[0] == ("netmdt-cli", "export", "cohort", {"count": 2})


def test_screen_db_and_assess_db_carry_the_centres_registry_status(
    web: Harness, tmp_path: Path
) -> None:
    """Both read the centre's state as the web app has it: here the PRRT registry opened
    at the centre (the knowledge base's own status is on_hold)."""
    import csv

    import yaml
    from typer.testing import CliRunner

    from netmdt.cli import app

    scenario = ROOT / "tests/scenarios/core-03-thymic-net-lu177-consider-registry-on-hold.yaml"
    facts = {k: v for k, v in yaml.safe_load(scenario.read_text())["case"].items() if k != "id"}
    facts["age_years"] = 64  # the harness patient's age on the case's date
    web.case(web.patient()["id"], json.loads(json.dumps(facts, default=str)))
    url = web.app.state.netmdt.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    opened = runner.invoke(app, ["registry", "status", "--set", "open", "--db", url])
    assert opened.exit_code == 0, opened.output
    out = tmp_path / "results.csv"
    screened = runner.invoke(app, ["screen", "--db", url, "--out", str(out)])
    assert screened.exit_code == 0, screened.output
    with out.open() as f:
        by_screen = {
            r["option"]: (r["funding_pathway"], r["registry_status"] or None)
            for r in csv.DictReader(f)
        }
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(facts, default=str))
    assessed = runner.invoke(app, ["assess", str(case_file), "--db", url, "--format", "json"])
    assert assessed.exit_code == 0, assessed.output
    by_assess = {
        o["option"]: (o["funding"]["pathway"], o["funding"]["registry_status"])
        for o in json.loads(assessed.stdout)["options"]
    }
    assert by_screen == by_assess
    assert by_screen["prrt_lu177_dotatate"] == ("audit_registry", "open")


def test_kb_diff_db_finds_whose_stored_verdicts_change(sqlite_web: Harness, tmp_path: Path) -> None:
    import csv

    from typer.testing import CliRunner

    from netmdt.cli import app
    from netmdt.kb import default_kb_path
    from tests.test_diff import raised_renal_threshold

    facts = {**sqlite_web.case(sqlite_web.patient()["id"])["facts"]}
    facts["labs"] = {**facts["labs"], "egfr_ml_min": 42}  # between the old and new threshold
    edited = sqlite_web.call(
        "coordinator", "PUT", "/api/cases/1", json={"base_version": 1, "facts": facts}
    )
    assert edited.status_code == 200
    url = sqlite_web.app.state.netmdt.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "changed.csv"
    new = raised_renal_threshold(tmp_path)
    result = CliRunner().invoke(
        app, ["kb", "diff", str(default_kb_path()), str(new), "--db", url, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = [(r["case_id"], r["option"], r["old_verdict"]) for r in csv.DictReader(f)]
    assert [(c, o) for c, o, _ in rows] == [("case-1", "prrt_lu177_dotatate")]
    assert rows[0][2] in ("recommended", "consider")


def test_serve_with_several_workers_shares_the_session_key(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import os

    import uvicorn
    from typer.testing import CliRunner

    from netmdt.cli import app

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    monkeypatch.setenv("NETMDT_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    monkeypatch.delenv("NETMDT_SECRET_KEY", raising=False)
    monkeypatch.setenv("NETMDT_CDS_FREEZE_HEAP", "false")
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    ((target, kw),) = calls
    assert (target, kw["factory"], kw["workers"]) == ("netmdt.api.app:create_app", True, 2)
    assert len(os.environ["NETMDT_SECRET_KEY"]) >= 32
    monkeypatch.delenv("NETMDT_SECRET_KEY")
