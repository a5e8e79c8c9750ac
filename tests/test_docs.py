"""Docs that cannot drift: what the code defines, the docs name."""

from __future__ import annotations

import re
from pathlib import Path

import netmdt.errors
from netmdt.assessment import VERDICTS
from netmdt.cli import app, kb_app
from netmdt.engine.ops import REGISTRY

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
KB_DOC = (ROOT / "docs/knowledge-base.md").read_text()
ERRORS_DOC = (ROOT / "docs/errors.md").read_text()
LOAD = (ROOT / "src/netmdt/kb/load.py").read_text()


def test_every_error_class_is_documented() -> None:
    classes = [
        n
        for n, v in vars(netmdt.errors).items()
        if isinstance(v, type)
        and issubclass(v, netmdt.errors.NetmdtError)
        and not n.startswith("_")
    ]
    for name in classes:
        assert f"`{name}`" in ERRORS_DOC, name
        assert name in (netmdt.errors.__doc__ or ""), name


def test_every_linter_problem_code_is_documented() -> None:
    calls = re.findall(r"(?:self|ck)\.problem\((.*?)\)\n", LOAD, flags=re.DOTALL)
    codes = {m.group(1) for c in calls if (m := re.search(r',\s*"([a-z_]+)",?\s*$', c))}
    assert codes, "no problem codes found"
    for code in codes:
        assert f"`{code}`" in ERRORS_DOC, code


def test_every_operator_and_function_is_documented() -> None:
    for name in REGISTRY:
        word = name.split()[-1]
        assert word in KB_DOC, name


def test_every_verdict_and_command_is_in_the_readme() -> None:
    for verdict in VERDICTS:
        assert f"`{verdict}`" in README, verdict
    commands = [c.name for c in app.registered_commands] + [
        f"kb {c.name}" for c in kb_app.registered_commands
    ]
    for command in commands:
        assert f"netmdt {command}" in README, command


def test_the_readme_example_is_the_real_output() -> None:
    from typer.testing import CliRunner

    example = str(ROOT / "src/netmdt/examples/si-net-liver-metastases.yaml")
    result = CliRunner().invoke(app, ["assess", example], env={"COLUMNS": "110"})
    marker = "110 columns wide (verdicts also in colour):\n\n```\n"
    start = README.index(marker) + len(marker)
    assert README[start : README.index("```", start)] == result.stdout


def test_every_setting_is_documented() -> None:
    from netmdt.config import Settings

    web_doc = (ROOT / "docs/web.md").read_text()
    for name in Settings.model_fields:
        assert f"`NETMDT_{name.upper()}`" in web_doc, name


def test_every_subcommand_is_in_the_readme() -> None:
    for group in app.registered_groups:
        assert group.typer_instance is not None
        for command in group.typer_instance.registered_commands:
            assert f"netmdt {group.name} {command.name}" in README, (group.name, command.name)
