"""The trials API and the case page's trials panel (SQLite; storage is not what is tested)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netmdt.api import create_app
from netmdt.api.routes import add_user, user_input
from netmdt.api.security import create_token
from netmdt.config import Settings
from netmdt.kb import KnowledgeBase
from tests.webapp import PASSWORD, ROLES, Harness, example_facts, login


@pytest.fixture
def app(tmp_path: Path, trial_kb: KnowledgeBase) -> Iterator[Harness]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'netmdt.db'}",
        secret_key="test-secret",
        cds_freeze_heap=False,
        trials_centre="Royal Free Hospital",
    )
    application = create_app(settings, kb=trial_kb)
    tokens = {}
    with application.state.netmdt.sessions() as db:
        for role in ROLES:
            user = add_user(db, "test-setup", user_input(role, [role], PASSWORD))
            tokens[role] = create_token(db, user)
    harness = Harness(application, TestClient(application), tokens)
    yield harness
    harness.client.close()
    application.state.netmdt.engine.dispose()


def facts(ki67: float | None) -> dict[str, Any]:
    f = example_facts()
    f["tumour"] = {**f["tumour"], "primary_site": "pancreas"}
    if ki67 is None:
        f["tumour"].pop("ki67_percent", None)
    else:
        f["tumour"]["ki67_percent"] = ki67
    prior = [{"therapy": "ssa_long_acting", "start": "2024-03-01", "outcome": "progression"}]
    f["history"] = {**f.get("history", {}), "prior_treatments": prior}
    return f


def test_get_trials_lists_every_card(app: Harness) -> None:
    r = app.call("clinician", "GET", "/api/trials")
    assert r.status_code == 200
    rows = {row["id"]: row for row in r.json()}
    assert {"t_compose", "t_soon", "t_abroad", "net01", "radiant2", "clarinet"} <= set(rows)
    assert {k: rows["t_compose"][k] for k in ("registry_ids", "phases", "overall_status")} == {
        "registry_ids": {"nct": "NCT04919226", "eudract": "2021-001086-20", "iras": "1003685"},
        "phases": ["phase3"],
        "overall_status": "recruiting",
    }
    assert (rows["t_compose"]["open"], rows["t_compose"]["open_here"]) == (True, True)
    assert (rows["radiant2"]["open"], rows["t_soon"]["open"]) == (False, False)
    assert app.call("auditor", "GET", "/api/trials").status_code == 403


def test_a_stored_cases_trial_matches_are_audited(app: Harness) -> None:
    patient = app.patient()
    case = app.case(patient["id"], facts(30))
    r = app.call("clinician", "GET", f"/api/cases/{case['id']}/trials")
    assert r.status_code == 200, r.text
    got = {(m["trial"], m["arm"]): (m["verdict"], m["open_here"]) for m in r.json()}
    assert got[("t_compose", "edotreotide")] == ("eligible", True)
    events = [e for e in app.audit() if e["action"] == "trials_match"]
    assert [(e["actor"], e["record_type"], e["detail"]["case"]) for e in events] == [
        ("clinician", "assessment", case["id"])
    ]
    assessment = app.call("clinician", "GET", f"/api/cases/{case['id']}/assessment").json()
    trial_option = next(o for o in assessment["options"] if o["option"] == "clinical_trial")
    assert trial_option["verdict"] == "recommended"


def test_the_case_page_shows_the_trials_panel(app: Harness) -> None:
    patient = app.patient()
    case = app.case(patient["id"], facts(None))
    login(app.client, "clinician")
    html = app.client.get(f"/cases/{case['id']}").text
    assert '<h2 id="trials-h">Clinical trials</h2>' in html
    panel = html[html.index('id="trials-h"') : html.index('id="dec-h"')]
    assert "T-COMPOSE" in panel and "possibly eligible" in panel
    assert "Facts that would settle it" in panel and "Ki-67 index (%)" in panel
    assert "RADIANT-2" not in panel  # closed historical cards are not offered


def _decide(app: Harness, body: dict[str, Any]) -> Any:
    case = app.case(app.patient()["id"], facts(30))
    meeting = app.meeting(case["id"])
    url = f"/api/meetings/{meeting['id']}/cases/{case['id']}/decision"
    return app.call("clinician", "POST", url, json=body)


def test_a_trial_referral_is_recorded_and_counted(app: Harness) -> None:
    r = _decide(app, {"chosen": ["clinical_trial"], "rationale": "refer", "trial_ref": "t_compose"})
    assert r.status_code == 201, r.text
    assert (r.json()["trial_ref"], r.json()["deviation"]) == ("t_compose", False)
    report = app.call("auditor", "GET", "/api/reports/concordance").json()
    assert report["trial_referrals"] == {"t_compose": 1}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {"chosen": ["ssa_long_acting"], "rationale": "r", "trial_ref": "t_compose"},
            "only with clinical_trial among the chosen options",
        ),
        (
            {"chosen": ["clinical_trial"], "rationale": "r", "trial_ref": "nope"},
            "no trial card 'nope'; cards: {cards}",
        ),
    ],
)
def test_a_wrong_trial_referral_is_refused(
    app: Harness, trial_kb: KnowledgeBase, body: dict[str, Any], problem: str
) -> None:
    problem = problem.format(cards=", ".join(sorted(trial_kb.trials)))
    r = _decide(app, body)
    assert r.status_code == 422, r.text
    assert [(p["where"], p["message"]) for p in r.json()["error"]["problems"]] == [
        ("trial_ref", problem)
    ]


def test_the_decision_form_records_which_trial(app: Harness) -> None:
    case = app.case(app.patient()["id"], facts(30))
    meeting = app.meeting(case["id"])
    token = login(app.client, "clinician")
    page = app.client.get(f"/cases/{case['id']}/decision?meeting={meeting['id']}").text
    assert '<select id="d-trial_ref" name="trial_ref"' in page
    assert '<option value="t_compose">T-COMPOSE: eligible, open here</option>' in page
    r = app.client.post(
        f"/cases/{case['id']}/decision?meeting={meeting['id']}",
        data={
            "csrf_token": token,
            "chosen": "clinical_trial",
            "rationale": "refer to the trial team",
            "trial_ref": "t_compose",
            "case_version": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    decisions = app.call("clinician", "GET", f"/api/cases/{case['id']}/decisions").json()
    assert [(d["chosen"], d["trial_ref"]) for d in decisions] == [(["clinical_trial"], "t_compose")]
