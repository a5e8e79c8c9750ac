"""The patient-view card: a summary of netmdt's options a clinician can read in the EHR.

**No card** when netmdt has nothing to say (``silence``): no Condition in the record says the
patient has a neuroendocrine neoplasm, or the patient is recorded as deceased. Both are read
from the import report's structured fields, not from its warnings' wording.

**The card** (aim: detail under 1,500 characters, no bullet over 250): the leading options
(recommended, then consider), each with the one reason that decides it (and its pending
checks: "subject to: ..."); the undecided options counted, with the facts that
would decide them merged and plainly named; whether the card rests on partial data; and a
link to the full assessment. Names, never internal ids; Markdown paragraphs separated by a
blank line.

**Indicator** (``indicator``): ``info`` normally. ``warning`` only when the clinician looking
at the EHR can act on something: (1) a *key option* (``CdsConfig.key_options``, the main
lines of treatment) cannot be judged and a fact it lacks is a result the EHR itself could
hold (a coded laboratory value, performance score, grade, Ki-67 or SSTR-imaging result that
netmdt reads from FHIR): not a surgeon's judgement or anything else FHIR does not carry; or
(2) the record contradicts itself: two different values of the tumour's type, grade or
primary site recorded on the same date. Never ``critical``: netmdt never decides.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

from netmdt.assessment import Assessment, OptionAssessment, Reason
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
DATA_ENTRY_NOTE = r"\s*[;.]?\s*[Rr]ecord (?:\[\]|'[^']*'|true|false)(?![\w-])[^.;]*[.;]?"
MAX_SUGGESTIONS = 3
MAX_LEADING = 4  # leading options listed by name; the rest are counted
MAX_FACTS = 5  # deciding facts named; the rest are counted
MAX_BULLET = 250
CONFLICT_FIELDS = ("tumour.type", "tumour.grade", "tumour.primary_site")
SSTR_FIELDS = frozenset(
    {
        "imaging.sstr.positive",
        "imaging.sstr.krenning_score",
        "imaging.sstr.uptake_vs_liver",
        "imaging.sstr.all_lesions_avid",
        "imaging.sstr.modality",
        "imaging.sstr.date",
    }
)


def silence(report: ImportReport) -> str | None:
    """Why netmdt has nothing to say for this patient (no card), or None."""
    if report.deceased:
        return "deceased"
    if not report.neuroendocrine:
        return "not_neuroendocrine"
    return None


def patient_card(
    assessment: Assessment,
    report: ImportReport,
    patient: Mapping[str, Any],
    config: CdsConfig,
    partial: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One card for a patient-view hook (CDS Hooks 2.0 Card). ``partial``: the prefetch
    keys (``fetch.KEY_NAMES``) the card rests on only in part, and why."""
    level, why = indicator(assessment, report, config)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(assessment),
        "indicator": level,
        "detail": detail(assessment, why, partial or {}, config),
        "source": {"label": f"netmdt knowledge base {assessment.knowledge_base.version}"},
        "overrideReasons": [
            {"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS
        ],
        "links": [
            {"label": "Full assessment in netmdt", "url": link(patient, config), "type": "absolute"}
        ],
    }
    if config.source_url:
        card["source"]["url"] = config.source_url
    suggestions = _suggestions(assessment, patient)
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"
    return card


# ------------------------------------------------------------------ indicator


def indicator(a: Assessment, report: ImportReport, config: CdsConfig) -> tuple[str, list[str]]:
    """``info`` or ``warning``, and the sentences that say why it is a warning."""
    why: list[str] = []
    ehr = ehr_fields()
    blocked = [
        o
        for o in a.options
        if o.option in config.key_options
        and o.verdict == "insufficient_information"
        and any(m.field in ehr for m in o.missing)
    ]
    if blocked:
        lacking = list(dict.fromkeys(m.label for o in blocked for m in o.missing if m.field in ehr))
        names = [short_name(o.name) for o in blocked]
        why.append(f"Results the EHR can hold would decide {_list(names, 3)}: {_list(lacking, 4)}.")
    for conflict in _conflicts(report):
        why.append(conflict)
    return ("warning" if why else "info"), why


@cache
def ehr_fields() -> frozenset[str]:
    """Case fields an EHR records as coded results netmdt reads from FHIR Observations."""
    t = tables()
    fields = [r.field for r in t.quantities] + [r.field for r in t.scores]
    return frozenset(fields + [r.field for r in t.coded]) | SSTR_FIELDS


def _conflicts(report: ImportReport) -> list[str]:
    out = []
    chosen = {f.field: f for f in report.facts}
    for old in report.superseded:
        new = chosen.get(old.field)
        if (
            old.field in CONFLICT_FIELDS
            and new is not None
            and new.date is not None
            and new.date == old.date
            and new.value != old.value
        ):
            out.append(
                f"The record gives two values for the tumour's {old.field.split('.')[-1]} "
                f"on {new.date:%d %b %Y}: {_show(new.value)} and {_show(old.value)}."
            )
    return list(dict.fromkeys(out))


def _show(value: Any) -> str:
    text = str(value).replace("_", " ")
    return text.upper() if text in ("net", "nec", "minen") else text


# ------------------------------------------------------------------ text


def summary(a: Assessment) -> str:
    """Under 140 characters: how many options are leading and how many undecided."""
    n = {v: sum(o.verdict == v for o in a.options) for v in ("recommended", "consider")}
    undecided = sum(o.verdict == "insufficient_information" for o in a.options)
    parts = [f"{n['recommended']} recommended"] if n["recommended"] else []
    if n["consider"]:
        parts.append(f"{n['consider']} to consider")
    if not parts:
        parts.append("none recommended yet")
    if undecided:
        parts.append(f"{undecided} undecided")
    return "NET MDT options (netmdt): " + ", ".join(parts)


def detail(a: Assessment, warning: list[str], partial: Mapping[str, str], config: CdsConfig) -> str:
    """The card's Markdown: one paragraph (or list) per part, separated by blank lines."""
    blocks: list[str] = []
    if warning:
        blocks.append("**Check the record.** " + " ".join(warning))
    blocks += leading(a)
    blocks += undecided(a, config)
    blocks += possible_trials(a)
    if partial:
        from netmdt.cdshooks.fetch import KEY_NAMES

        parts = [f"{KEY_NAMES.get(k, k)} ({why})" for k, why in partial.items()]
        blocks.append(
            "**Partial data.** This card rests on part of the record: " + "; ".join(parts) + "."
        )
    blocks.append(
        "Reasons, sources and every option: the full assessment in netmdt (link below). "
        "netmdt supports the MDT; it does not decide."
    )
    return "\n\n".join(blocks)


def possible_trials(a: Assessment) -> list[str]:
    """One line naming the open trials the patient is eligible or possibly eligible for
    (those open at our centre first)."""
    found = [m for m in a.trials if m.open and m.verdict != "not_eligible"]
    names = list(
        dict.fromkeys(
            m.acronym + (" (open here)" if m.open_here else "")
            for m in sorted(found, key=lambda m: not m.open_here)
        )
    )
    if not names:
        return []
    return [_clip("**Possible trials.** " + ", ".join(names) + ": see the trials panel.", 250)]


def leading(a: Assessment) -> list[str]:
    """The recommended and consider options, each with the reason that decides it."""
    blocks = []
    shown = 0
    for verdict, heading in (("recommended", "Recommended"), ("consider", "Consider")):
        options = [o for o in a.options if o.verdict == verdict]
        if not options:
            continue
        lines = [f"**{heading}**", ""]
        for o in options:
            if shown == MAX_LEADING:
                break
            lines.append(_bullet(o))
            shown += 1
        rest = len(options) - (len(lines) - 2)
        if rest > 0:
            lines.append(f"- and {rest} more (in netmdt)")
        blocks.append("\n".join(lines))
    if not blocks:
        blocks.append("**No option is recommended or to consider yet.**")
    return blocks


def deciding_reason(o: OptionAssessment) -> tuple[str, Reason | None]:
    """The one reason that decides a leading option, in words, and its record: for a
    recommended option the criterion that makes it recommended; for one to consider, what
    it would take to recommend it."""
    when = [r for r in o.reasons if r.group == "recommend_when"]
    if o.verdict == "recommended":
        met = [r for r in when if r.status == "met"] or [
            r for r in o.reasons if r.group == "requirements" and r.status == "met"
        ]
        return (
            (_clip(_sentence(met[0].text), 180), met[0]) if met else (_clip(o.summary, 180), None)
        )
    open_ = [r for r in when if r.status != "met"]
    if open_:
        state = "not known yet" if open_[0].status == "unknown" else "not the case"
        text = f"recommended only if {_lower(_sentence(open_[0].text))}; {state}"
        return _clip(text, 180), open_[0]
    return _clip(o.summary, 180), None


def reviewed(r: Reason | None) -> str:
    """ " (reviewed at this centre by NAME, DATE)", " (awaiting review)" and so on for a
    reason the centre's database governs (its ``review`` an object; docs/governance.md);
    nothing for the bundled flag (a card made without the centre's database)."""
    if r is None or isinstance(r.review, bool):
        return ""
    from netmdt.governance.words import review_words

    return f" ({review_words(r.review)})"


def subject_to(o: OptionAssessment) -> str:
    """ " (subject to: ...)": a leading option's pending before-treatment checks."""
    labels = list(dict.fromkeys(c.label for c in o.pending_checks))
    return f" (subject to: {_list(labels, 8)})" if labels else ""


def _bullet(o: OptionAssessment) -> str:
    """One leading option: its name, the reason that decides it (clipped so the bullet
    stays under ``MAX_BULLET``), its review at the centre and its pending checks, which are
    never clipped away."""
    text, reason = deciding_reason(o)
    head, tail = f"- **{short_name(o.name)}**: ", reviewed(reason) + subject_to(o)
    room = max(40, MAX_BULLET - len(head) - len(tail))
    return _clip(head + _clip(text, room) + tail, MAX_BULLET)


def undecided(a: Assessment, config: CdsConfig) -> list[str]:
    """The undecided options, counted, and the facts that would decide them, merged."""
    options = [o for o in a.options if o.verdict == "insufficient_information"]
    if not options:
        return []
    main = [o for o in options if o.option in config.key_options]
    key = [short_name(o.name) for o in main + [o for o in options if o not in main]][:2]
    text = f"**Undecided: {len(options)} option{'s' if len(options) != 1 else ''}**"
    text += f", including {' and '.join(key)}." if len(options) > 2 else f": {' and '.join(key)}."
    facts = [f"{i.label} ({len(i.settles)})" for i in a.next_investigations]
    if facts:
        text += " What would decide them (options it decides): " + _list(facts, MAX_FACTS) + "."
    return [text]


def short_name(name: str) -> str:
    """An option's name without its parenthesised detail (brand names, routes)."""
    return name.split(" (")[0].strip()


def clinician_text(text: str) -> str:
    """A knowledge-base hint for the EHR: without data-entry notes such as 'record [] if
    none', which speak to netmdt's case form, not to a clinician."""
    cleaned = re.sub(DATA_ENTRY_NOTE, ".", text).strip()
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned if cleaned.endswith(".") else cleaned + "."


def _sentence(text: str) -> str:
    """The first clause of a criterion's text (up to ';'), when it says enough alone."""
    head = text.split("; ")[0].rstrip(".")
    return head if len(head) >= 30 else text.rstrip(".")


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _list(labels: list[str], at_most: int) -> str:
    shown = ", ".join(labels[:at_most])
    return shown + (f" and {len(labels) - at_most} more" if len(labels) > at_most else "")


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# ------------------------------------------------------------------ link, suggestions


def link(patient: Mapping[str, Any], config: CdsConfig) -> str:
    """Where the card's link lands: the patient in netmdt by NHS number (a page that offers
    registration with the number filled in when netmdt does not know the patient yet), else
    by the EHR's id (a page that explains how to find or register the patient)."""
    for ident in items(dict(patient), "identifier"):
        if ident.get("system") == NHS_NUMBER and ident.get("value"):
            query = {"nhs_number": str(ident["value"]).replace(" ", "")}
            break
    else:
        query = {"fhir_id": str(patient.get("id", ""))}
    return f"{config.app_base_url}/patients/find?{urlencode(query)}"


def _suggestions(a: Assessment, patient: Mapping[str, Any]) -> list[dict[str, Any]]:
    loinc = {q.field: sorted(q.codes)[0] for q in tables().quantities}
    names = {o.option: short_name(o.name) for o in a.options}
    out = []
    for inv in a.next_investigations[:MAX_SUGGESTIONS]:
        how = clinician_text(inv.how_to_find_out)
        code: dict[str, Any] = {"text": how}
        if inv.field in loinc:
            code["coding"] = [{"system": "http://loinc.org", "code": loinc[inv.field]}]
        decides = [names.get(s, s) for s in inv.settles]
        request = {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{patient.get('id')}"},
            "code": code,
            "reasonCode": [
                {
                    "text": _clip(
                        f"Would decide {len(decides)} undecided option(s): " + ", ".join(decides),
                        250,
                    )
                }
            ],
        }
        out.append(
            {
                "label": _clip(f"Find out: {inv.label}", 140),
                "uuid": str(uuid.uuid4()),
                "actions": [{"type": "create", "description": how, "resource": request}],
            }
        )
    return out
