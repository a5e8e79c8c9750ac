"""Matching one case against the trial cards: per trial and per arm, a three-valued
verdict with its reasons, the facts that would settle it, the sites and the warnings.

Pure, like the engine: no I/O, no clock (the case's ``assessed_on`` dates freshness).
The criteria are evaluated by the knowledge base's compiled evaluators (the same
machinery as the options' criteria, ``netmdt.trials.load``)::

    inclusion false, or exclusion true  -> not_eligible (the failing criteria first)
    otherwise some criterion unknown    -> possibly_eligible (missing: the unknown facts)
    otherwise                           -> eligible

An exclusion whose expression holds *fails* ("exclusion met"); one that does not hold
passes ("exclusion not met"). Learning a fact never turns ``not_eligible`` into
anything else, nor ``eligible`` (Kleene monotonicity; tests/trials).

"Open" means recruiting: the card's overall status is ``recruiting`` and some site is
recruiting (or no site status is recorded), or the trial is open at our centre (a
recruiting site named as our centre, or the local ``open_here`` setting). A
not-yet-recruiting trial is ``opening_soon``, never open; a closed or historical card
is never open.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from netmdt.assessment import TrialMatch, TrialReason, TrialSite, TrialVerdict
from netmdt.engine.assess import missing_facts
from netmdt.kb.model import KnowledgeBase
from netmdt.trials.geo import haversine_km
from netmdt.trials.load import CLOSED, Trial, TrialCriterion
from netmdt.trials.models import Site, TrialCard

HOME_COUNTRY = "United Kingdom"
FRESHNESS_MONTHS = 24
MONTHS = calendar.month_abbr


@dataclass(frozen=True)
class Local:
    """Our centre: the site name(s) that are us, and trials opened here by local decision."""

    centre: tuple[str, ...] = ()
    open_here: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Where:
    """Where the patient is (for distances) and which country is home."""

    lat: float | None = None
    lon: float | None = None
    home_country: str = HOME_COUNTRY


def match_trials(
    kb: KnowledgeBase,
    facts: Mapping[str, Any],
    *,
    local: Local | None = None,
    where: Where | None = None,
    include_closed: bool = False,
    only: Iterable[str] | None = None,
) -> list[TrialMatch]:
    """Every trial card (closed ones only with ``include_closed``), one entry per trial,
    or per arm where some criterion is arm-specific. On generated Python
    (``netmdt.trials.compiled``), except for a reference knowledge base (``load_kb(
    reference=True)``), which keeps ``match_trials_reference``."""
    if kb.statuses is None:
        return match_trials_reference(
            kb, facts, local=local, where=where, include_closed=include_closed, only=only
        )
    return _compiled_matcher()(
        kb, facts, local=local, where=where, include_closed=include_closed, only=only
    )


@cache
def _compiled_matcher() -> Callable[..., list[TrialMatch]]:
    """``compiled.match_trials_compiled`` (which imports this module), imported once:
    an import statement in ``match_trials`` would cost a microsecond per case."""
    from netmdt.trials.compiled import match_trials_compiled

    return match_trials_compiled


def match_trials_reference(
    kb: KnowledgeBase,
    facts: Mapping[str, Any],
    *,
    local: Local | None = None,
    where: Where | None = None,
    include_closed: bool = False,
    only: Iterable[str] | None = None,
) -> list[TrialMatch]:
    """The reference: each criterion's own evaluator, every record built per case."""
    local = local or Local()
    where = where or Where()
    wanted = None if only is None else set(only)
    out: list[TrialMatch] = []
    for trial in kb.trials.values():
        if wanted is not None and trial.id not in wanted:
            continue
        if not include_closed and is_closed(trial.card):
            continue
        values = tuple(c.evaluate(facts) for c in trial.criteria)
        for arm in _arms(trial):
            out.append(_match(kb, trial, arm, values, facts, local, where))
    return out


def is_closed(card: TrialCard) -> bool:
    return card.historical or card.overall_status in CLOSED


def _arms(trial: Trial) -> tuple[str | None, ...]:
    if not trial.arm_specific:
        return (None,)
    return tuple(a.id for a in trial.card.arms)


def _match(
    kb: KnowledgeBase,
    trial: Trial,
    arm: str | None,
    values: tuple[Any, ...],
    facts: Mapping[str, Any],
    local: Local,
    where: Where,
) -> TrialMatch:
    card = trial.card
    results = [
        (c, v)
        for c, v in zip(trial.criteria, values, strict=True)
        if arm is None or not c.arms or arm in c.arms
    ]
    verdict = verdict_of(results)
    reasons = sorted(
        (_reason(c, v, facts) for c, v in results),
        key=lambda r: ("fails", "unknown", "passes").index(r.outcome),
    )
    missing = missing_facts([c for c, v in results if v is None], facts, kb)
    here = open_here(card, local)
    opened = is_open(card) or here
    return TrialMatch.trusted(
        trial=card.id,
        acronym=card.acronym,
        registry_ids=card.registry_ids.model_dump(exclude_none=True),
        arm=arm,
        verdict=verdict,
        overall_status=card.overall_status,
        open=opened,
        open_here=here,
        opening_soon=not opened and opening_soon(card),
        status_note=status_note(card),
        reasons=reasons,
        missing=missing if verdict == "possibly_eligible" else [],
        manual_checks=[m.quote for m in card.eligibility.manual_check],
        sites=sites_of(card, where),
        warnings=warnings_of(card, facts.get("assessed_on"), opened, where),
        review_needed=any(c.review for c, _ in results),
    )


def verdict_of(results: Iterable[tuple[TrialCriterion, Any]]) -> TrialVerdict:
    unknown = False
    for c, v in results:
        if v is None:
            unknown = True
        elif (v is True) == (c.kind == "exclusion"):
            return "not_eligible"
    return "possibly_eligible" if unknown else "eligible"


_LABEL = {
    ("inclusion", True): ("met", "passes", "inclusion met"),
    ("inclusion", False): ("unmet", "fails", "inclusion not met"),
    ("inclusion", None): ("unknown", "unknown", "inclusion unknown"),
    ("exclusion", True): ("met", "fails", "exclusion met"),
    ("exclusion", False): ("unmet", "passes", "exclusion not met"),
    ("exclusion", None): ("unknown", "unknown", "exclusion unknown"),
}


def _reason(c: TrialCriterion, value: Any, facts: Mapping[str, Any]) -> TrialReason:
    status, outcome, label = _LABEL[(c.kind, value)]
    shown = {p: _plain(facts[p]) for p in c.reads if facts.get(p) is not None}
    return TrialReason.trusted(
        criterion=c.id,
        kind=c.kind,
        status=status,
        outcome=outcome,
        label=label,
        text=c.text,
        quote=c.quote,
        values=shown if outcome == "fails" else {},
        sources=list(c.sources),
        url=c.url,
        evidence=c.evidence,
        review=c.review,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, date):
        return value.isoformat()
    return value


# ------------------------------------------------------------------ status


def is_open(card: TrialCard) -> bool:
    """Recruiting: overall, and at some site (or no site status recorded)."""
    if is_closed(card) or card.overall_status != "recruiting":
        return False
    statuses = [s.status for s in card.sites if s.status is not None]
    return not statuses or "recruiting" in statuses


def opening_soon(card: TrialCard) -> bool:
    if is_closed(card):
        return False
    return card.overall_status == "not_yet_recruiting" or any(
        s.status == "not_yet_recruiting" for s in card.sites
    )


def open_here(card: TrialCard, local: Local) -> bool:
    """Open at our centre: a recruiting site that is us, or the local override."""
    if is_closed(card):
        return False
    if card.id in local.open_here:
        return True
    if card.overall_status != "recruiting":
        return False
    names = {n.casefold() for n in local.centre}
    return any(s.status == "recruiting" and s.name.casefold() in names for s in card.sites)


def month_year(text: str) -> str:
    """``2013-06`` or ``2013-06-01`` -> ``Jun 2013``."""
    year, month = text.split("-")[:2]
    return f"{MONTHS[int(month)]} {year}"


def status_note(card: TrialCard) -> str:
    status = card.overall_status.replace("_", " ")
    if is_closed(card):
        if card.dates.completion is None:
            return f"{status}, end date not recorded (status verified {card.status_verified})"
        return f"{status} {month_year(card.dates.completion)}"
    return f"{status} (verified {card.status_verified})"


def _first_day(text: str) -> date:
    parts = [int(p) for p in text.split("-")]
    return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def stale_reasons(card: TrialCard, today: date | None) -> list[str]:
    """Why the card's status may be out of date (OpenTrials #515 logic)."""
    if today is None or card.overall_status in ("completed", "terminated", "withdrawn"):
        return []  # a final status does not go stale
    out = []
    verified = _first_day(card.status_verified)
    if _months_between(verified, today) > FRESHNESS_MONTHS:
        out.append(
            f"status may be out of date: last verified {card.status_verified}, more than "
            f"{FRESHNESS_MONTHS} months ago"
        )
    end = card.dates.completion
    if end is not None and not card.dates.completion_actual and _first_day(end) < today:
        out.append(
            f"status may be out of date: estimated completion {end} has passed "
            "without an actual date"
        )
    return out


def warnings_of(card: TrialCard, today: Any, opened: bool, where: Where) -> list[str]:
    out = stale_reasons(card, today if isinstance(today, date) else None)
    if opened and card.sites:
        home = [s for s in card.sites if s.country == where.home_country]
        if not any(s.status == "recruiting" for s in home):
            out.append(f"no open {_short(where.home_country)} site")
    return out


def _short(country: str) -> str:
    return "UK" if country == "United Kingdom" else country


def sites_of(card: TrialCard, where: Where) -> list[TrialSite]:
    def distance(s: Site) -> float | None:
        if where.lat is None or where.lon is None or s.lat is None or s.lon is None:
            return None
        return round(haversine_km(where.lat, where.lon, s.lat, s.lon), 1)

    rows = [(s, distance(s)) for s in card.sites]
    order = sorted(
        range(len(rows)),
        key=lambda i: (
            rows[i][0].country != where.home_country,
            rows[i][1] is None,
            rows[i][1] or 0.0,
            i,
        ),
    )
    return [
        TrialSite.trusted(
            name=rows[i][0].name,
            city=rows[i][0].city,
            country=rows[i][0].country,
            status=rows[i][0].status,
            distance_km=rows[i][1],
        )
        for i in order
    ]
