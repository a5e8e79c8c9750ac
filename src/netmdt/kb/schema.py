"""The file formats of the knowledge base, as pydantic models (unknown keys rejected).

``netmdt kb schema`` writes these as JSON Schema for editors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
Evidence = Literal["V", "S", "R"]
Pathway = Literal[
    "nhs_commissioned", "not_routinely_commissioned", "audit_registry", "trial_only", "unknown"
]
GROUPS = ("applies_to", "contraindications", "requirements", "recommend_when", "before_treatment")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    citation: str = Field(min_length=1)
    year: int | None = None
    url: str | None = None
    evidence: Evidence
    note: str | None = None


class Side(Strict):
    position: str
    sources: list[str]  # may be empty where the brief names no source for a side; say so


class DisagreementSpec(Strict):
    id: str = Field(pattern=r"^D[0-9]+$")
    title: str
    sides: list[Side] = Field(min_length=2)
    netmdt_rule: str


class FieldSpec(Strict):
    label: str
    how_to_find_out: str


class DerivedSpec(Strict):
    text: str
    sources: list[str] = Field(min_length=1)
    evidence: Evidence
    review: Literal["needed"] | None = None


class DefinitionSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    text: str
    when: str
    reads: list[str]
    sources: list[str] = []
    evidence: Evidence = "V"
    review: Literal["needed"] | None = None


class CriterionSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1)
    when: str | bool
    reads: list[str]
    sources: list[str] = Field(min_length=1)
    evidence: Evidence
    review: Literal["needed"] | None = None
    disagreement: str | None = None
    if_not_met: str | None = None
    # One line: why this criterion sits in its group (e.g. "the MDT needs this to
    # decide", "routine pre-dose blood test checked by the treating team").
    group_reason: str | None = Field(default=None, min_length=1)
    # before_treatment only: the verdict when the check is false (default not_recommended,
    # i.e. deferred); contraindicated for an absolute contraindication found on the day,
    # consider for a relative one that only downgrades a recommendation.
    if_false: Literal["not_recommended", "contraindicated", "consider"] | None = None


class WarningSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1)
    when: str | bool | None = None
    reads: list[str] | None = None
    sources: list[str] = Field(min_length=1)
    evidence: Evidence
    review: Literal["needed"] | None = None
    disagreement: str | None = None


class FundingRuleSpec(Strict):
    when: str | bool | None = None
    reads: list[str] | None = None
    pathway: Pathway
    registry_status: Literal["open", "on_hold"] | None = None
    note: str
    sources: list[str] = Field(min_length=1)


class PatientText(Strict):
    what_it_is: str
    what_it_involves: str
    benefits: str
    harms: str


class OptionSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    summary: str
    definitions: list[DefinitionSpec] = []
    applies_to: list[CriterionSpec] = []
    contraindications: list[CriterionSpec] = []
    requirements: list[CriterionSpec] = []
    recommend_when: list[CriterionSpec] = []
    before_treatment: list[CriterionSpec] = []
    warnings: list[WarningSpec] = []
    funding: dict[Literal["nhs_england"], list[FundingRuleSpec]]
    patient: PatientText


class ParameterSpec(Strict):
    """A local setting (``parameters.yaml``): a value a centre may set within the range its
    sources allow; rules read it as ``param(id)``, texts show it as ``{id}``."""

    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1)
    type: Literal["integer", "number"]
    default: float
    minimum: float | None = None
    maximum: float | None = None
    values: list[float] | None = Field(default=None, min_length=2)
    unit: str
    range_reason: str = Field(min_length=1)  # why the allowed range is what it is
    sources: list[str] = Field(min_length=1)
    evidence: Evidence
    review: Literal["needed"] | None = None


# ``param(id)``: where kb.yaml's freshness takes a local setting instead of a number
PARAM_PATTERN = r"^param\([a-z][a-z0-9_]*\)$"
Window = Annotated[float, Field(gt=0)] | Annotated[str, Field(pattern=PARAM_PATTERN)]


class Freshness(Strict):
    """How old a fact may be before an assessment warns (checked as warnings, never verdicts)."""

    sstr_imaging_months: Window
    sstr_imaging_sources: list[str] = Field(min_length=1)
    labs_weeks: Window
    labs_sources: list[str] = Field(min_length=1)
    note: str


class KbSpec(Strict):
    version: str
    title: str
    updated: str
    maintenance: str
    funding_statement: str
    freshness: Freshness
