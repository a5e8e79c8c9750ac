"""The patient summary as data: what the page says, before it is rendered."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Standing = Literal["chosen", "recommended", "consider"]
OtherReason = Literal["not_suitable", "not_safe", "more_tests"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionInfo(_Model):
    """What the MDT decided at its meeting (entered by the team, not by netmdt)."""

    meeting_date: date
    chosen: list[str]  # option ids
    rationale: str | None = None  # free text from the team; escaped when rendered
    # the unknown facts the MDT asked to find out (case field paths), and how many further
    # investigations it asked for in free text (never shown: written for clinicians)
    investigations: list[str] = []
    other_investigations: int = 0


class SummaryOption(_Model):
    """One option the patient is told about in full."""

    option: str
    name: str  # plain name
    standing: Standing
    standing_text: str  # what the standing means, in plain words
    what_it_is: str
    what_it_involves: str
    benefits: str
    harms: str
    funding: str | None  # who pays, in plain words; None when netmdt cannot say
    awaiting_review: bool  # some rule behind this option awaits a clinician's check
    # The pending before-treatment checks, in plain words (each once): "tests to do
    # before the treatment starts".
    before_treatment: list[str] = Field(default_factory=list)


class OtherOption(_Model):
    """An option the team looked at that does not fit now: named, with the plain reason."""

    option: str
    name: str
    reason: OtherReason
    reason_title: str  # e.g. "Not suitable now"
    reason_text: str  # what that means, in plain words


class NextStep(_Model):
    """Something still to be found out, in plain words, and which options it helps decide."""

    text: str
    helps_decide: list[str]  # short plain option names
    fields: list[str]  # the case fields behind it (for the care team; not shown)


class Decision(_Model):
    meeting_date: date
    chosen: list[str]  # plain option names
    rationale: list[str]  # paragraphs


class GlossaryEntry(_Model):
    term: str
    meaning: str


class AboutKnowledgeBase(_Model):
    version: str
    updated: str
    fingerprint: str
    rules: int
    rules_awaiting_review: int
    sources: int


class PatientIdentifiers(_Model):
    """Who the summary is for, printed at its top (NHS number in 3-3-4 groups)."""

    name: str
    nhs_number: str | None = None
    date_of_birth: date | None = None
    hospital_number: str | None = None


class PatientSummary(_Model):
    """Everything the patient summary says; rendered by ``summary_html`` / ``summary_pdf``."""

    patient_name: str | None
    case_id: str | None
    assessed_on: date | None
    options: list[SummaryOption]
    other_options: list[OtherOption]
    next_steps: list[NextStep]
    decision: Decision | None
    glossary: list[GlossaryEntry] = Field(default_factory=list)
    # What the patient told the injection survey that the team will talk about (issue #14;
    # information only, never a change to an option).
    from_survey: list[str] = Field(default_factory=list)
    knowledge_base: AboutKnowledgeBase
    funding_statement: str
    identifiers: PatientIdentifiers | None = None
    centre: str = ""  # the NET centre's name (settings)
    contact: str = ""  # the named contact (settings); empty: "the team that gave you this"
    # After a decision: the other options netmdt's guide found may fit, by plain name only
    # (the chosen ones are described in full).
    also_possible: list[str] = Field(default_factory=list)
