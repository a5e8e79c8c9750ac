"""The shipped trial cards, each at its thresholds: an eligible case and a not-eligible one
beside it (written from the quoted registry lines, not from the encoding), exclusion
polarity both ways, and unknown facts giving "possibly eligible" with those facts missing.

Each base case satisfies every encoded criterion of its card (and arm); a test then moves
one fact across one threshold.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netmdt.case.load import parse_case
from netmdt.engine.facts import facts_of
from netmdt.kb.load import load_kb
from netmdt.trials.match import match_trials

KB = load_kb()

ADVANCED_LIVER: dict[str, Any] = {
    "liver_metastases": {"present": True},
    "extrahepatic_metastases": [],
    "resectable_for_cure": False,
}


def verdicts(case: dict[str, Any], trial: str) -> dict[str | None, str]:
    """{arm: verdict} for one card (arm None when no criterion is arm-specific)."""
    facts = facts_of(parse_case(case))
    found = match_trials(KB, facts, include_closed=True, only=[trial])
    return {m.arm: m.verdict for m in found}


def missing(case: dict[str, Any], trial: str, arm: str | None = None) -> set[str]:
    facts = facts_of(parse_case(case))
    (m,) = [m for m in match_trials(KB, facts, include_closed=True, only=[trial]) if m.arm == arm]
    return {x.field for x in m.missing}


def reason_labels(case: dict[str, Any], trial: str) -> dict[str, str]:
    facts = facts_of(parse_case(case))
    (m,) = match_trials(KB, facts, include_closed=True, only=[trial])
    return {r.criterion: r.label for r in m.reasons}


def with_(case: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy with dotted-path changes (``tumour__ki67_percent=15``)."""
    out = copy.deepcopy(case)
    for key, value in changes.items():
        *path, last = key.split("__")
        node = out
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return out


# --- COMPOSE: Ki-67 15-55 inclusive, Karnofsky >= 60, prior PRRT excludes ------------------------

COMPOSE: dict[str, Any] = {
    "id": "t-compose",
    "assessed_on": "2026-12-01",
    "age_years": 60,
    "tumour": {"type": "net", "primary_site": "pancreas", "ki67_percent": 30},
    "disease": {**ADVANCED_LIVER, "measurable_recist": True},
    "imaging": {"sstr": {"positive": True}},
    "performance": {"karnofsky": 80},
    "history": {"prior_treatments": []},
}


@pytest.mark.parametrize(
    ("ki67", "expected"),
    [
        (14.9, "not_eligible"),
        (15, "eligible"),
        (30, "eligible"),
        (55, "eligible"),
        (55.1, "not_eligible"),
    ],
)
def test_compose_ki67_window_inclusive(ki67: float, expected: str) -> None:
    assert verdicts(with_(COMPOSE, tumour__ki67_percent=ki67), "compose") == {None: expected}


def test_compose_ki67_unknown_is_possibly_with_ki67_missing() -> None:
    case = copy.deepcopy(COMPOSE)
    del case["tumour"]["ki67_percent"]
    assert verdicts(case, "compose") == {None: "possibly_eligible"}
    assert missing(case, "compose") == {"tumour.ki67_percent"}


def test_compose_karnofsky_threshold_and_no_ecog_conversion() -> None:
    assert verdicts(with_(COMPOSE, performance__karnofsky=60), "compose") == {None: "eligible"}
    assert verdicts(with_(COMPOSE, performance__karnofsky=50), "compose") == {None: "not_eligible"}
    # An ECOG score alone does not settle the Karnofsky criterion.
    case = with_(COMPOSE, performance={"ecog": 0})
    assert verdicts(case, "compose") == {None: "possibly_eligible"}
    assert missing(case, "compose") == {"performance.karnofsky"}


def test_compose_prior_prrt_exclusion_both_polarities() -> None:
    prrt = [{"therapy": "prrt_lu177_dotatate", "cycles": 4}]
    met = with_(COMPOSE, history__prior_treatments=prrt)
    assert verdicts(met, "compose") == {None: "not_eligible"}
    assert reason_labels(met, "compose")["prior_prrt"] == "exclusion met"
    assert reason_labels(COMPOSE, "compose")["prior_prrt"] == "exclusion not met"
    unknown = copy.deepcopy(COMPOSE)
    del unknown["history"]
    assert verdicts(unknown, "compose") == {None: "possibly_eligible"}
    assert missing(unknown, "compose") == {"history.prior_treatments"}


# --- NET-02: extra-pulmonary NEC, Ki-67 >= 20 (registry), ECOG <= 2 ------------------------------

NET_02: dict[str, Any] = {
    "id": "t-net02",
    "assessed_on": "2026-12-01",
    "age_years": 58,
    "tumour": {"type": "nec", "primary_site": "pancreas", "ki67_percent": 70},
    "disease": {**ADVANCED_LIVER, "measurable_recist": True, "progression": "progressive"},
    "performance": {"ecog": 1, "life_expectancy_months": 6},
    "history": {
        "prior_treatments": [
            {"therapy": "chemotherapy", "regimen": "platinum_etoposide", "outcome": "progression"}
        ]
    },
}


def test_net_02_ki67_threshold() -> None:
    assert verdicts(with_(NET_02, tumour__ki67_percent=20), "net_02") == {None: "eligible"}
    assert verdicts(with_(NET_02, tumour__ki67_percent=19), "net_02") == {None: "not_eligible"}


def test_net_02_ecog_threshold_and_lung_primary() -> None:
    assert verdicts(with_(NET_02, performance__ecog=2), "net_02") == {None: "eligible"}
    assert verdicts(with_(NET_02, performance__ecog=3), "net_02") == {None: "not_eligible"}
    assert verdicts(with_(NET_02, tumour__primary_site="lung"), "net_02") == {None: "not_eligible"}


def test_net_02_needs_prior_chemotherapy_or_intolerance() -> None:
    naive = with_(NET_02, history__prior_treatments=[], disease__progression="stable")
    assert verdicts(naive, "net_02") == {None: "not_eligible"}
    intolerant = with_(
        NET_02,
        disease__progression="stable",
        history__prior_treatments=[{"therapy": "chemotherapy", "outcome": "toxicity"}],
    )
    assert verdicts(intolerant, "net_02") == {None: "eligible"}


# --- UCL Lu-177 unlicensed indications: non-GEP arm and GEP retreatment arm ----------------------

UCL_LUNG: dict[str, Any] = {
    "id": "t-ucl",
    "assessed_on": "2026-12-01",
    "age_years": 18,
    "tumour": {"type": "net", "primary_site": "lung", "lung_subtype": "atypical_carcinoid"},
    "disease": {**ADVANCED_LIVER, "progression": "progressive"},
    "imaging": {"sstr": {"positive": True}},
    "history": {"prior_treatments": []},
}


def test_ucl_non_gep_arm_lung_and_ppgl() -> None:
    assert verdicts(UCL_LUNG, "ucl_lu177_unlicensed") == {
        "non_gep": "eligible",
        "retreatment": "not_eligible",
    }
    ppgl = with_(UCL_LUNG, tumour={"type": "paraganglioma", "primary_site": "other"})
    assert verdicts(ppgl, "ucl_lu177_unlicensed")["non_gep"] == "eligible"


def test_ucl_age_and_sstr_thresholds() -> None:
    assert (
        verdicts(with_(UCL_LUNG, age_years=17), "ucl_lu177_unlicensed")["non_gep"] == "not_eligible"
    )
    negative = with_(UCL_LUNG, imaging__sstr__positive=False)
    assert verdicts(negative, "ucl_lu177_unlicensed")["non_gep"] == "not_eligible"


def test_ucl_retreatment_arm_gep_after_prrt() -> None:
    gep = with_(
        UCL_LUNG,
        tumour={"type": "net", "primary_site": "jejunum_ileum"},
        history__prior_treatments=[{"therapy": "prrt_lu177_dotatate", "cycles": 4}],
    )
    assert verdicts(gep, "ucl_lu177_unlicensed") == {
        "non_gep": "not_eligible",
        "retreatment": "eligible",
    }
    never_had_prrt = with_(gep, history__prior_treatments=[])
    assert verdicts(never_had_prrt, "ucl_lu177_unlicensed")["retreatment"] == "not_eligible"


# --- LITESPARK-015: PPGL cohort (age >= 12) and pNET cohort (G1-G2) ------------------------------

LITESPARK_PPGL: dict[str, Any] = {
    "id": "t-lsp",
    "assessed_on": "2026-12-01",
    "age_years": 12,
    "tumour": {"type": "paraganglioma", "primary_site": "other"},
    "disease": {"resectable_for_cure": False, "measurable_recist": True},
}


def test_litespark_ppgl_cohort_age_threshold() -> None:
    assert verdicts(LITESPARK_PPGL, "litespark_015") == {"ppgl": "eligible", "pnet": "not_eligible"}
    young = with_(LITESPARK_PPGL, age_years=11)
    assert verdicts(young, "litespark_015")["ppgl"] == "not_eligible"


def test_litespark_pnet_cohort_grade_threshold() -> None:
    pnet = with_(
        LITESPARK_PPGL,
        age_years=50,
        tumour={"type": "net", "primary_site": "pancreas", "ki67_percent": 20},
    )
    assert verdicts(pnet, "litespark_015") == {"ppgl": "not_eligible", "pnet": "eligible"}
    g3 = with_(pnet, tumour__ki67_percent=21)
    assert verdicts(g3, "litespark_015")["pnet"] == "not_eligible"


# --- PELICAN: NEC, Ki-67 > 20 (or > 20 mitoses), chemotherapy-naive, ECOG <= 2 -------------------

PELICAN: dict[str, Any] = {
    "id": "t-pelican",
    "assessed_on": "2026-12-01",
    "age_years": 18,
    "tumour": {
        "type": "nec",
        "primary_site": "colon",
        "ki67_percent": 21,
        "mitotic_count_per_2mm2": 5,
    },
    "disease": {**ADVANCED_LIVER, "measurable_recist": True},
    "performance": {"ecog": 2},
    "history": {"prior_treatments": []},
}


def test_pelican_ki67_strictly_above_20() -> None:
    assert verdicts(PELICAN, "pelican") == {None: "eligible"}
    assert verdicts(with_(PELICAN, tumour__ki67_percent=20), "pelican") == {None: "not_eligible"}
    # Ki-67 20 but more than 20 mitoses: the "and/or" alternative.
    mitoses = with_(PELICAN, tumour__ki67_percent=20, tumour__mitotic_count_per_2mm2=25)
    assert verdicts(mitoses, "pelican") == {None: "eligible"}


def test_pelican_chemotherapy_naive_and_ecog() -> None:
    treated = with_(PELICAN, history__prior_treatments=[{"therapy": "chemotherapy"}])
    assert verdicts(treated, "pelican") == {None: "not_eligible"}
    assert verdicts(with_(PELICAN, performance__ecog=3), "pelican") == {None: "not_eligible"}


# --- NETTER-2: newly diagnosed (<= 6 months), Ki-67 10-55, KPS >= 60 -----------------------------

NETTER_2: dict[str, Any] = {
    "id": "t-netter2",
    "assessed_on": "2026-12-01",
    "age_years": 15,
    "tumour": {
        "type": "net",
        "primary_site": "jejunum_ileum",
        "ki67_percent": 10,
        "diagnosis_date": "2026-06-05",
    },
    "disease": ADVANCED_LIVER,
    "imaging": {"sstr": {"positive": True, "uptake_vs_liver": "above"}},
    "performance": {"karnofsky": 60},
    "history": {"prior_treatments": [], "prior_liver_directed_therapy": []},
}


def test_netter_2_ki67_window() -> None:
    assert verdicts(NETTER_2, "netter_2") == {None: "eligible"}
    assert verdicts(with_(NETTER_2, tumour__ki67_percent=9.9), "netter_2") == {None: "not_eligible"}
    assert verdicts(with_(NETTER_2, tumour__ki67_percent=55), "netter_2") == {None: "eligible"}
    assert verdicts(with_(NETTER_2, tumour__ki67_percent=56), "netter_2") == {None: "not_eligible"}


def test_netter_2_diagnosed_within_6_months() -> None:
    # 2026-06-05 -> 2026-12-01 is 179 days (5.9 months); 2026-05-01 is 214 days (7.0 months).
    late = with_(NETTER_2, tumour__diagnosis_date="2026-05-01")
    assert verdicts(late, "netter_2") == {None: "not_eligible"}
    unknown = copy.deepcopy(NETTER_2)
    del unknown["tumour"]["diagnosis_date"]
    assert verdicts(unknown, "netter_2") == {None: "possibly_eligible"}
    assert missing(unknown, "netter_2") == {"tumour.diagnosis_date"}


def test_netter_2_exclusions() -> None:
    prrt = with_(NETTER_2, history__prior_treatments=[{"therapy": "prrt_y90_dotatoc"}])
    assert verdicts(prrt, "netter_2") == {None: "not_eligible"}
    progressed = with_(
        NETTER_2,
        history__prior_treatments=[{"therapy": "ssa_long_acting", "outcome": "progression"}],
    )
    assert verdicts(progressed, "netter_2") == {None: "not_eligible"}
    stable_on_ssa = with_(
        NETTER_2, history__prior_treatments=[{"therapy": "ssa_long_acting", "outcome": "stable"}]
    )
    assert verdicts(stable_on_ssa, "netter_2") == {None: "eligible"}
    assert verdicts(with_(NETTER_2, performance__karnofsky=50), "netter_2") == {
        None: "not_eligible"
    }


# --- NETTER-3: newly diagnosed G1-G2 with Ki-67 < 10, age >= 12 ----------------------------------

NETTER_3: dict[str, Any] = {
    "id": "t-netter3",
    "assessed_on": "2026-12-01",
    "age_years": 12,
    "tumour": {
        "type": "net",
        "primary_site": "jejunum_ileum",
        "ki67_percent": 9.9,
        "diagnosis_date": "2026-09-01",
    },
    "disease": ADVANCED_LIVER,
    "imaging": {"sstr": {"positive": True, "uptake_vs_liver": "equal"}},
}


def test_netter_3_ki67_below_10_and_age() -> None:
    assert verdicts(NETTER_3, "netter_3") == {None: "eligible"}
    assert verdicts(with_(NETTER_3, tumour__ki67_percent=10), "netter_3") == {None: "not_eligible"}
    assert verdicts(with_(NETTER_3, age_years=11), "netter_3") == {None: "not_eligible"}
    below_liver = with_(NETTER_3, imaging__sstr__uptake_vs_liver="below")
    assert verdicts(below_liver, "netter_3") == {None: "not_eligible"}


# --- COMPETE: G1-G2, progressive, SSTR+; functioning non-pancreatic excluded ---------------------

COMPETE: dict[str, Any] = {
    "id": "t-compete",
    "assessed_on": "2026-12-01",
    "age_years": 66,
    "tumour": {
        "type": "net",
        "primary_site": "pancreas",
        "ki67_percent": 20,
        "functional_syndrome": ["insulinoma"],
    },
    "disease": {**ADVANCED_LIVER, "measurable_recist": True, "progression": "progressive"},
    "imaging": {"sstr": {"positive": True}},
}


def test_compete_grade_threshold() -> None:
    assert verdicts(COMPETE, "compete") == {None: "eligible"}
    assert verdicts(with_(COMPETE, tumour__ki67_percent=21), "compete") == {None: "not_eligible"}
    assert verdicts(with_(COMPETE, disease__progression="stable"), "compete") == {
        None: "not_eligible"
    }


def test_compete_functioning_only_if_pancreatic() -> None:
    midgut = with_(
        COMPETE,
        tumour__primary_site="jejunum_ileum",
        tumour__functional_syndrome=["carcinoid_syndrome"],
    )
    assert verdicts(midgut, "compete") == {None: "not_eligible"}
    non_functioning = with_(midgut, tumour__functional_syndrome=["none"])
    assert verdicts(non_functioning, "compete") == {None: "eligible"}


# --- ACTION-1: after 2-4 cycles of Lu-177, disease control >= 6 months ---------------------------

ACTION_1: dict[str, Any] = {
    "id": "t-action1",
    "assessed_on": "2026-12-01",
    "age_years": 70,
    "tumour": {"type": "net", "primary_site": "jejunum_ileum", "ki67_percent": 5},
    "disease": {**ADVANCED_LIVER, "progression": "progressive"},
    "imaging": {"sstr": {"positive": True}},
    "performance": {"ecog": 2},
    "history": {
        "prior_treatments": [
            {
                "therapy": "prrt_lu177_dotatate",
                "cycles": 4,
                "outcome": "progression",
                "progression_free_months": 6,
            }
        ]
    },
}


def test_action_1_disease_control_threshold() -> None:
    assert verdicts(ACTION_1, "action_1") == {None: "eligible"}
    pt = ACTION_1["history"]["prior_treatments"][0]
    refractory = with_(ACTION_1, history__prior_treatments=[{**pt, "progression_free_months": 5.9}])
    assert verdicts(refractory, "action_1") == {None: "not_eligible"}
    assert reason_labels(refractory, "action_1")["lu177_refractory"] == "exclusion met"
    assert reason_labels(ACTION_1, "action_1")["lu177_refractory"] == "exclusion not met"


def test_action_1_cycles_window_and_ecog() -> None:
    pt = ACTION_1["history"]["prior_treatments"][0]
    for cycles, expected in [
        (1, "not_eligible"),
        (2, "eligible"),
        (4, "eligible"),
        (5, "not_eligible"),
    ]:
        case = with_(ACTION_1, history__prior_treatments=[{**pt, "cycles": cycles}])
        assert verdicts(case, "action_1") == {None: expected}, cycles
    assert verdicts(with_(ACTION_1, performance__ecog=3), "action_1") == {None: "not_eligible"}


# --- CAREFNDR: carcinoid syndrome, G1-G2 ---------------------------------------------------------

CAREFNDR: dict[str, Any] = {
    "id": "t-carefndr",
    "assessed_on": "2026-12-01",
    "age_years": 18,
    "tumour": {
        "type": "net",
        "primary_site": "jejunum_ileum",
        "ki67_percent": 20,
        "functional_syndrome": ["carcinoid_syndrome"],
    },
}


def test_carefndr_syndrome_and_grade() -> None:
    assert verdicts(CAREFNDR, "carefndr") == {None: "eligible"}
    assert verdicts(with_(CAREFNDR, tumour__ki67_percent=21), "carefndr") == {None: "not_eligible"}
    assert verdicts(with_(CAREFNDR, tumour__functional_syndrome=["none"]), "carefndr") == {
        None: "not_eligible"
    }
    assert verdicts(with_(CAREFNDR, age_years=17), "carefndr") == {None: "not_eligible"}


# --- SPINET: typical/atypical lung carcinoid, ECOG 0-1 -------------------------------------------

SPINET: dict[str, Any] = {
    "id": "t-spinet",
    "assessed_on": "2026-12-01",
    "age_years": 55,
    "tumour": {"type": "net", "primary_site": "lung", "lung_subtype": "typical_carcinoid"},
    "disease": ADVANCED_LIVER,
    "imaging": {"sstr": {"positive": True}},
    "performance": {"ecog": 1},
}


def test_spinet_ecog_and_subtype() -> None:
    assert verdicts(SPINET, "spinet") == {None: "eligible"}
    assert verdicts(with_(SPINET, performance__ecog=2), "spinet") == {None: "not_eligible"}
    assert verdicts(with_(SPINET, tumour__lung_subtype="lcnec"), "spinet") == {None: "not_eligible"}


# --- LEVEL: lung/thymic NET, progression within 12 months, no prior RLT or mTOR ------------------

LEVEL: dict[str, Any] = {
    "id": "t-level",
    "assessed_on": "2026-12-01",
    "age_years": 55,
    "tumour": {"type": "net", "primary_site": "thymus"},
    "disease": {**ADVANCED_LIVER, "progression": "progressive", "progression_date": "2025-12-10"},
    "imaging": {"sstr": {"positive": True}},
    "history": {"prior_treatments": []},
}


def test_level_progression_within_12_months() -> None:
    assert verdicts(LEVEL, "level") == {None: "eligible"}
    # 2025-11-01 -> 2026-12-01 is 395 days (13.0 months).
    old = with_(LEVEL, disease__progression_date="2025-11-01")
    assert verdicts(old, "level") == {None: "not_eligible"}


def test_level_prior_mtor_or_rlt_excludes() -> None:
    for therapy in ("everolimus", "prrt_lu177_dotatate"):
        case = with_(LEVEL, history__prior_treatments=[{"therapy": therapy}])
        assert verdicts(case, "level") == {None: "not_eligible"}, therapy
    assert verdicts(with_(LEVEL, tumour__primary_site="pancreas"), "level") == {
        None: "not_eligible"
    }


# --- ArTisaN (closed): liver-predominant unresectable NET, ECOG 0-1, lung shunt <= 20% ----------

ARTISAN: dict[str, Any] = {
    "id": "t-artisan",
    "assessed_on": "2026-12-01",
    "age_years": 18,
    "tumour": {"type": "net", "primary_site": "jejunum_ileum", "grade": "G2"},
    "disease": {
        "liver_metastases": {"present": True},
        "liver_dominant": True,
        "liver_resectable": False,
        "measurable_recist": True,
    },
    "imaging": {"lung_shunt_percent": 20},
    "performance": {"ecog": 1, "life_expectancy_months": 3},
    "history": {
        "prior_treatments": [],
        "prior_liver_directed_therapy": [],
        "biliary_stent_or_sphincterotomy": False,
        "biliary_enteric_anastomosis": False,
    },
}


def test_artisan_lung_shunt_threshold_and_ecog() -> None:
    assert verdicts(ARTISAN, "artisan") == {None: "eligible"}
    assert verdicts(with_(ARTISAN, imaging__lung_shunt_percent=20.5), "artisan") == {
        None: "not_eligible"
    }
    assert verdicts(with_(ARTISAN, performance__ecog=2), "artisan") == {None: "not_eligible"}
    short = with_(ARTISAN, performance__life_expectancy_months=2.5)
    assert verdicts(short, "artisan") == {None: "not_eligible"}


def test_artisan_previous_sirt_excludes_and_is_never_open() -> None:
    sirt = with_(ARTISAN, history__prior_liver_directed_therapy=["sirt"])
    assert verdicts(sirt, "artisan") == {None: "not_eligible"}
    facts = facts_of(parse_case(ARTISAN))
    assert all(m.trial != "artisan" for m in match_trials(KB, facts))  # completed: not listed
    (m,) = match_trials(KB, facts, include_closed=True, only=["artisan"])
    assert (m.open, m.opening_soon) == (False, False)
