"""The patient-view card: netmdt's options for this patient, by verdict, in Markdown.

The indicator is ``warning`` when a *key option* (``CdsConfig.key_options``: by default
curative surgery, long-acting SSA, Lu-177 PRRT and chemotherapy, the main lines of NET,
NEC and PPGL treatment) has the verdict ``insufficient_information``: a main treatment
cannot be judged until the missing facts are found. Otherwise ``info``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from netmdt.assessment import VERDICTS, Assessment
from netmdt.cdshooks.config import CdsConfig
from netmdt.fhir._fhirvalues import items
from netmdt.fhir.codes import tables
from netmdt.fhir.report import ImportReport

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
OVERRIDE_SYSTEM = "urn:netmdt:cds:override-reason"
OVERRIDE_REASONS = (
    ("mdt-decided-otherwise", "The MDT has decided otherwise"),
    ("patient-preference", "The patient's preference"),
    ("record-out-of-date", "The record is incomplete or out of date"),
    ("not-relevant", "Not relevant to this patient now"),
)
HEADINGS = {
    "recommended": "Recommended",
    "consider": "Consider",
    "insufficient_information": "Insufficient information",
    "not_recommended": "Not recommended",
    "contraindicated": "Contraindicated",
}
MAX_SUGGESTIONS = 5


def patient_card(
    assessment: Assessment,
    report: ImportReport,
    patient: dict[str, Any],
    config: CdsConfig,
) -> dict[str, Any]:
    """One card for a patient-view hook (CDS Hooks 2.0 Card)."""
    key_unknown = [
        o
        for o in assessment.options
        if o.option in config.key_options and o.verdict == "insufficient_information"
    ]
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(assessment),
        "indicator": "warning" if key_unknown else "info",
        "detail": _detail(assessment, report, key_unknown),
        "source": _source(assessment, config),
        "overrideReasons": [
            {"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS
        ],
        "links": [
            {"label": "Full netmdt assessment", "url": _link(patient, config), "type": "absolute"}
        ],
    }
    suggestions = _suggestions(assessment, patient)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"
    return card


def _summary(a: Assessment) -> str:
    counts = Counter(o.verdict for o in a.options)
    parts = [f"{counts[v]} {v.replace('_', ' ')}" for v in ("recommended", "consider") if counts[v]]
    unknown = counts["insufficient_information"]
    if unknown:
        parts.append(f"{unknown} need more information")
    text = "NET MDT options (netmdt): " + (", ".join(parts) or "none positive")
    return text if len(text) < 140 else text[:136] + "..."


def _detail(a: Assessment, report: ImportReport, key_unknown: list[Any]) -> str:
    lines: list[str] = []
    if key_unknown:
        names = ", ".join(o.name for o in key_unknown)
        lines += [f"**Key options that cannot be judged yet:** {names}.", ""]
    for verdict in VERDICTS:
        options = [o for o in a.options if o.verdict == verdict]
        if not options:
            continue
        lines.append(f"**{HEADINGS[verdict]}**")
        for o in options:
            missing = (
                f" (missing: {', '.join(m.label for m in o.missing)})"
                if verdict == "insufficient_information" and o.missing
                else ""
            )
            if o.pending_checks and verdict in ("recommended", "consider"):
                missing = (
                    f" (subject to: {', '.join(dict.fromkeys(c.label for c in o.pending_checks))})"
                )
            lines.append(f"- {o.name}{missing}")
        lines.append("")
    lines.append(
        f"From the record: {len(report.facts)} facts used, {len(report.unmapped)} items not "
        f"mapped, {len(report.unknown)} case fields unknown."
    )
    lines.append(
        "netmdt never decides: the MDT decides. Knowledge base "
        f"{a.knowledge_base.version} ({a.knowledge_base.fingerprint})."
    )
    return "\n".join(lines)


def _source(a: Assessment, config: CdsConfig) -> dict[str, Any]:
    source: dict[str, Any] = {"label": f"netmdt, knowledge base {a.knowledge_base.version}"}
    url = config.source_url or _main_citation(a)
    if url:
        source["url"] = url
    return source


def _main_citation(a: Assessment) -> str | None:
    """The URL of the source cited most often by the positive options' reasons."""
    urls = {s.id: s.url for s in a.knowledge_base.sources if s.url}
    cited = Counter(
        s
        for o in a.options
        if o.verdict in ("recommended", "consider")
        for r in o.reasons
        for s in r.sources
        if s in urls
    )
    if not cited:
        cited = Counter(s for o in a.options for r in o.reasons for s in r.sources if s in urls)
    return urls[cited.most_common(1)[0][0]] if cited else None


def _link(patient: dict[str, Any], config: CdsConfig) -> str:
    for ident in items(patient, "identifier"):
        if ident.get("system") == NHS_NUMBER and ident.get("value"):
            query = {"nhs_number": str(ident["value"]).replace(" ", "")}
            break
    else:
        query = {"fhir_id": str(patient.get("id", ""))}
    return f"{config.app_base_url}/patients/find?{urlencode(query)}"


def _suggestions(a: Assessment, patient: dict[str, Any]) -> list[dict[str, Any]]:
    loinc = {q.field: sorted(q.codes)[0] for q in tables().quantities}
    out = []
    for inv in a.next_investigations[:MAX_SUGGESTIONS]:
        code: dict[str, Any] = {"text": inv.how_to_find_out}
        if inv.field in loinc:
            code["coding"] = [{"system": "http://loinc.org", "code": loinc[inv.field]}]
        request = {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{patient.get('id')}"},
            "code": code,
            "reasonCode": [
                {"text": f"netmdt: settles {len(inv.settles)} option(s): " + ", ".join(inv.settles)}
            ],
        }
        out.append(
            {
                "label": f"Find out: {inv.label}"[:140],
                "uuid": str(uuid.uuid4()),
                "actions": [
                    {"type": "create", "description": inv.how_to_find_out, "resource": request}
                ],
            }
        )
    return out
