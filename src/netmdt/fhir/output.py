"""``to_fhir``: an assessment as a FHIR Bundle (a GuidanceResponse and a RequestGroup).

The GuidanceResponse says whether the assessment is complete (``success``) or needs more
facts (``data-required``, with one ``dataRequirement`` per missing fact). The RequestGroup
holds one action per option: its verdict, reasons, funding route and sources, and its
pending before-treatment checks as ``applicability`` conditions. Every
resource is checked by building the ``fhir.resources`` R4B model before it is returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from netmdt.assessment import (
    Assessment,
    CentreReview,
    OptionAssessment,
    PendingCheck,
    TrialMatch,
)
from netmdt.case import Case
from netmdt.errors import FhirError, Problem
from netmdt.fhir.codes import tables

OPTION_SYSTEM = "urn:netmdt:fhir:option"
VERDICT_SYSTEM = "urn:netmdt:fhir:verdict"
FUNDING_SYSTEM = "urn:netmdt:fhir:funding-pathway"
TRIAL_SYSTEM = "urn:netmdt:fhir:trial"
TRIAL_VERDICT_SYSTEM = "urn:netmdt:fhir:trial-verdict"
CASE_FIELD_EXT = "urn:netmdt:fhir:case-field"
MODULE = "urn:netmdt:knowledge-base"
# RequestGroup.action.condition.expression.language of a pending before-treatment check:
# the expression is the knowledge base's criterion id (ExpressionLanguage is extensible).
PENDING_CHECK_LANGUAGE = "text/x-netmdt-criterion"

# Which FHIR resource type would carry each case section (for dataRequirement.type).
_SECTION_TYPE = {
    "tumour": "Condition",
    "disease": "Condition",
    "imaging": "DiagnosticReport",
    "labs": "Observation",
    "performance": "Observation",
    "history": "Procedure",
    "context": "Patient",
}
_FIELD_TYPE = {
    "tumour.ki67_percent": "Observation",
    "tumour.grade": "Observation",
    "tumour.mitotic_count_per_2mm2": "Observation",
    "history.prior_treatments": "MedicationStatement",
    "pregnant": "Observation",
    "breastfeeding": "Observation",
}


def to_fhir(assessment: Assessment, case: Case) -> dict[str, Any]:
    """The assessment as a FHIR R4 Bundle (type ``collection``); validated with R4B models."""
    ids = _Ids(assessment)
    subject = _subject(case)
    request_group = _request_group(assessment, subject, ids)
    guidance = _guidance_response(assessment, subject, ids)
    bundle = {
        "resourceType": "Bundle",
        "id": ids.make("bundle"),
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{guidance['id']}", "resource": guidance},
            {"fullUrl": f"urn:uuid:{request_group['id']}", "resource": request_group},
        ],
    }
    _validate(bundle)
    return bundle


class _Ids:
    """Stable ids: the same assessment gives the same ids (uuid5 of case, date and KB)."""

    def __init__(self, a: Assessment) -> None:
        self.seed = f"netmdt:{a.case_id}:{a.assessed_on}:{a.knowledge_base.fingerprint}"

    def make(self, kind: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}:{kind}"))


def _subject(case: Case) -> dict[str, str] | None:
    if case.id and case.id.startswith("Patient/"):
        return {"reference": case.id}
    return None


def _guidance_response(a: Assessment, subject: dict[str, str] | None, ids: _Ids) -> dict[str, Any]:
    requirements = list(_data_requirements(a))
    g: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": ids.make("guidance"),
        "moduleUri": f"{MODULE}:{a.knowledge_base.version}",
        "status": "data-required" if requirements else "success",
        "result": {"reference": f"urn:uuid:{ids.make('requestgroup')}"},
        "note": [{"text": w} for w in a.warnings]
        + [{"text": f"knowledge base {a.knowledge_base.version} ({a.knowledge_base.fingerprint})"}],
    }
    if a.assessed_on:
        g["occurrenceDateTime"] = a.assessed_on.isoformat()
    if subject:
        g["subject"] = subject
    if requirements:
        g["dataRequirement"] = requirements
    return g


def _data_requirements(a: Assessment) -> Iterator[dict[str, Any]]:
    """One requirement per missing fact, in the order of the next investigations."""
    loinc = {q.field: sorted(q.codes) for q in tables().quantities} | {
        s.field: sorted(s.codes) for s in tables().scores
    }
    seen: list[str] = [inv.field for inv in a.next_investigations]
    seen += [m.field for o in a.options for m in o.missing if m.field not in seen]
    for path in dict.fromkeys(seen):
        req: dict[str, Any] = {
            "type": _FIELD_TYPE.get(path, _SECTION_TYPE.get(path.split(".")[0], "Observation")),
            "extension": [{"url": CASE_FIELD_EXT, "valueString": path}],
        }
        if path in loinc:
            req["codeFilter"] = [
                {
                    "path": "code",
                    "code": [{"system": "http://loinc.org", "code": c} for c in loinc[path]],
                }
            ]
        yield req


def _request_group(a: Assessment, subject: dict[str, str] | None, ids: _Ids) -> dict[str, Any]:
    rg: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "id": ids.make("requestgroup"),
        "status": "draft",
        "intent": "proposal",
        "action": [_action(o, a) for o in a.options] + [_trial_action(m) for m in a.trials],
    }
    if a.assessed_on:
        rg["authoredOn"] = a.assessed_on.isoformat()
    if subject:
        rg["subject"] = subject
    return rg


def _action(o: OptionAssessment, a: Assessment) -> dict[str, Any]:
    sources = {s.id: s for s in a.knowledge_base.sources}
    cited = dict.fromkeys(s for r in o.reasons for s in r.sources)
    action: dict[str, Any] = {
        "title": o.name,
        "description": _description(o),
        "textEquivalent": f"{o.name}: {o.verdict.replace('_', ' ')}",
        "code": [
            {"coding": [{"system": OPTION_SYSTEM, "code": o.option, "display": o.name}]},
            {"coding": [{"system": VERDICT_SYSTEM, "code": o.verdict}]},
            {"coding": [{"system": FUNDING_SYSTEM, "code": o.funding.pathway}]},
        ],
    }
    if o.pending_checks:
        action["condition"] = [_pending_condition(c) for c in o.pending_checks]
    docs = [_citation(sources[s]) for s in cited if s in sources]
    if docs:
        action["documentation"] = docs
    return action


def _trial_action(m: TrialMatch) -> dict[str, Any]:
    """A trial (and arm) the case was matched against, after the options: its verdict and
    the criteria that do not pass, each with the centre's review (as an option's reasons)."""
    name = f"{m.acronym} ({m.arm})" if m.arm else m.acronym
    verdict = m.verdict.replace("_", " ")
    lines = [f"Trial verdict: {verdict}. {m.status_note}".strip()]
    lines += [
        f"{r.label.upper()}: {r.text}{_centre_review(r.review)}"
        for r in m.reasons
        if r.outcome != "passes"
    ]
    if m.missing:
        lines.append("Missing: " + ", ".join(x.label for x in m.missing))
    if m.registry_ids:
        lines.append("Registry: " + ", ".join(f"{k} {v}" for k, v in m.registry_ids.items()))
    action: dict[str, Any] = {
        "title": f"Trial: {name}",
        "description": "\n".join(lines),
        "textEquivalent": f"{name}: {verdict}",
        "code": [
            {"coding": [{"system": TRIAL_SYSTEM, "code": m.trial, "display": m.acronym}]},
            {"coding": [{"system": TRIAL_VERDICT_SYSTEM, "code": m.verdict}]},
        ],
    }
    urls = dict.fromkeys(r.url for r in m.reasons if r.url)
    if urls:
        action["documentation"] = [{"type": "documentation", "url": u} for u in urls]
    return action


def _pending_condition(check: PendingCheck) -> dict[str, Any]:
    """A pending before-treatment check as an applicability condition of the action: the
    verdict holds subject to it. The case field in the extension, as in dataRequirement."""
    return {
        "kind": "applicability",
        "extension": [{"url": CASE_FIELD_EXT, "valueString": check.field}],
        "expression": {
            "language": PENDING_CHECK_LANGUAGE,
            "description": f"Before treatment, not yet known: {check.text} "
            f"({check.label}: {check.how_to_find_out})",
            "expression": check.criterion,
        },
    }


def _description(o: OptionAssessment) -> str:
    lines = [f"Verdict: {o.verdict.replace('_', ' ')}. {o.summary}".strip()]
    lines += [
        f"{r.status.upper()}: {r.text}{_centre_review(r.review)}"
        for r in o.reasons
        if r.status != "met" and not (r.group == "before_treatment" and r.status == "unknown")
    ]
    if o.missing:
        lines.append("Missing: " + ", ".join(m.label for m in o.missing))
    if o.pending_checks:
        labels = dict.fromkeys(c.label for c in o.pending_checks)
        lines.append("Subject to (checks before treatment): " + ", ".join(labels))
    lines.append(f"Funding: {o.funding.pathway.replace('_', ' ')}. {o.funding.note}".strip())
    return "\n".join(lines)


def _centre_review(review: bool | CentreReview) -> str:
    """An assessment made against a centre's database: its review of the criterion."""
    if isinstance(review, bool):
        return ""  # the bundled flag: not shown here, as before
    from netmdt.governance.words import local_words, review_words

    return "".join(f" ({words})" for words in [review_words(review), *local_words(review)])


def _citation(source: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "citation", "label": source.id, "citation": source.citation}
    if source.url:
        doc["url"] = source.url
    return doc


def _validate(bundle: dict[str, Any]) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class("Bundle").model_validate(bundle)
    except ValidationError as exc:  # a bug in this module, reported with its location
        raise FhirError(
            [
                Problem(".".join(str(p) for p in e["loc"]), e["msg"], "invalid_output")
                for e in exc.errors(include_url=False)
            ]
        ) from exc
