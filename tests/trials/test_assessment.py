"""Trials in the assessment: ``clinical_trial`` is recommended when a trial open at our
centre is eligible, and says which; the summary view agrees; reference = generated."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netmdt.case import Case
from netmdt.cli import app
from netmdt.engine.assess import assess, assess_summary, summarize
from netmdt.kb import KnowledgeBase
from netmdt.trials.local import localised
from netmdt.trials.match import Local

ON = date(2026, 11, 27)
HERE = Local(centre=("Royal Free Hospital",))


def case(ki67: float | None, **extra: Any) -> Case:
    tumour: dict[str, Any] = {"type": "net", "primary_site": "pancreas"}
    if ki67 is not None:
        tumour["ki67_percent"] = ki67
    data: dict[str, Any] = {
        "assessed_on": ON,
        "age_years": 60,
        "tumour": tumour,
        "disease": {"progression": "progressive"},
        "performance": {"ecog": 1},
        "history": {"prior_treatments": [{"therapy": "ssa_long_acting", "outcome": "progression"}]},
        **extra,
    }
    return Case.model_validate(data)


def trial_option(kb: KnowledgeBase, c: Case) -> tuple[str, str, list[str]]:
    o = assess(c, kb).option("clinical_trial")
    reason = next(r for r in o.reasons if r.criterion == "open_trial_here")
    return o.verdict, reason.status, [w for w in o.warnings if w.startswith("Eligible for")]


def test_an_eligible_trial_open_here_recommends_clinical_trial(trial_kb: KnowledgeBase) -> None:
    kb = localised(trial_kb, HERE)
    assert trial_option(kb, case(30)) == (
        "recommended",
        "met",
        [
            "Eligible for a trial open at our centre: T-COMPOSE (arm edotreotide), "
            "T-COMPOSE (arm standard_of_care)."
        ],
    )


def test_without_a_trial_open_here_it_stays_consider(trial_kb: KnowledgeBase) -> None:
    assert trial_option(trial_kb, case(30)) == ("consider", "unmet", [])  # open, not here
    kb = localised(trial_kb, HERE)
    assert trial_option(kb, case(60)) == ("consider", "unmet", [])  # not eligible


def test_a_possibly_eligible_trial_here_leaves_it_open(trial_kb: KnowledgeBase) -> None:
    kb = localised(trial_kb, HERE)
    assert trial_option(kb, case(None)) == ("consider", "unknown", [])


def test_requirements_still_decide_first(trial_kb: KnowledgeBase) -> None:
    kb = localised(trial_kb, HERE)
    c = case(30, performance={"ecog": 3})
    assert trial_option(kb, c)[0] == "not_recommended"


def test_the_summary_view_agrees(trial_kb: KnowledgeBase) -> None:
    kb = localised(trial_kb, HERE)
    for c in (case(30), case(None), case(60)):
        assert assess_summary(c, kb) == summarize(assess(c, kb))


@pytest.mark.parametrize("view", ["full", "summary"])
def test_assess_with_the_centres_database_opens_the_trials_the_web_app_opens(
    trial_kb_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    """``netmdt assess --db`` reads the trials open at our centre from the settings the web
    app reads (NETMDT_TRIALS_CENTRE, NETMDT_TRIALS_OPEN_HERE), so the two agree on
    ``clinical_trial``; without --db the knowledge base opens none here."""
    path = tmp_path / "case.json"
    path.write_text(case(30).model_dump_json(exclude_none=True))
    url = f"sqlite:///{tmp_path / 'centre.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["registry", "status", "--db", url]).exit_code == 0  # creates it

    def verdict(*extra: str) -> str:
        args = ["assess", str(path), "--kb", str(trial_kb_path), "-f", "json", "--view", view]
        r = runner.invoke(app, [*args, *extra])
        assert r.exit_code == 0, r.output
        options = json.loads(r.stdout)["options"]
        found: str = next(o["verdict"] for o in options if o["option"] == "clinical_trial")
        return found

    assert (verdict("--db", url), verdict()) == ("consider", "consider")
    monkeypatch.setenv("NETMDT_TRIALS_CENTRE", "Royal Free Hospital")
    assert (verdict("--db", url), verdict()) == ("recommended", "consider")
    monkeypatch.delenv("NETMDT_TRIALS_CENTRE")
    monkeypatch.setenv("NETMDT_TRIALS_OPEN_HERE", "t_compose")
    assert verdict("--db", url) == "recommended"


def test_reference_and_generated_engines_agree(
    trial_kb: KnowledgeBase, trial_kb_reference: KnowledgeBase
) -> None:
    for c in (case(30), case(None), case(60)):
        got = assess(c, localised(trial_kb, HERE)).model_dump()
        ref = assess(c, localised(trial_kb_reference, HERE)).model_dump()
        got["knowledge_base"].pop("fingerprint")
        ref["knowledge_base"].pop("fingerprint")
        assert got == ref


def test_the_cds_card_names_the_possible_trials(trial_kb: KnowledgeBase) -> None:
    from netmdt.cdshooks.cards import possible_trials

    kb = localised(trial_kb, HERE)
    a = assess(case(None), kb)
    # the test cards, and whichever shipped cards this case could join (open, not excluded)
    shipped = [
        m.acronym
        for m in a.trials
        if m.open and m.verdict != "not_eligible" and not m.trial.startswith("t_")
    ]
    assert possible_trials(a) == [
        "**Possible trials.** T-COMPOSE (open here), "
        + ", ".join(sorted([*shipped, "T-ABROAD"]))
        + ": see the trials panel."
    ]
    assert possible_trials(assess(case(60, sex="male"), kb)) == []
