"""The assessment: netmdt's view of every option for one case (the output contract).

Field names follow ``shared/spec/case-format.md`` ("Assessment (output)"); fields
are only ever added.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict

Verdict = Literal[
    "recommended", "consider", "not_recommended", "contraindicated", "insufficient_information"
]
VERDICTS: tuple[Verdict, ...] = (
    "recommended",
    "consider",
    "insufficient_information",
    "not_recommended",
    "contraindicated",
)
POSITIVE = frozenset({"recommended", "consider"})
NEGATIVE = frozenset({"not_recommended", "contraindicated"})
Status = Literal["met", "unmet", "unknown"]
Pathway = Literal[
    "nhs_commissioned",
    "not_routinely_commissioned",
    "audit_registry",
    "trial_only",
    "not_applicable",
    "unknown",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def trusted(cls, **fields: Any) -> Self:
        """Build from values the engine made itself, every field given, without validation.

        The engine's hot path: about twice as fast as ``model_construct``, which also
        fills defaults. The JSON round-trip property test checks the result validates.
        """
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", fields)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


class SourceRef(_Out):
    id: str
    citation: str
    year: int | None = None
    url: str | None = None
    evidence: str


class KnowledgeBaseRef(_Out):
    version: str
    fingerprint: str
    updated: str
    sources: list[SourceRef]


class LocalValue(_Out):
    """A local setting a criterion's rule reads, as the centre set it (governance)."""

    name: str
    value: int | float
    default: int | float
    unit: str
    by: str | None = None  # who set it (None: the default applies)
    on: date | None = None


class CentreReview(_Out):
    """The centre's review of a criterion (assessments made against a database): status
    approved | awaiting | lapsed | rejected; ``verdict`` is the recorded one (e.g.
    approved_with_local_change, needs_discussion), ``local_settings`` those its rule reads."""

    status: Literal["approved", "awaiting", "lapsed", "rejected"]
    by: str | None = None
    on: date | None = None
    verdict: str | None = None
    local_settings: list[LocalValue] = []


class Reason(_Out):
    criterion: str
    group: str
    status: Status
    text: str
    sources: list[str]
    evidence: str
    # Without a database: the bundled knowledge base's flag (review: needed). Made against
    # a database: the centre's review of the criterion (netmdt.governance).
    review: bool | CentreReview
    disagreement: str | None = None


class Missing(_Out):
    field: str
    label: str
    why: str
    how_to_find_out: str


class PendingCheck(_Out):
    """A ``before_treatment`` check not yet known: the verdict stands subject to it."""

    field: str
    label: str
    criterion: str
    text: str  # the criterion, e.g. "ALT at most 3 x ULN"
    how_to_find_out: str


class Funding(_Out):
    pathway: Pathway
    registry_status: Literal["open", "on_hold", "closed"] | None = None
    note: str
    sources: list[str]
    missing: list[str] = []


class OptionAssessment(_Out):
    option: str
    name: str
    verdict: Verdict
    summary: str
    reasons: list[Reason]
    missing: list[Missing]
    pending_checks: list[PendingCheck] = []  # only on positive and open verdicts
    counterfactual: str | None = None
    warnings: list[str]
    funding: Funding
    review_needed: bool


class Investigation(_Out):
    field: str
    label: str
    how_to_find_out: str
    settles: list[str]


TrialVerdict = Literal["eligible", "possibly_eligible", "not_eligible"]
TRIAL_VERDICTS: tuple[TrialVerdict, ...] = ("eligible", "possibly_eligible", "not_eligible")


class TrialReason(_Out):
    """One trial criterion for this case. ``status`` is its expression's value (met:
    true); ``outcome`` what that means for eligibility (an exclusion that is met
    fails); ``label`` says both in words ("exclusion met")."""

    criterion: str
    kind: Literal["inclusion", "exclusion"]
    status: Status
    outcome: Literal["passes", "fails", "unknown"]
    label: str
    text: str
    quote: str
    values: dict[str, Any] = {}  # the case's values of the fields read (failing criteria)
    sources: list[str] = []
    url: str | None = None
    evidence: str
    # Without a database: the card's flag (review: needed). Made against a database:
    # the centre's review of the trial criterion (netmdt.governance), as Reason.review.
    review: bool | CentreReview


class TrialSite(_Out):
    name: str
    city: str | None = None
    country: str | None = None
    status: str | None = None
    distance_km: float | None = None


class TrialMatch(_Out):
    """A trial (and arm) for one case: the verdict, why, and what would settle it."""

    trial: str
    acronym: str
    registry_ids: dict[str, str]
    arm: str | None = None
    verdict: TrialVerdict
    overall_status: str
    open: bool  # recruiting at some site (or overall, where no site status is given), or open here
    open_here: bool = False  # recruiting at our centre, or the local override
    opening_soon: bool = False  # not yet recruiting (listed apart; never "open")
    status_note: str  # e.g. "recruiting (verified 2025-11)", "completed Jun 2013"
    reasons: list[TrialReason]
    missing: list[Missing] = []  # possibly_eligible only: the unknown facts that settle it
    manual_checks: list[str] = []  # registry lines not encoded: check by hand
    sites: list[TrialSite] = []
    warnings: list[str] = []
    review_needed: bool = False


class Assessment(_Out):
    knowledge_base: KnowledgeBaseRef
    case_id: str | None
    assessed_on: date | None
    options: list[OptionAssessment]
    next_investigations: list[Investigation]
    trials: list[TrialMatch]
    warnings: list[str]

    def option(self, option_id: str) -> OptionAssessment:
        for o in self.options:
            if o.option == option_id:
                return o
        raise KeyError(option_id)


# ------------------------------------------------------------------- summary view


class TrialSummary(_Out):
    """A trial the case could join, in the summary view: eligible or possibly eligible
    (not-eligible and closed trials are in the full view only), with the unknown facts
    that settle it by field path; no reasons, sites or manual checks."""

    trial: str
    acronym: str
    arm: str | None = None
    verdict: TrialVerdict
    open: bool
    open_here: bool = False
    opening_soon: bool = False
    missing: list[str] = []


View = Literal["full", "summary"]
VIEWS: tuple[View, ...] = ("full", "summary")


class DecidingReason(_Out):
    """The criterion that settles an option's verdict (its full record: the full view)."""

    criterion: str
    status: Status
    text: str


class FundingSummary(_Out):
    """The funding pathway; its note and sources are in the full view."""

    pathway: Pathway
    registry_status: Literal["open", "on_hold", "closed"] | None = None
    missing: list[str] = []


class OptionSummary(_Out):
    """An option in the summary view: the verdict and what it rests on, without the
    reason list, counterfactual and option warnings (those are in the full view). The
    option's name is the knowledge base's (``GET /api/kb`` or the full view)."""

    option: str
    verdict: Verdict
    funding: FundingSummary
    deciding: DecidingReason | None = None  # none when recommended
    missing: list[str] = []  # fields; their labels: next_investigations
    pending_checks: list[PendingCheck] = []


class InvestigationSummary(_Out):
    """A missing fact to find out, most options settled first (which options: each
    option's ``missing``; how to find it out: the full view or the knowledge base)."""

    field: str
    label: str


class KnowledgeBaseVersion(_Out):
    version: str
    fingerprint: str
    updated: str


class AssessmentSummary(_Out):
    """The summary view of an assessment (``view=summary``): the same verdicts, missing
    facts, pending checks and funding pathways as the full view, in a few kilobytes.
    Serialised with the members that hold their default left out (``to_json``)."""

    view: Literal["summary"]
    knowledge_base: KnowledgeBaseVersion
    case_id: str | None
    assessed_on: date | None
    options: list[OptionSummary]
    next_investigations: list[InvestigationSummary]
    trials: list[TrialSummary]
    warnings: list[str]

    def to_json(self) -> str:
        """Compact JSON: a member at its default (null, []) is left out."""
        return self.model_dump_json(exclude_defaults=True)

    def option(self, option_id: str) -> OptionSummary:
        for o in self.options:
            if o.option == option_id:
                return o
        raise KeyError(option_id)
