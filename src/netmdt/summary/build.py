"""Build the patient summary from one assessment (pure: no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Iterable

from netmdt.assessment import Assessment, OptionAssessment
from netmdt.kb import KnowledgeBase
from netmdt.summary.model import (
    AboutKnowledgeBase,
    Decision,
    DecisionInfo,
    GlossaryEntry,
    NextStep,
    OtherOption,
    PatientIdentifiers,
    PatientSummary,
    Standing,
    SummaryOption,
)
from netmdt.summary.words import (
    FUNDING,
    GLOSSARY_PATTERNS,
    OPTION_NAMES,
    OTHER_REASON,
    REGISTRY_ON_HOLD,
    SHORT_NAMES,
    STANDING,
    VERDICT_REASON,
    next_step_text,
)

# The free-text investigations the MDT asked for, as the patient reads them (the text
# itself is written for clinicians and is never reproduced).
OTHER_TESTS = "Other tests your team asked for. They will explain them to you."

# Terms the page's own fixed wording always uses (title, introduction, contact).
ALWAYS_IN_GLOSSARY = ("NET", "MDT", "NET nurse specialist", "Knowledge base", "Guideline")


def build_summary(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    patient_name: str | None = None,
    decision: DecisionInfo | None = None,
    identifiers: PatientIdentifiers | None = None,
    centre: str = "",
    contact: str = "",
) -> PatientSummary:
    """The plain-language summary of one assessment, for the patient.

    After a decision (``decision``): the options the MDT chose in full, the other options
    netmdt's guide found may fit by name only, and as next steps only the investigations
    the MDT asked for (``decision.investigations``). Before a decision: netmdt's
    ``recommended`` and ``consider`` options, marked as options to talk about with the
    team. Every other option is named with its plain reason. The team's free-text
    rationale is never reproduced. Raises ``ValueError`` if ``decision`` chooses an
    option the assessment lacks.
    """
    known = {o.option for o in assessment.options}
    chosen = list(decision.chosen) if decision else []
    if unknown := [c for c in chosen if c not in known]:
        raise ValueError(f"decision.chosen: unknown option(s) {unknown}; known: {sorted(known)}")
    positive = [
        o
        for o in assessment.options
        if (o.verdict == "recommended" or o.verdict == "consider") and o.option not in chosen
    ]
    options = [_option(assessment.option(c), "chosen", kb) for c in chosen]
    if decision is None:
        options += [
            _option(o, "recommended" if o.verdict == "recommended" else "consider", kb)
            for o in positive
        ]
    shown = {o.option for o in options} | ({o.option for o in positive} if decision else set())
    summary = PatientSummary(
        patient_name=patient_name or (identifiers.name if identifiers else None),
        case_id=assessment.case_id,
        assessed_on=assessment.assessed_on,
        options=options,
        other_options=[_other(o) for o in assessment.options if o.option not in shown],
        next_steps=_next_steps(assessment, decision) if decision else [],
        decision=_decision(decision) if decision else None,
        knowledge_base=_about(assessment, kb),
        funding_statement=" ".join(kb.funding_statement.split()),
        identifiers=identifiers,
        centre=centre,
        contact=contact,
        also_possible=[plain_name(o.option) for o in positive] if decision else [],
    )
    return summary.model_copy(update={"glossary": _glossary(_texts(summary))})


def plain_name(option_id: str) -> str:
    return OPTION_NAMES[option_id]


def _option(o: OptionAssessment, standing: Standing, kb: KnowledgeBase) -> SummaryOption:
    patient = kb.options[o.option].patient
    return SummaryOption(
        option=o.option,
        name=plain_name(o.option),
        standing=standing,
        standing_text=STANDING[standing],
        what_it_is=_clean(patient["what_it_is"]),
        what_it_involves=_clean(patient["what_it_involves"]),
        benefits=_clean(patient["benefits"]),
        harms=_clean(patient["harms"]),
        funding=_funding(o),
        awaiting_review=o.review_needed,
        before_treatment=list(dict.fromkeys(next_step_text(c.field) for c in o.pending_checks)),
    )


def _funding(o: OptionAssessment) -> str | None:
    text = FUNDING[o.funding.pathway]
    if text and o.funding.registry_status == "on_hold":
        return f"{text} {REGISTRY_ON_HOLD}"
    return text


def _other(o: OptionAssessment) -> OtherOption:
    reason = VERDICT_REASON[o.verdict]  # only negative or unsettled verdicts come here
    return OtherOption(
        option=o.option,
        name=plain_name(o.option),
        reason=reason,
        reason_title=OTHER_REASON[reason][0],
        reason_text=OTHER_REASON[reason][1],
    )


def _next_steps(assessment: Assessment, decision: DecisionInfo) -> list[NextStep]:
    """Only the investigations the MDT asked for, each plain step once, in the order the
    MDT listed them, with every option it helps decide; free-text requests as one line."""
    settles_of = {inv.field: inv.settles for inv in assessment.next_investigations}
    steps: dict[str, tuple[list[str], list[str]]] = {}
    for path in decision.investigations:
        fields, settles = steps.setdefault(next_step_text(path), ([], []))
        fields.append(path)
        settles.extend(s for s in settles_of.get(path, []) if s not in settles)
    out = [
        NextStep(text=text, helps_decide=[SHORT_NAMES[s] for s in settles], fields=fields)
        for text, (fields, settles) in steps.items()
    ]
    if decision.other_investigations:
        out.append(NextStep(text=OTHER_TESTS, helps_decide=[], fields=[]))
    return out


def _decision(info: DecisionInfo) -> Decision:
    """The meeting date and the chosen options; never the team's free-text rationale
    (written for clinicians: the team explains it in person)."""
    return Decision(
        meeting_date=info.meeting_date, chosen=[plain_name(c) for c in info.chosen], rationale=[]
    )


def _about(assessment: Assessment, kb: KnowledgeBase) -> AboutKnowledgeBase:
    criteria = [c for option in kb.options.values() for c in option.criteria]
    ref = assessment.knowledge_base
    return AboutKnowledgeBase(
        version=ref.version,
        updated=ref.updated,
        fingerprint=ref.fingerprint,
        rules=len(criteria),
        rules_awaiting_review=sum(c.review for c in criteria),
        sources=len(kb.sources),
    )


def _texts(summary: PatientSummary) -> Iterable[str]:
    for o in summary.options:
        yield from (o.name, o.what_it_is, o.what_it_involves, o.benefits, o.harms)
        yield from o.before_treatment
    yield from (o.name for o in summary.other_options)
    yield from summary.also_possible
    for step in summary.next_steps:
        yield step.text


def _glossary(texts: Iterable[str]) -> list[GlossaryEntry]:
    text = "\n".join(texts)
    return [
        GlossaryEntry(term=term, meaning=meaning)
        for term, pattern, meaning in GLOSSARY_PATTERNS
        if term in ALWAYS_IN_GLOSSARY or pattern.search(text)
    ]


def _clean(text: str) -> str:
    return " ".join(text.split())
