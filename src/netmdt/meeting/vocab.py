"""The words people read for the meeting's codes (one place: the pages, the minutes and
the letters all use these)."""

from __future__ import annotations

from datetime import date
from typing import Any

PROFESSIONAL_ROLES: dict[str, str] = {
    "medical_oncologist": "Medical oncologist",
    "clinical_oncologist": "Clinical oncologist",
    "surgeon": "Surgeon",
    "gastroenterologist": "Gastroenterologist",
    "endocrinologist": "Endocrinologist",
    "radiologist": "Radiologist",
    "interventional_radiologist": "Interventional radiologist",
    "nuclear_medicine": "Nuclear medicine physician",
    "histopathologist": "Histopathologist",
    "specialist_nurse": "NET clinical nurse specialist",
    "mdt_coordinator": "MDT coordinator",
    "other": "Other",
}

# The default core membership of a NET MDT (NETMDT_MDT_CORE_ROLES). Each entry is one
# core role; "a|b" means either a or b fills it. No national NET-specific list was found
# (docs/meetings.md, "Quoracy"): this is the centre's setting, defaulting to the
# disciplines every NET MDT discusses with.
DEFAULT_CORE_ROLES: list[str] = [
    "medical_oncologist|clinical_oncologist",
    "surgeon",
    "radiologist",
    "histopathologist",
    "nuclear_medicine",
    "specialist_nurse",
]

STATUSES: dict[str, str] = {
    "to_discuss": "To discuss",
    "standard_of_care": "Listed, not discussed (standard of care)",
    "discussed": "Discussed",
    "deferred": "Deferred",
}

FOLLOW_UP: dict[str, str] = {"follow_up": "Follow-up", "rediscuss": "Re-discussion at the MDT"}
PATIENT_TOLD: dict[str, str] = {"unknown": "Not recorded", "yes": "Yes", "no": "No"}

# Cancer waiting-time standards in force in England from 1 October 2023 (docs/meetings.md).
CWT_STANDARDS: list[tuple[str, str, str, int]] = [
    ("28-day Faster Diagnosis Standard", "referral_on", "diagnosis_told_on", 28),
    ("31-day decision to treat to treatment", "decision_to_treat_on", "first_treatment_on", 31),
    ("62-day referral to treatment", "referral_on", "first_treatment_on", 62),
]

TUMOUR_TYPES = {
    "net": "neuroendocrine tumour (NET)",
    "nec": "neuroendocrine carcinoma (NEC)",
    "minen": "mixed neuroendocrine-non-neuroendocrine neoplasm (MiNEN)",
    "paraganglioma": "paraganglioma",
    "phaeochromocytoma": "phaeochromocytoma",
    "medullary_thyroid_carcinoma": "medullary thyroid carcinoma",
}
SITES = {
    "pancreas": "pancreas",
    "stomach": "stomach",
    "duodenum": "duodenum",
    "jejunum_ileum": "small intestine (jejunum or ileum)",
    "appendix": "appendix",
    "colon": "colon",
    "rectum": "rectum",
    "lung": "lung",
    "thymus": "thymus",
    "other": "another site",
}


def role_words(role: str | None) -> str:
    return PROFESSIONAL_ROLES.get(role or "", "")


def core_role_words(entry: str) -> str:
    return " or ".join(PROFESSIONAL_ROLES.get(r, r) for r in entry.split("|"))


def uk_date(value: date | None) -> str:
    """1 Dec 2026 (empty for no date)."""
    return f"{value.day} {value:%b %Y}" if value else ""


def nhs_number_words(number: str | None) -> str:
    """999 000 0018 (as NHS numbers are written)."""
    if not number:
        return "not recorded"
    return f"{number[:3]} {number[3:6]} {number[6:]}" if len(number) == 10 else number


def diagnosis_line(facts: dict[str, Any]) -> str:
    """One line a GP reads: tumour type, site, grade and Ki-67, from the case's facts.
    Unknown facts are said to be unknown (never left out silently)."""
    tumour = facts.get("tumour") or {}
    kind = TUMOUR_TYPES.get(str(tumour.get("type")), "tumour type not recorded")
    site = tumour.get("primary_site")
    where = f" of the {SITES[site]}" if site in SITES else ""
    if site == "unknown":
        where = " of unknown primary site"
    grade = tumour.get("grade")
    ki67 = tumour.get("ki67_percent")
    parts = [f"{kind[0].upper()}{kind[1:]}{where}"]
    parts.append(f"grade {grade}" if grade else "grade not recorded")
    parts.append(f"Ki-67 {ki67}%" if ki67 is not None else "Ki-67 not recorded")
    return ", ".join(parts)
