"""The ``disease`` section: extent, resectability, course (as it is on ``assessed_on``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from netmdt.case._base import IsoDate, Percent, Positive, Section

ExtrahepaticSite = Literal["bone", "lung", "peritoneum", "distant_nodes", "ovary", "brain", "other"]
Progression = Literal["progressive", "stable", "unknown"]


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
