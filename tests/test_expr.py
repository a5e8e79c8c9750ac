"""The rule language: parsing, type checking, Kleene evaluation, English, reads, SQL."""

from __future__ import annotations

from typing import Any

import pytest

from netmdt.case import parse_case
from netmdt.engine.expr import Definition, ExprError, Node, parse, unknowns
from netmdt.engine.facts import facts_of
from netmdt.kb.load import _Scope


def scope() -> _Scope:
    s = _Scope({"labs.egfr_ml_min": "eGFR (mL/min)", "tumour.type": "tumour type"})
    s.definitions["metastatic"] = Definition(
        "metastatic",
        "distant metastases",
        parse(
            "disease.liver_metastases.present == true or not (disease.extrahepatic_metastases "
            "is empty)",
            s,
        ),
    )
    return s


def node(text: str) -> Node:
    return parse(text, scope())


def value(text: str, case: dict[str, Any]) -> bool | None:
    return node(text).compile()(facts_of(parse_case({"assessed_on": "2026-11-27", **case})))


@pytest.mark.parametrize(
    ("text", "case", "expected"),
    [
        ("labs.egfr_ml_min >= 40", {"labs": {"egfr_ml_min": 40}}, True),
        ("labs.egfr_ml_min >= 40", {"labs": {"egfr_ml_min": 39.9}}, False),
        ("labs.egfr_ml_min >= 40", {}, None),
        ("labs.egfr_ml_min < 30 or tumour.type == net", {"tumour": {"type": "net"}}, True),
        ("labs.egfr_ml_min < 30 and tumour.type == net", {"tumour": {"type": "nec"}}, False),
        ("labs.egfr_ml_min < 30 and tumour.type == net", {"tumour": {"type": "net"}}, None),
        ("not (labs.egfr_ml_min < 30)", {}, None),
        ("tumour.type in [net, paraganglioma]", {"tumour": {"type": "paraganglioma"}}, True),
        ("tumour.type not in [net, paraganglioma]", {"tumour": {"type": "nec"}}, True),
        ("tumour.type not in [net]", {}, None),
        (
            "tumour.functional_syndrome contains insulinoma",
            {"tumour": {"functional_syndrome": []}},
            False,
        ),
        ("tumour.functional_syndrome contains insulinoma", {}, None),
        (
            "tumour.functional_syndrome contains_any [insulinoma, vipoma]",
            {"tumour": {"functional_syndrome": ["vipoma"]}},
            True,
        ),
        (
            "disease.extrahepatic_metastases is empty",
            {"disease": {"extrahepatic_metastases": []}},
            True,
        ),
        ("disease.extrahepatic_metastases is empty", {}, None),
        ("labs.egfr_ml_min is unknown", {}, True),
        ("labs.egfr_ml_min is known", {}, False),
        ("metastatic", {"disease": {"extrahepatic_metastases": ["bone"]}}, True),
        ("metastatic", {"disease": {"extrahepatic_metastases": []}}, None),
        ("disease.progression == progressive", {"disease": {"progression": "unknown"}}, None),
        (
            "derived.renal_ml_min >= 40",
            {"labs": {"creatinine_clearance_ml_min": 35, "egfr_ml_min": 60}},
            False,
        ),
        ("derived.effective_grade in [G1, G2]", {"tumour": {"ki67_percent": 20.1}}, False),
        (
            "months_since(imaging.sstr.date) > 6",
            {"imaging": {"sstr": {"date": "2026-01-01"}}},
            True,
        ),
        ("has_prior(prrt_lu177_dotatate)", {"history": {"prior_treatments": []}}, False),
        ("has_prior(prrt_lu177_dotatate)", {}, None),
        (
            "ongoing(ssa_long_acting, ssa_short_acting)",
            {
                "history": {
                    "prior_treatments": [{"therapy": "ssa_long_acting", "start": "2025-01-01"}]
                }
            },
            True,
        ),
        (
            "ongoing(ssa_long_acting)",
            {
                "history": {
                    "prior_treatments": [
                        {"therapy": "ssa_long_acting", "start": "2025-01-01", "end": "2025-06-01"}
                    ]
                }
            },
            False,
        ),
        (
            "progressed_on(everolimus)",
            {"history": {"prior_treatments": [{"therapy": "everolimus", "outcome": "unknown"}]}},
            None,
        ),
        (
            "progressed_on(everolimus)",
            {
                "history": {
                    "prior_treatments": [
                        {"therapy": "everolimus", "outcome": "stable"},
                        {"therapy": "everolimus", "outcome": "progression"},
                    ]
                }
            },
            True,
        ),
        (
            "prior_outcome(prrt_lu177_dotatate) == response",
            {
                "history": {
                    "prior_treatments": [
                        {
                            "therapy": "prrt_lu177_dotatate",
                            "end": "2020-01-01",
                            "outcome": "progression",
                        },
                        {
                            "therapy": "prrt_lu177_dotatate",
                            "end": "2022-01-01",
                            "outcome": "response",
                        },
                    ]
                }
            },
            True,
        ),
        (
            "prior_pfi_months(prrt_lu177_dotatate) >= 18",
            {
                "disease": {"progression_date": "2024-01-01"},
                "history": {
                    "prior_treatments": [{"therapy": "prrt_lu177_dotatate", "end": "2022-01-01"}]
                },
            },
            True,
        ),
        (
            "prior_pfi_months(prrt_lu177_dotatate) >= 18",
            {
                "history": {
                    "prior_treatments": [{"therapy": "prrt_lu177_dotatate", "end": "2022-01-01"}]
                }
            },
            None,
        ),
        (
            "prior_cycles(prrt_lu177_dotatate) >= 4",
            {"history": {"prior_treatments": [{"therapy": "prrt_lu177_dotatate", "cycles": 4}]}},
            True,
        ),
        ("tumour.gastric_type == 1", {"tumour": {"gastric_type": 1}}, True),
        ("false", {}, False),
    ],
)
def test_kleene_evaluation(text: str, case: dict[str, Any], expected: bool | None) -> None:
    assert value(text, case) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "labs.egfr >= 40",
            "unknown field 'labs.egfr'; did you mean 'labs.egfr_ml_min'? (at column 1)",
        ),
        (
            "tumour.type == carcinoid",
            "'carcinoid' is not a value of this enum (allowed: net, "
            "nec, minen, paraganglioma, phaeochromocytoma, "
            "medullary_thyroid_carcinoma) (at column 16)",
        ),
        (
            "tumour.type >= 3",
            "'>=' needs number, got enum of net, nec, minen, paraganglioma, "
            "phaeochromocytoma, medullary_thyroid_carcinoma (tumour type) "
            "(at column 13)",
        ),
        ("labs.egfr_ml_min", "the expression must be true or false, not a number"),
        (
            "labs.egfr_ml_min >= 40 and",
            "expected a value, found 'end of expression' (at column 27)",
        ),
        ("labs.egfr_ml_min >= 40)", "unexpected ')' (at column 23)"),
        (
            "has_prior(aspirin)",
            "'aspirin' is not a value of this enum (allowed: surgery_curative, "
            "surgery_debulking, ssa_short_acting, ssa_long_acting, "
            "chemotherapy, interferon_alpha, mibg_i131, prrt_lu177_dotatate, "
            "prrt_y90_dotatoc, liver_embolisation, thermal_ablation, "
            "liver_transplant, clinical_trial, everolimus, sunitinib, "
            "telotristat, active_surveillance, endoscopic_resection, cabozantinib, "
            "best_supportive_care, hormone_syndrome_control, sirt, palliative_radiotherapy) "
            "(at column 11)",
        ),
        ("frobnicate(labs.egfr_ml_min)", "unknown operator or function 'frobnicate' (at column 1)"),
        ("labs.egfr_ml_min >= 40 $", "unexpected character '$' (at column 24)"),
        ("metastatic contains bone", "'bone' is not a value of this bool (at column 21)"),
    ],
)
def test_errors_name_the_problem_and_the_column(text: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        node(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("labs.egfr_ml_min >= 40", "eGFR (mL/min) is at least 40"),
        (
            "labs.egfr_ml_min < 30 or tumour.type == net and metastatic",
            "eGFR (mL/min) is below 30 or (tumour type is net and distant metastases)",
        ),
        ("tumour.type in [net, paraganglioma]", "tumour type is one of net, paraganglioma"),
        ("pregnant == false", "pregnant: no"),
        ("has_prior(prrt_lu177_dotatate)", "has had prrt lu177 dotatate before"),
        ("not (labs.egfr_ml_min is known)", "not (eGFR (mL/min) is recorded)"),
    ],
)
def test_describe_in_clinician_english(text: str, english: str) -> None:
    assert node(text).describe() == english


def test_reads_expand_definitions_derived_facts_and_functions() -> None:
    expr = node(
        "metastatic and derived.renal_ml_min >= 40 and prior_pfi_months(prrt_lu177_dotatate) >= 18"
    )
    assert sorted(expr.reads()) == [
        "disease.extrahepatic_metastases",
        "disease.liver_metastases.present",
        "disease.progression_date",
        "history.prior_treatments",
        "labs.creatinine_clearance_ml_min",
        "labs.egfr_ml_min",
    ]


def test_unknowns_are_the_absent_fields_that_keep_an_expression_unknown() -> None:
    expr = node("(labs.egfr_ml_min >= 40 or tumour.type == net) and pregnant == false")
    facts = facts_of(parse_case({"tumour": {"type": "nec"}}))
    assert unknowns(expr, facts) == ("labs.egfr_ml_min", "pregnant")
    settled = facts_of(parse_case({"tumour": {"type": "net"}, "pregnant": True}))
    assert unknowns(expr, settled) == ()


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        (
            "labs.egfr_ml_min >= 40 and not (tumour.type in [nec, minen])",
            "((labs__egfr_ml_min >= 40) AND (NOT (tumour__type IN ('nec', 'minen'))))",
        ),
        (
            "tumour.functional_syndrome contains insulinoma",
            "list_contains(tumour__functional_syndrome, 'insulinoma')",
        ),
        (
            "derived.renal_ml_min < 30",
            "(coalesce(labs__creatinine_clearance_ml_min, labs__egfr_ml_min) < 30)",
        ),
        ("labs.egfr_ml_min is unknown", "(labs__egfr_ml_min IS NULL)"),
    ],
)
def test_compiles_to_sql(text: str, sql: str) -> None:
    assert node(text).sql("duckdb") == sql


def test_postgres_dialect_uses_arrays() -> None:
    assert node("tumour.functional_syndrome contains insulinoma").sql("postgres") == (
        "('insulinoma' = ANY(tumour__functional_syndrome))"
    )
