"""Three-valued semantics at every numeric threshold of every shipped trial card, and
Kleene monotonicity of the trial verdicts (research memo D.A check 4)."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netmdt.case import Case
from netmdt.engine.expr import Apply, DefRef, FieldRef, Literal, Node
from netmdt.engine.facts import facts_of
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.trials.match import match_trials
from tests.strategies import case_dicts

PYOPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def thresholds(node: Node) -> Iterator[tuple[Apply, str, str, float]]:
    """Every ``FIELD OP NUMBER`` comparison in an expression (through definitions)."""
    if isinstance(node, DefRef):
        yield from thresholds(node.definition.expr)
    elif isinstance(node, Apply):
        a = node.args
        if (
            node.op.name in PYOPS
            and len(a) == 2
            and isinstance(a[0], FieldRef)
            and isinstance(a[1], Literal)
            and isinstance(a[1].value, int | float)
        ):
            yield node, node.op.name, a[0].info.path, float(a[1].value)
        for arg in a:
            yield from thresholds(arg)


def test_every_threshold_of_every_shipped_trial_is_three_valued() -> None:
    kb = load_kb()
    checked = 0
    for trial in kb.trials.values():
        for c in trial.criteria:
            for node, op, path, limit in thresholds(c.expr):
                fn = node.compile()
                for value in (limit - 0.5, limit, limit + 0.5):
                    assert fn({path: value}) is PYOPS[op](value, limit), (trial.id, c.id, value)
                assert fn({}) is None, (trial.id, c.id, "unknown")
                checked += 1
    assert checked >= 3  # the seed cards alone have age and Ki-67 limits


def _leaves(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in data.items():
        if key == "assessed_on":
            continue
        if isinstance(value, dict) and value:
            out += _leaves(value, (*prefix, key))
        else:
            out.append((*prefix, key))
    return out


def _without(data: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    for path in paths:
        node = out
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1], None)
    return out


def _verdicts(kb: KnowledgeBase, data: dict[str, Any]) -> dict[tuple[str, str | None], str]:
    facts = facts_of(Case.model_validate(data))
    return {(m.trial, m.arm): m.verdict for m in match_trials(kb, facts, include_closed=True)}


# Fields that feed one derived fact (as in tests/test_properties.py): removing one while
# another is present changes the data (e.g. the effective grade is the highest of grade,
# Ki-67 and mitoses recorded), it is not the learning of a missing fact.
LINKED = [
    {"labs.creatinine_clearance_ml_min", "labs.egfr_ml_min"},
    {"performance.ecog", "performance.karnofsky"},
    {"tumour.grade", "tumour.ki67_percent", "tumour.mitotic_count_per_2mm2"},
    {"tumour.type", "tumour.lung_subtype", "tumour.nec_subtype", "tumour.primary_site"},
]


def _removable(leaves: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    present = {".".join(p) for p in leaves}
    return [
        p
        for p in leaves
        if not any(".".join(p) in g and (g - {".".join(p)}) & present for g in LINKED)
    ]


@settings(max_examples=150, deadline=None)
@given(data=case_dicts(), drop=st.randoms(use_true_random=False))
def test_learning_a_fact_never_reverses_a_definite_trial_verdict(
    trial_kb: KnowledgeBase, data: dict[str, Any], drop: Any
) -> None:
    leaves = _removable(_leaves(data))
    partial = _without(data, [p for p in leaves if drop.random() < 0.5])
    full = _verdicts(trial_kb, data)
    for key, verdict in _verdicts(trial_kb, partial).items():
        if verdict != "possibly_eligible":
            assert full[key] == verdict, (key, verdict, full[key])
