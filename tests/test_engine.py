"""The verdict procedure, missing facts, counterfactuals, funding and warnings."""

from __future__ import annotations

from typing import Any

import pytest

from netmdt import KnowledgeBase, assess, parse_case
from netmdt.engine.assess import _relevant, _verdict
from netmdt.engine.expr import parse
from netmdt.kb.load import _Scope
from netmdt.kb.model import Criterion

T, F, U = True, False, None
GROUP = {
    "A": "applies_to",
    "C": "contraindications",
    "R": "requirements",
    "M": "recommend_when",
    "B": "before_treatment",
    "X": "before_treatment",  # a check whose failure contraindicates (if_false)
    "K": "before_treatment",  # a check whose failure only downgrades to consider
}
IF_FALSE = {"X": "contraindicated", "K": "consider"}
VALUE = {"T": T, "F": F, "U": U}


def crit(name: str) -> Criterion:
    node = parse("pregnant == true", _Scope({}))
    if_false = IF_FALSE.get(name[0], "not_recommended")
    return Criterion(
        name, GROUP[name[0]], name, node, node.compile(), (), ("s",), "V", False, if_false=if_false
    )


def table(spec: str) -> dict[str, list[tuple[Criterion, bool | None]]]:
    """'A:T C:F R:TU M:TF B:U' -> criteria by group with those values (named A0, R1, ...)."""
    groups: dict[str, list[tuple[Criterion, bool | None]]] = {g: [] for g in GROUP.values()}
    for part in spec.split():
        letter, values = part.split(":")
        for i, v in enumerate(values):
            groups[GROUP[letter]].append((crit(f"{letter}{i}"), VALUE[v]))
    return groups


@pytest.mark.parametrize(
    ("spec", "verdict", "relevant"),
    [
        ("A:T C:F R:T M:T", "recommended", []),
        ("A:T C:F R:T M:TF", "consider", []),
        ("A:T C:F R:T M:TU", "consider", ["M1"]),
        ("A:F C:T R:U M:T", "not_recommended", []),
        ("A:T C:T R:F M:U", "contraindicated", []),
        ("A:T C:TU R:U M:U", "contraindicated", ["C1"][:0]),
        ("A:T C:F R:FU M:T", "not_recommended", ["C0"][:0]),
        ("A:T C:U R:F M:T", "not_recommended", ["C0"]),
        ("A:T C:U R:T M:T", "insufficient_information", ["C0"]),
        ("A:U C:F R:T M:T", "insufficient_information", ["A0"]),
        ("A:U C:F R:F M:T", "not_recommended", []),
        ("A:U C:T R:F M:T", "contraindicated", ["A0"]),
        ("A:T C:F R:UU M:UF", "insufficient_information", ["R0", "R1"]),
        ("A:T C:F R:U M:U", "insufficient_information", ["R0", "M0"]),
        ("A:T C:FF R:TT M:", "recommended", []),
    ],
)
def test_verdict_procedure_and_relevance(spec: str, verdict: str, relevant: list[str]) -> None:
    groups = table(spec)
    assert _verdict(groups) == verdict
    assert [c.id for c in _relevant(groups)] == relevant


def test_relevant_unknowns_are_exactly_those_whose_value_changes_the_verdict() -> None:
    """Brute force: an unknown is relevant iff some completion of the others lets it flip.

    Unknown before_treatment criteria are pending checks: they stay unknown (the verdict
    stands subject to them) and are never relevant."""
    import itertools

    for spec in [
        "A:U C:UU R:UU M:UU",
        "A:T C:U R:FU M:U",
        "A:U C:T R:U M:F",
        "A:T C:F R:U M:FU",
        "A:U C:UU R:UU M:UU B:U",
        "A:U C:UU R:UU M:UU B:F",
        "A:U C:U R:T M:U B:FU",
        "A:T C:U R:U M:U B:TF",
        "A:U C:F R:T M:U B:F",
    ]:
        groups = table(spec)
        unknown = [
            (g, i)
            for g, items in groups.items()
            for i, (_, v) in enumerate(items)
            if v is None and g != "before_treatment"
        ]
        expected = []
        for g, i in unknown:
            others = [u for u in unknown if u != (g, i)]
            flips = False
            for values in itertools.product([T, F], repeat=len(others)):
                filled = {k: list(v) for k, v in groups.items()}
                for (og, oi), ov in zip(others, values, strict=True):
                    filled[og][oi] = (filled[og][oi][0], ov)
                verdicts = set()
                for mine in (T, F):
                    filled[g][i] = (filled[g][i][0], mine)
                    verdicts.add(_verdict(filled))
                flips = flips or len(verdicts) > 1
            if flips:
                expected.append(groups[g][i][0].id)
        assert [c.id for c in _relevant(groups)] == expected, spec


@pytest.mark.parametrize(
    ("spec", "verdict", "relevant", "pending"),
    [
        # before_treatment false / unknown / true against each state of the other groups
        ("A:T C:F R:T M:T B:F", "not_recommended", [], []),
        ("A:T C:F R:T M:T B:U", "recommended", [], ["B0"]),
        ("A:T C:F R:T M:T B:T", "recommended", [], []),
        ("A:T C:F R:T M:F B:F", "not_recommended", [], []),
        ("A:T C:F R:T M:F B:U", "consider", [], ["B0"]),
        ("A:T C:F R:T M:F B:T", "consider", [], []),
        ("A:T C:F R:T M:U B:U", "consider", ["M0"], ["B0"]),
        ("A:T C:F R:T M:U B:F", "not_recommended", [], []),
        ("A:F C:F R:T M:T B:F", "not_recommended", [], []),
        ("A:F C:F R:T M:T B:U", "not_recommended", [], []),
        ("A:F C:F R:T M:T B:T", "not_recommended", [], []),
        ("A:U C:F R:T M:T B:F", "not_recommended", [], []),
        ("A:U C:F R:T M:T B:U", "insufficient_information", ["A0"], ["B0"]),
        ("A:U C:F R:T M:T B:T", "insufficient_information", ["A0"], []),
        ("A:T C:T R:T M:T B:F", "contraindicated", [], []),
        ("A:T C:T R:T M:T B:U", "contraindicated", [], []),
        ("A:T C:T R:T M:T B:T", "contraindicated", [], []),
        ("A:T C:U R:T M:T B:F", "not_recommended", ["C0"], []),
        ("A:T C:U R:T M:T B:U", "insufficient_information", ["C0"], ["B0"]),
        ("A:T C:U R:T M:T B:T", "insufficient_information", ["C0"], []),
        ("A:T C:F R:F M:T B:F", "not_recommended", [], []),
        ("A:T C:F R:F M:T B:U", "not_recommended", [], []),
        ("A:T C:F R:F M:T B:T", "not_recommended", [], []),
        ("A:T C:F R:U M:T B:F", "not_recommended", [], []),
        ("A:T C:F R:U M:T B:U", "insufficient_information", ["R0"], ["B0"]),
        ("A:T C:F R:U M:T B:T", "insufficient_information", ["R0"], []),
        ("A:T C:F R:T M:T B:UUT", "recommended", [], ["B0", "B1"]),
        ("A:T C:F R:T M:T B:UF", "not_recommended", [], []),
        ("A:U C:U R:F M:T B:F", "not_recommended", ["A0", "C0"], []),
    ],
)
def test_before_treatment_group(
    spec: str, verdict: str, relevant: list[str], pending: list[str]
) -> None:
    """False defers (not_recommended); unknown leaves the verdict standing and is a pending
    check on positive and open verdicts; true changes nothing. Never relevant (missing)."""
    from netmdt.engine.assess import _pending

    groups = table(spec)
    assert _verdict(groups) == verdict
    assert [c.id for c in _relevant(groups)] == relevant
    assert [c.id for c in _pending(groups, _verdict(groups))] == pending


@pytest.mark.parametrize(
    ("spec", "verdict", "relevant", "pending"),
    [
        # a check that contraindicates: false -> contraindicated, unknown -> pending
        ("A:T C:F R:T M:T X:F", "contraindicated", [], []),
        ("A:T C:F R:T M:T X:U", "recommended", [], ["X0"]),
        ("A:T C:F R:T M:T X:T", "recommended", [], []),
        ("A:T C:F R:F M:T X:F", "contraindicated", [], []),  # outranks a false requirement
        ("A:T C:U R:U M:U X:F", "contraindicated", [], []),  # settles the open criteria
        ("A:U C:F R:T M:T X:F", "contraindicated", ["A0"], []),  # unless it does not apply
        ("A:F C:F R:T M:T X:F", "not_recommended", [], []),
        ("A:T C:F R:T M:T B:F X:F", "contraindicated", [], []),
        # a check that downgrades: false -> consider, unknown -> pending
        ("A:T C:F R:T M:T K:F", "consider", [], []),
        ("A:T C:F R:T M:T K:U", "recommended", [], ["K0"]),
        ("A:T C:F R:T M:U K:F", "consider", [], []),  # recommend_when no longer matters
        ("A:T C:F R:T M:U K:U", "consider", ["M0"], ["K0"]),
        ("A:T C:F R:U M:T K:F", "insufficient_information", ["R0"], []),
        ("A:T C:F R:T M:T B:F K:F", "not_recommended", [], []),
        ("A:T C:F R:T M:T X:U K:U B:U", "recommended", [], ["X0", "K0", "B0"]),
    ],
)
def test_what_a_failed_check_means(
    spec: str, verdict: str, relevant: list[str], pending: list[str]
) -> None:
    """``if_false``: a before_treatment check may contraindicate (a positive pregnancy test
    before a radionuclide) or only downgrade (renal function 40-49 before Lu-177)."""
    from netmdt.engine.assess import _pending

    groups = table(spec)
    assert _verdict(groups) == verdict
    assert [c.id for c in _relevant(groups)] == relevant
    assert [c.id for c in _pending(groups, _verdict(groups))] == pending


@pytest.mark.parametrize(
    ("spec", "counterfactual"),
    [
        ("A:T C:F R:T M:T B:U", None),
        ("A:T C:F R:T M:T B:FT", "Not recommended now: reassess when: B0."),
        (
            "A:T C:F R:T M:FU B:FF",
            "Not recommended now: reassess when: B0; B1. Would be recommended if: M0; M1 (unknown)",
        ),
        ("A:T C:F R:F M:T B:F", "Would be recommended if: R0; B0"),
        ("A:T C:F R:T M:F B:U", "Would be recommended if: M0"),
    ],
)
def test_deferred_counterfactual(spec: str, counterfactual: str | None) -> None:
    from netmdt.engine.assess import _counterfactual

    groups = table(spec)
    assert _counterfactual(_verdict(groups), groups) == counterfactual


BASE = {
    "id": "t",
    "assessed_on": "2026-11-27",
    "age_years": 64,
    "sex": "female",
    "tumour": {
        "type": "net",
        "primary_site": "jejunum_ileum",
        "grade": "G2",
        "ki67_percent": 8,
        "functional_syndrome": [],
    },
    "context": {"health_system": "nhs_england"},
}


def test_empty_case_gives_no_positive_verdict_and_names_what_to_find_out(kb: KnowledgeBase) -> None:
    a = assess(parse_case({"assessed_on": "2026-11-27"}), kb)
    assert {o.verdict for o in a.options} <= {
        "insufficient_information",
        "consider",
        "not_recommended",
    }
    assert [o.option for o in a.options] == list(kb.options)
    assert a.next_investigations, "an empty case must ask for investigations"
    assert a.next_investigations[0].settles == sorted(
        a.next_investigations[0].settles, key=list(kb.options).index
    )
    counts = [len(i.settles) for i in a.next_investigations]
    assert counts == sorted(counts, reverse=True)
    for o in a.options:
        assert o.funding.pathway in ("unknown", "not_applicable")


def test_every_reason_cites_known_sources_and_the_kb_is_reported(kb: KnowledgeBase) -> None:
    a = assess(parse_case(BASE), kb)
    assert (a.knowledge_base.version, a.knowledge_base.fingerprint) == (kb.version, kb.fingerprint)
    cited = {s.id for s in a.knowledge_base.sources}
    for o in a.options:
        assert len(o.reasons) == len(kb.options[o.option].criteria)
        for r in o.reasons:
            assert r.sources and set(r.sources) <= cited
            if r.evidence != "V":  # secondary or recalled evidence is always flagged
                assert r.review, (o.option, r.criterion)


def test_health_system_other_and_absent(kb: KnowledgeBase) -> None:
    other = assess(parse_case({**BASE, "context": {"health_system": "other"}}), kb)
    absent = assess(parse_case({k: v for k, v in BASE.items() if k != "context"}), kb)
    assert {o.funding.pathway for o in other.options} == {"not_applicable"}
    assert {o.funding.pathway for o in absent.options} <= {"unknown", "not_applicable"}
    assert any(o.funding.missing == ["context.health_system"] for o in absent.options)


def test_engine_is_deterministic_and_pure(kb: KnowledgeBase) -> None:
    case = parse_case(BASE)
    assert assess(case, kb).model_dump_json() == assess(case, kb).model_dump_json()


def test_old_sstr_imaging_and_old_blood_results_are_warned(kb: KnowledgeBase) -> None:
    case = parse_case(
        {
            **BASE,
            "disease": {"progression": "progressive"},
            "imaging": {"sstr": {"positive": True, "date": "2026-03-01"}},
            "labs": {"egfr_ml_min": 80, "date": "2026-09-01"},
        }
    )
    warnings = assess(case, kb).warnings
    assert (
        "SSTR imaging is 9 months old; PRRT needs imaging within 6 months of the first "
        "dose: repeat it." in warnings
    )
    assert (
        "Blood results are 12 weeks old; treatment decisions need results from the last "
        "4 weeks: repeat them." in warnings
    )


def _example(**changes: object) -> dict[str, object]:
    import yaml

    from netmdt.kb import default_kb_path

    data = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            data[section][key] = value
        else:
            data[section] = value
    return data


def test_unknown_blood_results_are_pending_checks_not_missing_facts(bt_kb: KnowledgeBase) -> None:
    labs = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    o = assess(parse_case(_example(labs=labs)), bt_kb).option("prrt_lu177_dotatate")
    assert o.verdict == "recommended"
    assert o.missing == []
    crit = {c.id: c for c in bt_kb.options["prrt_lu177_dotatate"].groups["before_treatment"]}
    expected = [
        ("labs.albumin_g_l", "albumin_or_pt_ok"),
        ("labs.alt_x_uln", "alt_le_3"),
        ("labs.haemoglobin_g_l", "haemoglobin_ge_80"),
        ("labs.inr", "albumin_or_pt_ok"),
        ("labs.platelets_10e9_l", "platelets_ge_75"),
        ("labs.wbc_10e9_l", "wbc_ge_2"),
    ]
    assert [p.model_dump() for p in o.pending_checks] == [
        {
            "field": f,
            "label": bt_kb.label(f),
            "criterion": c,
            "text": crit[c].text,
            "how_to_find_out": bt_kb.how_to_find_out(f),
        }
        for f, c in expected
    ]
    assert o.counterfactual is None


def test_a_failed_check_defers_and_says_when_to_reassess(bt_kb: KnowledgeBase) -> None:
    case = _example(labs__platelets_10e9_l=60)
    o = assess(parse_case(case), bt_kb).option("prrt_lu177_dotatate")
    platelets = next(
        c
        for c in bt_kb.options["prrt_lu177_dotatate"].groups["before_treatment"]
        if c.id == "platelets_ge_75"
    )
    assert (o.verdict, o.pending_checks, o.missing) == ("not_recommended", [], [])
    assert o.counterfactual == f"Not recommended now: reassess when: {platelets.text}."
    assert platelets.if_not_met in o.warnings
    # The bundled KB, where platelets are a requirement, says the same without deferring.
    assert assess(parse_case(case)).option("prrt_lu177_dotatate").verdict == "not_recommended"


def test_no_pending_checks_on_negative_verdicts(bt_kb: KnowledgeBase) -> None:
    labs = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "platelets_10e9_l": 60}
    a = assess(parse_case(_example(labs=labs)), bt_kb)
    assert a.option("prrt_lu177_dotatate").verdict == "not_recommended"  # deferred
    for o in a.options:
        if o.verdict in ("not_recommended", "contraindicated"):
            assert o.pending_checks == [], o.option
    assert any(o.pending_checks for o in a.options)


@pytest.mark.parametrize(
    ("system", "body"),
    [
        ("nhs_scotland", "Scottish Medicines Consortium (SMC)"),
        ("nhs_wales", "All Wales Medicines Strategy Group (AWMSG)"),
        ("other", "netmdt knows NHS England only"),
    ],
)
def test_health_systems_without_rules_name_who_decides(
    kb: KnowledgeBase, system: str, body: str
) -> None:
    a = assess(parse_case({**BASE, "context": {"health_system": system}}), kb)
    applicable = [o for o in a.options if o.funding.note != "The option does not apply."]
    assert applicable
    for o in applicable:
        assert (o.funding.pathway, o.funding.sources, o.funding.missing) == (
            "not_applicable",
            [],
            [],
        )
        assert body in o.funding.note, o.funding.note
    if system == "nhs_wales":
        assert "NICE technology appraisals apply" in applicable[0].funding.note


def test_a_pending_checks_if_not_met_is_shown_only_while_the_option_is_in_play() -> None:
    from netmdt.engine.assess import _criterion_warnings

    groups = table("A:T C:F R:T M:T B:U")
    b0 = groups["before_treatment"][0][0]
    object.__setattr__(b0, "if_not_met", "B0 low: defer; reassess when recovered.")
    results = [cv for items in groups.values() for cv in items]
    kb: Any = None  # read only for disagreements, which these criteria have none of
    assert _criterion_warnings(results, "recommended", kb) == [b0.if_not_met]
    assert _criterion_warnings(results, "insufficient_information", kb) == [b0.if_not_met]
    assert _criterion_warnings(results, "contraindicated", kb) == []
    failed = [(c, False if c is b0 else v) for c, v in results]
    assert _criterion_warnings(failed, "not_recommended", kb, deferred=True) == [b0.if_not_met]
    assert _criterion_warnings(failed, "not_recommended", kb, deferred=False) == []
