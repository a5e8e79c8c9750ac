"""Warnings of the systemic and radionuclide options (issue 9, review-2): shown exactly when due.

Verdicts are covered by the seq-* scenarios; scenarios cannot check warnings, so these do.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmdt import KnowledgeBase, assess, parse_case

SCENARIOS = Path(__file__).parent / "scenarios"
ALPHA = "alpha-adrenergic blockade first, then beta-blockade"


def case_of(stem: str, **changes: Any) -> dict[str, Any]:
    """The case of a scenario, with dotted-path changes (None deletes the field)."""
    path = next(SCENARIOS.glob(f"{stem}-*.yaml"))
    case: dict[str, Any] = copy.deepcopy(yaml.safe_load(path.read_text(encoding="utf-8"))["case"])
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = case
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return case


def warnings(kb: KnowledgeBase, case: dict[str, Any], option: str) -> list[str]:
    return assess(parse_case(case), kb).option(option).warnings


def has(texts: list[str], part: str) -> bool:
    return any(part in t for t in texts)


PPGL_OPTIONS = ["prrt_lu177_dotatate", "prrt_y90_dotatoc", "sunitinib", "chemotherapy", "mibg_i131"]


@pytest.mark.parametrize("option", PPGL_OPTIONS)
def test_ppgl_gets_alpha_blockade_and_no_octreotide_cover(kb: KnowledgeBase, option: str) -> None:
    texts = warnings(kb, case_of("seq-13"), option)
    assert has(texts, ALPHA)
    assert not has(texts, "octreotide cover")


@pytest.mark.parametrize("option", PPGL_OPTIONS)
def test_a_midgut_net_gets_no_alpha_blockade_warning(kb: KnowledgeBase, option: str) -> None:
    assert not has(warnings(kb, case_of("rad-01"), option), ALPHA)


def test_short_acting_octreotide_is_not_offered_as_ppgl_cover(kb: KnowledgeBase) -> None:
    ppgl = assess(parse_case(case_of("seq-13")), kb).option("ssa_short_acting")
    assert (ppgl.verdict, has(ppgl.warnings, "octreotide cover")) == ("not_recommended", False)
    si = warnings(kb, case_of("rad-01"), "ssa_short_acting")
    assert has(si, "peri-procedural octreotide cover") and not has(si, ALPHA)


def test_insulinoma_prrt_warns_about_glucose_not_octreotide(kb: KnowledgeBase) -> None:
    insulinoma = case_of("med-22", disease__progression="progressive")
    texts = warnings(kb, insulinoma, "prrt_lu177_dotatate")
    assert has(texts, "hypoglycaemia can flare after PRRT")
    assert not has(texts, "hormonal crisis after Lu-177")
    carcinoid = case_of("seq-17")
    assert has(warnings(kb, carcinoid, "prrt_lu177_dotatate"), "hormonal crisis after Lu-177")


def test_everolimus_refractory_hypoglycaemia_warning(kb: KnowledgeBase) -> None:
    assert has(warnings(kb, case_of("seq-09"), "everolimus"), "refractory hypoglycaemia")
    assert not has(warnings(kb, case_of("seq-10"), "everolimus"), "refractory hypoglycaemia")


@pytest.mark.parametrize(
    ("nt_probnp", "chd", "shown"),
    [(259, None, False), (260, None, False), (261, None, True), (900, False, False)],
)
def test_nt_probnp_above_260_asks_for_an_echocardiogram(
    kb: KnowledgeBase, nt_probnp: float, chd: bool | None, shown: bool
) -> None:
    case = case_of("seq-17", labs__nt_probnp_ng_l=nt_probnp, disease__carcinoid_heart_disease=chd)
    for option in ("prrt_lu177_dotatate", "ssa_long_acting"):
        assert has(warnings(kb, case, option), "NT-proBNP above 260 ng/L") is shown, option


@pytest.mark.parametrize(
    ("modality", "uptake", "shown"),
    [
        ("ga68_dotatate_pet", "equal", True),
        ("cu64_dotatate_pet", "equal", True),
        ("octreoscan", "equal", False),
        ("ga68_dotatate_pet", "above", False),
    ],
)
def test_equal_uptake_on_pet_names_the_modality(
    kb: KnowledgeBase, modality: str, uptake: str, shown: bool
) -> None:
    case = case_of(
        "rad-01",
        imaging__sstr__modality=modality,
        imaging__sstr__uptake_vs_liver=uptake,
        imaging__sstr__krenning_score=None,
    )
    assert has(warnings(kb, case, "prrt_lu177_dotatate"), "on SSTR PET") is shown


@pytest.mark.parametrize(("bilirubin", "shown"), [(1.5, False), (1.6, True), (3.0, True)])
def test_lu177_cholestasis_warning_replaces_the_1_5_cut_off(
    kb: KnowledgeBase, bilirubin: float, shown: bool
) -> None:
    case = case_of("rad-01", labs__bilirubin_x_uln=bilirubin)
    assert has(warnings(kb, case, "prrt_lu177_dotatate"), "biliary obstruction") is shown


def test_lu177_contraception_mesenteric_and_prior_sirt_warnings(kb: KnowledgeBase) -> None:
    base = warnings(kb, case_of("rad-01", sex="male"), "prrt_lu177_dotatate")
    assert has(base, "at least 6 months after the last dose")
    older_woman = case_of("rad-01", sex="female", age_years=66)
    assert not has(warnings(kb, older_woman, "prrt_lu177_dotatate"), "at least 6 months")
    assert not has(base, "mesenteric") and not has(base, "Previous SIRT")
    nodes = case_of(
        "rad-01",
        disease__regional_nodes=True,
        history__prior_liver_directed_therapy=["sirt"],
    )
    texts = warnings(kb, nodes, "prrt_lu177_dotatate")
    assert has(texts, "mesenteric or peritoneal disease") and has(texts, "Previous SIRT")


@pytest.mark.parametrize(
    ("date", "shown"), [("2026-06-01", False), ("2026-05-20", True), (None, True)]
)
def test_mibg_scan_freshness(kb: KnowledgeBase, date: str | None, shown: bool) -> None:
    case = case_of("liver-02", imaging__mibg__date=date)
    assert has(warnings(kb, case, "mibg_i131"), "I-123 MIBG scan date") is shown


def test_ssa_pregnancy_and_gastrinoma_warnings(kb: KnowledgeBase) -> None:
    pregnant = case_of("med-06")
    for option in ("ssa_long_acting", "ssa_short_acting"):
        assert has(warnings(kb, pregnant, option), "avoid"), option
    assert not has(warnings(kb, case_of("rad-01"), "ssa_long_acting"), "pregnancy")
    assert has(warnings(kb, case_of("seq-14"), "ssa_long_acting"), "proton-pump inhibitor first")


def test_telotristat_reads_prior_bowel_surgery(kb: KnowledgeBase) -> None:
    case = case_of("med-02", history__prior_surgery=["right_hemicolectomy"])
    assert has(warnings(kb, case, "telotristat"), "Previous bowel surgery recorded")
    assert not has(warnings(kb, case_of("med-02"), "telotristat"), "Previous bowel surgery")


def pending(kb: KnowledgeBase, case: dict[str, Any], option: str) -> set[tuple[str, str]]:
    result = assess(parse_case(case), kb).option(option)
    return {(p.criterion, p.field) for p in result.pending_checks}


@pytest.mark.parametrize("option", ["prrt_lu177_dotatate", "mibg_i131"])
def test_secreting_ppgl_lists_alpha_blockade_as_a_pending_check(
    kb: KnowledgeBase, option: str
) -> None:
    assert ("alpha_blockade_established", "history.alpha_blockade_established") in pending(
        kb, case_of("seq-13"), option
    )
    assert not any(
        c == "alpha_blockade_established" for c, _ in pending(kb, case_of("seq-31"), option)
    )


def test_a_pregnancy_test_not_yet_done_is_pending_not_missing(kb: KnowledgeBase) -> None:
    case = case_of("seq-34")
    result = assess(parse_case(case), kb).option("prrt_lu177_dotatate")
    assert result.verdict == "recommended"
    assert ("pregnancy_excluded", "labs.pregnancy_test") in pending(kb, case, "prrt_lu177_dotatate")
    assert "labs.pregnancy_test" not in {m.field for m in result.missing}
    tested = case_of("seq-33")
    assert not any(c == "pregnancy_excluded" for c, _ in pending(kb, tested, "prrt_lu177_dotatate"))


def test_lu177_blood_tests_not_yet_done_are_pending(kb: KnowledgeBase) -> None:
    case = case_of("rad-01", labs=None)
    found = pending(kb, case, "prrt_lu177_dotatate")
    assert {c for c, _ in found} >= {
        "haemoglobin_ge_80",
        "wbc_ge_2",
        "platelets_ge_75",
        "bilirubin_le_3",
        "alt_le_3",
        "renal_ge_40",
        "not_kidney_failure",
    }
