"""The ``performance`` section: fitness, life expectancy, comorbidities."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from netmdt.case._base import NonNegative, Section

Comorbidity = Literal[
    "heart_failure",
    "uncontrolled_hypertension",
    "interstitial_lung_disease",
    "cirrhosis",
    "diabetes",
    "active_infection",
    "autoimmune_disease",
    "severe_depression",
    "coagulopathy",
    "other",
]


class Performance(Section):
    ecog: int | None = Field(default=None, ge=0, le=4)
    life_expectancy_months: NonNegative | None = None
    karnofsky: int | None = Field(default=None, ge=0, le=100)
    comorbidities: list[Comorbidity] | None = None
    can_isolate_after_radionuclide: bool | None = None
    child_pugh: Literal["A", "B", "C"] | None = None  # v1.1
