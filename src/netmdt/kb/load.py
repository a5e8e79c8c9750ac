"""Loading, compiling and checking the knowledge base.

``check_kb`` collects *every* problem (schema, expressions, sources, reads, ids,
missing options), each located by file and key path; ``load_kb`` raises
``KnowledgeBaseError`` when there is any.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from netmdt.case.history import OptionId
from netmdt.engine.expr import (
    Definition,
    ExprError,
    Node,
    Param,
    number_text,
    params_used,
    parse,
)
from netmdt.engine.ops import REGISTRY, TWO_VALUED
from netmdt.engine.schema import DERIVED, FieldInfo, all_fields, case_fields
from netmdt.errors import KnowledgeBaseError, Problem
from netmdt.kb.compiled import compile_option, compile_statuses
from netmdt.kb.model import (
    Criterion,
    Disagreement,
    FundingRule,
    KnowledgeBase,
    Option,
    OptionWarning,
    Parameter,
    Source,
)
from netmdt.kb.refs import References, build, copy, texts
from netmdt.kb.schema import (
    GROUPS,
    CriterionSpec,
    DefinitionSpec,
    DerivedSpec,
    DisagreementSpec,
    FieldSpec,
    FundingRuleSpec,
    KbSpec,
    OptionSpec,
    ParameterSpec,
    SourceSpec,
    WarningSpec,
)
from netmdt.yamlsafe import NoAliasLoader

OPTION_IDS: tuple[str, ...] = tuple(get_args(OptionId))

# Every criterion must say why it sits in its group (``group_reason``); the switch lets a
# test show the rule's message on a copy of the knowledge base (tests/test_kb.py).
REQUIRE_GROUP_REASON = True

# What a failed ``before_treatment`` check means, in the order the checks are listed
# (``_Checker.check_order``).
IF_FALSE_ORDER = ("contraindicated", "not_recommended", "consider")
DEFAULT_IF_FALSE = "not_recommended"  # a check that says nothing defers


def default_kb_path() -> Path:
    return Path(str(resources.files("netmdt") / "knowledge"))


class _KbLoader(NoAliasLoader):
    """No anchors or aliases: the bundled knowledge base uses none, and a folder given to
    ``netmdt kb diff`` may come from elsewhere."""

    what = "the knowledge base"


@dataclass
class _Scope:
    """Names visible to an expression: fields (with labels), definitions, operators."""

    labels: dict[str, str]
    definitions: dict[str, Definition] = field(default_factory=dict)
    parameters: dict[str, Param] = field(default_factory=dict)

    def field(self, path: str) -> FieldInfo | None:
        info = all_fields().get(path)
        if info is None:
            return None
        label = self.labels.get(path) or info.label or path
        return FieldInfo(info.path, info.type, info.reads, label)

    def definition(self, name: str) -> Definition | None:
        return self.definitions.get(name)

    def operator(self, name: str) -> Any:
        return REGISTRY.get(name)

    def parameter(self, name: str) -> Param | None:
        return self.parameters.get(name)

    def suggest(self, name: str) -> str:
        names = [*all_fields(), *self.definitions, *REGISTRY]
        hint = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        return f"; did you mean {hint[0]!r}?" if hint else ""


class _Checker:
    """Reads every file, compiles what it can, and collects every problem."""

    def __init__(
        self, root: Path, reference: bool = False, settings: dict[str, float] | None = None
    ) -> None:
        self.root = root
        self.reference = reference  # keep the reference closures (no generated Python)
        self.settings = dict(settings or {})  # the centre's local values
        self.problems: list[Problem] = []
        self.raw: dict[str, Any] = {}
        self.cited: set[str] = set()
        self.params: dict[str, Param] = {}
        self.param_specs: dict[str, ParameterSpec] = {}
        self.used: dict[str, list[str]] = {}  # parameter -> item ids whose rule reads it
        self.refs = References()  # what {option:..}, {field:..}, {criterion:..} stand for
        self.unreadable: set[str] = set()

    def problem(self, where: str, message: str, code: str = "invalid") -> None:
        self.problems.append(Problem(where, message, code))

    def load(self, name: str) -> Any:
        """A file's data as written (read once; kept in ``raw``)."""
        if name in self.raw:
            return self.raw[name]
        if name in self.unreadable:
            return None
        path = self.root / name
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_KbLoader)
        except OSError:
            self.problem(name, "file is missing", "missing_file")
            self.unreadable.add(name)
            return None
        except yaml.YAMLError as exc:
            self.problem(name, f"not valid YAML: {exc}", "yaml")
            self.unreadable.add(name)
            return None
        self.raw[name] = data
        return data

    def read(self, name: str) -> Any:
        """A file's data with the references of its human texts written out (a copy: ``raw``
        keeps the text as written); an unknown reference or a bare code is a problem."""
        data = copy(self.load(name))
        for where, text, container, index in list(texts(data, name)):
            at = where

            def report(message: str, at: str = at) -> None:
                self.problem(at, message, "reference")

            container[index] = self.refs.resolve(text, report)
            for message in self.refs.bare(text):
                self.problem(at, message, "internal_code")
        return data

    def references(self) -> None:
        """What the references stand for: option names, field labels and criterion texts
        (from the option files as written, before anything is checked)."""
        fields = self.load("fields.yaml")
        labels = {
            str(p): str(spec["label"])
            for p, spec in (fields.items() if isinstance(fields, dict) else ())
            if p in case_fields() and isinstance(spec, dict) and isinstance(spec.get("label"), str)
        }
        derived = {p: all_fields()[p].label or p for p in DERIVED}
        options = {
            oid: self.load(f"options/{oid}.yaml")
            for oid in OPTION_IDS
            if (self.root / "options" / f"{oid}.yaml").exists()
        }
        self.refs = build(options, labels, derived)

    def validate(self, model: type[BaseModel], data: Any, where: str) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"])
                msg = str(err["msg"])
                if err["type"] == "extra_forbidden":
                    known = list(model.model_fields)
                    hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
                    msg = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else "")
                self.problem(f"{where}.{loc}" if loc else where, msg, "schema")
            return None

    def items(self, model: type[BaseModel], data: Any, where: str) -> list[Any]:
        if not isinstance(data, list):
            self.problem(where, "must be a list", "schema")
            return []
        found = [self.validate(model, d, f"{where}[{i}]") for i, d in enumerate(data)]
        return [f for f in found if f is not None]

    def unique(self, ids: list[str], where: str) -> None:
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                self.problem(where, f"duplicate id {i!r}", "duplicate_id")
            seen.add(i)

    # -- parts ---------------------------------------------------------------

    def sources(self) -> dict[str, Source]:
        specs: list[SourceSpec] = self.items(SourceSpec, self.read("sources.yaml"), "sources.yaml")
        self.unique([s.id for s in specs], "sources.yaml")
        return {s.id: Source(s.id, s.citation, s.year, s.url, s.evidence, s.note) for s in specs}

    def fields(self) -> dict[str, dict[str, str]]:
        data = self.read("fields.yaml") or {}
        known = case_fields()
        found: dict[str, dict[str, str]] = {}
        for path, spec in data.items():
            if path not in known:
                hint = difflib.get_close_matches(path, list(known), n=1)
                self.problem(
                    f"fields.yaml.{path}",
                    "not a case field" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                    "unknown_field",
                )
                continue
            checked = self.validate(FieldSpec, spec, f"fields.yaml.{path}")
            if checked is not None:
                found[path] = checked.model_dump()
        for path in known:
            if path not in found and path not in data:
                self.problem("fields.yaml", f"no entry for case field {path!r}", "undocumented")
        return found

    def derived(self, sources: dict[str, Source]) -> dict[str, DerivedSpec]:
        data = self.read("derived.yaml") or {}
        found: dict[str, DerivedSpec] = {}
        for path, spec in data.items():
            checked = self.validate(DerivedSpec, spec, f"derived.yaml.{path}")
            if path not in DERIVED:
                self.problem(f"derived.yaml.{path}", "not a derived fact", "unknown_field")
            elif checked is not None:
                self.cite(checked.sources, sources, f"derived.yaml.{path}.sources")
                self.review_flag(checked.evidence, checked.review, f"derived.yaml.{path}")
                found[path] = checked
        for path in DERIVED:
            if path not in data:
                self.problem("derived.yaml", f"no entry for derived fact {path!r}", "undocumented")
        return found

    def disagreements(self, sources: dict[str, Source]) -> dict[str, Disagreement]:
        specs: list[DisagreementSpec] = self.items(
            DisagreementSpec, self.read("disagreements.yaml"), "disagreements.yaml"
        )
        self.unique([d.id for d in specs], "disagreements.yaml")
        for d in specs:
            for j, side in enumerate(d.sides):
                self.cite(side.sources, sources, f"disagreements.yaml.{d.id}.sides[{j}]")
        return {
            d.id: Disagreement(
                d.id, d.title, tuple((s.position, tuple(s.sources)) for s in d.sides), d.netmdt_rule
            )
            for d in specs
        }

    def parameters(self, sources: dict[str, Source]) -> dict[str, Param]:
        """The declared local settings, each with the centre's value (validated) or its
        default. ``parameters.yaml`` is optional (a knowledge base may declare none)."""
        if not (self.root / "parameters.yaml").exists():
            specs: list[ParameterSpec] = []
        else:
            data = self.read("parameters.yaml")
            specs = self.items(ParameterSpec, data, "parameters.yaml") if data else []
        self.unique([p.id for p in specs], "parameters.yaml")
        for p in specs:
            at = f"parameters.yaml.{p.id}"
            self.cite(p.sources, sources, at + ".sources")
            self.review_flag(p.evidence, p.review, at)
            default = _typed(p, p.default)
            for message in setting_problems(p, p.default):
                self.problem(at + ".default", message, "parameter")
            value = default
            if p.id in self.settings:
                wrong = setting_problems(p, self.settings[p.id])
                for message in wrong:
                    self.problem(f"settings.{p.id}", message, "setting")
                if not wrong:
                    value = _typed(p, self.settings[p.id])
            self.param_specs[p.id] = p
            self.params[p.id] = Param(p.id, value, default, p.unit)
        for name in sorted(set(self.settings) - set(self.params)):
            self.problem(f"settings.{name}", "not a declared parameter", "setting")
        return self.params

    def window(self, value: float | str, name: str) -> float:
        """A freshness window of kb.yaml: a number, or ``param(id)`` (a local setting)."""
        if not isinstance(value, str):
            return value
        pid = value[len("param(") : -1]
        param = self.params.get(pid)
        if param is None:
            self.problem(f"kb.yaml.freshness.{name}", f"undeclared parameter {pid!r}", "parameter")
            return 1.0
        self.used.setdefault(pid, []).append(f"freshness.{name}")
        return param.value

    def parameter_records(self) -> dict[str, Parameter]:
        return {
            pid: Parameter(
                id=pid,
                text=spec.text,
                type=spec.type,
                default=self.params[pid].default,
                minimum=spec.minimum,
                maximum=spec.maximum,
                values=None if spec.values is None else tuple(spec.values),
                unit=spec.unit,
                range_reason=spec.range_reason,
                sources=tuple(spec.sources),
                evidence=spec.evidence,
                review=spec.review == "needed",
                value=self.params[pid].value,
                used_by=tuple(self.used.get(pid, ())),
            )
            for pid, spec in self.param_specs.items()
        }

    def render(self, text: str, where: str) -> str:
        """A text with its ``{parameter}`` places filled with the values in force."""

        def value(m: re.Match[str]) -> str:
            p = self.params.get(m.group(1))
            if p is None:
                self.problem(where, f"undeclared parameter {m.group(1)!r} in the text", "parameter")
                return m.group(0)
            return number_text(p.value) + (" (local setting)" if p.local else "")

        return _PLACE.sub(value, text)

    def uses(self, node: Node, text: str, item: str, where: str) -> None:
        """Record which parameters an item's rule reads; its text must show each."""
        for p in dict.fromkeys(params_used(node)):
            self.used.setdefault(p.id, []).append(item)
            if "{" + p.id + "}" not in text:
                self.problem(
                    where + ".text",
                    f"the rule reads param({p.id}) but the text does not show it ({{{p.id}}})",
                    "parameter",
                )

    def cite(self, ids: list[str], sources: dict[str, Source], where: str) -> None:
        for s in ids:
            self.cited.add(s)
            if s not in sources:
                hint = difflib.get_close_matches(s, list(sources), n=1)
                self.problem(
                    where,
                    f"undefined source {s!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                    "undefined_source",
                )

    def expression(
        self, text: str | bool, scope: _Scope, where: str, two_valued_ok: bool = False
    ) -> Node | None:
        try:
            node = parse("true" if text is True else "false" if text is False else text, scope)
        except ExprError as exc:
            self.problem(where + ".when", str(exc), "expression")
            return None
        if not two_valued_ok and _uses_two_valued(node):
            self.problem(
                where + ".when",
                "'is known' / 'is unknown' are allowed only in "
                "warnings (a verdict must not depend on whether a fact is recorded)",
                "two_valued",
            )
        return node

    def reads(self, declared: list[str] | None, node: Node, where: str) -> None:
        computed = sorted(node.reads())
        if declared is not None and sorted(declared) != computed:
            self.problem(
                where + ".reads",
                f"declared {sorted(declared)} but the expression reads {computed}",
                "reads",
            )

    def definitions(
        self, specs: list[DefinitionSpec], scope: _Scope, where: str, sources: dict[str, Source]
    ) -> None:
        for i, d in enumerate(specs):
            at = f"{where}[{i}]({d.id})"
            self.cite(d.sources, sources, at + ".sources")
            if d.id in scope.definitions:
                self.problem(at, f"definition {d.id!r} is already defined", "duplicate_id")
                continue
            self.review_flag(d.evidence, d.review, at)
            node = self.expression(d.when, scope, at)
            if node is not None:
                self.reads(d.reads, node, at)
                scope.definitions[d.id] = Definition(d.id, d.text, node, d.review == "needed")

    def review_flag(self, evidence: str, review: str | None, where: str) -> None:
        if evidence in ("S", "R") and review != "needed":
            self.problem(where + ".review", f"evidence {evidence} needs 'review: needed'", "review")
        if evidence == "V" and review is not None:
            self.problem(where + ".review", "evidence V needs no review flag", "review")

    def criterion(
        self, spec: CriterionSpec, group: str, scope: _Scope, ctx: _Context, where: str
    ) -> Criterion | None:
        self.cite(spec.sources, ctx.sources, where + ".sources")
        self.review_flag(spec.evidence, spec.review, where)
        if spec.disagreement is not None and spec.disagreement not in ctx.disagreements:
            self.problem(where + ".disagreement", f"unknown disagreement {spec.disagreement!r}")
        node = self.expression(spec.when, scope, where)
        if node is None:
            return None
        self.reads(spec.reads, node, where)
        from netmdt.engine.expr import definitions_used

        if REQUIRE_GROUP_REASON and spec.group_reason is None:
            self.problem(
                where + ".group_reason",
                "missing: one line saying why the criterion sits in this group",
                "group_reason",
            )
        if spec.if_false is not None and group != "before_treatment":
            self.problem(
                where + ".if_false",
                "only before_treatment criteria say what a false check means",
                "if_false",
            )
        review = spec.review == "needed" or any(d.review for d in definitions_used(node))
        self.uses(node, spec.text, f"{ctx.option}.{spec.id}", where)
        return Criterion(
            spec.id,
            group,
            self.render(spec.text, where + ".text"),
            node,
            node.compile(),
            tuple(sorted(node.reads())),
            tuple(spec.sources),
            spec.evidence,
            review,
            spec.disagreement,
            None
            if spec.if_not_met is None
            else self.render(spec.if_not_met, where + ".if_not_met"),
            spec.group_reason,
            if_false=spec.if_false or DEFAULT_IF_FALSE,
        )

    def check_order(self, checks: list[CriterionSpec], where: str) -> None:
        """``before_treatment`` checks in the order of what their failure means: those that
        contraindicate, then those that defer, then those that downgrade to consider. The
        reason that decides a verdict is the first failed check (``_DECIDING`` in
        ``netmdt.engine.assess``, and ``summarize`` of a stored assessment, whose reasons
        do not say what a failure means), so a failed check listed before one that
        means more would be named as the reason for a verdict it did not make."""

        def meaning(c: CriterionSpec) -> str:
            return c.if_false or DEFAULT_IF_FALSE

        for i, c in enumerate(checks):
            rank = IF_FALSE_ORDER.index(meaning(c))
            first = next(
                (x for x in checks[i + 1 :] if IF_FALSE_ORDER.index(meaning(x)) < rank), None
            )
            if first is not None:
                self.problem(
                    f"{where}[{i}]({c.id}).if_false",
                    f"{meaning(c)} check listed before {first.id} ({meaning(first)}): "
                    "list the checks that contraindicate first, then those that defer "
                    "(not_recommended), then those that downgrade (consider)",
                    "if_false",
                )
                return

    def warning(
        self, spec: WarningSpec, scope: _Scope, ctx: _Context, where: str
    ) -> OptionWarning | None:
        self.cite(spec.sources, ctx.sources, where + ".sources")
        self.review_flag(spec.evidence, spec.review, where)
        if spec.when is None:
            return OptionWarning(
                spec.id,
                spec.text,
                None,
                tuple(spec.sources),
                spec.evidence,
                spec.review == "needed",
            )
        node = self.expression(spec.when, scope, where, two_valued_ok=True)
        if node is None:
            return None
        self.reads(spec.reads, node, where)
        self.uses(node, spec.text, f"{ctx.option}.{spec.id}", where)
        return OptionWarning(
            spec.id,
            self.render(spec.text, where + ".text"),
            node.compile(),
            tuple(spec.sources),
            spec.evidence,
            spec.review == "needed",
            node,
        )

    def funding(
        self, specs: list[FundingRuleSpec], scope: _Scope, ctx: _Context, where: str
    ) -> tuple[FundingRule, ...]:
        rules: list[FundingRule] = []
        for i, r in enumerate(specs):
            at = f"{where}[{i}]"
            self.cite(r.sources, ctx.sources, at + ".sources")
            if (r.pathway == "audit_registry") != (r.registry_status is not None):
                self.problem(
                    at + ".registry_status",
                    "registry_status goes with pathway audit_registry, and only with it",
                )
            node = None if r.when is None else self.expression(r.when, scope, at)
            if node is not None:
                self.reads(r.reads, node, at)
                self.uses(
                    node, r.note, f"{ctx.option}.funding.{where.rsplit('.', 1)[-1]}.{i + 1}", at
                )
            if r.when is not None and node is None:
                continue
            rules.append(
                FundingRule(
                    node,
                    node.compile() if node else None,
                    r.pathway,
                    r.registry_status,
                    r.note,
                    tuple(r.sources),
                    labels={} if node is None else {f: ctx.labels.get(f, f) for f in node.reads()},
                )
            )
        if not specs or specs[-1].when is not None:
            self.problem(where, "the last funding rule must have no 'when' (the otherwise rule)")
        return tuple(rules)

    def valid_items(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """Check each criterion, warning and definition on its own, keeping the valid ones,
        so that one malformed entry does not hide the problems of the others."""
        models: dict[str, type[BaseModel]] = {
            **dict.fromkeys(GROUPS, CriterionSpec),
            "warnings": WarningSpec,
            "definitions": DefinitionSpec,
        }
        out = dict(data)
        for key, model in models.items():
            items = data.get(key)
            if isinstance(items, list):
                out[key] = [
                    item
                    for i, item in enumerate(items)
                    if self.validate(model, item, f"{name}.{key}[{i}]") is not None
                ]
        return out

    def option(self, option_id: str, ctx: _Context) -> Option | None:
        name = f"options/{option_id}.yaml"
        data = self.read(name)
        if data is None:
            return None
        if isinstance(data, dict):
            data = self.valid_items(data, name)
        spec: OptionSpec | None = self.validate(OptionSpec, data, name)
        if spec is None:
            return None
        if spec.id != option_id:
            self.problem(f"{name}.id", f"id {spec.id!r} differs from the file name")
        scope = _Scope(ctx.labels, dict(ctx.definitions), self.params)
        ctx = dataclasses.replace(ctx, option=option_id)
        self.definitions(spec.definitions, scope, f"{name}.definitions", ctx.sources)
        groups: dict[str, tuple[Criterion, ...]] = {}
        all_ids: list[str] = []
        for group in GROUPS:
            compiled = []
            for i, c in enumerate(getattr(spec, group)):
                all_ids.append(c.id)
                crit = self.criterion(c, group, scope, ctx, f"{name}.{group}[{i}]({c.id})")
                if crit is not None:
                    compiled.append(crit)
            groups[group] = tuple(compiled)
        self.check_order(spec.before_treatment, f"{name}.before_treatment")
        warnings = []
        for i, w in enumerate(spec.warnings):
            all_ids.append(w.id)
            compiled_w = self.warning(w, scope, ctx, f"{name}.warnings[{i}]({w.id})")
            if compiled_w is not None:
                warnings.append(compiled_w)
        self.unique(all_ids, name)
        funding = {
            str(system): self.funding(rules, scope, ctx, f"{name}.funding.{system}")
            for system, rules in spec.funding.items()
        }
        option = Option(
            spec.id,
            spec.name,
            spec.summary,
            groups,
            tuple(warnings),
            funding,
            spec.patient.model_dump(),
        )
        return option if self.reference else compile_option(option)


@dataclass
class _Context:
    sources: dict[str, Source]
    disagreements: dict[str, Disagreement]
    labels: dict[str, str]
    definitions: dict[str, Definition]
    option: str = ""  # the option being read


_PLACE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def _typed(p: ParameterSpec, value: float) -> int | float:
    return int(value) if p.type == "integer" and float(value).is_integer() else float(value)


def setting_problems(p: ParameterSpec | Parameter, value: Any) -> list[str]:
    """What is wrong with a value for a parameter (nothing: it is allowed)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"must be a number, not {value!r}"]
    if value != value or value in (float("inf"), float("-inf")):
        return ["must be a finite number"]
    unit = f" {p.unit}" if p.unit else ""
    if p.type == "integer" and not float(value).is_integer():
        return [f"must be a whole number, not {number_text(value)}"]
    if p.values is not None and value not in p.values:
        allowed = " or ".join(number_text(v) for v in p.values)
        return [f"{number_text(value)} is not allowed; allowed: {allowed}{unit}"]
    if p.minimum is not None and value < p.minimum:
        return [f"{number_text(value)} is below the minimum {number_text(p.minimum)}{unit}"]
    if p.maximum is not None and value > p.maximum:
        return [f"{number_text(value)} is above the maximum {number_text(p.maximum)}{unit}"]
    return []


def _uses_two_valued(node: Node) -> bool:
    from netmdt.engine.expr import Apply, DefRef

    if isinstance(node, DefRef):
        return _uses_two_valued(node.definition.expr)
    if isinstance(node, Apply):
        return node.op.name in TWO_VALUED or any(_uses_two_valued(a) for a in node.args)
    return False


def fingerprint(raw: dict[str, Any]) -> str:
    """A content hash of the knowledge base (canonical JSON of every file's data)."""
    canonical = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def check_kb(
    root: Path | None = None,
    *,
    partial: bool = False,
    reference: bool = False,
    settings: dict[str, float] | None = None,
) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Load and check a knowledge base; returns it (if it compiled) and every problem.

    With ``partial``, what did compile is returned even when there are problems
    (for authoring tools; never for assessments). With ``reference``, the rules run on
    the reference closures instead of generated Python (for tests and benchmarks).
    ``settings``: the centre's local values of declared parameters (each validated; a
    value outside its allowed range is a problem), compiled into the rules as constants.
    """
    root = Path(root) if root is not None else default_kb_path()
    if not root.is_dir():
        return None, [Problem(str(root), "no such knowledge-base folder", "missing_file")]
    ck = _Checker(root, reference, settings)
    ck.references()
    meta = ck.validate(KbSpec, ck.read("kb.yaml"), "kb.yaml")
    sources = ck.sources()
    params = ck.parameters(sources)
    windows: dict[str, float] = {}
    if meta is not None:
        ck.cite(
            meta.freshness.sstr_imaging_sources + meta.freshness.labs_sources,
            sources,
            "kb.yaml.freshness",
        )
        for name in ("sstr_imaging_months", "labs_weeks"):
            windows[name] = ck.window(getattr(meta.freshness, name), name)
    fields = ck.fields()
    ck.derived(sources)
    labels = {p: f["label"] for p, f in fields.items()}
    disagreements = ck.disagreements(sources)
    scope = _Scope(labels, {}, params)
    defs = ck.items(DefinitionSpec, ck.read("definitions.yaml"), "definitions.yaml")
    ck.definitions(defs, scope, "definitions.yaml", sources)
    ctx = _Context(sources, disagreements, labels, scope.definitions)
    options = {}
    for option_id in OPTION_IDS:
        opt = ck.option(option_id, ctx)
        if opt is not None:
            options[option_id] = opt
    from netmdt.trials.load import check_trials

    trials = check_trials(ck, ctx, _Scope(labels, dict(scope.definitions)), reference)
    extra = sorted(p.stem for p in (root / "options").glob("*.yaml") if p.stem not in OPTION_IDS)
    for stem in extra:
        ck.problem(f"options/{stem}.yaml", "not an option id of the case format", "unknown_option")
    for s in sorted(set(sources) - ck.cited):
        ck.problem("sources.yaml", f"source {s!r} is never cited", "unused_source")
    for name in sorted(set(params) - set(ck.used)):
        ck.problem(f"parameters.yaml.{name}", "declared but never used", "unused_parameter")
    if meta is None or (ck.problems and not partial):
        return None, ck.problems
    content = fingerprint(ck.raw)
    parameters = ck.parameter_records()
    local = {p.id: p.value for p in parameters.values() if p.local}
    statuses, summary_statuses = (
        (None, None) if reference else compile_statuses(list(options.values()))
    )
    kb = KnowledgeBase(
        meta.version,
        meta.title,
        meta.updated,
        meta.maintenance,
        meta.funding_statement,
        fingerprint({"content": content, "settings": local}) if local else content,
        sources,
        disagreements,
        fields,
        options,
        windows["sstr_imaging_months"],
        windows["labs_weeks"],
        dict(scope.definitions),
        ck.raw,
        statuses=statuses,
        summary_statuses=summary_statuses,
        trials=trials,
        parameters=parameters,
        content_fingerprint=content,
        references=ck.refs,
    )
    return kb, ck.problems


def parse_filter(kb: KnowledgeBase, text: str) -> Node:
    """A rule expression over case fields (with the shared definitions), e.g. a cohort
    filter; raises ExprError."""
    labels = {p: f["label"] for p, f in kb.fields.items()}
    return parse(text, _Scope(labels, dict(kb.definitions)))


def load_kb(
    root: Path | str | None = None,
    *,
    reference: bool = False,
    settings: dict[str, float] | None = None,
) -> KnowledgeBase:
    """Load the knowledge base (the bundled one by default); raises on any problem.

    ``reference``: evaluate with the reference closures, not generated Python (tests).
    ``settings``: the centre's local values of declared parameters (see ``check_kb``).
    """
    if root is None and not reference:
        return _localised(tuple(sorted((settings or {}).items()))) if settings else _bundled()
    kb, problems = check_kb(
        None if root is None else Path(root), reference=reference, settings=settings
    )
    if kb is None:
        raise KnowledgeBaseError(problems, "bundled knowledge base" if root is None else str(root))
    return kb


@lru_cache(maxsize=8)
def _localised(settings: tuple[tuple[str, float], ...]) -> KnowledgeBase:
    """The bundled knowledge base compiled with a centre's local values (kept: a centre
    has one set of values at a time, and compiling takes a moment)."""
    kb, problems = check_kb(None, settings=dict(settings))
    if kb is None:
        raise KnowledgeBaseError(problems, "bundled knowledge base with local settings")
    if not kb.settings:
        return _bundled()  # every value is the default: the very same knowledge base
    return kb


@cache
def _bundled() -> KnowledgeBase:
    kb, problems = check_kb(None)
    if kb is None:
        raise KnowledgeBaseError(problems, "bundled knowledge base")
    return kb
