"""The knowledge base compiled to Python equals the reference evaluator (the closures).

Differential: every public scenario and example, seeded synthetic cohorts and Hypothesis
cases; every criterion, option (all statuses at once), warning and funding rule, and the
whole assessment; and wherever a criterion, funding rule or trial card criterion is
unknown, its mask alone (``mask``) equals its tracer's, generated and reference. Kleene
truth tables for the generated ``and``/``or``/``not``. The generated flattener equals the
reference one. And the generator only ever writes
schema paths and ``repr`` literals.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from netmdt import Case, KnowledgeBase, assess, load_kb, parse_case
from netmdt.engine.assess import _plans
from netmdt.engine.expr import Definition, Literal, parse
from netmdt.engine.facts import facts_of, reference_facts_of
from netmdt.engine.pycode import PyGen, compile_nodes, trace_nodes
from netmdt.engine.schema import BOOL, TEXT
from netmdt.kb.load import _Scope
from netmdt.synth import synthetic_cases
from tests.strategies import case_dicts

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "scenarios").glob("*.yaml")) + sorted(
    (HERE.parent / "src/netmdt/examples").glob("*.yaml")
)
KB: KnowledgeBase = load_kb()
REFERENCE: KnowledgeBase = load_kb(reference=True)
T, F, U = True, False, None


def _case_data(path: Path) -> Any:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["case"] if "expect" in data else data


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equal element by element, and the same kind of value (True is not 1)."""
    return len(a) == len(b) and all(
        x == y and type(x) is type(y) for x, y in zip(a, b, strict=True)
    )


def mask_differences(facts: dict[str, Any]) -> tuple[list[str], int]:
    """Where an option's criterion, a funding rule or a trial card's criterion is unknown
    (the only place the callers ask its mask alone), ``mask(facts)`` equals the tracer's
    mask, on generated code and on the reference; and the two tracers agree. Also how
    many unknown ones were checked (a test over none would prove nothing)."""
    found: list[str] = []
    checked = 0
    # name, generated tracer, mask and constant mask (None: none), reference tracer and mask
    pairs: list[tuple[str, Any, Any, int | None, Any]] = []
    for option in KB.options.values():
        ref = REFERENCE.options[option.id]
        for c, rc in zip(option.criteria, ref.criteria, strict=True):
            assert rc.mask_constant is None
            pairs.append(
                (f"{option.id}.{c.id}", c.trace, c.mask, c.mask_constant, (rc.trace, rc.mask))
            )
        for system, rules in option.funding.items():
            for i, (r, rr) in enumerate(zip(rules, ref.funding[system], strict=True)):
                if r.expr is not None:
                    assert rr.expr is not None and rr.trace is None and rr.mask is None
                    reference = rr.expr.tracer()
                    name = f"{option.id}: funding {system}[{i}]"
                    pairs.append((name, r.trace, r.mask, None, (reference, None)))
    for trial in KB.trials.values():
        ref_trial = REFERENCE.trials[trial.id]
        for c, rc in zip(trial.criteria, ref_trial.criteria, strict=True):
            assert rc.mask_constant is None
            name = f"trial {trial.id}.{c.id}"
            pairs.append((name, c.trace, c.mask, c.mask_constant, (rc.trace, rc.mask)))
    for name, trace, mask, constant, (ref_trace, ref_mask) in pairs:
        value, expected = trace(facts)
        if value is not None:
            continue
        checked += 1
        if ref_trace(facts) != (None, expected):
            found.append(f"{name}: reference trace")
        if mask(facts) != expected:
            found.append(f"{name}: mask")
        if constant is not None and constant != expected:
            found.append(f"{name}: constant mask")
        if ref_mask is not None and ref_mask(facts) != expected:
            found.append(f"{name}: reference mask")
    return found, checked


def _gated(option: Any, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The summary's statuses of an option: where an ``applies_to`` criterion is false,
    those criteria's values and None for the others; else every value."""
    gate = [c.group == "applies_to" for c in option.criteria]
    if not any(g and v is False for g, v in zip(gate, values, strict=True)):
        return values
    return tuple(v if g else None for g, v in zip(gate, values, strict=True))


def differences(case: Case) -> list[str]:
    """Every place where generated Python and the reference closures disagree on a case."""
    facts = facts_of(case)
    reference = reference_facts_of(case)
    reference.pop("derived", None)  # the cached Derived object itself, never a rule's fact
    found = [] if facts == reference else ["facts_of"]
    assert KB.statuses is not None and REFERENCE.statuses is None
    assert KB.summary_statuses is not None and REFERENCE.summary_statuses is None
    all_at_once = KB.statuses(facts)
    for_summary = KB.summary_statuses(facts)
    plans = {plan.option.id: plan for plan in _plans(KB)}
    for option in KB.options.values():
        ref = REFERENCE.options[option.id]
        assert option.statuses is not None and ref.statuses is not None
        expected = tuple(c.expr.compile()(facts) for c in ref.criteria)
        if not _same(tuple(option.statuses(facts)), expected):
            found.append(f"{option.id}: statuses")
        if not _same(all_at_once[list(KB.options).index(option.id)], expected):
            found.append(f"{option.id}: the knowledge base's statuses")
        if not _same(for_summary[list(KB.options).index(option.id)], _gated(option, expected)):
            found.append(f"{option.id}: the summary's statuses")
        if not _same(tuple(e(facts) for e in option.evaluators), expected):
            found.append(f"{option.id}: criteria")
        if not _same(tuple(ref.statuses(facts)), expected):
            found.append(f"{option.id}: reference statuses")
        for c in option.criteria:  # the value and the unknown fields keeping it unknown
            if c.trace(facts) != c.expr.tracer()(facts):
                found.append(f"{option.id}: trace of {c.id}")
        for w, rw in zip(option.warnings, ref.warnings, strict=True):
            if (w.evaluate is None) != (rw.evaluate is None) or (
                w.evaluate is not None
                and rw.evaluate is not None
                and not _same((w.evaluate(facts),), (rw.evaluate(facts),))
            ):
                found.append(f"{option.id}: warning {w.id}")
        shown = tuple(w.evaluate is None or w.evaluate(facts) is True for w in ref.warnings)
        if plans[option.id].shown(facts) != shown:  # one generated call for all warnings
            found.append(f"{option.id}: warnings shown")
        for system, rules in option.funding.items():
            for i, (r, rr) in enumerate(zip(rules, ref.funding[system], strict=True)):
                if (r.evaluate is None) != (rr.evaluate is None) or (
                    r.evaluate is not None
                    and rr.evaluate is not None
                    and not _same((r.evaluate(facts),), (rr.evaluate(facts),))
                ):
                    found.append(f"{option.id}: funding {system}[{i}]")
    found += mask_differences(facts)[0]
    return found


def test_the_knowledge_base_runs_on_generated_code_and_the_reference_on_closures() -> None:
    for plan in _plans(KB):
        if plan.option.warnings:
            assert plan.shown.__code__.co_filename.startswith("<netmdt option ")
    for plan in _plans(REFERENCE):
        assert not plan.shown.__code__.co_filename.startswith("<netmdt")
    for option in KB.options.values():
        for c in option.criteria:
            assert c.evaluate.__code__.co_filename.startswith("<netmdt option ")
            assert c.trace.__code__.co_filename.startswith("<netmdt option ")
            assert c.mask.__code__.co_filename.startswith("<netmdt option ")
        for rules in option.funding.values():
            for r in rules:
                if r.expr is not None:
                    assert r.mask is not None
                    assert r.mask.__code__.co_filename.startswith("<netmdt option ")
        ref = REFERENCE.options[option.id]
        for c in ref.criteria:
            assert not c.evaluate.__code__.co_filename.startswith("<netmdt")
            assert not c.mask.__code__.co_filename.startswith("<netmdt")
    for trial in KB.trials.values():
        for tc in trial.criteria:
            assert tc.mask.__code__.co_filename.startswith("<netmdt trial ")
        for tc in REFERENCE.trials[trial.id].criteria:
            assert not tc.mask.__code__.co_filename.startswith("<netmdt")


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_scenario_and_example_evaluates_the_same(path: Path) -> None:
    case = parse_case(_case_data(path))
    assert differences(case) == []
    assert assess(case, KB) == assess(case, REFERENCE)


@pytest.mark.parametrize("seed", [1, 2026])
def test_synthetic_cohorts_evaluate_the_same(seed: int) -> None:
    for data in synthetic_cases(300, seed):
        case = parse_case(data)
        assert (case.id, differences(case)) == (case.id, [])
        assert assess(case, KB) == assess(case, REFERENCE)


def test_masks_are_checked_on_many_unknown_criteria() -> None:
    """The mask differential is not vacuous: the scenarios and a synthetic cohort leave
    hundreds of criteria, funding rules and trial criteria unknown, each checked."""
    checked = 0
    for path in CASE_FILES:
        found, n = mask_differences(facts_of(parse_case(_case_data(path))))
        assert (path.stem, found) == (path.stem, [])
        checked += n
    for data in synthetic_cases(100, 7):
        found, n = mask_differences(facts_of(parse_case(data)))
        assert found == []
        checked += n
    assert checked > 1000
    constants = [c for o in KB.options.values() for c in o.criteria if c.mask_constant is not None]
    constants += [c for t in KB.trials.values() for c in t.criteria if c.mask_constant is not None]
    assert len(constants) > 50  # single fields, mostly: their bit


@given(case_dicts())
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_random_cases_evaluate_the_same(data: dict[str, Any]) -> None:
    case = Case.model_validate(data)
    assert differences(case) == []
    assert assess(case, KB) == assess(case, REFERENCE)


# --------------------------------------------------------------- Kleene tables

VALUE = {"T": T, "F": F, "U": U}
FIELDS = ("pregnant", "breastfeeding", "disease.liver_dominant")


def _kleene_and(values: tuple[bool | None, ...]) -> bool | None:
    return False if F in values else None if U in values else True


def _kleene_or(values: tuple[bool | None, ...]) -> bool | None:
    return True if T in values else None if U in values else False


@pytest.mark.parametrize("n", [1, 2, 3])
def test_generated_and_or_not_follow_the_kleene_tables(n: int) -> None:
    scope = _Scope({})
    fields = FIELDS[:n]
    texts = {
        "and": " and ".join(f"{f} == true" for f in fields),
        "or": " or ".join(f"{f} == true" for f in fields),
        "not": f"not ({fields[0]} == true)",
        "and-not": " and ".join(f"not ({f} == false)" for f in fields),
        "or-compare": " or ".join(f"{f} != false" for f in fields),
    }
    nodes = {name: parse(text, scope) for name, text in texts.items()}
    generated = dict(zip(nodes, compile_nodes(list(nodes.values()), "kleene"), strict=True))
    traced = dict(zip(nodes, trace_nodes(list(nodes.values()), "kleene"), strict=True))
    table = {}
    for cells in itertools.product("TFU", repeat=n):
        values = tuple(VALUE[c] for c in cells)
        facts = {f: v for f, v in zip(fields, values, strict=True) if v is not None}
        row = {name: fn(facts) for name, fn in generated.items()}
        assert row == {name: nodes[name].compile()(facts) for name in nodes}
        for name, tracer in traced.items():
            assert tracer(facts) == nodes[name].tracer()(facts)
        table["".join(cells)] = row
    expected = {
        "".join(cells): {
            "and": _kleene_and(tuple(VALUE[c] for c in cells)),
            "or": _kleene_or(tuple(VALUE[c] for c in cells)),
            "not": None if cells[0] == "U" else cells[0] == "F",
            "and-not": _kleene_and(tuple(VALUE[c] for c in cells)),
            "or-compare": _kleene_or(tuple(VALUE[c] for c in cells)),
        }
        for cells in itertools.product("TFU", repeat=n)
    }
    assert table == expected
    for row in table.values():  # three-valued: exactly True, False or None
        assert all(v is True or v is False or v is None for v in row.values())


def test_a_definition_used_by_several_criteria_is_computed_once_in_the_statuses() -> None:
    """``statuses_of_all`` computes a definition used more than once at the top, once;
    two different definitions with the same name (an option's own) stay apart; and every
    value equals the closures' over the whole truth table of the fields read."""
    first, second = _Scope({}), _Scope({})
    first.definitions["d"] = Definition(
        "d", "d", parse("not (disease.extrahepatic_metastases is empty)", first)
    )
    second.definitions["d"] = Definition("d", "d", parse("pregnant == true", second))
    groups = [
        [parse("d or breastfeeding == true", first), parse("d and pregnant == false", first)],
        [parse("not d", first), parse("d or disease.liver_dominant == true", second)],
    ]
    gen = PyGen()
    name = gen.statuses_of_all(groups)
    fn = gen.build("shared definitions")[name]
    assert gen.source().count("len(") == 1  # the shared definition's test, written once
    for cells in itertools.product("TFU", repeat=4):
        pregnant, breastfeeding, liver_dominant, extrahepatic = (VALUE[c] for c in cells)
        facts: dict[str, Any] = {
            k: v
            for k, v in {
                "pregnant": pregnant,
                "breastfeeding": breastfeeding,
                "disease.liver_dominant": liver_dominant,
                "disease.extrahepatic_metastases": None
                if extrahepatic is None
                else (["bone"] if extrahepatic else []),
            }.items()
            if v is not None
        }
        expected = tuple(tuple(n.compile()(facts) for n in nodes) for nodes in groups)
        assert fn(facts) == expected, cells


def test_a_gated_row_evaluates_the_rest_only_where_no_gate_is_false() -> None:
    """``statuses_of_all`` with gates (the summary's statuses, gated on ``applies_to``):
    over the whole truth table of two gates and a third field, where a gate is false the
    row is the gates' values and None elsewhere, else every value; a row without gates
    is unchanged."""
    scope = _Scope({})
    gated = [
        parse("pregnant == true", scope),
        parse("breastfeeding != false or pregnant == true", scope),
        parse("disease.liver_dominant == true", scope),
    ]
    plain = [parse("pregnant == false", scope)]
    gen = PyGen()
    name = gen.statuses_of_all([gated, plain], [[0, 2], []])
    fn = gen.build("gated")[name]
    seen = set()
    for cells in itertools.product("TFU", repeat=3):
        facts = {f: VALUE[c] for f, c in zip(FIELDS, cells, strict=True) if c != "U"}
        values = tuple(n.compile()(facts) for n in gated)
        short = values[0] is False or values[2] is False
        seen.add(short)
        expected = (values[0], None, values[2]) if short else values
        assert fn(facts) == (expected, (plain[0].compile()(facts),)), cells
    assert seen == {True, False}


# ---------------------------------------------------------- what may be written


def test_literals_are_written_with_repr_and_fields_only_from_the_schema() -> None:
    gen = PyGen()
    hostile = "x') or __import__('os').system('echo owned') or ('"
    node = parse(f'tumour.type == net and "{hostile}" == "{hostile}"', _Scope({}))
    (fn,) = compile_nodes([node], "hostile")
    assert fn({"tumour.type": "net"}) is True
    assert gen.literal(hostile) == repr(hostile)
    assert Literal(hostile, TEXT).py(gen) == repr(hostile)
    assert Literal(True, BOOL).py(gen) == "True"
    with pytest.raises(ValueError, match="not a field of the case schema"):
        gen.field("tumour.type; import os")
    with pytest.raises(ValueError, match="not a field of the case schema"):
        gen.field("no_such.field")
    with pytest.raises(ValueError, match="not a finite number"):
        gen.literal(float("nan"))
    with pytest.raises(ValueError, match="not a literal"):
        gen.literal(object())


def test_generated_source_shows_in_tracebacks() -> None:
    import linecache

    option = KB.options["everolimus"]
    code = option.criteria[0].evaluate.__code__
    lines = linecache.getlines(code.co_filename)
    assert lines[code.co_firstlineno - 1].startswith("def _f")
