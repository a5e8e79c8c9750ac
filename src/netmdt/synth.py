"""Synthetic NET cohorts: realistic, reproducible cases in the netmdt case format.

``synthetic_cases(n, seed)`` yields ``n`` plain dicts (JSON-ready: dates are ISO strings)
that validate with ``netmdt.parse_case``. The same seed gives the same cases: case ``i``
depends only on the seed, ``i`` and ``assessed_on`` (blocks of cases with a seeded
``random.Random`` each).

The distributions (primary site, tumour type, stage, grade and Ki-67, hormonal syndromes,
imaging, labs, fitness, prior treatment) and the missingness model are documented, with
their sources or marked as assumptions, in ``docs/synthetic-cohorts.md``. The tables
below are the ones the document shows; a test keeps the site table and the document in
step.

Speed: every categorical draw is one ``random()`` and a ``bisect`` on precomputed
cumulative weights (the tumour's categorical chain is one draw from a joint table);
normal draws and blood values come from precomputed quantile grids; missingness is one
draw per section; nothing is deep-copied. 31-49 us per case on the development machine
(one core): 1,000,000 cases in 44-49 s.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from statistics import NormalDist
from typing import Any, Final, Generic, TypeVar

__all__ = [
    "MISSING",
    "SITE_INCIDENCE_PER_100K",
    "SITE_WEIGHTS",
    "synthetic_cases",
]

T = TypeVar("T")
DAYS_PER_MONTH: Final = 30.44


class Dist(Generic[T]):
    """A categorical distribution, sampled with one uniform draw in [0, 1)."""

    __slots__ = ("cum", "values")

    def __init__(self, weights: Mapping[T, float] | Sequence[tuple[T, float]]) -> None:
        pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        total = sum(weight for _, weight in pairs)
        self.values: tuple[T, ...] = tuple(value for value, _ in pairs)
        acc, cum = 0.0, []
        for _, weight in pairs:
            acc += weight / total
            cum.append(acc)
        cum[-1] = 1.0  # a draw in [0, 1) always lands on a value
        self.cum: tuple[float, ...] = tuple(cum)

    def __call__(self, u: float) -> T:
        return self.values[bisect_right(self.cum, u)]


# ------------------------------------------------------------------ primary site
# England 2018 age-standardised incidence per 100,000 (White et al. 2022) for lung, small
# intestine, pancreas and appendix; rectum, colon and stomach scaled from lung by their
# SEER relative frequencies (Man et al. 2018); the small intestine split 85/15 between
# jejunum/ileum and duodenum, unknown and thymus assumed; "other" is the remainder to the
# England total of 8.61 (it holds oesophageal, gynaecological and urological NENs and the
# phaeochromocytomas, paragangliomas and medullary thyroid carcinomas a NET MDT sees).
SITE_INCIDENCE_PER_100K: Final[Mapping[str, float]] = {
    "lung": 1.47,
    "jejunum_ileum": 1.24,
    "duodenum": 0.22,
    "pancreas": 1.00,
    "appendix": 0.95,
    "rectum": 0.78,
    "colon": 0.64,
    "stomach": 0.33,
    "unknown": 0.90,
    "thymus": 0.03,
    "other": 1.05,
}
_SITE_TOTAL = sum(SITE_INCIDENCE_PER_100K.values())
SITE_WEIGHTS: Final[Mapping[str, float]] = {
    site: rate / _SITE_TOTAL for site, rate in SITE_INCIDENCE_PER_100K.items()
}

# ------------------------------------------------------------------ tumour type
LUNG_SUBTYPE: Final[Mapping[str, float]] = {
    "typical_carcinoid": 0.76,
    "atypical_carcinoid": 0.10,
    "lcnec": 0.10,
    "sclc": 0.04,
}
TYPE_BY_SITE: Final[Mapping[str, Mapping[str, float]]] = {
    "pancreas": {"net": 0.90, "nec": 0.07, "minen": 0.03},
    "jejunum_ileum": {"net": 0.97, "nec": 0.02, "minen": 0.01},
    "duodenum": {"net": 0.88, "nec": 0.08, "minen": 0.04},
    "appendix": {"net": 0.97, "nec": 0.01, "minen": 0.02},
    "rectum": {"net": 0.93, "nec": 0.05, "minen": 0.02},
    "colon": {"net": 0.55, "nec": 0.35, "minen": 0.10},
    "stomach": {"net": 0.85, "nec": 0.11, "minen": 0.04},
    "unknown": {"net": 0.70, "nec": 0.30},
    "thymus": {"net": 0.85, "nec": 0.15},
    "other": {
        "net": 0.25,
        "nec": 0.30,
        "minen": 0.05,
        "phaeochromocytoma": 0.15,
        "paraganglioma": 0.12,
        "medullary_thyroid_carcinoma": 0.13,
    },
}
GASTRIC_TYPE: Final[Mapping[int, float]] = {1: 0.76, 2: 0.06, 3: 0.18}
COLON_SEGMENT: Final = Dist(
    {"caecum": 0.35, "ascending": 0.15, "transverse": 0.12, "descending": 0.08, "sigmoid": 0.30}
)
NEC_SUBTYPE_GEP: Final = Dist({"small_cell": 0.40, "large_cell": 0.60})
PNET_FUNCTION: Final[Mapping[str, float]] = {
    "none": 0.80,
    "insulinoma": 0.10,
    "gastrinoma": 0.05,
    "glucagonoma": 0.015,
    "vipoma": 0.01,
    "other": 0.025,
}

# ------------------------------------------------------------------ stage
# (localised, regional nodes only, distant) at the time of the MDT discussion.
Stage = tuple[float, float, float]
STAGE_NET: Final[Mapping[str, Stage]] = {
    "jejunum_ileum": (0.15, 0.37, 0.48),
    "duodenum": (0.65, 0.20, 0.15),
    "pancreas": (0.42, 0.15, 0.43),
    "appendix": (0.80, 0.17, 0.03),
    "rectum": (0.88, 0.07, 0.05),
    "colon": (0.40, 0.25, 0.35),
    "stomach_1": (0.95, 0.04, 0.01),
    "stomach_2": (0.80, 0.12, 0.08),
    "stomach_3": (0.40, 0.25, 0.35),
    "typical_carcinoid": (0.80, 0.12, 0.08),
    "atypical_carcinoid": (0.50, 0.25, 0.25),
    "unknown": (0.00, 0.05, 0.95),
    "thymus": (0.40, 0.30, 0.30),
    "other": (0.50, 0.20, 0.30),
    # functioning pancreatic NETs
    "insulinoma": (0.85, 0.05, 0.10),
    "gastrinoma": (0.35, 0.25, 0.40),
    "glucagonoma": (0.25, 0.15, 0.60),
    "vipoma": (0.25, 0.15, 0.60),
    "pnet_other": (0.30, 0.20, 0.50),
}
STAGE_OTHER: Final[Mapping[str, Stage]] = {
    "nec": (0.15, 0.25, 0.60),
    "sclc": (0.10, 0.25, 0.65),
    "nec_unknown": (0.00, 0.05, 0.95),
    "minen": (0.25, 0.35, 0.40),
    "phaeochromocytoma": (0.85, 0.00, 0.15),
    "paraganglioma": (0.70, 0.05, 0.25),
    "medullary_thyroid_carcinoma": (0.45, 0.35, 0.20),
}

# ------------------------------------------------------------------ grade (WHO, NET only)
GRADE_NET: Final[Mapping[str, Mapping[str, float]]] = {
    key: {"G1": g1, "G2": g2, "G3": g3}
    for key, (g1, g2, g3) in {
        "jejunum_ileum": (0.65, 0.33, 0.02),
        "duodenum": (0.70, 0.27, 0.03),
        "pancreas": (0.55, 0.40, 0.05),
        "appendix": (0.80, 0.19, 0.01),
        "rectum": (0.80, 0.18, 0.02),
        "colon": (0.55, 0.35, 0.10),
        "stomach_1": (0.85, 0.15, 0.00),
        "stomach_2": (0.75, 0.25, 0.00),
        "stomach_3": (0.35, 0.45, 0.20),
        "typical_carcinoid": (0.90, 0.10, 0.00),
        "atypical_carcinoid": (0.10, 0.85, 0.05),
        "unknown": (0.35, 0.55, 0.10),
        "thymus": (0.20, 0.55, 0.25),
        "other": (0.40, 0.45, 0.15),
    }.items()
}

P_DISTANT_G1_AS_G2: Final = 0.25  # metastatic NETs are more often G2
GRADE_MINEN: Final[Mapping[str, float]] = {"G2": 0.25, "G3": 0.75}
P_GRADE_DISCORDANT: Final = 0.03  # stated grade one step off the Ki-67 grade
DISCORDANT_GRADE: Final[Mapping[str, str]] = {"G1": "G2", "G2": "G1", "G3": "G2"}

# ------------------------------------------------------------------ primary tumour
# median size (cm) of the primary; log-normal spread (sd of log 0.45), x1.3 when distant
PRIMARY_SIZE_MEDIAN_CM: Final[Mapping[str, float]] = {
    "jejunum_ileum": 1.8,
    "duodenum": 1.0,
    "pancreas": 3.0,  # non-functioning; insulinoma 1.5
    "colon": 3.5,
    "stomach": 2.5,  # type 3; types 1 and 2: 0.6
    "lung": 2.2,
    "thymus": 5.0,
    "other": 2.5,
}
MULTIFOCAL: Final[Mapping[str, float]] = {
    "jejunum_ileum": 0.35,
    "stomach_1": 0.65,
    "stomach": 0.05,
}
# share of localised primaries still in situ at the MDT (the rest already resected)
P_PRIMARY_IN_SITU_LOCALISED: Final[Mapping[str, float]] = {
    "appendix": 0.10,
    "rectum": 0.40,
    "stomach": 0.50,
}

# ------------------------------------------------------------------ hormonal syndromes
# Carcinoid syndrome probability by (liver metastases, distant without liver, regional,
# localised) for NETs of each site.
CARCINOID_SYNDROME: Final[Mapping[str, tuple[float, float, float, float]]] = {
    "jejunum_ileum": (0.55, 0.15, 0.04, 0.01),
    "appendix": (0.30, 0.05, 0.01, 0.002),
    "colon": (0.20, 0.03, 0.005, 0.0),
    "duodenum": (0.10, 0.02, 0.005, 0.0),
    "lung": (0.20, 0.05, 0.01, 0.002),
    "unknown": (0.40, 0.10, 0.02, 0.0),
    "stomach": (0.05, 0.01, 0.0, 0.0),
    "rectum": (0.02, 0.0, 0.0, 0.0),
    "thymus": (0.05, 0.02, 0.0, 0.0),
    "other": (0.10, 0.02, 0.0, 0.0),
}
CARCINOID_HEART_DISEASE: Final = 0.20  # given carcinoid syndrome

# ------------------------------------------------------------------ patient
# (mean age, sd, share female)
DEMOGRAPHY: Final[Mapping[str, tuple[float, float, float]]] = {
    "jejunum_ileum": (68, 11, 0.46),
    "duodenum": (67, 12, 0.45),
    "pancreas": (63, 13, 0.47),
    "appendix": (45, 18, 0.60),
    "rectum": (60, 12, 0.48),
    "colon": (69, 12, 0.50),
    "stomach": (66, 13, 0.60),
    "lung": (66, 13, 0.60),
    "unknown": (67, 12, 0.48),
    "thymus": (58, 13, 0.30),
    "other": (64, 15, 0.50),
    "nec": (70, 11, 0.45),
    "phaeochromocytoma": (50, 15, 0.50),
    "paraganglioma": (48, 15, 0.50),
    "medullary_thyroid_carcinoma": (54, 15, 0.55),
}
P_SEX_OTHER: Final = 0.002
P_PREGNANT: Final = 0.01  # women under 50 with the field recorded
P_BREASTFEEDING: Final = 0.01

# ECOG 0-4 by situation
ECOG: Final[Mapping[str, Dist[int]]] = {
    "localised": Dist({0: 0.60, 1: 0.33, 2: 0.06, 3: 0.01, 4: 0.0}),
    "regional": Dist({0: 0.50, 1: 0.38, 2: 0.09, 3: 0.03, 4: 0.0}),
    "distant_net": Dist({0: 0.35, 1: 0.45, 2: 0.14, 3: 0.05, 4: 0.01}),
    "distant_nec": Dist({0: 0.15, 1: 0.45, 2: 0.25, 3: 0.12, 4: 0.03}),
}
KARNOFSKY_FOR_ECOG: Final[Mapping[int, tuple[int, ...]]] = {
    0: (90, 100),
    1: (70, 80),
    2: (50, 60),
    3: (30, 40),
    4: (10, 20),
}
COMORBIDITY: Final = Dist(
    {
        "diabetes": 0.12,
        "heart_failure": 0.04,
        "uncontrolled_hypertension": 0.03,
        "interstitial_lung_disease": 0.01,
        "cirrhosis": 0.01,
        "active_infection": 0.01,
        "autoimmune_disease": 0.04,
        "severe_depression": 0.03,
        "coagulopathy": 0.01,
        "other": 0.15,
    }
)
P_ANY_COMORBIDITY: Final = 0.45

# ------------------------------------------------------------------ spread
EXTRAHEPATIC: Final = Dist(
    {
        "bone": 0.30,
        "distant_nodes": 0.30,
        "peritoneum": 0.18,
        "lung": 0.12,
        "ovary": 0.04,
        "brain": 0.02,
        "other": 0.04,
    }
)
P_LIVER_GIVEN_DISTANT: Final[Mapping[str, float]] = {
    "net": 0.82,
    "nec": 0.70,
    "minen": 0.70,
    "phaeochromocytoma": 0.35,
    "paraganglioma": 0.35,
    "medullary_thyroid_carcinoma": 0.45,
}
LIVER_COUNT_BAND: Final = Dist({1: 0.15, 3: 0.15, 10: 0.25, 99: 0.45})  # <=1, <=3, <=10, >10

# ------------------------------------------------------------------ imaging
SSTR_MODALITY: Final = Dist(
    {
        "ga68_dotatate_pet": 0.75,
        "ga68_dotatoc_pet": 0.10,
        "cu64_dotatate_pet": 0.05,
        "octreoscan": 0.10,
    }
)
# probability that SSTR imaging shows tumour uptake, given there is disease to see
SSTR_POSITIVE: Final[Mapping[str, float]] = {
    "G1": 0.92,
    "G2": 0.90,
    "G3": 0.70,
    "nec": 0.35,
    "minen": 0.45,
    "phaeochromocytoma": 0.85,
    "paraganglioma": 0.85,
    "medullary_thyroid_carcinoma": 0.45,
}
UPTAKE: Final = Dist({"above": 0.70, "equal": 0.20, "below": 0.10})
MIBG_POSITIVE: Final[Mapping[str, float]] = {"phaeochromocytoma": 0.88, "paraganglioma": 0.67}

# ------------------------------------------------------------------ missingness
# Probability that a recorded fact is left out (unknown) regardless of the case; some
# fields are additionally missing by situation (documented alongside).
MISSING: Final[Mapping[str, Mapping[str, float]]] = {
    "case": {  # top-level facts and whole sections
        "age_years": 0.02,
        "sex": 0.01,
        "disease": 0.03,
        "imaging": 0.05,
        "labs": 0.10,
        "performance": 0.10,
        "history": 0.10,
        "context": 0.08,
    },
    "tumour": {
        "type": 0.01,
        "primary_site": 0.005,
        "grade": 0.15,
        "ki67_percent": 0.12,
        "functional_syndrome": 0.15,
        "symptoms_controlled": 0.30,
        "hereditary_syndrome": 0.45,
        "lung_subtype": 0.05,
        "nec_subtype": 0.30,
        "primary_size_cm": 0.30,
        "lymphovascular_invasion": 0.40,
        "resection_margin": 0.20,
        "gastric_type": 0.15,
        "colon_segment": 0.15,
        "multifocal": 0.50,
        "bowel_movements_per_day": 0.40,
        "duodenal_location": 0.30,
        "appendix_location": 0.30,
        "mesoappendiceal_invasion_mm": 0.40,
    },
    "disease": {
        "primary_in_situ": 0.05,
        "resectable_for_cure": 0.40,
        "regional_nodes": 0.15,
        "liver_metastases": 0.10,
        "extrahepatic_metastases": 0.20,
        "liver_dominant": 0.40,
        "liver_resectable": 0.50,
        "progression": 0.20,
        "progression_date": 0.25,
        "stable_since": 0.50,
        "measurable_recist": 0.40,
        "carcinoid_heart_disease": 0.25,
        "residual_disease": 0.30,
        "chd_valve_severity": 0.30,
        "bone_metastases_symptomatic": 0.30,
        "spinal_cord_compression": 0.40,
        "oligometastatic": 0.50,
    },
    "liver_metastases": {
        "count": 0.30,
        "largest_cm": 0.30,
        "liver_involvement_percent": 0.40,
        "bilobar": 0.30,
    },
    "sstr": {
        "modality": 0.05,
        "uptake_vs_liver": 0.15,
        "all_lesions_avid": 0.30,
        "krenning_score": 0.30,
        "date": 0.10,
    },
    "labs": {
        "egfr_ml_min": 0.10,
        "creatinine_clearance_ml_min": 0.85,
        "bilirubin_x_uln": 0.15,
        "albumin_g_l": 0.20,
        "haemoglobin_g_l": 0.10,
        "platelets_10e9_l": 0.10,
        "wbc_10e9_l": 0.10,
        "neutrophils_10e9_l": 0.15,
        "bilirubin_umol_l": 0.50,
        "alt_x_uln": 0.15,
        "inr": 0.45,
        "date": 0.05,
    },
    "performance": {
        "ecog": 0.15,
        "life_expectancy_months": 0.60,
        "comorbidities": 0.20,
        "can_isolate_after_radionuclide": 0.50,
    },
    "history": {
        "prior_treatments": 0.10,
        "prior_surgery": 0.20,
        "biliary_enteric_anastomosis": 0.30,
        "biliary_stent_or_sphincterotomy": 0.40,
        "portal_vein_thrombosis": 0.50,
        "primary_resection_date": 0.30,
        "prior_liver_directed_therapy": 0.30,
        "alpha_blockade_established": 0.30,
    },
    "context": {"health_system": 0.05, "preferences": 0.60},
}
# Health systems (assumption: the tool serves NHS England MDTs; a few Scottish and Welsh
# patients are discussed at English centres or by centres using netmdt there).
HEALTH_SYSTEM: Final = Dist(
    {"nhs_england": 0.88, "nhs_scotland": 0.03, "nhs_wales": 0.02, "other": 0.07}
)
PREFERENCES: Final = (
    "prefers oral treatment",
    "wishes to avoid long hospital stays",
    "travel to the specialist centre is difficult",
    "would consider a clinical trial",
    "prioritises quality of life over intensity of treatment",
)

SURGERY_BY_SITE: Final[Mapping[str, tuple[str, ...]]] = {
    "jejunum_ileum": ("small_bowel_resection", "right_hemicolectomy"),
    "duodenum": ("endoscopic_resection", "whipple"),
    "pancreas": ("whipple", "distal_pancreatectomy", "enucleation"),
    "appendix": ("appendicectomy", "right_hemicolectomy"),
    "rectum": ("endoscopic_resection", "anterior_resection"),
    "colon": ("right_hemicolectomy", "left_hemicolectomy", "sigmoid_colectomy"),
    "stomach": ("endoscopic_resection", "gastrectomy"),
    "lung": ("lobectomy", "segmentectomy"),
    "thymus": ("thymectomy",),
    "other": ("resection",),
}


# ------------------------------------------------------------------ machinery

MAX_DAYS_AGO: Final = 10 * 366  # the oldest date a case can carry (longest history: 7 years)
N_GRID: Final = 1024  # quantiles on the grids of normal and blood values (+-3.1 sd)
N_PATTERNS: Final = 4096  # missingness patterns per section
_NORMAL: Final = tuple(NormalDist().inv_cdf((i + 0.5) / N_GRID) for i in range(N_GRID))
Rnd = Callable[[], float]
_PATTERNS: dict[str, tuple[tuple[str, ...], ...]] = {}


def _missing_patterns(section: str) -> tuple[tuple[str, ...], ...]:
    """``N_PATTERNS`` patterns of left-out fields for a section: each field is left out of
    exactly its probability's share of the patterns, independently of the other fields
    (a fixed shuffle, so the patterns are the same for every seed)."""
    shuffle = random.Random(f"netmdt.synth.missing.{section}")
    rows: list[list[str]] = [[] for _ in range(N_PATTERNS)]
    for key, prob in MISSING[section].items():
        for row in shuffle.sample(range(N_PATTERNS), round(prob * N_PATTERNS)):
            rows[row].append(key)
    return tuple(tuple(row) for row in rows)


def _drop(rnd: Rnd, section: dict[str, Any], name: str) -> dict[str, Any]:
    """Leave out the fields of one missingness pattern (one draw per section)."""
    for key in _PATTERNS[name][int(rnd() * N_PATTERNS)]:
        section.pop(key, None)
    return section


def _days(months: float) -> int:
    """Days before the assessment date for ``months`` (>= 0) months."""
    days = int(months * DAYS_PER_MONTH)
    return days if days < MAX_DAYS_AGO else MAX_DAYS_AGO


class _Profile:
    """The facts a case is built from, shared by the section generators."""

    __slots__ = (
        "age",
        "bone",
        "cs",
        "distant",
        "female",
        "grade",
        "gtype",
        "hered",
        "in_situ",
        "liver",
        "liver_count",
        "liver_pct",
        "nec",
        "pregnant",
        "progression",
        "residual",
        "site",
        "stage",
        "surgery",
        "syndromes",
        "type",
    )

    # set by _tumour
    age: int
    cs: bool
    distant: bool
    female: bool
    grade: str | None
    gtype: int | None
    hered: str
    in_situ: bool
    nec: bool
    site: str
    stage: str
    syndromes: list[str]
    type: str
    # set by _disease
    progression: str
    residual: bool

    def __init__(self) -> None:  # the facts that only some cases set
        self.liver = False
        self.bone = False
        self.pregnant: bool | None = None
        self.liver_count = 0
        self.liver_pct = 0.0
        self.surgery: str | None = None


# ------------------------------------------------------------------ the generator


def synthetic_cases(
    n: int, seed: int, *, assessed_on: date = date(2026, 11, 27), start: int = 0
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` synthetic cases, reproducible by ``seed``.

    Each case is a plain dict in the netmdt case format (dates as ISO strings, so it can
    be written as JSON or YAML as it is), with ``id`` ``synth-{seed}-{i:07d}`` and
    ``assessed_on``; every date in it is on or before ``assessed_on``.

    Case ``i`` depends only on ``seed``, ``i`` and ``assessed_on``: the cases come in
    blocks of ``BLOCK`` with a ``random.Random`` each, seeded from ``seed`` and the block.
    So a cohort's first ``k`` cases are the cohort of ``k``, and ``start`` yields cases
    ``start`` to ``start + n - 1`` of the same cohort (to generate a large cohort in
    parallel parts, or to regenerate one case).
    """
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be >= 0, got n={n}, start={start}")
    if not _PATTERNS:
        _PATTERNS.update({name: _missing_patterns(name) for name in MISSING})
    first = assessed_on.toordinal()
    iso = [date.fromordinal(max(1, first - d)).isoformat() for d in range(MAX_DAYS_AGO + 1)]
    today = iso[0]
    prefix = f"synth-{seed}-"
    rnd = _block_random(seed, start // BLOCK)
    for _ in range(start % BLOCK):  # the block's earlier cases
        _case(rnd, iso, {})
    for i in range(start, start + n):
        if i % BLOCK == 0 and i != start:
            rnd = _block_random(seed, i // BLOCK)
        yield _case(rnd, iso, {"id": f"{prefix}{i:07d}", "assessed_on": today})


BLOCK: Final = 4096  # cases drawn from one random stream


def _block_random(seed: int, block: int) -> Rnd:
    return random.Random(f"netmdt.synth/{seed}/{block}").random


def _case(rnd: Rnd, iso: list[str], case: dict[str, Any]) -> dict[str, Any]:
    p = _Profile()
    tumour = _tumour(rnd, p)
    omit = _PATTERNS["case"][int(rnd() * N_PATTERNS)]  # unknown facts and sections
    if "age_years" not in omit:
        case["age_years"] = p.age
    if "sex" not in omit:
        case["sex"] = "other" if rnd() < P_SEX_OTHER else "female" if p.female else "male"
    if p.female and p.age < 50:  # child-bearing age
        if rnd() < 0.6:
            p.pregnant = case["pregnant"] = rnd() < P_PREGNANT
        if rnd() < 0.5:
            case["breastfeeding"] = rnd() < P_BREASTFEEDING
    elif rnd() < 0.3:
        p.pregnant = case["pregnant"] = False
    case["tumour"] = tumour
    disease = _disease(rnd, p, iso)  # always drawn: later sections use its course
    if not omit:
        case["disease"] = disease
        case["imaging"] = _imaging(rnd, p, iso)
        case["labs"] = _labs(rnd, p, iso)
        case["performance"] = _performance(rnd, p)
        case["history"] = _history(rnd, p, iso)
        case["context"] = _context(rnd, p)
        return case
    if "disease" not in omit:
        case["disease"] = disease
    if "imaging" not in omit:
        case["imaging"] = _imaging(rnd, p, iso)
    if "labs" not in omit:
        case["labs"] = _labs(rnd, p, iso)
    if "performance" not in omit:
        case["performance"] = _performance(rnd, p)
    if "history" not in omit:
        case["history"] = _history(rnd, p, iso)
    if "context" not in omit:
        case["context"] = _context(rnd, p)
    return case


# ------------------------------------------------------------------ tumour


def _tumour(rnd: Rnd, p: _Profile) -> dict[str, Any]:
    # site, type, subtype, function, stage, grade, sex and hereditary syndrome: one draw
    profile = TUMOUR_PROFILES.values[bisect_right(TUMOUR_PROFILES.cum, rnd())]
    site, kind, lung, gtype, function, stage, grade, female, hered, mean, sd, key = profile[:12]
    size_median, tmpl = profile[12], profile[13]
    t = tmpl.copy()  # primary_site, type and the subtypes the draw fixes
    p.site, p.type, p.gtype, p.stage, p.grade = site, kind, gtype, stage, grade
    p.female, p.hered = female, hered
    nec = p.nec = kind == "nec"
    distant = p.distant = stage == "distant"
    age = int(mean + sd * _NORMAL[int(rnd() * N_GRID)]) - (15 if hered != "none" else 0)
    p.age = 18 if age < 18 else 95 if age > 95 else age

    _proliferation(rnd, p, t, key, grade)
    if site == "colon":
        t["colon_segment"] = COLON_SEGMENT(rnd())
    if nec and lung is None:
        t["nec_subtype"] = NEC_SUBTYPE_GEP(rnd())
    if size_median:  # log-normal around the median of the site (x1.3 when distant)
        size = size_median * _LOGNORMAL_045[int(rnd() * N_GRID)]
        size = 0.2 if size < 0.2 else 25.0 if size > 25.0 else int(size * 10.0 + 0.5) / 10.0
    else:
        size = _banded_size(rnd, site, stage)
    if site != "unknown":
        t["primary_size_cm"] = size
    if site == "duodenum":  # NF1 duodenal NETs are mostly (peri)ampullary somatostatinomas
        ampullary = 0.80 if hered == "nf1" else P_AMPULLARY
        t["duodenal_location"] = "ampullary" if rnd() < ampullary else "non_ampullary"
    elif site == "appendix":
        t["appendix_location"] = APPENDIX_LOCATION(rnd())
    if site in MULTIFOCAL_SITES:
        multi = MULTIFOCAL["stomach_1"] if gtype == 1 else MULTIFOCAL.get(site, 0.03)
        t["multifocal"] = rnd() < multi or hered == "men1"

    if distant:
        _liver(rnd, p)
    syndromes = p.syndromes = _syndromes(rnd, p, kind, site, function)
    if not syndromes and rnd() < 0.3:
        t["functional_syndrome"] = ["none"]
    else:
        t["functional_syndrome"] = list(syndromes)
    cs = p.cs = "carcinoid_syndrome" in syndromes
    if cs:
        stools = int(5.5 + 2.5 * _NORMAL[int(rnd() * N_GRID)])
        t["bowel_movements_per_day"] = float(1 if stools < 1 else stools)
    elif site == "jejunum_ileum" and rnd() < 0.3:
        t["bowel_movements_per_day"] = float(1 + int(rnd() * 3))
    if syndromes:
        t["symptoms_controlled"] = rnd() < 0.55
    t["hereditary_syndrome"] = hered

    p.in_situ = _primary_in_situ(rnd, p, site)
    if not p.in_situ:
        _resected(rnd, p, t, site, kind, function, size)
    for field in _PATTERNS["tumour"][int(rnd() * N_PATTERNS)]:  # missingness
        t.pop(field, None)
    return t


def _hereditary(kind: str, site: str, function: str, gtype: int | None) -> Mapping[str, float]:
    """Hereditary-syndrome probabilities of a tumour (sources in the document)."""
    if kind == "phaeochromocytoma":
        return {"men2": 0.06, "vhl": 0.09, "nf1": 0.03, "sdhx": 0.05, "none": 0.77}
    if kind == "paraganglioma":
        return {"sdhx": 0.20, "vhl": 0.03, "men2": 0.01, "nf1": 0.01, "none": 0.75}
    if kind == "medullary_thyroid_carcinoma":
        return {"men2": 0.25, "none": 0.75}
    if site == "pancreas":
        if function == "gastrinoma":
            return {"men1": 0.25, "none": 0.75}
        return {"men1": 0.05, "vhl": 0.02, "nf1": 0.005, "tsc": 0.003, "none": 0.922}
    if site == "stomach" and gtype == 2:
        return {"men1": 0.90, "none": 0.10}
    if site == "duodenum":
        return {"men1": 0.05, "nf1": 0.02, "none": 0.93}
    if site == "thymus":
        return {"men1": 0.10, "none": 0.90}
    if site == "lung":
        return {"men1": 0.02, "none": 0.98}
    return {"men1": 0.002, "none": 0.998}


def _stage_probs(kind: str, site: str, lung: str | None, key: str, function: str) -> Stage:
    if kind == "net":
        return STAGE_NET[key if function == "none" else PNET_STAGE_KEY[function]]
    if kind == "nec":
        group = "sclc" if lung == "sclc" else "nec_unknown" if site == "unknown" else "nec"
        return STAGE_OTHER[group]
    return STAGE_OTHER[kind]


def _grade_probs(kind: str, key: str, stage: str) -> Mapping[str | None, float]:
    if kind == "net":
        g = GRADE_NET[key if key in GRADE_NET else "other"]
        if stage != "distant":
            return {grade: share for grade, share in g.items()}
        shift = g["G1"] * P_DISTANT_G1_AS_G2
        return {"G1": g["G1"] - shift, "G2": g["G2"] + shift, "G3": g["G3"]}
    if kind == "nec":
        return {"G3": 1.0}
    if kind == "minen":
        return {grade: share for grade, share in GRADE_MINEN.items()}
    return {None: 1.0}  # PPGL, MTC: no WHO GEP grade


# site, type, lung subtype, gastric type, pancreatic function, stage, grade, female,
# hereditary syndrome, mean age, sd of age, table key, median size of the primary (0:
# banded), template of the tumour section
TumourProfile = tuple[
    str,
    str,
    str | None,
    int | None,
    str,
    str,
    str | None,
    bool,
    str,
    float,
    float,
    str,
    float,
    dict[str, Any],
]


def _tumour_profiles() -> Dist[TumourProfile]:
    """The joint distribution of site, type, subtype, pancreatic function, stage, grade,
    sex and hereditary syndrome: the product of the conditional tables above."""
    weights: list[tuple[TumourProfile, float]] = []
    for site, p_site in SITE_WEIGHTS.items():
        kinds: list[tuple[str, str | None, float]]
        if site == "lung":
            kinds = [
                ("nec" if sub in ("lcnec", "sclc") else "net", sub, share)
                for sub, share in LUNG_SUBTYPE.items()
            ]
        else:
            kinds = [(kind, None, share) for kind, share in TYPE_BY_SITE[site].items()]
        for kind, lung, p_kind in kinds:
            variants: list[tuple[int | None, str, float]] = [(None, "none", 1.0)]
            if kind == "net" and site == "stomach":
                variants = [(g, "none", share) for g, share in GASTRIC_TYPE.items()]
            elif kind == "net" and site == "pancreas":
                variants = [(None, f, share) for f, share in PNET_FUNCTION.items()]
            for gtype, function, p_variant in variants:
                key = lung or (f"stomach_{gtype}" if gtype else site)
                tmpl: dict[str, Any] = {"primary_site": site, "type": kind}
                if lung:
                    tmpl["lung_subtype"] = lung
                    if kind == "nec":
                        tmpl["nec_subtype"] = "large_cell" if lung == "lcnec" else "small_cell"
                if gtype:
                    tmpl["gastric_type"] = gtype
                group = "nec" if kind == "nec" else kind if kind in DEMOGRAPHY else site
                mean, sd, p_female = DEMOGRAPHY[group]
                hereditary = _hereditary(kind, site, function, gtype)
                stages = zip(STAGES, _stage_probs(kind, site, lung, key, function), strict=True)
                for stage, p_stage in stages:
                    for grade, p_grade in _grade_probs(kind, key, stage).items():
                        for female, p_sex in ((True, p_female), (False, 1.0 - p_female)):
                            for hered, p_hered in hereditary.items():
                                prob = p_site * p_kind * p_variant * p_stage
                                prob *= p_grade * p_sex * p_hered
                                if prob > 0.0:
                                    profile = (site, kind, lung, gtype, function, stage)
                                    size = _size_median(kind, site, function, gtype, stage)
                                    record = (grade, female, hered, mean, sd, key, size, tmpl)
                                    weights.append(((*profile, *record), prob))
    return Dist(weights)


STAGES: Final = ("localised", "regional", "distant")


def _proliferation(rnd: Rnd, p: _Profile, t: dict[str, Any], key: str, grade: str | None) -> None:
    """Ki-67 and mitoses consistent with the grade (WHO 2019/2022); the stated grade."""
    kind = p.type
    ki67: float | None
    if kind == "net" or grade == "G2":
        ki67 = _ki67(rnd, grade or "G2")
    elif kind == "nec" or kind == "minen":
        if rnd() < (0.70 if kind == "nec" else 0.55):  # most NECs: Ki-67 > 55 %
            ki67 = int(551.0 + rnd() * 400.0) / 10.0
        else:
            ki67 = _ki67(rnd, "G3")
    else:  # phaeochromocytoma, paraganglioma, medullary thyroid carcinoma
        ki67 = int(5.0 + rnd() * 45.0) / 10.0 if rnd() < 0.25 else None
    if grade is not None:
        stated = DISCORDANT_GRADE[grade] if rnd() < P_GRADE_DISCORDANT else grade
        if not key.endswith("carcinoid") or rnd() < 0.4:  # lung carcinoids: seldom graded
            t["grade"] = stated
        if rnd() < 0.35:
            t["mitotic_count_per_2mm2"] = _mitoses(rnd, grade, p.nec)
    if ki67 is not None:
        t["ki67_percent"] = ki67


def _ki67(rnd: Rnd, grade: str) -> float:
    """Ki-67 (%) within its WHO grade; pathologists often report whole numbers."""
    if grade == "G1":
        value = int(3.0 + rnd() * 26.5) / 10.0  # 0.3-2.9
        return value if value < 2.9 else 2.9
    if grade == "G2":
        value = 3.0 * math.exp(rnd() * LOG_20_OVER_3)  # log-uniform 3-20: mostly low
    else:
        value = 20.1 * math.exp(rnd() * LOG_55_OVER_20)  # log-uniform 20.1-55
        if rnd() < 0.10:
            value = 55.0 + rnd() * 25.0
    value = float(int(value + 0.5)) if rnd() < 0.5 else int(value * 10.0 + 0.5) / 10.0
    if grade == "G2":
        return 3.0 if value < 3.0 else 20.0 if value > 20.0 else value
    return 21.0 if value < 20.1 else value


LOG_20_OVER_3: Final = math.log(20.0 / 3.0)
LOG_55_OVER_20: Final = math.log(55.0 / 20.1)


def _mitoses(rnd: Rnd, grade: str, nec: bool) -> float:
    u = rnd()
    if grade == "G1":
        return 0.0 if u < 0.7 else 1.0
    if grade == "G2":  # the mitotic grade is often lower than the Ki-67 grade
        return float(int(u * 2)) if rnd() < 0.4 else float(2 + int(u * 9))
    if nec or rnd() < 0.5:
        return float(21 + int(u * 60))
    return float(2 + int(u * 19))


def _size_median(kind: str, site: str, function: str, gtype: int | None, stage: str) -> float:
    """Median size (cm) of a primary drawn log-normally; 0 for the banded rectal and
    appendiceal NETs."""
    if kind == "net" and (site == "rectum" or site == "appendix"):
        return 0.0
    if kind == "phaeochromocytoma" or kind == "paraganglioma":
        median = 4.5
    elif kind == "medullary_thyroid_carcinoma":
        median = 2.0
    elif function == "insulinoma":
        median = 1.5
    elif gtype == 1 or gtype == 2:
        median = 0.6
    else:
        median = PRIMARY_SIZE_MEDIAN_CM.get(site, 2.0)
        if kind == "nec" and median < 3.5:
            median = 3.5
    return median * 1.3 if stage == "distant" else median


def _banded_size(rnd: Rnd, site: str, stage: str) -> float:
    """Size (cm) of a rectal or appendiceal NET: mostly < 1 cm, larger when spread."""
    small, mid = RECTUM_SIZE_BANDS if site == "rectum" else APPENDIX_SIZE_BANDS
    u = rnd()
    if stage != "localised":
        u = small + (1.0 - small) * u
    if u < small:
        size = 0.2 + u / small * 0.75
    elif u < small + mid:
        size = 1.0 + (u - small) / mid
    else:
        size = 2.1 + rnd() * 3.0
    return int(size * 10.0 + 0.5) / 10.0


def _liver(rnd: Rnd, p: _Profile) -> None:
    """Liver metastases of a distant-stage case, and their burden."""
    p.liver = rnd() < P_LIVER_GIVEN_DISTANT[p.type] or (p.site == "unknown" and rnd() < 0.5)
    if not p.liver:
        return
    band = LIVER_COUNT_BAND(rnd())
    if band == 1:
        count = 1
    elif band == 3:
        count = 2 + int(rnd() * 2)
    elif band == 10:
        count = 4 + int(rnd() * 7)
    else:
        count = 11 + int(-15.0 * math.log(1.0 - rnd()))
    p.liver_count = count if count < 80 else 80
    low, high = (1.0, 15.0) if count <= 3 else (5.0, 40.0) if count <= 10 else (10.0, 80.0)
    p.liver_pct = low + (high - low) * rnd() ** 1.5


def _syndromes(rnd: Rnd, p: _Profile, kind: str, site: str, function: str) -> list[str]:
    if kind == "net":
        if site == "pancreas":
            if function == "none":
                return []
            if function == "gastrinoma" and p.hered == "men1" and rnd() < 0.05:
                return ["gastrinoma", "insulinoma"]
            return [function]
        if site == "duodenum":
            u = rnd()
            if u < 0.13:
                return ["gastrinoma"] if u < 0.10 else ["other"]
        elif (site == "lung" or site == "thymus") and rnd() < (0.02 if site == "lung" else 0.1):
            return ["ectopic_acth"]
        probs = CARCINOID_SYNDROME.get(site, CARCINOID_SYNDROME["other"])
        if p.liver:
            prob = probs[0]
        elif p.distant:
            prob = probs[1]
        else:
            prob = probs[2] if p.stage == "regional" else probs[3]
        return ["carcinoid_syndrome"] if rnd() < prob else []
    if kind == "phaeochromocytoma":
        return ["catecholamine_excess"] if rnd() < 0.65 else []
    if kind == "paraganglioma":
        return ["catecholamine_excess"] if rnd() < 0.30 else []
    if kind == "medullary_thyroid_carcinoma":
        return ["other"] if rnd() < (0.25 if p.distant else 0.03) else []  # diarrhoea
    return []


def _primary_in_situ(rnd: Rnd, p: _Profile, site: str) -> bool:
    if site == "unknown":
        return True  # never found, so never resected
    if p.stage == "localised":
        prob = P_PRIMARY_IN_SITU_LOCALISED.get(site, 0.45)
    elif p.stage == "regional":
        prob = 0.45
    else:
        prob = 0.85 if p.nec else 0.60
    return rnd() < prob


def _resected(
    rnd: Rnd, p: _Profile, t: dict[str, Any], site: str, kind: str, function: str, size: float
) -> None:
    """Pathology of a resected primary and the operation that removed it."""
    u = rnd()
    r1 = 0.20 if site in ENDOSCOPIC_SITES else 0.15
    t["resection_margin"] = "r0" if u < 0.97 - r1 else "r1" if u < 0.97 else "r2"
    t["lymphovascular_invasion"] = rnd() < (0.10 if p.stage == "localised" else 0.50)
    if site in DEPTH_SITES and rnd() < 0.6:
        t["depth_of_invasion"] = _depth(rnd(), site, size)
    if site == "appendix" and kind == "net":  # mesoappendiceal invasion, mostly none
        invaded = rnd() < (0.10 if size < 1.0 else 0.25 if size <= 2.0 else 0.50)
        t["mesoappendiceal_invasion_mm"] = float(1 + int(rnd() * 8)) if invaded else 0.0
    if site in ENDOSCOPIC_SITES and size <= 2.0 and p.stage == "localised":
        p.surgery = "endoscopic_resection"
    elif function == "insulinoma":
        p.surgery = "enucleation" if rnd() < 0.6 else "distal_pancreatectomy"
    elif kind == "phaeochromocytoma":
        p.surgery = "adrenalectomy"
    elif kind == "medullary_thyroid_carcinoma":
        p.surgery = "total_thyroidectomy"
    else:
        options = SURGERY_BY_SITE.get(site, ("resection",))
        p.surgery = options[int(rnd() * len(options))]


def _depth(u: float, site: str, size: float) -> str:
    if site in ENDOSCOPIC_SITES and size <= 2.0:
        return "mucosa" if u < 0.2 else "submucosa" if u < 0.9 else "muscularis_propria"
    cut = (0.3, 0.6, 0.9) if site == "appendix" else (0.15, 0.45, 0.85)
    if u < cut[0]:
        return "submucosa"
    if u < cut[1]:
        return "muscularis_propria"
    return "subserosa" if u < cut[2] else "serosa"


PNET_STAGE_KEY: Final[Mapping[str, str]] = {
    "insulinoma": "insulinoma",
    "gastrinoma": "gastrinoma",
    "glucagonoma": "glucagonoma",
    "vipoma": "vipoma",
    "other": "pnet_other",
}
MULTIFOCAL_SITES: Final = frozenset({"jejunum_ileum", "stomach", "duodenum", "pancreas"})
ENDOSCOPIC_SITES: Final = frozenset({"rectum", "stomach", "duodenum"})
DEPTH_SITES: Final = frozenset(
    {"rectum", "appendix", "colon", "stomach", "duodenum", "jejunum_ileum"}
)
# (share < 1 cm, share 1-2 cm); the rest > 2 cm
RECTUM_SIZE_BANDS: Final = (0.90, 0.08)
APPENDIX_SIZE_BANDS: Final = (0.60, 0.30)


# ------------------------------------------------------------------ disease


def _disease(rnd: Rnd, p: _Profile, iso: list[str]) -> dict[str, Any]:
    stage, distant, liver = p.stage, p.distant, p.liver
    if stage == "localised":
        nodes = False
    elif stage == "regional":
        nodes = True
    else:
        nodes = rnd() < (0.75 if p.site == "jejunum_ileum" else 0.55)
    residual = p.residual = p.in_situ or nodes or distant
    d: dict[str, Any] = {"primary_in_situ": p.in_situ, "regional_nodes": nodes}
    extra: list[str] = []
    if liver:
        count, pct = p.liver_count, p.liver_pct
        largest = (2.5 if count <= 3 else 3.5) * _LOGNORMAL_05[int(rnd() * N_GRID)]
        if rnd() < 0.6 and pct >= 2.5:
            pct_recorded = float(5 * int(pct / 5.0 + 0.5))  # radiologists' estimate
        else:
            pct_recorded = float(int(pct + 0.5))
        bilobar = 0.0 if count == 1 else 0.35 if count <= 3 else 0.75 if count <= 10 else 0.95
        d["liver_metastases"] = _drop(
            rnd,
            {
                "present": True,
                "count": count,
                "largest_cm": 0.3 if largest < 0.3 else int(largest * 10.0 + 0.5) / 10.0,
                "liver_involvement_percent": pct_recorded,
                "bilobar": rnd() < bilobar,
            },
            "liver_metastases",
        )
    else:
        d["liver_metastases"] = {"present": False}
    if distant:
        want = 0 if liver and rnd() < 0.55 else 1 if rnd() < 0.70 else 2 if rnd() < 0.83 else 3
        while len(extra) < want:
            where = EXTRAHEPATIC(rnd())
            if where not in extra and (where != "ovary" or p.female):
                extra.append(where)
    d["extrahepatic_metastases"] = extra
    d["residual_disease"] = residual
    if distant:
        bone = p.bone = "bone" in extra
        if bone or rnd() < 0.5:  # recorded as "no" when there are no bone metastases
            d["bone_metastases_symptomatic"] = bone and rnd() < P_BONE_SYMPTOMATIC
            d["spinal_cord_compression"] = bone and rnd() < P_CORD_COMPRESSION
        few = (liver and p.liver_count <= 3 and not extra) or (
            not liver and len(extra) == 1 and rnd() < 0.4
        )
        d["oligometastatic"] = few
    if liver:
        d["liver_dominant"] = rnd() < (0.50 if extra else 0.92)
        easy = p.liver_count <= 5 and p.liver_pct < 25 and p.grade != "G3" and not extra
        resectable = d["liver_resectable"] = rnd() < (0.60 if easy else 0.05)
        if p.type == "net" and rnd() < 0.15:
            d["debulkable_percent"] = float(5 * (6 + int(rnd() * 15)))  # 30-100 in fives
    else:
        resectable = False
    if residual:
        if distant:
            curable = resectable and not extra and not p.nec
            d["resectable_for_cure"] = curable and rnd() < 0.8
        else:
            d["resectable_for_cure"] = rnd() < (0.85 if stage == "localised" else 0.70)
        # course over the last 12 months (RECIST)
        if distant:
            prog, stable = (0.60, 0.90) if p.nec else (0.35, 0.90)
        elif stage == "regional":
            prog, stable = 0.15, 0.85
        else:
            prog, stable = 0.05, 0.60
        u = rnd()
        progression = "progressive" if u < prog else "stable" if u < stable else "unknown"
        d["progression"] = progression
        measurable = 0.85 if distant else 0.60 if stage == "regional" else 0.50
        d["measurable_recist"] = rnd() < measurable
    else:  # no disease left after resection
        progression = "stable" if rnd() < 0.3 else "unknown"
        if rnd() < 0.3:
            d["progression"] = progression
        d["measurable_recist"] = False
    p.progression = progression
    if progression == "progressive":
        months = 0.5 + rnd() * 11.5 if rnd() < 0.85 else 12.0 + rnd() * 6.0
        d["progression_date"] = iso[int(months * DAYS_PER_MONTH)]
    elif progression == "stable":
        d["stable_since"] = iso[int((1.0 + rnd() * 47.0) * DAYS_PER_MONTH)]
    if p.cs:
        chd = d["carcinoid_heart_disease"] = rnd() < CARCINOID_HEART_DISEASE
        if chd:
            d["chd_valve_severity"] = CHD_SEVERITY(rnd())
        elif rnd() < 0.5:
            d["chd_valve_severity"] = "none"
    elif p.site == "jejunum_ileum" and distant and rnd() < 0.5:
        d["carcinoid_heart_disease"] = False
    for key in _PATTERNS["disease"][int(rnd() * N_PATTERNS)]:  # missingness
        d.pop(key, None)
    return d


# ------------------------------------------------------------------ imaging


def _imaging(rnd: Rnd, p: _Profile, iso: list[str]) -> dict[str, Any]:
    img: dict[str, Any] = {}
    kind, grade, residual = p.type, p.grade, p.residual
    if kind == "net":
        if not residual:
            done = 0.15
        else:
            done = 0.92 if p.distant else 0.75 if p.stage == "regional" else 0.50
    else:
        done = 0.30 if kind == "medullary_thyroid_carcinoma" else 0.40
    if rnd() < done:
        modality = SSTR_MODALITY.values[bisect_right(SSTR_MODALITY.cum, rnd())]
        chance = SSTR_POSITIVE[grade or "G2"] if kind == "net" else SSTR_POSITIVE[kind]
        positive = residual and rnd() < chance
        sstr: dict[str, Any] = {"modality": modality, "positive": positive}
        if positive:
            uptake = sstr["uptake_vs_liver"] = UPTAKE.values[bisect_right(UPTAKE.cum, rnd())]
            if uptake == "above":
                sstr["krenning_score"] = 4 if rnd() < 0.55 else 3
            else:
                sstr["krenning_score"] = 2 if uptake == "equal" else 1
            sstr["all_lesions_avid"] = rnd() < 0.80
        elif rnd() < 0.5:
            sstr["krenning_score"] = 0
        u = rnd()  # 60 % within 6 months, 25 % 6-12 months, 15 % 12-24 months
        months = (
            u * 10.0
            if u < 0.6
            else 6.0 + (u - 0.6) * 24.0
            if u < 0.85
            else (u - 0.85) * 80.0 + 12.0
        )
        if modality == "octreoscan":
            months += 12.0
        sstr["date"] = iso[int(months * DAYS_PER_MONTH)]
        img["sstr"] = _drop(rnd, sstr, "sstr")
    if (kind in MIBG_POSITIVE and rnd() < 0.55) or (kind == "net" and rnd() < 0.03):
        positive = residual and rnd() < MIBG_POSITIVE.get(kind, 0.5)
        mibg: dict[str, Any] = {"positive": positive}
        if positive and rnd() < 0.8:
            mibg["all_lesions_avid"] = rnd() < 0.7
        if rnd() < 0.85:
            mibg["date"] = iso[_days(rnd() * 12.0)]
        img["mibg"] = mibg
    if p.liver and rnd() < P_MAA_SCAN:  # Tc-99m MAA work-up for SIRT
        shunt = 6.0 * _LOGNORMAL_07[int(rnd() * N_GRID)]
        img["lung_shunt_percent"] = 40.0 if shunt > 40.0 else int(shunt * 10.0 + 0.5) / 10.0
    fdg = 0.60 if p.nec or grade == "G3" else 0.15 if grade == "G2" and p.distant else 0.03
    if rnd() < fdg:
        chance = 0.90 if p.nec else 0.70 if grade == "G3" else 0.35
        positive = residual and rnd() < chance
        fdg_pet: dict[str, Any] = {"positive": positive}
        if positive:
            mismatch = 0.60 if p.nec else 0.40 if grade == "G3" else 0.20
            fdg_pet["sstr_negative_lesions"] = rnd() < mismatch
        elif rnd() < 0.7:
            fdg_pet["sstr_negative_lesions"] = False
        img["fdg_pet"] = fdg_pet
    return img


# ------------------------------------------------------------------ labs


def _labs(rnd: Rnd, p: _Profile, iso: list[str]) -> dict[str, Any]:
    """Blood results: normal ranges with realistic tails (renal, hepatic, marrow).

    Each value is one uniform looked up in a precomputed grid of rounded values: the
    reference distribution's quantiles, preceded by its tail (see ``_mixture``).
    """
    g = N_LAB
    sick, liver = p.distant, p.liver
    u = rnd()
    if u < 0.05:  # CKD stage 4-5
        egfr = float(int(8.0 + u * 500.0))
    else:
        egfr = 100.0 - 0.8 * (p.age - 40) + _EGFR_DEVIATION[int((u - 0.05) * (N_GRID / 0.95))]
        egfr = 5.0 if egfr < 5.0 else 130.0 if egfr > 130.0 else float(int(egfr + 0.5))
    i = int(rnd() * g)
    wbc = _WBC[int(rnd() * g)]
    u = rnd()
    labs: dict[str, Any] = {
        "egfr_ml_min": egfr,
        "creatinine_clearance_ml_min": float(int(egfr * (0.85 + 0.3 * u) + 0.5)),
        "bilirubin_x_uln": _BILIRUBIN_X_ULN[liver][i],
        "albumin_g_l": _ALBUMIN[sick][int(rnd() * g)],
        "haemoglobin_g_l": _HAEMOGLOBIN[p.female, sick and p.nec][int(rnd() * g)],
        "platelets_10e9_l": _PLATELETS[int(rnd() * g)],
        "wbc_10e9_l": wbc,
        "neutrophils_10e9_l": int(wbc * (4.5 + 2.5 * rnd()) + 0.5) / 10.0,
        "bilirubin_umol_l": _BILIRUBIN_UMOL_L[liver][i],
        "alt_x_uln": _ALT_X_ULN[liver][int(rnd() * g)],
        "inr": _INR[int(rnd() * g)],
        "date": iso[int(u * u * 120.0)],  # mostly within the last few weeks
    }
    cs = p.cs
    if cs or (sick and p.site == "jejunum_ileum"):
        u = rnd()
        if u < 0.55:
            median = 900.0 if cs and rnd() < CARCINOID_HEART_DISEASE else 150.0
            labs["nt_probnp_ng_l"] = float(int(median * _LOGNORMAL_08[int(u / 0.55 * N_GRID)]))
    else:
        u = rnd()
        if u < 0.15:
            labs["nt_probnp_ng_l"] = float(int(100.0 * _LOGNORMAL_08[int(u / 0.15 * N_GRID)]))
    if cs or ((p.site == "jejunum_ileum" or p.site == "unknown") and rnd() < 0.5):
        u = rnd()
        if u < 0.6:
            median = 300.0 if cs else 80.0 if liver else 30.0
            labs["u5hiaa_umol_24h"] = float(int(median * _LOGNORMAL_07[int(u / 0.6 * N_GRID)]))
    if p.female and p.age < 50 and rnd() < P_PREGNANCY_TEST:
        labs["pregnancy_test"] = "positive" if p.pregnant else "negative"
    for key in _PATTERNS["labs"][int(rnd() * N_PATTERNS)]:  # missingness
        labs.pop(key, None)
    return labs


def _lognormal(sigma: float) -> tuple[float, ...]:
    """exp(sigma * z) on the normal grid: a log-normal factor with median 1."""
    return tuple(math.exp(sigma * x) for x in _NORMAL)


def _grid(
    mean: float, sd: float, low: float, high: float, *, log: bool = False, digits: int = 0
) -> tuple[float, ...]:
    """Values of a normal (or, with ``log``, log-normal around ``mean``) on the normal grid,
    clipped to [low, high] and rounded to ``digits`` decimals."""
    values = (mean * math.exp(sd * x) if log else mean + sd * x for x in _NORMAL)
    return tuple(float(round(min(high, max(low, v)), digits)) for v in values)


def _mixture(
    body: tuple[float, ...],
    tail: float = 0.0,
    low: float = 0.0,
    high: float = 0.0,
    digits: int = 0,
) -> tuple[float, ...]:
    """A grid of ``N_LAB`` values drawn from with one uniform: with probability ``tail`` a
    value spread evenly over [low, high) (fine enough to hit every rounded value), else
    one of the body's quantiles."""
    n_tail = round(tail * N_LAB)
    n_body = N_LAB - n_tail
    tail_values = (low + (high - low) * (k + 0.5) / n_tail for k in range(n_tail))
    return tuple(float(round(v, digits)) for v in tail_values) + tuple(
        body[int((k + 0.5) * len(body) / n_body)] for k in range(n_body)
    )


N_LAB: Final = 4096  # values on each blood-value grid


_LOGNORMAL_045: Final = _lognormal(0.45)
_LOGNORMAL_05: Final = _lognormal(0.5)
_LOGNORMAL_07: Final = _lognormal(0.7)
_LOGNORMAL_08: Final = _lognormal(0.8)
# The blood values: reference distribution plus tail (probability, range), rounded as
# reported. eGFR: 100 - 0.8 x (age - 40) + N(0, 16), tail 5 % at 8-33 (in _labs).
_EGFR_DEVIATION: Final = tuple(16.0 * x for x in _NORMAL)
_BILI_BODY: Final = _grid(0.5, 0.4, 0.1, 8.0, log=True, digits=1)
_BILIRUBIN_X_ULN: Final = {  # by liver metastases: cholestasis 10 % at 1.0-4.0
    False: _mixture(_BILI_BODY),
    True: _mixture(_BILI_BODY, 0.10, 1.0, 4.0, digits=1),
}
_BILIRUBIN_UMOL_L: Final = {  # the same draw in umol/L (ULN 21 umol/L)
    liver: tuple(float(round(v * 21.0)) for v in grid) for liver, grid in _BILIRUBIN_X_ULN.items()
}
_PLATELETS: Final = _mixture(_grid(250.0, 0.3, 20.0, 800.0, log=True), 0.04, 20.0, 130.0)
_WBC: Final = _mixture(_grid(6.5, 0.28, 1.0, 25.0, log=True, digits=1), 0.03, 1.2, 4.0, 1)
_ALT_BODY: Final = _grid(0.6, 0.45, 0.1, 10.0, log=True, digits=1)
_ALT_X_ULN: Final = {
    False: _mixture(_ALT_BODY),
    True: _mixture(_ALT_BODY, 0.08, 1.5, 5.5, digits=1),
}
_INR: Final = _mixture(_grid(1.0, 0.07, 0.8, 1.6, digits=1), 0.05, 1.2, 3.0, digits=1)
_ALBUMIN: Final = {
    False: _mixture(_grid(40.0, 4.0, 15.0, 52.0)),
    True: _mixture(_grid(36.0, 5.0, 15.0, 52.0)),
}
_HAEMOGLOBIN: Final = {  # by (female, distant NEC); anaemia 2 % at 62-102
    (female, nec): _mixture(
        _grid((130.0 if female else 142.0) - (10.0 if nec else 0.0), 14.0, 60.0, 185.0),
        0.02,
        62.0,
        102.0,
    )
    for female in (False, True)
    for nec in (False, True)
}


# ------------------------------------------------------------------ performance


def _performance(rnd: Rnd, p: _Profile) -> dict[str, Any]:
    group = ("distant_nec" if p.nec else "distant_net") if p.distant else p.stage
    perf = _draw_performance(rnd, group, p.age >= 80, p.type == "phaeochromocytoma", p.gtype == 1)
    if p.liver and rnd() < P_CHILD_PUGH_RECORDED:  # scored when liver therapy is weighed
        perf["child_pugh"] = CHILD_PUGH[p.liver_pct >= 50.0](rnd())
    return perf


def _draw_performance(
    rnd: Rnd, group: str, old: bool, phaeo: bool, gastric1: bool
) -> dict[str, Any]:
    ecogs = ECOG[group]
    ecog = ecogs(rnd())
    if old and ecog < 2 and rnd() < 0.3:
        ecog += 1
    perf: dict[str, Any] = {"ecog": ecog}
    if rnd() < 0.20:
        karnofsky = KARNOFSKY_FOR_ECOG[ecog][int(rnd() * 2)]
        if rnd() < 0.02:  # an inconsistent record
            karnofsky += 30 if karnofsky <= 70 else -30
        perf["karnofsky"] = karnofsky
    if group == "distant_nec":
        months = 2.0 + rnd() * 22.0
    elif group == "distant_net":
        months = 12.0 + rnd() * 108.0
    else:
        months = 60.0 + rnd() * 120.0
    if ecog >= 3:
        months = 1.0 + rnd() * 8.0
    perf["life_expectancy_months"] = float(int(months + 0.5))
    comorbidities: list[str] = []
    if rnd() < P_ANY_COMORBIDITY:
        comorbidities.append(COMORBIDITY(rnd()))
        if rnd() < 0.3:
            comorbidities.append(COMORBIDITY(rnd()))
    if phaeo and rnd() < 0.3:
        comorbidities.append("uncontrolled_hypertension")
    if gastric1 and rnd() < 0.6:
        comorbidities.append("autoimmune_disease")  # autoimmune atrophic gastritis
    perf["comorbidities"] = sorted(set(comorbidities))
    perf["can_isolate_after_radionuclide"] = rnd() < 0.90
    for key in _PATTERNS["performance"][int(rnd() * N_PATTERNS)]:  # missingness
        perf.pop(key, None)
    return perf


# ------------------------------------------------------------------ history


def _treatment(
    therapy: str, start: int, end: int | None, iso: list[str], outcome: str | None = None
) -> dict[str, Any]:
    """One prior treatment; ``start`` and ``end`` are days before the assessment."""
    entry: dict[str, Any] = {"therapy": therapy, "start": iso[start]}
    if end is not None:
        entry["end"] = iso[end if end < start else start]  # never before the start
    if outcome is not None:
        entry["outcome"] = outcome
    return entry


def _history(rnd: Rnd, p: _Profile, iso: list[str]) -> dict[str, Any]:
    h: dict[str, Any] = {}
    treatments: list[tuple[int, dict[str, Any]]] = []
    progressive = p.progression == "progressive"
    resected = not p.in_situ and p.surgery is not None
    resection = 0
    if resected:
        resection = int((1.0 + rnd() * 71.0 if rnd() < 0.85 else rnd() * 6.0) * DAYS_PER_MONTH)
        h["primary_resection_date"] = iso[resection]
        if rnd() < 0.4:
            if p.surgery == "endoscopic_resection":
                therapy = "endoscopic_resection"
            else:
                therapy = "surgery_debulking" if p.distant else "surgery_curative"
            treatments.append((resection, _treatment(therapy, resection, resection, iso)))
    kind = p.type
    if kind == "net":
        if p.distant or (p.stage == "regional" and p.in_situ):
            _net_treatments(rnd, p, iso, treatments, progressive)
    elif kind == "nec" or kind == "minen":
        if p.distant and rnd() < 0.75:  # platinum-etoposide
            start = _days(1.0 + rnd() * 18.0)
            end = None if rnd() < 0.4 else start - _days(3.0 + rnd() * 2.0)
            if rnd() < 0.08:
                outcome = "toxicity"
            elif progressive:
                outcome = "progression"
            else:
                outcome = "response" if rnd() < 0.5 else "stable"
            entry = _treatment("chemotherapy", start, _floor0(end), iso, outcome)
            if rnd() < P_REGIMEN_RECORDED:
                entry["regimen"] = "platinum_etoposide"
            treatments.append((start, entry))
        elif resected and not p.distant and rnd() < 0.30:  # adjuvant
            start = resection - _days(1.0 + rnd())
            start = start if start > 0 else 0
            end = _floor0(start - _days(3.0 + rnd() * 2.0))
            entry = _treatment("chemotherapy", start, end, iso, "stable")
            if rnd() < P_REGIMEN_RECORDED:
                entry["regimen"] = "platinum_etoposide"
            treatments.append((start, entry))
    elif (kind == "phaeochromocytoma" or kind == "paraganglioma") and p.distant and rnd() < 0.15:
        start = _days(6.0 + rnd() * 36.0)
        end = _floor0(start - _days(2.0 + rnd() * 6.0))
        outcome = "progression" if progressive else "stable"
        entry = _treatment("mibg_i131", start, end, iso, outcome)
        entry["cycles"] = 2
        treatments.append((start, entry))
    if "catecholamine_excess" in p.syndromes and rnd() < 0.7:  # alpha- then beta-blockade
        h["alpha_blockade_established"] = rnd() < 0.6
    hormonal = [s for s in p.syndromes if s in HORMONE_CONTROL]
    if hormonal and rnd() < 0.4:  # diazoxide, high-dose PPI, blockade, steroidogenesis
        start = _days(1.0 + rnd() * 24.0)
        entry = _treatment("hormone_syndrome_control", start, None, iso, "response")
        treatments.append((start, entry))
    if p.bone and rnd() < P_BONE_RADIOTHERAPY:
        start = _days(1.0 + rnd() * 24.0)
        entry = _treatment("palliative_radiotherapy", start, start, iso, "response")
        treatments.append((start, entry))
    liver_directed: list[str] = []
    if p.liver:
        for therapy, prob in PRIOR_LIVER_DIRECTED:
            if rnd() < prob:
                liver_directed.append(therapy)
    if "sirt" in liver_directed and rnd() < 0.7:
        start = _days(3.0 + rnd() * 36.0)
        outcome = "response" if rnd() < 0.5 else "stable"
        treatments.append((start, _treatment("sirt", start, start, iso, outcome)))
    if len(treatments) > 1:
        treatments.sort(key=_oldest_first)
    h["prior_treatments"] = [entry for _, entry in treatments]
    h["prior_surgery"] = [p.surgery] if resected else []
    h["biliary_enteric_anastomosis"] = resected and p.surgery == "whipple"
    head = p.site == "pancreas" and p.in_situ
    h["biliary_stent_or_sphincterotomy"] = rnd() < (0.10 if head else 0.02)
    h["portal_vein_thrombosis"] = rnd() < (0.06 if p.site == "pancreas" and p.distant else 0.01)
    h["prior_liver_directed_therapy"] = liver_directed
    for key in _PATTERNS["history"][int(rnd() * N_PATTERNS)]:  # missingness
        h.pop(key, None)
    return h


def _floor0(days: int | None) -> int | None:
    return None if days is None else days if days > 0 else 0


def _oldest_first(item: tuple[int, dict[str, Any]]) -> int:
    return -item[0]


PRIOR_LIVER_DIRECTED: Final = (
    ("embolisation", 0.10),
    ("sirt", 0.03),
    ("ablation", 0.05),
    ("resection", 0.05),
)
P_PRRT_LU177: Final = 0.15  # of advanced NETs on SSA for more than 10 months


def _net_treatments(
    rnd: Rnd,
    p: _Profile,
    iso: list[str],
    treatments: list[tuple[int, dict[str, Any]]],
    progressive: bool,
) -> None:
    """Systemic and liver-directed treatment typical of advanced well-differentiated NET."""
    on_ssa = rnd() < (0.85 if p.cs else 0.75 if p.grade != "G3" else 0.40)
    ssa_start = _days(2.0 + rnd() * 70.0)
    if on_ssa:
        u = rnd()
        if u < 0.03:
            outcome = "toxicity"
        elif u < 0.88:
            outcome = "progression" if progressive else "stable"
        else:
            outcome = "response" if u < 0.94 else "unknown"
        end = None if outcome != "toxicity" else _floor0(ssa_start - _days(1.0 + rnd() * 6.0))
        treatments.append((ssa_start, _treatment("ssa_long_acting", ssa_start, end, iso, outcome)))
    if p.cs:
        if rnd() < 0.25:
            start = _days(rnd() * 24.0)
            treatments.append((start, _treatment("ssa_short_acting", start, None, iso, "stable")))
        if rnd() < 0.08:
            start = _days(rnd() * 18.0)
            treatments.append((start, _treatment("telotristat", start, None, iso, "response")))
    if on_ssa and ssa_start > _days(10.0) and rnd() < P_PRRT_LU177:  # Lu-177 PRRT after SSA
        start = _days(8.0 + rnd() * (ssa_start / DAYS_PER_MONTH - 8.0))
        u = rnd()
        cycles = 4 if u < 0.80 else 3 if u < 0.88 else 2 if u < 0.95 else 1
        end = start - _days(2.0 * cycles - 1.5 + rnd())
        end = end if end > 0 else 0
        u = rnd()
        if cycles < 4 and u < 0.5:
            outcome = "toxicity"
        else:
            outcome = "response" if u < 0.35 else "stable" if u < 0.75 else "progression"
        entry = _treatment("prrt_lu177_dotatate", start, end, iso, outcome)
        entry["cycles"] = cycles
        if rnd() < 0.6:
            pfs = 6.0 + rnd() * 34.0
            elapsed = end / DAYS_PER_MONTH
            entry["progression_free_months"] = float(int(pfs if pfs < elapsed else elapsed))
        treatments.append((start, entry))
    if rnd() < 0.01:
        start = _days(24.0 + rnd() * 60.0)
        entry = _treatment("prrt_y90_dotatoc", start, start - _days(4.0), iso, "stable")
        entry["cycles"] = 3
        treatments.append((start, entry))
    site, grade = p.site, p.grade
    for therapy, prob in (
        ("everolimus", 0.10 if site in EVEROLIMUS_SITES else 0.03),
        ("sunitinib", 0.06 if site == "pancreas" else 0.0),
        ("chemotherapy", 0.18 if site == "pancreas" else 0.06 if grade != "G1" else 0.01),
        ("interferon_alpha", 0.01),
        ("clinical_trial", 0.02),
        ("cabozantinib", 0.02 if site in EVEROLIMUS_SITES else 0.0),
    ):
        if rnd() < prob:
            start = _days(3.0 + rnd() * 40.0)
            end = _floor0(start - _days(2.0 + rnd() * 10.0))
            u = rnd()
            outcome = "progression" if u < 0.55 else "toxicity" if u < 0.73 else "stable"
            entry = _treatment(therapy, start, end, iso, outcome)
            if therapy == "chemotherapy" and rnd() < P_REGIMEN_RECORDED:
                entry["regimen"] = NET_REGIMEN[site == "pancreas"](rnd())
            treatments.append((start, entry))
    if p.liver and rnd() < 0.08:
        start = _days(3.0 + rnd() * 36.0)
        outcome = "response" if rnd() < 0.5 else "stable"
        treatments.append((start, _treatment("liver_embolisation", start, start, iso, outcome)))


EVEROLIMUS_SITES: Final = frozenset({"pancreas", "lung", "jejunum_ileum", "unknown"})

# Case format v1.1 facts (assumptions unless docs/synthetic-cohorts.md gives a source).
P_AMPULLARY: Final = 0.20  # (peri)ampullary share of duodenal NETs
APPENDIX_LOCATION: Final = Dist({"tip": 0.70, "body": 0.20, "base": 0.10})
P_BONE_SYMPTOMATIC: Final = 0.40  # of bone metastases
P_CORD_COMPRESSION: Final = 0.05  # of bone metastases
CHD_SEVERITY: Final = Dist({"mild": 0.25, "moderate": 0.35, "severe": 0.40})
P_MAA_SCAN: Final = 0.08  # of liver metastases
P_PREGNANCY_TEST: Final = 0.35  # of women under 50
P_CHILD_PUGH_RECORDED: Final = 0.40  # of liver metastases
CHILD_PUGH: Final = {  # by liver involvement >= 50 %
    False: Dist({"A": 0.92, "B": 0.07, "C": 0.01}),
    True: Dist({"A": 0.70, "B": 0.25, "C": 0.05}),
}
P_REGIMEN_RECORDED: Final = 0.60
NET_REGIMEN: Final = {  # by pancreatic primary
    True: Dist({"captem": 0.55, "streptozocin_based": 0.30, "temozolomide": 0.10, "other": 0.05}),
    False: Dist({"captem": 0.45, "folfox": 0.15, "capox": 0.10, "folfiri": 0.10, "other": 0.20}),
}
HORMONE_CONTROL: Final = frozenset(
    {"insulinoma", "gastrinoma", "vipoma", "catecholamine_excess", "ectopic_acth"}
)
P_BONE_RADIOTHERAPY: Final = 0.30


# ------------------------------------------------------------------ context


def _context(rnd: Rnd, p: _Profile) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "health_system": HEALTH_SYSTEM(rnd()),
        "preferences": [PREFERENCES[int(rnd() * len(PREFERENCES))]] if rnd() < 0.15 else [],
    }
    if rnd() < (0.40 if p.distant else 0.20):  # asked and recorded
        wish = 0.15 if p.distant and p.nec else 0.05 if p.distant else 0.01
        ctx["wishes_supportive_care_only"] = rnd() < wish
    for key in _PATTERNS["context"][int(rnd() * N_PATTERNS)]:  # missingness
        ctx.pop(key, None)
    return ctx


TUMOUR_PROFILES: Final = _tumour_profiles()
