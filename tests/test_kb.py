"""The knowledge base: the bundled one is clean, and the linter finds every kind of problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from netmdt import KnowledgeBase, KnowledgeBaseError, load_kb
from netmdt.case.history import OptionId
from netmdt.kb import check_kb, default_kb_path
from netmdt.kb.load import fingerprint


def test_bundled_kb_is_clean_and_has_every_option(kb: KnowledgeBase) -> None:
    assert list(kb.options) == list(OptionId.__args__)
    assert check_kb()[1] == []


def test_every_criterion_cites_a_source_and_flags_weak_evidence(kb: KnowledgeBase) -> None:
    for option in kb.options.values():
        for c in option.criteria:
            assert c.sources, f"{option.id}.{c.id}"
            if c.evidence in ("S", "R"):
                assert c.review, f"{option.id}.{c.id}"


def test_every_option_has_patient_text_and_nhs_funding(kb: KnowledgeBase) -> None:
    for option in kb.options.values():
        assert set(option.patient) == {"what_it_is", "what_it_involves", "benefits", "harms"}
        assert all(len(t) > 20 for t in option.patient.values()), option.id
        assert option.funding["nhs_england"][-1].expr is None


def test_fingerprint_changes_with_content() -> None:
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(default_kb_path(), root)
    return root


def edit(root: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = root / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems(root: Path) -> list[str]:
    kb, found = check_kb(root)
    assert kb is None
    return [f"{p}  [{p.code}]" for p in found]


def first_requirement(data: dict) -> dict:
    return data["requirements"][0]


def test_linter_collects_every_problem_with_its_location(kb_copy: Path) -> None:
    def break_prrt(d: dict) -> None:
        r = first_requirement(d)
        r["id"] = "type_suitable"
        r["when"] = "tumour.typ == net"
        d["requirements"][1]["id"] = "type_suitable"
        d["requirements"][1]["sources"] = ["no_such_source"]
        d["requirements"][2]["when"] = "labs.egfr_ml_min is unknown"
        d["requirements"][2]["reads"] = ["labs.egfr_ml_min"]
        d["recommend_when"][0]["evidence"] = "R"
        d["recommend_when"][0].pop("review", None)
        d["recommend_when"][0]["colour"] = "red"

    edit(kb_copy, "options/prrt_lu177_dotatate.yaml", break_prrt)
    (kb_copy / "options/sunitinib.yaml").unlink()
    found = problems(kb_copy)
    prrt = "options/prrt_lu177_dotatate.yaml"
    expected_fragments = [
        f"{prrt}.recommend_when[0].colour: unknown key",
        "unknown field 'tumour.typ'; did you mean 'tumour.type'?",
        "undefined source 'no_such_source'",
        "'is known' / 'is unknown' are allowed only in warnings",
        f"{prrt}: duplicate id 'type_suitable'",
        "options/sunitinib.yaml: file is missing",
    ]
    for fragment in expected_fragments:
        assert any(fragment in p for p in found), (fragment, found)


def test_linter_reports_reads_that_differ_and_missing_review(kb_copy: Path) -> None:
    def change(d: dict) -> None:
        first_requirement(d)["reads"] = ["age_years"]
        c = d["recommend_when"][0]
        c["evidence"], c["review"] = "R", None

    edit(kb_copy, "options/everolimus.yaml", change)
    found = problems(kb_copy)
    assert any(".reads: declared ['age_years'] but the expression reads" in p for p in found)
    assert any("evidence R needs 'review: needed'" in p for p in found)


def test_linter_reports_unused_sources_and_unknown_options(kb_copy: Path) -> None:
    edit(
        kb_copy,
        "sources.yaml",
        lambda d: d.append(
            {"id": "orphan_2020", "citation": "Orphan.", "year": 2020, "url": None, "evidence": "R"}
        ),
    )
    (kb_copy / "options/aspirin.yaml").write_text("id: aspirin\n")
    found = problems(kb_copy)
    assert "sources.yaml: source 'orphan_2020' is never cited  [unused_source]" in found
    assert "options/aspirin.yaml: not an option id of the case format  [unknown_option]" in found


def test_load_kb_raises_with_every_problem(kb_copy: Path) -> None:
    (kb_copy / "fields.yaml").write_text("labs.egfr: {label: x, how_to_find_out: y}\n")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(kb_copy)
    messages = [str(p) for p in info.value.problems]
    assert "fields.yaml.labs.egfr: not a case field; did you mean 'labs.egfr_ml_min'?" in messages
    assert "fields.yaml: no entry for case field 'age_years'" in messages


def test_a_missing_folder_is_one_clear_problem(tmp_path: Path) -> None:
    assert [str(p) for p in check_kb(tmp_path / "none")[1]] == [
        f"{tmp_path / 'none'}: no such knowledge-base folder"
    ]


def test_before_treatment_group_and_group_reason_load(kb_copy: Path) -> None:
    from tests.kbfixture import GROUP_REASON, move_lab_requirements

    move_lab_requirements(kb_copy)
    kb = load_kb(kb_copy)
    prrt = kb.options["prrt_lu177_dotatate"]
    assert list(prrt.groups) == [
        "applies_to",
        "contraindications",
        "requirements",
        "recommend_when",
        "before_treatment",
    ]
    moved = {c.id: c.group_reason for c in prrt.groups["before_treatment"]}
    assert {"platelets_ge_75", "alt_le_3", "haemoglobin_ge_80"} <= set(moved)
    # the bundled Lu-177 file already groups its blood tests (each with its own reason);
    # the fixture gives its reason to whatever it moves
    assert all(reason for reason in moved.values())
    assert GROUP_REASON not in moved.values() or set(moved.values()) == {GROUP_REASON}
    assert prrt.criteria[-1].group == "before_treatment"  # procedure order


def test_group_reason_may_not_be_empty(kb_copy: Path) -> None:
    edit(kb_copy, "options/everolimus.yaml", lambda d: d["requirements"][0].update(group_reason=""))
    found = problems(kb_copy)
    assert any("everolimus.yaml.requirements[0].group_reason" in p for p in found), found


def test_group_reason_rule_when_switched_on(kb_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule behind ``REQUIRE_GROUP_REASON``: every criterion says why it sits in its group."""
    from netmdt.kb import load as kb_load

    monkeypatch.setattr(kb_load, "REQUIRE_GROUP_REASON", True)

    def give_all_reasons(d: dict) -> None:
        from netmdt.kb.schema import GROUPS

        for g in GROUPS:
            for c in d.get(g) or []:
                c["group_reason"] = "the MDT needs this to decide"

    for path in sorted((kb_copy / "options").glob("*.yaml")):
        edit(kb_copy, f"options/{path.name}", give_all_reasons)
    edit(kb_copy, "options/everolimus.yaml", lambda d: d["requirements"][0].pop("group_reason"))
    found = problems(kb_copy)
    first = yaml.safe_load((kb_copy / "options/everolimus.yaml").read_text())["requirements"][0]
    assert found == [
        f"options/everolimus.yaml.requirements[0]({first['id']}).group_reason: missing: one "
        "line saying why the criterion sits in this group  [group_reason]"
    ]


def test_group_reason_is_required_and_the_bundled_kb_gives_one_everywhere() -> None:
    from netmdt.kb import load as kb_load

    assert kb_load.REQUIRE_GROUP_REASON
    assert check_kb()[1] == []


def test_only_a_before_treatment_check_says_what_its_failure_means(kb_copy: Path) -> None:
    edit(
        kb_copy,
        "options/everolimus.yaml",
        lambda d: d["requirements"][0].update(if_false="consider"),
    )
    first = yaml.safe_load((kb_copy / "options/everolimus.yaml").read_text())["requirements"][0]
    assert problems(kb_copy) == [
        f"options/everolimus.yaml.requirements[0]({first['id']}).if_false: only "
        "before_treatment criteria say what a false check means  [if_false]"
    ]


def test_a_failed_check_may_contraindicate_or_downgrade(kb: KnowledgeBase) -> None:
    """The Lu-177 pregnancy check contraindicates (SmPC 4.3), the 40-49 mL/min renal band
    downgrades to consider (D18); both are pending checks while unknown."""
    lu = {c.id: c for c in kb.options["prrt_lu177_dotatate"].groups["before_treatment"]}
    assert (lu["pregnancy_excluded"].if_false, lu["not_kidney_failure"].if_false) == (
        "contraindicated",
        "contraindicated",
    )
    assert (lu["renal_ge_50"].if_false, lu["renal_ge_40"].if_false) == (
        "consider",
        "not_recommended",
    )


def test_yaml_anchors_and_aliases_are_refused(kb_copy: Path) -> None:
    """A knowledge-base folder given to ``kb diff`` may come from elsewhere: no aliases."""
    path = kb_copy / "definitions.yaml"
    path.write_text("- &a {id: x}\n- *a\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    first = problems(kb_copy)[0]  # then every use of a definition fails too
    assert first.startswith("definitions.yaml: not valid YAML: YAML anchors and aliases"), first


def test_checks_are_listed_by_what_their_failure_means(kb_copy: Path) -> None:
    """The deciding reason of a verdict is the first failed check: a check that defers
    listed before one that contraindicates would be named as the reason for a
    contraindicated verdict (netmdt.engine.assess._DECIDING). The bundled knowledge base
    keeps the order; moving a deferring Lu-177 check first breaks it."""

    def move_first_deferring_check_to_the_front(d: dict) -> None:
        checks = d["before_treatment"]
        i = next(i for i, c in enumerate(checks) if c.get("if_false") is None)
        checks.insert(0, checks.pop(i))

    edit(kb_copy, "options/prrt_lu177_dotatate.yaml", move_first_deferring_check_to_the_front)
    first = yaml.safe_load((kb_copy / "options/prrt_lu177_dotatate.yaml").read_text())[
        "before_treatment"
    ][0]
    assert problems(kb_copy) == [
        f"options/prrt_lu177_dotatate.yaml.before_treatment[0]({first['id']}).if_false: "
        "not_recommended check listed before pregnancy_excluded (contraindicated): list the "
        "checks that contraindicate first, then those that defer (not_recommended), then "
        "those that downgrade (consider)  [if_false]"
    ]


def test_a_downgrading_check_comes_after_the_deferring_ones(kb_copy: Path) -> None:
    def move_consider_check_to_the_front(d: dict) -> None:
        checks = d["before_treatment"]
        i = next(i for i, c in enumerate(checks) if c.get("if_false") == "consider")
        checks.insert(0, checks.pop(i))

    edit(kb_copy, "options/chemotherapy.yaml", move_consider_check_to_the_front)
    checks = yaml.safe_load((kb_copy / "options/chemotherapy.yaml").read_text())["before_treatment"]
    deferring = next(c for c in checks if c.get("if_false") is None)
    assert problems(kb_copy) == [
        f"options/chemotherapy.yaml.before_treatment[0]({checks[0]['id']}).if_false: "
        f"consider check listed before {deferring['id']} (not_recommended): list the "
        "checks that contraindicate first, then those that defer (not_recommended), then "
        "those that downgrade (consider)  [if_false]"
    ]
