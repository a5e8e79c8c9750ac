"""The netmdt command: formats, stdin, exit codes, and errors without tracebacks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import netmdt
from netmdt import KnowledgeBase
from netmdt.cli import app

EXAMPLE = str(Path(netmdt.__file__).parent / "examples/si-net-liver-metastases.yaml")
runner = CliRunner()


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def test_assess_text_groups_by_verdict_in_words(kb: KnowledgeBase) -> None:
    result = run("assess", EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "Case example-si-net assessed on 2026-11-27" in result.stdout
    assert f"knowledge base {kb.version} ({kb.fingerprint})" in result.stdout
    for heading in ("RECOMMENDED (", "NOT RECOMMENDED ("):
        assert heading in result.stdout


def test_assess_text_says_subject_to_the_pending_checks(tmp_path: Path) -> None:
    import yaml

    from netmdt.cli import _why
    from tests.kbfixture import before_treatment_kb, before_treatment_root

    data = yaml.safe_load(Path(EXAMPLE).read_text())
    data["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump(data))
    o = netmdt.assess(netmdt.load_case(case), before_treatment_kb()).option("prrt_lu177_dotatate")
    labels = ", ".join(dict.fromkeys(p.label for p in o.pending_checks))
    assert "Platelets" in labels and "ALT" in labels
    assert _why(o, explain=False) == f"Recommended, subject to: {labels}"
    result = runner.invoke(
        app,
        ["assess", str(case), "--kb", str(before_treatment_root())],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 0, result.output
    assert f"Recommended, subject to: {labels}" in result.stdout


def test_assess_json_is_the_assessment(kb: KnowledgeBase) -> None:
    result = run("assess", EXAMPLE, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data == json.loads(netmdt.assess(netmdt.load_case(EXAMPLE), kb).model_dump_json())


def test_assess_many_files_and_stdin_give_json_lines(tmp_path: Path) -> None:
    lines = '{"id": "a", "assessed_on": "2026-11-27"}\n\n{"id": "b", "assessed_on": "2026-11-27"}\n'
    result = run("assess", "-", stdin=lines)
    assert result.exit_code == 0
    assert [json.loads(x)["case_id"] for x in result.stdout.splitlines()] == ["a", "b"]
    both = run("assess", EXAMPLE, EXAMPLE)
    assert [json.loads(x)["case_id"] for x in both.stdout.splitlines()] == ["example-si-net"] * 2


def test_explain_lists_every_criterion_with_sources() -> None:
    result = runner.invoke(app, ["assess", EXAMPLE, "--explain"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert "MET: " in result.stdout and "; Caplin et al CLARINET 2014;" in result.stdout
    assert "clarinet_caplin_2014" not in result.stdout  # ids only in JSON (issue #11)
    assert (
        "Missing: Tumour burden that can be removed (%, surgeon's estimate) — ask the surgeon"
        in result.stdout
    )
    assert "NHS-commissioned" in result.stdout and "nhs commissioned" not in result.stdout
    assert "Trials (every criterion" in result.stdout
    assert "  - Inclusion met: Aged 18 or over (www.mayo.edu)\n" in result.stdout
    assert "clarinet_caplin_2014" in run("assess", EXAMPLE, "--format", "json").stdout


@pytest.mark.parametrize(
    ("content", "stderr"),
    [
        (
            "tumour: {ki67_percent: 120}\n",
            "tumour.ki67_percent: Input should be less than or equal to 100 (got 120)",
        ),
        ("tumour: {kI67_percent: 5}\n", "did you mean 'ki67_percent'?"),
        ("a: [1,\n", "not valid YAML or JSON"),
    ],
)
def test_bad_input_exits_2_with_the_problem_on_stderr_and_nothing_on_stdout(
    tmp_path: Path, content: str, stderr: str
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(content)
    result = run("assess", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert stderr in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_stdin_line_names_the_line_and_prints_nothing() -> None:
    result = run("assess", "-", stdin='{"id": "a"}\n{"age_years": "old"}\n')
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.strip() == (
        "<stdin>:2: age_years: Input should be a valid integer (got 'old')"
    )


def test_missing_file_exits_2() -> None:
    result = run("assess", "/nonexistent/case.yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert "cannot read case file" in result.stderr


def test_kb_check_is_clean_and_lists_review_flags(kb: KnowledgeBase) -> None:
    result = run("kb", "check", "--review")
    assert result.exit_code == 0
    flagged = [c for o in kb.options.values() for c in o.criteria if c.review]
    assert result.stdout.count("review needed: ") == len(flagged)
    assert result.stdout.splitlines()[-1].startswith(f"ok: knowledge base {kb.version}")


def test_kb_show_and_unknown_option(kb: KnowledgeBase) -> None:
    shown = run("kb", "show", "prrt_lu177_dotatate")
    assert shown.exit_code == 0
    for c in kb.options["prrt_lu177_dotatate"].criteria:
        assert f"  {c.id}: " in shown.stdout
    unknown = run("kb", "show", "aspirin")
    assert unknown.exit_code == 2 and "unknown option 'aspirin'" in unknown.stderr


def test_kb_export_writes_one_decision_table_per_option(tmp_path: Path, kb: KnowledgeBase) -> None:
    result = run("kb", "export", "--format", "csv", str(tmp_path))
    assert result.exit_code == 0
    assert sorted(p.stem for p in tmp_path.glob("*.csv")) == sorted(kb.options)
    with (tmp_path / "everolimus.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["criterion"] for r in rows] == [c.id for c in kb.options["everolimus"].criteria]
    assert run("kb", "export", "--format", "xlsx", str(tmp_path)).exit_code == 2


def test_public_api_is_sorted_and_complete() -> None:
    assert netmdt.__all__ == sorted(netmdt.__all__)
    for name in ("Case", "assess", "load_case", "load_kb"):
        assert name in netmdt.__all__ and getattr(netmdt, name)


def test_kb_show_and_export_give_the_group_reason(tmp_path: Path) -> None:
    from tests.kbfixture import before_treatment_kb, before_treatment_root

    root = str(before_treatment_root())
    checks = before_treatment_kb().options["prrt_lu177_dotatate"].groups["before_treatment"]
    assert checks and all(c.group_reason for c in checks)
    result = runner.invoke(
        app, ["kb", "show", "prrt_lu177_dotatate", "--kb", root], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 0, result.output
    assert "\nbefore_treatment\n" in result.stdout
    for c in checks:
        assert f"why in before_treatment: {c.group_reason}" in result.stdout
    assert run("kb", "export", str(tmp_path), "--kb", root).exit_code == 0
    with (tmp_path / "prrt_lu177_dotatate.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["group"] == "before_treatment"]
    assert [(r["criterion"], r["group_reason"]) for r in rows] == [
        (c.id, c.group_reason) for c in checks
    ]


def test_an_open_verdict_lists_its_pending_checks_as_also_to_check() -> None:
    from netmdt.cli import _why
    from tests.kbfixture import before_treatment_kb

    case = netmdt.load_case(EXAMPLE).model_dump(exclude_none=True)
    case["labs"] = {"egfr_ml_min": 78, "date": "2026-11-20"}
    case["imaging"].pop("sstr")  # PRRT cannot be judged yet
    o = netmdt.assess(netmdt.parse_case(case), before_treatment_kb()).option("prrt_lu177_dotatate")
    assert o.verdict == "insufficient_information" and o.pending_checks
    assert _why(o, explain=False).splitlines()[-1] == "Before treatment, also check: " + ", ".join(
        dict.fromkeys(p.label for p in o.pending_checks)
    )
