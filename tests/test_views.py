"""The two views of an assessment, and that the faster engine did not change an answer.

* The full view equals the engine as it was before issue 16 (``benchmarks/baseline.py``
  on the reference closures), on every scenario and example, synthetic cohorts and
  Hypothesis cases: same verdicts, reasons, missing facts, pending checks, counterfactuals,
  warnings and funding.
* The summary view the engine builds directly equals the summary of the full view
  (``summarize``), and its deciding reason follows the documented rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmarks import baseline
from hypothesis import HealthCheck, given, settings

from netmdt import Case, KnowledgeBase, assess, load_kb, parse_case
from netmdt.assessment import AssessmentSummary
from netmdt.engine import assess as engine
from netmdt.engine.assess import assess_summary, assess_view, summarize
from netmdt.synth import synthetic_cases
from tests.strategies import case_dicts

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "scenarios").glob("*.yaml")) + sorted(
    (HERE.parent / "src/netmdt/examples").glob("*.yaml")
)
KB: KnowledgeBase = load_kb()
REFERENCE: KnowledgeBase = load_kb(reference=True)


def _case_data(path: Path) -> Any:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["case"] if "expect" in data else data


def check(case: Case) -> None:
    full = assess(case, KB)
    assert full == baseline.assess(case, REFERENCE)
    summary = assess_summary(case, KB)
    assert summary == summarize(full)
    assert assess_view(case, KB, "summary") == summary
    assert assess_view(case, KB, "full") == full
    assert AssessmentSummary.model_validate_json(summary.model_dump_json()) == summary
    assert AssessmentSummary.model_validate_json(summary.to_json()) == summary


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_scenario_and_example(path: Path) -> None:
    check(parse_case(_case_data(path)))


@pytest.mark.parametrize("seed", [3, 2027])
def test_synthetic_cohorts(seed: int) -> None:
    for data in synthetic_cases(250, seed):
        check(parse_case(data))


@given(case_dicts())
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_random_cases(data: dict[str, Any]) -> None:
    check(Case.model_validate(data))


def test_the_summary_of_a_case_whole() -> None:
    """One case's summary, asserted whole for two options (the empty case: all unknown)."""
    summary = assess_summary(parse_case({"assessed_on": "2026-11-27"}), KB)
    assert summary.view == "summary"
    assert summary.knowledge_base.fingerprint == KB.fingerprint
    by_id = {o.option: o for o in summary.options}
    assert list(by_id) == list(KB.options)
    surgery = by_id["surgery_curative"].model_dump()
    first_unknown = next(c for c in KB.options["surgery_curative"].criteria)
    assert surgery["verdict"] == "insufficient_information"
    assert surgery["deciding"]["criterion"] == first_unknown.id
    assert surgery["deciding"]["status"] == "unknown"
    assert surgery["funding"]["pathway"] == "unknown"
    assert surgery["deciding"]["text"] == first_unknown.text
    assert surgery["missing"] == sorted(surgery["missing"]) != []
    full = assess(parse_case({"assessed_on": "2026-11-27"}), KB).option("surgery_curative")
    assert surgery["pending_checks"] == [p.model_dump() for p in full.pending_checks]
    assert surgery["missing"] == [m.field for m in full.missing]
    assert surgery["funding"] == {
        "pathway": "unknown",
        "registry_status": None,
        "missing": ["context.health_system"],
    }
    assert set(surgery) == {"option", "verdict", "deciding", "missing", "pending_checks", "funding"}
    assert [i.field for i in summary.next_investigations] == [
        i.field for i in assess(parse_case({"assessed_on": "2026-11-27"}), KB).next_investigations
    ]


def test_deciding_reason_follows_the_verdict() -> None:
    """Over a synthetic cohort: the deciding reason's group and status match the verdict."""
    allowed = {
        "not_recommended": {
            ("applies_to", "unmet"),
            ("requirements", "unmet"),
            ("before_treatment", "unmet"),
        },
        "contraindicated": {("contraindications", "unmet"), ("before_treatment", "unmet")},
        "insufficient_information": {
            ("applies_to", "unknown"),
            ("contraindications", "unknown"),
            ("requirements", "unknown"),
        },
        "consider": {
            ("recommend_when", "unmet"),
            ("recommend_when", "unknown"),
            ("before_treatment", "unmet"),
        },
    }
    seen = set()
    group = {(o.id, c.id): c.group for o in KB.options.values() for c in o.criteria}
    for data in synthetic_cases(300, 11):
        for o in assess_summary(parse_case(data), KB).options:
            if o.verdict == "recommended":
                assert o.deciding is None
                continue
            assert o.deciding is not None, (o.option, o.verdict)
            decided_by = (group[o.option, o.deciding.criterion], o.deciding.status)
            assert decided_by in allowed[o.verdict]
            seen.add(o.verdict)
    assert seen == set(allowed)


def test_answers_from_the_caches_equal_answers_built_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine keeps what it built per option (by status vector, then by what the case
    adds: the funding answer, the unknown fields, the warnings shown). A cohort assessed
    twice (the second time from those records), and again with the caches so small that
    they are cleared over and over, gives the engine's answers as they were before issue
    16, every time."""
    engine._plans.cache_clear()  # fresh records (other tests may have filled the bounds)
    cases = [parse_case(d) for d in synthetic_cases(150, 41)]
    expected = [baseline.assess(c, REFERENCE) for c in cases]
    first = [assess(c, KB) for c in cases]
    again = [assess(c, KB) for c in cases]
    assert first == again == expected
    # the second pass did come from the records: the same objects, but for a funding
    # answer that depends on unknown facts (never kept) and the named clinical-trial option
    kept = [
        a is b
        for x, y in zip(first, again, strict=True)
        for a, b in zip(x.options, y.options, strict=True)
        if a.option != "clinical_trial"
        and (a.funding.pathway != "unknown" or a.funding.missing == ["context.health_system"])
    ]
    assert kept and all(kept)
    summaries = [assess_summary(c, KB) for c in cases]
    assert summaries == [assess_summary(c, KB) for c in cases] == [summarize(e) for e in expected]
    monkeypatch.setattr(engine, "CORES_KEPT", 30)
    monkeypatch.setattr(engine, "RECORDS_KEPT", 40)
    monkeypatch.setattr(engine, "RECORDS_PER_CORE", 1)
    engine._plans.cache_clear()
    try:
        assert [assess(c, KB) for c in cases] == expected
        assert [assess_summary(c, KB) for c in cases] == summaries
        plans = engine._plans(KB)
        # every knowledge base's plans together: 30 vectors (one more may be added after
        # the check), 40 records, one per view and vector
        assert sum(len(p.cores) for p in engine._Budget.plans) <= 31
        kept = sum(
            len(c.records) + len(c.summaries) + len(c.by_system) + len(c.records_by_system)
            for p in plans
            for c in p.cores.values()
        )
        assert kept <= 40
        assert max(len(c.records) for p in plans for c in p.cores.values()) <= 1
    finally:
        engine._plans.cache_clear()


def test_records_are_kept_only_by_funding_answers_that_are_kept() -> None:
    """Records are kept by the id of their funding answer, which is safe only while that
    answer lives: every answer used as a key is held for good, and an answer that depends
    on unknown facts (built per case) is never one."""
    engine._plans.cache_clear()
    for data in synthetic_cases(100, 43):
        case = parse_case(data)
        assess(case, KB)
        assess_summary(case, KB)
    for plan in engine._plans(KB):
        for core in plan.cores.values():
            for key in core.records:
                funding_id = key if isinstance(key, int) else key[0]
                assert engine._KEPT[funding_id] is not None
            for key in core.summaries:
                summary_id = key if isinstance(key, int) else key[0]
                assert summary_id in {id(s) for _, s in engine._FIXED_SUMMARY.values()}
            # kept by health system: a quick core whose funding that system alone decides
            for system, summary in core.by_system.items():
                assert core.quick
                fixed = engine._DOES_NOT_APPLY if core.does_not_apply else plan.funding[system]
                assert fixed is not None and summary.funding is engine._fixed_summary(fixed)
            for system, (record, cited) in core.records_by_system.items():
                assert core.quick and not core.in_play
                fixed = engine._DOES_NOT_APPLY if core.does_not_apply else plan.funding[system]
                assert record.funding is fixed and list(cited) == fixed.sources
        for found in plan.funding.values():
            assert found is None or engine._is_fixed(found)
    unknown = engine._unknown_funding(
        next(iter(KB.options["everolimus"].funding["nhs_england"])), ["labs.alt_x_uln"]
    )
    assert not engine._is_fixed(unknown)


def test_a_funding_rule_unknown_with_no_field_to_name_stays_unknown() -> None:
    """A funding rule can be unknown while its tracer names no absent case field (a derived
    fact absent although the fields it is made of are present: here the GEP primary). The
    answer is then 'unknown' (the baseline's), never the rule's pathway as if it held."""
    facts: dict[str, Any] = {
        "context.health_system": "nhs_england",
        "tumour.type": "net",
        "tumour.primary_site": "jejunum_ileum",  # derived.gep_primary left out
        "disease.progression": "stable",
        "history.prior_treatments": [],
    }
    for kb in (KB, REFERENCE):
        option = kb.options["prrt_lu177_dotatate"]
        rule = option.funding["nhs_england"][2]
        assert rule.evaluate is not None and rule.evaluate(facts) is None
        expected = baseline._funding(REFERENCE.options[option.id], facts, False)
        assert expected.pathway == "unknown" and expected.missing == []
        assert engine._funding(option, facts, False) == expected
        summary, kept = engine._funding_summary(option, facts, False)
        assert summary == engine._funding_summary_of(expected) and not kept
