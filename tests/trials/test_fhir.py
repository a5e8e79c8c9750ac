"""A trial card as a FHIR R4 ResearchStudy with an eligibility Group (validated)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from netmdt.cli import app
from netmdt.kb import KnowledgeBase
from netmdt.trials.fhir import research_study


def test_a_card_exports_as_a_valid_research_study(trial_kb: KnowledgeBase) -> None:
    r = research_study(trial_kb.trials["t_compose"])
    assert (r["resourceType"], r["status"], r["phase"]["coding"][0]["code"]) == (
        "ResearchStudy",
        "active",
        "phase-3",
    )
    assert r["identifier"] == [
        {"system": "urn:netmdt:fhir:trial-registry:nct", "value": "NCT04919226"},
        {"system": "urn:netmdt:fhir:trial-registry:eudract", "value": "2021-001086-20"},
        {"system": "urn:netmdt:fhir:trial-registry:iras", "value": "1003685"},
    ]
    (group,) = r["contained"]
    assert r["enrollment"] == [{"reference": "#eligibility"}]
    assert [(c["code"]["text"], c["exclude"]) for c in group["characteristic"]] == [
        ("Aged 18 or over", False),
        ("Ki-67 15-55% inclusive", False),
        ("Prior PRRT", True),
        ("Prior everolimus (standard-of-care arm)", True),
    ]


def test_phase_2_3_and_status_mapping(trial_kb: KnowledgeBase) -> None:
    r = research_study(trial_kb.trials["t_abroad"])
    assert (r["phase"]["coding"][0]["code"], r["status"]) == ("phase-2-phase-3", "active")
    soon = research_study(trial_kb.trials["t_soon"])
    assert (soon["phase"]["coding"][0]["code"], soon["status"]) == ("phase-2", "approved")


def test_every_bundled_card_exports_and_the_cli_prints_it() -> None:
    result = CliRunner().invoke(app, ["trials", "show", "radiant2", "--format", "fhir"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert (r["id"], r["status"], r["period"]) == (
        "radiant2",
        "completed",
        {"start": "2006-12", "end": "2013-06"},
    )
