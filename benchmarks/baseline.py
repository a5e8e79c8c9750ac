"""The engine as it was before issue 16 (a copy of ``netmdt.engine.assess`` on main at
f31840f, with the ``before_treatment`` group and its ``if_false``), kept to measure the
baseline in the same run as the engine (``benchmarks/assess.py``) and as a reference for
the full view in ``tests/test_views.py``. Run it with ``load_kb(reference=True)`` for
the closures as they were. Not maintained beyond that: do not import it from ``src``.

The original docstring:

The verdict procedure: one case, every option, fully explained.

Pure: no I/O, no clock (the case carries ``assessed_on``), deterministic.

Per option, each criterion is evaluated once (met / unmet / unknown); the
verdict, the reasons, the missing facts, the counterfactual and the warnings are
all computed from those records (design.md, "Verdict procedure")::

    applies_to false                             -> not_recommended (does not apply)
    contraindication true                        -> contraindicated
      or a before_treatment check false whose ``if_false`` is contraindicated
    requirement false or before_treatment false  -> not_recommended (the latter: deferred)
    applies_to/contraindication/requirement unknown -> insufficient_information
    all recommend_when true and no before_treatment check false (``if_false``:
      consider)                                  -> recommended
    otherwise                                    -> consider

A ``before_treatment`` check says what it means when false (``if_false``): deferred
(``not_recommended``, the default), an absolute contraindication found on the day
(``contraindicated``: a positive pregnancy test), or a relative one that only
downgrades (``consider``: renal function 40-49 mL/min before Lu-177).

An unknown ``before_treatment`` criterion (pre-treatment work-up: blood counts,
liver and renal function, a pregnancy test) never changes the verdict: it is listed
in ``pending_checks`` (the verdict stands subject to it), on positive and open
verdicts only (on a negative verdict it would not matter).

Missing facts are computed, not guessed: an unknown criterion is *relevant* when
some completion of the other unknown criteria makes its truth value change the
verdict (worked out exactly for this procedure in ``_relevant``; unknown
``before_treatment`` criteria stay pending, never relevant); the missing facts are
the unknown case fields that keep relevant criteria unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    PendingCheck,
    Reason,
    SourceRef,
    Status,
    TrialMatch,
    Verdict,
)
from netmdt.case.derived import DAYS_PER_MONTH
from netmdt.case.model import Case
from netmdt.engine.assess import _trials
from netmdt.engine.expr import unknowns
from netmdt.engine.facts import reference_facts_of as facts_of
from netmdt.engine.schema import paths_of
from netmdt.kb.model import Criterion, FundingRule, KnowledgeBase, Option

STATUS: dict[bool | None, Status] = {True: "met", False: "unmet", None: "unknown"}
BEFORE = "before_treatment"
DAYS_PER_WEEK = 7


def assess(case: Case, kb: KnowledgeBase | None = None) -> Assessment:
    """Assess every option of the knowledge base for one case."""
    if kb is None:
        from netmdt.kb.load import load_kb

        kb = load_kb()
    facts = facts_of(case)
    # Trial matching came after this baseline (issue 12): the reference shares the
    # engine's, so the differential compares the option verdicts it feeds.
    trials = _trials(kb, facts)
    options = [_assess_option(option, facts, kb) for option in kb.options.values()]
    if trials:
        options = [_name_the_trials(o, trials) for o in options]
    funding_sources = frozenset(s for o in options for s in o.funding.sources)
    return Assessment.trusted(
        knowledge_base=KnowledgeBaseRef.trusted(
            version=kb.version,
            fingerprint=kb.fingerprint,
            updated=kb.updated,
            sources=list(_cited_refs(kb, funding_sources)),
        ),
        case_id=case.id,
        assessed_on=case.assessed_on,
        options=options,
        next_investigations=_next_investigations(options, kb),
        trials=trials,
        warnings=_case_warnings(case, options, kb),
    )


# ----------------------------------------------------------------- one option


@dataclass(frozen=True)
class _View:
    """All that follows from an option's criterion statuses alone, without the facts."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    relevant: tuple[Criterion, ...]
    pending: tuple[Criterion, ...]  # unknown before_treatment criteria (not on negatives)
    counterfactual: str | None
    criterion_warnings: tuple[str, ...]
    does_not_apply: bool


Groups = Mapping[str, list[tuple[Criterion, bool | None]]]


@lru_cache(maxsize=65536)
def _view(option: Option, values: tuple[bool | None, ...], kb: KnowledgeBase) -> _View:
    """Cached per distinct status vector: cohorts repeat the same patterns often."""
    results = list(zip(option.criteria, values, strict=True))
    by_group: dict[str, list[tuple[Criterion, bool | None]]] = {g: [] for g in option.groups}
    for c, value in results:
        by_group[c.group].append((c, value))
    verdict = _verdict(by_group)
    does_not_apply = any(v is False for _, v in by_group["applies_to"])
    return _View(
        verdict=verdict,
        reasons=tuple(_reason(c, v) for c, v in results),
        relevant=tuple(_relevant(by_group)) if None in values else (),
        pending=tuple(_pending(by_group, verdict)),
        counterfactual=_counterfactual(verdict, by_group),
        criterion_warnings=tuple(_criterion_warnings(results, verdict, kb, _deferred(by_group))),
        does_not_apply=does_not_apply,
    )


def _name_the_trials(o: OptionAssessment, trials: list[TrialMatch]) -> OptionAssessment:
    """``clinical_trial`` recommended because of matched trials says which."""
    if o.option != "clinical_trial" or o.verdict != "recommended":
        return o
    names = [
        m.acronym + (f" (arm {m.arm})" if m.arm else "")
        for m in trials
        if m.open_here and m.verdict == "eligible"
    ]
    line = "Eligible for a trial open at our centre: " + ", ".join(names) + "."
    return o.model_copy(update={"warnings": [line, *o.warnings]})


def _assess_option(option: Option, facts: Mapping[str, Any], kb: KnowledgeBase) -> OptionAssessment:
    view = _view(option, tuple([evaluate(facts) for evaluate in option.evaluators]), kb)
    warnings = list(view.criterion_warnings)
    if not view.does_not_apply and view.verdict not in NEGATIVE:
        warnings += _option_warnings(option, facts)
    return OptionAssessment.trusted(
        option=option.id,
        name=option.name,
        verdict=view.verdict,
        summary=option.summary,
        reasons=list(view.reasons),
        missing=_missing(view.relevant, facts, kb),
        pending_checks=_pending_checks(view.pending, facts, kb),
        counterfactual=view.counterfactual,
        warnings=list(dict.fromkeys(warnings)),
        funding=_funding(option, facts, view.does_not_apply),
        review_needed=option.review_needed,
    )


def _values(by_group: Groups, group: str) -> list[bool | None]:
    return [v for _, v in by_group.get(group, ())]


def _verdict(by_group: Groups) -> Verdict:
    applies = _values(by_group, "applies_to")
    contra = _values(by_group, "contraindications")
    required = _values(by_group, "requirements")
    failed = _failed_checks(by_group)
    if False in applies:
        return "not_recommended"
    if True in contra or "contraindicated" in failed:
        return "contraindicated"
    if False in required or "not_recommended" in failed:
        return "not_recommended"
    if None in applies or None in contra or None in required:
        return "insufficient_information"
    if "consider" not in failed and all(v is True for v in _values(by_group, "recommend_when")):
        return "recommended"
    return "consider"


def _failed_checks(by_group: Groups) -> set[str]:
    """What the failed before_treatment checks mean (their ``if_false``)."""
    return {c.if_false for c, v in by_group.get(BEFORE, ()) if v is False}


def _failed(by_group: Groups, meaning: str) -> list[Criterion]:
    return [c for c, v in by_group.get(BEFORE, ()) if v is False and c.if_false == meaning]


def _deferred(by_group: Groups) -> bool:
    """Not recommended *now*: a before_treatment check failed and nothing else rules the
    option out (it does apply, no contraindication holds, every requirement may hold)."""
    return (
        bool(_failed(by_group, "not_recommended"))
        and not _failed(by_group, "contraindicated")
        and False not in _values(by_group, "applies_to")
        and True not in _values(by_group, "contraindications")
        and False not in _values(by_group, "requirements")
    )


def _pending(by_group: Groups, verdict: Verdict) -> list[Criterion]:
    """The unknown before_treatment criteria, on positive and open verdicts."""
    if verdict in NEGATIVE:
        return []
    return [c for c, v in by_group.get(BEFORE, ()) if v is None]


def _relevant(by_group: Groups) -> list[Criterion]:
    """Unknown criteria whose truth value can change the verdict (see module docstring).

    A before_treatment criterion that is false blocks like a false requirement; one that
    is unknown is a pending check, never relevant (it does not change the verdict)."""
    applies_false = any(v is False for _, v in by_group["applies_to"])
    contra_true = [c for c, v in by_group["contraindications"] if v is True]
    contra_true += _failed(by_group, "contraindicated")
    blocked = [c for c, v in by_group["requirements"] if v is False]
    blocked += _failed(by_group, "not_recommended")
    contra_open = [c for c, v in by_group["contraindications"] if v is not False]
    contra_open += _failed(by_group, "contraindicated")
    rec_false = [c for c, v in by_group["recommend_when"] if v is False]
    rec_false += _failed(by_group, "consider")
    if applies_false:
        return []
    found: list[Criterion] = []
    for group, items in by_group.items():
        if group == BEFORE:
            continue
        for c, v in items:
            if v is not None:
                continue
            if group == "applies_to":
                ok = not (blocked and not contra_open)
            elif group == "contraindications":
                ok = not [x for x in contra_true if x is not c]
            elif group == "requirements":
                ok = not contra_true and not [x for x in blocked if x is not c]
            else:
                ok = not contra_true and not blocked and not rec_false
            if ok:
                found.append(c)
    return found


@cache
def _reason(c: Criterion, value: bool | None) -> Reason:
    """A criterion's reason record for one status (immutable, so built once)."""
    status = STATUS[value]
    if c.group == "contraindications" and value is not None:
        status = STATUS[not value]  # a contraindication that holds is a criterion unmet
    return Reason.trusted(
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
    relevant: Iterable[Criterion], facts: Mapping[str, Any], kb: KnowledgeBase
) -> list[Missing]:
    why: dict[str, list[str]] = {}
    for c in relevant:
        for path in paths_of(c.trace(facts)[1]):
            why.setdefault(path, []).append(c.id)
    return [_missing_entry(kb, path, ", ".join(ids)) for path, ids in sorted(why.items())]


@lru_cache(maxsize=8192)
def _missing_entry(kb: KnowledgeBase, path: str, criteria: str) -> Missing:
    return Missing.trusted(
        field=path,
        label=kb.label(path),
        why="decides: " + criteria,
        how_to_find_out=kb.how_to_find_out(path),
    )


def _pending_checks(
    pending: Iterable[Criterion], facts: Mapping[str, Any], kb: KnowledgeBase
) -> list[PendingCheck]:
    """One entry per pending criterion and unknown field it reads, sorted by field."""
    entries = [(path, i, c) for i, c in enumerate(pending) for path in paths_of(c.trace(facts)[1])]
    return [_pending_entry(kb, path, c) for path, _, c in sorted(entries, key=lambda e: e[:2])]


@lru_cache(maxsize=8192)
def _pending_entry(kb: KnowledgeBase, path: str, c: Criterion) -> PendingCheck:
    return PendingCheck.trusted(
        field=path,
        label=kb.label(path),
        criterion=c.id,
        text=c.text,
        how_to_find_out=kb.how_to_find_out(path),
    )


def _counterfactual(verdict: str, by_group: Groups) -> str | None:
    """What would have to change. A deferred verdict (a before_treatment check failed)
    says so first: "Not recommended now: reassess when: ..."; unknown before_treatment
    criteria are pending checks, listed apart, not conditions here."""
    if verdict == "recommended":
        return None
    deferred = _deferred(by_group)
    needs: list[str] = []
    for group, items in by_group.items():
        for c, v in items:
            if group == BEFORE:
                if v is False and not (deferred and c.if_false == "not_recommended"):
                    needs.append(c.text)
            elif group == "contraindications":
                if v is not False:
                    needs.append(f"not: {c.text}" + (" (unknown)" if v is None else ""))
            elif v is not True:
                needs.append(c.text + (" (unknown)" if v is None else ""))
    parts: list[str] = []
    if deferred:
        failed = [c.text for c in _failed(by_group, "not_recommended")]
        parts.append("Not recommended now: reassess when: " + "; ".join(failed) + ".")
    if needs:
        parts.append("Would be recommended if: " + "; ".join(needs))
    return " ".join(parts) or None


def _criterion_warnings(
    results: Iterable[tuple[Criterion, bool | None]],
    verdict: str,
    kb: KnowledgeBase,
    deferred: bool = False,
) -> list[str]:
    """The warnings of failing criteria that explain this verdict.

    A failing ``recommend_when`` criterion explains only a ``consider``: on any other
    verdict its "why only consider" text would mislead. Failing requirements and
    contraindications explain negative and open verdicts. A failed ``before_treatment``
    check explains a deferred verdict only (its text says when to reassess); a pending
    one (unknown) says what a bad result would mean, on positive and open verdicts only.
    Nothing is said about an option that does not apply.
    """
    out: list[str] = []
    for c, v in results:
        failing = v is None or (v is True if c.group == "contraindications" else v is False)
        if not failing or (c.group == "recommend_when" and verdict != "consider"):
            continue
        explains = _explains(c, verdict, deferred) if v is False else verdict not in NEGATIVE
        if c.group == BEFORE and not explains:
            continue
        if c.group == "applies_to" and v is False:
            return []
        if c.if_not_met:
            out.append(c.if_not_met)
        if c.disagreement and c.disagreement in kb.disagreements:
            out.append(kb.disagreements[c.disagreement].summary())
    return out


def _explains(check: Criterion, verdict: str, deferred: bool) -> bool:
    """Whether a failed before_treatment check explains this verdict."""
    if check.if_false == "not_recommended":
        return deferred
    return verdict == check.if_false


def _option_warnings(option: Option, facts: Mapping[str, Any]) -> list[str]:
    """The option's own cautions, shown while it is in play (positive or open verdict)."""
    return [
        w.text + (" [needs clinical review]" if w.review else "")
        for w in option.warnings
        if w.evaluate is None or w.evaluate(facts) is True
    ]


def _funding(option: Option, facts: Mapping[str, Any], does_not_apply: bool) -> Funding:
    system = facts.get("context.health_system")
    if does_not_apply:
        return Funding.trusted(
            pathway="not_applicable",
            registry_status=None,
            note="The option does not apply.",
            sources=[],
            missing=[],
        )
    if system is None:
        return Funding.trusted(
            pathway="unknown",
            registry_status=None,
            sources=[],
            note="The health system (funding jurisdiction) is not recorded.",
            missing=["context.health_system"],
        )
    rules = option.funding.get(system)
    if not rules:
        return _no_rules(system)
    for rule in rules:
        value = True if rule.evaluate is None else rule.evaluate(facts)
        if value is None and rule.expr is not None:
            unknown = list(unknowns(rule.expr, facts))
            return Funding.trusted(
                pathway="unknown",
                registry_status=None,
                sources=list(rule.sources),
                note="Depends on facts not yet known "
                f"({'; '.join(rule.labels.get(f, f) for f in unknown)}); "
                f"if they hold: {rule.note}",
                missing=unknown,
            )
        if value:
            return _rule_funding(rule)
    raise AssertionError("the knowledge base guarantees an 'otherwise' funding rule")


# Health systems netmdt has no funding rules for, and who decides there. No funding
# claim is made: the note names the body whose advice to check.
NO_RULES_NOTE = {
    "nhs_scotland": "Funding is jurisdiction-specific and netmdt encodes NHS England rules "
    "only. In NHS Scotland, the Scottish Medicines Consortium (SMC) advises on new "
    "medicines: check its advice for this treatment and the health board's policy.",
    "nhs_wales": "Funding is jurisdiction-specific and netmdt encodes NHS England rules only. "
    "In NHS Wales, NICE technology appraisals apply and the All Wales Medicines Strategy "
    "Group (AWMSG) appraises medicines NICE has not: check their advice for this treatment "
    "and the health board's policy.",
}


@cache
def _no_rules(system: str) -> Funding:
    return Funding.trusted(
        pathway="not_applicable",
        registry_status=None,
        sources=[],
        missing=[],
        note=NO_RULES_NOTE.get(
            system, "Funding is jurisdiction-specific; netmdt knows NHS England only."
        ),
    )


@cache
def _rule_funding(rule: FundingRule) -> Funding:
    return Funding.trusted(
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
    return [_investigation(kb, f, tuple(opts)) for f, opts in ranked]


@lru_cache(maxsize=8192)
def _investigation(kb: KnowledgeBase, path: str, settles: tuple[str, ...]) -> Investigation:
    return Investigation.trusted(
        field=path,
        label=kb.label(path),
        how_to_find_out=kb.how_to_find_out(path),
        settles=list(settles),
    )


PRRT = ("prrt_lu177_dotatate", "prrt_y90_dotatoc")


def _case_warnings(case: Case, options: list[OptionAssessment], kb: KnowledgeBase) -> list[str]:
    """Data conflicts (from the derived facts) and facts too old to act on."""
    out = list(case.derived.warnings)
    months = case.derived.months_since
    prrt_in_question = any(
        o.option in PRRT and o.verdict in ("recommended", "consider", "insufficient_information")
        for o in options
    )
    sstr_age = months.get("imaging.sstr.date")
    if prrt_in_question and sstr_age is not None and sstr_age > kb.sstr_imaging_months:
        out.append(
            f"SSTR imaging is {sstr_age:.0f} months old; PRRT needs imaging within "
            f"{kb.sstr_imaging_months:g} months of the first dose: repeat it."
        )
    labs_age = months.get("labs.date")
    if labs_age is not None and labs_age * DAYS_PER_MONTH > kb.labs_weeks * DAYS_PER_WEEK:
        out.append(
            f"Blood results are {labs_age * DAYS_PER_MONTH / DAYS_PER_WEEK:.0f} weeks old; "
            f"treatment decisions need results from the last {kb.labs_weeks:g} weeks: "
            "repeat them."
        )
    if case.labs is not None and case.labs.date is None:
        out.append("The date of the blood results is not recorded (labs.date).")
    return out


@lru_cache(maxsize=1024)
def _cited_refs(kb: KnowledgeBase, funding_sources: frozenset[str]) -> tuple[SourceRef, ...]:
    """The sources an assessment cites: every criterion's (each assessment lists every
    criterion as a reason) and those of the funding rules that applied."""
    cited = {s for o in kb.options.values() for c in o.criteria for s in c.sources}
    cited = (cited | funding_sources) & kb.sources.keys()
    return tuple(_source_ref(kb, s) for s in sorted(cited))


def _source_ref(kb: KnowledgeBase, source_id: str) -> SourceRef:
    return _source_refs(kb)[source_id]


@cache
def _source_refs(kb: KnowledgeBase) -> dict[str, SourceRef]:
    return {s.id: _make_source_ref(kb, s.id) for s in kb.sources.values()}


def _make_source_ref(kb: KnowledgeBase, source_id: str) -> SourceRef:
    s = kb.sources[source_id]
    return SourceRef.trusted(
        id=s.id, citation=s.citation, year=s.year, url=s.url, evidence=s.evidence
    )
