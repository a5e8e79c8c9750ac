"""Public scenario files: a case and what netmdt must say about it, each expectation cited.

Also the golden files: the full assessment of every scenario and example, kept as JSON
and refreshed with ``pytest --update-golden`` (then review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmdt import KnowledgeBase, assess, load_case, parse_case

HERE = Path(__file__).parent
SCENARIOS = sorted((HERE / "scenarios").glob("*.yaml"))
EXAMPLES = sorted((HERE.parent / "src/netmdt/examples").glob("*.yaml"))
EXPECT_KEYS = {"verdict", "funding", "registry_status", "missing", "cite", "sources"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) == {"title", "case", "expect"}, f"{path.name}: keys {sorted(data)}"
    return data


def test_there_are_enough_scenarios_covering_every_option(kb: KnowledgeBase) -> None:
    assert len(SCENARIOS) >= 50
    covered = {option for p in SCENARIOS for option in load(p)["expect"]}
    assert covered == set(kb.options)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, kb: KnowledgeBase) -> None:
    scenario = load(path)
    assessment = assess(parse_case(scenario["case"]), kb)
    expected: dict[str, dict[str, Any]] = {}
    actual: dict[str, dict[str, Any]] = {}
    for option, expect in scenario["expect"].items():
        assert set(expect) <= EXPECT_KEYS and {"verdict", "cite", "sources"} <= set(expect), (
            f"{path.name}: {option}: keys {sorted(expect)}"
        )
        assert set(expect["sources"]) <= set(kb.sources), f"{option}: unknown source"
        got = assessment.option(option)
        observed = {
            "verdict": got.verdict,
            "funding": got.funding.pathway,
            "registry_status": got.funding.registry_status,
            "missing": sorted(m.field for m in got.missing),
        }
        wanted = {k: v for k, v in expect.items() if k not in ("cite", "sources")}
        if "missing" in wanted:
            wanted["missing"] = sorted(wanted["missing"])
        expected[option] = wanted
        actual[option] = {k: observed[k] for k in wanted}
    assert actual == expected


GOLDEN_SCENARIOS = [p for p in SCENARIOS if p.stem.split("-")[1] in ("01", "02", "03")]


def golden_cases() -> list[tuple[str, Any]]:
    """The examples and the first three scenarios of each group, as full assessments."""
    found = [(p.stem, load_case(p)) for p in EXAMPLES]
    found += [(p.stem, parse_case(load(p)["case"])) for p in GOLDEN_SCENARIOS]
    return found


@pytest.mark.parametrize(("name", "case"), golden_cases(), ids=[n for n, _ in golden_cases()])
def test_golden_assessment(name: str, case: Any, kb: KnowledgeBase, update_golden: bool) -> None:
    path = HERE / "golden" / f"{name}.json"
    current = json.loads(assess(case, kb).model_dump_json())
    if update_golden:
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file for {name}: run pytest --update-golden"
    assert current == json.loads(path.read_text(encoding="utf-8"))
