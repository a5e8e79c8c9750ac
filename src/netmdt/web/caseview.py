"""The MDT view of a case: what the chair reads aloud in 20 seconds (the clinical summary,
the question), then the options that matter, each with the one reason that decides it,
the facts whose absence blocks a decision, and the ruled-out options one line each.

Pure functions from the stored facts and the assessment to plain words (through
``netmdt.vocabulary``); the template lays them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netmdt.assessment import Assessment, OptionAssessment, Reason
from netmdt.engine.assess import summarize
from netmdt.kb import KnowledgeBase
from netmdt.vocabulary import fact_text, pathway_text, uk_date, value_name, who_to_ask

NEEDS_INFO_SHOWN = 4  # options needing information shown in full; the rest one click away
BLOCKING_SHOWN = 6


@dataclass(frozen=True)
class Line:
    label: str
    text: str


@dataclass(frozen=True)
class Event:
    """One entry of the treatment timeline."""

    when: str
    what: str
    outcome: str
    sort_key: str


@dataclass(frozen=True)
class OptionLine:
    option: OptionAssessment
    deciding: str
    pending: str
    funding: str
    needs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Blocking:
    label: str
    ask: str
    settles: int


@dataclass(frozen=True)
class MdtView:
    summary: list[Line]
    timeline: list[Event]
    leading: list[OptionLine]
    needs_info: list[OptionLine]
    more_needs_info: list[OptionLine]
    ruled_out: list[OptionLine]
    blocking: list[Blocking]
    warnings: list[str] = field(default_factory=list)


def _get(facts: Mapping[str, Any], path: str) -> Any:
    node: Any = facts
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def diagnosis(facts: Mapping[str, Any]) -> str:
    """ "Small-intestinal (jejunum or ileum) well-differentiated NET, G2, Ki-67 8%, stage:
    distant metastases (liver)"."""
    site, kind = _get(facts, "tumour.primary_site"), _get(facts, "tumour.type")
    head = " ".join(
        value_name(p, v) for p, v in (("tumour.primary_site", site), ("tumour.type", kind)) if v
    )
    parts = [head[:1].upper() + head[1:] if head else "Tumour type and site unknown"]
    for path, show in (
        ("tumour.lung_subtype", "{}"),
        ("tumour.nec_subtype", "{}"),
        ("tumour.grade", "{}"),
        ("tumour.ki67_percent", "Ki-67 {}"),
    ):
        value = _get(facts, path)
        if value is not None:
            parts.append(show.format(fact_text(path, value)))
    if _get(facts, "tumour.grade") is None:
        parts.append("grade unknown")
    if _get(facts, "tumour.ki67_percent") is None:
        parts.append("Ki-67 unknown")
    parts.append("stage: " + stage(facts))
    return ", ".join(parts)


def stage(facts: Mapping[str, Any]) -> str:
    """The extent in a few words (no TNM: the case format does not carry it)."""
    sites = []
    if _get(facts, "disease.liver_metastases.present") is True:
        sites.append("liver")
    extra = _get(facts, "disease.extrahepatic_metastases")
    if extra:
        sites.extend(value_name("disease.extrahepatic_metastases", s) for s in extra)
    if sites:
        return "distant metastases (" + ", ".join(sites) + ")"
    nodes = _get(facts, "disease.regional_nodes")
    if _get(facts, "disease.liver_metastases.present") is False and extra == []:
        return "regional nodes, no distant metastases" if nodes else "no distant metastases"
    return "extent not fully staged"


def extent(facts: Mapping[str, Any]) -> str:
    bits = []
    primary = _get(facts, "disease.primary_in_situ")
    if primary is not None:
        bits.append("primary in place" if primary else "primary removed")
    nodes = _get(facts, "disease.regional_nodes")
    if nodes is not None:
        bits.append("regional nodes" if nodes else "no regional nodes")
    liver = _get(facts, "disease.liver_metastases") or {}
    if liver.get("present"):
        detail = [
            f"{liver['count']} lesions" if liver.get("count") is not None else "",
            f"largest {liver['largest_cm']:g} cm" if liver.get("largest_cm") is not None else "",
            f"{liver['liver_involvement_percent']:g}% of liver"
            if liver.get("liver_involvement_percent") is not None
            else "",
            "both lobes" if liver.get("bilobar") else "",
        ]
        bits.append("liver metastases (" + ", ".join(d for d in detail if d) + ")")
    elif liver.get("present") is False:
        bits.append("no liver metastases")
    extra = _get(facts, "disease.extrahepatic_metastases")
    if extra is not None:
        bits.append("outside the liver: " + fact_text("disease.extrahepatic_metastases", extra))
    for path, yes, no in (
        ("disease.resectable_for_cure", "resectable for cure", "not resectable for cure"),
        ("disease.liver_dominant", "liver-dominant", ""),
    ):
        value = _get(facts, path)
        if value is not None and (yes if value else no):
            bits.append(yes if value else no)
    return "; ".join(bits) or "unknown"


def functional(facts: Mapping[str, Any]) -> str:
    syndromes = _get(facts, "tumour.functional_syndrome")
    if syndromes is None:
        return "unknown"
    text = fact_text("tumour.functional_syndrome", syndromes or ["none"])
    controlled = _get(facts, "tumour.symptoms_controlled")
    if syndromes and syndromes != ["none"] and controlled is not None:
        text += ", controlled" if controlled else ", not controlled"
    return text[:1].upper() + text[1:]


def receptor_imaging(facts: Mapping[str, Any]) -> str:
    sstr = _get(facts, "imaging.sstr") or {}
    if sstr.get("positive") is None and not sstr.get("modality"):
        text = "SSTR imaging: none recorded"
    else:
        name = (
            value_name("imaging.sstr.modality", sstr["modality"])
            if sstr.get("modality")
            else "SSTR imaging"
        )
        when = f" {uk_date(sstr['date'])}" if sstr.get("date") else " (date unknown)"
        result = {True: "positive", False: "negative", None: "result unknown"}[sstr.get("positive")]
        extra = [
            value_name("imaging.sstr.uptake_vs_liver", sstr["uptake_vs_liver"])
            if sstr.get("uptake_vs_liver")
            else "",
            f"Krenning {sstr['krenning_score']}" if sstr.get("krenning_score") is not None else "",
            {True: "all lesions avid", False: "not all lesions avid", None: ""}[
                sstr.get("all_lesions_avid")
            ],
        ]
        text = f"{name}{when}: {result}" + "".join(f", {e}" for e in extra if e)
    fdg = _get(facts, "imaging.fdg_pet.positive")
    if fdg is not None:
        text += "; FDG PET " + ("positive" if fdg else "negative")
    return text


def progression(facts: Mapping[str, Any]) -> str:
    state = _get(facts, "disease.progression")
    text = fact_text("disease.progression", state) if state else "unknown"
    if _get(facts, "disease.progression_date"):
        text += f" (documented {uk_date(_get(facts, 'disease.progression_date'))})"
    elif _get(facts, "disease.stable_since"):
        text += f" (since {uk_date(_get(facts, 'disease.stable_since'))})"
    return text[:1].upper() + text[1:]


def fitness(facts: Mapping[str, Any]) -> str:
    bits = []
    if _get(facts, "performance.ecog") is not None:
        bits.append(f"ECOG {_get(facts, 'performance.ecog')}")
    if _get(facts, "performance.karnofsky") is not None:
        bits.append(f"Karnofsky {_get(facts, 'performance.karnofsky')}")
    comorbid = _get(facts, "performance.comorbidities")
    if comorbid:
        bits.append(fact_text("performance.comorbidities", comorbid))
    return ", ".join(bits) or "unknown"


def clinical_summary(
    patient: Any, facts: Mapping[str, Any], narrative_question: str | None
) -> list[Line]:
    age = _get(facts, "age_years")
    sex = _get(facts, "sex")
    who = ", ".join(
        b
        for b in (
            f"{age} years" if age is not None else "",
            value_name("sex", sex) if sex else "",
        )
        if b
    )
    return [
        Line("Patient", who or "age unknown"),
        Line("Diagnosis", diagnosis(facts)),
        Line("Function", functional(facts)),
        Line("Extent", extent(facts)),
        Line("Receptor imaging", receptor_imaging(facts)),
        Line("Progression", progression(facts)),
        Line("Performance status", fitness(facts)),
    ]


def timeline(facts: Mapping[str, Any], kb: KnowledgeBase) -> list[Event]:
    """Treatment so far, oldest first (undated rows last); surgery as free text."""
    events = []
    for row in _get(facts, "history.prior_treatments") or []:
        start, end = row.get("start"), row.get("end")
        when = uk_date(start) if start else (f"until {uk_date(end)}" if end else "date unknown")
        therapy = str(row.get("therapy", ""))
        name = kb.options[therapy].name if therapy in kb.options else value_name("", therapy)
        detail = [
            value_name("history.prior_treatments.regimen", row["regimen"])
            if row.get("regimen")
            else "",
            f"{row['cycles']} cycles" if row.get("cycles") is not None else "",
            f"to {uk_date(end)}" if start and end else "",
            f"progression-free {row['progression_free_months']:g} months"
            if row.get("progression_free_months") is not None
            else "",
        ]
        what = name + "".join(f", {d}" for d in detail if d)
        outcome = (
            value_name("history.prior_treatments.outcome", row["outcome"])
            if row.get("outcome")
            else ""
        )
        events.append(Event(when, what, outcome, str(start or end or "9999")))
    for text in _get(facts, "history.prior_surgery") or []:
        events.append(Event("date not recorded", value_name("", text), "surgery", "9999"))
    return sorted(events, key=lambda e: e.sort_key)


def _deciding(option: OptionAssessment, deciding: Reason | None) -> str:
    """The one reason that settles the verdict, in words, cut to a line or two (the full
    text is one click away). A recommended option: its met indication (a reason that
    names one), else its first met requirement, else its first met "recommend when"."""
    chosen = deciding
    if chosen is None:
        met = [r for r in option.reasons if r.status == "met" and r.group != "before_treatment"]
        chosen = (
            next((r for r in met if "indication" in r.text.lower()), None)
            or next((r for r in met if r.group == "requirements"), None)
            or next((r for r in met if r.group == "recommend_when"), None)
        )
    if chosen is None:
        return shorten(option.summary)
    prefix = {"met": "", "unmet": "Not met: ", "unknown": "Unknown: "}[chosen.status]
    return prefix + shorten(chosen.text)


def named(text: str, kb: KnowledgeBase) -> str:
    """A criterion's text with any option id or case field it quotes ("see
    surgery_curative", "tumour.ki67_percent") replaced by its name or label."""
    leaves: dict[str, str] = {}
    for path in kb.fields:
        leaves.setdefault(path.rsplit(".", 1)[-1], path)

    def word(m: re.Match[str]) -> str:
        token = m.group()
        if token in kb.options:
            return kb.options[token].name
        path = token if token in kb.fields else leaves.get(token)
        return kb.label(path) if path else token

    return _CODE.sub(word, text)


_CODE = re.compile(r"\b[a-z0-9_]+(?:\.[a-z0-9_]+)+\b|\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def shorten(text: str, limit: int = 150) -> str:
    """At most ``limit`` characters, cut at a word and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _line(option: OptionAssessment, deciding: Reason | None, kb: KnowledgeBase) -> OptionLine:
    pending = ", ".join(dict.fromkeys(p.label for p in option.pending_checks))
    return OptionLine(
        option=option,
        deciding=named(_deciding(option, deciding), kb),
        pending=pending,
        funding=pathway_text(option.funding.pathway, option.funding.registry_status),
        needs=list(dict.fromkeys(m.label for m in option.missing)),
    )


def mdt_view(
    assessment: Assessment,
    kb: KnowledgeBase,
    patient: Any,
    facts: Mapping[str, Any],
    question: str | None = None,
) -> MdtView:
    summary = summarize(assessment)
    deciding: dict[str, Reason | None] = {}
    for full, short in zip(assessment.options, summary.options, strict=True):
        d = short.deciding
        deciding[full.option] = next(
            (r for r in full.reasons if d is not None and r.criterion == d.criterion), None
        )
    lines = {o.option: _line(o, deciding[o.option], kb) for o in assessment.options}
    rank = {"recommended": 0, "consider": 1}
    leading = sorted(
        (lines[o.option] for o in assessment.options if o.verdict in rank),
        key=lambda line: rank[line.option.verdict],
    )
    needs = sorted(
        (lines[o.option] for o in assessment.options if o.verdict == "insufficient_information"),
        key=lambda line: len(line.option.missing),
    )
    ruled_out = [
        lines[o.option]
        for o in assessment.options
        if o.verdict in ("contraindicated", "not_recommended")
    ]
    ruled_out.sort(key=lambda line: line.option.verdict != "contraindicated")
    return MdtView(
        summary=clinical_summary(patient, facts, question),
        timeline=timeline(facts, kb),
        leading=leading,
        needs_info=needs[:NEEDS_INFO_SHOWN],
        more_needs_info=needs[NEEDS_INFO_SHOWN:],
        ruled_out=ruled_out,
        blocking=blocking_facts(assessment),
        warnings=[named(w, kb) for w in assessment.warnings],
    )


def blocking_facts(assessment: Assessment) -> list[Blocking]:
    """The unknown facts that keep an option at "insufficient information", merged across
    options, most options settled first (not every fact that could matter)."""
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    for option in assessment.options:
        if option.verdict != "insufficient_information":
            continue
        for m in option.missing:
            counts[m.field] = counts.get(m.field, 0) + 1
            labels[m.field] = m.label
    ordered = sorted(counts, key=lambda f: (-counts[f], labels[f]))
    return [Blocking(labels[f], who_to_ask(f), counts[f]) for f in ordered[:BLOCKING_SHOWN]]
