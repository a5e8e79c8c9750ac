"""Trial criteria as review items (``trial:<trial>.<criterion>``): in the items and the
worklist, reviewed from the CLI, lapsing on a change of their rule, text or sources (and
not otherwise), and carried by an assessment's trial reasons against a database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from netmdt.assessment import CentreReview
from netmdt.engine.assess import assess
from netmdt.fhir.output import to_fhir
from netmdt.governance import service as gov
from netmdt.governance.items import kb_items
from netmdt.kb import load_kb
from netmdt.store import services as svc
from netmdt.store.services import case_of
from tests.governance.test_reviews import (  # noqa: F401  (fixtures)
    LEAD,
    STAFF,
    _copy,
    _edit,
    _liver_facts,
    _store_case,
    cli,
    db,
)
from tests.webapp import db_url  # noqa: F401  (the SQLite / PostgreSQL fixture)

KI67 = "trial:netter_3.ki67_lt_10"
SSTR = "trial:netter_3.sstr_ge_liver"
DIAGNOSED = "trial:netter_3.diagnosed_within_6_months"


def test_every_trial_criterion_is_an_item() -> None:
    kb = load_kb()
    items = kb_items(kb)
    trial_items = {i for i in items if i.startswith("trial:")}
    expected = {f"trial:{trial.id}.{c.id}" for trial in kb.trials.values() for c in trial.criteria}
    assert trial_items == expected and len(expected) > 50
    item = items[SSTR]
    assert (item.kind, item.option, item.group, item.evidence, item.review_needed) == (
        "trial_criterion",
        "trial:netter_3",
        "inclusion",
        "S",
        True,
    )
    assert item.content["rule"] == 'in(imaging.sstr.uptake_vs_liver, ["above", "equal"])'
    # the card's age limit is a criterion too (made from min_age_years)
    assert items["trial:netter_3.min_age"].text == "Aged 12 or over"


def test_a_trial_review_lapses_on_its_content_only(db: Session, tmp_path: Path) -> None:  # noqa: F811
    root = _copy(tmp_path)
    before = load_kb(root)
    for item in (KI67, SSTR, DIAGNOSED):
        gov.record_review(db, LEAD, before, item, "approved")
    card = root / "trials" / "netter_3.yaml"
    _edit(card, "when: tumour.ki67_percent < 10", "when: tumour.ki67_percent <= 10")
    _edit(
        card,
        "https://ctv.veeva.com/study/study-to-evaluate",
        "https://example.org/study/study-to-evaluate",
    )
    _edit(card, "Novartis (Advanced Accelerator Applications)", "Novartis")  # unrelated
    states = gov.item_states(db, load_kb(root))
    assert {i: states[i].state for i in (KI67, SSTR, DIAGNOSED)} == {
        KI67: "lapsed",
        SSTR: "lapsed",
        DIAGNOSED: "approved",
    }
    assert [line for line in states[KI67].diff() if line[:1] in "+-"] == [
        "--- reviewed",
        "+++ now",
        '-  "rule": "<(tumour.ki67_percent, 10)",',
        '+  "rule": "<=(tumour.ki67_percent, 10)",',
    ]


def test_trial_criteria_are_reviewed_from_the_cli(db: Session) -> None:  # noqa: F811
    ok = cli(db, "kb", "review", "approve", KI67, "--as", "lead", "--comment", "as registered")
    assert (ok.exit_code, ok.stderr.split(" (")[0]) == (0, f"{KI67}: approved by lead")
    rejected = cli(db, "kb", "review", "reject", SSTR, "--as", "lead", "--comment", "memo not read")
    assert rejected.exit_code == 0, rejected.output
    shown = cli(db, "kb", "review", "show", KI67)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == f"{KI67} (trial criterion, inclusion): approved"
    rows = json.loads(
        cli(db, "kb", "review", "list", "--status", "rejected", "--format", "json").stdout
    )
    assert [(r["item"], r["review"]["comment"]) for r in rows] == [(SSTR, "memo not read")]


def test_trial_reasons_carry_the_centre_review(db: Session) -> None:  # noqa: F811
    kb = load_kb()
    case_id = _store_case(db, 4)
    gov.record_review(db, LEAD, kb, KI67, "approved")
    _, assessment, _ = svc.current_assessment(db, STAFF, kb, case_id)
    netter = next(m for m in assessment.trials if m.trial == "netter_3")
    reviews = {r.criterion: r.review for r in netter.reasons}
    assert all(isinstance(r, CentreReview) for r in reviews.values())
    assert reviews["ki67_lt_10"].model_dump() == {  # type: ignore[union-attr]
        "status": "approved",
        "by": "lead",
        "on": date.today(),
        "verdict": "approved",
        "local_settings": [],
    }
    assert reviews["sstr_ge_liver"].model_dump() == {  # type: ignore[union-attr]
        "status": "awaiting",
        "by": None,
        "on": None,
        "verdict": None,
        "local_settings": [],
    }
    # without a database: the card's own flag, as before
    plain = next(m for m in assess(case_of(case_id, _liver_facts(4)), kb).trials)
    assert all(isinstance(r.review, bool) for r in plain.reasons)


def test_the_worklist_ranks_trial_criteria_by_the_cases_they_decide(db: Session) -> None:  # noqa: F811
    kb = load_kb()
    _store_case(db, 4)
    _store_case(db, 2)
    # netter_3 is possibly eligible for both (age and diagnosis date unknown): its unknown
    # criteria decide; compose fails on Ki-67 alone; pelican fails two criteria (none decides)
    assert sorted(gov.trial_deciders(kb, case_of(1, _liver_facts(4)))) == [
        "trial:carefndr.min_age",
        "trial:compose.ki67_15_to_55",
        "trial:level.lung_or_thymic_net_advanced",
        "trial:litespark_015.pnet_g1_g2",
        "trial:litespark_015.ppgl_histology",
        DIAGNOSED,
        "trial:netter_3.max_age",
        "trial:netter_3.min_age",
    ]
    work = {w.state.item.id: w.cases for w in gov.worklist(db, kb)}
    assert (work[DIAGNOSED], work["trial:pelican.nec_histology"], work[KI67]) == (2, 0, 0)


def test_fhir_output_carries_the_centre_review_of_trial_criteria(db: Session) -> None:  # noqa: F811
    kb = load_kb()
    case_id = _store_case(db, 4)
    gov.record_review(db, LEAD, kb, DIAGNOSED, "approved")
    _, assessment, _ = svc.current_assessment(db, STAFF, kb, case_id)
    case = case_of(case_id, _liver_facts(4))
    group = to_fhir(assessment, case)["entry"][1]["resource"]
    netter = next(m for m in assessment.trials if m.trial == "netter_3")
    action = next(x for x in group["action"] if x["code"][0]["coding"][0]["code"] == "netter_3")
    assert action["code"] == [
        {
            "coding": [
                {"system": "urn:netmdt:fhir:trial", "code": "netter_3", "display": "NETTER-3"}
            ]
        },
        {"coding": [{"system": "urn:netmdt:fhir:trial-verdict", "code": "possibly_eligible"}]},
    ]
    assert action["textEquivalent"] == "NETTER-3: possibly eligible"
    words = {r.criterion: f"{r.label.upper()}: {r.text}" for r in netter.reasons}
    criteria = [
        line
        for line in action["description"].splitlines()
        if line.startswith(("INCLUSION", "EXCLUSION"))
    ]
    # the criteria that do not pass (as an option's unmet and unknown ones), each with
    # the centre's review; the one reviewed says who and when
    assert criteria == [
        f"{words[r.criterion]} ({_expected(r.criterion)})"
        for r in netter.reasons
        if r.outcome != "passes"
    ]
    assert (
        f"{words['diagnosed_within_6_months']} (reviewed at this centre by lead, {date.today()})"
        in criteria
    )
    # without a database: the card's flag, not shown (as for options)
    plain = assess(case, kb)
    plain_action = next(
        x
        for x in to_fhir(plain, case)["entry"][1]["resource"]["action"]
        if x["code"][0]["coding"][0]["code"] == "netter_3"
    )
    assert words["diagnosed_within_6_months"] in plain_action["description"].splitlines()


def _expected(criterion: str) -> str:
    if criterion == "diagnosed_within_6_months":
        return f"reviewed at this centre by lead, {date.today()}"
    return "awaiting review"
