"""The loaded, compiled knowledge base the engine runs on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netmdt.engine.expr import Definition, Evaluator, Facts, Masker, Node, Tracer, mask_of
from netmdt.engine.logic import Tri
from netmdt.kb.refs import References

# Every criterion of an option at once, in procedure order (``Option.criteria``).
Statuses = Callable[[Facts], tuple[Tri, ...]]
# every option's statuses at once, in the order of the options
AllStatuses = Callable[[Facts], tuple[tuple[Tri, ...], ...]]


@dataclass(frozen=True)
class Source:
    id: str
    citation: str
    year: int | None
    url: str | None
    evidence: str
    note: str | None = None


@dataclass(frozen=True)
class Disagreement:
    id: str
    title: str
    sides: tuple[tuple[str, tuple[str, ...]], ...]
    netmdt_rule: str

    def summary(self) -> str:
        sides = " versus ".join(position for position, _ in self.sides)
        return f"Sources disagree ({self.id}, {self.title}): {sides}. netmdt: {self.netmdt_rule}"


@dataclass(frozen=True, eq=False)  # identity: hashable, cacheable
class Criterion:
    id: str
    group: str
    text: str
    expr: Node
    evaluate: Evaluator
    reads: tuple[str, ...]
    sources: tuple[str, ...]
    evidence: str
    review: bool
    disagreement: str | None = None
    if_not_met: str | None = None
    group_reason: str | None = None  # why the criterion sits in its group
    # before_treatment only: the verdict when the check is false (design.md, "Verdict
    # procedure"): deferred (not_recommended), contraindicated (an absolute contraindication
    # found on the day, e.g. a positive pregnancy test), or consider (a relative one).
    if_false: str = "not_recommended"
    trace: Tracer = field(init=False)  # evaluate, with the unknown fields as a bit mask
    # trace's mask alone, asked only where the criterion is unknown (generated: without
    # evaluating the value, netmdt.kb.compiled; reference: trace(facts)[1])
    mask: Masker = field(init=False)
    # mask's value where it reads nothing of the case (the same on every case where the
    # criterion is unknown); None: call mask (always None on the reference)
    mask_constant: int | None = field(init=False)

    def __post_init__(self) -> None:
        trace = self.expr.tracer()
        object.__setattr__(self, "trace", trace)
        object.__setattr__(self, "mask", mask_of(trace))
        object.__setattr__(self, "mask_constant", None)


@dataclass(frozen=True, eq=False)  # identity: hashable, cacheable
class OptionWarning:
    id: str
    text: str
    evaluate: Evaluator | None
    sources: tuple[str, ...]
    evidence: str
    review: bool
    expr: Node | None = None


@dataclass(frozen=True, eq=False)  # identity: hashable, cacheable
class FundingRule:
    expr: Node | None
    evaluate: Evaluator | None
    pathway: str
    registry_status: str | None
    note: str
    sources: tuple[str, ...]
    trace: Tracer | None = None  # generated (netmdt.kb.compiled); else expr.tracer() is used
    # trace's mask alone, valid only where the rule is unknown (generated with trace)
    mask: Masker | None = None
    # the labels of the case fields the rule reads (a note on an unknown pathway names them)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)  # identity: hashable, cacheable
class Option:
    id: str
    name: str
    summary: str
    groups: dict[str, tuple[Criterion, ...]]
    warnings: tuple[OptionWarning, ...]
    funding: dict[str, tuple[FundingRule, ...]]
    patient: dict[str, str]
    # all the criteria's statuses in one call (generated Python; see netmdt.kb.compiled)
    statuses: Statuses | None = None
    criteria: tuple[Criterion, ...] = field(init=False)  # every group's, in procedure order
    evaluators: tuple[Evaluator, ...] = field(init=False)  # the criteria's, same order
    review_needed: bool = field(init=False)  # some criterion needs clinical review

    def __post_init__(self) -> None:
        criteria = tuple(c for group in self.groups.values() for c in group)
        object.__setattr__(self, "criteria", criteria)
        object.__setattr__(self, "evaluators", tuple(c.evaluate for c in criteria))
        if self.statuses is None:
            evaluators = self.evaluators
            object.__setattr__(
                self, "statuses", lambda facts: tuple([e(facts) for e in evaluators])
            )
        object.__setattr__(self, "review_needed", any(c.review for c in criteria))


@dataclass(frozen=True)
class Parameter:
    """A declared local setting (``parameters.yaml``) and the value it has here."""

    id: str
    text: str
    type: str  # integer | number
    default: int | float
    minimum: float | None
    maximum: float | None
    values: tuple[float, ...] | None
    unit: str
    range_reason: str
    sources: tuple[str, ...]
    evidence: str
    review: bool
    value: int | float  # the centre's value, else the default
    used_by: tuple[str, ...] = ()  # item ids: "option.criterion", "freshness.labs_weeks"

    @property
    def local(self) -> bool:
        return self.value != self.default

    def allowed(self) -> str:
        """The allowed values in words, e.g. "1 to 5" or "55 or 60"."""
        from netmdt.engine.expr import number_text

        if self.values is not None:
            return " or ".join(number_text(v) for v in self.values)
        low = "any" if self.minimum is None else number_text(self.minimum)
        high = "any" if self.maximum is None else number_text(self.maximum)
        return f"{low} to {high}"


@dataclass(frozen=True, eq=False)  # identity: hashable, cacheable
class KnowledgeBase:
    version: str
    title: str
    updated: str
    maintenance: str
    funding_statement: str
    fingerprint: str
    sources: dict[str, Source]
    disagreements: dict[str, Disagreement]
    fields: dict[str, dict[str, str]]
    options: dict[str, Option]
    sstr_imaging_months: float
    labs_weeks: float
    definitions: dict[str, Definition] = field(repr=False, default_factory=dict)  # shared
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    # every option's statuses in one call, in the order of ``options`` (generated Python,
    # each field read once; netmdt.kb.compiled); None: ask each option
    statuses: AllStatuses | None = field(repr=False, default=None)
    # the same for the summary view: an option that does not apply has only its
    # ``applies_to`` criteria evaluated, the others None (netmdt.kb.compiled)
    summary_statuses: AllStatuses | None = field(repr=False, default=None)
    # the trial cards (knowledge/trials/, netmdt.trials.load.Trial), by id
    trials: dict[str, Any] = field(repr=False, default_factory=dict)
    # our centre and the trials opened here (netmdt.trials.match.Local); None: nothing
    # is open here (netmdt.trials.local.localised sets it)
    trials_local: Any = field(repr=False, default=None)
    # the declared local settings, with the values this knowledge base was compiled with
    parameters: dict[str, Parameter] = field(repr=False, default_factory=dict)
    # the bundled content's fingerprint; ``fingerprint`` also covers the local values
    content_fingerprint: str = ""
    # what the texts' references ({option:..}, {field:..}, {criterion:..}) stand for
    references: References = field(repr=False, default_factory=References)

    def __repr__(self) -> str:
        """Short: a knowledge base is megabytes of text (test reports print arguments)."""
        return (
            f"KnowledgeBase(version={self.version!r}, fingerprint={self.fingerprint!r}, "
            f"options={len(self.options)}, trials={len(self.trials)})"
        )

    @property
    def settings(self) -> dict[str, int | float]:
        """The local values that differ from the defaults."""
        return {p.id: p.value for p in self.parameters.values() if p.local}

    def label(self, path: str) -> str:
        return self.fields.get(path, {}).get("label", path)

    def how_to_find_out(self, path: str) -> str:
        return self.fields.get(path, {}).get("how_to_find_out", "")
