"""Trial matching on generated Python: every trial criterion of a knowledge base in one
generated function, and everything that depends only on the statuses cached (issue 16).

``netmdt.trials.match`` is the reference (``match_trials_reference``): one evaluator call
per criterion and every record built per case. This module gives the same answers
(``tests/trials/test_compiled.py``: every scenario, the trial fixtures, a Hypothesis
differential over random cases) by

* one generated function (``netmdt.engine.pycode``, the same generator and the same
  safety rules as the options' ``kb.statuses``: case-schema paths and ``repr`` literals
  only, never text from a case or a request) returning, per trial card, the tuple of its
  criteria's values; compiled once per set of cards (``_compiled``, keyed by the
  ``Trial`` objects, which every layer of a centre's knowledge base shares: local
  settings, the trials opened here and the registry status never change a card's
  criteria);
* a plan per knowledge-base object (``_plan``, keyed by the object itself, so a layer
  that derives a new knowledge base gets its own plan, never a stale one): per trial and
  arm, what depends on the card and our centre only (open, opening soon, status note,
  sites, manual checks);
* per trial, arm and status vector (``_outcome``, cached): the verdict, the unknown
  criteria (whose tracers name the missing facts, per case), the reasons that do not
  show the case's values, in order.

What still reads the case per match: the missing facts of a possibly-eligible match
(tracers), the values shown by failing criteria, the freshness warnings (by
``assessed_on``, cached per date).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from netmdt.assessment import TrialMatch, TrialReason, TrialSite, TrialSummary, TrialVerdict
from netmdt.engine.assess import missing_facts
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

Statuses = Callable[[Mapping[str, Any]], tuple[tuple[Tri, ...], ...]]
_ORDER = {"fails": 0, "unknown": 1, "passes": 2}


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
    registry_ids: dict[str, str]
    opened: bool
    here: bool
    soon: bool
    note: str
    manual: tuple[str, ...]
    sites: tuple[TrialSite, ...]
    where: Where


@dataclass(frozen=True, eq=False)
class _Plan:
    statuses: Statuses
    arms: tuple[_Arm, ...]


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
                    tuple(m.quote for m in card.eligibility.manual_check),
                    tuple(sites_of(card, where)),
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


def _shown(record: TrialReason, c: TrialCriterion, facts: Mapping[str, Any]) -> TrialReason:
    """``record`` (built by ``match._reason`` without the case) with the case's values of
    the fields the criterion reads, as ``match._reason`` shows them for a failing one;
    cached by those values where they are plain (text, numbers, dates)."""
    values = [facts.get(p) for p in c.reads]
    if all(v is None or type(v) in _PLAIN for v in values):
        # by type too: 1, 1.0 and True are equal keys but not the same value shown
        key = (c, tuple([(type(v), v) for v in values]))
        found = _SHOWN.get(key)
        if found is None:
            if len(_SHOWN) >= _SHOWN_MAX:
                _SHOWN.clear()
            found = _SHOWN[key] = _with_values(record, c, facts)
        return found
    return _with_values(record, c, facts)


_PLAIN = frozenset({str, int, float, bool, date})


# failing reasons by criterion and the (plain) values they show
_SHOWN: dict[tuple[TrialCriterion, tuple[tuple[type, Any], ...]], TrialReason] = {}
_SHOWN_MAX = 65536


def _with_values(record: TrialReason, c: TrialCriterion, facts: Mapping[str, Any]) -> TrialReason:
    fields = dict(record.__dict__)
    fields["values"] = {p: _plain(facts[p]) for p in c.reads if facts.get(p) is not None}
    return TrialReason.trusted(**fields)


@lru_cache(maxsize=4096)
def _warnings(trial: Trial, today: date | None, opened: bool, where: Where) -> tuple[str, ...]:
    return tuple(warnings_of(trial.card, today, opened, where))


def _matches(
    kb: KnowledgeBase,
    facts: Mapping[str, Any],
    local: Local | None,
    where: Where | None,
    include_closed: bool,
    only: Iterable[str] | None,
) -> Iterable[tuple[_Arm, _Outcome]]:
    plan = _plan(kb, local or Local(), where or Where(), include_closed)
    statuses = plan.statuses(facts)
    wanted = None if only is None else set(only)
    for arm in plan.arms:
        if wanted is not None and arm.trial.id not in wanted:
            continue
        yield arm, _outcome(arm.trial, arm.picks, statuses[arm.index])


def match_trials_compiled(
    kb: KnowledgeBase,
    facts: Mapping[str, Any],
    *,
    local: Local | None = None,
    where: Where | None = None,
    include_closed: bool = False,
    only: Iterable[str] | None = None,
) -> list[TrialMatch]:
    """``match_trials_reference``'s answer, on the generated function and the caches."""
    today = facts.get("assessed_on")
    today = today if isinstance(today, date) else None
    out: list[TrialMatch] = []
    for arm, o in _matches(kb, facts, local, where, include_closed, only):
        reasons = [r if isinstance(r, TrialReason) else _shown(*r, facts) for r in o.reasons]
        out.append(
            TrialMatch.trusted(
                trial=arm.trial.card.id,
                acronym=arm.trial.card.acronym,
                registry_ids=dict(arm.registry_ids),
                arm=arm.arm,
                verdict=o.verdict,
                overall_status=arm.trial.card.overall_status,
                open=arm.opened,
                open_here=arm.here,
                opening_soon=arm.soon,
                status_note=arm.note,
                reasons=reasons,
                missing=(
                    missing_facts(list(o.unknown), facts, kb)
                    if o.verdict == "possibly_eligible"
                    else []
                ),
                manual_checks=list(arm.manual),
                sites=list(arm.sites),
                warnings=list(_warnings(arm.trial, today, arm.opened, arm.where)),
                review_needed=o.review,
            )
        )
    return out


def trial_summaries_compiled(
    kb: KnowledgeBase, facts: Mapping[str, Any], *, local: Local | None = None
) -> tuple[list[TrialSummary], set[TrialVerdict]]:
    """The summary view's trials (eligible and possibly eligible, not closed), without
    building the full records; and the verdicts of the trials open at our centre (for
    ``derived.open_trial_eligible``)."""
    out: list[TrialSummary] = []
    here: set[TrialVerdict] = set()
    for arm, o in _matches(kb, facts, local, None, False, None):
        if arm.here:
            here.add(o.verdict)
        if o.verdict == "not_eligible":
            continue
        out.append(
            TrialSummary.trusted(
                trial=arm.trial.card.id,
                acronym=arm.trial.card.acronym,
                arm=arm.arm,
                verdict=o.verdict,
                open=arm.opened,
                open_here=arm.here,
                opening_soon=arm.soon,
                missing=(
                    [m.field for m in missing_facts(list(o.unknown), facts, kb)]
                    if o.verdict == "possibly_eligible"
                    else []
                ),
            )
        )
    return out, here
