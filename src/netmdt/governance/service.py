"""Clinical governance of the knowledge base: reviews, local settings, releases.

One service for the CLI (``netmdt kb review``, ``netmdt kb settings``, ``netmdt kb
release``) and the web pages. Every write is audited in the same transaction.

* A **review** is a clinical lead's verdict on one item (``items.py``), bound to the
  fingerprint of the content seen. When the bundled knowledge base changes that content
  the review *lapses*: the item is back on the worklist, with a diff of what changed.
* A **local setting** is a centre's value of a declared parameter, validated against its
  allowed range. Values are recorded (and audited) as they are set; they apply to
  assessments once a **release** that holds them is activated.
* A **release** is the centre's knowledge base: bundled version + local settings + the
  review records, with an id and a fingerprint. Activating one needs the clinical lead,
  reports first whose verdicts change, and re-assesses the stored cases.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netmdt.assessment import (
    NEGATIVE,
    Assessment,
    CentreReview,
    LocalValue,
    OptionAssessment,
    Reason,
)
from netmdt.engine.expr import number_text
from netmdt.errors import KnowledgeBaseError, NotFoundError, Problem, RecordValidationError
from netmdt.governance import tables as g
from netmdt.governance.items import Item, kb_items, trial_item_id
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.kb.load import setting_problems
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit

log = logging.getLogger("netmdt.governance")
VERDICTS = ("approved", "approved_with_local_change", "rejected", "needs_discussion")
# What ``kb review list --status`` filters on (an item's state, see ``ItemState.state``).
STATES = ("awaiting", "approved", "lapsed", "rejected", "needs_discussion")
NEEDS_COMMENT = frozenset({"approved_with_local_change", "rejected", "needs_discussion"})
ROLE = "clinical_lead"
# A deviation whose coded reason says the rule is wrong or out of date reopens the
# review of the criteria that decided the verdicts the MDT departed from.
RULE_WRONG = frozenset({"guideline_outdated"})
RECENT_DAYS = 365


# ------------------------------------------------------------------------ reviews


@dataclass
class ItemState:
    """An item and where its review stands at this centre."""

    item: Item
    review: g.KbReview | None  # the latest review (maybe of older content)
    reopened_by: list[int] = field(default_factory=list)  # decision ids (RULE_WRONG)

    @property
    def state(self) -> str:
        """awaiting | approved | lapsed | rejected | needs_discussion."""
        r = self.review
        if r is None:
            return "awaiting"
        if r.fingerprint != self.item.fingerprint:
            return "lapsed"
        if self.reopened_by and r.status in ("approved", "approved_with_local_change"):
            return "needs_discussion"
        return "approved" if r.status == "approved_with_local_change" else r.status

    @property
    def contract_status(self) -> str:
        """The status an assessment's reason carries: approved | awaiting | lapsed | rejected."""
        s = self.state
        return "awaiting" if s == "needs_discussion" else s

    def diff(self) -> list[str]:
        """What changed since the lapsed review (unified diff of the reviewed content)."""
        if self.review is None or self.state != "lapsed":
            return []
        return list(
            difflib.unified_diff(
                _lines(self.review.content),
                _lines(self.item.content),
                "reviewed",
                "now",
                lineterm="",
            )
        )


def _lines(content: dict[str, Any]) -> list[str]:
    return json.dumps(content, indent=2, sort_keys=True).splitlines()


def latest_reviews(db: Session) -> dict[str, g.KbReview]:
    rows = db.scalars(select(g.KbReview).order_by(g.KbReview.id)).all()
    return {r.item: r for r in rows}


def item_states(db: Session, kb: KnowledgeBase) -> dict[str, ItemState]:
    """Every item of the knowledge base with its review state, in knowledge-base order."""
    reviews = latest_reviews(db)
    states = {i: ItemState(item, reviews.get(i)) for i, item in kb_items(kb).items()}
    for decision_id, at, items in _rule_wrong_deviations(db):
        for i in items:
            st = states.get(i)
            if st is not None and st.review is not None and _aware(st.review.created_at) < at:
                st.reopened_by.append(decision_id)
    return states


def find_item(kb: KnowledgeBase, item_id: str) -> Item:
    items = kb_items(kb)
    if item_id not in items:
        hint = difflib.get_close_matches(item_id, list(items), n=1)
        raise RecordValidationError(
            [
                Problem(
                    "item",
                    f"{item_id!r} is not an item of the knowledge base"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + " (ITEM is option.criterion, e.g. prrt_lu177_dotatate.type_suitable)",
                    "unknown_item",
                )
            ]
        )
    return items[item_id]


def reviewer(db: Session, name: str) -> Actor:
    """A user who may sign off the knowledge base (``--as USER``): active, clinical_lead."""
    user = db.scalar(select(t.User).where(t.User.name == name))
    if user is None or not user.active:
        raise NotFoundError(f"active user {name!r}")
    if ROLE not in user.roles:
        raise RecordValidationError(
            [Problem("as", f"user {name!r} does not have the {ROLE} role", "role")]
        )
    return Actor(user.name, frozenset(user.roles))


def record_review(
    db: Session,
    actor: Actor,
    kb: KnowledgeBase,
    item_id: str,
    verdict: str,
    comment: str | None = None,
) -> ItemState:
    """Record a clinical lead's verdict on an item, bound to its content now; audited."""
    if ROLE not in actor.roles:
        raise RecordValidationError([Problem("as", f"needs the {ROLE} role", "role")])
    item = find_item(kb, item_id)
    if verdict not in VERDICTS:
        raise RecordValidationError(
            [Problem("status", f"{verdict!r} is not allowed; allowed: {', '.join(VERDICTS)}")]
        )
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 2000:
        raise RecordValidationError([Problem("comment", "at most 2000 characters")])
    if verdict in NEEDS_COMMENT and comment is None:
        raise RecordValidationError(
            [Problem("comment", f"a {verdict.replace('_', ' ')} verdict needs a comment")]
        )
    row = g.KbReview(
        item=item.id,
        fingerprint=item.fingerprint,
        content=item.content,
        status=verdict,
        comment=comment,
        reviewer=actor.name,
    )
    db.add(row)
    db.flush()
    audit(db, actor, "review", "kb_item", item.id, status=verdict, fingerprint=item.fingerprint)
    db.commit()
    return ItemState(item, row)


def review_history(db: Session, item_id: str) -> list[g.KbReview]:
    return list(
        db.scalars(select(g.KbReview).where(g.KbReview.item == item_id).order_by(g.KbReview.id))
    )


# ----------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SettingState:
    name: str
    value: float | None  # the recorded local value (None: the default)
    by: str | None
    on: datetime | None
    comment: str | None


def recorded_settings(db: Session) -> dict[str, SettingState]:
    """The latest recorded value of each parameter (not yet in force until released)."""
    rows = db.scalars(select(g.KbSetting).order_by(g.KbSetting.id)).all()
    return {
        r.name: SettingState(r.name, r.value, r.set_by, _aware(r.created_at), r.comment)
        for r in rows
    }


def parse_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RecordValidationError([Problem("value", f"{text!r} is not a number")]) from None
    return int(value) if value.is_integer() else value


def set_setting(
    db: Session,
    actor: Actor,
    kb: KnowledgeBase,
    name: str,
    value: float | None,
    comment: str | None = None,
) -> SettingState:
    """Record a local value (None: back to the default), validated; audited. It applies to
    assessments when a release holding it is activated (``activate_release``)."""
    if ROLE not in actor.roles:
        raise RecordValidationError([Problem("as", f"needs the {ROLE} role", "role")])
    param = kb.parameters.get(name)
    if param is None:
        hint = difflib.get_close_matches(name, list(kb.parameters), n=1)
        raise RecordValidationError(
            [
                Problem(
                    "name",
                    f"{name!r} is not a declared parameter"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + f" (parameters: {', '.join(kb.parameters)})",
                    "unknown_parameter",
                )
            ]
        )
    if value is not None:
        wrong = setting_problems(param, value)
        if wrong:
            raise RecordValidationError([Problem(name, m, "setting") for m in wrong])
        if value == param.default:
            value = None
    comment = (comment or "").strip() or None
    row = g.KbSetting(name=name, value=value, comment=comment, set_by=actor.name)
    db.add(row)
    db.flush()
    audit(db, actor, "set", "kb_setting", name, value=value, default=param.default)
    db.commit()
    return SettingState(name, value, actor.name, _aware(row.created_at), comment)


def local_values(states: Iterable[SettingState]) -> dict[str, float]:
    return {s.name: s.value for s in states if s.value is not None}


def export_settings(db: Session, kb: KnowledgeBase) -> dict[str, Any]:
    """The recorded values and the release in force, for a file (``--out``)."""
    recorded = recorded_settings(db)
    active = active_release(db)
    return {
        "knowledge_base": {"version": kb.version, "fingerprint": kb.content_fingerprint},
        "release": None if active is None else active.release,
        "settings": {
            p.id: {
                "value": recorded[p.id].value if p.id in recorded else None,
                "default": p.default,
                "unit": p.unit,
                "allowed": p.allowed(),
                "in_force": (active.settings.get(p.id) if active else None) or p.default,
                "set_by": recorded[p.id].by if p.id in recorded else None,
                "set_on": _day(recorded[p.id].on) if p.id in recorded else None,
            }
            for p in kb.parameters.values()
        },
    }


# ----------------------------------------------------------------------- releases


def active_release(db: Session) -> g.KbRelease | None:
    return db.scalar(
        select(g.KbRelease).where(g.KbRelease.active.is_(True)).order_by(g.KbRelease.id.desc())
    )


def centre_kb(db: Session, base: KnowledgeBase | None = None) -> KnowledgeBase:
    """The knowledge base in force at this centre: the bundled one compiled with the
    active release's local settings (the bundled one when none is active), with the
    centre's other state kept from ``base`` (the trials open here, the PRRT registry's
    status: ``AppState.kb``). A knowledge base of other content than the bundled one
    (``base``, e.g. a test's) is returned as it is."""
    bundled = load_kb()
    if base is None:
        base = bundled
    if base.content_fingerprint != bundled.content_fingerprint:
        return base
    release = active_release(db)
    if release is None or not release.settings:
        return base
    try:
        kb = load_kb(settings=dict(release.settings))
    except KnowledgeBaseError:
        # An upgrade narrowed a range the release's values no longer fit: the defaults
        # apply until the clinical lead activates a new release (the report says so).
        log.warning("release %s: its local settings are invalid here", release.release)
        return base
    return _with_centre_state(db, kb, base)


def _with_centre_state(db: Session, kb: KnowledgeBase, base: KnowledgeBase) -> KnowledgeBase:
    """``kb`` (local settings applied) with the trials open here and the registry status
    that ``base`` carries."""
    from netmdt.registry.status import centre_kb as with_registry_status
    from netmdt.registry.status import current_status
    from netmdt.trials.local import localised

    if base.trials_local is not None:
        kb = localised(kb, base.trials_local)
    return with_registry_status(kb, current_status(db))


def release_applies(db: Session) -> dict[str, Any]:
    """Whether the release in force still matches the bundled knowledge base: after an
    upgrade its content differs (reviews may have lapsed; a new release is due), and a
    local value outside a narrowed range no longer applies."""
    release = active_release(db)
    bundled = load_kb()
    if release is None:
        return {"release": None, "bundled_changed": False, "settings_apply": True}
    return {
        "release": release.release,
        "bundled_changed": release.content_fingerprint != bundled.content_fingerprint,
        "settings_apply": centre_kb(db).settings == release.settings,
    }


@dataclass
class Draft:
    """A release not yet activated: what it would hold, and whom it would change."""

    kb: KnowledgeBase
    settings: dict[str, float]
    reviews: dict[str, dict[str, Any]]
    fingerprint: str
    changes: list[dict[str, Any]]  # per stored case and option whose verdict moves
    cases: int


def _release_fingerprint(kb: KnowledgeBase, reviews: dict[str, Any]) -> str:
    body = {
        "kb": kb.content_fingerprint,
        "settings": kb.settings,
        "reviews": reviews,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def draft_release(db: Session) -> Draft:
    """The release the recorded settings and reviews would make, and its impact on the
    stored cases (their current versions): each option whose verdict or funding pathway
    would change from the knowledge base in force now (``netmdt kb diff --db``'s
    comparison, run over the stored cases in DuckDB)."""
    settings = local_values(recorded_settings(db).values())
    try:
        new = load_kb(settings=settings)
    except Exception as exc:  # a recorded value outside a range narrowed by an upgrade
        raise RecordValidationError(
            [Problem("settings", str(exc).splitlines()[-1], "setting")]
        ) from None
    old = centre_kb(db)
    states = item_states(db, new)
    reviews = {
        i: {"status": s.state, "by": s.review.reviewer, "on": str(_day(s.review.created_at))}
        for i, s in states.items()
        if s.review is not None
    }
    changes, cases = _impact(db, old, new)
    return Draft(new, settings, reviews, _release_fingerprint(new, reviews), changes, cases)


def _impact(
    db: Session, old: KnowledgeBase, new: KnowledgeBase
) -> tuple[list[dict[str, Any]], int]:
    import tempfile
    from pathlib import Path

    from netmdt.cohort.diff import cohort_changes
    from netmdt.store.services import stored_cohort

    cohort = stored_cohort(db, "netmdt-governance")
    if not cohort:
        return [], 0
    with tempfile.TemporaryDirectory(prefix="netmdt-release-") as folder:
        source = Path(folder) / "stored.jsonl"
        source.write_text("".join(json.dumps(c) + "\n" for c in cohort))
        out = Path(folder) / "changed.csv"
        result = cohort_changes(old, new, source, date.today(), out)
        import csv

        with out.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    return [dict(r) for r in rows], result.cases


def activate_release(db: Session, actor: Actor, draft: Draft) -> g.KbRelease:
    """Activate a release (clinical lead only): record it, make it the one in force, and
    re-assess every stored case's current version under it; audited."""
    if ROLE not in actor.roles:
        raise RecordValidationError([Problem("as", f"needs the {ROLE} role", "role")])
    count = db.scalar(select(g.KbRelease.id).order_by(g.KbRelease.id.desc())) or 0
    for row in db.scalars(select(g.KbRelease).where(g.KbRelease.active.is_(True))):
        row.active = False
    release = g.KbRelease(
        release=f"{draft.kb.version}-r{count + 1}",
        fingerprint=draft.fingerprint,
        kb_version=draft.kb.version,
        kb_fingerprint=draft.kb.fingerprint,
        content_fingerprint=draft.kb.content_fingerprint,
        settings=draft.settings,
        reviews=draft.reviews,
        impact={"cases": draft.cases, "changes": draft.changes},
        active=True,
        activated_by=actor.name,
    )
    db.add(release)
    db.flush()
    audit(
        db,
        actor,
        "activate",
        "kb_release",
        release.release,
        fingerprint=release.fingerprint,
        changed=len(draft.changes),
    )
    db.commit()
    reassessed = reassess(db, draft.kb, release)
    audit(db, "netmdt", "reassess", "kb_release", release.release, count=reassessed)
    db.commit()
    return release


def reassess(db: Session, kb: KnowledgeBase, release: g.KbRelease) -> int:
    """Assess every stored case's current version under ``kb`` (kept with the release)."""
    from netmdt.store.services import _store_assessment

    rows = db.execute(
        select(t.Case.id, t.CaseVersion)
        .join(
            t.CaseVersion,
            (t.CaseVersion.case_id == t.Case.id) & (t.CaseVersion.version == t.Case.version),
        )
        .order_by(t.Case.id)
    ).all()
    n = 0
    for case_id, version in rows:
        stored = db.scalar(
            select(t.StoredAssessment).where(
                t.StoredAssessment.case_version_id == version.id,
                t.StoredAssessment.kb_fingerprint == kb.fingerprint,
            )
        )
        if stored is None:
            stored = _store_assessment(db, kb, case_id, version)
        keep_release(db, stored.id, release.id)
        n += 1
    db.commit()
    return n


def keep_release(db: Session, assessment_id: int, release_id: int) -> None:
    if db.get(g.AssessmentRelease, assessment_id) is None:
        db.add(g.AssessmentRelease(assessment_id=assessment_id, release_id=release_id))
        db.flush()


def on_stored(db: Session, assessment_id: int) -> None:
    """A new stored assessment keeps the release in force (none: the bundled defaults)."""
    release = active_release(db)
    if release is not None:
        keep_release(db, assessment_id, release.id)


def releases(db: Session) -> list[g.KbRelease]:
    return list(db.scalars(select(g.KbRelease).order_by(g.KbRelease.id)))


def release_of(db: Session, assessment_id: int) -> g.KbRelease | None:
    link = db.get(g.AssessmentRelease, assessment_id)
    return None if link is None else db.get(g.KbRelease, link.release_id)


# ------------------------------------------------------- what assessments carry


def governed(db: Session, kb: KnowledgeBase, assessment: Assessment) -> Assessment:
    """The assessment with each reason's ``review`` the centre's (status, by, on), and
    the local settings each criterion's rule reads (value, who set it, when)."""
    return governed_with(assessment, kb, item_states(db, kb), settings_set_by(db))


def settings_set_by(db: Session) -> dict[str, tuple[str, datetime]]:
    """Who set each local value in force, and when (the recorded setting that matches the
    active release's value; else the release's activation)."""
    release = active_release(db)
    set_by: dict[str, tuple[str, datetime]] = {}
    if release is not None:
        for name in release.settings:
            set_by[name] = (release.activated_by, _aware(release.activated_at))
        for s in recorded_settings(db).values():
            if s.name in release.settings and s.value == release.settings[s.name] and s.by:
                set_by[s.name] = (s.by, s.on or _aware(release.activated_at))
    return set_by


def governed_with(
    assessment: Assessment,
    kb: KnowledgeBase,
    states: dict[str, ItemState],
    set_by: dict[str, tuple[str, datetime]],
) -> Assessment:
    options = [
        o.model_copy(
            update={
                "reasons": [_governed_reason(o.option, r, states, kb, set_by) for r in o.reasons]
            }
        )
        for o in assessment.options
    ]
    trials = [
        m.model_copy(
            update={
                "reasons": [
                    r.model_copy(
                        update={
                            "review": centre_review(states.get(trial_item_id(m.trial, r.criterion)))
                        }
                    )
                    for r in m.reasons
                ]
            }
        )
        for m in assessment.trials
    ]
    return assessment.model_copy(update={"options": options, "trials": trials})


def centre_review(st: ItemState | None, local: list[LocalValue] | None = None) -> CentreReview:
    """The centre's review of an item as an assessment carries it (a reason's ``review``,
    a trial criterion's ``review``)."""
    if st is None or st.review is None:
        return CentreReview(status="awaiting", local_settings=local or [])
    return CentreReview(
        status=st.contract_status,
        by=st.review.reviewer,
        on=_day(st.review.created_at),
        verdict=st.review.status,
        local_settings=local or [],
    )


def _governed_reason(
    option: str,
    r: Reason,
    states: dict[str, ItemState],
    kb: KnowledgeBase,
    set_by: dict[str, tuple[str, datetime]],
) -> Reason:
    st = states.get(f"{option}.{r.criterion}")
    local: list[LocalValue] = []
    for name in st.item.params if st is not None else ():
        p = kb.parameters[name]
        if not p.local:
            continue
        who = set_by.get(name)
        local.append(
            LocalValue(
                name=name,
                value=p.value,
                default=p.default,
                unit=p.unit,
                by=who[0] if who else None,
                on=_day(who[1]) if who else None,
            )
        )
    return r.model_copy(update={"review": centre_review(st, local)})


def approved_options(a: Assessment) -> set[str]:
    """The options of an assessment whose deciding criteria are all approved here."""
    from netmdt.engine.assess import summarize

    deciding = {o.option: o.deciding.criterion for o in summarize(a).options if o.deciding}
    return {o.option for o in a.options if option_approved(o, deciding.get(o.option))}


def option_approved(o: OptionAssessment, deciding: str | None) -> bool:
    """Whether every criterion that decides the option's verdict is approved here: the
    deciding criterion (``summarize``), or for a recommended option every criterion but
    the before-treatment checks."""
    if o.verdict == "recommended":
        used = [r for r in o.reasons if r.group != "before_treatment"]
    else:
        used = [r for r in o.reasons if r.criterion == deciding]
    return bool(used) and all(
        isinstance(r.review, CentreReview) and r.review.status == "approved" for r in used
    )


# ------------------------------------------------------------------------ worklist


@cache
def example_cases(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Item -> the bundled example and demo cases (synthetic) whose verdict it decides:
    the scenarios a reviewer can open to see the rule at work (``netmdt assess FILE``)."""
    from importlib import resources

    from netmdt.case import load_case
    from netmdt.engine.assess import assess_summary

    root = Path(str(resources.files("netmdt") / "examples"))
    found: dict[str, list[str]] = {}
    for path in sorted([*root.glob("*.yaml"), *root.glob("demo/demo-*.yaml")]):
        summary = assess_summary(load_case(path, today=date(2026, 11, 27)), kb)
        for o in summary.options:
            if o.deciding is not None:
                name = str(path.relative_to(root))
                found.setdefault(f"{o.option}.{o.deciding.criterion}", []).append(name)
    return found


@dataclass
class WorkItem:
    state: ItemState
    cases: int  # stored cases whose verdict the item decides
    decisions: int  # recent MDT decisions on verdicts it decided
    deviations: list[dict[str, Any]]  # those that departed from them, with coded reasons


def _deciding(assessment: dict[str, Any]) -> dict[str, str]:
    """Option -> the criterion deciding its verdict (none for recommended)."""
    from netmdt.engine.assess import summarize

    summary = summarize(Assessment.model_validate(assessment))
    return {o.option: o.deciding.criterion for o in summary.options if o.deciding is not None}


def _rule_wrong_deviations(db: Session) -> list[tuple[int, datetime, list[str]]]:
    rows = db.execute(
        select(t.Decision, t.StoredAssessment.result)
        .join(t.StoredAssessment, t.StoredAssessment.id == t.Decision.assessment_id)
        .where(t.Decision.deviation.is_(True), t.Decision.deviation_reason.in_(RULE_WRONG))
    ).all()
    out = []
    for d, result in rows:
        deciding = _deciding(result)
        items = [f"{o}.{c}" for o, c in deciding.items() if _departed(d, o)]
        out.append((d.id, _aware(d.created_at), items))
    return out


def _departed(d: t.Decision, option: str) -> bool:
    """Whether the decision departed from netmdt's verdict on this option."""
    verdict = d.verdicts.get(option)
    chosen = option in d.chosen
    return (chosen and verdict in NEGATIVE) or (not chosen and verdict == "recommended")


def trial_deciders(kb: KnowledgeBase, case: Any) -> set[str]:
    """The trial criteria (item ids) that decide this case's match state for their trial
    (any arm; the trials a case is matched against: not closed): a criterion decides it
    when its answer alone would change the verdict. Not eligible: the one failing
    criterion (where two or more fail, none alone decides); possibly eligible (none
    fails): each unknown one; eligible: every criterion."""
    if not kb.trials:
        return set()
    from netmdt.engine.facts import facts_of
    from netmdt.trials.match import match_trials

    found: set[str] = set()
    for m in match_trials(kb, facts_of(case), local=kb.trials_local):
        fails = [r.criterion for r in m.reasons if r.outcome == "fails"]
        unknown = [r.criterion for r in m.reasons if r.outcome == "unknown"]
        if fails:
            deciding = fails if len(fails) == 1 else []
        elif unknown:
            deciding = unknown
        else:
            deciding = [r.criterion for r in m.reasons]
        found |= {trial_item_id(m.trial, c) for c in deciding}
    return found


def worklist(db: Session, kb: KnowledgeBase, *, include_all: bool = False) -> list[WorkItem]:
    """Items awaiting review (never reviewed, lapsed, needing discussion), ranked by how
    many stored cases' verdicts they decide, then how many recent decisions."""
    from netmdt.store.services import case_of

    states = item_states(db, kb)
    cases: dict[str, int] = {}
    rows = db.execute(
        select(t.Case.id, t.CaseVersion.facts).join(
            t.CaseVersion,
            (t.CaseVersion.case_id == t.Case.id) & (t.CaseVersion.version == t.Case.version),
        )
    ).all()
    from netmdt.engine.assess import assess_summary

    for case_id, facts in rows:
        case = case_of(case_id, facts)
        summary = assess_summary(case, kb)
        for o in summary.options:
            if o.deciding is not None:
                key = f"{o.option}.{o.deciding.criterion}"
                cases[key] = cases.get(key, 0) + 1
        for key in trial_deciders(kb, case):
            cases[key] = cases.get(key, 0) + 1
    audit(db, "netmdt-governance", "count", "case", None, count=len(rows), purpose="worklist")
    decisions: dict[str, int] = {}
    deviations: dict[str, list[dict[str, Any]]] = {}
    since = datetime.now(UTC) - timedelta(days=RECENT_DAYS)
    for d, result in db.execute(
        select(t.Decision, t.StoredAssessment.result).join(
            t.StoredAssessment, t.StoredAssessment.id == t.Decision.assessment_id
        )
    ).all():
        if _aware(d.created_at) < since:
            continue
        for option, criterion in _deciding(result).items():
            key = f"{option}.{criterion}"
            decisions[key] = decisions.get(key, 0) + 1
            if d.deviation and _departed(d, option):
                deviations.setdefault(key, []).append(
                    {
                        "decision": d.id,
                        "on": _day(d.created_at),
                        "verdict": d.verdicts.get(option),
                        "chosen": option in d.chosen,
                        "reason": d.deviation_reason,
                    }
                )
    db.commit()
    work = [
        WorkItem(s, cases.get(i, 0), decisions.get(i, 0), deviations.get(i, []))
        for i, s in states.items()
        if include_all or s.state in ("awaiting", "lapsed", "needs_discussion")
    ]
    order = list(states)
    work.sort(key=lambda w: (-w.cases, -w.decisions, order.index(w.state.item.id)))
    return work


OPEN_STATES = ("awaiting", "lapsed", "needs_discussion")  # what the worklist shows


def filter_work(
    work: list[WorkItem], *, state: str = "", scope: str = "", text: str = ""
) -> list[WorkItem]:
    """The worklist filtered: ``state`` an item state ("" or "open": awaiting, lapsed or
    needing discussion; "all": every state), ``scope`` an option id or ``trial:TRIAL``
    ("options" / "trials": every option / trial item), ``text`` words that must all
    appear (any case) in the item's id, text or rule."""
    words = text.casefold().split()

    def keep(w: WorkItem) -> bool:
        item = w.state.item
        if state in ("", "open") and w.state.state not in OPEN_STATES:
            return False
        if state not in ("", "open", "all") and w.state.state != state:
            return False
        trial = item.kind == "trial_criterion"
        if (scope == "options" and trial) or (scope == "trials" and not trial):
            return False
        if scope not in ("", "options", "trials") and item.option != scope:
            return False
        haystack = f"{item.id} {item.text} {item.rule}".casefold()
        return all(word in haystack for word in words)

    return [w for w in work if keep(w)]


WORK_PAGE_SIZE = 50  # the worklist page's rows (and `kb review list --limit`'s default)


@dataclass(frozen=True)
class WorkPage:
    """One page of the filtered worklist: ``rows`` from ``offset`` (at most ``limit``),
    ``total`` the items the filters keep, ``open_total`` those open on the whole list."""

    rows: list[WorkItem]
    total: int
    open_total: int
    offset: int
    limit: int


def check_scope(kb: KnowledgeBase, scope: str) -> None:
    """``scope`` is "", "options", "trials", an option id or ``trial:TRIAL``; else a clear
    error naming what is allowed."""
    known = [*kb.options, *(f"trial:{t}" for t in kb.trials)]
    if scope in ("", "options", "trials", *known):
        return
    hint = difflib.get_close_matches(scope, known, n=1)
    raise RecordValidationError(
        [
            Problem(
                "option",
                f"{scope!r} is not an option or trial of the knowledge base"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + " (an option id, e.g. thermal_ablation, or trial:ID, e.g. trial:netter_3)",
                "unknown_option",
            )
        ]
    )


def work_page(
    db: Session,
    kb: KnowledgeBase,
    *,
    state: str = "",
    scope: str = "",
    text: str = "",
    offset: int = 0,
    limit: int = WORK_PAGE_SIZE,
    clamp: bool = False,
) -> WorkPage:
    """The worklist filtered (``filter_work``) and paged: the web worklist and ``netmdt kb
    review list`` both. ``clamp``: an offset past the end gives the last page (the web
    page's page numbers); otherwise no rows."""
    check_scope(kb, scope)
    if offset < 0 or limit < 1:
        raise RecordValidationError(
            [
                Problem(
                    "offset" if offset < 0 else "limit",
                    "must be 0 or more" if offset < 0 else "must be 1 or more",
                )
            ]
        )
    work = worklist(db, kb, include_all=True)
    shown = filter_work(work, state=state, scope=scope, text=text[:200])
    if clamp and offset >= len(shown):
        offset = max(0, (len(shown) - 1) // limit * limit)
    return WorkPage(
        rows=shown[offset : offset + limit],
        total=len(shown),
        open_total=sum(1 for w in work if w.state.state in OPEN_STATES),
        offset=offset,
        limit=limit,
    )


# ------------------------------------------------------------------------- report


def coverage(db: Session, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Review coverage per option: items by state."""
    rows: dict[str, dict[str, Any]] = {}
    for s in item_states(db, kb).values():
        row = rows.setdefault(
            s.item.option, {"option": s.item.option, "items": 0, **dict.fromkeys(STATES, 0)}
        )
        row["items"] += 1
        row[s.state] += 1
    return list(rows.values())


def report(db: Session, kb: KnowledgeBase) -> dict[str, Any]:
    """The governance report for the clinical-safety officer (DCB0160 evidence)."""
    states = item_states(db, kb)
    by_state = {s: sum(1 for x in states.values() if x.state == s) for s in STATES}
    active = active_release(db)
    return {
        "knowledge_base": {"version": kb.version, "fingerprint": kb.content_fingerprint},
        "items": len(states),
        "by_state": by_state,
        "coverage": coverage(db, kb),
        "lapsed": [
            {"item": i, "reviewed_by": s.review.reviewer, "on": _day(s.review.created_at)}
            for i, s in states.items()
            if s.state == "lapsed" and s.review is not None
        ],
        "rejected": [
            {
                "item": i,
                "by": s.review.reviewer,
                "on": _day(s.review.created_at),
                "comment": s.review.comment,
            }
            for i, s in states.items()
            if s.state == "rejected" and s.review is not None
        ],
        "settings": export_settings(db, kb)["settings"],
        "release": None if active is None else active.release,
        "release_state": release_applies(db),
        "releases": [
            {
                "release": r.release,
                "fingerprint": r.fingerprint,
                "kb_version": r.kb_version,
                "active": r.active,
                "by": r.activated_by,
                "on": _day(r.activated_at),
                "changed": len(r.impact.get("changes", [])),
            }
            for r in releases(db)
        ],
    }


# -------------------------------------------------------------------------- util


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _day(at: datetime | None) -> date | None:
    return None if at is None else _aware(at).date()


def _num(value: float) -> str:
    return number_text(value)


def report_lines(report: dict[str, Any]) -> list[str]:
    """The governance report as plain lines (CLI and the page's summary)."""
    kb = report["knowledge_base"]
    by = report["by_state"]
    lines = [
        f"Governance report: knowledge base {kb['version']} ({kb['fingerprint']}); "
        f"release in force: {report['release'] or 'none (bundled defaults)'}",
        f"{report['items']} items: " + ", ".join(f"{by[s]} {s.replace('_', ' ')}" for s in STATES),
        "Review coverage by option (approved / items):",
    ]
    for row in report["coverage"]:
        lines.append(f"  {row['option']}: {row['approved']} / {row['items']}")
    lines.append(f"Lapsed reviews: {len(report['lapsed'])}")
    lines += [
        f"  {x['item']} (reviewed by {x['reviewed_by']}, {x['on']})" for x in report["lapsed"]
    ]
    lines.append(f"Rejected items: {len(report['rejected'])}")
    lines += [f"  {x['item']} ({x['by']}, {x['on']}): {x['comment']}" for x in report["rejected"]]
    lines.append("Local settings (in force / default):")
    for name, s in report["settings"].items():
        who = f", recorded by {s['set_by']} {s['set_on']}" if s["set_by"] else ""
        lines.append(f"  {name}: {_num(s['in_force'])} / {_num(s['default'])} {s['unit']}{who}")
    state = report["release_state"]
    if state["bundled_changed"]:
        lines.append(
            "The bundled knowledge base changed since the release in force: review the "
            "lapsed items and activate a new release."
        )
    if not state["settings_apply"]:
        lines.append(
            "The release's local settings do not fit this version's ranges: the defaults "
            "apply until a new release is activated."
        )
    lines.append(f"Releases: {len(report['releases'])}")
    for r in report["releases"]:
        active = " (active)" if r["active"] else ""
        lines.append(
            f"  {r['release']}{active} {r['fingerprint']} by {r['by']}, {r['on']}: "
            f"{r['changed']} verdict change(s) at activation"
        )
    return lines
