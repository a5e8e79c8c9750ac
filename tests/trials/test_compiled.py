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
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from netmdt import Case, parse_case
from netmdt.engine.assess import _trial_summaries, assess, assess_summary, summarize
from netmdt.engine.facts import facts_of
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.registry.status import centre_kb
from netmdt.synth import synthetic_cases
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
VARIANTS: list[dict[str, Any]] = [
    {},
    {"include_closed": True},
    {"local": CENTRE, "where": PLACE, "include_closed": True},
    {"local": CENTRE, "only": ["t_compose", "radiant2"]},
]


def _case_data(path: Path) -> Any:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["case"] if "expect" in data else data


def differences(kb: KnowledgeBase, case: Case) -> list[str]:
    """Where the compiled matcher and the reference disagree on one case."""
    found = []
    for kw in VARIANTS:
        got = match_trials_compiled(kb, facts_of(case), **kw)
        ref = match_trials_reference(kb, facts_of(case), **kw)
        if got != ref:
            found.append(f"match {kw}")
        if [m.model_dump(mode="json") for m in got] != [m.model_dump(mode="json") for m in ref]:
            found.append(f"match {kw} (json)")
    for local in (None, CENTRE):
        summaries, here = trial_summaries_compiled(kb, facts_of(case), local=local)
        ref = match_trials_reference(kb, facts_of(case), local=local)
        if summaries != _trial_summaries(ref):
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
