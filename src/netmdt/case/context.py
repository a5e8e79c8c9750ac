"""The ``context`` section: health system and the patient's stated preferences."""

from __future__ import annotations

from typing import Literal

from netmdt.case._base import Section

HealthSystem = Literal["nhs_england", "other"]


class Context(Section):
    health_system: HealthSystem | None = None
    preferences: list[str] | None = None  # free text; never changes a verdict
