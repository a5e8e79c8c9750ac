"""The app's edge (``netmdt.api.limits``): body limits, authentication before the body,
trusted hosts, the security headers (500s included), CSP and HSTS. Review 1, findings
7, 13, 16 and 18."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from netmdt.api import limits
from tests.webapp import Harness, csrf_of, make_harness

LIMIT = 64 * 1024


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Harness]:
    """The app with a 64 KiB body limit."""
    harness = make_harness(f"sqlite:///{tmp_path / 'netmdt.db'}", max_body_bytes=LIMIT)
    yield harness
    harness.client.close()
    harness.app.state.netmdt.engine.dispose()


def too_large(limit: int = LIMIT) -> dict[str, Any]:
    return {
        "error": {
            "code": "too_large",
            "message": f"the request body is larger than the limit of {limit:,} bytes",
            "problems": [],
        }
    }


def test_a_body_over_the_limit_is_refused_by_its_content_length(small: Harness) -> None:
    body = json.dumps({"title": "t", "facts": {"context": {"preferences": ["x" * LIMIT]}}})
    r = small.call("coordinator", "POST", "/api/patients/1/cases", content=body)
    assert (r.status_code, r.json()) == (413, too_large())
    assert r.headers["x-frame-options"] == "DENY"


def test_a_streamed_body_over_the_limit_is_refused_while_it_is_read(small: Harness) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for _ in range(100):
            yield b" " * 4096

    r = small.client.post(
        "/api/assess",
        content=chunks(),
        headers={**small.h("coordinator"), "content-type": "application/json"},
    )
    assert (r.status_code, r.json()) == (413, too_large())


def test_a_streamed_body_stops_being_read_when_it_passes_the_limit() -> None:
    """The middleware itself: the app reading a chunked body gets 413 at the chunk that
    passes the limit; the rest is never asked for."""
    calls = []

    async def receive() -> dict[str, Any]:
        calls.append(1)
        return {"type": "http.request", "body": b"x" * 40, "more_body": True}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass

    async def send(message: Any) -> None:
        raise AssertionError("nothing is sent by the middleware itself here")

    scope = {"type": "http", "method": "POST", "path": "/api/assess", "headers": []}
    with pytest.raises(HTTPException) as raised:
        asyncio.run(limits.BodyLimit(app, limit=100)(scope, receive, send))
    assert raised.value.status_code == 413
    assert len(calls) == 3  # 120 bytes > 100


def test_a_body_under_the_limit_is_read(small: Harness) -> None:
    r = small.call("coordinator", "POST", "/api/assess", json={"id": "x"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "path",
    ["/api/assess", "/api/patients", "/api/meetings/1/agenda", "/meetings", "/patients/1/cases"],
)
def test_an_unauthenticated_write_is_refused_before_its_body_is_read(
    small: Harness, path: str
) -> None:
    """Was: FastAPI parsed the body first (a 100,000-deep JSON answered 400, not 401)."""
    read = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"[" * 30_000 + b"]" * 30_000

    r = small.client.post(path, content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 401
    assert read == []
    if path.startswith("/api/"):
        assert r.json()["error"]["code"] == "not_authenticated"
        assert r.headers["www-authenticate"] == "Bearer"
    else:
        assert 'action="/login"' in r.text  # the login form


def test_a_wrong_token_is_refused_before_the_body_is_read(small: Harness) -> None:
    r = small.client.post(
        "/api/assess", content=b"[" * 50_000, headers={"Authorization": "Bearer nmdt_wrong"}
    )
    assert r.status_code == 401


def test_a_multipart_file_is_refused_at_login(small: Harness) -> None:
    token = csrf_of(small.client.get("/login").text)
    r = small.client.post(
        "/login",
        data={"csrf_token": token, "name": "x", "password": "y"},
        files={"upload": ("a.bin", b"\0" * 1000)},
    )
    assert r.status_code == 400


def test_a_host_not_allowed_is_refused(small: Harness) -> None:
    r = small.client.get("/healthz", headers={"host": "evil.example"})
    assert r.status_code == 400
    assert small.client.get("/healthz", headers={"host": "127.0.0.1:8000"}).status_code == 200


@pytest.mark.parametrize("path", ["/patients/", "/api/patients/", "/login/", "/meetings/"])
def test_redirects_never_reflect_the_host_header(sqlite_web: Harness, path: str) -> None:
    """Was: ``Location: http://evil.example/patients`` for ``Host: evil.example``."""
    app = sqlite_web.app
    client = TestClient(app, base_url="http://localhost", follow_redirects=False)
    r = client.get(path + "?nhs_number=9434765919", headers=sqlite_web.h("clinician"))
    assert r.status_code == 307
    assert r.headers["location"] == path.rstrip("/") + "?nhs_number=9434765919"


def test_allowed_hosts_come_from_the_setting_or_the_base_url() -> None:
    from netmdt.config import Settings

    assert limits.allowed_hosts(Settings(allowed_hosts=["mdt.example.nhs.uk"])) == [
        "mdt.example.nhs.uk"
    ]
    default = limits.allowed_hosts(Settings(base_url="https://mdt.example.nhs.uk/netmdt"))
    assert "mdt.example.nhs.uk" in default
    assert "evil.example" not in default


def test_csp_allows_only_the_app_itself_and_hsts_only_with_https(
    sqlite_web: Harness, tmp_path: Path
) -> None:
    r = sqlite_web.client.get("/login")
    assert r.headers["content-security-policy"].startswith("default-src 'self';")
    assert "strict-transport-security" not in r.headers
    https = make_harness(f"sqlite:///{tmp_path / 'https.db'}", https=True)
    assert https.client.get("/login").headers["strict-transport-security"] == "max-age=31536000"
    https.app.state.netmdt.engine.dispose()


def test_no_third_party_javascript_is_served(sqlite_web: Harness) -> None:
    """FastAPI's /docs and /redoc load their scripts from a CDN: disabled."""
    for path in ("/docs", "/redoc"):
        assert sqlite_web.client.get(path).status_code in (401, 404), path
    assert sqlite_web.client.get("/openapi.json").status_code == 200


def test_an_unhandled_error_answers_500_in_the_error_shape_with_the_security_headers(
    sqlite_web: Harness,
) -> None:
    app = sqlite_web.app

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/api/boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "server_error"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"] == limits.CSP


def test_a_nul_in_a_query_parameter_is_a_422_naming_it(sqlite_web: Harness) -> None:
    """Was: 500 on PostgreSQL (text cannot hold NUL)."""
    r = sqlite_web.call("clinician", "GET", "/api/patients?q=a%00")
    assert r.status_code == 422
    assert r.json()["error"]["problems"] == [
        {
            "where": "q",
            "message": "the value contains a NUL character (\\u0000), which is not allowed",
            "code": "invalid_text",
        }
    ]
