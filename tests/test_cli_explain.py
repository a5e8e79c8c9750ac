"""``netmdt assess --explain`` reads as words: no internal code or field path (issue #11).

Every scenario, example and demo case is assessed and rendered as the CLI's text; the
output must carry no snake_case code and no dotted field path (the ids stay in
``--format json``)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

import netmdt
from netmdt import KnowledgeBase, assess, parse_case
from netmdt import cli as cli_module
from netmdt.assessment import Assessment

HERE = Path(__file__).parent
PACKAGE = Path(netmdt.__file__).parent
CASES = [
    *sorted((HERE / "scenarios").glob("*.yaml")),
    *sorted(p for p in (PACKAGE / "examples").rglob("*.yaml") if p.name != "patients.yaml"),
]
SNAKE = re.compile(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b")
FIELD_ROOTS = "tumour|disease|imaging|labs|performance|history|context|sex|age_years"
DOTTED = re.compile(rf"\b(?:{FIELD_ROOTS})\.[a-z_0-9]+\b")


def codes_in(text: str) -> list[str]:
    return sorted(set(SNAKE.findall(text)) | set(DOTTED.findall(text)))


def explain_text(a: Assessment, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> str:
    buffer = io.StringIO()
    monkeypatch.setattr(cli_module, "out", Console(file=buffer, width=110, color_system=None))
    cli_module._print_text(a, explain=True, kb=kb)
    return buffer.getvalue()


def _case(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    case: dict[str, Any] = data["case"] if "expect" in data else data
    return case


def test_the_pattern_finds_codes() -> None:
    assert codes_in("Missing: disease.debulkable_percent (seed_page, abell_2015)") == [
        "abell_2015",
        "debulkable_percent",
        "disease.debulkable_percent",
        "seed_page",
    ]
    assert codes_in("Missing: Ki-67 index — ask pathology (Abell et al. 2015)") == []


def test_no_code_in_the_explain_text_of_any_case(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    found: dict[str, list[str]] = {}
    for path in CASES:
        codes = codes_in(explain_text(assess(parse_case(_case(path)), kb), kb, monkeypatch))
        if codes:
            found[path.name] = codes
    assert found == {}, "\n".join(f"{name}: {', '.join(c)}" for name, c in found.items())


def test_trial_criteria_carry_the_centres_review(kb: KnowledgeBase) -> None:
    from datetime import date

    from netmdt import load_case
    from netmdt.assessment import CentreReview
    from netmdt.cli_text import trial_lines

    a = assess(load_case(PACKAGE / "examples/si-net-liver-metastases.yaml"), kb)
    m = next(t for t in a.trials if t.trial == "carefndr")
    reviews = [
        CentreReview(status="approved", by="Dr Lead", on=date(2026, 11, 30), verdict="approved"),
        CentreReview(status="awaiting"),
        CentreReview(status="awaiting"),
    ]
    governed = m.model_copy(
        update={
            "reasons": [
                r.model_copy(update={"review": v}) for r, v in zip(m.reasons, reviews, strict=True)
            ]
        }
    )
    assert trial_lines(governed, None)[:4] == [
        "CAREFNDR: ELIGIBLE [open; recruiting (verified 2025-07)]",
        "  - Inclusion met: Aged 18 or over (www.mayo.edu) "
        "(reviewed at this centre by Dr Lead, 2026-11-30)",
        "  - Inclusion met: Carcinoid syndrome needing medical treatment (www.mayo.edu) "
        "(awaiting review)",
        "  - Inclusion met: Well-differentiated NET, grade 1 or 2 (www.enets.org) "
        "(awaiting review)",
    ]


def test_the_summary_text_names_no_code_either() -> None:
    from typer.testing import CliRunner

    from netmdt.cli import app

    example = str(PACKAGE / "examples/si-net-liver-metastases.yaml")
    result = CliRunner().invoke(app, ["assess", example, "--view", "summary"])
    assert result.exit_code == 0, result.output
    assert codes_in(result.stdout) == []
    assert (
        "missing: Tumour burden that can be removed (%, surgeon's estimate) — ask the surgeon"
        in (result.stdout)
    )
