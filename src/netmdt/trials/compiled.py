"""Trial matching on generated Python: every trial criterion of a knowledge base in one
generated function, and everything that depends only on the statuses cached (issue 16).

``netmdt.trials.match`` is the reference (``match_trials_reference``): one evaluator call
per criterion and every record built per case. This module gives the same answers
(``tests/trials/test_compiled.py``: every scenario, the trial fixtures, a Hypothesis
differential over random cases, cache hits against misses) by

* one generated function (``netmdt.engine.pycode``, the same generator and the same
  safety rules as the options' ``kb.statuses``: case-schema paths and ``repr`` literals
  only, never text from a case or a request) returning, per trial card, the tuple of its
  criteria's values; compiled once per set of cards (``_compiled``, keyed by the
  ``Trial`` objects, which every layer of a centre's knowledge base shares: local
  settings, the trials opened here and the registry status never change a card's
  criteria); closed cards are not in it unless asked for;
* a plan per knowledge-base object (``_plan``, keyed by the object itself, so a layer
  that derives a new knowledge base gets its own plan, never a stale one): per trial and
  arm, what depends on the card and our centre only (open, opening soon, status note,
  sites, manual checks), and the freshness warnings per ``assessed_on``;
* per trial, arm and status vector (``_outcome``, cached): the verdict, the unknown
  criteria (whose masks name the missing facts, per case), the reasons that do not
  show the case's values, in order; and, per arm of a plan (``_Entry``), the summary line
  of an eligible match, which reads nothing of the case;
* the whole ``TrialMatch`` (and the summary line of a possibly eligible match), cached
  by everything of the case it shows: the status vector, the freshness warnings, the
  values shown by the failing reasons (when they can be keyed exactly: text, numbers by
  type, dates, lists and case-model objects of those) and the unknown fields the masks
  name (those that are not constants: the entry fixes the constants). Those records are
  shared between calls, like the engine's other cached records: immutable (frozen
  models; nothing changes their lists in place), as are an arm's registry ids, manual
  checks and sites, and the set of fields set of the records made here (every field
  given: one set for all; about half of a cached record's memory).

What still reads the case per match: the generated function, the masks of a possibly
eligible match's unknown criteria (``mask``: valid only where they are unknown, as they
are), and the key of the values a failing reason shows (each field once per case). A
value that cannot be keyed exactly (any other type) is shown by building the records
for that case.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from math import copysign
from operator import itemgetter
from typing import Any, TypeVar

from pydantic import BaseModel

from netmdt.assessment import TrialMatch, TrialReason, TrialSite, TrialSummary, TrialVerdict
from netmdt.engine.assess import missing_facts
from netmdt.engine.expr import Masker
from netmdt.engine.logic import Tri
from netmdt.engine.pycode import PyGen
from netmdt.kb.model import KnowledgeBase
from netmdt.trials.load import Trial, TrialCriterion
from netmdt.trials.match import (
    Local,
    Where,
    _plain,
    _reason,
    is_closed,
    is_open,
    open_here,
    opening_soon,
    sites_of,
    status_note,
    verdict_of,
    warnings_of,
)

_R = TypeVar("_R", bound=BaseModel)
Statuses = Callable[[Mapping[str, Any]], tuple[tuple[Tri, ...], ...]]
_ORDER = {"fails": 0, "unknown": 1, "passes": 2}
_NO_LOCAL = Local()
_NOWHERE = Where()

# Bounds of the caches (each is cleared when full: a cohort's patterns come back). Sized,
# like the engine's (netmdt.engine.assess.CORES_KEPT, RECORDS_KEPT), to hold what about
# 10,000 distinct synthetic cases need (39,828 whole records and 27,228 shown reasons);
# a smaller bound is cleared over and over by a cohort that size, and each clear costs
# every case its entries again.
_ENTRIES_MAX = 4096  # status vectors per arm of a plan
_WARNINGS_MAX = 1024  # assessment dates per plan
_MATCHES_MAX = 65536  # whole TrialMatch records (about 1.5 KB each)
_SUMMARIES_MAX = 32768  # summary lines of possibly eligible matches
_SHOWN_MAX = 32768  # failing reasons with the values they show (about 1 KB each)
_NUMBERS_MAX = 131072  # keys of the case's values shown by failing reasons


def compiled_statuses(trials: tuple[Trial, ...]) -> Statuses:
    """Every criterion of every card in ``trials``: one generated function returning,
    per card, the tuple of its criteria's values (each case field read once)."""
    return _compiled(trials)


@lru_cache(maxsize=16)
def _compiled(trials: tuple[Trial, ...]) -> Statuses:
    gen = PyGen()
    name = gen.statuses_of_all([[c.expr for c in t.criteria] for t in trials])
    fn: Statuses = gen.build("trial cards")[name]
    return fn


@dataclass(frozen=True, eq=False)
class _Arm:
    """One trial (or arm) of the plan: what does not depend on the case."""

    trial: Trial
    index: int  # the card's position in the generated function's result
    arm: str | None
    picks: tuple[int, ...] | None  # the criteria of this arm (None: all of them)
    # shared by the arm's records (immutable, like the records themselves)
    registry_ids: dict[str, str]
    opened: bool
    here: bool
    soon: bool
    note: str
    manual: list[str]
    sites: list[TrialSite]
    where: Where
    # per status vector of the card: the match without the case (``_entry``)
    entries: dict[tuple[Tri, ...], _Entry] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _Plan:
    statuses: Statuses
    arms: tuple[_Arm, ...]
    # per assessment date: each arm's freshness warnings
    warnings: dict[date | None, tuple[tuple[str, ...], ...]] = field(default_factory=dict)


@lru_cache(maxsize=256)
def _plan(kb: KnowledgeBase, local: Local, where: Where, include_closed: bool) -> _Plan:
    """The plan of one knowledge-base object (by identity) for our centre and place."""
    trials = tuple(t for t in kb.trials.values() if include_closed or not is_closed(t.card))
    arms: list[_Arm] = []
    for index, trial in enumerate(trials):
        card = trial.card
        here = open_here(card, local)
        opened = is_open(card) or here
        ids = card.registry_ids.model_dump(exclude_none=True)
        names: tuple[str | None, ...] = (
            tuple(a.id for a in card.arms) if trial.arm_specific else (None,)
        )
        for arm in names:
            picks = (
                None
                if arm is None
                else tuple(i for i, c in enumerate(trial.criteria) if not c.arms or arm in c.arms)
            )
            arms.append(
                _Arm(
                    trial,
                    index,
                    arm,
                    picks,
                    ids,
                    opened,
                    here,
                    not opened and opening_soon(card),
                    status_note(card),
                    [m.quote for m in card.eligibility.manual_check],
                    sites_of(card, where),
                    where,
                )
            )
    return _Plan(_compiled(trials), tuple(arms))


@dataclass(frozen=True)
class _Outcome:
    verdict: TrialVerdict
    unknown: tuple[TrialCriterion, ...]  # the unknown criteria (their tracers: missing)
    # the reasons in order: a record, or (record, criterion) where it shows the case's values
    reasons: tuple[TrialReason | tuple[TrialReason, TrialCriterion], ...]
    review: bool


@lru_cache(maxsize=65536)
def _outcome(trial: Trial, picks: tuple[int, ...] | None, values: tuple[Tri, ...]) -> _Outcome:
    """By the trial and the arm's criteria, not the plan: every layer shares them."""
    results = list(zip(trial.criteria, values, strict=True))
    if picks is not None:
        results = [results[i] for i in picks]
    reasons: list[tuple[int, TrialReason | tuple[TrialReason, TrialCriterion]]] = []
    for c, v in results:
        record = _reason(c, v, {})
        # a failing criterion shows the case's values of the fields it reads: per case
        shown: TrialReason | tuple[TrialReason, TrialCriterion] = (
            (record, c) if record.outcome == "fails" and c.reads else record
        )
        reasons.append((_ORDER[record.outcome], shown))
    reasons.sort(key=lambda r: r[0])  # stable, as the reference's sorted()
    return _Outcome(
        verdict_of(results),
        tuple(c for c, v in results if v is None),
        tuple(r for _, r in reasons),
        any(c.review for c, _ in results),
    )


@dataclass(frozen=True, eq=False)  # identity: a cache key
class _Entry:
    """One arm of a plan for one status vector of its card: the match without the case."""

    arm: _Arm
    outcome: _Outcome
    # possibly eligible: the unknown criteria (their tracers name the missing facts)
    unknown: tuple[TrialCriterion, ...]
    # the keys of the values the failing reasons show (``_Keys``: one field, its key;
    # several, a tuple), each field once; None where no reason shows the case's values
    shown: Callable[[_Keys], Any] | None
    summary: TrialSummary | None  # eligible: the summary line (nothing of the case in it)
    # the masks of the unknown criteria that read the case (the others' are constants,
    # the same for every case of this entry): with the entry, what a cached match is by
    masks: tuple[Masker, ...] = ()


def _entry(arm: _Arm, values: tuple[Tri, ...]) -> _Entry:
    o = _outcome(arm.trial, arm.picks, values)
    reads = dict.fromkeys(p for r in o.reasons if isinstance(r, tuple) for p in r[1].reads)
    unknown = o.unknown if o.verdict == "possibly_eligible" else ()
    e = _Entry(
        arm,
        o,
        unknown,
        itemgetter(*reads) if reads else None,
        _summary(arm, o.verdict, []) if o.verdict == "eligible" else None,
        tuple(c.mask for c in unknown if c.mask_constant is None),
    )
    if len(arm.entries) >= _ENTRIES_MAX:
        arm.entries.clear()
    arm.entries[values] = e
    return e


def _summary(arm: _Arm, verdict: TrialVerdict, missing: list[str]) -> TrialSummary:
    return TrialSummary.trusted(
        trial=arm.trial.card.id,
        acronym=arm.trial.card.acronym,
        arm=arm.arm,
        verdict=verdict,
        open=arm.opened,
        open_here=arm.here,
        opening_soon=arm.soon,
        missing=missing,
    )


# ------------------------------------------------------------ the case's values as keys


class _Unkeyable(Exception):
    """A value whose shown form is not a function of an exact key (built per case)."""


_UNKEYABLE = object()  # ``_Keys``' mark for such a value


def _key(value: Any) -> Any:
    """A hashable key equal for two values exactly when ``match._plain`` shows them the
    same: by type too (1, 1.0 and True are equal but not shown the same; 0.0 and -0.0
    by their sign); lists item by item; a case-model object by its fields."""
    t = type(value)
    if value is None or t is str or t is date:
        return value  # no other key type equals these
    if t is int or t is bool:
        return (t, value)
    if t is float:
        return (t, value, copysign(1.0, value))
    if t is list:
        return (list, tuple([_key(v) for v in value]))
    if (
        isinstance(value, BaseModel)
        and _dumped_by_fields(type(value))
        and not value.__pydantic_extra__
    ):
        return (t, tuple([(k, _key(v)) for k, v in value.__dict__.items()]))
    raise _Unkeyable


@lru_cache(maxsize=256)
def _dumped_by_fields(model: type[BaseModel]) -> bool:
    """``model_dump`` of this model depends on its field values alone."""
    decorators = model.__pydantic_decorators__
    return not (
        model.model_computed_fields or decorators.field_serializers or decorators.model_serializers
    )


class _Keys(dict[str, Any]):
    """Per case: each field's value as a key, computed on first use: the value itself
    (text, a date), ``-1`` (unknown), a tagged tuple (a number) or, for a list or a
    case-model object, a number standing for its key (``_key``), so that it hashes at
    once; ``_UNKEYABLE`` for a value that has no key (``unkeyable`` then says so)."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        super().__init__()
        self.facts = facts
        self.unkeyable = False
        self.shown: dict[str, Any] = {}  # each field's value as reasons show it

    def plain(self, path: str) -> Any:
        """``match._plain`` of the field's value, once per case (several criteria read
        the prior treatments, each a ``model_dump``)."""
        try:
            return self.shown[path]
        except KeyError:
            found = self.shown[path] = _plain(self.facts[path])
            return found

    def __missing__(self, path: str) -> Any:
        value = self.facts.get(path)
        t = type(value)
        found: Any
        if value is None:  # unknown: the commonest; -1 is no number of ``_numbering``
            found = -1
        elif t is str or t is date:  # equal to no number, no tuple
            found = value
        elif t is int or t is bool:
            found = (t, value)
        else:
            try:
                key = _key(value)
            except _Unkeyable:
                self.unkeyable = True
                found = _UNKEYABLE
            else:
                found = _NUMBERS.get(key)
                if found is None:
                    if len(_NUMBERS) >= _NUMBERS_MAX:
                        _NUMBERS.clear()  # numbers are never reused: old records just miss
                    found = _NUMBERS[key] = next(_numbering)
        self[path] = found
        return found

    def has_unkeyable(self, numbers: Any) -> bool:
        """Whether ``numbers`` (one or a tuple) has a value without a key."""
        return self.unkeyable and (
            numbers is _UNKEYABLE or (type(numbers) is tuple and _UNKEYABLE in numbers)
        )


_NUMBERS: dict[Any, int] = {}
_numbering = itertools.count()


def _shown(record: TrialReason, c: TrialCriterion, keys: _Keys) -> TrialReason:
    """``record`` (built by ``match._reason`` without the case) with the case's values of
    the fields the criterion reads, as ``match._reason`` shows them for a failing one;
    cached by the numbers of those values."""
    numbers = tuple([keys[p] for p in c.reads])
    if keys.has_unkeyable(numbers):
        return _with_values(record, c, keys)
    key = (c, numbers)
    found = _SHOWN.get(key)
    if found is None:
        if len(_SHOWN) >= _SHOWN_MAX:
            _SHOWN.clear()
        found = _SHOWN[key] = _with_values(record, c, keys)
    return found


# failing reasons by criterion and the numbers of the values they show
_SHOWN: dict[tuple[TrialCriterion, tuple[Any, ...]], TrialReason] = {}


def _with_values(record: TrialReason, c: TrialCriterion, keys: _Keys) -> TrialReason:
    facts = keys.facts
    fields = dict(record.__dict__)
    fields["values"] = {p: keys.plain(p) for p in c.reads if facts.get(p) is not None}
    return _shared_fields_set(TrialReason.trusted(**fields), _REASON_FIELDS)


# Every field of these records is given, so each record's set of the fields set (what
# ``trusted`` makes: a set of a kilobyte) is the same: one set shared by the cached ones.
_REASON_FIELDS = set(TrialReason.model_fields)
_MATCH_FIELDS = set(TrialMatch.model_fields)


def _shared_fields_set(record: _R, fields: set[str]) -> _R:
    if record.__pydantic_fields_set__ != fields:  # pragma: no cover (every field given)
        raise AssertionError(f"{type(record).__name__}: not every field given")
    object.__setattr__(record, "__pydantic_fields_set__", fields)
    return record


# ------------------------------------------------------------------ per case


@lru_cache(maxsize=4096)
def _warnings(trial: Trial, today: date | None, opened: bool, where: Where) -> tuple[str, ...]:
    return tuple(warnings_of(trial.card, today, opened, where))


def _warnings_on(plan: _Plan, today: Any) -> tuple[tuple[str, ...], ...]:
    """Each arm's freshness warnings for the case's ``assessed_on``."""
    on = today if isinstance(today, date) else None
    found = plan.warnings.get(on)
    if found is None:
        if len(plan.warnings) >= _WARNINGS_MAX:
            plan.warnings.clear()
        found = plan.warnings[on] = tuple(
            _warnings(a.trial, on, a.opened, a.where) for a in plan.arms
        )
    return found


# whole records: by entry (an arm of a plan, a status vector), warnings, the numbers of
# the values shown and the unknown criteria's masks (``_Entry.masks``)
_MATCHES: dict[tuple[Any, ...], TrialMatch] = {}
# summary lines of possibly eligible matches: by entry and the unknown criteria's masks
_SUMMARIES: dict[tuple[_Entry, tuple[int, ...]], TrialSummary] = {}


def _build(e: _Entry, warnings: tuple[str, ...], kb: KnowledgeBase, keys: _Keys) -> TrialMatch:
    arm, o = e.arm, e.outcome
    record = TrialMatch.trusted(
        trial=arm.trial.card.id,
        acronym=arm.trial.card.acronym,
        registry_ids=arm.registry_ids,
        arm=arm.arm,
        verdict=o.verdict,
        overall_status=arm.trial.card.overall_status,
        open=arm.opened,
        open_here=arm.here,
        opening_soon=arm.soon,
        status_note=arm.note,
        reasons=[r if isinstance(r, TrialReason) else _shown(*r, keys) for r in o.reasons],
        missing=missing_facts(e.unknown, keys.facts, kb) if e.unknown else [],
        manual_checks=arm.manual,
        sites=arm.sites,
        warnings=list(warnings),
        review_needed=o.review,
    )
    return _shared_fields_set(record, _MATCH_FIELDS)


def match_trials_compiled(
    kb: KnowledgeBase,
    facts: Mapping[str, Any],
    *,
    local: Local | None = None,
    where: Where | None = None,
    include_closed: bool = False,
    only: Iterable[str] | None = None,
) -> list[TrialMatch]:
    """``match_trials_reference``'s answer, on the generated function and the caches:
    each record is cached by what of the case it shows (its entry, the warnings, the
    numbers of the values shown by its failing reasons, the unknown fields)."""
    plan = _plan(kb, local or _NO_LOCAL, where or _NOWHERE, include_closed)
    statuses = plan.statuses(facts)
    warnings = _warnings_on(plan, facts.get("assessed_on"))
    wanted = None if only is None else set(only)
    keys = _Keys(facts)
    cached = _MATCHES.get
    out: list[TrialMatch] = []
    for arm, w in zip(plan.arms, warnings, strict=True):
        if wanted is not None and arm.trial.id not in wanted:
            continue
        values = statuses[arm.index]
        e = arm.entries.get(values) or _entry(arm, values)
        if e.unknown:
            masks = tuple([m(facts) for m in e.masks])
            key: tuple[Any, ...] = (e, w, e.shown(keys) if e.shown else None, masks)
        elif e.shown:
            key = (e, w, e.shown(keys))
        else:
            key = (e, w)
        found = cached(key)
        if found is None:
            found = _build(e, w, kb, keys)
            if not keys.has_unkeyable(key[2] if len(key) > 2 else None):
                if len(_MATCHES) >= _MATCHES_MAX:
                    _MATCHES.clear()
                _MATCHES[key] = found
        out.append(found)
    return out


def trial_summaries_compiled(
    kb: KnowledgeBase, facts: Mapping[str, Any], *, local: Local | None = None
) -> tuple[list[TrialSummary], set[TrialVerdict]]:
    """The summary view's trials (eligible and possibly eligible, not closed), without
    building the full records; and the verdicts of the trials open at our centre (for
    ``derived.open_trial_eligible``). An eligible line reads nothing of the case; a
    possibly eligible one is cached by the unknown fields its tracers name."""
    plan = _plan(kb, local or _NO_LOCAL, _NOWHERE, False)
    statuses = plan.statuses(facts)
    out: list[TrialSummary] = []
    here: set[TrialVerdict] = set()
    for arm in plan.arms:
        values = statuses[arm.index]
        e = arm.entries.get(values) or _entry(arm, values)
        if arm.here:
            here.add(e.outcome.verdict)
        if e.summary is not None:
            out.append(e.summary)
        elif e.unknown:
            key = (e, tuple([m(facts) for m in e.masks]))
            found = _SUMMARIES.get(key)
            if found is None:
                if len(_SUMMARIES) >= _SUMMARIES_MAX:
                    _SUMMARIES.clear()
                missing = [m.field for m in missing_facts(e.unknown, facts, kb)]
                found = _SUMMARIES[key] = _summary(arm, e.outcome.verdict, missing)
            out.append(found)
    return out, here
