"""ClinicalTrials.gov v2 import and refresh from recorded files (no network)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from netmdt.cli import app
from netmdt.kb import check_kb, load_kb
from netmdt.trials.ctgov import age_years, diff, draft_card, read_studies
from tests.trials.conftest import kb_folder

HERE = Path(__file__).parent
TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("text", "years"),
    [("18 Years", 18), ("6 Months", 0.5), ("N/A", None), (None, None), ("2 Weeks", 0.0383)],
)
def test_ages(text: str | None, years: float | None) -> None:
    assert age_years(text) == years


def test_an_age_without_a_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a number and a unit"):
        age_years("eighteen")


def test_a_full_record_fills_every_structured_field() -> None:
    ((_, study),) = read_studies(HERE / "ctgov/nct_escapes.json")
    card = draft_card(study, TODAY)
    assert {k: card[k] for k in ("id", "acronym", "registry_ids", "phases", "overall_status")} == {
        "id": "escape_1",
        "acronym": "ESCAPE-1",
        "registry_ids": {
            "nct": "NCT09000001",
            "eudract": "2021-001086-20",
            "ctis": "2024-518325-15-00",
            "iras": "1003685",
        },
        "phases": ["phase2", "phase3"],
        "overall_status": "recruiting",
    }
    assert card["status_verified"] == "2025-11"
    assert card["dates"] == {
        "start": "2021-08-10",
        "primary_completion": "2027-09",
        "completion": "2028-09",
        "completion_actual": False,
        "last_update_posted": "2025-11-20",
    }
    assert card["arms"][1] == {
        "id": "standard_of_care",
        "label": "Standard of care",
        "interventions": ["Everolimus", "CAPTEM"],
    }
    assert card["sites"] == [
        {
            "name": "Royal Free Hospital",
            "city": "London",
            "country": "United Kingdom",
            "status": "recruiting",
            "lat": 51.553,
            "lon": -0.165,
        },
        {  # no status on the record: none on the card
            "name": "Christie Hospital",
            "city": "Manchester",
            "country": "United Kingdom",
            "lat": 53.4295,
            "lon": -2.231,
        },
        {
            "name": "Hopital Test",
            "city": "Lyon",
            "country": "France",
            "status": "not_yet_recruiting",
        },
    ]
    e = card["eligibility"]
    assert (e["min_age_years"], e["max_age_years"], e["sex"], e["healthy_volunteers"]) == (
        18,
        None,
        "all",
        False,
    )
    assert [m["quote"] for m in e["manual_check"]] == [
        "Age 18 years or older",
        "Temperature <38°C",  # unescaped
        "Ki-67 index of 15-55% *inclusive*",
        "Prior PRRT",
        "Major surgery within 4 weeks",
    ]


def test_no_locations_no_headers_and_unknown_statuses() -> None:
    studies = read_studies(HERE / "ctgov/nct_no_locations.json")  # a search response
    first, second = (draft_card(s, TODAY) for _, s in studies)
    assert (first["sites"], first["overall_status"], first["dates"]) == (
        [],
        "completed",
        {"completion": "2019-01-15", "completion_actual": True},
    )
    assert (first["eligibility"]["min_age_years"], first["eligibility"]["sex"]) == (0.5, "female")
    assert [m["quote"] for m in first["eligibility"]["manual_check"]] == [
        "Histologically confirmed NET",
        "Measurable disease (RECIST 1.1)",
        "ECOG 0-1",
        "Adequate organ function",
    ]
    assert second["overall_status"] == "unknown"
    assert "'AVAILABLE' recorded as unknown" in second["note"]


def test_imported_drafts_pass_kb_check_and_stay_valid_once_encoded(tmp_path: Path) -> None:
    root = kb_folder(tmp_path)
    result = CliRunner().invoke(
        app, ["trials", "import", str(HERE / "ctgov"), "--out", str(root / "trials")]
    )
    assert result.exit_code == 0, result.output
    assert "escape_1.yaml: draft card, 5 bullet(s) to encode" in result.stdout
    kb, problems = check_kb(root)
    assert problems == []
    assert kb is not None and {"escape_1", "nct09000002", "nct09000003"} <= set(kb.trials)
    path = root / "trials/escape_1.yaml"
    card = yaml.safe_load(path.read_text())
    card["eligibility"]["manual_check"] = [
        m for m in card["eligibility"]["manual_check"] if m["quote"] != "Prior PRRT"
    ]
    _, problems = check_kb(root)
    assert problems == []  # unchanged file yet
    path.write_text(yaml.safe_dump(card, sort_keys=False, allow_unicode=True))
    _, problems = check_kb(root)
    assert [p.code for p in problems] == ["unaccounted_bullet"]
    card["eligibility"]["criteria"] = [
        {
            "id": "prior_prrt",
            "kind": "exclusion",
            "text": "Prior PRRT",
            "when": "has_prior(prrt_lu177_dotatate, prrt_y90_dotatoc)",
            "reads": ["history.prior_treatments"],
            "quote": "Prior PRRT",
            "source": {"url": "https://clinicaltrials.gov/study/NCT09000001"},
            "evidence": "V",
        }
    ]
    path.write_text(yaml.safe_dump(card, sort_keys=False, allow_unicode=True))
    kb, problems = check_kb(root)
    assert problems == []
    assert kb is not None
    assert [c.id for c in kb.trials["escape_1"].criteria] == ["min_age", "prior_prrt"]


def test_import_refuses_what_is_not_a_study(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    result = CliRunner().invoke(app, ["trials", "import", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a v2 study (no protocolSection.identificationModule.nctId)" in result.stderr


def test_refresh_diffs_status_changes_with_one_audit_event_each(
    tmp_path: Path, trial_kb_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netmdt.store import tables as t
    from netmdt.store.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("NETMDT_DATABASE_URL", url)
    recorded = tmp_path / "recorded"
    shutil.copytree(HERE / "recorded", recorded)
    result = CliRunner().invoke(
        app, ["trials", "refresh", "--from", str(recorded), "--kb", str(trial_kb_path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "t_compose: overall_status: recruiting -> active_not_recruiting",
        "t_compose: status_verified: 2026-10 -> 2026-11",
        "t_compose: site:Near Abroad Clinic: recruiting -> -",
        "t_compose: site:Royal Free Hospital: recruiting -> active_not_recruiting",
        "4 change(s) in 1 record(s)",
    ]
    with session_factory(make_engine(url))() as db:
        events = db.scalars(select(t.AuditEvent).order_by(t.AuditEvent.id)).all()
        got = [(e.actor, e.action, e.record_type, e.record_id, e.detail) for e in events]
    assert got == [
        (
            "trials-refresh",
            "trial_status_change",
            "trial",
            "t_compose",
            {"field": "overall_status", "before": "recruiting", "after": "active_not_recruiting"},
        ),
        (
            "trials-refresh",
            "trial_status_change",
            "trial",
            "t_compose",
            {"field": "status_verified", "before": "2026-10", "after": "2026-11"},
        ),
        (
            "trials-refresh",
            "trial_status_change",
            "trial",
            "t_compose",
            {"field": "site:Near Abroad Clinic", "before": "recruiting", "after": None},
        ),
        (
            "trials-refresh",
            "trial_status_change",
            "trial",
            "t_compose",
            {
                "field": "site:Royal Free Hospital",
                "before": "recruiting",
                "after": "active_not_recruiting",
            },
        ),
    ]


def test_an_unchanged_record_has_no_changes() -> None:
    kb = load_kb()
    ((_, study),) = read_studies(HERE / "ctgov/nct_escapes.json")
    card = kb.trials["radiant2"].card
    assert diff(card, study)  # a different trial's record differs
    same = draft_card(study, TODAY)
    from netmdt.trials.models import TrialCard

    assert diff(TrialCard.model_validate(same), study) == []
