"""The trial card format (``knowledge/trials/<id>.yaml``), as pydantic models.

Unknown keys are rejected; the format only ever grows (docs/trials.md). The loader
(``netmdt.trials.load``) type-checks each criterion's ``when`` with the rule language,
checks the sources and the accounting of the registry's free text.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netmdt.kb.schema import Evidence

TRIAL_ID = r"^[a-z][a-z0-9_]*$"
Phase = Literal["early_phase1", "phase1", "phase2", "phase3", "phase4", "na"]
OverallStatus = Literal[
    "not_yet_recruiting",
    "recruiting",
    "enrolling_by_invitation",
    "active_not_recruiting",
    "suspended",
    "terminated",
    "completed",
    "withdrawn",
    "unknown",
]
OVERALL_STATUSES: tuple[str, ...] = OverallStatus.__args__  # type: ignore[attr-defined]
REGISTRIES = ("nct", "isrctn", "eudract", "ctis", "iras")
# A month ("2025-11") or a day ("2025-11-03"): registries give either.
PARTIAL_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
_REGISTRY_ID = {
    "nct": re.compile(r"^NCT\d{8}$"),
    "isrctn": re.compile(r"^ISRCTN\d{8}$"),
    "eudract": re.compile(r"^\d{4}-\d{6}-\d{2}$"),
    "ctis": re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}$"),
    "iras": re.compile(r"^\d{5,7}$"),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _partial_date(value: object) -> str:
    text = value.isoformat() if isinstance(value, date) else str(value)
    if not PARTIAL_DATE.match(text):
        raise ValueError("must be YYYY-MM or YYYY-MM-DD")
    return text


PartialDate = str  # validated by the models' validators (YAML may give a date)


class RegistryIds(Strict):
    nct: str | None = None
    isrctn: str | None = None
    eudract: str | None = None
    ctis: str | None = None
    iras: str | None = None

    @model_validator(mode="after")
    def _check(self) -> RegistryIds:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        if not given:
            raise ValueError(f"at least one registry id ({', '.join(REGISTRIES)})")
        for key, value in given.items():
            if not _REGISTRY_ID[key].match(value):
                raise ValueError(f"{key} {value!r} does not look like a {key} id")
        return self

    def primary(self) -> tuple[str, str]:
        """The first registry id in ``REGISTRIES`` order: (registry, id)."""
        for key in REGISTRIES:
            value = getattr(self, key)
            if value is not None:
                return key, value
        raise AssertionError("validated: at least one id")


class Dates(Strict):
    start: PartialDate | None = None
    primary_completion: PartialDate | None = None
    completion: PartialDate | None = None
    completion_actual: bool = False
    last_update_posted: PartialDate | None = None  # additive: the registry's last update

    @field_validator(
        "start", "primary_completion", "completion", "last_update_posted", mode="before"
    )
    @classmethod
    def _dates(cls, value: object) -> str | None:
        return None if value is None else _partial_date(value)


class Arm(Strict):
    id: str = Field(pattern=TRIAL_ID)
    label: str = Field(min_length=1)
    interventions: list[str] = []


class Site(Strict):
    name: str = Field(min_length=1)
    city: str | None = None
    country: str | None = None
    status: OverallStatus | None = None  # absent on many completed records
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both(self) -> Site:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class Verification(Strict):
    url: str = Field(min_length=1)
    read_on: date
    covers: str = Field(min_length=1)


class InlineSource(Strict):
    url: str = Field(min_length=1)
    citation: str | None = None


class TrialCriterionSpec(Strict):
    id: str = Field(pattern=TRIAL_ID)
    kind: Literal["inclusion", "exclusion"]
    text: str = Field(min_length=1)
    when: str
    reads: list[str]
    quote: str = Field(min_length=1)
    source: InlineSource | None = None
    sources: list[str] = []
    evidence: Evidence
    review: Literal["needed"] | None = None
    arms: list[str] | None = None

    @model_validator(mode="after")
    def _cited(self) -> TrialCriterionSpec:
        if self.source is None and not self.sources:
            raise ValueError("a criterion cites `source: {url}` or `sources: [ids]`")
        return self


class ManualCheck(Strict):
    quote: str = Field(min_length=1)
    why: str = Field(min_length=1)


class Eligibility(Strict):
    min_age_years: float | None = Field(default=None, ge=0)
    max_age_years: float | None = Field(default=None, ge=0)
    sex: Literal["all", "female", "male"] = "all"
    healthy_volunteers: bool | None = None  # additive: the registry's flag
    criteria: list[TrialCriterionSpec] = []
    manual_check: list[ManualCheck] = []
    registry_text: str | None = None


class TrialCard(Strict):
    id: str = Field(pattern=TRIAL_ID)
    acronym: str = Field(min_length=1)
    title: str = Field(min_length=1)
    sponsor: str | None = None
    registry_ids: RegistryIds
    phases: list[Phase] = Field(min_length=1)
    overall_status: OverallStatus
    status_verified: PartialDate
    last_refreshed: date
    dates: Dates = Dates()
    conditions: list[str] = []
    arms: list[Arm] = []
    sites: list[Site] = []
    verification: list[Verification] = Field(min_length=1)
    eligibility: Eligibility = Eligibility()
    # additive (docs/trials.md): historical cards say so; they are never reported open
    historical: bool = False
    note: str | None = None

    @field_validator("status_verified", mode="before")
    @classmethod
    def _verified(cls, value: object) -> str:
        return _partial_date(value)
