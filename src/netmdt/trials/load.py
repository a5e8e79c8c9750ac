"""Loading and linting the trial cards (``knowledge/trials/*.yaml``).

Called by the knowledge-base checker (``netmdt.kb.load.check_kb``), so ``netmdt kb
check`` lints the cards with the same machinery as the options: each ``when`` is
parsed and type-checked by the rule language, its ``reads`` checked by computing them,
its sources looked up in ``sources.yaml``; age and sex limits become criteria in the
rule language too. Then the card's own rules: unique ids, arms that exist, historical
cards closed, and the free-text accounting rule (every bullet of ``registry_text`` is
the quote of a criterion or of a manual check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netmdt.engine.expr import Evaluator, Node, Tracer
from netmdt.engine.pycode import PyGen
from netmdt.trials.models import TrialCard, TrialCriterionSpec

if TYPE_CHECKING:
    from netmdt.kb.load import _Checker, _Context, _Scope

# A card's status is "closed" (never open, never offered) in these states.
CLOSED = frozenset({"active_not_recruiting", "suspended", "terminated", "completed", "withdrawn"})


@dataclass(frozen=True, eq=False)  # identity: hashable, cacheable
class TrialCriterion:
    id: str
    kind: str  # inclusion | exclusion
    text: str
    quote: str
    expr: Node
    evaluate: Evaluator
    trace: Tracer
    reads: tuple[str, ...]
    sources: tuple[str, ...]  # ids in sources.yaml
    url: str | None  # an inline source
    evidence: str
    review: bool
    arms: tuple[str, ...] | None  # None: every arm
    implicit: bool = False  # made from the card's age or sex limit


@dataclass(frozen=True, eq=False)
class Trial:
    id: str
    card: TrialCard
    criteria: tuple[TrialCriterion, ...]
    arm_specific: bool = field(init=False)  # some criterion applies to some arms only

    def __post_init__(self) -> None:
        object.__setattr__(self, "arm_specific", any(c.arms for c in self.criteria))

    def criteria_for(self, arm: str | None) -> tuple[TrialCriterion, ...]:
        return tuple(c for c in self.criteria if arm is None or not c.arms or arm in c.arms)


# ------------------------------------------------------------------ free text


_HEADER = re.compile(r"^\s*(key\s+)?(inclusion|exclusion)\s+criteria\s*:?\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[*\-+•]|\d+[.)]|[a-z][.)]|\([a-z0-9]+\))\s+", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~^=])")


def unescape(text: str) -> str:
    """Undo CommonMark backslash escapes (ClinicalTrials.gov writes ``\\<38°C``, ``\\*``)."""
    return _ESCAPE.sub(r"\1", text)


def normalise(text: str) -> str:
    """The form quotes and bullets are compared in: unescaped, whitespace collapsed."""
    return " ".join(unescape(text).split())


def split_bullets(text: str) -> list[str]:
    """The free-text criteria as bullets: one per list item or paragraph line, headers
    ("Inclusion Criteria:") dropped, bullet markers stripped, Markdown unescaped.
    A line that continues a bullet (indented, no marker) joins it."""
    bullets: list[str] = []
    joinable = False
    for raw in text.splitlines():
        if not raw.strip():
            joinable = False
            continue
        if _HEADER.match(unescape(raw)):
            joinable = False
            continue
        marker = _BULLET.match(raw)
        line = normalise(raw[marker.end() :] if marker else raw)
        if not line:
            continue
        if not marker and joinable and raw[:1].isspace():
            bullets[-1] = f"{bullets[-1]} {line}"
            continue
        bullets.append(line)
        joinable = True
    return bullets


# ------------------------------------------------------------------- checking


def check_trials(ck: _Checker, ctx: _Context, scope: _Scope, reference: bool) -> dict[str, Trial]:
    """Every card under ``trials/``, checked; the problems go to the checker."""
    folder = ck.root / "trials"
    trials: dict[str, Trial] = {}
    if not folder.is_dir():
        return trials
    for path in sorted(folder.glob("*.yaml")):
        trial = check_card(ck, ctx, scope, path, reference)
        if trial is not None:
            trials[trial.id] = trial
    return trials


def check_card(
    ck: _Checker, ctx: _Context, scope: _Scope, path: Path, reference: bool = False
) -> Trial | None:
    name = f"trials/{path.name}"
    data = ck.read(name)
    if data is None:
        return None
    card: TrialCard | None = ck.validate(TrialCard, data, name)
    if card is None:
        return None
    if card.id != path.stem:
        ck.problem(f"{name}.id", f"id {card.id!r} differs from the file name")
    _check_card_rules(ck, card, name)
    criteria: list[TrialCriterion] = []
    criteria += _implicit(ck, card, scope, name)
    for i, spec in enumerate(card.eligibility.criteria):
        crit = _criterion(ck, ctx, scope, spec, f"{name}.eligibility.criteria[{i}]({spec.id})")
        if crit is not None:
            criteria.append(crit)
    ck.unique([c.id for c in card.eligibility.criteria], f"{name}.eligibility.criteria")
    arm_ids = {a.id for a in card.arms}
    ck.unique([a.id for a in card.arms], f"{name}.arms")
    for i, spec in enumerate(card.eligibility.criteria):
        for arm in spec.arms or ():
            if arm not in arm_ids:
                ck.problem(
                    f"{name}.eligibility.criteria[{i}]({spec.id}).arms",
                    f"no arm {arm!r} (arms: {', '.join(sorted(arm_ids)) or 'none'})",
                    "unknown_arm",
                )
    _check_accounting(ck, card, name)
    compiled = criteria if reference else _generated(criteria, card.id)
    return Trial(card.id, card, tuple(compiled))


def _check_card_rules(ck: _Checker, card: TrialCard, name: str) -> None:
    e = card.eligibility
    if (
        e.min_age_years is not None
        and e.max_age_years is not None
        and e.min_age_years > e.max_age_years
    ):
        ck.problem(f"{name}.eligibility", "min_age_years is above max_age_years")
    if card.historical:
        if card.overall_status not in CLOSED:
            ck.problem(
                f"{name}.overall_status",
                f"a historical card must be closed, not {card.overall_status!r}",
                "historical",
            )
        for i, site in enumerate(card.sites):
            if site.status in ("recruiting", "not_yet_recruiting"):
                ck.problem(f"{name}.sites[{i}].status", "a historical card has no open site")


def _implicit(ck: _Checker, card: TrialCard, scope: _Scope, name: str) -> list[TrialCriterion]:
    """The age and sex limits as criteria of the rule language."""
    e = card.eligibility
    made: list[tuple[str, str, str]] = []
    if e.min_age_years is not None:
        made.append(
            ("min_age", f"age_years >= {e.min_age_years:g}", f"Aged {e.min_age_years:g} or over")
        )
    if e.max_age_years is not None:
        made.append(
            ("max_age", f"age_years <= {e.max_age_years:g}", f"Aged {e.max_age_years:g} or under")
        )
    if e.sex != "all":
        made.append(("sex", f"sex == {e.sex}", f"Sex: {e.sex} only"))
    found = []
    for cid, text, words in made:
        node = ck.expression(text, scope, f"{name}.eligibility.{cid}")
        if node is not None:
            found.append(
                TrialCriterion(
                    cid,
                    "inclusion",
                    words,
                    words,
                    node,
                    node.compile(),
                    node.tracer(),
                    tuple(sorted(node.reads())),
                    (),
                    card.verification[0].url,
                    "V",
                    False,
                    None,
                    implicit=True,
                )
            )
    return found


def _criterion(
    ck: _Checker, ctx: _Context, scope: _Scope, spec: TrialCriterionSpec, where: str
) -> TrialCriterion | None:
    ck.cite(spec.sources, ctx.sources, where + ".sources")
    ck.review_flag(spec.evidence, spec.review, where)
    node = ck.expression(spec.when, scope, where)
    if node is None:
        return None
    ck.reads(spec.reads, node, where)
    from netmdt.engine.expr import definitions_used

    review = spec.review == "needed" or any(d.review for d in definitions_used(node))
    return TrialCriterion(
        spec.id,
        spec.kind,
        spec.text,
        spec.quote,
        node,
        node.compile(),
        node.tracer(),
        tuple(sorted(node.reads())),
        tuple(spec.sources),
        spec.source.url if spec.source else None,
        spec.evidence,
        review,
        tuple(spec.arms) if spec.arms else None,
    )


def _check_accounting(ck: _Checker, card: TrialCard, name: str) -> None:
    """Every bullet of the registry's free text is encoded or listed as a manual check."""
    e = card.eligibility
    if e.registry_text is None:
        return
    quotes = {normalise(c.quote) for c in e.criteria} | {normalise(m.quote) for m in e.manual_check}
    for bullet in split_bullets(e.registry_text):
        if bullet not in quotes:
            short = bullet if len(bullet) <= 80 else bullet[:77] + "..."
            ck.problem(
                f"{name}.eligibility.registry_text",
                f"bullet not accounted for (quote it in a criterion or a manual_check): {short!r}",
                "unaccounted_bullet",
            )


def _generated(criteria: list[TrialCriterion], trial_id: str) -> list[TrialCriterion]:
    """The same criteria, evaluated by generated Python (as the options are)."""
    if not criteria:
        return criteria
    gen = PyGen()
    names = [(gen.evaluator(c.expr), gen.tracer(c.expr)) for c in criteria]
    fns: dict[str, Any] = gen.build(f"trial {trial_id}")
    import dataclasses

    return [
        dataclasses.replace(c, evaluate=fns[ev], trace=fns[tr])
        for c, (ev, tr) in zip(criteria, names, strict=True)
    ]
