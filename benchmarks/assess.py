"""Benchmark: the time ``netmdt.assess`` takes per case, next to validating that case.

Takes ``--n`` varied, valid cases (``--source synth``: netmdt's synthetic cohort, the
default; ``thresholds``: this module's seeded generator, values at every threshold),
checks that every one validates, then times per case (``time.perf_counter_ns``), all in
the same run, rounds interleaved, the order of the measures balanced over the rounds
(``balanced_orders``: each measure runs once right after each other one):

* ``Case.model_validate(d)``: the yardstick;
* the baseline: the engine as it was before issue 16 (``benchmarks/baseline.py``: the
  reference closures, every reason built);
* ``netmdt.assess`` (full view) and ``assess_summary`` as they run (the knowledge base
  compiled to Python).

Then, per case, its first assessment by each engine from empty caches that has seen
``--seen`` other cases (what a new patient costs; the rounds after the first are served
largely from what the engine keeps of the cases it has seen). It also reports the JSON
size of each view (median, p99), on these cases and on the cases written by hand (the
public scenarios and the bundled examples), and the load average. It prints figures only
(no assertions, no thresholds). Run from the repository root::

    .venv/bin/python -m benchmarks.assess [--n 10000] [--seed 2026] [--profile]

``generate_cases`` is importable (``from benchmarks.assess import generate_cases``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import platform
import pstats
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

import netmdt
from netmdt.assessment import VERDICTS
from netmdt.case.context import HealthSystem
from netmdt.case.disease import ExtrahepaticSite, Progression, ValveSeverity
from netmdt.case.history import LiverDirected, OptionId, Outcome, Regimen
from netmdt.case.imaging import SstrModality, Uptake
from netmdt.case.performance import Comorbidity
from netmdt.case.tumour import (
    ColonSegment,
    Depth,
    FunctionalSyndrome,
    Grade,
    HereditarySyndrome,
    LungSubtype,
    Margin,
    NecSubtype,
    PrimarySite,
    TumourType,
)
from netmdt.kb.model import KnowledgeBase

# ------------------------------------------------------------------ generator

ASSESSED_ON = date(2026, 11, 27)
P_ABSENT = 0.25  # each field is independently unknown with this probability
P_NULL = 0.2  # of the unknown fields, the share written as an explicit null (not left out)
P_SECTION_ABSENT = 0.1  # a whole section is unknown
P_THRESHOLD = 0.3  # a value is taken at or around a clinical threshold
P_SITE_SPECIFIC_ABSENT = 0.7  # fields that only apply to some tumours are usually unrecorded

TUMOUR_TYPES: tuple[str, ...] = get_args(TumourType)
TUMOUR_TYPE_WEIGHTS = (70, 10, 5, 5, 5, 5)  # mostly well-differentiated NETs
PRIMARY_SITES: tuple[str, ...] = get_args(PrimarySite)
GRADES: tuple[str, ...] = get_args(Grade)
SYNDROMES = tuple(s for s in get_args(FunctionalSyndrome) if s != "none")
HEREDITARY: tuple[str, ...] = get_args(HereditarySyndrome)
HEREDITARY_WEIGHTS = (80, 8, 3, 3, 3, 3, 3, 2)
LUNG_SUBTYPES: tuple[str, ...] = get_args(LungSubtype)
NEC_SUBTYPES: tuple[str, ...] = get_args(NecSubtype)
DEPTHS: tuple[str, ...] = get_args(Depth)
MARGINS: tuple[str, ...] = get_args(Margin)
COLON_SEGMENTS: tuple[str, ...] = get_args(ColonSegment)
EXTRAHEPATIC: tuple[str, ...] = get_args(ExtrahepaticSite)
PROGRESSION: tuple[str, ...] = get_args(Progression)
SSTR_MODALITIES: tuple[str, ...] = get_args(SstrModality)
UPTAKES: tuple[str, ...] = get_args(Uptake)
COMORBIDITIES: tuple[str, ...] = get_args(Comorbidity)
THERAPIES: tuple[str, ...] = get_args(OptionId)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
REGIMENS: tuple[str, ...] = get_args(Regimen)
VALVES: tuple[str, ...] = get_args(ValveSeverity)
HEALTH_SYSTEMS: tuple[str, ...] = get_args(HealthSystem)
LIVER_DIRECTED: tuple[str, ...] = get_args(LiverDirected)
SURGERY = (
    "right_hemicolectomy",
    "small_bowel_resection",
    "whipple",
    "distal_pancreatectomy",
    "enucleation",
    "gastrectomy",
    "appendicectomy",
    "anterior_resection",
    "cholecystectomy",
    "lobectomy",
)
PREFERENCES = (
    "prefers oral treatment",
    "wishes to avoid hospital stays",
    "travel to the centre is difficult",
    "wants the most active treatment available",
    "declines surgery",
)

# Values at and around the thresholds the knowledge base uses (and WHO grading).
AGE_T = (12, 17, 18, 54, 55, 56, 60, 61, 70, 71)
KI67_T = (1.9, 2.0, 2.9, 3.0, 9.9, 10.0, 14.9, 15.0, 20.0, 20.1, 54.9, 55.0, 55.1)
MITOSES_T = (1.9, 2.0, 20.0, 20.1)
SIZE_T = (0.9, 1.0, 1.1, 1.5, 1.6, 2.0, 2.1)
BOWEL_T = (3.0, 4.0, 6.0)
LIVER_COUNT_T = (0, 1, 3, 4, 5, 6)
LARGEST_T = (2.9, 3.0, 3.1, 5.0, 5.1)
INVOLVEMENT_T = (9.9, 10.0, 25.0, 25.1, 50.0, 50.1)
DEBULKABLE_T = (69.9, 70.0, 90.0)
RENAL_T = (14.0, 15.0, 29.0, 30.0, 39.0, 40.0, 49.0, 50.0, 59.0, 60.0, 69.0, 70.0)
BILI_ULN_T = (1.5, 1.6, 2.0, 2.1, 3.0, 3.1)
ALBUMIN_T = (29.0, 30.0, 31.0)
HB_T = (79.0, 80.0, 81.0)
PLATELETS_T = (74.0, 75.0, 76.0, 99.0, 100.0)
WBC_T = (1.9, 2.0, 2.9, 3.0, 3.9, 4.0)
NEUTROPHILS_T = (1.4, 1.5, 1.6)
BILI_UMOL_T = (33.0, 34.0, 35.0)
ALT_T = (2.9, 3.0, 3.1)
INR_T = (1.2, 1.3, 1.5, 1.6)
LIFE_T = (2.9, 3.0, 12.0, 12.1)
LUNG_SHUNT_T = (9.9, 10.0, 10.1, 19.9, 20.0, 20.1)
MESOAPPENDIX_T = (0.0, 2.9, 3.0, 3.1)
PFS_T = (5.9, 6.0, 12.0)
# Days before assessed_on: 4 weeks = 28 days, 6 months = 182.6 days, 12 months = 365.25 days.
DAYS_T = (0, 1, 27, 28, 29, 182, 183, 184, 365, 366, 367)
MAX_DAYS_AGO = 3650


class _Gen:
    """Draws field values; every draw goes through one seeded ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def put(
        self, d: dict[str, Any], key: str, make: Callable[[], Any], p_absent: float = P_ABSENT
    ) -> None:
        """Set ``d[key]``, or leave it unknown (absent, sometimes an explicit null)."""
        if self.r.random() < p_absent:
            if self.r.random() < P_NULL:
                d[key] = None
            return
        d[key] = make()

    def section(self, d: dict[str, Any], key: str, make: Callable[[], dict[str, Any]]) -> None:
        self.put(d, key, make, p_absent=P_SECTION_ABSENT)

    def flag(self, p_true: float = 0.5) -> bool:
        return self.r.random() < p_true

    def one(self, values: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
        if weights is None:
            return self.r.choice(values)
        return self.r.choices(values, weights=weights)[0]

    def real(self, lo: float, hi: float, near: Sequence[float] = (), digits: int = 1) -> float:
        if near and self.r.random() < P_THRESHOLD:
            return float(self.r.choice(near))
        return float(round(self.r.uniform(lo, hi), digits))

    def integer(self, lo: int, hi: int, near: Sequence[int] = ()) -> int:
        if near and self.r.random() < P_THRESHOLD:
            return int(self.r.choice(near))
        return self.r.randint(lo, hi)

    def some(self, values: Sequence[str], k_max: int, p_empty: float = 0.4) -> list[str]:
        """An empty list (none found) or 1..k_max distinct values."""
        if self.r.random() < p_empty:
            return []
        return self.r.sample(list(values), self.r.randint(1, min(k_max, len(values))))

    def day(self, not_before: date | None = None) -> date:
        """A date on or before ``ASSESSED_ON`` (and on or after ``not_before``)."""
        span = MAX_DAYS_AGO if not_before is None else (ASSESSED_ON - not_before).days
        if self.r.random() < P_THRESHOLD:
            near = [x for x in DAYS_T if x <= span]
            days = self.r.choice(near) if near else 0
        else:
            days = self.r.randint(0, span)
        return ASSESSED_ON - timedelta(days=days)


def _functional_syndrome(g: _Gen) -> list[str]:
    x = g.r.random()
    if x < 0.3:
        return []
    if x < 0.45:
        return ["none"]
    return g.r.sample(list(SYNDROMES), g.r.randint(1, 2))


def _tumour(g: _Gen) -> dict[str, Any]:
    t: dict[str, Any] = {}
    rare = P_SITE_SPECIFIC_ABSENT
    g.put(t, "type", lambda: g.one(TUMOUR_TYPES, TUMOUR_TYPE_WEIGHTS))
    g.put(t, "primary_site", lambda: g.one(PRIMARY_SITES))
    g.put(t, "grade", lambda: g.one(GRADES))
    g.put(t, "ki67_percent", lambda: g.real(0.0, 100.0, KI67_T))
    g.put(t, "functional_syndrome", lambda: _functional_syndrome(g))
    g.put(t, "symptoms_controlled", g.flag)
    g.put(t, "hereditary_syndrome", lambda: g.one(HEREDITARY, HEREDITARY_WEIGHTS))
    g.put(t, "mitotic_count_per_2mm2", lambda: g.real(0.0, 50.0, MITOSES_T))
    g.put(t, "lung_subtype", lambda: g.one(LUNG_SUBTYPES), rare)
    g.put(t, "nec_subtype", lambda: g.one(NEC_SUBTYPES), 0.85)
    g.put(t, "primary_size_cm", lambda: g.real(0.1, 8.0, SIZE_T))
    g.put(t, "depth_of_invasion", lambda: g.one(DEPTHS))
    g.put(t, "lymphovascular_invasion", lambda: g.flag(0.3))
    g.put(t, "resection_margin", lambda: g.one(MARGINS), 0.6)
    g.put(t, "gastric_type", lambda: g.integer(1, 3), rare)
    g.put(t, "colon_segment", lambda: g.one(COLON_SEGMENTS), rare)
    g.put(t, "multifocal", lambda: g.flag(0.2))
    g.put(t, "bowel_movements_per_day", lambda: g.real(0.0, 15.0, BOWEL_T))
    # case format v1.1
    g.put(t, "duodenal_location", lambda: g.one(("ampullary", "non_ampullary")), rare)
    g.put(t, "appendix_location", lambda: g.one(("tip", "body", "base")), rare)
    g.put(t, "mesoappendiceal_invasion_mm", lambda: g.real(0.0, 10.0, MESOAPPENDIX_T), rare)
    return t


def _liver_metastases(g: _Gen) -> dict[str, Any]:
    lm: dict[str, Any] = {}
    g.put(lm, "present", lambda: g.flag(0.6))
    if lm.get("present") is False:
        g.put(lm, "count", lambda: 0, 0.7)
        return lm
    g.put(lm, "count", lambda: g.integer(1, 40, LIVER_COUNT_T))
    g.put(lm, "largest_cm", lambda: g.real(0.2, 15.0, LARGEST_T))
    g.put(lm, "liver_involvement_percent", lambda: g.real(0.0, 90.0, INVOLVEMENT_T))
    g.put(lm, "bilobar", g.flag)
    return lm


def _disease(g: _Gen) -> dict[str, Any]:
    d: dict[str, Any] = {}
    g.put(d, "primary_in_situ", lambda: g.flag(0.6))
    g.put(d, "resectable_for_cure", lambda: g.flag(0.3))
    g.put(d, "regional_nodes", g.flag)
    g.put(d, "liver_metastases", lambda: _liver_metastases(g))
    g.put(d, "extrahepatic_metastases", lambda: g.some(EXTRAHEPATIC, 3, p_empty=0.6))
    g.put(d, "liver_dominant", g.flag)
    g.put(d, "liver_resectable", lambda: g.flag(0.3))
    g.put(d, "debulkable_percent", lambda: g.real(0.0, 100.0, DEBULKABLE_T), 0.5)
    g.put(d, "progression_date", g.day, 0.5)
    g.put(d, "stable_since", g.day, 0.5)
    g.put(d, "measurable_recist", lambda: g.flag(0.8))
    g.put(d, "progression", lambda: g.one(PROGRESSION))
    g.put(d, "carcinoid_heart_disease", lambda: g.flag(0.1))
    # case format v1.1
    g.put(d, "residual_disease", lambda: g.flag(0.7))
    g.put(d, "chd_valve_severity", lambda: g.one(VALVES, (70, 12, 10, 8)), 0.6)
    g.put(d, "bone_metastases_symptomatic", lambda: g.flag(0.2), 0.6)
    g.put(d, "spinal_cord_compression", lambda: g.flag(0.05), 0.6)
    g.put(d, "oligometastatic", lambda: g.flag(0.2), 0.5)
    return d


def _imaging(g: _Gen) -> dict[str, Any]:
    def sstr() -> dict[str, Any]:
        s: dict[str, Any] = {}
        g.put(s, "modality", lambda: g.one(SSTR_MODALITIES))
        g.put(s, "positive", lambda: g.flag(0.75))
        g.put(s, "uptake_vs_liver", lambda: g.one(UPTAKES))
        g.put(s, "all_lesions_avid", lambda: g.flag(0.6))
        g.put(s, "krenning_score", lambda: g.integer(0, 4))
        g.put(s, "date", g.day)
        return s

    def mibg() -> dict[str, Any]:
        m: dict[str, Any] = {}
        g.put(m, "positive", lambda: g.flag(0.3))
        g.put(m, "all_lesions_avid", g.flag)
        g.put(m, "date", g.day)
        return m

    def fdg() -> dict[str, Any]:
        f: dict[str, Any] = {}
        g.put(f, "positive", lambda: g.flag(0.3))
        g.put(f, "sstr_negative_lesions", lambda: g.flag(0.2))
        return f

    im: dict[str, Any] = {}
    g.put(im, "sstr", sstr)
    g.put(im, "mibg", mibg, 0.6)
    g.put(im, "fdg_pet", fdg, 0.4)
    g.put(im, "lung_shunt_percent", lambda: g.real(0.0, 40.0, LUNG_SHUNT_T), 0.8)
    return im


def _labs(g: _Gen) -> dict[str, Any]:
    lab: dict[str, Any] = {}
    g.put(lab, "egfr_ml_min", lambda: g.real(5.0, 120.0, RENAL_T))
    g.put(lab, "creatinine_clearance_ml_min", lambda: g.real(5.0, 140.0, RENAL_T), 0.6)
    g.put(lab, "bilirubin_x_uln", lambda: g.real(0.1, 5.0, BILI_ULN_T, digits=2))
    g.put(lab, "albumin_g_l", lambda: g.real(15.0, 50.0, ALBUMIN_T))
    g.put(lab, "haemoglobin_g_l", lambda: g.real(60.0, 170.0, HB_T))
    g.put(lab, "platelets_10e9_l", lambda: g.real(10.0, 500.0, PLATELETS_T))
    g.put(lab, "wbc_10e9_l", lambda: g.real(0.5, 20.0, WBC_T))
    g.put(lab, "neutrophils_10e9_l", lambda: g.real(0.2, 15.0, NEUTROPHILS_T))
    g.put(lab, "bilirubin_umol_l", lambda: g.real(2.0, 100.0, BILI_UMOL_T))
    g.put(lab, "alt_x_uln", lambda: g.real(0.1, 10.0, ALT_T, digits=2))
    g.put(lab, "inr", lambda: g.real(0.8, 3.0, INR_T, digits=2))
    g.put(lab, "nt_probnp_ng_l", lambda: g.real(5.0, 5000.0))
    g.put(lab, "u5hiaa_umol_24h", lambda: g.real(5.0, 2000.0))
    g.put(lab, "pregnancy_test", lambda: g.one(("negative", "positive"), (95, 5)), 0.8)
    g.put(lab, "date", g.day)
    return lab


def _performance(g: _Gen) -> dict[str, Any]:
    p: dict[str, Any] = {}

    def karnofsky() -> int:
        if g.flag(0.9):
            return 10 * g.r.randint(0, 10)
        return g.r.randint(0, 100)

    g.put(p, "ecog", lambda: g.one((0, 1, 2, 3, 4), (30, 30, 20, 12, 8)))
    g.put(p, "life_expectancy_months", lambda: g.real(0.5, 120.0, LIFE_T))
    g.put(p, "karnofsky", karnofsky, 0.5)
    g.put(p, "comorbidities", lambda: g.some(COMORBIDITIES, 3, p_empty=0.5))
    g.put(p, "can_isolate_after_radionuclide", lambda: g.flag(0.85))
    g.put(p, "child_pugh", lambda: g.one(("A", "B", "C"), (80, 15, 5)), 0.7)
    return p


def _prior_treatment(g: _Gen) -> dict[str, Any]:
    t: dict[str, Any] = {"therapy": g.one(THERAPIES)}
    g.put(t, "start", g.day)
    start = t.get("start")
    g.put(t, "end", lambda: g.day(not_before=start), 0.5)
    g.put(t, "cycles", lambda: g.integer(0, 8, (1, 2, 3, 4)), 0.6)
    g.put(t, "outcome", lambda: g.one(OUTCOMES))
    g.put(t, "progression_free_months", lambda: g.real(0.0, 60.0, PFS_T), 0.6)
    if t["therapy"] == "chemotherapy":
        g.put(t, "regimen", lambda: g.one(REGIMENS), 0.4)
    return t


def _history(g: _Gen) -> dict[str, Any]:
    h: dict[str, Any] = {}
    g.put(h, "prior_treatments", lambda: [_prior_treatment(g) for _ in range(g.r.randint(0, 4))])
    g.put(h, "prior_surgery", lambda: g.some(SURGERY, 2, p_empty=0.5))
    g.put(h, "biliary_enteric_anastomosis", lambda: g.flag(0.1))
    g.put(h, "biliary_stent_or_sphincterotomy", lambda: g.flag(0.1))
    g.put(h, "portal_vein_thrombosis", lambda: g.flag(0.05))
    g.put(h, "primary_resection_date", g.day, 0.5)
    g.put(h, "prior_liver_directed_therapy", lambda: g.some(LIVER_DIRECTED, 2, p_empty=0.7))
    g.put(h, "alpha_blockade_established", lambda: g.flag(0.5), 0.8)
    return h


def _context(g: _Gen) -> dict[str, Any]:
    c: dict[str, Any] = {}
    g.put(c, "health_system", lambda: g.one(HEALTH_SYSTEMS, (75, 8, 5, 12)))
    g.put(c, "wishes_supportive_care_only", lambda: g.flag(0.05), 0.7)
    g.put(c, "preferences", lambda: g.some(PREFERENCES, 2, p_empty=0.7))
    return c


def generate_case(g: _Gen, index: int) -> dict[str, Any]:
    """One case as plain data (dates as ``datetime.date``), assessed on ``ASSESSED_ON``."""
    d: dict[str, Any] = {"id": f"bench-{index:05d}", "assessed_on": ASSESSED_ON}
    g.put(d, "age_years", lambda: g.integer(10, 95, AGE_T))
    g.put(d, "sex", lambda: g.one(("female", "male", "other"), (48, 48, 4)))
    g.put(d, "pregnant", lambda: g.flag(0.03))
    g.put(d, "breastfeeding", lambda: g.flag(0.03))
    g.section(d, "tumour", lambda: _tumour(g))
    g.section(d, "disease", lambda: _disease(g))
    g.section(d, "imaging", lambda: _imaging(g))
    g.section(d, "labs", lambda: _labs(g))
    g.section(d, "performance", lambda: _performance(g))
    g.section(d, "history", lambda: _history(g))
    g.section(d, "context", lambda: _context(g))
    return d


def generate_cases(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` varied, valid cases (plain dicts in the case format); same seed, same cases."""
    g = _Gen(random.Random(seed))
    return [generate_case(g, i) for i in range(n)]


# ------------------------------------------------------------------ benchmark

WARM_UP = 200


@dataclass(frozen=True)
class Measure:
    """One timed call per case: ``call`` gets the validated case (``None``: validation,
    timed on the plain dict)."""

    label: str
    call: Callable[[netmdt.Case], Any] | None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of already sorted values."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def time_validate(cases: list[dict[str, Any]]) -> list[int]:
    """Per-case validation times; the cases made are dropped (they would burden the GC)."""
    validate, clock = netmdt.Case.model_validate, time.perf_counter_ns
    times: list[int] = []
    for d in cases:
        t0 = clock()
        validate(d)
        t1 = clock()
        times.append(t1 - t0)
    return times


def _settle() -> None:
    """Collect, then freeze what exists (the cases, the knowledge base) out of the GC.

    The garbage collector stays on, so each case pays for collecting its own garbage,
    but collections no longer traverse the benchmark's 10,000 retained fixtures, whose
    cost grows with ``--n`` and says nothing about one case.
    """
    gc.collect()
    gc.freeze()


def time_calls(cases: list[netmdt.Case], call: Callable[[netmdt.Case], Any]) -> list[int]:
    clock = time.perf_counter_ns
    times: list[int] = []
    for case in cases:
        t0 = clock()
        call(case)
        t1 = clock()
        times.append(t1 - t0)
    return times


def time_round(cases: list[dict[str, Any]], measure: Measure) -> list[int]:
    """One round of one measure; each call gets freshly validated cases (the derived facts
    are computed on first use, as in the service)."""
    if measure.call is None:
        _settle()
        times = time_validate(cases)
    else:
        fresh = [netmdt.Case.model_validate(d) for d in cases]
        _settle()
        times = time_calls(fresh, measure.call)
        del fresh
    gc.unfreeze()
    return times


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` measures (indices) balanced for what ran just before (a Williams
    design): over the orders, each measure runs first once and right after each other
    measure equally often: once for an even ``n`` (``n`` orders), twice for an odd one
    (``2n`` orders, the second half the first reversed). A plain rotation keeps the cyclic
    order, so that one measure always follows the same other one (before 2026-12-03 the
    summary view always ran right after the full view)."""
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    orders = [[(i + r) % n for i in first] for r in range(n)]
    if n % 2:
        orders += [order[::-1] for order in orders]
    return orders


def _us(ns: float) -> str:
    return f"{ns / 1000:,.1f}"


def _kb_label(kb: KnowledgeBase) -> str:
    return f"version {kb.version}, fingerprint {kb.fingerprint}"


def json_sizes(
    checked: list[netmdt.Case], kb: KnowledgeBase, views: dict[str, Callable[[Any], str]]
) -> dict[str, list[int]]:
    """Bytes of each view's JSON (UTF-8) per case."""
    sizes: dict[str, list[int]] = {v: [] for v in views}
    for case in checked:
        assessment = netmdt.assess(case, kb)
        for view, dump in views.items():
            sizes[view].append(len(dump(assessment).encode()))
    return sizes


def written_cases() -> list[netmdt.Case]:
    """The cases written by hand: every public scenario (tests/scenarios) and bundled
    example (src/netmdt/examples), for the JSON sizes of a typical case."""
    import yaml

    root = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted((root / "tests/scenarios").glob("*.yaml")) + sorted(
        (root / "src/netmdt/examples").glob("*.yaml")
    ):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found.append(netmdt.Case.model_validate(data["case"] if "expect" in data else data))
    return found


def verdict_counts(checked: list[netmdt.Case], kb: KnowledgeBase) -> dict[str, Counter[str]]:
    verdicts: dict[str, Counter[str]] = {o: Counter() for o in kb.options}
    for case in checked:
        for o in netmdt.assess(case, kb).options:
            verdicts[o.option][o.verdict] += 1
    return verdicts


def report(
    args: argparse.Namespace,
    kb: KnowledgeBase,
    timings: dict[str, list[int]],
    first: dict[str, list[int]],
    sizes: dict[str, list[int]],
    verdicts: dict[str, Counter[str]],
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> None:
    criteria = sum(len(o.criteria) for o in kb.options.values())
    py = f"{platform.python_version()} ({platform.python_implementation()}, {sys.platform})"
    print()
    print("netmdt assess benchmark")
    print(f"  cases             {args.n:,} from {args.source} (seed {args.seed}), all valid")
    print(f"  python            {py}")
    print(f"  knowledge base    {_kb_label(kb)}")
    print(f"                    {len(kb.options)} options, {criteria} criteria")
    print("  timing            time.perf_counter_ns per call; GC on, fixtures gc.freeze()d;")
    print(f"                    {args.rounds} rounds (order balanced), each case's best")
    print(f"                    ({WARM_UP} cases first, not timed); and each case's first")
    print("                    assessment, by an engine that has seen")
    print(f"                    {args.seen:,} other cases (seed {-args.seed})")
    print(f"  load average      {_load(load[0])} before, {_load(load[1])} after (os.getloadavg)")
    print()
    base = percentile(sorted(timings[VALIDATE]), 0.5)
    _timing_table("per case", timings, base)
    _timing_table("first assessment of each case", first, base)
    for label, times in timings.items():
        if label != VALIDATE:
            print(f"  {label:<44}{args.n / (sum(times) / 1e9):>10,.0f} cases/s (one thread)")
    print()
    print(f"  {'JSON per case (UTF-8)':<44}{'median KB':>12}{'p99 KB':>12}")
    for view, values in sizes.items():
        ordered = sorted(values)
        med, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
        print(f"  {view:<44}{med / 1000:>12.1f}{p99 / 1000:>12.1f}")
    print()
    total = Counter[str]()
    for counts in verdicts.values():
        total.update(counts)
    grand = sum(total.values())
    print(f"verdicts over {args.n:,} cases x {len(kb.options)} options = {grand:,}")
    for verdict in VERDICTS:
        share = 100 * total[verdict] / grand if grand else 0.0
        print(f"  {verdict:<26}{total[verdict]:>10,}{share:>8.1f}%")
    print()
    short = {
        "recommended": "rec",
        "consider": "cons",
        "insufficient_information": "insuff",
        "not_recommended": "not_rec",
        "contraindicated": "contra",
    }
    print(f"  {'option':<26}" + "".join(f"{short[x]:>9}" for x in VERDICTS))
    for option, counts in verdicts.items():
        print(f"  {option:<26}" + "".join(f"{counts[x]:>9,}" for x in VERDICTS))


def _timing_table(head: str, timings: dict[str, list[int]], base: float) -> None:
    """Median and p99 of each measure's times, and the median as a multiple of ``base``."""
    print(f"  {head:<44}{'median µs':>12}{'p99 µs':>12}{'x validate':>12}")
    for label, times in timings.items():
        ordered = sorted(times)
        med, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
        print(f"  {label:<44}{_us(med):>12}{_us(p99):>12}{med / base:>11.1f}x")
    print()


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)


def profile(cases: list[dict[str, Any]], kb: KnowledgeBase) -> None:
    fresh = [netmdt.Case.model_validate(d) for d in cases]  # derived facts not yet cached
    assess = netmdt.assess
    prof = cProfile.Profile()
    _settle()
    prof.enable()
    for case in fresh:
        assess(case, kb)
    prof.disable()
    gc.unfreeze()
    buf = io.StringIO()
    stats: Any = pstats.Stats(prof, stream=buf)  # total_tt and stats are untyped
    stats.sort_stats("cumulative").print_stats(25)
    print()
    print(f"cProfile over the assess loop ({len(fresh):,} cases): top 25 by cumulative time")
    print(buf.getvalue().rstrip())
    total = max(stats.total_tt, 1e-12)
    marker = os.sep + "netmdt" + os.sep
    ours = []
    for (path, line, func), (_cc, calls, tt, ct, _callers) in stats.stats.items():
        if marker in path:
            where = f"{path.split(marker, 1)[1]}:{line}" if func.startswith("<") else ""
            name = f"{path.split(marker, 1)[1]}:{func}" if not where else f"{where}({func})"
            ours.append((ct, tt, calls, name))
    ours.sort(reverse=True)
    print()
    print("inside netmdt, by cumulative time (share of the profiled loop; self = own time)")
    print(f"  {'cum %':>6}  {'cum s':>8}  {'self s':>8}  {'calls':>10}  function")
    for ct, tt, calls, name in ours[:15]:
        print(f"  {100 * ct / total:6.1f}  {ct:8.3f}  {tt:8.3f}  {calls:>10,}  {name}")


VALIDATE = "Case.model_validate"


def forget() -> None:
    """Empty what the engine and the trial matcher keep of the cases they have seen
    (records by status vector, whole trial entries), as in a new process; what depends
    on the knowledge base alone (its compiled functions) stays."""
    from netmdt.engine import assess as engine
    from netmdt.trials import compiled

    engine._plans.cache_clear()
    engine._explained.cache_clear()
    compiled._plan.cache_clear()
    compiled._outcome.cache_clear()
    compiled._warnings.cache_clear()
    for cache in (compiled._MATCHES, compiled._SUMMARIES, compiled._SHOWN, compiled._NUMBERS):
        cache.clear()


def measures(kb: KnowledgeBase, reference: KnowledgeBase) -> list[Measure]:
    """What is timed, in order: the yardstick, the baseline (the reference closures), and
    the engine as it runs."""
    from benchmarks import baseline
    from netmdt.engine.assess import assess_summary

    assess = netmdt.assess
    return [
        Measure(VALIDATE, None),
        Measure("baseline: engine before issue 16 (full)", lambda c: baseline.assess(c, reference)),
        Measure("assess, full view", lambda c: assess(c, kb)),
        Measure("assess, summary view", lambda c: assess_summary(c, kb)),
    ]


def views() -> dict[str, Callable[[Any], str]]:
    from netmdt.engine.assess import summarize

    return {
        "full view": lambda a: a.model_dump_json(),
        "summary view": lambda a: summarize(a).to_json(),
    }


def load_cases(source: str, n: int, seed: int) -> list[dict[str, Any]]:
    if source == "synth":
        from netmdt.synth import synthetic_cases

        return list(synthetic_cases(n, seed))
    return generate_cases(n, seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10000, help="number of cases (default 10000)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed (default 2026)")
    parser.add_argument(
        "--source",
        choices=("synth", "thresholds"),
        default="synth",
        help="synth: netmdt's synthetic cohort (realistic); thresholds: this module's "
        "generator (values at every threshold, many unknowns)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also run cProfile over the assess loop"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="timed rounds (default 4: one balanced set of orders); each case's best is reported",
    )
    parser.add_argument(
        "--seen",
        type=int,
        default=2000,
        help="other cases each engine assesses before each case's first assessment is "
        "timed (default 2000)",
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    cases = load_cases(args.source, args.n, args.seed)
    checked: list[netmdt.Case] = []
    for d in cases:
        try:
            checked.append(netmdt.Case.model_validate(d))
        except ValidationError as exc:  # a generator bug: every generated case must be valid
            print(f"ERROR: generated case {d.get('id')} does not validate:\n{exc}")
            return 1

    kb = netmdt.load_kb()
    reference = netmdt.load_kb(reference=True)
    timed = measures(kb, reference)
    # Each engine from empty caches, warmed up on --seen other cases, then each timed case
    # assessed once: what a new patient costs a server that has seen that many others.
    others = [netmdt.Case.model_validate(d) for d in load_cases(args.source, args.seen, -args.seed)]
    first: dict[str, list[int]] = {}
    for m in timed:
        if m.call is not None:
            forget()
            for case in others:
                m.call(case)
            first[m.label] = time_round(cases, m)
    for m in timed:  # warm up every path (caches, code objects)
        if m.call is None:
            time_validate(cases[:WARM_UP])
        else:
            for case in checked[:WARM_UP]:
                m.call(case)

    rounds: dict[str, list[list[int]]] = {m.label: [] for m in timed}
    orders = balanced_orders(len(timed))
    for r in range(args.rounds):
        # Interleaved, so that the machine's load falls on all alike; and in balanced
        # orders, so that no measure always runs after the same one: here a measure run
        # right after another engine's ran 20-25% slower than the same code run first (the
        # heap the previous one left), whichever engine it was.
        for i in orders[r % len(orders)]:
            rounds[timed[i].label].append(time_round(cases, timed[i]))
    # Each case's best time over the rounds: this virtual machine's timing noise (other
    # tenants, frequency changes) only ever adds time (the approach of pyperf's "min").
    timings = {
        label: [min(ts) for ts in zip(*per_round, strict=True)]
        for label, per_round in rounds.items()
    }
    sizes = json_sizes(checked, kb, views())
    written = written_cases()
    sizes |= {
        f"{view}, the {len(written)} written cases": values
        for view, values in json_sizes(written, kb, views()).items()
    }
    verdicts = verdict_counts(checked, kb)
    report(args, kb, timings, first, sizes, verdicts, (load_before, os.getloadavg()))

    if args.profile:
        profile(cases, kb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
