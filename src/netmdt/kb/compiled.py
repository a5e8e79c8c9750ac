"""An option's rules compiled to Python (``netmdt.engine.pycode``) when the knowledge base
loads: one generated module per option holds a function per criterion (its value; its
tracer: the value with the unknown fields that keep it unknown; its mask: those fields
alone, for a criterion already found unknown), warning and funding rule, and
``statuses``, all the criteria at once.

The closures the loader builds first (``Node.compile()``) stay the reference: with
``reference=True`` an option keeps them, which is how the differential tests and the
benchmark's baseline run the same knowledge base both ways.
"""

from __future__ import annotations

import dataclasses

from netmdt.engine.expr import Masker, Tracer
from netmdt.engine.pycode import PyGen
from netmdt.kb.model import AllStatuses, Criterion, Option


def compile_statuses(options: list[Option]) -> tuple[AllStatuses, AllStatuses]:
    """Every option's statuses in one generated function (each field read once); and the
    same for the summary view, gated on ``applies_to``: for an option that does not apply
    (one of its ``applies_to`` criteria false), only those criteria are evaluated and the
    others are None. The summary needs nothing else of such an option: its verdict,
    deciding reason (the first ``applies_to`` criterion unmet), missing facts (none),
    pending checks (none) and funding follow from those alone."""
    gen = PyGen()
    groups = [[c.expr for c in o.criteria] for o in options]
    full = gen.statuses_of_all(groups)
    gates = [[i for i, c in enumerate(o.criteria) if c.group == "applies_to"] for o in options]
    summary = gen.statuses_of_all(groups, gates)
    fns = gen.build("knowledge base")
    return fns[full], fns[summary]


def _with_generated(
    criterion: Criterion, trace: Tracer, mask: Masker, constant: int | None
) -> Criterion:
    object.__setattr__(criterion, "trace", trace)  # derived fields (init=False)
    object.__setattr__(criterion, "mask", mask)
    object.__setattr__(criterion, "mask_constant", constant)
    return criterion


def compile_option(option: Option) -> Option:
    """The same option, evaluated by generated Python instead of closures."""
    gen = PyGen()
    criteria = {
        group: [(gen.evaluator(c.expr), gen.tracer(c.expr), gen.masker(c.expr)) for c in items]
        for group, items in option.groups.items()
    }
    warnings = [None if w.expr is None else gen.evaluator(w.expr) for w in option.warnings]
    funding = {
        system: [
            None
            if r.expr is None
            else (gen.evaluator(r.expr), gen.tracer(r.expr), gen.masker(r.expr))
            for r in rules
        ]
        for system, rules in option.funding.items()
    }
    statuses = gen.statuses([c.expr for c in option.criteria])
    fns = gen.build(f"option {option.id}")
    return dataclasses.replace(
        option,
        groups={
            group: tuple(
                _with_generated(
                    dataclasses.replace(c, evaluate=fns[name]),
                    fns[trace],
                    fns[mask],
                    gen.constant_masks.get(mask),
                )
                for c, (name, trace, mask) in zip(items, criteria[group], strict=True)
            )
            for group, items in option.groups.items()
        },
        warnings=tuple(
            w if name is None else dataclasses.replace(w, evaluate=fns[name])
            for w, name in zip(option.warnings, warnings, strict=True)
        ),
        funding={
            system: tuple(
                r
                if names is None
                else dataclasses.replace(
                    r, evaluate=fns[names[0]], trace=fns[names[1]], mask=fns[names[2]]
                )
                for r, names in zip(rules, funding[system], strict=True)
            )
            for system, rules in option.funding.items()
        },
        statuses=fns[statuses],
    )
