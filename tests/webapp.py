"""Fixtures for the web app and API tests: a fresh database per test, on SQLite and on a
real PostgreSQL server (the ``db_url`` fixture runs each test on both), one user per
role with an API token, and helpers to log in through the real form."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from netmdt.api import create_app
from netmdt.api.routes import add_user, user_input
from netmdt.api.security import create_token
from netmdt.config import Settings

ROOT = Path(__file__).parent.parent
ROLES = ("admin", "coordinator", "clinician", "auditor", "clinical_lead")
PASSWORD = "correct horse battery staple"
_databases = itertools.count()


def example_facts() -> dict[str, Any]:
    """The bundled SI-NET example as case facts (JSON types; no id, no age: from DOB)."""
    raw = yaml.safe_load((ROOT / "src/netmdt/examples/si-net-liver-metastases.yaml").read_text())
    facts: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    facts.pop("id")
    facts.pop("age_years")
    return facts


PATIENT = {
    "name": "Ann Example",
    "date_of_birth": "1962-03-01",
    "nhs_number": "9434765919",
    "hospital_number": "H123456",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new database on the test cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'netmdt.db'}"
        return
    psycopg = pytest.importorskip("psycopg")
    conninfo = request.getfixturevalue("pg_conninfo")
    name = f"netmdt_test_{next(_databases)}"
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    params = dict(p.split("=", 1) for p in conninfo.split())
    yield f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/{name}"
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)")


@dataclass
class Harness:
    app: FastAPI
    client: TestClient
    tokens: dict[str, str]

    def h(self, role: str) -> dict[str, str]:
        """Headers for an API call as the user holding ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: str, method: str, path: str, **kw: Any) -> Any:
        response = self.client.request(method, path, headers=self.h(role), **kw)
        return response

    def patient(self, **changes: Any) -> dict[str, Any]:
        r = self.call("coordinator", "POST", "/api/patients", json={**PATIENT, **changes})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def case(self, patient_id: int, facts: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"title": "PRRT question", "facts": facts or example_facts()}
        r = self.call("coordinator", "POST", f"/api/patients/{patient_id}/cases", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def meeting(self, *case_ids: int) -> dict[str, Any]:
        r = self.call(
            "coordinator", "POST", "/api/meetings", json={"date": "2026-11-27", "title": "NET MDT"}
        )
        assert r.status_code == 201, r.text
        for case_id in case_ids:
            added = self.call(
                "coordinator",
                "POST",
                f"/api/meetings/{r.json()['id']}/agenda",
                json={"case_id": case_id},
            )
            assert added.status_code == 200, added.text
        return dict(r.json())

    def audit(self) -> list[dict[str, Any]]:
        r = self.call("auditor", "GET", "/api/audit", params={"limit": 5000})
        assert r.status_code == 200, r.text
        return list(r.json())


def make_harness(url: str, **settings: Any) -> Harness:
    settings.setdefault("cds_freeze_heap", False)
    app = create_app(Settings(database_url=url, secret_key="test-secret", **settings))
    tokens = {}
    with app.state.netmdt.sessions() as db:
        for role in ROLES:
            user = add_user(db, "test-setup", user_input(role, [role], PASSWORD))
            tokens[role] = create_token(db, user)
    return Harness(app, TestClient(app), tokens)


@pytest.fixture
def web(db_url: str) -> Iterator[Harness]:
    harness = make_harness(db_url)
    yield harness
    harness.client.close()
    harness.app.state.netmdt.engine.dispose()


@pytest.fixture
def sqlite_web(tmp_path: Path) -> Iterator[Harness]:
    """The app on SQLite only, for tests of the HTTP edge that storage does not affect."""
    harness = make_harness(f"sqlite:///{tmp_path / 'netmdt.db'}")
    yield harness
    harness.client.close()
    harness.app.state.netmdt.engine.dispose()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for later forms."""
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/login").text)


TODAY = date(2026, 11, 27)
