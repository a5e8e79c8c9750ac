"""Trial matching: three-valued verdicts, exclusion polarity, open status, sites,
freshness (docs/trials.md; research memo D.A checks 4-9, 12)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from netmdt.assessment import Missing, TrialMatch
from netmdt.case import Case
from netmdt.engine.assess import assess
from netmdt.engine.facts import facts_of
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.trials.geo import haversine_km, parse_point
from netmdt.trials.local import localised
from netmdt.trials.match import Local, Where, match_trials

ON = date(2026, 11, 27)
PRRT = {"therapy": "prrt_lu177_dotatate", "cycles": 4, "end": "2022-05-01"}


def case(**sections: Any) -> Case:
    data: dict[str, Any] = {"assessed_on": ON, "age_years": 60, **sections}
    return Case.model_validate(data)


def compose(kb: KnowledgeBase, c: Case, arm: str = "edotreotide", **kw: Any) -> TrialMatch:
    found = [m for m in match_trials(kb, facts_of(c), **kw) if m.trial == "t_compose"]
    return next(m for m in found if m.arm == arm)


KNOWN: dict[str, Any] = {"history": {"prior_treatments": []}}


@pytest.mark.parametrize(
    ("ki67", "verdict"),
    [
        (14.9, "not_eligible"),  # below
        (15, "eligible"),  # at the lower bound (inclusive)
        (30, "eligible"),
        (55, "eligible"),  # at the upper bound (inclusive)
        (55.1, "not_eligible"),  # above
        (60, "not_eligible"),
    ],
)
def test_ki67_window_is_three_valued_and_inclusive(
    trial_kb: KnowledgeBase, ki67: float, verdict: str
) -> None:
    m = compose(trial_kb, case(tumour={"ki67_percent": ki67}, **KNOWN))
    assert m.verdict == verdict
    assert m.missing == []


def test_unknown_ki67_is_possibly_eligible_naming_it(trial_kb: KnowledgeBase) -> None:
    m = compose(trial_kb, case(**KNOWN))
    assert m.verdict == "possibly_eligible"
    assert m.missing == [
        Missing(
            field="tumour.ki67_percent",
            label=trial_kb.label("tumour.ki67_percent"),
            why="decides: ki67_15_to_55",
            how_to_find_out=trial_kb.how_to_find_out("tumour.ki67_percent"),
        )
    ]


def test_not_eligible_lists_the_failing_criterion_first_with_the_case_value(
    trial_kb: KnowledgeBase,
) -> None:
    m = compose(trial_kb, case(tumour={"ki67_percent": 60}, **KNOWN))
    first = m.reasons[0]
    assert (first.criterion, first.label, first.values, first.quote) == (
        "ki67_15_to_55",
        "inclusion not met",
        {"tumour.ki67_percent": 60},
        "Ki-67 index of 15-55%",
    )
    assert [r.outcome for r in m.reasons] == ["fails", "passes", "passes"]


def test_exclusion_met_excludes(trial_kb: KnowledgeBase) -> None:
    """Polarity 1: an exclusion whose rule holds makes the case not eligible."""
    m = compose(trial_kb, case(tumour={"ki67_percent": 30}, history={"prior_treatments": [PRRT]}))
    assert m.verdict == "not_eligible"
    first = m.reasons[0]
    assert (first.criterion, first.status, first.outcome, first.label) == (
        "prior_prrt",
        "met",
        "fails",
        "exclusion met",
    )


def test_exclusion_not_met_passes(trial_kb: KnowledgeBase) -> None:
    """Polarity 2: an exclusion whose rule is false does not exclude."""
    m = compose(trial_kb, case(tumour={"ki67_percent": 30}, **KNOWN))
    assert m.verdict == "eligible"
    labels = {r.criterion: r.label for r in m.reasons}
    assert labels == {
        "min_age": "inclusion met",
        "ki67_15_to_55": "inclusion met",
        "prior_prrt": "exclusion not met",
    }


def test_exclusion_unknown_is_possibly_eligible(trial_kb: KnowledgeBase) -> None:
    m = compose(trial_kb, case(tumour={"ki67_percent": 30}))
    assert m.verdict == "possibly_eligible"
    assert [x.field for x in m.missing] == ["history.prior_treatments"]
    assert [r.label for r in m.reasons if r.outcome == "unknown"] == ["exclusion unknown"]


def test_a_hard_failure_lists_nothing_missing(trial_kb: KnowledgeBase) -> None:
    m = compose(trial_kb, case(tumour={"ki67_percent": 60}))  # prior treatments unknown
    assert (m.verdict, m.missing) == ("not_eligible", [])


def test_arm_specific_criteria_give_one_entry_per_arm(trial_kb: KnowledgeBase) -> None:
    c = case(tumour={"ki67_percent": 30}, history={"prior_treatments": [{"therapy": "everolimus"}]})
    got = {m.arm: m.verdict for m in match_trials(trial_kb, facts_of(c)) if m.trial == "t_compose"}
    assert got == {"edotreotide": "eligible", "standard_of_care": "not_eligible"}


def test_implicit_age_and_sex_limits(trial_kb: KnowledgeBase) -> None:
    def verdict(**kw: Any) -> str:
        c = case(**kw)
        (m,) = [m for m in match_trials(trial_kb, facts_of(c)) if m.trial == "t_abroad"]
        return m.verdict

    assert verdict(sex="female") == "eligible"
    assert verdict(sex="male") == "not_eligible"
    assert Case.model_validate({"assessed_on": ON, "sex": "female", "age_years": 76})
    assert verdict(sex="female", age_years=75) == "eligible"
    assert verdict(sex="female", age_years=76) == "not_eligible"


# ------------------------------------------------------------------ open, sites


def test_open_means_recruiting_and_not_yet_recruiting_is_apart(trial_kb: KnowledgeBase) -> None:
    got = {
        m.trial: (m.open, m.opening_soon, m.open_here)
        for m in match_trials(trial_kb, facts_of(case()))
        if m.trial.startswith("t_")
    }
    assert got == {
        "t_abroad": (True, False, False),  # recruiting in France (a UK site not yet): open
        "t_compose": (True, False, False),
        "t_soon": (False, True, False),
    }


def test_open_here_by_site_name_or_local_override(trial_kb: KnowledgeBase) -> None:
    facts = facts_of(case())

    def here(local: Local) -> dict[str, bool]:
        return {
            m.trial: m.open_here
            for m in match_trials(trial_kb, facts, local=local)
            if m.trial.startswith("t_")
        }

    assert here(Local(centre=("royal free hospital",))) == {
        "t_abroad": False,
        "t_compose": True,
        "t_soon": False,
    }
    assert here(Local(open_here=frozenset({"t_soon", "radiant2"}))) == {
        "t_abroad": False,
        "t_compose": False,
        "t_soon": True,  # a local decision opens a not-yet-recruiting trial here
    }


def test_no_open_home_site_is_warned(trial_kb: KnowledgeBase) -> None:
    (m,) = [m for m in match_trials(trial_kb, facts_of(case())) if m.trial == "t_abroad"]
    assert "no open UK site" in m.warnings


def test_haversine_against_a_hand_computed_value() -> None:
    assert haversine_km(51.5530, -0.1650, 53.4295, -2.2310) == pytest.approx(251.2, abs=0.5)
    assert haversine_km(51.5, -0.1, 51.5, -0.1) == 0.0


def test_parse_point_names_what_is_allowed() -> None:
    assert parse_point("51.553,-0.165") == (51.553, -0.165)
    with pytest.raises(ValueError, match="LAT,LON"):
        parse_point("NW3")
    with pytest.raises(ValueError, match=r"-90\.\.90"):
        parse_point("91,0")


def test_sites_sort_home_country_first_then_by_distance(trial_kb: KnowledgeBase) -> None:
    m = compose(trial_kb, case(), where=Where(51.5530, -0.1650))
    assert [(s.name, s.distance_km) for s in m.sites] == [
        ("Royal Free Hospital", 0.0),
        ("Christie Hospital", 251.2),
        ("Near Abroad Clinic", 156.1),  # nearer, but abroad: after the home sites
    ]
    unplaced = compose(trial_kb, case())
    assert [s.name for s in unplaced.sites] == [
        "Christie Hospital",
        "Royal Free Hospital",
        "Near Abroad Clinic",
    ]


def test_freshness_warnings(trial_kb: KnowledgeBase) -> None:
    (m,) = [m for m in match_trials(trial_kb, facts_of(case())) if m.trial == "t_abroad"]
    assert m.warnings == [
        "status may be out of date: last verified 2023-06, more than 24 months ago",
        "status may be out of date: estimated completion 2025-12 has passed without an actual date",
        "no open UK site",
    ]
    assert compose(trial_kb, case()).warnings == []


# ------------------------------------------------------------------ seed trials


SEED = {"net01", "radiant2", "clarinet"}


def test_seed_trials_are_historical_closed_and_never_open() -> None:
    kb = load_kb()
    assert set(kb.trials) >= SEED
    for tid in SEED:
        card = kb.trials[tid].card
        assert card.historical
        assert card.overall_status == "completed"
    radiant = kb.trials["radiant2"].card
    assert (radiant.dates.completion, radiant.dates.completion_actual) == ("2013-06", True)
    net01 = kb.trials["net01"].card.registry_ids
    assert (net01.primary(), net01.eudract) == (("isrctn", "ISRCTN35124268"), "2004-005202-71")
    everything = case(
        tumour={"type": "net", "ki67_percent": 2, "primary_site": "pancreas"},
        history={"prior_treatments": []},
    )
    local = Local(open_here=frozenset(SEED))  # even a local override does not open them
    assert not any(m.trial in SEED for m in match_trials(kb, facts_of(everything), local=local))
    shown = match_trials(kb, facts_of(everything), local=local, include_closed=True)
    seeds = {m.trial: (m.open, m.open_here, m.status_note) for m in shown if m.trial in SEED}
    assert seeds["radiant2"] == (False, False, "completed Jun 2013")
    assert {v[:2] for v in seeds.values()} == {(False, False)}
    assert not any(m.trial in SEED for m in assess(everything, localised(kb, local)).trials)


def test_the_assessment_lists_open_trials(trial_kb: KnowledgeBase) -> None:
    c = case(tumour={"ki67_percent": 30}, **KNOWN)
    a = assess(c, trial_kb)
    assert a.trials == match_trials(trial_kb, facts_of(c))
    # the shipped cards are matched too; the test cards' ids start with "t_"
    assert {(m.trial, m.arm) for m in a.trials if m.trial.startswith("t_")} == {
        ("t_abroad", None),
        ("t_compose", "edotreotide"),
        ("t_compose", "standard_of_care"),
        ("t_soon", None),
    }


def test_generated_and_reference_evaluators_agree(
    trial_kb: KnowledgeBase, trial_kb_reference: KnowledgeBase
) -> None:
    for c in (
        case(),
        case(tumour={"ki67_percent": 30}, **KNOWN),
        case(tumour={"ki67_percent": 60}, history={"prior_treatments": [PRRT]}),
    ):
        facts = facts_of(c)
        got = match_trials(trial_kb, facts, include_closed=True)
        ref = match_trials(trial_kb_reference, facts, include_closed=True)
        assert [m.model_dump() for m in got] == [m.model_dump() for m in ref]


def test_the_match_text_names_missing_facts_by_label_and_whom_to_ask() -> None:
    """`netmdt trials match` text: a missing fact by its label and whom to ask, as the
    case's text output says it (netmdt.cli_text), never by field path."""
    import re
    from pathlib import Path

    from typer.testing import CliRunner

    from netmdt.cli import app

    example = Path(__file__).parents[2] / "src/netmdt/examples/si-net-liver-metastases.yaml"
    result = CliRunner().invoke(app, ["trials", "match", str(example), "--trial", "netter_3"])
    assert result.exit_code == 0, result.output
    missing = [line for line in result.stdout.splitlines() if "missing:" in line]
    assert missing == [
        "  missing: Date of diagnosis (histological) — ask pathology: The date of the first "
        "histology report that diagnosed the tumour (pathology system or referral letter)."
    ]
    assert re.findall(r"\b(?:tumour|disease|labs|history)\.[a-z_]+", "\n".join(missing)) == []
