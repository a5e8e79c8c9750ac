"""The verdict procedure, missing facts, counterfactuals, funding and warnings."""

from __future__ import annotations

import pytest

from netmdt import KnowledgeBase, assess, parse_case
from netmdt.engine.assess import _relevant, _verdict
from netmdt.engine.expr import parse
from netmdt.kb.load import _Scope
from netmdt.kb.model import Criterion

T, F, U = True, False, None
GROUP = {"A": "applies_to", "C": "contraindications", "R": "requirements", "M": "recommend_when"}
VALUE = {"T": T, "F": F, "U": U}


def crit(name: str) -> Criterion:
    node = parse("pregnant == true", _Scope({}))
    return Criterion(name, GROUP[name[0]], name, node, node.compile(), (), ("s",), "V", False)


def table(spec: str) -> dict[str, list[tuple[Criterion, bool | None]]]:
    """'A:T C:F R:TU M:TF' -> criteria by group with those values (named A0, R1, ...)."""
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
    """Brute force: an unknown is relevant iff some completion of the others lets it flip."""
    import itertools

    for spec in ["A:U C:UU R:UU M:UU", "A:T C:U R:FU M:U", "A:U C:T R:U M:F", "A:T C:F R:U M:FU"]:
        groups = table(spec)
        unknown = [
            (g, i) for g, items in groups.items() for i, (_, v) in enumerate(items) if v is None
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
