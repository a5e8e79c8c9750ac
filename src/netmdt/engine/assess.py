"""The verdict procedure: one case, every option, fully explained.

Pure: no I/O, no clock (the case carries ``assessed_on``), deterministic.

Per option, each criterion is evaluated once (met / unmet / unknown); the
verdict, the reasons, the missing facts, the counterfactual and the warnings are
all computed from those records (design.md, "Verdict procedure")::

    applies_to false            -> not_recommended (does not apply)
    contraindication true       -> contraindicated
    requirement false           -> not_recommended
    any of those three unknown  -> insufficient_information
    all recommend_when true     -> recommended
    otherwise                   -> consider

Missing facts are computed, not guessed: an unknown criterion is *relevant* when
some completion of the other unknown criteria makes its truth value change the
verdict (worked out exactly for this procedure in ``_relevant``); the missing
facts are the unknown case fields that keep relevant criteria unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any, cast

from netmdt.assessment import (
    NEGATIVE,
    Assessment,
    Funding,
    Investigation,
    KnowledgeBaseRef,
    Missing,
    OptionAssessment,
    Pathway,
    Reason,
    SourceRef,
    Status,
    Verdict,
)
from netmdt.case.model import Case
from netmdt.engine.facts import facts_of
from netmdt.kb.model import Criterion, FundingRule, KnowledgeBase, Option

STATUS: dict[bool | None, Status] = {True: "met", False: "unmet", None: "unknown"}
SSTR_MAX_MONTHS = 6
LABS_MAX_WEEKS = 4
DAYS_PER_WEEK = 7


def assess(case: Case, kb: KnowledgeBase | None = None) -> Assessment:
    """Assess every option of the knowledge base for one case."""
    if kb is None:
        from netmdt.kb.load import load_kb

        kb = load_kb()
    facts = facts_of(case)
    options = [_assess_option(option, facts, kb) for option in kb.options.values()]
    cited = _criteria_sources(kb) | {s for o in options for s in o.funding.sources}
    cited &= kb.sources.keys()
    return Assessment.model_construct(
        knowledge_base=KnowledgeBaseRef.model_construct(
            version=kb.version,
            fingerprint=kb.fingerprint,
            updated=kb.updated,
            sources=[_source_ref(kb, s) for s in sorted(cited)],
        ),
        case_id=case.id,
        assessed_on=case.assessed_on,
        options=options,
        next_investigations=_next_investigations(options, kb),
        trials=[],
        warnings=_case_warnings(case, facts, options),
    )


# ----------------------------------------------------------------- one option


def _assess_option(option: Option, facts: Mapping[str, Any], kb: KnowledgeBase) -> OptionAssessment:
    values = [c.evaluate(facts) for c in option.criteria]
    results = list(zip(option.criteria, values, strict=True))
    by_group: dict[str, list[tuple[Criterion, bool | None]]] = {g: [] for g in option.groups}
    for c, value in results:
        by_group[c.group].append((c, value))
    verdict = _verdict(by_group)
    does_not_apply = any(v is False for _, v in by_group["applies_to"])
    relevant = _relevant(by_group) if None in values else []
    return OptionAssessment.model_construct(
        option=option.id,
        name=option.name,
        verdict=verdict,
        summary=option.summary,
        reasons=[_reason(c, v) for c, v in results],
        missing=_missing(relevant, facts, kb),
        counterfactual=_counterfactual(verdict, by_group),
        warnings=_option_warnings(option, results, verdict, facts, kb),
        funding=_funding(option, facts, does_not_apply),
        review_needed=any(c.review for c, _ in results),
    )


def _verdict(by_group: Mapping[str, list[tuple[Criterion, bool | None]]]) -> Verdict:
    applies = [v for _, v in by_group["applies_to"]]
    contra = [v for _, v in by_group["contraindications"]]
    required = [v for _, v in by_group["requirements"]]
    if False in applies:
        return "not_recommended"
    if True in contra:
        return "contraindicated"
    if False in required:
        return "not_recommended"
    if None in applies or None in contra or None in required:
        return "insufficient_information"
    if all(v is True for _, v in by_group["recommend_when"]):
        return "recommended"
    return "consider"


def _relevant(by_group: Mapping[str, list[tuple[Criterion, bool | None]]]) -> list[Criterion]:
    """Unknown criteria whose truth value can change the verdict (see module docstring)."""
    applies_false = any(v is False for _, v in by_group["applies_to"])
    contra_true = [c for c, v in by_group["contraindications"] if v is True]
    req_false = [c for c, v in by_group["requirements"] if v is False]
    contra_open = [c for c, v in by_group["contraindications"] if v is not False]
    rec_false = [c for c, v in by_group["recommend_when"] if v is False]
    if applies_false:
        return []
    found: list[Criterion] = []
    for group, items in by_group.items():
        for c, v in items:
            if v is not None:
                continue
            if group == "applies_to":
                ok = not (req_false and not contra_open)
            elif group == "contraindications":
                ok = not [x for x in contra_true if x is not c]
            elif group == "requirements":
                ok = not contra_true and not [x for x in req_false if x is not c]
            else:
                ok = not contra_true and not req_false and not rec_false
            if ok:
                found.append(c)
    return found


@cache
def _reason(c: Criterion, value: bool | None) -> Reason:
    """A criterion's reason record for one status (immutable, so built once)."""
    status = STATUS[value]
    if c.group == "contraindications" and value is not None:
        status = STATUS[not value]  # a contraindication that holds is a criterion unmet
    return Reason.model_construct(
        criterion=c.id,
        group=c.group,
        status=status,
        text=c.text,
        sources=list(c.sources),
        evidence=c.evidence,
        review=c.review,
        disagreement=c.disagreement,
    )


def _missing(
    relevant: list[Criterion], facts: Mapping[str, Any], kb: KnowledgeBase
) -> list[Missing]:
    why: dict[str, list[str]] = {}
    for c in relevant:
        for path in sorted(c.expr.unknowns(facts)):
            why.setdefault(path, []).append(c.id)
    return [_missing_entry(kb, path, ", ".join(ids)) for path, ids in sorted(why.items())]


@lru_cache(maxsize=8192)
def _missing_entry(kb: KnowledgeBase, path: str, criteria: str) -> Missing:
    return Missing.model_construct(
        field=path,
        label=kb.label(path),
        why="decides: " + criteria,
        how_to_find_out=kb.how_to_find_out(path),
    )


def _counterfactual(
    verdict: str, by_group: Mapping[str, list[tuple[Criterion, bool | None]]]
) -> str | None:
    if verdict == "recommended":
        return None
    needs: list[str] = []
    for group, items in by_group.items():
        for c, v in items:
            if group == "contraindications":
                if v is not False:
                    needs.append(f"not: {c.text}" + (" (unknown)" if v is None else ""))
            elif v is not True:
                needs.append(c.text + (" (unknown)" if v is None else ""))
    if not needs:
        return None
    return "Would be recommended if: " + "; ".join(needs)


def _option_warnings(
    option: Option,
    results: Iterable[tuple[Criterion, bool | None]],
    verdict: str,
    facts: Mapping[str, Any],
    kb: KnowledgeBase,
) -> list[str]:
    """The warnings that explain this verdict, then the option's own cautions.

    A failing ``recommend_when`` criterion explains only a ``consider``: on any other
    verdict its "why only consider" text would mislead. Failing requirements and
    contraindications explain negative and open verdicts. The option's own warnings
    (cautions for giving it) are shown only while it is in play: positive or open.
    """
    out: list[str] = []
    for c, v in results:
        failing = v is None or (v is True if c.group == "contraindications" else v is False)
        if not failing or (c.group == "recommend_when" and verdict != "consider"):
            continue
        if c.group == "applies_to" and v is False:
            return []  # the option does not apply: nothing to warn about
        if c.if_not_met:
            out.append(c.if_not_met)
        if c.disagreement and c.disagreement in kb.disagreements:
            out.append(kb.disagreements[c.disagreement].summary())
    if verdict not in NEGATIVE:
        for w in option.warnings:
            if w.evaluate is None or w.evaluate(facts) is True:
                out.append(w.text + (" [needs clinical review]" if w.review else ""))
    return list(dict.fromkeys(out))


def _funding(option: Option, facts: Mapping[str, Any], does_not_apply: bool) -> Funding:
    system = facts.get("context.health_system")
    if does_not_apply:
        return Funding.model_construct(
            pathway="not_applicable",
            registry_status=None,
            note="The option does not apply.",
            sources=[],
            missing=[],
        )
    if system is None:
        return Funding.model_construct(
            pathway="unknown",
            registry_status=None,
            sources=[],
            note="The health system is not recorded (context.health_system).",
            missing=["context.health_system"],
        )
    rules = option.funding.get(system)
    if not rules:
        return Funding.model_construct(
            pathway="not_applicable",
            registry_status=None,
            sources=[],
            missing=[],
            note="Funding is jurisdiction-specific; netmdt knows NHS England only.",
        )
    for rule in rules:
        value = True if rule.evaluate is None else rule.evaluate(facts)
        if value is None and rule.expr is not None:
            unknown = sorted(rule.expr.unknowns(facts))
            return Funding.model_construct(
                pathway="unknown",
                registry_status=None,
                sources=list(rule.sources),
                note=f"Depends on facts not yet known ({', '.join(unknown)}); "
                f"if they hold: {rule.note}",
                missing=unknown,
            )
        if value:
            return _rule_funding(rule)
    raise AssertionError("the knowledge base guarantees an 'otherwise' funding rule")


@cache
def _rule_funding(rule: FundingRule) -> Funding:
    return Funding.model_construct(
        pathway=cast(Pathway, rule.pathway),
        registry_status=cast(Any, rule.registry_status),
        note=rule.note,
        sources=list(rule.sources),
        missing=[],
    )


# --------------------------------------------------------------- whole case


def _next_investigations(options: list[OptionAssessment], kb: KnowledgeBase) -> list[Investigation]:
    settles: dict[str, list[str]] = {}
    for o in options:
        for m in o.missing:
            settles.setdefault(m.field, []).append(o.option)
    ranked = sorted(settles.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        Investigation.model_construct(
            field=f, label=kb.label(f), how_to_find_out=kb.how_to_find_out(f), settles=opts
        )
        for f, opts in ranked
    ]


PRRT = ("prrt_lu177_dotatate", "prrt_y90_dotatoc")


def _case_warnings(
    case: Case, facts: Mapping[str, Any], options: list[OptionAssessment]
) -> list[str]:
    out = list(case.derived.warnings)
    months = case.derived.months_since
    prrt_in_question = any(
        o.option in PRRT and o.verdict in ("recommended", "consider", "insufficient_information")
        for o in options
    )
    sstr_age = months.get("imaging.sstr.date")
    if prrt_in_question and sstr_age is not None and sstr_age > SSTR_MAX_MONTHS:
        out.append(
            f"SSTR imaging is {sstr_age:.0f} months old; PRRT needs imaging within "
            f"{SSTR_MAX_MONTHS} months of the first dose: repeat it."
        )
    labs_age = months.get("labs.date")
    if labs_age is not None and labs_age * 30.4375 > LABS_MAX_WEEKS * DAYS_PER_WEEK:
        out.append(
            f"Blood results are {labs_age * 30.4375 / 7:.0f} weeks old; treatment "
            f"decisions need results from the last {LABS_MAX_WEEKS} weeks: repeat them."
        )
    if case.labs is not None and case.labs.date is None:
        out.append("The date of the blood results is not recorded (labs.date).")
    return out


@cache
def _criteria_sources(kb: KnowledgeBase) -> frozenset[str]:
    """Every reason of every assessment lists all criteria, so their sources are fixed."""
    return frozenset(s for o in kb.options.values() for c in o.criteria for s in c.sources)


def _source_ref(kb: KnowledgeBase, source_id: str) -> SourceRef:
    return _source_refs(kb)[source_id]


@cache
def _source_refs(kb: KnowledgeBase) -> dict[str, SourceRef]:
    return {s.id: _make_source_ref(kb, s.id) for s in kb.sources.values()}


def _make_source_ref(kb: KnowledgeBase, source_id: str) -> SourceRef:
    s = kb.sources[source_id]
    return SourceRef.model_construct(
        id=s.id, citation=s.citation, year=s.year, url=s.url, evidence=s.evidence
    )
