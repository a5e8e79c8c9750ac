"""The MDT view of a case, the vocabulary of display names, the case narrative and the
case form's sections (issue 11, parts 1, 2 and 6)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import yaml

from netmdt.engine.schema import case_fields
from netmdt.kb import default_kb_path, load_kb
from netmdt.vocabulary import VALUES, fact_text, nhs_number, uk_date, value_name
from netmdt.web.caseview import blocking_facts, diagnosis, mdt_view
from netmdt.web.forms import outcomes, regimens
from tests.webapp import Harness, csrf_of, login

DEMO = default_kb_path().parent / "examples/demo"


def test_every_code_of_every_case_field_has_a_display_name() -> None:
    missing = [
        (path, code)
        for path, info in case_fields().items()
        for code in info.type.values
        if code not in VALUES.get(path, {})
    ]
    missing += [(p, c) for p in ("history.prior_treatments.outcome",) for c in outcomes()]
    missing += [(p, c) for p in ("history.prior_treatments.regimen",) for c in regimens()]
    missing = [(p, c) for p, c in missing if c not in VALUES.get(p, {})]
    assert missing == []


@pytest.mark.parametrize(
    ("path", "value", "shown"),
    [
        ("imaging.sstr.modality", "ga68_dotatate_pet", "Ga-68 DOTATATE PET"),
        ("tumour.resection_margin", "r0", "R0 (clear margins)"),
        ("disease.liver_metastases.present", True, "yes"),
        ("disease.liver_metastases.bilobar", False, "no"),
        ("disease.extrahepatic_metastases", [], "none"),
        ("tumour.functional_syndrome", ["none"], "non-functioning"),
        ("tumour.ki67_percent", 12, "12%"),
        ("disease.liver_metastases.largest_cm", 3.5, "3.5 cm"),
        ("labs.egfr_ml_min", 78.0, "78 mL/min"),
        ("disease.progression_date", "2026-12-01", "1 Dec 2026"),
        ("labs.inr", None, "unknown"),
        ("history.prior_surgery", ["small_bowel_resection"], "small bowel resection"),
    ],
)
def test_facts_read_in_words(path: str, value: object, shown: str) -> None:
    assert fact_text(path, value) == shown


def test_uk_dates_and_nhs_numbers() -> None:
    assert [uk_date(date(2026, 12, 1)), uk_date("2026-01-09"), uk_date(None)] == [
        "1 Dec 2026",
        "9 Jan 2026",
        "",
    ]
    assert [nhs_number("9990000018"), nhs_number("999 000 0018"), nhs_number("12")] == [
        "999 000 0018",
        "999 000 0018",
        "12",
    ]
    assert value_name("tumour.type", "net") == "well-differentiated NET"


def _demo(name: str) -> dict[str, object]:
    return dict(yaml.safe_load((DEMO / name).read_text()))


def test_the_mdt_view_of_the_demo_si_net() -> None:
    from netmdt import assess, parse_case

    kb = load_kb(default_kb_path())
    facts = _demo("demo-01-si-net-carcinoid-syndrome.yaml")
    a = assess(parse_case(facts), kb)
    view = mdt_view(a, kb, None, facts)
    assert diagnosis(facts) == (
        "Small-intestinal (jejunum or ileum) well-differentiated NET, G2, Ki-67 8%, "
        "stage: distant metastases (liver)"
    )
    assert [(line.label, line.text) for line in view.summary][3:6] == [
        (
            "Extent",
            "primary removed; no regional nodes; liver metastases (12 lesions, largest 4 cm, "
            "30% of liver, both lobes); outside the liver: none; not resectable for cure; "
            "liver-dominant",
        ),
        (
            "Receptor imaging",
            "Ga-68 DOTATATE PET 2 Oct 2026: positive, above liver, Krenning 4, all lesions "
            "avid; FDG PET negative",
        ),
        ("Progression", "Progressive (documented 1 Sep 2026)"),
    ]
    verdicts = [line.option.verdict for line in view.leading]
    assert verdicts == sorted(verdicts, key=["recommended", "consider"].index)
    assert {line.option.verdict for line in view.ruled_out} <= {
        "not_recommended",
        "contraindicated",
    }
    assert len(view.leading) + len(view.needs_info) + len(view.more_needs_info) + len(
        view.ruled_out
    ) == len(a.options)
    prrt = next(line for line in view.leading if line.option.option == "prrt_lu177_dotatate")
    assert prrt.deciding.startswith("An indication is present: progressive disease")
    assert prrt.funding == "NHS-commissioned"
    assert [(t.when, t.what, t.outcome) for t in view.timeline] == [
        (
            "1 Mar 2024",
            "Long-acting somatostatin analogue (octreotide LAR, lanreotide Autogel)",
            "progression",
        ),
        ("date not recorded", "small bowel resection", "surgery"),
    ]


def test_blocking_facts_are_merged_and_plainly_named() -> None:
    from netmdt import assess, parse_case

    kb = load_kb(default_kb_path())
    a = assess(parse_case(_demo("demo-12-si-net-no-sstr-imaging.yaml")), kb)
    found = blocking_facts(a)
    assert len(found) == 6
    assert found[0].label == "Progression in the last 12 months (RECIST)"
    assert found[0].ask == "ask radiology"
    assert [b.settles for b in found] == sorted((b.settles for b in found), reverse=True)


CODE_LIKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b|\b(?:True|False|None)\b|\['")


def _visible_text(html: str) -> str:
    """The text a person reads (no tags, attributes, scripts or styles), including the
    knowledge base's criteria, warnings and disagreement notes one click away in a
    ``<details>``: their references are written out when the knowledge base loads."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_case_sections_save_one_at_a_time_with_the_narrative_audited(web: Harness) -> None:
    patient = web.patient()
    token = login(web.client, "coordinator")
    new = web.client.get(f"/patients/{patient['id']}/cases/new")
    assert '<option value="nhs_england" selected>NHS England</option>' in new.text
    form = {
        "csrf_token": token,
        "title": "Referral",
        "narrative.question": "Is she a candidate for PRRT?",
        "narrative.pathology": "Ki-67 8% (MIB-1).",
        "section": "narrative",
    }
    r = web.client.post(f"/patients/{patient['id']}/cases", data=form, follow_redirects=False)
    assert r.status_code == 303
    case_id = int(r.headers["location"].split("/")[2])
    assert r.headers["location"] == f"/cases/{case_id}/edit?saved=narrative#section-patient"
    page = web.client.get(r.headers["location"]).text
    assert "Saved: Question and reports (version 1)." in page
    assert "Still unknown and blocking a decision" in page
    assert "Is she a candidate for PRRT?" in page
    form = {
        "csrf_token": csrf_of(page),
        "base_version": "1",
        "tumour.ki67_percent": "8%",
        "narrative.question": "Is she a candidate for PRRT?",
        "narrative.pathology": "Ki-67 8% (MIB-1).",
        "section": "tumour",
    }
    r = web.client.post(f"/cases/{case_id}/edit", data=form, follow_redirects=False)
    assert r.headers["location"] == f"/cases/{case_id}/edit?saved=tumour#section-disease"
    case = web.call("coordinator", "GET", f"/api/cases/{case_id}").json()
    assert case["version"] == 2 and case["facts"]["tumour"] == {"ki67_percent": 8}
    view = web.client.get(f"/cases/{case_id}").text
    assert "Question for the MDT:</strong> Is she a candidate for PRRT?" in view
    assert "Ki-67 8% (MIB-1)." in view
    events = [
        (e["action"], e["record_type"], e["detail"].get("version"))
        for e in web.audit()
        if e["record_type"] == "case_narrative" and e["action"] == "update"
    ]
    assert events == [("update", "case_narrative", 1)]  # the second save changed no text
    leaked = sorted(set(CODE_LIKE.findall(_visible_text(view))))
    assert leaked == [], leaked


def test_presentation_mode_keeps_only_local_prev_next_links(web: Harness) -> None:
    patient = web.patient()
    case = web.case(patient["id"])
    login(web.client, "clinician")
    page = web.client.get(
        f"/cases/{case['id']}",
        params={"present": "1", "prev": "/cases/7?present=1", "next": "https://evil.example/"},
    ).text
    assert '<body class="present">' in page
    assert '<a href="/cases/7?present=1" rel="prev" accesskey="p">' in page
    assert 'rel="next"' not in page
    assert '<script src="/static/present.js"></script>' in page


def test_the_mdt_view_asks_the_agenda_question_when_the_case_has_none(web: Harness) -> None:
    """The question the meeting records for the case (meeting package) heads the MDT view
    until the case records its own; the concordance page's title is only its title."""
    from netmdt.meeting import schemas as mschemas
    from netmdt.meeting import service as msvc
    from netmdt.store.services import Actor

    case = web.case(web.patient()["id"])
    meeting = web.meeting(case["id"])
    login(web.client, "clinician")
    head = '<p class="question"><strong>Question for the MDT:</strong> '
    assert head + case["title"] + "</p>" in web.client.get(f"/cases/{case['id']}").text
    with web.app.state.netmdt.sessions() as db:
        item = mschemas.ItemIn(question="PRRT or liver-directed therapy?")
        msvc.set_item(
            db, Actor("coord", frozenset({"coordinator"})), meeting["id"], case["id"], item
        )
    page = web.client.get(f"/cases/{case['id']}").text
    assert head + "PRRT or liver-directed therapy?</p>" in page
    login(web.client, "auditor")
    report = web.client.get("/reports/concordance").text
    assert "<title>Concordance" in report and "<h2" not in report.split("</title>")[0]
