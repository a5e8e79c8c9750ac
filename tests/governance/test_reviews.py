"""Reviews, settings and releases against a database (SQLite and PostgreSQL): a review
lapses when its content changes and only then; the CLI and the audit log; releases with
their impact; the review status in assessments; MDT deviations back to the worklist."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from netmdt.cli import app
from netmdt.engine.assess import summarize
from netmdt.governance import service as gov
from netmdt.governance.words import local_words, review_words
from netmdt.kb import default_kb_path, load_kb
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.store import tables as t
from netmdt.store.db import make_engine, migrate, session_factory
from tests.webapp import db_url  # noqa: F401  (the SQLite / PostgreSQL fixture)

LEAD = svc.Actor("lead", frozenset({"clinical_lead"}))
STAFF = svc.Actor("staff", frozenset({"coordinator", "clinician"}))
SCENARIOS = Path(__file__).parent.parent / "scenarios"
runner = CliRunner()


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:  # noqa: F811
    engine = make_engine(db_url)
    migrate(engine)
    with session_factory(engine)() as session:
        session.add(t.User(name="lead", password_hash="x", roles=["clinical_lead"]))
        session.add(t.User(name="doc", password_hash="x", roles=["clinician"]))
        session.commit()
        yield session
    engine.dispose()


def _url(db: Session) -> str:
    return db.get_bind().engine.url.render_as_string(hide_password=False)


def cli(db: Session, *args: str) -> Any:
    return runner.invoke(app, [*args, "--db", _url(db)])


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(default_kb_path(), root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


ITEMS = [
    "thermal_ablation.few_lesions",  # its text will change
    "thermal_ablation.small_lesions",  # only its group_reason will change
    "surgery_curative.something_to_remove",  # a shared definition it uses will change
    "surgery_curative.ecog_le_1",  # untouched
]


def test_a_review_lapses_when_its_content_changes_and_not_otherwise(
    db: Session, tmp_path: Path
) -> None:
    root = _copy(tmp_path)
    before = load_kb(root)
    for item in ITEMS:
        gov.record_review(db, LEAD, before, item, "approved")
    ablation = root / "options" / "thermal_ablation.yaml"
    _edit(ablation, "liver metastases (configurable default)", "liver metastases (set locally)")
    _edit(
        ablation,
        '"lesion size on liver imaging decides feasibility; MDT fact"',
        '"lesion size decides feasibility"',
    )
    _edit(ablation, "Local destruction of a small number", "Local destruction of a few")
    _edit(
        root / "definitions.yaml",
        "tumour.primary_size_cm > 2",
        "tumour.primary_size_cm >= 2",
    )
    after = load_kb(root)
    states = gov.item_states(db, after)
    assert {i: states[i].state for i in ITEMS} == {
        "thermal_ablation.few_lesions": "lapsed",
        "thermal_ablation.small_lesions": "approved",
        "surgery_curative.something_to_remove": "lapsed",
        "surgery_curative.ecog_le_1": "approved",
    }
    assert [line for line in states["thermal_ablation.few_lesions"].diff() if line[:1] in "+-"] == [
        "--- reviewed",
        "+++ now",
        '-  "text": "At most {max_ablation_lesions} liver metastases (configurable default)"',
        '+  "text": "At most {max_ablation_lesions} liver metastases (set locally)"',
    ]
    # a local value is not a content change: the review stands under any setting
    local = load_kb(settings={"max_ablation_lesions": 3})
    assert gov.item_states(db, local)["thermal_ablation.small_lesions"].state == "approved"
    assert gov.item_states(db, local)["thermal_ablation.few_lesions"].state == "approved"


def test_review_from_the_cli_is_checked_and_audited(db: Session) -> None:
    item = "prrt_lu177_dotatate.type_suitable"
    ok = cli(db, "kb", "review", "approve", item, "--as", "lead", "--comment", "as NICE TA539")
    assert (ok.exit_code, ok.stderr.split(" (")[0]) == (0, f"{item}: approved by lead")
    refused = [
        cli(db, "kb", "review", "approve", item, "--as", "doc"),
        cli(db, "kb", "review", "approve", item, "--as", "nobody"),
        cli(db, "kb", "review", "reject", item, "--as", "lead"),
        cli(db, "kb", "review", "approve", "prrt_lu177_dotatate.type_suitabel", "--as", "lead"),
    ]
    assert [(r.exit_code, r.stderr.strip()) for r in refused] == [
        (2, "error: as: user 'doc' does not have the clinical_lead role"),
        (2, "error: active user 'nobody' not found"),
        (2, "error: comment: a rejected verdict needs a comment"),
        (
            2,
            "error: item: 'prrt_lu177_dotatate.type_suitabel' is not an item of the knowledge "
            "base; did you mean 'prrt_lu177_dotatate.type_suitable'? (ITEM is option.criterion, "
            "e.g. prrt_lu177_dotatate.type_suitable)",
        ),
    ]
    rejected = cli(
        db, "kb", "review", "reject", "thermal_ablation.few_lesions", "--as", "lead",
        "--comment", "our IR team ablates up to 3",
    )  # fmt: skip
    assert rejected.exit_code == 0, rejected.output
    listed = cli(db, "kb", "review", "list", "--status", "approved", "--format", "json")
    rows = json.loads(listed.stdout)
    assert [(r["item"], r["state"], r["review"]["by"], r["review"]["comment"]) for r in rows] == [
        (item, "approved", "lead", "as NICE TA539")
    ]
    rejected_rows = json.loads(
        cli(db, "kb", "review", "list", "--status", "rejected", "--format", "json").stdout
    )
    assert [r["item"] for r in rejected_rows] == ["thermal_ablation.few_lesions"]
    shown = cli(db, "kb", "review", "show", item)
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == f"{item} (criterion, requirements): approved"
    assert "review: approved by lead" in shown.stdout
    events = db.scalars(
        select(t.AuditEvent).where(t.AuditEvent.record_type == "kb_item").order_by(t.AuditEvent.id)
    ).all()
    assert [(e.actor, e.action, e.record_id, e.detail["status"]) for e in events] == [
        ("lead", "review", item, "approved"),
        ("lead", "review", "thermal_ablation.few_lesions", "rejected"),
    ]


def _liver_facts(count: int) -> dict[str, Any]:
    data = yaml.safe_load(
        (SCENARIOS / "liver-01-si-net-uncontrolled-syndrome-liver-dominant.yaml").read_text()
    )
    facts: dict[str, Any] = json.loads(json.dumps(copy.deepcopy(data["case"]), default=str))
    for key in ("id", "age_years", "assessed_on"):
        facts.pop(key, None)
    facts["disease"]["liver_metastases"].update({"count": count, "largest_cm": 2})
    return facts


def _store_case(db: Session, count: int) -> int:
    patient = svc.create_patient(
        db, STAFF, s.PatientIn(name=f"Test {count}", date_of_birth=date(1970, 1, 1))
    )
    case = svc.create_case(
        db, STAFF, load_kb(), patient.id, s.CaseCreate(title="liver", facts=_liver_facts(count))
    )
    return case.id


def test_a_setting_applies_when_its_release_is_activated(db: Session, tmp_path: Path) -> None:
    four, two = _store_case(db, 4), _store_case(db, 2)
    bad = cli(db, "kb", "settings", "set", "max_ablation_lesions", "7", "--as", "lead")
    assert (bad.exit_code, bad.stderr.strip()) == (
        2,
        "error: max_ablation_lesions: 7 is above the maximum 5 liver metastases",
    )
    ok = cli(db, "kb", "settings", "set", "max_ablation_lesions", "3", "--as", "lead")
    assert ok.exit_code == 0, ok.output
    assert gov.centre_kb(db) is load_kb()  # recorded, not yet in force
    shown = cli(db, "kb", "release", "show")
    assert shown.exit_code == 0, shown.output
    assert "in force: none (the bundled defaults)" in shown.stdout
    assert f"case-{four}\tthermal_ablation\tconsider -> not_recommended" in shown.stdout
    assert f"case-{two}\t" not in shown.stdout
    activated = cli(db, "kb", "release", "activate", "--as", "lead", "--yes")
    assert activated.exit_code == 0, activated.output
    assert "release 2026.11-r1 activated by lead" in activated.stderr
    kb = gov.centre_kb(db)
    assert kb.settings == {"max_ablation_lesions": 3}
    release = gov.active_release(db)
    assert release is not None
    assert (release.settings, release.impact["cases"], len(release.impact["changes"])) == (
        {"max_ablation_lesions": 3},
        2,
        1,
    )
    screened = cli(db, "screen", "--out", str(tmp_path / "r.csv"))
    assert screened.exit_code == 0, screened.output
    rows = (tmp_path / "r.csv").read_text().splitlines()
    verdicts = {tuple(r.split(",")[:2]): r.split(",")[2] for r in rows[1:]}
    assert verdicts[(f"case-{four}", "thermal_ablation")] == "not_recommended"  # the release
    gov.record_review(db, LEAD, kb, "thermal_ablation.few_lesions", "approved")
    _, assessment, stored_id = svc.current_assessment(db, STAFF, kb, four)
    assert gov.release_of(db, stored_id) == release
    assert assessment.option("thermal_ablation").verdict == "not_recommended"
    governed = gov.governed(db, kb, assessment)
    reasons = {r.criterion: r for r in governed.option("thermal_ablation").reasons}
    today = date.today()
    assert reasons["few_lesions"].review.model_dump() == {  # type: ignore[union-attr]
        "status": "approved",
        "by": "lead",
        "on": today,
        "verdict": "approved",
        "local_settings": [
            {
                "name": "max_ablation_lesions",
                "value": 3,
                "default": 5,
                "unit": "liver metastases",
                "by": "lead",
                "on": today,
            }
        ],
    }
    assert reasons["small_lesions"].review.model_dump() == {  # type: ignore[union-attr]
        "status": "awaiting",
        "by": None,
        "on": None,
        "verdict": None,
        "local_settings": [],
    }
    assert review_words(reasons["few_lesions"].review) == (
        f"reviewed at this centre by lead, {today}"
    )
    assert local_words(reasons["few_lesions"].review) == [
        f"local setting max_ablation_lesions = 3 liver metastases (default 5; set by lead, {today})"
    ]
    actions = db.scalars(
        select(t.AuditEvent.action).where(
            t.AuditEvent.record_type.in_(["kb_setting", "kb_release"])
        )
    ).all()
    assert list(actions) == ["set", "activate", "reassess"]


def test_a_deviation_saying_the_rule_is_wrong_reopens_its_review(db: Session) -> None:
    case_id = _store_case(db, 4)
    kb = load_kb()
    gov.record_review(db, LEAD, kb, "liver_embolisation.liver_dominant", "approved")
    _, assessment, _ = svc.current_assessment(db, STAFF, kb, case_id)
    summary = {o.option: o for o in summarize(assessment).options}
    negative = [o for o, x in summary.items() if x.verdict == "not_recommended" and x.deciding]
    chosen = negative[0]
    deciding = f"{chosen}.{summary[chosen].deciding.criterion}"  # type: ignore[union-attr]
    gov.record_review(db, LEAD, kb, deciding, "approved")
    meeting = svc.create_meeting(db, STAFF, s.MeetingIn(date=date.today(), title="NET MDT"))
    svc.add_to_agenda(db, STAFF, meeting.id, case_id)
    svc.record_decision(
        db,
        STAFF,
        kb,
        meeting.id,
        case_id,
        s.DecisionIn(
            chosen=[chosen],
            rationale="the MDT chose it",
            deviation_reason="guideline_outdated",
            deviation_text="the criterion predates the 2025 update",
        ),
    )
    states = gov.item_states(db, kb)
    assert (states[deciding].state, len(states[deciding].reopened_by)) == ("needs_discussion", 1)
    assert states["liver_embolisation.liver_dominant"].state == "approved"
    work = gov.worklist(db, kb)
    first = next(w for w in work if w.state.item.id == deciding)
    assert (first.cases, first.decisions, [d["reason"] for d in first.deviations]) == (
        1,
        1,
        ["guideline_outdated"],
    )
    assert work[0].cases >= 1  # ranked by the stored cases each item decides


def test_after_an_upgrade_the_report_says_a_new_release_is_due(db: Session) -> None:
    gov.set_setting(db, LEAD, load_kb(), "transplant_max_age", 55)
    release = gov.activate_release(db, LEAD, gov.draft_release(db))
    assert gov.centre_kb(db).settings == {"transplant_max_age": 55}
    # as if netmdt were upgraded: other content, and a range the value no longer fits
    release.content_fingerprint = "sha256:0000000000000000"
    release.settings = {"transplant_max_age": 58}
    db.commit()
    assert gov.centre_kb(db) is load_kb()  # the defaults apply meanwhile
    report = gov.report(db, gov.centre_kb(db))
    assert report["release_state"] == {
        "release": "2026.11-r1",
        "bundled_changed": True,
        "settings_apply": False,
    }
    lines = gov.report_lines(report)
    assert (
        "The bundled knowledge base changed since the release in force: review the lapsed "
        "items and activate a new release." in lines
    )


def test_the_cds_card_says_who_reviewed_the_deciding_criterion(tmp_path: Path) -> None:
    """Issue 15: the CDS card, made at each call with the centre's knowledge base and
    reviews, ends a leading option's deciding reason with its review at the centre."""
    from netmdt import assess, parse_case
    from netmdt.api import create_app
    from netmdt.api.app import cds_centre
    from netmdt.cdshooks.cards import deciding_reason, leading, short_name
    from netmdt.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/n.db", secret_key="t",
                              cds_freeze_heap=False))  # fmt: skip
    state = app.state.netmdt
    data = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    kb, govern = cds_centre(state)()
    before = assess(parse_case(data), kb)
    option = next(o for o in before.options if o.verdict in ("recommended", "consider"))
    _, reason = deciding_reason(option)
    assert reason is not None
    bullet = f"- **{short_name(option.name)}**: "

    def line(a: Any) -> str:
        return next(ln for ln in "\n".join(leading(a)).splitlines() if ln.startswith(bullet))

    assert "(awaiting review)" in line(govern(before))
    assert "review" not in line(before)  # no database: the card as before
    with state.sessions() as db:
        gov.record_review(db, LEAD, kb, f"{option.option}.{reason.criterion}", "approved")
    kb, govern = cds_centre(state)()  # read again at the next call
    today = date.today().isoformat()
    assert f"(reviewed at this centre by {LEAD.name}, {today})" in line(govern(before))
