"""The ``history`` section: prior treatments, surgery and liver-directed therapy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from netmdt.case._base import MAX_ITEMS, IsoDate, NonNegative, Section, TextList

OptionId = Literal[
    "surgery_curative",
    "surgery_debulking",
    "ssa_short_acting",
    "ssa_long_acting",
    "chemotherapy",
    "interferon_alpha",
    "mibg_i131",
    "prrt_lu177_dotatate",
    "prrt_y90_dotatoc",
    "liver_embolisation",
    "thermal_ablation",
    "liver_transplant",
    "clinical_trial",
    "everolimus",
    "sunitinib",
    "telotristat",
    "active_surveillance",
    "endoscopic_resection",
    # case format v1.1
    "cabozantinib",
    "best_supportive_care",
    "hormone_syndrome_control",
    "sirt",
    "palliative_radiotherapy",
]
Outcome = Literal["response", "stable", "progression", "toxicity", "unknown"]
LiverDirected = Literal["embolisation", "sirt", "ablation", "resection"]
Regimen = Literal[
    "platinum_etoposide",
    "captem",
    "temozolomide",
    "streptozocin_based",
    "folfiri",
    "folfox",
    "capox",
    "cvd",
    "other",
]


class PriorTreatment(Section):
    therapy: OptionId
    start: IsoDate | None = None
    end: IsoDate | None = None
    cycles: int | None = Field(default=None, ge=0)
    outcome: Outcome | None = None
    progression_free_months: NonNegative | None = None
    regimen: Regimen | None = None  # v1.1: chemotherapy regimen (therapy: chemotherapy)

    @model_validator(mode="after")
    def _regimen_for_chemotherapy(self) -> PriorTreatment:
        if self.regimen is not None and self.therapy != "chemotherapy":
            raise ValueError(f"regimen is recorded for chemotherapy only, not {self.therapy}")
        return self

    @model_validator(mode="after")
    def _end_not_before_start(self) -> PriorTreatment:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class History(Section):
    prior_treatments: list[PriorTreatment] | None = Field(default=None, max_length=MAX_ITEMS)
    prior_surgery: TextList | None = None  # free text
    biliary_enteric_anastomosis: bool | None = None
    biliary_stent_or_sphincterotomy: bool | None = None
    portal_vein_thrombosis: bool | None = None
    primary_resection_date: IsoDate | None = None
    prior_liver_directed_therapy: list[LiverDirected] | None = None
    alpha_blockade_established: bool | None = None  # v1.1: alpha- then beta-blockade in place
