"""``netmdt registry ...`` and ``netmdt assess --db``: the status is set and audited, the
assessment carries it, the report and exports are written."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from netmdt.cli import app
from netmdt.store import tables as t
from netmdt.store.db import make_engine, session_factory
from tests.registry.test_api import SCENARIO

runner = CliRunner()


def test_status_set_is_audited_and_read_by_assess(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    shown = runner.invoke(app, ["registry", "status", "--db", url])
    assert shown.exit_code == 0 and shown.stdout.startswith("on_hold (the knowledge base's default")
    case = tmp_path / "case.json"
    import yaml

    case.write_text(json.dumps(yaml.safe_load(SCENARIO.read_text())["case"], default=str))

    def funding(*extra: str) -> dict[str, object]:
        r = runner.invoke(app, ["assess", str(case), "-f", "json", *extra])
        assert r.exit_code == 0, r.output
        a = json.loads(r.stdout)
        return dict(
            next(o["funding"] for o in a["options"] if o["option"] == "prrt_lu177_dotatate")
        )

    assert funding("--db", url)["registry_status"] == "on_hold"
    changed = runner.invoke(app, ["registry", "status", "--set", "open", "--db", url])
    assert changed.exit_code == 0 and changed.stdout.startswith("open\n")
    assert funding("--db", url)["registry_status"] == "open"
    assert funding()["registry_status"] == "on_hold"  # no --db: the knowledge base's own
    bad = runner.invoke(app, ["registry", "status", "--set", "paused", "--db", url])
    assert bad.exit_code == 2
    with session_factory(make_engine(url))() as db:
        events = db.scalars(
            select(t.AuditEvent).where(t.AuditEvent.record_type == "registry")
        ).all()
        assert [(e.action, e.detail["status"]) for e in events] == [("set_status", "open")]


def test_report_and_exports_on_an_empty_registry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    pdf = tmp_path / "report.pdf"
    r = runner.invoke(app, ["registry", "report", "--out", str(pdf), "--db", url])
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")
    r = runner.invoke(
        app,
        ["registry", "export", "--format", "redcap", "--out", str(tmp_path / "rc"), "--db", url],
    )
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "rc").iterdir()) == [
        "data_dictionary.csv",
        "records.csv",
    ]
    r = runner.invoke(
        app, ["registry", "export", "--format", "csv", "--out", str(tmp_path / "csv"), "--db", url]
    )
    assert r.exit_code == 0, r.output
    assert (
        (tmp_path / "csv" / "prrt_cycle.csv")
        .read_text()
        .startswith("record_id,instance,cycle_number")
    )
