"""What the registry's API, forms and CLI accept and return. Units are in the field names;
a value outside its range is refused with the field named."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from netmdt.store.schemas import RecordId, _In

Agent = Literal["lu177_dotatate", "lu177_dotatoc", "y90_dotatoc"]
# The largest single-cycle activity in the sources read: 25 GBq (dosimetry-guided
# Lu-177 DOTATOC, NCT04917484; standard Lu-177 DOTATATE is 7.4 GBq, NETTER-1 / SmPC).
# Above MAX_CYCLE_GBQ a value is refused as an entry error (740 is MBq/10 or a typo).
MAX_CYCLE_GBQ = 30.0
OVER_ACTIVITY_FACTOR = 1.1  # administered > prescribed x 1.1: data-quality warning
MAX_FORM_LESIONS = 5  # lesion rows on the web form (RECIST 1.1: at most 5 targets)
MIN_INTERVAL_DAYS = 42  # < 6 weeks between cycles: data-quality warning (UCL: 8-12 weeks)
Gbq = Annotated[float, Field(gt=0, le=MAX_CYCLE_GBQ, allow_inf_nan=False)]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]
NonTarget = Literal["none", "absent", "present", "unequivocal_progression"]
SstrResponse = Literal["complete", "partial", "stable", "progression", "not_done"]
DeathCause = Literal["net_progression", "treatment_related", "other", "unknown"]
# Plausible bounds per analyte (refuse entry errors, never grade them): unit in the name.
ANALYTE_BOUNDS: dict[str, tuple[float, float]] = {
    "haemoglobin_g_l": (10, 250),
    "platelets_10e9_l": (0, 2000),
    "neutrophils_10e9_l": (0, 100),
    "wbc_10e9_l": (0, 500),
    "lymphocytes_10e9_l": (0, 500),
    "creatinine_umol_l": (5, 3000),
    "bilirubin_umol_l": (0, 1000),
    "alt_u_l": (0, 10000),
}


class EnrolIn(_In):
    decision_id: RecordId
    consent_date: date
    info_sheet_version: Text200
    enrolled_on: date | None = None  # default: today
    planned_cycles: int | None = Field(default=None, ge=1, le=8)  # default 4; retreatment 2


class CycleIn(_In):
    given_on: date
    agent: Agent = "lu177_dotatate"
    prescribed_gbq: Gbq
    administered_gbq: Gbq


class LabValue(_In):
    value: float = Field(allow_inf_nan=False)
    lln: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    uln: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class LabsIn(_In):
    taken_on: date
    baseline: bool = False
    results: dict[str, LabValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> LabsIn:
        for name, v in self.results.items():
            if name not in ANALYTE_BOUNDS:
                raise ValueError(
                    f"results.{name}: not a graded analyte; allowed: {', '.join(ANALYTE_BOUNDS)}"
                )
            lo, hi = ANALYTE_BOUNDS[name]
            if not lo <= v.value <= hi:
                raise ValueError(f"results.{name}.value: {v.value:g} is outside {lo:g}-{hi:g}")
        return self


class AdverseEventIn(_In):
    term: Text200  # a CTCAE term
    grade: int = Field(ge=1, le=5)
    ctcae_version: Literal["5.0", "6.0"] = "5.0"
    meddra_code: int | None = Field(default=None, ge=10000000, le=99999999)
    onset: date
    resolved: date | None = None
    serious: bool = False


class Lesion(_In):
    lesion: Annotated[str, Field(min_length=1, max_length=40)]
    organ: Annotated[str, Field(min_length=1, max_length=40)]
    nodal: bool = False
    mm: float = Field(ge=0, le=500, allow_inf_nan=False)


class ScanIn(_In):
    scanned_on: date
    baseline: bool = False
    lesions: list[Lesion] = Field(default_factory=list, max_length=20)
    new_lesions: bool = False
    non_target: NonTarget = "none"
    sstr_response: SstrResponse | None = None


class FollowUpIn(_In):
    progression_date: date | None = None
    death_date: date | None = None
    death_cause: DeathCause | None = None
    last_contact: date | None = None
    stop_reason: Annotated[str, Field(max_length=500)] | None = None


class PromIn(_In):
    """Scale scores of one completed questionnaire, as its licensed scoring gave them."""

    instrument: Literal["eortc_qlq_c30", "eortc_qlq_ginet21", "other"]
    completed_on: date
    scores: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")], float] = Field(
        min_length=1, max_length=40
    )
    licence_ref: Text200  # the licence the instrument was used under

    @model_validator(mode="after")
    def _range(self) -> PromIn:
        for scale, value in self.scores.items():
            if not 0 <= value <= 100:
                raise ValueError(f"scores.{scale}: {value:g} is outside 0-100")
        return self


class PromOut(BaseModel):
    id: int
    instrument: str
    completed_on: date
    scale: str
    score: float
    licence_ref: str


class StatusIn(_In):
    status: Literal["open", "on_hold", "closed"]


class EnrolmentOut(BaseModel):
    id: int
    patient_id: int
    case_id: int
    decision_id: int
    case_version: int
    option: str
    kb_version: str
    kb_fingerprint: str
    subgroup: str
    subgroup_reason: str
    registry_status: str
    enrolled_on: date
    consent_date: date
    info_sheet_version: str
    planned_cycles: int
    stop_reason: str | None
    progression_date: date | None
    death_date: date | None
    death_cause: str | None
    last_contact: date | None
    created_by: str


class CycleOut(BaseModel):
    id: int
    number: int
    given_on: date
    agent: str
    prescribed_gbq: float
    administered_gbq: float
    cumulative_gbq: float
    warnings: list[str]


class LabOut(BaseModel):
    id: int
    taken_on: date
    baseline: bool
    analyte: str
    value: float
    lln: float | None
    uln: float | None
    grade: int | None
    grade_reason: str


class AdverseEventOut(BaseModel):
    id: int
    term: str
    meddra_code: int | None
    grade: int
    ctcae_version: str
    onset: date
    resolved: date | None
    serious: bool
    lab_id: int | None


class ScanOut(BaseModel):
    id: int
    scanned_on: date
    baseline: bool
    lesions: list[dict[str, Any]]
    new_lesions: bool
    non_target: str
    sstr_response: str | None
    sum_mm: float
    response: str | None
    response_reason: str | None


class RecordOut(BaseModel):
    """One enrolment with everything recorded since."""

    enrolment: EnrolmentOut
    cycles: list[CycleOut]
    labs: list[LabOut]
    adverse_events: list[AdverseEventOut]
    scans: list[ScanOut]
    proms: list[PromOut] = []
    cumulative_gbq: float
    max_grade: int | None
    best_response: str | None
