"""``netmdt kb review list``'s filters and paging: the web worklist's (one service,
``gov.work_page``), in JSON and text, and a clear error for an unknown option."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from netmdt.governance import service as gov
from netmdt.kb import load_kb
from tests.governance.test_reviews import LEAD, _store_case, cli, db  # noqa: F401
from tests.webapp import db_url  # noqa: F401  (the SQLite / PostgreSQL fixture)


def _ids(result: object) -> list[str]:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    return [r["item"] for r in json.loads(result.stdout)]  # type: ignore[attr-defined]


def test_the_cli_lists_the_same_page_as_the_web_worklist(db: Session) -> None:  # noqa: F811
    kb = load_kb()
    _store_case(db, 4)
    gov.record_review(db, LEAD, kb, "thermal_ablation.few_lesions", "approved")
    ablation = gov.work_page(db, gov.centre_kb(db), scope="thermal_ablation", limit=500)
    expected = [w.state.item.id for w in ablation.rows]
    assert expected and "thermal_ablation.few_lesions" not in expected  # approved: not open
    assert all(i.startswith("thermal_ablation.") for i in expected)
    listed = cli(db, "kb", "review", "list", "--option", "thermal_ablation", "--format", "json")
    assert _ids(listed) == expected
    # every state, one trial, words to match, a page of two from the second
    rows = cli(
        db,
        "kb",
        "review",
        "list",
        "--status",
        "approved",
        "--option",
        "thermal_ablation",
        "--format",
        "json",
    )
    assert _ids(rows) == ["thermal_ablation.few_lesions"]
    netter = gov.work_page(db, gov.centre_kb(db), scope="trial:netter_3", text="ki-67", limit=500)
    assert [w.state.item.id for w in netter.rows] == ["trial:netter_3.ki67_lt_10"]
    words = cli(
        db,
        "kb",
        "review",
        "list",
        "--option",
        "trial:netter_3",
        "--text",
        "KI-67",
        "--format",
        "json",
    )
    assert _ids(words) == ["trial:netter_3.ki67_lt_10"]
    paged = cli(
        db,
        "kb",
        "review",
        "list",
        "--option",
        "thermal_ablation",
        "--limit",
        "2",
        "--offset",
        "1",
        "--format",
        "json",
    )
    assert _ids(paged) == expected[1:3]
    assert paged.stderr.strip() == f"2-3 of {len(expected)} item(s)"
    text = cli(db, "kb", "review", "list", "--option", "thermal_ablation", "--limit", "1")
    assert text.exit_code == 0, text.output
    assert [line.split("\t")[0] for line in text.stdout.splitlines()] == expected[:1]
    past = cli(db, "kb", "review", "list", "--option", "thermal_ablation", "--offset", "999")
    assert (past.exit_code, past.stdout, past.stderr.strip()) == (
        0,
        "",
        f"none of {len(expected)} item(s)",
    )


def test_an_unknown_option_is_a_clear_error(db: Session) -> None:  # noqa: F811
    bad = cli(db, "kb", "review", "list", "--option", "thermal_ablaton")
    assert (bad.exit_code, bad.stdout, bad.stderr.strip()) == (
        2,
        "",
        "error: option: 'thermal_ablaton' is not an option or trial of the knowledge base; "
        "did you mean 'thermal_ablation'? (an option id, e.g. thermal_ablation, or trial:ID, "
        "e.g. trial:netter_3)",
    )
    zero = cli(db, "kb", "review", "list", "--limit", "0")
    assert zero.exit_code == 2 and "--limit" in zero.stderr


def test_the_web_page_clamps_to_its_last_page(db: Session) -> None:  # noqa: F811
    kb = load_kb()
    whole = gov.work_page(db, kb, scope="thermal_ablation", limit=500)
    last = gov.work_page(db, kb, scope="thermal_ablation", offset=999, limit=2, clamp=True)
    start = (whole.total - 1) // 2 * 2
    assert (last.offset, last.rows) == (start, whole.rows[start:])
