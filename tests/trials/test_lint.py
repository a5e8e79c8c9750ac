"""The card linter in ``netmdt kb check`` (docs/trials.md, "What kb check checks")."""

from __future__ import annotations

from pathlib import Path

import yaml

from netmdt.kb import check_kb
from netmdt.trials.load import normalise, split_bullets, unescape
from tests.trials.conftest import CARDS, kb_folder


def _problems(tmp_path: Path, edit: dict[str, object], card: str = "t_compose") -> list[str]:
    root = kb_folder(tmp_path)
    data = yaml.safe_load((CARDS / f"{card}.yaml").read_text())
    for dotted, value in edit.items():
        node = data
        *path, last = dotted.split(".")
        for key in path:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is None and isinstance(node, dict):
            node.pop(last, None)
        else:
            node[last] = value
    (root / "trials" / f"{card}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    _, problems = check_kb(root)
    return [f"{p.where}: {p.message} [{p.code}]" for p in problems]


def test_the_bundled_cards_and_the_test_cards_are_clean(tmp_path: Path) -> None:
    kb, problems = check_kb(kb_folder(tmp_path))
    assert problems == []
    assert kb is not None and {"t_compose", "t_soon", "t_abroad", "radiant2"} <= set(kb.trials)


def test_an_unaccounted_bullet_fails(tmp_path: Path) -> None:
    text = "* Ki-67 index of 15-55%\n* Prior PRRT\n* Adequate bone marrow function\n"
    got = _problems(tmp_path, {"eligibility.registry_text": text})
    assert got == [
        "trials/t_compose.yaml.eligibility.registry_text: bullet not accounted for (quote it "
        "in a criterion or a manual_check): 'Adequate bone marrow function' [unaccounted_bullet]"
    ]


def test_expression_reads_arm_and_source_problems_are_all_collected(tmp_path: Path) -> None:
    crit = "eligibility.criteria.0"
    got = _problems(
        tmp_path,
        {
            f"{crit}.when": "tumour.ki67 >= 15",
            "eligibility.criteria.1.reads": ["tumour.type"],
            "eligibility.criteria.2.arms": ["nonexistent"],
            "eligibility.criteria.1.sources": ["no_such_source"],
        },
    )
    assert len(got) == 4, got
    assert got[0].startswith(
        "trials/t_compose.yaml.eligibility.criteria[0](ki67_15_to_55).when: unknown field "
        "'tumour.ki67'"
    )
    assert got[1:] == [
        "trials/t_compose.yaml.eligibility.criteria[1](prior_prrt).sources: undefined source "
        "'no_such_source' [undefined_source]",
        "trials/t_compose.yaml.eligibility.criteria[1](prior_prrt).reads: declared "
        "['tumour.type'] but the expression reads ['history.prior_treatments'] [reads]",
        "trials/t_compose.yaml.eligibility.criteria[2](everolimus_naive).arms: no arm "
        "'nonexistent' (arms: edotreotide, standard_of_care) [unknown_arm]",
    ]


def test_schema_problems_name_the_key(tmp_path: Path) -> None:
    got = _problems(
        tmp_path,
        {
            "overall_status": "open",
            "registry_ids": {"nct": "12345"},
            "eligibility.criteria.0.kind": "include",
            "statuss": "x",
        },
    )
    assert [g.split(": ")[0] for g in got] == [
        "trials/t_compose.yaml.registry_ids",
        "trials/t_compose.yaml.overall_status",
        "trials/t_compose.yaml.eligibility.criteria.0.kind",
        "trials/t_compose.yaml.statuss",
    ]
    assert got[-1].endswith("unknown key [schema]")


def test_a_historical_card_must_be_closed_and_ids_match_files(tmp_path: Path) -> None:
    got = _problems(tmp_path, {"historical": True, "id": "other"})
    assert got == [
        "trials/t_compose.yaml.id: id 'other' differs from the file name [invalid]",
        "trials/t_compose.yaml.overall_status: a historical card must be closed, not "
        "'recruiting' [historical]",
        "trials/t_compose.yaml.sites[0].status: a historical card has no open site [invalid]",
        "trials/t_compose.yaml.sites[1].status: a historical card has no open site [invalid]",
        "trials/t_compose.yaml.sites[2].status: a historical card has no open site [invalid]",
    ]


def test_s_evidence_needs_review_and_two_valued_tests_are_refused(tmp_path: Path) -> None:
    got = _problems(
        tmp_path,
        {
            "eligibility.criteria.0.evidence": "S",
            "eligibility.criteria.1.when": "history.prior_treatments is known",
        },
    )
    assert [g.rsplit("[", 1)[1] for g in got] == ["review]", "two_valued]"]


def test_bullets_unescape_drop_headers_and_join_continuations() -> None:
    text = (
        "Inclusion Criteria:\n\n"
        "* Temperature \\<38°C\n"
        "* Ki-67 \\*central\\* review\n"
        "  continued on the next line\n"
        "1. Numbered item\n"
        "Exclusion Criteria:\n"
        "  - Prior PRRT\n"
        "a line without a marker\n"
    )
    assert split_bullets(text) == [
        "Temperature <38°C",
        "Ki-67 *central* review continued on the next line",
        "Numbered item",
        "Prior PRRT",
        "a line without a marker",
    ]
    assert unescape("\\<38°C") == "<38°C"
    assert normalise("  a \\*  b ") == "a * b"


def test_criteria_without_headers_are_bullets_too() -> None:
    assert split_bullets("Age 18 or over\nECOG 0-1\n") == ["Age 18 or over", "ECOG 0-1"]
