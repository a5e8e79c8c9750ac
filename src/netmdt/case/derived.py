"""Facts derived from a case, computed once per case.

Each derived fact is unknown (``None``) when what it is derived from is unknown.
The definitions follow the clinical brief, sections 1.1, 1.2 and 1.8:

``effective_grade``
    For a well-differentiated NET: the highest of the stated ``tumour.grade`` and the
    grades implied by ``ki67_percent`` (< 3 G1, 3-20 G2, > 20 G3) and
    ``mitotic_count_per_2mm2`` (< 2 G1, 2-20 G2, > 20 G3), over those recorded (WHO
    2019/2022: whichever gives the higher grade). A warning when they disagree.
    Lung and thymic carcinoids are graded by subtype, not Ki-67 (WHO thoracic): a
    ``lung_subtype`` of typical carcinoid gives G1 and atypical carcinoid G2, whatever
    the Ki-67, with a warning when Ki-67 is above 20 % or another grade source disagrees.
``renal_ml_min``
    ``labs.creatinine_clearance_ml_min`` if recorded, else ``labs.egfr_ml_min``.
``ecog_effective``
    ``performance.ecog`` if recorded, else converted from Karnofsky
    (90-100 -> 0, 70-80 -> 1, 50-60 -> 2, 30-40 -> 3, 10-20 -> 4).
``gep_primary``
    The primary is gastro-entero-pancreatic. False for lung, thymus, unknown and other
    primaries and for paraganglioma, phaeochromocytoma and medullary thyroid carcinoma.
``embryological_group``
    foregut (stomach, duodenum, pancreas, lung, thymus), midgut (jejunum/ileum,
    appendix, caecum, ascending colon), hindgut (descending and sigmoid colon, rectum);
    unknown for a transverse colon primary (the sources differ), unknown or other sites.
``nec_like``
    Poorly differentiated: ``type: nec``, a ``nec_subtype``, or lung subtype LCNEC/SCLC.
``months_since``
    For every recorded date: months (days / 30.4375) from it to ``assessed_on``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from netmdt.case.model import Case, iter_dates

DAYS_PER_MONTH = 365.25 / 12
GRADES = ("G1", "G2", "G3")
# Thoracic carcinoids: the WHO subtype stands for the grade (Ki-67 is not a grading criterion).
CARCINOID_GRADE = {"typical_carcinoid": "G1", "atypical_carcinoid": "G2"}
GEP_SITES = frozenset(
    {"pancreas", "stomach", "duodenum", "jejunum_ileum", "appendix", "colon", "rectum"}
)
NON_GEP_TYPES = frozenset({"paraganglioma", "phaeochromocytoma", "medullary_thyroid_carcinoma"})
SITE_GROUP = {
    "stomach": "foregut",
    "duodenum": "foregut",
    "pancreas": "foregut",
    "lung": "foregut",
    "thymus": "foregut",
    "jejunum_ileum": "midgut",
    "appendix": "midgut",
    "rectum": "hindgut",
}
COLON_GROUP = {
    "caecum": "midgut",
    "ascending": "midgut",
    "descending": "hindgut",
    "sigmoid": "hindgut",
}


@dataclass(frozen=True)
class Derived:
    effective_grade: str | None
    renal_ml_min: float | None
    ecog_effective: int | None
    gep_primary: bool | None
    embryological_group: str | None
    nec_like: bool | None
    warnings: tuple[str, ...] = ()
    case: Case | None = field(default=None, repr=False, compare=False)  # for months_since

    @cached_property
    def months_since(self) -> dict[str, float]:
        """Months from each recorded date to ``assessed_on``, by field path (computed on
        first use: only the assessment's date warnings read it)."""
        return {} if self.case is None else _months_since(self.case)


def ki67_grade(ki67: float | None) -> str | None:
    """WHO grade from Ki-67: < 3 % G1, 3-20 % G2, > 20 % G3 (2.9 -> G1, 20.0 -> G2, 20.1 -> G3)."""
    if ki67 is None:
        return None
    return "G1" if ki67 < 3 else "G2" if ki67 <= 20 else "G3"


def mitotic_grade(mitoses: float | None) -> str | None:
    """WHO grade from mitoses per 2 mm²: < 2 G1, 2-20 G2, > 20 G3."""
    if mitoses is None:
        return None
    return "G1" if mitoses < 2 else "G2" if mitoses <= 20 else "G3"


def karnofsky_to_ecog(karnofsky: int | None) -> int | None:
    """The usual Karnofsky -> ECOG conversion; Karnofsky 0 (dead) gives unknown."""
    if karnofsky is None or karnofsky < 10:
        return None
    for floor, ecog in ((90, 0), (70, 1), (50, 2), (30, 3)):
        if karnofsky >= floor:
            return ecog
    return 4


def months_between(earlier: date, later: date) -> float:
    return (later - earlier).days / DAYS_PER_MONTH


def derive(case: Case) -> Derived:
    t, labs, perf = case.tumour, case.labs, case.performance
    warnings: list[str] = []
    grade = _effective_grade(case, warnings)
    crcl = labs.creatinine_clearance_ml_min if labs else None
    egfr = labs.egfr_ml_min if labs else None
    ecog = perf.ecog if perf else None
    from_karnofsky = karnofsky_to_ecog(perf.karnofsky if perf else None)
    if ecog is not None and from_karnofsky is not None and abs(ecog - from_karnofsky) > 1:
        warnings.append(
            f"ECOG {ecog} and Karnofsky {perf.karnofsky if perf else ''} disagree; ECOG is used."
        )
    if case.pregnant and (case.sex == "male" or (case.age_years or 0) >= 55):
        warnings.append("pregnant: true is recorded for a man or a woman aged 55 or more; check.")
    nec_like = _nec_like(case)
    if nec_like and t is not None and t.type == "net":
        warnings.append(
            "tumour.type is net but the subtype is a neuroendocrine carcinoma "
            "(LCNEC/SCLC or a NEC subtype); rules treat it as a NEC."
        )
    return Derived(
        effective_grade=grade,
        renal_ml_min=crcl if crcl is not None else egfr,
        ecog_effective=ecog if ecog is not None else from_karnofsky,
        gep_primary=_gep_primary(case),
        embryological_group=_embryological_group(case),
        nec_like=nec_like,
        warnings=tuple(warnings),
        case=case,
    )


def _effective_grade(case: Case, warnings: list[str]) -> str | None:
    t = case.tumour
    if t is None:
        return None
    if t.lung_subtype in CARCINOID_GRADE:
        return _carcinoid_grade(t.lung_subtype, case, warnings)
    found = {
        "recorded grade": t.grade,
        "Ki-67 index": ki67_grade(t.ki67_percent),
        "mitotic count": mitotic_grade(t.mitotic_count_per_2mm2),
    }
    grades = {k: v for k, v in found.items() if v is not None}
    if not grades:
        return None
    highest = max(grades.values(), key=GRADES.index)
    if len(set(grades.values())) > 1:
        parts = ", ".join(f"{k} {v}" for k, v in grades.items())
        warnings.append(f"Grade sources disagree ({parts}); the higher grade {highest} is used.")
    return highest


def _carcinoid_grade(subtype: str, case: Case, warnings: list[str]) -> str:
    """Lung/thymic carcinoid: typical -> G1, atypical -> G2 (WHO thoracic), with warnings."""
    t = case.tumour
    assert t is not None
    grade = CARCINOID_GRADE[subtype]
    name = subtype.replace("_", " ")
    article = "an" if name.startswith("a") else "a"
    if t.ki67_percent is not None and t.ki67_percent > 20:
        warnings.append(
            f"Ki-67 {t.ki67_percent:g} % in {article} {name}: thoracic carcinoids are graded by "
            f"subtype ({grade}-equivalent is used), not Ki-67; a carcinoid with a high Ki-67 "
            "behaves more aggressively: review the histology (mitoses, necrosis; LCNEC?) and "
            "consider FDG PET."
        )
    others = {
        "recorded grade": t.grade,
        "mitotic count": mitotic_grade(t.mitotic_count_per_2mm2),
    }
    disagree = {k: v for k, v in others.items() if v is not None and v != grade}
    if disagree:
        parts = ", ".join(f"{k} {v}" for k, v in disagree.items())
        warnings.append(
            f"Grade sources disagree with the {name} subtype ({parts}); the subtype "
            f"({grade}-equivalent) is used for a thoracic carcinoid."
        )
    return grade


def _gep_primary(case: Case) -> bool | None:
    t = case.tumour
    if t is None:
        return None
    if t.type in NON_GEP_TYPES:
        return False
    if t.primary_site is None:
        return None
    return t.primary_site in GEP_SITES


def _embryological_group(case: Case) -> str | None:
    t = case.tumour
    if t is None or t.primary_site is None:
        return None
    if t.primary_site == "colon":
        return COLON_GROUP.get(t.colon_segment) if t.colon_segment else None
    return SITE_GROUP.get(t.primary_site)


def _nec_like(case: Case) -> bool | None:
    t = case.tumour
    if t is None:
        return None
    if t.type == "nec" or t.nec_subtype is not None or t.lung_subtype in ("lcnec", "sclc"):
        return True
    return None if t.type is None else False


def _months_since(case: Case) -> dict[str, float]:
    if case.assessed_on is None:
        return {}
    return {path: months_between(d, case.assessed_on) for path, d in iter_dates(case)}
