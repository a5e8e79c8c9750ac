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
from typing import TYPE_CHECKING

from netmdt.case.labs import Labs
from netmdt.case.performance import Performance
from netmdt.case.tumour import Tumour

if TYPE_CHECKING:  # the case model imports this module (Case.derived)
    from netmdt.case.model import Case

DAYS_PER_MONTH = 365.25 / 12
GRADE_RANK = {None: 0, "G1": 1, "G2": 2, "G3": 3}  # to take the highest grade recorded
# The sources of a grade, in the order a disagreement warning names them.
GRADE_SOURCES = ("recorded grade", "Ki-67 index", "mitotic count")
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
    """The derived facts of a case, with the warnings met deriving them (module docstring).

    The warnings come in this order: grade, ECOG and Karnofsky, pregnancy, NEC subtype.
    """
    t, labs, perf = case.tumour, case.labs, case.performance
    warnings: list[str] = []
    grade = None if t is None else _effective_grade(t, warnings)
    ecog = _ecog(perf, warnings)
    if case.pregnant and (case.sex == "male" or (case.age_years or 0) >= 55):
        warnings.append("pregnant: true is recorded for a man or a woman aged 55 or more; check.")
    nec_like = None if t is None else _nec_like(t)
    if nec_like and t is not None and t.type == "net":
        warnings.append(
            "tumour.type is net but the subtype is a neuroendocrine carcinoma "
            "(LCNEC/SCLC or a NEC subtype); rules treat it as a NEC."
        )
    renal = None if labs is None else _renal(labs)
    gep_primary = None if t is None else _gep_primary(t)
    group = None if t is None else _embryological_group(t)
    return Derived(
        effective_grade=grade,
        renal_ml_min=renal,
        ecog_effective=ecog,
        gep_primary=gep_primary,
        embryological_group=group,
        nec_like=nec_like,
        warnings=tuple(warnings),
        case=case,
    )


def _effective_grade(t: Tumour, warnings: list[str]) -> str | None:
    if t.lung_subtype in CARCINOID_GRADE:
        return _carcinoid_grade(t, t.lung_subtype, warnings)
    grades = (t.grade, ki67_grade(t.ki67_percent), mitotic_grade(t.mitotic_count_per_2mm2))
    highest = max(grades, key=GRADE_RANK.__getitem__)  # None (unrecorded) ranks lowest
    if highest is not None and not {highest, None}.issuperset(grades):
        named = zip(GRADE_SOURCES, grades, strict=True)
        parts = ", ".join(f"{k} {v}" for k, v in named if v is not None)
        warnings.append(f"Grade sources disagree ({parts}); the higher grade {highest} is used.")
    return highest


def _carcinoid_grade(t: Tumour, subtype: str, warnings: list[str]) -> str:
    """Lung/thymic carcinoid: typical -> G1, atypical -> G2 (WHO thoracic), with warnings."""
    grade = CARCINOID_GRADE[subtype]
    name = subtype.replace("_", " ")
    article = "an" if name.startswith("a") else "a"
    ki67 = t.ki67_percent
    if ki67 is not None and ki67 > 20:
        warnings.append(
            f"Ki-67 {ki67:g} % in {article} {name}: thoracic carcinoids are graded by "
            f"subtype ({grade}-equivalent is used), not Ki-67; a carcinoid with a high Ki-67 "
            "behaves more aggressively: review the histology (mitoses, necrosis; LCNEC?) and "
            "consider FDG PET."
        )
    others = (
        ("recorded grade", t.grade),
        ("mitotic count", mitotic_grade(t.mitotic_count_per_2mm2)),
    )
    disagree = [f"{k} {v}" for k, v in others if v is not None and v != grade]
    if disagree:
        warnings.append(
            f"Grade sources disagree with the {name} subtype ({', '.join(disagree)}); the "
            f"subtype ({grade}-equivalent) is used for a thoracic carcinoid."
        )
    return grade


def _ecog(perf: Performance | None, warnings: list[str]) -> int | None:
    """ECOG as recorded, else from Karnofsky; a warning when the two are far apart."""
    if perf is None:
        return None
    ecog, karnofsky = perf.ecog, perf.karnofsky
    from_karnofsky = karnofsky_to_ecog(karnofsky)
    if ecog is None:
        return from_karnofsky
    if from_karnofsky is not None and abs(ecog - from_karnofsky) > 1:
        warnings.append(f"ECOG {ecog} and Karnofsky {karnofsky} disagree; ECOG is used.")
    return ecog


def _renal(labs: Labs) -> float | None:
    crcl = labs.creatinine_clearance_ml_min
    return labs.egfr_ml_min if crcl is None else crcl


def _gep_primary(t: Tumour) -> bool | None:
    if t.type in NON_GEP_TYPES:
        return False
    site = t.primary_site
    return None if site is None else site in GEP_SITES


def _embryological_group(t: Tumour) -> str | None:
    site = t.primary_site
    if site is None:
        return None
    if site == "colon":
        return COLON_GROUP.get(t.colon_segment) if t.colon_segment else None
    return SITE_GROUP.get(site)


def _nec_like(t: Tumour) -> bool | None:
    if t.type == "nec" or t.nec_subtype is not None or t.lung_subtype in ("lcnec", "sclc"):
        return True
    return None if t.type is None else False


def _months_since(case: Case) -> dict[str, float]:
    from netmdt.case.model import iter_dates  # here: the case model imports this module

    if case.assessed_on is None:
        return {}
    return {path: months_between(d, case.assessed_on) for path, d in iter_dates(case)}
