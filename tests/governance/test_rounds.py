"""Review rounds with several reviewers (SQLite and PostgreSQL): a clinical lead opens a
round, invited clinical leads and clinicians respond once each, the lead closes it with
the final review, which is the review that counts; checked, audited, from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from netmdt.governance import rounds
from netmdt.governance import service as gov
from netmdt.kb import load_kb
from netmdt.store import services as svc
from netmdt.store import tables as t
from tests.governance.test_reviews import LEAD, _copy, _edit, cli, db  # noqa: F401
from tests.webapp import db_url  # noqa: F401  (the SQLite / PostgreSQL fixture)

ITEMS = ["thermal_ablation.few_lesions", "trial:netter_3.ki67_lt_10"]
DOC = svc.Actor("doc", frozenset({"clinician"}))


def _users(session: Session) -> None:
    session.add(t.User(name="doc2", password_hash="x", roles=["clinician"]))
    session.add(t.User(name="coord", password_hash="x", roles=["coordinator"]))
    session.commit()


def test_a_round_from_the_cli_closes_with_the_review_that_counts(db: Session) -> None:  # noqa: F811
    _users(db)
    opened = cli(
        db, "kb", "review", "round", "open", *ITEMS, "--as", "lead",
        "--reviewer", "doc", "--reviewer", "doc2", "--note", "ablation limits",
    )  # fmt: skip
    assert (opened.exit_code, opened.stdout.strip()) == (0, "round 1 opened"), opened.output
    ok = cli(
        db, "kb", "review", "round", "respond", "1", "--as", "doc", "--verdict", "approved",
        "--comment", "agree",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    refused = [
        cli(db, "kb", "review", "round", "respond", "1", "--as", "doc", "--verdict", "approved"),
        cli(db, "kb", "review", "round", "respond", "1", "--as", "lead", "--verdict", "approved"),
        cli(db, "kb", "review", "round", "respond", "1", "--as", "doc2", "--verdict", "rejected"),
        cli(db, "kb", "review", "round", "close", "1", "--as", "doc", "--verdict", "approved"),
        cli(db, "kb", "review", "round", "open", ITEMS[0], "--as", "lead", "--reviewer", "coord"),
    ]
    assert [(r.exit_code, r.stderr.strip()) for r in refused] == [
        (2, "error: as: 'doc' has already responded in round 1"),
        (2, "error: as: 'lead' is not invited to round 1"),
        (2, "error: comment: a rejected verdict needs a comment"),
        (2, "error: as: needs the clinical_lead role"),
        (
            2,
            "error: reviewers: 'coord': not an active user with the clinical_lead or "
            "clinician role",
        ),
    ]
    assert {i: s.state for i, s in gov.item_states(db, load_kb()).items() if i in ITEMS} == {
        ITEMS[0]: "awaiting",
        ITEMS[1]: "awaiting",
    }  # responses alone are not the review
    closed = cli(
        db, "kb", "review", "round", "close", "1", "--as", "lead", "--verdict", "approved",
        "--comment", "agreed by the round",
    )  # fmt: skip
    assert closed.exit_code == 0, closed.output
    shown = json.loads(cli(db, "kb", "review", "round", "show", "1", "--format", "json").stdout)
    on = shown["opened_on"]
    assert shown == {
        "round": 1,
        "state": "closed",
        "items": sorted(ITEMS),
        "reviewers": ["doc", "doc2"],
        "note": "ablation limits",
        "opened_by": "lead",
        "opened_on": on,
        "responses": [{"reviewer": "doc", "verdict": "approved", "comment": "agree", "on": on}],
        "waiting_for": ["doc2"],
        "closed_by": "lead",
        "cancelled": False,
        "closed_on": on,
        "verdict": "approved",
        "comment": "agreed by the round",
    }
    states = gov.item_states(db, load_kb())
    assert [(states[i].state, states[i].review.round_id) for i in ITEMS] == [  # type: ignore[union-attr]
        ("approved", 1),
        ("approved", 1),
    ]
    item_shown = cli(db, "kb", "review", "show", ITEMS[0])
    assert f"review: approved by lead, {on} (round 1): agreed by the round" in item_shown.stdout
    again = cli(db, "kb", "review", "round", "close", "1", "--as", "lead", "--verdict", "approved")
    assert (again.exit_code, again.stderr.strip()) == (2, "error: round: round 1 is already closed")
    late = cli(db, "kb", "review", "round", "respond", "1", "--as", "doc2", "--verdict", "approved")
    assert (late.exit_code, late.stderr.strip()) == (2, "error: round: round 1 is already closed")
    events = db.scalars(
        select(t.AuditEvent)
        .where(t.AuditEvent.record_type == "kb_review_round")
        .order_by(t.AuditEvent.id)
    ).all()
    assert [(e.actor, e.action, e.record_id) for e in events] == [
        ("lead", "open", "1"),
        ("doc", "respond", "1"),
        ("lead", "close", "1"),
    ]
    # the single-review contract keeps working beside rounds
    gov.record_review(db, LEAD, load_kb(), ITEMS[0], "rejected", "back to the MDT")
    assert gov.item_states(db, load_kb())[ITEMS[0]].state == "rejected"


def test_a_round_binds_the_content_it_opened_over(db: Session, tmp_path: Path) -> None:  # noqa: F811
    root = _copy(tmp_path)
    before = load_kb(root)
    rnd = rounds.open_round(db, LEAD, before, [ITEMS[0]], ["doc"])
    rounds.respond(db, DOC, rnd.row.id, "approved")
    _edit(
        root / "options" / "thermal_ablation.yaml",
        "liver metastases (configurable default)",
        "liver metastases (set locally)",
    )
    rounds.close_round(db, LEAD, rnd.row.id, "approved")
    # the content changed while the round was open: the closed review is lapsed at once
    assert gov.item_states(db, load_kb(root))[ITEMS[0]].state == "lapsed"
    assert gov.item_states(db, before)[ITEMS[0]].state == "approved"


def test_a_lead_invites_more_reviewers_and_cancels_a_round(db: Session) -> None:  # noqa: F811
    _users(db)
    opened = cli(
        db, "kb", "review", "round", "open", *ITEMS, "--as", "lead", "--reviewer", "doc",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    invited = cli(db, "kb", "review", "round", "invite", "1", "--as", "lead", "--reviewer", "doc2")
    assert (invited.exit_code, invited.stderr.strip()) == (
        0,
        "round 1: invited doc2; reviewers now doc, doc2",
    )
    ok = cli(db, "kb", "review", "round", "respond", "1", "--as", "doc2", "--verdict", "approved")
    assert ok.exit_code == 0, ok.output
    refused = [
        cli(db, "kb", "review", "round", "invite", "1", "--as", "lead", "--reviewer", "doc"),
        cli(db, "kb", "review", "round", "invite", "1", "--as", "lead", "--reviewer", "coord"),
        cli(db, "kb", "review", "round", "invite", "1", "--as", "doc", "--reviewer", "lead"),
        cli(db, "kb", "review", "round", "cancel", "1", "--as", "doc", "--reason", "no"),
        cli(db, "kb", "review", "round", "cancel", "1", "--as", "lead", "--reason", "  "),
        cli(db, "kb", "review", "round", "cancel", "9", "--as", "lead", "--reason", "x"),
    ]
    assert [(r.exit_code, r.stderr.strip()) for r in refused] == [
        (2, "error: reviewers: 'doc': already invited to round 1"),
        (
            2,
            "error: reviewers: 'coord': not an active user with the clinical_lead or "
            "clinician role",
        ),
        (2, "error: as: needs the clinical_lead role"),
        (2, "error: as: needs the clinical_lead role"),
        (2, "error: reason: say why the round is cancelled"),
        (2, "error: review round 9 not found"),
    ]
    cancelled = cli(
        db, "kb", "review", "round", "cancel", "1", "--as", "lead", "--reason", "wrong items",
    )  # fmt: skip
    assert (cancelled.exit_code, cancelled.stderr.strip()) == (0, "round 1 cancelled by lead")
    shown = json.loads(cli(db, "kb", "review", "round", "show", "1", "--format", "json").stdout)
    on = shown["opened_on"]
    assert shown == {
        "round": 1,
        "state": "cancelled",
        "items": sorted(ITEMS),
        "reviewers": ["doc", "doc2"],
        "note": None,
        "opened_by": "lead",
        "opened_on": on,
        "responses": [{"reviewer": "doc2", "verdict": "approved", "comment": None, "on": on}],
        "waiting_for": ["doc"],
        "closed_by": "lead",
        "cancelled": True,
        "closed_on": on,
        "verdict": None,
        "comment": "wrong items",
    }
    text = cli(db, "kb", "review", "round", "show", "1").stdout.splitlines()
    assert text[-1] == f"cancelled by lead {on}: wrong items (no review recorded)"
    # no review written: the items are still awaiting
    states = gov.item_states(db, load_kb())
    assert [(states[i].state, states[i].review) for i in ITEMS] == [
        ("awaiting", None),
        ("awaiting", None),
    ]
    after = [
        cli(db, "kb", "review", "round", "close", "1", "--as", "lead", "--verdict", "approved"),
        cli(db, "kb", "review", "round", "respond", "1", "--as", "doc", "--verdict", "approved"),
        cli(db, "kb", "review", "round", "invite", "1", "--as", "lead", "--reviewer", "lead"),
        cli(db, "kb", "review", "round", "cancel", "1", "--as", "lead", "--reason", "again"),
    ]
    assert {(r.exit_code, r.stderr.strip()) for r in after} == {
        (2, "error: round: round 1 is already cancelled")
    }
    events = db.scalars(
        select(t.AuditEvent)
        .where(t.AuditEvent.record_type == "kb_review_round")
        .order_by(t.AuditEvent.id)
    ).all()
    assert [(e.actor, e.action, e.record_id) for e in events] == [
        ("lead", "open", "1"),
        ("lead", "invite", "1"),
        ("doc2", "respond", "1"),
        ("lead", "cancel", "1"),
    ]
