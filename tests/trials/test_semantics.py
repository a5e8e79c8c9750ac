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
from netmdt.engine.schema import DERIVED
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.trials.match import match_trials
from tests.strategies import ASSESSED_ON, case_dicts

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


# Fields that feed one derived fact (``netmdt.engine.schema.DERIVED``, so a new source
# of a derived fact is linked here too): removing one while another is present changes the
# data, it is not the learning of a missing fact. E.g. the effective grade is the highest of
# grade, Ki-67 and mitoses recorded, but a thoracic carcinoid subtype stands for the grade
# whatever the mitoses (WHO thoracic): with 21 mitoses per 2 mm² a case is G3 without its
# subtype and G1 as a typical carcinoid.
LINKED = [set(reads) for _, reads, _ in DERIVED.values() if len(reads) > 1]


def _removable(leaves: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    present = {".".join(p) for p in leaves}
    return [
        p
        for p in leaves
        if not any(".".join(p) in g and (g - {".".join(p)}) & present for g in LINKED)
    ]


def test_a_thoracic_subtype_is_linked_to_the_grade_sources(trial_kb: KnowledgeBase) -> None:
    """The case the property below found (Hypothesis seed 8, before the subtype was
    linked): dropping the subtype while the mitoses stay changes a definite verdict."""
    case = {
        "assessed_on": ASSESSED_ON,
        "tumour": {"mitotic_count_per_2mm2": 21.0, "lung_subtype": "typical_carcinoid"},
    }
    subtype = ("tumour", "lung_subtype")
    assert _verdicts(trial_kb, case) != _verdicts(trial_kb, _without(case, [subtype]))
    assert subtype not in _removable(_leaves(case))


@st.composite
def cases_with_unknowns(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """A case and some of its removable facts (each with probability 1/2), left unknown.
    One draw per fact, so the failing example shows which facts were dropped and
    shrinks towards dropping fewer."""
    data = draw(case_dicts())
    leaves = _removable(_leaves(data))
    drop = draw(st.lists(st.booleans(), min_size=len(leaves), max_size=len(leaves)))
    return data, [p for p, d in zip(leaves, drop, strict=True) if d]


def test_learning_a_fact_never_reverses_a_definite_trial_verdict(
    trial_kb: KnowledgeBase,
) -> None:
    # The knowledge base is not an argument of the Hypothesis test: Hypothesis shows the
    # failing call's arguments, and the repr of a knowledge base (megabytes) raises
    # "Generating overly large repr" (a warning, an error here), before the test body, so
    # a real failure was reported as FlakyStrategyDefinition ("stopped drawing earlier").
    @settings(max_examples=150, deadline=None)
    @given(case=cases_with_unknowns())
    def learning(case: tuple[dict[str, Any], list[tuple[str, ...]]]) -> None:
        data, unknown = case
        full = _verdicts(trial_kb, data)
        for key, verdict in _verdicts(trial_kb, _without(data, unknown)).items():
            if verdict != "possibly_eligible":
                assert full[key] == verdict, (key, verdict, full[key])

    learning()
