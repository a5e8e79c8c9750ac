"""The ``disease`` section: extent, resectability, course (as it is on ``assessed_on``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from netmdt.case._base import IsoDate, Percent, Positive, Section

ExtrahepaticSite = Literal["bone", "lung", "peritoneum", "distant_nodes", "ovary", "brain", "other"]
Progression = Literal["progressive", "stable", "unknown"]
ValveSeverity = Literal["none", "mild", "moderate", "severe"]


class LiverMetastases(Section):
    present: bool | None = None
    count: int | None = Field(default=None, ge=0)
    largest_cm: Positive | None = None
    liver_involvement_percent: Percent | None = None
    bilobar: bool | None = None


class Disease(Section):
    primary_in_situ: bool | None = None
    resectable_for_cure: bool | None = None
    regional_nodes: bool | None = None
    liver_metastases: LiverMetastases | None = None
    extrahepatic_metastases: list[ExtrahepaticSite] | None = None
    liver_dominant: bool | None = None
    liver_resectable: bool | None = None
    debulkable_percent: Percent | None = None
    progression_date: IsoDate | None = None
    stable_since: IsoDate | None = None
    measurable_recist: bool | None = None
    progression: Progression | None = None
    carcinoid_heart_disease: bool | None = None
    # case format v1.1
    residual_disease: bool | None = None  # any tumour left now on staging; false = no evidence
    chd_valve_severity: ValveSeverity | None = None  # worst right-heart valve lesion on echo
    bone_metastases_symptomatic: bool | None = None
    spinal_cord_compression: bool | None = None
    oligometastatic: bool | None = None  # 1-5 metastases, all treatable locally
