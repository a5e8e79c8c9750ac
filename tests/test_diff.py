"""netmdt kb diff: criteria changes, and whose verdicts change over a cohort."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import yaml
from typer.testing import CliRunner

from netmdt import KnowledgeBase, assess, load_kb, parse_case
from netmdt.cli import app
from netmdt.cohort.diff import Change, cohort_changes, criteria_changes
from netmdt.kb import default_kb_path

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


def raised_renal_threshold(tmp_path: Path) -> Path:
    root = tmp_path / "new"
    shutil.copytree(default_kb_path(), root)
    path = root / "options/prrt_lu177_dotatate.yaml"
    data = yaml.safe_load(path.read_text())
    for group in ("requirements", "before_treatment"):
        for c in data.get(group) or []:
            if c["id"] == "renal_ge_40":
                c["when"] = "derived.renal_ml_min >= 45"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return root


def test_a_changed_threshold_is_reported_and_its_cases_found(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    new = load_kb(raised_renal_threshold(tmp_path))
    assert criteria_changes(kb, new) == [
        Change(
            "prrt_lu177_dotatate",
            "renal_ge_40",
            "changed",
            "when: 'derived.renal_ml_min >= 40' -> 'derived.renal_ml_min >= 45'",
        )
    ]
    cohort = tmp_path / "cohort.jsonl"
    cases = [{**yaml.safe_load(p.read_text())["case"], "id": p.stem} for p in SCENARIOS]
    cohort.write_text("".join(json.dumps(c, default=str) + "\n" for c in cases))
    out = tmp_path / "changed.csv"
    result = cohort_changes(kb, new, cohort, date(2026, 11, 27), out)
    expected: dict[tuple[str, str, str], int] = {}
    for data in cases:
        case = parse_case(data)
        for a, b in zip(assess(case, kb).options, assess(case, new).options, strict=True):
            if (a.verdict, a.funding.pathway) != (b.verdict, b.funding.pathway):
                key = (a.option, a.verdict, b.verdict)
                expected[key] = expected.get(key, 0) + 1
    assert expected, "the scenarios include renal function between 40 and 45 mL/min"
    assert result.counts == expected
    assert out.read_text().splitlines()[0] == (
        "case_id,option,old_verdict,new_verdict,old_funding_pathway,new_funding_pathway"
    )


def test_kb_diff_command(tmp_path: Path) -> None:
    new = raised_renal_threshold(tmp_path)
    result = CliRunner().invoke(app, ["kb", "diff", str(default_kb_path()), str(new)])
    assert result.exit_code == 0, result.output
    assert "1 change(s) to criteria and funding" in result.stdout
    assert "renal_ge_40" in result.stdout
