"""The registry's indication subgroup, derived from the case.

Subgroups (UCL / Royal Free trial of Lu-177 DOTATATE in unlicensed indications,
NCT06121271, the direct successor of the seed hospital's registry): bronchial, thymic,
PPGL (paraganglioma / phaeochromocytoma), MTC, other non-GEP NET, and GEP retreatment.

Retreatment interval rule: a GEP NET is eligible for the retreatment arm when more than
18 months have passed since the START of the previous PRRT course (NCT06121271 inclusion
criteria, read at
https://clinicaltrialexchange.com/clinical-trials/Trial-of-Lu-177-DOTATATE-Lutathera-reg-in-Unlicensed-Indications/NCT06121271).
"More than 18 months" is counted in calendar months: the assessment date must fall after
the day 18 months after the start. The knowledge base's own retreatment criterion
(van der Zwan 2019: >= 18 months free of progression) is a different rule and stays in the
engine; the registry reports the trial's.

Unknown is never no: a fact that decides the subgroup and is missing gives ``unknown``
with the missing field named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from netmdt.case import Case

SUBGROUPS = ("bronchial", "thymic", "ppgl", "mtc", "other_non_gep", "gep_retreatment")
GEP_SITES = frozenset(
    {"pancreas", "stomach", "duodenum", "jejunum_ileum", "appendix", "colon", "rectum"}
)
PRRT = frozenset({"prrt_lu177_dotatate", "prrt_y90_dotatoc"})
RETREATMENT_MONTHS = 18
RETREATMENT_SOURCE = (
    "NCT06121271 (UCL/Royal Free): GEP retreatment > 18 months from the start of previous PRRT"
)


@dataclass(frozen=True)
class Subgroup:
    subgroup: str  # one of SUBGROUPS, "not_eligible" or "unknown"
    reason: str
    missing: list[str] = field(default_factory=list)


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def derive(case: Case) -> Subgroup:
    t = case.tumour
    kind = t.type if t else None
    site = t.primary_site if t else None
    if kind in ("paraganglioma", "phaeochromocytoma"):
        return Subgroup("ppgl", f"tumour.type is {kind}")
    if kind == "medullary_thyroid_carcinoma":
        return Subgroup("mtc", "tumour.type is medullary_thyroid_carcinoma")
    if kind is None:
        return Subgroup("unknown", "the tumour type is not recorded", ["tumour.type"])
    if kind != "net":
        return Subgroup(
            "not_eligible",
            f"tumour.type {kind}: the registry is for well-differentiated NET, PPGL and MTC",
        )
    if site is None or site == "unknown":
        return Subgroup(
            "unknown",
            "the primary site is not known: GEP or not decides the subgroup",
            ["tumour.primary_site"],
        )
    if site == "lung":
        return Subgroup("bronchial", "NET with a lung primary")
    if site == "thymus":
        return Subgroup("thymic", "NET with a thymic primary")
    if site not in GEP_SITES:
        return Subgroup("other_non_gep", f"NET with a non-GEP primary ({site})")
    return _retreatment(case)


def _retreatment(case: Case) -> Subgroup:
    history = case.history
    prior = None if history is None else history.prior_treatments
    if prior is None:
        return Subgroup(
            "unknown",
            "GEP NET: the registry takes it only for retreatment, and the treatment history "
            "is not recorded",
            ["history.prior_treatments"],
        )
    courses = [p for p in prior if p.therapy in PRRT]
    if not courses:
        return Subgroup(
            "not_eligible",
            "GEP NET without previous PRRT: a first course is commissioned under NICE TA539, "
            "not the registry",
        )
    if any(p.start is None for p in courses):
        return Subgroup(
            "unknown",
            "GEP retreatment: the start date of a previous PRRT course is not recorded "
            f"({RETREATMENT_SOURCE})",
            ["history.prior_treatments[].start"],
        )
    if case.assessed_on is None:
        return Subgroup("unknown", "the assessment date is not recorded", ["assessed_on"])
    latest = max(p.start for p in courses if p.start is not None)
    after = add_months(latest, RETREATMENT_MONTHS)
    if case.assessed_on > after:
        return Subgroup(
            "gep_retreatment",
            f"previous PRRT started {latest}, more than {RETREATMENT_MONTHS} months before "
            f"{case.assessed_on} ({RETREATMENT_SOURCE})",
        )
    return Subgroup(
        "not_eligible",
        f"not eligible for the retreatment arm: previous PRRT started {latest}, not more than "
        f"{RETREATMENT_MONTHS} months before {case.assessed_on} ({RETREATMENT_SOURCE})",
    )
