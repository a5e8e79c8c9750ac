"""No identifier in any log (review 1, finding 10): a real uvicorn server with the
service's logging, real HTTP requests (httpx, which logs each request at INFO), and the
whole log captured and searched."""

from __future__ import annotations

import io
import logging
import logging.config
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from netmdt.api import create_app
from netmdt.api.logs import QUIET, log_config, redact
from netmdt.api.routes import add_user, user_input
from netmdt.api.security import create_token
from netmdt.config import Settings
from tests.webapp import PASSWORD, PATIENT, example_facts

NHS = PATIENT["nhs_number"]  # 9434765919
SECRETS = (NHS, "943 476 5919", "Ann Example", "H123456", "S3CRET", "nmdt_")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ["", "netmdt", "uvicorn", "uvicorn.error", "uvicorn.access", *QUIET]
    saved = {
        n: (
            logging.getLogger(n).level,
            list(logging.getLogger(n).handlers),
            logging.getLogger(n).propagate,
        )
        for n in names
    }
    yield
    for n, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(n)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_run_of_real_requests_logs_no_identifier(tmp_path: Path, restore_logging: Any) -> None:
    # As after an earlier uvicorn run with its default logging (e.g. another test's
    # server): uvicorn's logger has its own stderr handler and does not propagate.
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    port = free_port()
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'netmdt.db'}",
            secret_key="k",
            base_url=f"http://127.0.0.1:{port}",
            cds_freeze_heap=False,
        )
    )
    with app.state.netmdt.sessions() as db:
        user = add_user(db, "test", user_input("all", ["coordinator", "clinician"], PASSWORD))
        token = create_token(db, user)

    @app.get("/api/boom")
    def boom() -> None:  # an unhandled error whose message holds an identifier
        raise RuntimeError(f"failed for patient {NHS}")

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, access_log=False, log_config=log_config()
    )
    captured = io.StringIO()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(captured)  # type: ignore[type-var]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        base = f"http://S3CRET:pw@127.0.0.1:{port}"
        h = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=h) as client:
            assert client.post("/api/patients", json=PATIENT).status_code == 201
            assert client.get("/api/patients", params={"q": NHS}).status_code == 200
            assert client.get("/api/patients/1").status_code == 200
            facts = {"title": "t", "facts": example_facts()}
            assert client.post("/api/patients/1/cases", json=facts).status_code == 201
            assert client.post("/api/patients", json=PATIENT).status_code == 409
            bad = client.post("/api/patients", json={**PATIENT, "date_of_birth": NHS})
            assert bad.status_code == 422
            assert client.get(f"/patients/find?nhs_number={NHS}").status_code in (200, 303, 401)
            assert client.get(f"/api/patients/{NHS}").status_code == 422
            assert client.post("/login", data={"name": NHS, "password": "x"}).status_code == 403
        assert httpx.get(f"http://127.0.0.1:{port}/api/boom", headers=h).status_code == 500
        assert httpx.get(f"{base}/healthz?api_key=S3CRET-KEY").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)
    log = captured.getvalue()
    assert "netmdt.http" in log  # the request log itself is there
    assert "RuntimeError" in log  # and the error, without its identifying text
    found = {s for s in SECRETS if s in log}
    assert found == set(), log


@pytest.mark.parametrize(
    ("line", "clean"),
    [
        (
            'HTTP Request: GET https://u:p@ehr.example/fhir/Condition?patient=9434765919 "200"',
            'HTTP Request: GET https://[userinfo]@ehr.example/fhir/Condition?[query] "200"',
        ),
        ("patient 943 476 5919 not found", "patient [number] not found"),
        ("GET /api/cases/{case_id} 200 3.1ms", "GET /api/cases/{case_id} 200 3.1ms"),
    ],
)
def test_redaction(line: str, clean: str) -> None:
    assert redact(line) == clean
