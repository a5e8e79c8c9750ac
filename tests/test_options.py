"""Each option's rules, starting from the empty case (every fact unknown)."""

from __future__ import annotations

import pytest

from netmdt import KnowledgeBase, assess, load_kb, parse_case
from netmdt.engine.expr import Literal
from netmdt.engine.facts import facts_of

KB = load_kb()
EMPTY = facts_of(parse_case({"assessed_on": "2026-11-27"}))


def constant(c: object) -> bool:
    return isinstance(getattr(c, "expr", None), Literal)


@pytest.mark.parametrize("option", list(KB.options))
def test_on_the_empty_case_every_criterion_is_unknown(option: str) -> None:
    """Unknown is never no: a criterion decided without any fact reads absence as a value.
    (A criterion that reads no case field, e.g. clinical_trial's open_trial_here, which
    trial matching decides, is a constant for the case.)"""
    decided = {
        c.id: c.evaluate(EMPTY)
        for c in KB.options[option].criteria
        if not constant(c) and c.reads and c.evaluate(EMPTY) is not None
    }
    assert decided == {}


@pytest.mark.parametrize("option", list(KB.options))
def test_on_the_empty_case_every_funding_rule_is_unknown(option: str) -> None:
    rules = KB.options[option].funding["nhs_england"]
    decided = [
        i
        for i, r in enumerate(rules)
        if r.evaluate is not None
        and not isinstance(r.expr, Literal)
        and r.evaluate(EMPTY) is not None
    ]
    assert decided == []


@pytest.mark.parametrize("option", list(KB.options))
def test_the_empty_case_is_never_positive_and_asks_for_facts(
    option: str, kb: KnowledgeBase
) -> None:
    result = assess(
        parse_case({"assessed_on": "2026-11-27", "context": {"health_system": "nhs_england"}}), kb
    ).option(option)
    caps = [c for c in kb.options[option].groups["recommend_when"] if constant(c)]
    assert result.verdict == "insufficient_information" or (
        result.verdict == "consider"
        and caps == []
        and not kb.options[option].groups["requirements"]
    ), result.verdict
    assert result.missing, "an undecided option must say what to find out"
    assert all(m.how_to_find_out for m in result.missing), [m.field for m in result.missing]
    first = kb.options[option].funding["nhs_england"][0]
    expected = first.pathway if first.expr is None else "unknown"  # unconditional: known
    assert result.funding.pathway == expected
