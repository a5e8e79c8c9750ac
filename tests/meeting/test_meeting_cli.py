"""``netmdt meeting minutes``: the demo meeting's minutes as a file; an unknown meeting
exits 2 naming it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from netmdt.cli import app
from netmdt.demo import load_demo
from netmdt.kb import load_kb
from netmdt.store.db import make_engine, migrate, session_factory
from tests.webapp import TODAY


def test_minutes_of_the_demo_meeting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    load_demo(session_factory(engine), load_kb(), TODAY)
    engine.dispose()
    out = tmp_path / "minutes.html"
    env = {"NETMDT_DATABASE_URL": url, "NETMDT_CENTRE_NAME": "Anytown NET Centre"}
    result = CliRunner().invoke(app, ["meeting", "minutes", "1", "--out", str(out)], env=env)
    assert (result.exit_code, result.stdout) == (0, f"wrote {out}\n")
    text = out.read_text()
    for words in ["Anytown NET Centre", "Minutes: NET MDT (demo), 27 Nov 2026",
                  "Quorate: every core role was present.",
                  "Renal function and full blood count before the first dose",
                  "Deferred (awaiting the liver MRI)"]:  # fmt: skip
        assert words in text, words
    missing = CliRunner().invoke(app, ["meeting", "minutes", "99", "--out", str(out)], env=env)
    assert (missing.exit_code, missing.stderr) == (2, "error: meeting 99 not found\n")
