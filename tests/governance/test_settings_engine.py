"""Local settings in the rule language: declared, validated, compiled into the engine and
into SQL alike (the cohort screen honours them), and checked by ``kb check``."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from netmdt import KnowledgeBase, assess, parse_case
from netmdt.cohort.screen import screen
from netmdt.errors import KnowledgeBaseError
from netmdt.kb import check_kb, default_kb_path, load_kb
from tests.differential import assert_rows_match_the_engine

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
DAY = date(2026, 11, 27)
AGES = (50, 55, 58, 60, 61)
LOCAL = {"max_ablation_lesions": 3, "transplant_max_age": 55}


def _liver_case() -> dict[str, Any]:
    data = yaml.safe_load(
        (
            SCENARIOS[0].parent / "liver-01-si-net-uncontrolled-syndrome-liver-dominant.yaml"
        ).read_text()
    )
    return dict(data["case"])


def cohort() -> list[dict[str, Any]]:
    """The scenarios, plus liver cases on each side of the lesion-count and age limits."""
    cases = [{**yaml.safe_load(p.read_text())["case"], "id": p.stem} for p in SCENARIOS]
    base = _liver_case()
    for count in range(1, 7):
        for age in AGES:
            c = copy.deepcopy(base)
            c["id"] = f"built-{count}-{age}"
            c["age_years"] = age
            c["disease"]["liver_metastases"]["count"] = count
            c["disease"]["liver_metastases"]["largest_cm"] = 2
            cases.append(c)
    return cases


def test_a_local_value_is_a_constant_of_the_rules_and_shows_in_the_text() -> None:
    kb = load_kb(settings=LOCAL)
    few = {c.id: c for c in kb.options["thermal_ablation"].criteria}["few_lesions"]
    age = {c.id: c for c in kb.options["liver_transplant"].criteria}["age_le_60"]
    assert (few.text, few.expr.describe(), few.expr.sql("duckdb")) == (
        "At most 3 (local setting) liver metastases (configurable default)",
        "Number of liver metastases is at most 3 (local setting)",
        "(disease__liver_metastases__count <= 3)",
    )
    assert age.text == "Age 55 (local setting) or under (later Milan practice)"
    assert [few.evaluate({"disease.liver_metastases.count": n}) for n in (3, 4, None)] == [
        True,
        False,
        None,
    ]
    assert kb.settings == LOCAL
    assert kb.content_fingerprint == load_kb().fingerprint != kb.fingerprint


def test_default_settings_give_the_very_same_knowledge_base() -> None:
    bundled = load_kb()
    assert load_kb(settings={"max_ablation_lesions": 5}) is bundled
    few = {c.id: c for c in bundled.options["thermal_ablation"].criteria}["few_lesions"]
    assert few.text == "At most 5 liver metastases (configurable default)"
    assert (bundled.sstr_imaging_months, bundled.labs_weeks) == (6, 4)
    assert bundled.fingerprint == bundled.content_fingerprint


@pytest.mark.parametrize(
    ("settings", "problems"),
    [
        (
            {"max_ablation_lesions": 7},
            ["settings.max_ablation_lesions: 7 is above the maximum 5 liver metastases"],
        ),
        (
            {"max_ablation_lesions": 2.5},
            ["settings.max_ablation_lesions: must be a whole number, not 2.5"],
        ),
        (
            {"transplant_max_age": 58},
            ["settings.transplant_max_age: 58 is not allowed; allowed: 55 or 60 years"],
        ),
        ({"labs_max_weeks": 1}, ["settings.labs_max_weeks: 1 is below the minimum 2 weeks"]),
        ({"no_such": 1}, ["settings.no_such: not a declared parameter"]),
    ],
)
def test_a_value_outside_the_allowed_range_is_refused(
    settings: dict[str, float], problems: list[str]
) -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(settings=settings)
    assert [str(p) for p in info.value.problems] == problems


def test_the_engine_and_the_cohort_screen_agree_under_local_settings(tmp_path: Path) -> None:
    cases = cohort()
    source = tmp_path / "cohort.jsonl"
    source.write_text("".join(json.dumps(c, default=str) + "\n" for c in cases))
    parsed = [parse_case(c) for c in cases]
    verdicts: dict[str, dict[tuple[str, str], str]] = {}
    for name, kb in (("default", load_kb()), ("local", load_kb(settings=LOCAL))):
        out = tmp_path / f"{name}.parquet"
        screen(kb, source, out, DAY)
        rows = duckdb.sql(
            "SELECT case_id, option, verdict, funding_pathway, registry_status, missing, "
            f"pending_checks FROM '{out}'"
        ).fetchall()
        assert_rows_match_the_engine([_pending_fields(r) for r in rows], parsed, kb)
        verdicts[name] = {(r[0], r[1]): r[2] for r in rows}
    moved = {
        k: (verdicts["default"][k], verdicts["local"][k])
        for k in verdicts["default"]
        if verdicts["default"][k] != verdicts["local"][k]
    }
    # the settings move exactly the ablation verdicts of the cases with 4 or 5 liver
    # metastases (the transplant age is a recommend_when criterion of an option capped at
    # consider: it changes the reasons, not the verdict); nothing else
    counts = {c["id"]: c.get("disease", {}).get("liver_metastases", {}).get("count") for c in cases}
    built = [(f"built-{n}-{age}", "thermal_ablation") for n in (4, 5) for age in AGES]
    assert sorted(k for k in moved if k[0].startswith("built-")) == sorted(built)
    assert {k[1] for k in moved} == {"thermal_ablation"}
    assert {counts[k[0]] for k in moved} == {4, 5}
    assert set(moved.values()) == {("consider", "not_recommended")}


def _pending_fields(row: tuple[Any, ...]) -> tuple[Any, ...]:
    pending = row[6] or []
    fields = [p["field"] if isinstance(p, dict) else p for p in pending]
    return (*row[:6], list(dict.fromkeys(fields)))


def test_an_assessment_under_local_settings_uses_them(kb: KnowledgeBase) -> None:
    case = parse_case({**_liver_case(), "id": "x", "age_years": 58})
    local = assess(case, load_kb(settings={"labs_max_weeks": 2, "max_ablation_lesions": 3}))
    default = assess(case, load_kb())
    assert default.model_dump() == assess(case, kb).model_dump()
    assert [w for w in local.warnings if "Blood results" in w] == []  # labs 1 week old
    few = [r for r in local.option("thermal_ablation").reasons if r.criterion == "few_lesions"]
    assert few[0].text.startswith("At most 3 (local setting)")


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(default_kb_path(), root)
    return root


def test_kb_check_wants_parameters_declared_used_and_shown(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    params = yaml.safe_load((root / "parameters.yaml").read_text())
    params.append({**copy.deepcopy(params[0]), "id": "never_read"})
    (root / "parameters.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    option = root / "options" / "thermal_ablation.yaml"
    text = option.read_text()
    text = text.replace(
        "At most {max_ablation_lesions} liver metastases", "At most five liver metastases"
    )
    text = text.replace(
        "disease.liver_metastases.largest_cm <= 5",
        "disease.liver_metastases.largest_cm <= param(max_lesion_cm)",
    )
    option.write_text(text)
    _, problems = check_kb(root)
    assert [(p.where, p.message, p.code) for p in problems] == [
        (
            "options/thermal_ablation.yaml.requirements[0](few_lesions).text",
            "the rule reads param(max_ablation_lesions) but the text does not show it "
            "({max_ablation_lesions})",
            "parameter",
        ),
        (
            "options/thermal_ablation.yaml.requirements[1](small_lesions).when",
            "undeclared parameter 'max_lesion_cm' (parameters.yaml) (at column 46)",
            "expression",
        ),
        ("parameters.yaml.never_read", "declared but never used", "unused_parameter"),
    ]
