"""Benchmark: the mask of the unknown criteria, by the tracer and by ``mask`` alone.

For ``--cases`` synthetic cases (``--seed``), the criteria whose value is unknown (every
option's, every funding rule's, every trial card's): the engine asks only their masks.
Times, per case, three ways to get them, interleaved in one process over ``--rounds``
rounds (each round in a rotated order):

* ``before``: ``trace(facts)[1]`` with the tracer as generated before the masks (the
  value, then a mask that evaluates every operand again; rebuilt here from the same
  tree with ``_old_mask``, and checked equal);
* ``trace``: ``trace(facts)[1]`` with today's tracer (its mask reads the value's locals);
* ``mask``: ``mask(facts)``, the mask alone (no value);
* ``mask*``: ``mask(facts)`` of the criteria whose ``mask_constant`` is None only (a
  caller ORs the constants once per status vector, or leaves them out of a cache key).

Prints the total per case (µs) of each, the best round and the median over rounds.
With ``--engine``, only the criteria the engine asks: every option's relevant and pending
criteria (``_Core.relevant``, ``_Core.pending``: the summary view's calls) and the
unknown criteria of the possibly eligible trial arms (``_Entry.unknown``, the summary
view's trial lines), instead of every unknown one.

    python -m benchmarks.masks [--cases 3000] [--seed 11] [--rounds 7] [--engine]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from netmdt import Case, KnowledgeBase, load_kb
from netmdt.engine.expr import Apply, DefRef, Node
from netmdt.engine.facts import facts_of
from netmdt.engine.ops import IsKnown, _TreatmentFn
from netmdt.engine.pycode import PyGen
from netmdt.synth import synthetic_cases


def _old_mask(node: Node, gen: PyGen) -> str:
    """``py_mask`` as it was: each operand's mask if its ``py_unknown`` (evaluated again)."""
    if isinstance(node, DefRef):
        return _old_mask(node.definition.expr, gen)
    if not isinstance(node, Apply) or isinstance(node.op, IsKnown | _TreatmentFn):
        return node.py_mask(gen)  # unchanged: fields, literals, these ops
    parts = []
    for a in node.args:
        mask = _old_mask(a, gen)
        if mask != "0":
            parts.append(f"({mask} if {a.py_unknown(gen)} else 0)")
    return "(" + " | ".join(parts) + ")" if parts else "0"


def _old_tracers(nodes: list[Node]) -> list[Callable[[Any], tuple[Any, int]]]:
    gen = PyGen()

    def body(node: Node) -> Callable[[], str]:
        return lambda: (
            f"(_r, 0) if (_r := {gen.expr(node)}) is not None else (None, {_old_mask(node, gen)})"
        )

    names = [gen.function(body(n)) for n in nodes]
    namespace = gen.build("tracers before the masks")
    return [namespace[n] for n in names]


def _asked(kb: KnowledgeBase, facts: dict[str, Any]) -> list[Any]:
    """The criteria whose masks the summary view asks on this case (all unknown)."""
    from netmdt.engine.assess import _all_statuses, _plans
    from netmdt.trials.compiled import _NO_LOCAL, _NOWHERE, _entry, _plan

    asked: list[Any] = []
    for plan, values in zip(_plans(kb), _all_statuses(kb, facts), strict=True):
        core = plan.cores.get(values) or plan.core(values)
        if not core.quick:
            asked += core.relevant
            asked += core.pending
    trials = _plan(kb, _NO_LOCAL, _NOWHERE, False)
    statuses = trials.statuses(facts)
    for arm in trials.arms:
        values = statuses[arm.index]
        e = arm.entries.get(values) or _entry(arm, values)
        if e.summary is None:
            asked += e.unknown
    return asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--engine", action="store_true", help="only what the engine asks")
    args = parser.parse_args()
    kb = load_kb()
    items: list[Any] = [c for o in kb.options.values() for c in o.criteria]
    items += [r for o in kb.options.values() for rs in o.funding.values() for r in rs if r.expr]
    items += [c for t in kb.trials.values() for c in t.criteria]
    old = _old_tracers([c.expr for c in items])
    before = {id(c): o for o, c in zip(old, items, strict=True)}
    cases = []
    unknown_total = 0
    for data in synthetic_cases(args.cases, args.seed):
        facts = facts_of(Case.model_validate(data))
        if args.engine:
            asked = _asked(kb, facts)
            unknown = [(before[id(c)], c) for c in asked]
        else:
            unknown = [(o, c) for o, c in zip(old, items, strict=True) if c.trace(facts)[0] is None]
        for o, c in unknown:
            expected = c.trace(facts)
            assert expected[0] is None, "a mask is valid only where the value is unknown"
            assert o(facts) == expected and c.mask(facts) == expected[1]
        unknown_total += len(unknown)
        cases.append(
            (
                facts,
                tuple(o for o, _ in unknown),
                tuple(c.trace for _, c in unknown),
                tuple(c.mask for _, c in unknown),
                tuple(c.mask for _, c in unknown if getattr(c, "mask_constant", None) is None),
            )
        )
    print(
        f"{len(cases)} cases, {len(items)} criteria and rules, "
        f"{unknown_total / len(cases):.1f} unknown per case, "
        f"{sum(len(c[4]) for c in cases) / len(cases):.1f} of them without a constant mask"
    )

    def run_before() -> int:
        t0 = time.perf_counter_ns()
        for facts, tracers, _, _, _ in cases:
            for t in tracers:
                t(facts)[1]
        return time.perf_counter_ns() - t0

    def run_trace() -> int:
        t0 = time.perf_counter_ns()
        for facts, _, tracers, _, _ in cases:
            for t in tracers:
                t(facts)[1]
        return time.perf_counter_ns() - t0

    def run_mask() -> int:
        t0 = time.perf_counter_ns()
        for facts, _, _, masks, _ in cases:
            for m in masks:
                m(facts)
        return time.perf_counter_ns() - t0

    def run_some() -> int:
        t0 = time.perf_counter_ns()
        for facts, _, _, _, masks in cases:
            for m in masks:
                m(facts)
        return time.perf_counter_ns() - t0

    ways = {"before": run_before, "trace": run_trace, "mask": run_mask, "mask*": run_some}
    times: dict[str, list[float]] = {name: [] for name in ways}
    names = list(ways)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(ways[name]() / 1000 / len(cases))
    for name, ts in times.items():
        print(
            f"{name:7} µs per case: best {min(ts):6.2f}  median {statistics.median(ts):6.2f}  "
            f"(rounds: {', '.join(f'{t:.2f}' for t in ts)})"
        )


if __name__ == "__main__":
    main()
