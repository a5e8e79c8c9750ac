"""The verdict procedure: one case, every option, fully explained (``assess``) or
summarised (``assess_summary``).

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

Speed (issue 16): an option's criteria are evaluated in one call of generated Python
(``Option.statuses``, see ``netmdt.kb.compiled``); everything that follows from the
statuses alone (verdict, reasons, deciding reason, relevant and pending criteria,
counterfactual, criterion warnings) is built once per distinct status vector
(``_view``, cached), so what is left per case is what reads the facts: the missing
facts and pending checks (generated masks), the option warnings and the funding. The
summary view skips the reasons, counterfactual and option warnings altogether.

The deciding reason (summary view) is the criterion that settles the verdict, the first
in procedure order of: for ``not_recommended``, an ``applies_to`` criterion unmet, else
a requirement unmet, else a ``before_treatment`` check unmet (deferred); for
``contraindicated``, a contraindication that holds, else a ``before_treatment`` check
unmet (``if_false: contraindicated``); for ``insufficient_information``, an
``applies_to``, contraindication or requirement criterion unknown; for ``consider``, a
``recommend_when`` criterion unmet, else one unknown, else a ``before_treatment`` check
unmet (``if_false: consider``). A ``recommended`` option has none.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from typing import Any, ClassVar, NamedTuple, Protocol, cast

from netmdt.assessment import (
    NEGATIVE,
    Assessment,
    AssessmentSummary,
    DecidingReason,
    Funding,
    FundingSummary,
    Investigation,
    InvestigationSummary,
    KnowledgeBaseRef,
    KnowledgeBaseVersion,
    Missing,
    OptionAssessment,
    OptionSummary,
    Pathway,
    PendingCheck,
    Reason,
    SourceRef,
    Status,
    TrialMatch,
    TrialSummary,
    TrialVerdict,
    Verdict,
    View,
)
from netmdt.case.derived import DAYS_PER_MONTH, months_between
from netmdt.case.model import Case
from netmdt.engine.absence import presence_fields
from netmdt.engine.expr import Masker, Tracer, unknowns
from netmdt.engine.facts import OPEN_TRIAL, facts_of
from netmdt.engine.pycode import PyGen
from netmdt.engine.schema import paths_of
from netmdt.kb.model import Criterion, FundingRule, KnowledgeBase, Option

STATUS: dict[bool | None, Status] = {True: "met", False: "unmet", None: "unknown"}
BEFORE = "before_treatment"
HEALTH_SYSTEM = "context.health_system"
DAYS_PER_WEEK = 7


def assess(case: Case, kb: KnowledgeBase | None = None) -> Assessment:
    """Assess every option of the knowledge base for one case (the full view)."""
    if kb is None:
        kb = _default_kb()
    facts = facts_of(case)
    trials = _trials(kb, facts)
    options, settles, funding_sources, prrt = _records(kb, facts)
    if trials:
        options = _name_the_trials(options, trials)
    return Assessment.trusted(
        knowledge_base=KnowledgeBaseRef.trusted(
            version=kb.version,
            fingerprint=kb.fingerprint,
            updated=kb.updated,
            sources=list(_cited_refs(kb, frozenset(funding_sources))),
        ),
        case_id=case.id,
        assessed_on=case.assessed_on,
        options=options,
        next_investigations=_next_investigations(settles, kb),
        trials=trials,
        warnings=_case_warnings_of(case, prrt, kb),
    )


def assess_summary(case: Case, kb: KnowledgeBase | None = None) -> AssessmentSummary:
    """The summary view: verdicts, deciding reasons, missing facts, pending checks and
    funding, without building the rest (equal to ``summarize(assess(case, kb))``)."""
    if kb is None:
        kb = _default_kb()
    facts = facts_of(case)
    trials = _trial_summary_list(kb, facts)
    options, missing, prrt = _summaries(kb, facts)
    return AssessmentSummary.trusted(
        view="summary",
        knowledge_base=_kb_version(kb),
        case_id=case.id,
        assessed_on=case.assessed_on,
        options=options,
        next_investigations=_next_investigation_summaries(missing, kb),
        trials=trials,
        warnings=_case_warnings_of(case, prrt, kb),
    )


def assess_view(
    case: Case, kb: KnowledgeBase | None = None, view: View = "full"
) -> Assessment | AssessmentSummary:
    """``assess`` or ``assess_summary``, by name."""
    return assess_summary(case, kb) if view == "summary" else assess(case, kb)


def summarize(assessment: Assessment) -> AssessmentSummary:
    """The summary view of a full assessment (e.g. a stored one), without the engine."""
    a = assessment
    return AssessmentSummary.trusted(
        view="summary",
        knowledge_base=KnowledgeBaseVersion.trusted(
            version=a.knowledge_base.version,
            fingerprint=a.knowledge_base.fingerprint,
            updated=a.knowledge_base.updated,
        ),
        case_id=a.case_id,
        assessed_on=a.assessed_on,
        options=[
            OptionSummary.trusted(
                option=o.option,
                verdict=o.verdict,
                deciding=_deciding_of(_deciding_reason(o.verdict, o.reasons)),
                missing=[m.field for m in o.missing],
                pending_checks=list(o.pending_checks),
                funding=_funding_summary_of(o.funding),
            )
            for o in a.options
        ],
        next_investigations=[
            InvestigationSummary.trusted(field=i.field, label=i.label)
            for i in a.next_investigations
        ],
        trials=_trial_summaries(a.trials),
        warnings=list(a.warnings),
    )


def _trial_summaries(trials: Iterable[TrialMatch]) -> list[TrialSummary]:
    """The summary view's trials: those the case could join, each in a line."""
    return [
        TrialSummary.trusted(
            trial=m.trial,
            acronym=m.acronym,
            arm=m.arm,
            verdict=m.verdict,
            open=m.open,
            open_here=m.open_here,
            opening_soon=m.opening_soon,
            missing=[x.field for x in m.missing],
        )
        for m in trials
        if m.verdict != "not_eligible"
    ]


def _trials(kb: KnowledgeBase, facts: dict[str, Any]) -> list[TrialMatch]:
    """The trials this case could join (not closed; docs/trials.md), and the fact
    ``derived.open_trial_eligible`` set from them: true when a trial open at our centre
    is eligible, unknown when one is possibly eligible (else it stays false)."""
    if not kb.trials:
        return []
    found = _trial_matchers().full(kb, facts, local=kb.trials_local)
    _open_trial(facts, {m.verdict for m in found if m.open_here})
    return found


def _trial_summary_list(kb: KnowledgeBase, facts: dict[str, Any]) -> list[TrialSummary]:
    """The summary view's trials, as ``_trials`` sets the fact, without the full records
    (on generated Python; a reference knowledge base summarises the full records)."""
    if not kb.trials:
        return []
    if kb.statuses is None:
        return _trial_summaries(_trials(kb, facts))
    found, here = _trial_matchers().summary(kb, facts, local=kb.trials_local)
    _open_trial(facts, here)
    return found


class _Matchers(NamedTuple):
    """The trial matchers, imported once on first use (the trials package imports the
    engine)."""

    full: Callable[..., list[TrialMatch]]
    summary: Callable[..., tuple[list[TrialSummary], set[TrialVerdict]]]


@cache
def _trial_matchers() -> _Matchers:
    from netmdt.trials.compiled import trial_summaries_compiled
    from netmdt.trials.match import match_trials

    return _Matchers(match_trials, trial_summaries_compiled)


def _open_trial(facts: dict[str, Any], here: Collection[str]) -> None:
    """``derived.open_trial_eligible`` from the verdicts of the trials open here."""
    if "eligible" in here:
        facts[OPEN_TRIAL] = True
    elif "possibly_eligible" in here:
        del facts[OPEN_TRIAL]  # unknown


def _name_the_trials(
    options: list[OptionAssessment], trials: list[TrialMatch]
) -> list[OptionAssessment]:
    """``clinical_trial`` recommended because of matched trials says which."""
    for i, o in enumerate(options):
        if o.option != "clinical_trial":
            continue
        if o.verdict != "recommended":
            break
        names = [
            m.acronym + (f" (arm {m.arm})" if m.arm else "")
            for m in trials
            if m.open_here and m.verdict == "eligible"
        ]
        line = "Eligible for a trial open at our centre: " + ", ".join(names) + "."
        options = list(options)
        options[i] = o.model_copy(update={"warnings": [line, *o.warnings]})
        break
    return options


def _deciding_of(reason: Reason | None) -> DecidingReason | None:
    if reason is None:
        return None
    return DecidingReason.trusted(
        criterion=reason.criterion, status=reason.status, text=reason.text
    )


def _deciding_reason(verdict: Verdict, reasons: Iterable[Reason]) -> Reason | None:
    """The reason that settles the verdict (see the module docstring)."""
    if verdict == "recommended":
        return None
    order: tuple[tuple[str, Status], ...] = _DECIDING[verdict]
    listed = list(reasons)
    for group, status in order:
        for r in listed:
            if r.group == group and r.status == status:
                return r
    return None


def _deciding_in_groups(verdict: Verdict, by_group: Groups) -> Reason | None:
    """``_deciding_reason`` of the option's reasons, from its criteria and statuses by
    group, building only the reason that decides."""
    if verdict == "recommended":
        return None
    for group, status in _DECIDING[verdict]:
        for c, value in by_group.get(group, ()):
            if _reason_status(c, value) == status:
                return _reason(c, value)
    return None


def _reason_status(c: Criterion, value: bool | None) -> Status:
    """A criterion's reason status: a contraindication that holds is a criterion unmet."""
    if c.group == "contraindications" and value is not None:
        return STATUS[not value]
    return STATUS[value]


# The (group, reason status) that decide each verdict, in order of precedence. A
# contraindication that holds has the reason status "unmet".
_DECIDING: dict[str, tuple[tuple[str, Status], ...]] = {
    "not_recommended": (
        ("applies_to", "unmet"),
        ("requirements", "unmet"),
        ("before_treatment", "unmet"),
    ),
    "contraindicated": (("contraindications", "unmet"), ("before_treatment", "unmet")),
    "insufficient_information": (
        ("applies_to", "unknown"),
        ("contraindications", "unknown"),
        ("requirements", "unknown"),
    ),
    "consider": (
        ("recommend_when", "unmet"),
        ("recommend_when", "unknown"),
        ("before_treatment", "unmet"),
    ),
}


def _default_kb() -> KnowledgeBase:
    from netmdt.kb.load import load_kb

    return load_kb()


@cache
def _kb_version(kb: KnowledgeBase) -> KnowledgeBaseVersion:
    return KnowledgeBaseVersion.trusted(
        version=kb.version, fingerprint=kb.fingerprint, updated=kb.updated
    )


# ----------------------------------------------------------------- one option


@dataclass(slots=True, eq=False)
class _Core:
    """What follows from an option's criterion statuses alone and every view needs.
    Never changed once built (not frozen: a frozen dataclass's constructor costs more,
    and one is built for every new status vector)."""

    verdict: Verdict
    deciding: DecidingReason | None
    relevant: tuple[Criterion, ...]
    pending: tuple[Criterion, ...]  # unknown before_treatment criteria (not on negatives)
    does_not_apply: bool
    # the relevant criteria's masks (their unknown fields are the missing facts;
    # ``Criterion.mask``, valid where the criterion is unknown, as it is here)
    masks: tuple[Masker, ...] = ()
    # the same for the summary, which wants them together: those that read nothing of
    # the case (``Criterion.mask_constant``) joined once, and the others
    constant: int = 0
    varying: tuple[Masker, ...] = ()
    # the facts whose presence decides the unknown fields of the relevant and pending
    # criteria (``netmdt.engine.absence``): the records' key in place of their masks;
    # None where some criterion's depend on values (the masks are computed)
    presence: tuple[str, ...] | None = None
    # whether the option's own warnings are shown (a positive or open verdict that applies)
    in_play: bool = False
    # nothing per case but the funding: no relevant unknown, no pending check
    quick: bool = False
    # The option's summary and full record, by what the case adds to the statuses: the
    # funding answer's id (one built once and never freed), the unknown fields (bit
    # masks) of the relevant and pending criteria and which of the option's own warnings
    # are shown. At most RECORDS_PER_CORE of each.
    summaries: dict[Any, OptionSummary] = field(default_factory=dict, compare=False, repr=False)
    records: dict[Any, OptionAssessment] = field(default_factory=dict, compare=False, repr=False)
    # a PRRT option whose verdict puts it in question (``_case_warnings_of``)
    prrt: bool = False
    # A quick core whose funding the health system alone decides (or that does not
    # apply) reads nothing else of the case: its summary, and its full record (with the
    # funding's sources) when not in play, by health system: one lookup per option.
    by_system: dict[Any, OptionSummary] = field(default_factory=dict, compare=False, repr=False)
    records_by_system: dict[Any, tuple[OptionAssessment, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(frozen=True)
class _Explained:
    """What follows from the statuses alone and only the full view shows."""

    reasons: tuple[Reason, ...]
    counterfactual: str | None
    criterion_warnings: tuple[str, ...]


Groups = Mapping[str, list[tuple[Criterion, bool | None]]]

# The bounds of what the engine keeps, over every option of every knowledge base: status
# vectors (``_Core``) and records (full records and summaries). Past either, every plan
# starts again. After 10,000 varied cases about 33,000 vectors and 101,000 records are
# kept (about 320 MB with the trial caches). And at most RECORDS_PER_CORE records per
# view and status vector.
CORES_KEPT = 65536
RECORDS_KEPT = 131072
RECORDS_PER_CORE = 256


class _Budget:
    """How much every plan keeps, together (approximate under threads: a bound may be
    passed by a few before the next check)."""

    cores: ClassVar[int] = 0
    records: ClassVar[int] = 0
    plans: ClassVar[weakref.WeakSet[_Plan]] = weakref.WeakSet()

    @classmethod
    def reset_if_full(cls) -> None:
        if cls.cores >= CORES_KEPT or cls.records >= RECORDS_KEPT:
            for plan in list(cls.plans):
                plan.cores.clear()
            cls.cores = cls.records = 0


@dataclass(eq=False, slots=True, weakref_slot=True)
class _Plan:
    """One option of one knowledge base on the hot path: its records by status vector,
    and its funding answer per health system where no fact decides it."""

    option: Option
    cores: dict[tuple[bool | None, ...], _Core] = field(default_factory=dict)
    funding: dict[Any, Funding | None] = field(default_factory=dict)
    # which of the option's own warnings hold (generated Python on a compiled knowledge
    # base: ``_shown``)
    shown: Callable[[Mapping[str, Any]], tuple[bool, ...]] = lambda facts: ()

    def __post_init__(self) -> None:
        _Budget.plans.add(self)

    def core(self, values: tuple[bool | None, ...]) -> _Core:
        found = self.cores.get(values)
        if found is None:
            _Budget.reset_if_full()  # bounded: a cohort of unusual cases cannot grow it
            found = self.cores[values] = _core(self.option, values)
            _Budget.cores += 1
        return found

    def keep(self, kept: dict[Any, Any], key: Any, record: Any) -> None:
        """Keep a core's record (``_Core.records`` or ``_Core.summaries``), within bounds."""
        if len(kept) < RECORDS_PER_CORE and _Budget.records < RECORDS_KEPT:
            kept[key] = record
            _Budget.records += 1

    def fixed_funding(self, system: Any) -> Funding | None:
        """The funding answer of an option that applies, when the health system alone
        decides it (no system, none of our rules, or a first rule without a condition);
        None when the rules read other facts (``_funding_rule`` per case)."""
        if system in self.funding:
            return self.funding[system]
        found: Funding | None = None
        if system is None:
            found = _NO_SYSTEM
        else:
            rules = self.option.funding.get(system)
            if not rules:
                found = _no_rules(system)
            elif rules[0].evaluate is None:
                found = _rule_funding(rules[0])
        # one answer per system even when threads race here: its id is the records' key
        return self.funding.setdefault(system, found)


@lru_cache(maxsize=4)
def _plans(kb: KnowledgeBase) -> tuple[_Plan, ...]:
    compiled = kb.statuses is not None
    return tuple(_Plan(option, shown=_shown(option, compiled)) for option in kb.options.values())


def _shown(option: Option, compiled: bool) -> Callable[[Mapping[str, Any]], tuple[bool, ...]]:
    """Which of the option's warnings hold, in one call: generated Python on a compiled
    knowledge base (``PyGen.truths``), the closures on a reference one."""
    if compiled and option.warnings:
        gen = PyGen()
        name = gen.truths([w.expr for w in option.warnings])
        fn: Callable[[Mapping[str, Any]], tuple[bool, ...]] = gen.build(
            f"option {option.id} warnings"
        )[name]
        return fn
    warnings = option.warnings
    return lambda facts: tuple([w.evaluate is None or w.evaluate(facts) is True for w in warnings])


def _by_group(option: Option, values: tuple[bool | None, ...]) -> Groups:
    by_group: dict[str, list[tuple[Criterion, bool | None]]] = {g: [] for g in option.groups}
    for c, value in zip(option.criteria, values, strict=True):
        by_group[c.group].append((c, value))
    return by_group


def _core(option: Option, values: tuple[bool | None, ...]) -> _Core:
    """Built once per distinct status vector (``_Plan.core``): cohorts repeat the same
    patterns often."""
    by_group = _by_group(option, values)
    verdict = _verdict(by_group)
    relevant = tuple(_relevant(by_group)) if None in values else ()
    pending = tuple(_pending(by_group, verdict))
    does_not_apply = any(v is False for _, v in by_group["applies_to"])
    return _Core(
        verdict=verdict,
        deciding=_deciding_of(_deciding_in_groups(verdict, by_group)),
        relevant=relevant,
        pending=pending,
        does_not_apply=does_not_apply,
        masks=tuple(c.mask for c in relevant),
        constant=_or(c.mask_constant or 0 for c in relevant),
        varying=tuple(c.mask for c in relevant if c.mask_constant is None),
        presence=_presence_of((*relevant, *pending)),
        in_play=bool(option.warnings) and not does_not_apply and verdict not in NEGATIVE,
        quick=not relevant and not pending,
        prrt=option.id in PRRT and verdict in PRRT_IN_QUESTION,
    )


def _or(masks: Iterable[int]) -> int:
    found = 0
    for mask in masks:
        found |= mask
    return found


def _presence_of(criteria: Sequence[Criterion]) -> tuple[str, ...] | None:
    """``_Core.presence``: the fact paths whose presence decides every criterion's
    unknown fields, together and sorted; None where some criterion's depend on values."""
    found: set[str] = set()
    for c in criteria:
        fields = _presence_fields(c)
        if fields is None:
            return None
        found.update(fields)
    return tuple(sorted(found))


@cache
def _presence_fields(c: Criterion) -> tuple[str, ...] | None:
    return presence_fields([c.expr])


@lru_cache(maxsize=65536)
def _explained(option: Option, values: tuple[bool | None, ...], kb: KnowledgeBase) -> _Explained:
    """The reasons and what they explain, built once per distinct status vector."""
    by_group = _by_group(option, values)
    verdict = _verdict(by_group)
    results = list(zip(option.criteria, values, strict=True))
    return _Explained(
        reasons=tuple(_reason(c, v) for c, v in results),
        counterfactual=_counterfactual(verdict, by_group),
        criterion_warnings=tuple(_criterion_warnings(results, verdict, kb, _deferred(by_group))),
    )


def _all_statuses(
    kb: KnowledgeBase, facts: Mapping[str, Any], summary: bool = False
) -> Iterable[tuple[bool | None, ...]]:
    """Every option's criterion statuses, in one call where the knowledge base has it.
    For the summary, an option that does not apply may have only its ``applies_to``
    criteria evaluated (``KnowledgeBase.summary_statuses``): the others are None, and
    its summary is the same."""
    if summary and kb.summary_statuses is not None:
        return kb.summary_statuses(facts)
    if kb.statuses is not None:
        return kb.statuses(facts)
    found = []
    for option in kb.options.values():
        assert option.statuses is not None  # set by Option.__post_init__
        found.append(option.statuses(facts))
    return found


def _funding_of(plan: _Plan, core: _Core, facts: Mapping[str, Any], system: Any) -> Funding:
    """The option's funding answer (as ``_funding``), without reading the rules where the
    health system alone decides it."""
    if core.does_not_apply:
        return _DOES_NOT_APPLY
    return plan.fixed_funding(system) or _funding(plan.option, facts, False)


class _Records(NamedTuple):
    """Every option's full record, and what the whole assessment needs of them."""

    records: list[OptionAssessment]
    settles: list[tuple[str, list[str]]]  # (option, its missing fields), where some are
    funding_sources: set[str]  # the sources of the funding answers
    prrt: bool  # PRRT is in question (``_case_warnings_of``)


def _records(kb: KnowledgeBase, facts: Mapping[str, Any]) -> _Records:
    """Every option's full record (``_assess_option``); that of a quick core not in play
    whose funding the health system alone decides straight from ``records_by_system``.
    The hot loop of the full view."""
    system = facts.get(HEALTH_SYSTEM)
    out = []
    settles: list[tuple[str, list[str]]] = []
    sources: set[str] = set()
    prrt = False
    for plan, values in zip(_plans(kb), _all_statuses(kb, facts), strict=True):
        core = plan.cores.get(values) or plan.core(values)
        kept = core.records_by_system.get(system)
        if kept is None:
            record = _assess_option(plan, core, facts, kb, values, system)
            if core.masks and record.missing:
                settles.append((plan.option.id, [m.field for m in record.missing]))
            if not core.does_not_apply and record.funding.sources:
                sources.update(record.funding.sources)
        else:
            record, cited = kept
            if cited:
                sources.update(cited)
        out.append(record)
        if core.prrt:
            prrt = True
    return _Records(out, settles, sources, prrt)


def _summaries(
    kb: KnowledgeBase, facts: Mapping[str, Any]
) -> tuple[list[OptionSummary], list[str], bool]:
    """Every option's summary (``_summary``); that of a quick core whose funding the
    health system alone decides straight from ``by_system``. Also every option's missing
    fields, one after the other, and whether PRRT is in question (``_case_warnings_of``).
    The hot loop of the summary view."""
    system = facts.get(HEALTH_SYSTEM)
    out = []
    missing: list[str] = []
    prrt = False
    for plan, values in zip(_plans(kb), _all_statuses(kb, facts, summary=True), strict=True):
        core = plan.cores.get(values) or plan.core(values)
        found = core.by_system.get(system)
        if found is None:
            found = _summary(plan, core, facts, system, kb)
            if found.missing:
                missing += found.missing
        out.append(found)
        if core.prrt:
            prrt = True
    return out, missing, prrt


def _summary(
    plan: _Plan, core: _Core, facts: Mapping[str, Any], system: Any, kb: KnowledgeBase
) -> OptionSummary:
    """One option's summary: built once per status vector and what the case adds to it
    (the funding answer, the unknown fields of relevant and pending criteria), and kept
    by those: in ``by_system`` where that is the health system alone (a quick core, a
    funding answer the system decides), else in ``summaries`` (at most
    RECORDS_PER_CORE per status vector), never with a funding answer that depends on
    unknown facts."""
    by_system = True
    if core.does_not_apply:
        funding, cached = _DNA_SUMMARY, True
    elif (fixed := plan.fixed_funding(system)) is not None:
        funding, cached = _fixed_summary(fixed), True
    else:
        (funding, cached), by_system = _funding_summary(plan.option, facts, False), False
    if core.quick and by_system:
        line = _option_summary(plan.option, core, [], [], funding)
        plan.keep(core.by_system, system, line)
        return line
    key: Any
    masks: tuple[int, tuple[int, ...]] | None
    if core.quick:
        key, masks = id(funding), (0, ())
    elif core.presence is not None:  # the masks only if the line is built
        key, masks = (id(funding), tuple(map(facts.__contains__, core.presence))), None
    else:
        masks = _summary_masks(core, facts)
        key = (id(funding), *masks)
    found = core.summaries.get(key)
    if found is None:
        mask, pending = masks or _summary_masks(core, facts)
        found = _option_summary(
            plan.option,
            core,
            list(paths_of(mask)),
            _pending_of(core.pending, pending, kb),
            funding,
        )
        if cached:
            plan.keep(core.summaries, key, found)
    return found


def _summary_masks(core: _Core, facts: Mapping[str, Any]) -> tuple[int, tuple[int, ...]]:
    """The unknown fields (bit masks) of the relevant criteria together, and of each
    pending criterion."""
    mask = core.constant
    for unknown in core.varying:
        mask |= unknown(facts)
    return mask, tuple([c.mask(facts) for c in core.pending])


def _assess_option(
    plan: _Plan,
    core: _Core,
    facts: Mapping[str, Any],
    kb: KnowledgeBase,
    values: tuple[bool | None, ...],
    system: Any,
) -> OptionAssessment:
    """The full record: built once per status vector and what the case adds to it (the
    funding answer, the unknown fields of relevant and pending criteria, the option's
    own warnings shown), and kept by those: in ``records_by_system`` where that is the
    health system alone (a quick core not in play, a funding answer the system
    decides), else in ``records``, never with a funding answer that depends on unknown
    facts."""
    option = plan.option
    funding = _funding_of(plan, core, facts, system)
    by_system = (
        core.quick
        and not core.in_play
        and (core.does_not_apply or plan.fixed_funding(system) is not None)
    )
    shown = plan.shown(facts) if core.in_play else ()
    key: Any
    masks: tuple[tuple[int, ...], tuple[int, ...]] | None
    if core.presence is not None and (core.masks or core.pending):
        # the masks only if the record is built
        key = (id(funding), tuple(map(facts.__contains__, core.presence)), shown)
        masks = None
    else:
        masks = _record_masks(core, facts)
        key = (id(funding), *masks, shown) if any(masks) or shown else id(funding)
    found = None if by_system else core.records.get(key)
    if found is not None:
        return found
    relevant, pending = masks or _record_masks(core, facts)
    explained = _explained(option, values, kb)
    warnings = list(explained.criterion_warnings)
    warnings += [
        w.text + (" [needs clinical review]" if w.review else "")
        for w, on in zip(option.warnings, shown, strict=False)
        if on
    ]
    record = OptionAssessment.trusted(
        option=option.id,
        name=option.name,
        verdict=core.verdict,
        summary=option.summary,
        reasons=list(explained.reasons),
        missing=_missing_of(core.relevant, relevant, kb),
        pending_checks=_pending_of(core.pending, pending, kb),
        counterfactual=explained.counterfactual,
        warnings=list(dict.fromkeys(warnings)),
        funding=funding,
        review_needed=option.review_needed,
    )
    if by_system:
        cited = () if core.does_not_apply else tuple(funding.sources)
        plan.keep(core.records_by_system, system, (record, cited))
    elif _is_fixed(funding):
        plan.keep(core.records, key, record)
    return record


def _record_masks(core: _Core, facts: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The unknown fields (bit masks) of each relevant and each pending criterion."""
    return tuple([m(facts) for m in core.masks]), tuple([c.mask(facts) for c in core.pending])


def _option_summary(
    option: Option,
    core: _Core,
    missing: list[str],
    pending: list[PendingCheck],
    funding: FundingSummary,
) -> OptionSummary:
    return OptionSummary.trusted(
        option=option.id,
        verdict=core.verdict,
        deciding=core.deciding,
        missing=missing,
        pending_checks=pending,
        funding=funding,
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
    return Reason.trusted(
        criterion=c.id,
        group=c.group,
        status=_reason_status(c, value),
        text=c.text,
        sources=list(c.sources),
        evidence=c.evidence,
        review=c.review,
        disagreement=c.disagreement,
    )


class Traced(Protocol):
    """A criterion whose unknown fields can be traced: an option's or a trial card's."""

    @property
    def id(self) -> str: ...

    @property
    def trace(self) -> Tracer: ...

    @property
    def mask(self) -> Masker: ...  # trace's mask alone, where the criterion is unknown


def missing_facts(
    relevant: Iterable[Traced], facts: Mapping[str, Any], kb: KnowledgeBase
) -> list[Missing]:
    """The unknown fields that keep the ``relevant`` criteria unknown, each with the
    criteria it decides and how to find it out (options and trial cards alike). The
    ``relevant`` criteria are unknown on these facts (their masks are valid only there)."""
    relevant = list(relevant)
    return _missing_of(relevant, [c.mask(facts) for c in relevant], kb)


@lru_cache(maxsize=8192)
def _missing_entry(kb: KnowledgeBase, path: str, criteria: str) -> Missing:
    return Missing.trusted(
        field=path,
        label=kb.label(path),
        why="decides: " + criteria,
        how_to_find_out=kb.how_to_find_out(path),
    )


def _pending_of(
    pending: Sequence[Criterion], masks: Sequence[int], kb: KnowledgeBase
) -> list[PendingCheck]:
    """``_pending_checks`` from each pending criterion's unknown fields (bit masks)."""
    if not pending:
        return []
    entries = [
        (path, i, c)
        for i, (c, mask) in enumerate(zip(pending, masks, strict=True))
        for path in paths_of(mask)
    ]
    return [_pending_entry(kb, path, c) for path, _, c in sorted(entries, key=lambda e: e[:2])]


def _missing_of(
    relevant: Sequence[Traced], masks: Sequence[int], kb: KnowledgeBase
) -> list[Missing]:
    """``missing_facts`` from each relevant criterion's unknown fields (bit masks)."""
    if not relevant:
        return []
    why: dict[str, list[str]] = {}
    for c, mask in zip(relevant, masks, strict=True):
        for path in paths_of(mask):
            why.setdefault(path, []).append(c.id)
    return [_missing_entry(kb, path, ", ".join(ids)) for path, ids in sorted(why.items())]


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


# The funding answers that depend on no rule, built once.
_DOES_NOT_APPLY = Funding.trusted(
    pathway="not_applicable",
    registry_status=None,
    note="The option does not apply.",
    sources=[],
    missing=[],
)
_NO_SYSTEM = Funding.trusted(
    pathway="unknown",
    registry_status=None,
    sources=[],
    note="The health system (funding jurisdiction) is not recorded.",
    missing=["context.health_system"],
)


def _funding_summary_of(f: Funding) -> FundingSummary:
    return FundingSummary.trusted(
        pathway=f.pathway, registry_status=f.registry_status, missing=list(f.missing)
    )


# Records and summaries are kept by the id of their funding answer (or of its summary).
# An id is unique only while its object lives, so every answer used as a key is held
# here for good: the fixed answers (``_keep``: constants, ``_no_rules``,
# ``_rule_funding``) and their summaries (``_fixed_summary``). ``setdefault`` makes each
# one answer even when threads race. A funding answer that depends on unknown facts is
# never kept, and nothing is kept by its id.
_KEPT: dict[int, Funding] = {}
_FIXED_SUMMARY: dict[int, tuple[Funding, FundingSummary]] = {}


def _keep(funding: Funding) -> Funding:
    return _KEPT.setdefault(id(funding), funding)


def _is_fixed(funding: Funding) -> bool:
    """Whether this funding answer is one kept for good (``_keep``), so that its id can
    be a key: every answer but one that depends on unknown facts."""
    return _KEPT.get(id(funding)) is funding


def _fixed_summary(funding: Funding) -> FundingSummary:
    """The summary of a kept funding answer, built once and kept with it."""
    found = _FIXED_SUMMARY.get(id(funding))
    if found is None or found[0] is not funding:
        found = _FIXED_SUMMARY.setdefault(id(funding), (funding, _funding_summary_of(funding)))
    return found[1]


_keep(_DOES_NOT_APPLY)
_keep(_NO_SYSTEM)
_DNA_SUMMARY = _fixed_summary(_DOES_NOT_APPLY)


def _funding_rule(
    option: Option, facts: Mapping[str, Any], does_not_apply: bool
) -> Funding | tuple[FundingRule, list[str] | None]:
    """A fixed answer (built once), or the rule that applies with the unknown fields it
    depends on: None when it holds; a list, maybe empty, when it is unknown (a derived
    fact can be unknown while the fields it is made of are all recorded)."""
    if does_not_apply:
        return _DOES_NOT_APPLY
    system = facts.get(HEALTH_SYSTEM)
    if system is None:
        return _NO_SYSTEM
    rules = option.funding.get(system)
    if not rules:
        return _no_rules(system)
    for rule in rules:
        value = True if rule.evaluate is None else rule.evaluate(facts)
        if value is None and rule.expr is not None:
            if rule.mask is not None:  # generated: valid here, the rule is unknown
                return rule, list(paths_of(rule.mask(facts)))
            if rule.trace is not None:
                return rule, list(paths_of(rule.trace(facts)[1]))
            return rule, list(unknowns(rule.expr, facts))
        if value:
            return rule, None
    raise AssertionError("the knowledge base guarantees an 'otherwise' funding rule")


def _funding(option: Option, facts: Mapping[str, Any], does_not_apply: bool) -> Funding:
    found = _funding_rule(option, facts, does_not_apply)
    if isinstance(found, Funding):
        return found
    rule, unknown = found
    if unknown is None:
        return _rule_funding(rule)
    return _unknown_funding(rule, unknown)


def _unknown_funding(rule: FundingRule, unknown: list[str]) -> Funding:
    named = "; ".join(rule.labels.get(f, f) for f in unknown)  # the fields' labels
    return Funding.trusted(
        pathway="unknown",
        registry_status=None,
        sources=list(rule.sources),
        note=f"Depends on facts not yet known ({named}); if they hold: {rule.note}",
        missing=unknown,
    )


def _funding_summary(
    option: Option, facts: Mapping[str, Any], does_not_apply: bool
) -> tuple[FundingSummary, bool]:
    """The funding summary, and whether it is one built once and kept (never freed)."""
    found = _funding_rule(option, facts, does_not_apply)
    if isinstance(found, Funding):
        return _fixed_summary(found), True
    rule, unknown = found
    if unknown is None:
        return _rule_funding_summary(rule), True
    return FundingSummary.trusted(pathway="unknown", registry_status=None, missing=unknown), False


def _rule_funding_summary(rule: FundingRule) -> FundingSummary:
    return _fixed_summary(_rule_funding(rule))


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
    return _keep(
        Funding.trusted(
            pathway="not_applicable",
            registry_status=None,
            sources=[],
            missing=[],
            note=NO_RULES_NOTE.get(
                system, "Funding is jurisdiction-specific; netmdt knows NHS England only."
            ),
        )
    )


@cache
def _rule_funding(rule: FundingRule) -> Funding:
    return _keep(
        Funding.trusted(
            pathway=cast(Pathway, rule.pathway),
            registry_status=cast(Any, rule.registry_status),
            note=rule.note,
            sources=list(rule.sources),
            missing=[],
        )
    )


# --------------------------------------------------------------- whole case


def _next_investigations(
    missing: Iterable[tuple[str, Iterable[str]]], kb: KnowledgeBase
) -> list[Investigation]:
    """The missing fields ranked by how many options each settles (option id, fields)."""
    settles: dict[str, list[str]] = {}
    for option, fields in missing:
        for path in fields:
            settles.setdefault(path, []).append(option)
    ranked = sorted(settles.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [_investigation(kb, f, tuple(opts)) for f, opts in ranked]


def _next_investigation_summaries(
    missing: Sequence[str], kb: KnowledgeBase
) -> list[InvestigationSummary]:
    """As ``_next_investigations``, in the same order, without the options each settles:
    from every option's missing fields, one after the other."""
    if not missing:
        return []
    counts: dict[str, int] = {}
    for path in missing:  # a plain dict: Counter costs more on a few paths
        counts[path] = counts.get(path, 0) + 1
    ranked = sorted(counts)  # by path, then (a stable sort) by how many options it settles
    ranked.sort(key=counts.__getitem__, reverse=True)
    made = _investigation_summaries(kb)
    return [made.get(path) or _investigation_summary(kb, path) for path in ranked]


@lru_cache(maxsize=16)
def _investigation_summaries(kb: KnowledgeBase) -> dict[str, InvestigationSummary]:
    """Each case field's entry in the summary's next investigations, by path (built on
    first use: ``_investigation_summary``)."""
    return {}


def _investigation_summary(kb: KnowledgeBase, path: str) -> InvestigationSummary:
    made = _investigation_summaries(kb)
    found = made[path] = InvestigationSummary.trusted(field=path, label=kb.label(path))
    return found


@lru_cache(maxsize=8192)
def _investigation(kb: KnowledgeBase, path: str, settles: tuple[str, ...]) -> Investigation:
    return Investigation.trusted(
        field=path,
        label=kb.label(path),
        how_to_find_out=kb.how_to_find_out(path),
        settles=list(settles),
    )


PRRT = ("prrt_lu177_dotatate", "prrt_y90_dotatoc")


# The verdicts of a PRRT option that put it in question (its imaging must be recent).
PRRT_IN_QUESTION = frozenset(("recommended", "consider", "insufficient_information"))


def _case_warnings_of(case: Case, prrt_in_question: bool, kb: KnowledgeBase) -> list[str]:
    out = list(case.derived.warnings)
    sstr = case.imaging.sstr if case.imaging else None
    sstr_age = _months_ago(case, sstr.date if sstr else None)
    if prrt_in_question and sstr_age is not None and sstr_age > kb.sstr_imaging_months:
        out.append(
            f"SSTR imaging is {sstr_age:.0f} months old; PRRT needs imaging within "
            f"{kb.sstr_imaging_months:g} months of the first dose: repeat it."
        )
    labs_age = _months_ago(case, case.labs.date if case.labs else None)
    if labs_age is not None and labs_age * DAYS_PER_MONTH > kb.labs_weeks * DAYS_PER_WEEK:
        out.append(
            f"Blood results are {labs_age * DAYS_PER_MONTH / DAYS_PER_WEEK:.0f} weeks old; "
            f"treatment decisions need results from the last {kb.labs_weeks:g} weeks: "
            "repeat them."
        )
    if case.labs is not None and case.labs.date is None:
        out.append("The date of the blood results is not recorded (labs.date).")
    return out


def _months_ago(case: Case, day: date | None) -> float | None:
    """Months from a date of the case to its assessment (as ``Derived.months_since``)."""
    if day is None or case.assessed_on is None:
        return None
    return months_between(day, case.assessed_on)


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
