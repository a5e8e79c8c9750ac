"""The ``context`` section: health system and the patient's stated preferences."""

from __future__ import annotations

from typing import Literal

from netmdt.case._base import Section, TextList

HealthSystem = Literal["nhs_england", "nhs_scotland", "nhs_wales", "other"]


class Context(Section):
    health_system: HealthSystem | None = None
    preferences: TextList | None = None  # free text; never changes a verdict
    wishes_supportive_care_only: bool | None = None  # v1.1: informed wish, read by BSC only
