"""Trial matching on generated Python (``netmdt.trials.compiled``) equals the reference
(``match_trials_reference``: each criterion's own evaluator, every record built per
case), for whole trial results: every public scenario and example, the trial test cards,
seeded synthetic cohorts and Hypothesis cases; with and without closed cards, our centre
and a place; the summary view's trials; and each layer of a centre's knowledge base
(local settings, trials opened here, registry status) gets its own plan, never a stale one.
"""

from __future__ import annotations

import dataclasses
import linecache
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, computed_field

from netmdt import Case, parse_case
from netmdt.assessment import TrialMatch
from netmdt.engine.assess import (
    _trial_summaries,
    _trial_summary_list,
    _trials,
    assess,
    assess_summary,
    summarize,
)
from netmdt.engine.facts import facts_of
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.registry.status import centre_kb
from netmdt.synth import synthetic_cases
from netmdt.trials import compiled
from netmdt.trials.compiled import (
    compiled_statuses,
    match_trials_compiled,
    trial_summaries_compiled,
)
from netmdt.trials.local import localised
from netmdt.trials.match import Local, Where, match_trials, match_trials_reference
from tests.strategies import case_dicts

HERE = Path(__file__).parent.parent
CASE_FILES = sorted((HERE / "scenarios").glob("*.yaml")) + sorted(
    (HERE.parent / "src/netmdt/examples").glob("*.yaml")
)
BUNDLED = load_kb()
REFERENCE = load_kb(reference=True)
CENTRE = Local(centre=("Royal Free Hospital",), open_here=frozenset({"t_soon", "compose"}))
PLACE = Where(51.5530, -0.1650)
ON = date(2026, 11, 27)
VARIANTS: list[dict[str, Any]] = [
    {},
    {"include_closed": True},
    {"local": CENTRE, "where": PLACE, "include_closed": True},
    {"local": CENTRE, "only": ["t_compose", "radiant2"]},
]


def _case_data(path: Path) -> Any:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["case"] if "expect" in data else data


def _json(records: Iterable[BaseModel]) -> list[str]:
    return [r.model_dump_json() for r in records]


def _fields_sets(matches: list[TrialMatch]) -> list[Any]:
    """Each record's and reason's set of fields set (``exclude_unset`` dumps follow it)."""
    return [(m.model_fields_set, [r.model_fields_set for r in m.reasons]) for m in matches]


def differences(kb: KnowledgeBase, case: Case) -> list[str]:
    """Where the compiled matcher and the reference disagree on one case."""
    found = []
    for kw in VARIANTS:
        got = match_trials_compiled(kb, facts_of(case), **kw)
        ref = match_trials_reference(kb, facts_of(case), **kw)
        if got != ref:
            found.append(f"match {kw}")
        if _json(got) != _json(ref):  # as text: 1, 1.0, true and -0.0 differ
            found.append(f"match {kw} (json)")
        if _fields_sets(got) != _fields_sets(ref):
            found.append(f"match {kw} (fields set)")
    for local in (None, CENTRE):
        summaries, here = trial_summaries_compiled(kb, facts_of(case), local=local)
        ref = match_trials_reference(kb, facts_of(case), local=local)
        if _json(summaries) != _json(_trial_summaries(ref)):
            found.append(f"summary {local}")
        if here != {m.verdict for m in ref if m.open_here}:
            found.append(f"open here {local}")
    return found


@pytest.fixture(scope="module")
def centre_kb_trials(trial_kb: KnowledgeBase) -> KnowledgeBase:
    return localised(trial_kb, CENTRE)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_scenario_and_example_matches_the_same(
    path: Path, trial_kb: KnowledgeBase, centre_kb_trials: KnowledgeBase
) -> None:
    case = parse_case(_case_data(path))
    assert differences(trial_kb, case) == []
    assert differences(BUNDLED, case) == []
    # the whole assessment on the centre's knowledge base, both views
    assert assess(case, localised(BUNDLED, CENTRE)) == assess(case, localised(REFERENCE, CENTRE))
    assert assess_summary(case, centre_kb_trials) == summarize(assess(case, centre_kb_trials))


def test_the_trial_fixtures_match_the_same(trial_kb: KnowledgeBase) -> None:
    """The cases of tests/trials (ki67 at its bounds, prior PRRT, arms, ages, sexes)."""
    on = date(2026, 11, 27)
    prrt = {"therapy": "prrt_lu177_dotatate", "cycles": 4, "end": "2022-05-01"}
    cases: list[dict[str, Any]] = [
        {"assessed_on": on, "age_years": age, "sex": sex, "tumour": {"ki67_percent": ki67}}
        for age in (17, 18, 60, 80, 81)
        for sex in ("female", "male")
        for ki67 in (14.9, 15, 55, 55.1)
    ]
    cases += [
        {"assessed_on": on, "age_years": 60, "history": {"prior_treatments": []}},
        {"assessed_on": on, "age_years": 60, "history": {"prior_treatments": [prrt]}},
        {"assessed_on": on},
        {"assessed_on": date(2030, 1, 1), "age_years": 60},  # stale cards
    ]
    for data in cases:
        case = Case.model_validate(data)
        assert (data, differences(trial_kb, case)) == (data, [])


@pytest.mark.parametrize("seed", [3, 2026])
def test_synthetic_cohorts_match_the_same(seed: int, trial_kb: KnowledgeBase) -> None:
    for data in synthetic_cases(150, seed):
        case = parse_case(data)
        assert (case.id, differences(trial_kb, case)) == (case.id, [])


@given(data=case_dicts())
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_random_cases_match_the_same(data: dict[str, Any], trial_kb: KnowledgeBase) -> None:
    case = Case.model_validate(data)
    assert differences(trial_kb, case) == []


def test_the_knowledge_base_matches_on_generated_code_and_the_reference_does_not(
    trial_kb: KnowledgeBase, trial_kb_reference: KnowledgeBase
) -> None:
    fn = compiled_statuses(tuple(trial_kb.trials.values()))
    assert fn.__code__.co_filename.startswith("<netmdt trial cards ")
    case = Case.model_validate({"assessed_on": date(2026, 11, 27), "age_years": 60})
    facts = facts_of(case)
    assert match_trials(trial_kb, facts) == match_trials_compiled(trial_kb, facts)
    assert match_trials(trial_kb_reference, facts) == match_trials_reference(
        trial_kb_reference, facts
    )


def test_the_generated_source_holds_no_card_text(trial_kb: KnowledgeBase) -> None:
    """Identifiers from the case schema and literals with repr only: a card's words
    (text, quote, title) never become source."""
    fn = compiled_statuses(tuple(trial_kb.trials.values()))
    source = "".join(linecache.getlines(fn.__code__.co_filename))
    assert source
    for trial in trial_kb.trials.values():
        assert trial.card.title not in source
        for c in trial.criteria:
            assert c.text not in source
            assert c.quote not in source


def test_each_layer_of_a_centre_knowledge_base_has_its_own_answer(
    trial_kb: KnowledgeBase,
) -> None:
    """The plan follows the knowledge-base object: opening a trial here, the registry
    status, local settings and a knowledge base with other cards are never answered
    from another layer's plan."""
    case = Case.model_validate({"assessed_on": date(2026, 11, 27), "age_years": 60})
    facts = facts_of(case)

    def here(kb: KnowledgeBase) -> set[str]:
        return {m.trial for m in match_trials(kb, facts, local=kb.trials_local) if m.open_here}

    assert here(trial_kb) == set()
    opened = localised(trial_kb, Local(open_here=frozenset({"t_soon"})))
    assert here(opened) == {"t_soon"}
    assert here(trial_kb) == set()  # the base is not touched by the layer above
    registry = centre_kb(opened, "open")
    assert registry is not opened and here(registry) == {"t_soon"}
    settled = load_kb(settings={"max_ablation_lesions": 3})  # governance: local settings
    assert settled is not BUNDLED and settled.trials is not BUNDLED.trials
    tuned = localised(settled, Local(open_here=frozenset({"compose"})))
    assert here(tuned) == {"compose"} and here(settled) == set()
    assert match_trials(tuned, facts, local=tuned.trials_local) == match_trials_reference(
        tuned, facts, local=tuned.trials_local
    )
    fewer = dataclasses.replace(trial_kb, trials={"t_soon": trial_kb.trials["t_soon"]})
    assert {m.trial for m in match_trials(fewer, facts, include_closed=True)} == {"t_soon"}
    assert match_trials(fewer, facts) == match_trials_reference(fewer, facts)


# ------------------------------------------------------- the caches of whole records


def _clear_caches() -> None:
    """Every cache of the compiled matcher, down to the plans (the next call misses)."""
    compiled._plan.cache_clear()
    compiled._outcome.cache_clear()
    compiled._warnings.cache_clear()
    for cache in (compiled._MATCHES, compiled._SUMMARIES, compiled._SHOWN, compiled._NUMBERS):
        cache.clear()


def test_a_cache_hit_gives_what_a_miss_gives(trial_kb: KnowledgeBase) -> None:
    """Each case matched with every cache cleared, then again from the caches, then
    after the other cases filled them: the same as the reference each time."""
    cases = [parse_case(d) for d in synthetic_cases(60, 5)]
    for case in cases:
        _clear_caches()
        assert (case.id, "miss", differences(trial_kb, case)) == (case.id, "miss", [])
        assert (case.id, "hit", differences(trial_kb, case)) == (case.id, "hit", [])
    assert compiled._MATCHES  # the records were cached
    for case in cases:
        assert (case.id, "warm", differences(trial_kb, case)) == (case.id, "warm", [])


BOUNDS = (
    "_ENTRIES_MAX",
    "_WARNINGS_MAX",
    "_MATCHES_MAX",
    "_SUMMARIES_MAX",
    "_SHOWN_MAX",
    "_NUMBERS_MAX",
)


@pytest.mark.parametrize("bounded", [BOUNDS, ("_NUMBERS_MAX",)], ids=["all", "numbers"])
def test_full_caches_are_cleared_and_answer_the_same(
    bounded: tuple[str, ...], trial_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded: with room for two records of a kind, its cache is cleared over and over,
    never grows past the bound, and never answers from a stale entry (the numbers of
    the values shown are never reused while the records keyed by them live on)."""
    for name in bounded:
        monkeypatch.setattr(compiled, name, 2)
    _clear_caches()
    for data in synthetic_cases(80, 17):
        case = parse_case(data)
        assert (case.id, differences(trial_kb, case)) == (case.id, [])
        assert len(compiled._NUMBERS) <= 2
        if bounded == BOUNDS:
            for cache in (compiled._MATCHES, compiled._SUMMARIES, compiled._SHOWN):
                assert len(cache) <= 2
    plan = compiled._plan(trial_kb, compiled._NO_LOCAL, compiled._NOWHERE, False)
    if bounded == BOUNDS:
        assert all(len(arm.entries) <= 2 for arm in plan.arms)
    _clear_caches()  # the other tests' caches at their real bounds


def test_the_assessment_date_is_part_of_the_key(trial_kb: KnowledgeBase) -> None:
    """The same case on two dates, one when some cards' status has gone stale: each
    date's warnings, from a warm cache too (eligible matches read nothing else)."""
    _clear_caches()
    for _ in range(2):
        for data in synthetic_cases(60, 23):
            for on in (ON, date(2031, 1, 1)):
                case = parse_case({**data, "assessed_on": on.isoformat()})
                assert (case.id, on, differences(trial_kb, case)) == (case.id, on, [])


# Values equal in Python but shown differently, one after the other: a record cached for
# the first must not answer for the next (by type; 0.0 and -0.0 by their sign).
LOOKALIKES: list[dict[str, Any]] = [
    {"age_years": 17},
    {"age_years": 17.0},
    {"age_years": True},
    {"age_years": 1},
    {"tumour.ki67_percent": 0.0},
    {"tumour.ki67_percent": -0.0},
    {"tumour.ki67_percent": 0},
    {"tumour.ki67_percent": False},
    {"tumour.ki67_percent": 70},
    {"tumour.ki67_percent": 70.0},
    {"disease.extrahepatic_metastases": ["bone"]},
    {"disease.extrahepatic_metastases": ["lung"]},
    {"disease.extrahepatic_metastases": []},
    {"history.prior_treatments": [{"therapy": "everolimus", "progression_free_months": 6}]},
    {"history.prior_treatments": [{"therapy": "everolimus", "progression_free_months": 6.0}]},
    {"history.prior_treatments": [{"therapy": "everolimus", "progression_free_months": 0.0}]},
    {"history.prior_treatments": [{"therapy": "everolimus", "progression_free_months": -0.0}]},
    # no key (a tuple, a dict): built for the case, never cached
    {"disease.extrahepatic_metastases": ("bone",)},
    {"disease.extrahepatic_metastases": ("lung",)},
    {"disease.extrahepatic_metastases": {"bone": 1}},
]
LOOKALIKES += [{"tumour.primary_site": "pancreas", "tumour.type": "net", **x} for x in LOOKALIKES]


def _facts(extra: dict[str, Any]) -> dict[str, Any]:
    from netmdt.case.history import PriorTreatment

    facts: dict[str, Any] = {"assessed_on": ON, "age_years": 60, **extra}
    if "history.prior_treatments" in extra:  # the case model's objects, built unchecked
        facts["history.prior_treatments"] = [
            PriorTreatment.model_construct(**t) for t in extra["history.prior_treatments"]
        ]
    return facts


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_values_equal_in_python_but_shown_differently_are_never_confused(
    order: str, trial_kb: KnowledgeBase
) -> None:
    _clear_caches()
    extras = LOOKALIKES if order == "forward" else LOOKALIKES[::-1]
    for _ in range(2):
        for extra in extras:
            facts = _facts(extra)
            for kw in VARIANTS:
                got = match_trials_compiled(trial_kb, facts, **kw)
                ref = match_trials_reference(trial_kb, facts, **kw)
                assert (extra, kw, _json(got)) == (extra, kw, _json(ref))


def test_a_value_without_a_key_is_shown_but_never_cached(trial_kb: KnowledgeBase) -> None:
    _clear_caches()
    where = {"tumour.primary_site": "pancreas", "tumour.type": "net"}  # not lung: fails
    facts = _facts({**where, "disease.extrahepatic_metastases": ("bone",)})
    got = match_trials_compiled(trial_kb, facts, include_closed=True)
    shown = [r for m in got for r in m.reasons if "disease.extrahepatic_metastases" in r.values]
    assert shown  # some failing reason shows the tuple ...
    assert _json(got) == _json(match_trials_reference(trial_kb, facts, include_closed=True))
    cached = {id(x) for x in [*compiled._MATCHES.values(), *compiled._SHOWN.values()]}
    assert not any(id(r) in cached for r in shown)  # ... from no cache
    assert not any(id(m) in cached for m in got if any(r in shown for r in m.reasons))
    assert any(id(m) in cached for m in got)  # (the others are)


def test_keys_follow_how_a_value_is_shown() -> None:
    from netmdt.case.history import PriorTreatment

    key = compiled._key
    assert len({key(1), key(1.0), key(True)}) == 3
    assert key(0.0) != key(-0.0) and key(2.5) == key(2.5)
    assert key([1]) != key([1.0]) and key(["a", "b"]) == key(["a", "b"])
    assert key(date(2026, 1, 2)) == key(date(2026, 1, 2)) != key("2026-01-02")
    a = PriorTreatment(therapy="everolimus", cycles=2)
    assert key(a) == key(PriorTreatment(therapy="everolimus", cycles=2))
    assert key(a) != key(PriorTreatment(therapy="everolimus", cycles=3))

    class Computed(BaseModel):
        x: int

        @computed_field  # type: ignore[prop-decorator]
        @property
        def twice(self) -> int:
            return 2 * self.x

    for value in [(1,), {"a": 1}, {1}, Computed(x=1), [Computed(x=1)]]:
        with pytest.raises(compiled._Unkeyable):
            key(value)


def test_the_centre_knowledge_base_and_the_open_trial_fact_from_the_caches(
    trial_kb: KnowledgeBase, trial_kb_reference: KnowledgeBase
) -> None:
    """On a centre's knowledge base with trials open here (``kb.trials_local``), the
    engine's trial paths and the ``derived.open_trial_eligible`` fact they set are the
    reference's, on a cold cache and a warm one."""
    local = Local(centre=("Royal Free Hospital",), open_here=frozenset({"t_compose", "t_soon"}))
    kb, ref_kb = localised(trial_kb, local), localised(trial_kb_reference, local)
    fact = "derived.open_trial_eligible"
    seen: set[Any] = set()
    _clear_caches()
    for _ in range(2):
        for data in list(synthetic_cases(60, 8)) + [
            {"assessed_on": ON, "age_years": 60, "tumour": {"ki67_percent": k}} for k in (20, 60)
        ]:
            case = Case.model_validate(data)
            facts, ref_facts = facts_of(case), facts_of(case)
            assert _json(_trials(kb, facts)) == _json(_trials(ref_kb, ref_facts))
            assert facts.get(fact, "unknown") == ref_facts.get(fact, "unknown")
            seen.add(facts.get(fact, "unknown"))
            facts, ref_facts = facts_of(case), facts_of(case)
            assert _json(_trial_summary_list(kb, facts)) == _json(
                _trial_summaries(_trials(ref_kb, ref_facts))
            )
            assert facts.get(fact, "unknown") == ref_facts.get(fact, "unknown")
    assert {True, "unknown"} <= seen  # the fact was set both ways
