"""Assessment -> FHIR: a Bundle with a GuidanceResponse and a RequestGroup, valid R4B."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from netmdt.assessment import Assessment
from netmdt.cli import app
from netmdt.engine.assess import assess
from netmdt.fhir import import_fhir
from netmdt.fhir.output import to_fhir

HERE = Path(__file__).parent / "fhir"
DAY = date(2026, 11, 27)


def si_net() -> tuple[Any, Assessment]:
    result = import_fhir(HERE / "si-net-bundle.json", assessed_on=DAY)
    return result.case, assess(result.case)


def test_the_bundle_holds_a_guidance_response_and_a_request_group() -> None:
    case, a = si_net()
    bundle = to_fhir(a, case)
    Bundle.model_validate(bundle)
    guidance, group = (e["resource"] for e in bundle["entry"])
    assert [e["fullUrl"] for e in bundle["entry"]] == [
        f"urn:uuid:{guidance['id']}",
        f"urn:uuid:{group['id']}",
    ]
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    missing = [inv.field for inv in a.next_investigations]
    missing += [m.field for o in a.options for m in o.missing if m.field not in missing]
    assert {k: v for k, v in guidance.items() if k != "dataRequirement"} == {
        "resourceType": "GuidanceResponse",
        "id": guidance["id"],
        "moduleUri": "urn:netmdt:knowledge-base:2026.11",
        "status": "data-required",
        "result": {"reference": f"urn:uuid:{group['id']}"},
        "note": [{"text": w} for w in a.warnings]
        + [{"text": f"knowledge base 2026.11 ({a.knowledge_base.fingerprint})"}],
        "occurrenceDateTime": "2026-11-27",
        "subject": {"reference": "Patient/si-net-patient"},
    }
    fields = [r["extension"][0]["valueString"] for r in guidance["dataRequirement"]]
    assert fields == list(dict.fromkeys(missing))
    progression = guidance["dataRequirement"][fields.index("disease.progression")]
    assert progression == {
        "type": "Condition",
        "extension": [{"url": "urn:netmdt:fhir:case-field", "valueString": "disease.progression"}],
    }
    assert {k: v for k, v in group.items() if k != "action"} == {
        "resourceType": "RequestGroup",
        "id": group["id"],
        "status": "draft",
        "intent": "proposal",
        "authoredOn": "2026-11-27",
        "subject": {"reference": "Patient/si-net-patient"},
    }
    codes = [[c["coding"][0]["code"] for c in action["code"]] for action in group["action"]]
    assert codes == [[o.option, o.verdict, o.funding.pathway] for o in a.options] + [
        [m.trial, m.verdict] for m in a.trials
    ]
    systems = {
        c["coding"][0]["system"]
        for action in group["action"][len(a.options) :]
        for c in action["code"]
    }
    assert systems == {"urn:netmdt:fhir:trial", "urn:netmdt:fhir:trial-verdict"}


def test_an_action_carries_the_verdict_reasons_funding_and_sources() -> None:
    case, a = si_net()
    group = to_fhir(a, case)["entry"][1]["resource"]
    ssa = a.option("ssa_long_acting")
    action = group["action"][[o.option for o in a.options].index("ssa_long_acting")]
    cited = list(dict.fromkeys(s for r in ssa.reasons for s in r.sources))
    sources = {s.id: s for s in a.knowledge_base.sources}
    assert action == {
        "title": ssa.name,
        "description": f"Verdict: recommended. {ssa.summary}\n"
        f"Funding: {ssa.funding.pathway.replace('_', ' ')}. {ssa.funding.note}",
        "textEquivalent": f"{ssa.name}: recommended",
        "code": [
            {
                "coding": [
                    {
                        "system": "urn:netmdt:fhir:option",
                        "code": "ssa_long_acting",
                        "display": ssa.name,
                    }
                ]
            },
            {"coding": [{"system": "urn:netmdt:fhir:verdict", "code": "recommended"}]},
            {
                "coding": [
                    {"system": "urn:netmdt:fhir:funding-pathway", "code": ssa.funding.pathway}
                ]
            },
        ],
        "documentation": [
            {
                "type": "citation",
                "label": s,
                "citation": sources[s].citation,
                **({"url": sources[s].url} if sources[s].url else {}),
            }
            for s in cited
        ],
    }


def test_a_complete_assessment_is_a_success_without_data_requirements() -> None:
    case, a = si_net()
    complete = a.model_copy(
        update={
            "next_investigations": [],
            "options": [o.model_copy(update={"missing": []}) for o in a.options],
        }
    )
    guidance = to_fhir(complete, case)["entry"][0]["resource"]
    assert guidance["status"] == "success"
    assert "dataRequirement" not in guidance


def test_the_same_assessment_gives_the_same_ids() -> None:
    case, a = si_net()
    assert to_fhir(a, case) == to_fhir(a, case)


def test_assess_format_fhir_prints_the_bundle(tmp_path: Path) -> None:
    out = tmp_path / "case.yaml"
    runner = CliRunner()
    imported = runner.invoke(
        app,
        [
            "fhir",
            "import",
            str(HERE / "si-net-bundle.json"),
            "--assessed-on",
            "2026-11-27",
            "--out",
            str(out),
        ],
    )
    assert imported.exit_code == 0
    result = runner.invoke(app, ["assess", str(out), "--format", "fhir"])
    assert result.exit_code == 0, result.output
    case, a = si_net()
    import json

    assert json.loads(result.stdout) == to_fhir(a, case)


def test_pending_checks_are_applicability_conditions_of_the_action() -> None:
    import yaml

    from netmdt import parse_case
    from netmdt.fhir.output import CASE_FIELD_EXT, PENDING_CHECK_LANGUAGE
    from netmdt.kb import default_kb_path
    from tests.kbfixture import before_treatment_kb

    data = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    data["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    case = parse_case(data)
    a = assess(case, before_treatment_kb())
    prrt = a.option("prrt_lu177_dotatate")
    bundle = to_fhir(a, case)
    Bundle.model_validate(bundle)
    group = bundle["entry"][1]["resource"]
    action = next(x for x in group["action"] if x["title"] == prrt.name)
    assert action["condition"] == [
        {
            "kind": "applicability",
            "extension": [{"url": CASE_FIELD_EXT, "valueString": p.field}],
            "expression": {
                "language": PENDING_CHECK_LANGUAGE,
                "description": f"Before treatment, not yet known: {p.text} "
                f"({p.label}: {p.how_to_find_out})",
                "expression": p.criterion,
            },
        }
        for p in prrt.pending_checks
    ]
    labels = ", ".join(dict.fromkeys(p.label for p in prrt.pending_checks))
    assert f"Subject to (checks before treatment): {labels}" in action["description"]
    assert "UNKNOWN" not in action["description"]  # pending checks are not unknown reasons
    guidance = bundle["entry"][0]["resource"]
    required = {e["extension"][0]["valueString"] for e in guidance.get("dataRequirement", [])}
    assert not required & {p.field for p in prrt.pending_checks} - {
        m.field for o in a.options for m in o.missing
    }
    untouched = next(x for x in group["action"] if x["title"] == a.option("telotristat").name)
    assert "condition" not in untouched
