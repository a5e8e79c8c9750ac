"""Display names: the one place that turns the case format's codes into words people read.

The case form, the case page (MDT view), the version history, the patient summary and
the CLI's text output all show a fact through :func:`fact_text` and a code through
:func:`value_name`, so ``ga68_dotatate_pet`` reads "Ga-68 DOTATATE PET", ``r0`` reads
"R0 (clear margins)", ``True`` reads "yes" and ``[]`` reads "none". A field's own name (its
label) is the knowledge base's (``fields.yaml``); a treatment option's name is the option
file's. A test checks that every code of every case field has a display name here.

Dates read the British way ("1 Dec 2026") and NHS numbers in 3-3-4 groups
("999 000 0018").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Final, Protocol

# Codes of the case format's enumerated and list fields, by field path. The same code can
# read differently in different fields ("none" syndrome vs "none" valve lesion).
VALUES: Final[dict[str, dict[str, str]]] = {
    "sex": {"female": "female", "male": "male", "other": "other"},
    "tumour.type": {
        "net": "well-differentiated NET",
        "nec": "neuroendocrine carcinoma (NEC)",
        "minen": "mixed neuroendocrine-non-neuroendocrine neoplasm (MiNEN)",
        "paraganglioma": "paraganglioma",
        "phaeochromocytoma": "phaeochromocytoma",
        "medullary_thyroid_carcinoma": "medullary thyroid carcinoma",
    },
    "tumour.primary_site": {
        "pancreas": "pancreatic",
        "stomach": "gastric",
        "duodenum": "duodenal",
        "jejunum_ileum": "small-intestinal (jejunum or ileum)",
        "appendix": "appendiceal",
        "colon": "colonic",
        "rectum": "rectal",
        "lung": "lung",
        "thymus": "thymic",
        "unknown": "unknown primary",
        "other": "other site",
    },
    "tumour.grade": {"G1": "G1", "G2": "G2", "G3": "G3"},
    "tumour.functional_syndrome": {
        "none": "non-functioning",
        "carcinoid_syndrome": "carcinoid syndrome",
        "insulinoma": "insulinoma",
        "gastrinoma": "gastrinoma (Zollinger-Ellison)",
        "glucagonoma": "glucagonoma",
        "vipoma": "VIPoma",
        "catecholamine_excess": "catecholamine excess",
        "ectopic_acth": "ectopic ACTH",
        "other": "other hormone syndrome",
    },
    "tumour.hereditary_syndrome": {
        "none": "none",
        "men1": "MEN1",
        "men2": "MEN2",
        "vhl": "von Hippel-Lindau",
        "nf1": "neurofibromatosis type 1",
        "tsc": "tuberous sclerosis",
        "sdhx": "SDHx (succinate dehydrogenase) mutation",
        "other": "other",
    },
    "tumour.lung_subtype": {
        "typical_carcinoid": "typical carcinoid",
        "atypical_carcinoid": "atypical carcinoid",
        "lcnec": "large-cell neuroendocrine carcinoma",
        "sclc": "small-cell lung cancer",
    },
    "tumour.nec_subtype": {"small_cell": "small-cell", "large_cell": "large-cell"},
    "tumour.depth_of_invasion": {
        "mucosa": "mucosa",
        "submucosa": "submucosa",
        "muscularis_propria": "muscularis propria",
        "subserosa": "subserosa",
        "serosa": "serosa",
    },
    "tumour.resection_margin": {
        "r0": "R0 (clear margins)",
        "r1": "R1 (microscopic tumour at the margin)",
        "r2": "R2 (tumour left behind)",
    },
    "tumour.colon_segment": {
        "caecum": "caecum",
        "ascending": "ascending colon",
        "transverse": "transverse colon",
        "descending": "descending colon",
        "sigmoid": "sigmoid colon",
    },
    "tumour.duodenal_location": {"ampullary": "ampullary", "non_ampullary": "non-ampullary"},
    "tumour.appendix_location": {"tip": "tip", "body": "body", "base": "base"},
    "disease.extrahepatic_metastases": {
        "bone": "bone",
        "lung": "lung",
        "peritoneum": "peritoneum",
        "distant_nodes": "distant lymph nodes",
        "ovary": "ovary",
        "brain": "brain",
        "other": "other sites",
    },
    "disease.progression": {
        "progressive": "progressive",
        "stable": "stable",
        "unknown": "not assessed",
    },
    "disease.chd_valve_severity": {
        "none": "none",
        "mild": "mild",
        "moderate": "moderate",
        "severe": "severe",
    },
    "imaging.sstr.modality": {
        "ga68_dotatate_pet": "Ga-68 DOTATATE PET",
        "ga68_dotatoc_pet": "Ga-68 DOTATOC PET",
        "cu64_dotatate_pet": "Cu-64 DOTATATE PET",
        "octreoscan": "OctreoScan (In-111)",
    },
    "imaging.sstr.uptake_vs_liver": {
        "above": "above liver",
        "equal": "equal to liver",
        "below": "below liver",
    },
    "labs.pregnancy_test": {"negative": "negative", "positive": "positive"},
    "performance.comorbidities": {
        "heart_failure": "heart failure",
        "uncontrolled_hypertension": "uncontrolled hypertension",
        "interstitial_lung_disease": "interstitial lung disease",
        "cirrhosis": "cirrhosis",
        "diabetes": "diabetes",
        "active_infection": "active infection",
        "autoimmune_disease": "autoimmune disease",
        "severe_depression": "severe depression",
        "coagulopathy": "coagulopathy",
        "other": "other",
    },
    "performance.child_pugh": {"A": "Child-Pugh A", "B": "Child-Pugh B", "C": "Child-Pugh C"},
    "history.prior_liver_directed_therapy": {
        "embolisation": "embolisation",
        "sirt": "SIRT",
        "ablation": "ablation",
        "resection": "liver resection",
    },
    "context.health_system": {
        "nhs_england": "NHS England",
        "nhs_scotland": "NHS Scotland",
        "nhs_wales": "NHS Wales",
        "other": "other",
    },
    # the rows of history.prior_treatments (their therapy is an option: its name is the
    # knowledge base's)
    "history.prior_treatments.outcome": {
        "response": "response",
        "stable": "stable disease",
        "progression": "progression",
        "toxicity": "stopped for side effects",
        "unknown": "outcome unknown",
    },
    "history.prior_treatments.regimen": {
        "platinum_etoposide": "platinum + etoposide",
        "captem": "CAPTEM (capecitabine + temozolomide)",
        "temozolomide": "temozolomide",
        "streptozocin_based": "streptozocin-based",
        "folfiri": "FOLFIRI",
        "folfox": "FOLFOX",
        "capox": "CAPOX",
        "cvd": "CVD (cyclophosphamide, vincristine, dacarbazine)",
        "other": "other regimen",
    },
}

ROLES: Final[dict[str, str]] = {
    "admin": "administrator",
    "coordinator": "MDT coordinator",
    "clinician": "clinician",
    "auditor": "auditor",
    "clinical_lead": "clinical lead",
}

# Funding pathways and registry states, in words (the assessment's codes).
PATHWAYS: Final[dict[str, str]] = {
    "nhs_commissioned": "NHS-commissioned",
    "not_routinely_commissioned": "not routinely commissioned (individual funding request)",
    "audit_registry": "only within the NHS audit registry",
    "trial_only": "only within a clinical trial",
    "not_applicable": "no funding route applies",
    "unknown": "funding route unknown (a fact is missing)",
}
REGISTRY_STATUS: Final[dict[str, str]] = {"open": "registry open", "on_hold": "registry on hold"}

# Units, by the ending of a field's name (the case format fixes units by name).
UNITS: Final[tuple[tuple[str, str], ...]] = (
    ("_percent", "%"),
    ("_cm", " cm"),
    ("_mm", " mm"),
    ("_months", " months"),
    ("_ml_min", " mL/min"),
    ("_x_uln", " × ULN"),
    ("_g_l", " g/L"),
    ("_10e9_l", " ×10⁹/L"),
    ("_umol_l", " µmol/L"),
    ("_ng_l", " ng/L"),
    ("_umol_24h", " µmol/24 h"),
    ("_per_day", " a day"),
    ("_per_2mm2", " per 2 mm²"),
    ("_years", " years"),
)
_CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def unit(path: str) -> str:
    """The unit a field's name fixes ("" when none): ``%`` for ``*_percent``."""
    return next((u for suffix, u in UNITS if path.endswith(suffix)), "")


def value_name(path: str, code: object) -> str:
    """The display name of one code of a field (a free-text code-like entry such as
    ``small_bowel_resection`` reads "small bowel resection")."""
    text = str(code)
    known = VALUES.get(path, {}).get(text)
    if known is not None:
        return known
    return text.replace("_", " ") if _CODE.fullmatch(text) else text


def uk_date(value: object) -> str:
    """``2026-12-01`` -> "1 Dec 2026" (a datetime: its date; text that is no ISO date:
    itself; None: "")."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text[:10])
        except ValueError:
            return text
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return str(value)


def uk_datetime(value: datetime | None) -> str:
    """ "1 Dec 2026 14:05" (the time as stored: UTC)."""
    return "" if value is None else f"{uk_date(value)} {value:%H:%M}"


def nhs_number(value: object) -> str:
    """ "9990000018" -> "999 000 0018" (anything else as it is)."""
    text = "" if value is None else str(value)
    digits = text.replace(" ", "")
    if len(digits) == 10 and digits.isdigit():
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return text


def number_text(path: str, value: float) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text + unit(path)


def fact_text(path: str, value: Any, option_name: Callable[[str], str] | None = None) -> str:
    """One fact as a person reads it: unknown, yes/no, none, a list of names, a number with
    its unit, a UK date, or the prior-treatment rows as lines."""
    if value is None:
        return "unknown"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        if not value:
            return "none"
        if path == "history.prior_treatments":
            return "; ".join(treatment_text(row, option_name) for row in value)
        return ", ".join(value_name(path, v) for v in value)
    if isinstance(value, int | float):
        return number_text(path, value)
    if isinstance(value, date) or (path.endswith("date") or path == "assessed_on"):
        return uk_date(value)
    if path.endswith("_since"):
        return uk_date(value)
    return value_name(path, value)


def treatment_text(row: Mapping[str, Any], option_name: Callable[[str], str] | None = None) -> str:
    """A prior-treatment row in words: "Lu-177 PRRT, 4 cycles, Mar 2024 to May 2025:
    progression (PFS 30 months)"."""
    therapy = str(row.get("therapy", ""))
    parts = [option_name(therapy) if option_name else value_name("", therapy)]
    if row.get("regimen"):
        parts.append(value_name("history.prior_treatments.regimen", row["regimen"]))
    if row.get("cycles") is not None:
        parts.append(f"{row['cycles']} cycles")
    span = " to ".join(uk_date(row[k]) for k in ("start", "end") if row.get(k))
    if row.get("start") and not row.get("end"):
        span = f"from {uk_date(row['start'])}"
    elif row.get("end") and not row.get("start"):
        span = f"until {uk_date(row['end'])}"
    if span:
        parts.append(span)
    text = ", ".join(parts)
    if row.get("outcome"):
        text += ": " + value_name("history.prior_treatments.outcome", row["outcome"])
    if row.get("progression_free_months") is not None:
        text += f" (progression-free {row['progression_free_months']:g} months)"
    return text


def pathway_text(pathway: str, registry_status: str | None = None) -> str:
    text = PATHWAYS.get(pathway, value_name("", pathway))
    if registry_status:
        text += f" ({REGISTRY_STATUS.get(registry_status, registry_status)})"
    return text


# Who settles an unknown fact, in two words ("Ki-67 index — ask pathology"): by the field's
# path, the longest matching prefix wins.
ASK: Final[dict[str, str]] = {
    "": "ask the referring clinician",
    "tumour": "ask pathology",
    "tumour.functional_syndrome": "ask the clinician (symptoms, hormone tests)",
    "tumour.symptoms_controlled": "ask the clinician",
    "tumour.bowel_movements_per_day": "ask the patient",
    "tumour.hereditary_syndrome": "ask clinical genetics",
    "tumour.primary_size_cm": "ask radiology or pathology",
    "disease": "ask radiology",
    "disease.resectable_for_cure": "ask the surgeon",
    "disease.liver_resectable": "ask the surgeon",
    "disease.debulkable_percent": "ask the surgeon",
    "disease.carcinoid_heart_disease": "ask cardiology (echocardiogram)",
    "disease.chd_valve_severity": "ask cardiology (echocardiogram)",
    "disease.bone_metastases_symptomatic": "ask the clinician",
    "imaging": "ask nuclear medicine",
    "imaging.lung_shunt_percent": "ask interventional radiology (MAA scan)",
    "labs": "blood or urine test",
    "performance": "ask the clinician",
    "history": "from the records",
    "context": "ask the patient",
    "context.health_system": "from the referral",
    "age_years": "from the patient record",
    "sex": "from the patient record",
    "pregnant": "ask the patient (pregnancy test)",
    "breastfeeding": "ask the patient",
}


def who_to_ask(path: str) -> str:
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        found = ASK.get(".".join(parts[:n]))
        if found:
            return found
    return ASK[""]


class _Labels(Protocol):
    def label(self, path: str) -> str: ...


def field_label(kb: _Labels, path: str) -> str:
    """A field's name as people read it: the knowledge base's label; a prior-treatment
    row's part ("history.prior_treatments.0.cycles") reads "Prior treatment 1: cycles"."""
    parts = path.split(".")
    if path.startswith("history.prior_treatments.") and len(parts) >= 3 and parts[2].isdigit():
        rest = " ".join(parts[3:]).replace("_", " ")
        return f"Prior treatment {int(parts[2]) + 1}" + (f": {rest}" if rest else "")
    label = kb.label(path)
    return label if label != path else parts[-1].replace("_", " ")
