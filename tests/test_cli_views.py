"""``netmdt assess --view summary``: JSON, JSON lines (files and stdin) and text."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from netmdt import KnowledgeBase, load_case
from netmdt.cli import app
from netmdt.engine.assess import assess_summary

EXAMPLE = Path(__file__).parent.parent / "src/netmdt/examples/si-net-liver-metastases.yaml"
runner = CliRunner()


def test_summary_json_is_the_summary_view(kb: KnowledgeBase) -> None:
    r = runner.invoke(app, ["assess", str(EXAMPLE), "--view", "summary", "-f", "json"])
    assert r.exit_code == 0, r.output
    expected = assess_summary(load_case(EXAMPLE), kb)
    assert json.loads(r.stdout) == json.loads(expected.to_json())


def test_summary_json_lines_from_files_and_stdin(kb: KnowledgeBase) -> None:
    expected = json.loads(assess_summary(load_case(EXAMPLE), kb).to_json())
    files = runner.invoke(app, ["assess", str(EXAMPLE), str(EXAMPLE), "--view", "summary"])
    assert files.exit_code == 0, files.output
    assert [json.loads(line) for line in files.stdout.splitlines()] == [expected, expected]
    line = json.dumps(load_case(EXAMPLE).model_dump(mode="json", exclude_none=True))
    stdin = runner.invoke(app, ["assess", "-", "--view", "summary"], input=line + "\n")
    assert stdin.exit_code == 0, stdin.output
    (got,) = [json.loads(x) for x in stdin.stdout.splitlines()]
    assert got == expected


def test_summary_text_names_each_option_with_its_deciding_reason(kb: KnowledgeBase) -> None:
    r = runner.invoke(app, ["assess", str(EXAMPLE), "--view", "summary"])
    assert r.exit_code == 0, r.output
    summary = assess_summary(load_case(EXAMPLE), kb)
    for o in summary.options:
        assert kb.options[o.option].name in r.stdout
    debulking = summary.option("surgery_debulking")
    assert debulking.deciding is not None
    assert f"{debulking.deciding.status.upper()}: {debulking.deciding.text}" in r.stdout


def test_summary_does_not_go_with_fhir_or_explain() -> None:
    for extra in (["-f", "fhir"], ["--explain"]):
        r = runner.invoke(app, ["assess", str(EXAMPLE), "--view", "summary", *extra])
        assert r.exit_code == 2
        assert "--view summary goes with --format text, json or jsonl" in r.output
