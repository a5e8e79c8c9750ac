"""Schemathesis against the app's own ``/openapi.json``: generated requests to every
operation, as a user holding every role, and not one answer is a server error (5xx)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from netmdt.api import create_app
from netmdt.api.routes import add_user, user_input
from netmdt.api.security import create_token
from netmdt.config import Settings
from tests.webapp import PASSWORD, PATIENT, example_facts

TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A fresh SQLite file, or a fresh database on the test PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'netmdt.db'}"
        return
    psycopg = pytest.importorskip("psycopg")
    conninfo = request.getfixturevalue("pg_conninfo")
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("CREATE DATABASE netmdt_openapi")
    params = dict(p.split("=", 1) for p in conninfo.split())
    yield f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/netmdt_openapi"
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("DROP DATABASE netmdt_openapi WITH (FORCE)")


@pytest.fixture(scope="module")
def api_schema(database: str) -> Any:
    app = create_app(Settings(database_url=database, secret_key="fuzz", cds_freeze_heap=False))
    with app.state.netmdt.sessions() as session:
        user = add_user(
            session,
            "test",
            user_input("fuzzer", ["admin", "coordinator", "clinician", "auditor"], PASSWORD),
        )
        TOKEN["value"] = create_token(session, user)
    from fastapi.testclient import TestClient

    with TestClient(app) as client:  # some records, so that ids like 1 exist
        h = {"Authorization": f"Bearer {TOKEN['value']}"}
        client.post("/api/patients", json=PATIENT, headers=h)
        client.post(
            "/api/patients/1/cases", json={"title": "t", "facts": example_facts()}, headers=h
        )
        client.post("/api/meetings", json={"date": "2026-11-27", "title": "m"}, headers=h)
        client.post("/api/meetings/1/agenda", json={"case_id": 1}, headers=h)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors(api_schema: Any) -> None:
    """Every operation, 25 generated requests each (schemathesis' Hypothesis strategies;
    its pytest plugin does not run on this pytest)."""
    operations = [r.ok() for r in api_schema.get_all_operations()]
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def no_5xx(case: Any) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.path, response.text[:500])

        no_5xx()


def test_the_schema_lists_every_api_operation(api_schema: Any) -> None:
    paths = {
        f"{op.method.upper()} {op.path}" for op in (r.ok() for r in api_schema.get_all_operations())
    }
    assert {"POST /api/assess", "PUT /api/cases/{case_id}", "GET /healthz"} <= paths
    assert not any(
        p.startswith(("GET /cases", "GET /meetings ")) for p in paths
    )  # web pages are not API
