"""A trial card as a FHIR R4 ``ResearchStudy`` with its eligibility as a contained
``Group`` (one characteristic per encoded criterion; an exclusion has ``exclude: true``).
Checked with the ``fhir.resources`` R4B models (the R4 and R4B ResearchStudy agree on
every element used here).

Status mapping (ClinicalTrials.gov -> R4 research-study-status): not_yet_recruiting ->
approved; recruiting, enrolling_by_invitation -> active; active_not_recruiting ->
closed-to-accrual; suspended -> temporarily-closed-to-accrual; terminated ->
administratively-completed; completed -> completed; withdrawn -> withdrawn; unknown ->
in-review (no R4 code says "unknown"; the card's own status is kept in an extension).
Sites are not exported.
"""

from __future__ import annotations

from typing import Any

from netmdt.errors import FhirError, Problem
from netmdt.trials.load import Trial

STATUS = {
    "not_yet_recruiting": "approved",
    "recruiting": "active",
    "enrolling_by_invitation": "active",
    "active_not_recruiting": "closed-to-accrual",
    "suspended": "temporarily-closed-to-accrual",
    "terminated": "administratively-completed",
    "completed": "completed",
    "withdrawn": "withdrawn",
    "unknown": "in-review",
}
PHASE = {
    "early_phase1": "early-phase-1",
    "phase1": "phase-1",
    "phase2": "phase-2",
    "phase3": "phase-3",
    "phase4": "phase-4",
    "na": "n-a",
}
PHASE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-phase"
REGISTRY_SYSTEM = "urn:netmdt:fhir:trial-registry:"  # + nct, isrctn, eudract, ctis, iras
STATUS_EXT = "urn:netmdt:fhir:trial-overall-status"
RULE_SYSTEM = "urn:netmdt:fhir:rule"


_COMBINED = {("phase1", "phase2"): "phase-1-phase-2", ("phase2", "phase3"): "phase-2-phase-3"}


def _phase(phases: list[str]) -> dict[str, Any]:
    """A phase 1/2 or 2/3 trial has its combined code; otherwise the highest phase."""
    ordered = sorted(phases, key=list(PHASE).index)
    pair = (ordered[0], ordered[-1]) if len(ordered) == 2 else None
    code = (_COMBINED.get(pair) if pair else None) or PHASE[ordered[-1]]
    return {"coding": [{"system": PHASE_SYSTEM, "code": code}], "text": "/".join(ordered)}


def research_study(trial: Trial) -> dict[str, Any]:
    """The card as a ResearchStudy resource (JSON-ready dict), validated."""
    card = trial.card
    group = {
        "resourceType": "Group",
        "id": "eligibility",
        "type": "person",
        "actual": False,
        "characteristic": [
            {
                "code": {"text": c.text},
                "valueCodeableConcept": {
                    "coding": [{"system": RULE_SYSTEM, "code": c.id}],
                    "text": c.expr.describe(),
                },
                "exclude": c.kind == "exclusion",
            }
            for c in trial.criteria
        ],
    }
    dates = {
        k: v
        for k, v in (("start", card.dates.start), ("end", card.dates.completion))
        if v is not None
    }
    resource: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": card.id.replace("_", "-"),
        "identifier": [
            {"system": REGISTRY_SYSTEM + k, "value": v}
            for k, v in card.registry_ids.model_dump(exclude_none=True).items()
        ],
        "title": card.title,
        "status": STATUS[card.overall_status],
        "phase": _phase(list(card.phases)),
        "condition": [{"text": c} for c in card.conditions],
        "arm": [{"name": a.id, "description": a.label} for a in card.arms],
        "extension": [{"url": STATUS_EXT, "valueCode": card.overall_status}],
        "contained": [group],
        "enrollment": [{"reference": "#eligibility"}],
    }
    if dates:
        resource["period"] = dates
    if card.sponsor:
        resource["sponsor"] = {"display": card.sponsor}
    if not resource["arm"]:
        del resource["arm"]
    if not resource["condition"]:
        del resource["condition"]
    _validate(resource)
    return resource


def _validate(resource: dict[str, Any]) -> None:
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        get_fhir_model_class("ResearchStudy").model_validate(resource)
    except ValidationError as exc:
        raise FhirError(
            [Problem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()],
            "ResearchStudy",
        ) from None
