"""``netmdt.engine.absence``: where the presence of a few facts decides an unknown
criterion's missing facts, the engine keys its records by that presence instead of calling
the tracers. These tests hold the rule against the tracers themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from netmdt import load_kb, parse_case
from netmdt.engine.absence import presence_fields
from netmdt.engine.expr import Definition, Node, Tracer, parse
from netmdt.engine.facts import facts_of
from netmdt.kb.load import _Scope
from netmdt.synth import synthetic_cases
from tests.strategies import case_dicts

HERE = Path(__file__).parent
KB = load_kb()
CASE_FILES = sorted((HERE / "scenarios").glob("*.yaml")) + sorted(
    (HERE.parent / "src/netmdt/examples").glob("*.yaml")
)


def _criteria() -> list[tuple[str, Node, Tracer]]:
    """Every criterion of the options and of the trial cards, with its generated tracer."""
    found = [(f"{o.id}.{c.id}", c.expr, c.trace) for o in KB.options.values() for c in o.criteria]
    found += [
        (f"trial {t.id}.{c.id}", c.expr, c.trace) for t in KB.trials.values() for c in t.criteria
    ]
    return found


CRITERIA = _criteria()
KEYED = [
    (name, fields, trace)
    for name, expr, trace in CRITERIA
    if (fields := presence_fields([expr])) is not None
]


def _facts() -> Iterator[dict[str, Any]]:
    for path in CASE_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        yield facts_of(parse_case(data["case"] if "expect" in data else data))
    for data in synthetic_cases(1500, 31):
        yield facts_of(parse_case(data))


FACTS = list(_facts())


def test_facts_never_hold_none() -> None:
    """'Absent' is 'not in the facts' (the presence key reads ``facts.__contains__``)."""
    assert FACTS
    for facts in FACTS:
        assert [path for path, v in facts.items() if v is None] == []


def test_most_criteria_are_keyed_by_presence() -> None:
    """The rule covers a good share of the knowledge base (else it is not worth keeping)."""
    assert len(KEYED) >= len(CRITERIA) // 3


def test_the_presence_of_its_fields_decides_an_unknown_criterions_missing_facts() -> None:
    """Over every scenario and example and a synthetic cohort: two cases in which a keyed
    criterion is unknown and the same of its fields are present get the same mask."""
    masks: dict[tuple[str, tuple[bool, ...]], int] = {}
    unknown = 0
    for facts in FACTS:
        for name, fields, trace in KEYED:
            value, mask = trace(facts)
            if value is not None:
                continue
            unknown += 1
            key = (name, tuple(map(facts.__contains__, fields)))
            assert masks.setdefault(key, mask) == mask, name
    assert unknown > 10_000  # the check was exercised


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_dicts(), case_dicts())
def test_the_same_presence_gives_the_same_mask_on_random_cases(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    """Two random cases: where a keyed criterion is unknown in both with the same of its
    fields present, the masks are the same."""
    fa, fb = facts_of(parse_case(a)), facts_of(parse_case(b))
    for name, fields, trace in KEYED:
        (va, ma), (vb, mb) = trace(fa), trace(fb)
        if va is None and vb is None and all((p in fa) is (p in fb) for p in fields):
            assert ma == mb, name


def _scope() -> _Scope:
    s = _Scope({})
    s.definitions["nested"] = Definition(
        "nested",
        "a nested junction",
        parse("(tumour.type == net and labs.egfr_ml_min >= 40) or age_years >= 18", s),
    )
    return s


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("labs.egfr_ml_min >= 40", ("labs.egfr_ml_min",)),
        (
            "labs.egfr_ml_min >= 40 and not (tumour.type in [nec, minen])",
            ("labs.egfr_ml_min", "tumour.type"),
        ),
        # a derived fact: its own presence decides whether it is unknown, the case fields
        # it is made of which of them are missing
        (
            "derived.renal_ml_min >= 40 or age_years < 18",
            (
                "age_years",
                "derived.renal_ml_min",
                "labs.creatinine_clearance_ml_min",
                "labs.egfr_ml_min",
            ),
        ),
        ("has_prior(everolimus) or labs.egfr_ml_min is known", ("history.prior_treatments",)),
        (
            "months_since(disease.stable_since) <= 12",
            ("assessed_on", "disease.stable_since"),
        ),
        # an 'and' inside an 'or': whether the 'and' is unknown depends on values
        ("(tumour.type == net and labs.egfr_ml_min >= 40) or age_years >= 18", None),
        ("nested", None),
        ("not nested", None),
    ],
)
def test_which_expressions_are_keyed(text: str, fields: tuple[str, ...] | None) -> None:
    assert presence_fields([parse(text, _scope())]) == fields
