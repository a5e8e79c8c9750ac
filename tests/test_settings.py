"""``NETMDT_*`` settings that are not valid: a clear error naming each variable, from the
library (``load_settings``), the app factory and every command, never a traceback and
never the value (it may be a secret)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import netmdt
from netmdt.api.app import create_app
from netmdt.config import Settings, load_settings
from netmdt.errors import SettingsError

EXAMPLE = Path(netmdt.__file__).parent / "examples" / "si-net-liver-metastases.yaml"
FOOTER = "The NETMDT_* settings and what each allows are listed in docs/web.md."


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):  # a copy: deleting while iterating fails
        if name.startswith("NETMDT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _problems(error: SettingsError) -> list[tuple[str, str]]:
    return [(p.where, p.message) for p in error.problems]


@pytest.mark.parametrize(
    ("env", "problems"),
    [
        pytest.param(
            {
                "NETMDT_SESSION_HOURS": "-1",
                "NETMDT_DEFAULT_HEALTH_SYSTEM": "nhs_mars",
                "NETMDT_HTTPS": "perhaps",
            },
            [
                ("NETMDT_HTTPS", "Input should be a valid boolean, unable to interpret input"),
                ("NETMDT_SESSION_HOURS", "Input should be greater than 0"),
                (
                    "NETMDT_DEFAULT_HEALTH_SYSTEM",
                    "Input should be 'nhs_england', 'nhs_scotland', 'nhs_wales' or 'other'",
                ),
            ],
            id="every invalid variable, with what it allows",
        ),
        pytest.param(
            {"NETMDT_ALLOWED_HOSTS": "mdt.example.nhs.uk"},
            [
                (
                    "NETMDT_ALLOWED_HOSTS",
                    'is not valid JSON: give a JSON list of strings, e.g. ["first", "second"]',
                )
            ],
            id="a list that is not JSON says how to write one",
        ),
        pytest.param(
            {"NETMDT_CORS_ORIGINS": '["https://ehr.example", 7]'},
            [("NETMDT_CORS_ORIGINS[1]", "Input should be a valid string")],
            id="an item of a list is named by its index",
        ),
    ],
)
def test_each_invalid_variable_is_named(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], problems: list[tuple[str, str]]
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert _problems(caught.value) == problems


def test_the_value_is_never_repeated(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NETMDT_TOKEN_EXPIRY_DAYS", "hunter2-secret")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)
    assert [p.where for p in caught.value.problems] == ["NETMDT_TOKEN_EXPIRY_DAYS"]


def test_valid_settings_load_as_before(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NETMDT_SESSION_HOURS", "8")
    clean_env.setenv("NETMDT_ALLOWED_HOSTS", '["mdt.example.nhs.uk"]')
    assert load_settings() == Settings(session_hours=8, allowed_hosts=["mdt.example.nhs.uk"])


def test_the_app_factory_raises_the_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("NETMDT_MAX_BODY_BYTES", "10")
    with pytest.raises(SettingsError) as caught:
        create_app()
    assert _problems(caught.value) == [
        ("NETMDT_MAX_BODY_BYTES", "Input should be greater than or equal to 1024")
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "0"],
        ["trials", "list"],
        ["db", "upgrade"],
        ["assess", str(EXAMPLE), "--db", "{db}"],
    ],
    ids=["serve", "trials list", "db upgrade", "assess --db"],
)
def test_commands_exit_2_with_the_error_not_a_traceback(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETMDT_")}
    env["NETMDT_SESSION_HOURS"] = "none"
    env["NETMDT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'netmdt.db'}"
    args = [a.replace("{db}", env["NETMDT_DATABASE_URL"]) for a in command]
    done = subprocess.run(
        [sys.executable, "-m", "netmdt", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not (tmp_path / "netmdt.db").exists()  # the settings are read first
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (
        2,
        [
            "NETMDT_SESSION_HOURS: Input should be a valid number, unable to parse string "
            "as a number",
            FOOTER,
        ],
        "",
    )
