"""``POST /api/assess`` is served by a plain Starlette endpoint (``routes.assess_request``)
rather than through FastAPI's request machinery; it must answer every request as the
FastAPI route did. The expected answers below were recorded from the FastAPI route
(``assess_case``) before the change: the order of the checks (body, then role, then the
``view`` parameter and the body's type together), each error's status, code and
location, the Content-Type rules of a JSON body, and the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netmdt.api.routes import assess_request
from tests.webapp import Harness, make_harness

JSON = {"content-type": "application/json"}
DECODE = ("json_invalid", "JSON decode error")
DICT = ("dict_type", "Input should be a valid dictionary")
VIEW = ("literal_error", "Input should be 'full' or 'summary'")
BAD_BODY = (400, "bad_request", "There was an error parsing the body")
DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = make_harness(f"sqlite:///{tmp_path_factory.mktemp('assess') / 'netmdt.db'}")
    yield h
    h.client.close()
    h.app.state.netmdt.engine.dispose()


def post(h: Harness, role: str, body: bytes, headers: dict[str, str], query: str = "") -> Any:
    return h.client.post("/api/assess" + query, content=body, headers={**h.h(role), **headers})


def problems(r: Any) -> list[tuple[str, str, str]]:
    return [(p["where"], p["code"], p["message"]) for p in r.json()["error"]["problems"]]


@pytest.mark.parametrize(
    ("role", "body", "headers", "query", "expected"),
    [
        # A JSON body: parsed as FastAPI parses it.
        ("clinician", b"", JSON, "", [("", "missing", "Field required")]),
        ("clinician", b"", {}, "", [("", "missing", "Field required")]),
        ("clinician", b"{nope", JSON, "", [("1", *DECODE)]),
        ("clinician", b"[1, 2]", JSON, "", [("", *DICT)]),
        ("clinician", b'"x"', JSON, "", [("", *DICT)]),
        ("clinician", b"null", JSON, "", [("", *DICT)]),
        # Only a JSON Content-Type makes the body JSON (none at all does not).
        ("clinician", b'{"id": "x"}', {}, "", [("", *DICT)]),
        ("clinician", b'{"id": "x"}', {"content-type": "text/plain"}, "", [("", *DICT)]),
        ("clinician", b'{"id": "x"}', {"content-type": "application/jsonx"}, "", [("", *DICT)]),
        (
            "clinician",
            b"id=x",
            {"content-type": "application/x-www-form-urlencoded"},
            "",
            [("", *DICT)],
        ),
        # The view and the body's type are reported together, the view first.
        ("clinician", b'{"id": "x"}', JSON, "?view=nope", [("query.view", *VIEW)]),
        ("clinician", b'{"id": "x"}', JSON, "?view=", [("query.view", *VIEW)]),
        ("clinician", b'{"id": "x"}', JSON, "?view=summary&view=nope", [("query.view", *VIEW)]),
        ("clinician", b"[1]", JSON, "?view=nope", [("query.view", *VIEW), ("", *DICT)]),
        # A bad JSON body is refused before the view is looked at.
        ("clinician", b"{nope", JSON, "?view=nope", [("1", *DECODE)]),
        # The case itself: the case format's own problems.
        ("clinician", b'{"tumour": {"type": "carcinoid"}}', JSON, "", ["tumour.type"]),
        ("clinician", b'{"id": "\\ud800"}', JSON, "", ["id"]),
        ("clinician", b'{"id": "\xed\xa0\x80"}', JSON, "", ["id"]),
        ("clinician", b'{"id": "x", "age_years": NaN}', JSON, "", ["age_years"]),
        (
            "clinician",
            b'{"context": ' + b"[" * 100 + b"]" * 100 + b"}",
            JSON,
            "",
            ["context" + ".0" * 63],
        ),
        # The body is read and parsed before the role is checked; then the role.
        ("auditor", b"{nope", JSON, "", [("1", *DECODE)]),
        ("auditor", b"[1]", JSON, "", 403),
        ("auditor", b"", JSON, "", 403),
        ("auditor", b'{"id": "x"}', JSON, "?view=nope", 403),
        ("auditor", DEEP, JSON, "", BAD_BODY),
        ("clinician", DEEP, JSON, "", BAD_BODY),
        ("clinician", b'{"id": "x", "age_years": ' + b"9" * 5000 + b"}", JSON, "", BAD_BODY),
        ("clinician", '{"id": "é"}'.encode("latin-1"), JSON, "", BAD_BODY),
    ],
)
def test_assess_answers_as_the_fastapi_route_did(
    harness: Harness, role: str, body: bytes, headers: dict[str, str], query: str, expected: Any
) -> None:
    r = post(harness, role, body, headers, query)
    if expected == 403:
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
        assert r.json()["error"]["message"] == "needs the role coordinator or clinician"
    elif expected == BAD_BODY:
        assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == BAD_BODY
    elif isinstance(expected[0], str):
        assert r.status_code == 422, r.text
        assert [p[0] for p in problems(r)] == expected
    else:
        assert r.status_code == 422, r.text
        assert problems(r) == expected


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/fhir+json"],
)
def test_every_json_content_type_is_assessed(harness: Harness, content_type: str) -> None:
    for body in (b'{"id": "x"}', b'\xef\xbb\xbf{"id": "x"}', '{"id": "x"}'.encode("utf-16")):
        r = post(harness, "coordinator", body, {"content-type": content_type}, "?view=summary")
        assert r.status_code == 200, (body, r.text)
        assert (r.json()["case_id"], r.json()["view"]) == ("x", "summary")
    # Duplicate keys: the last one, as json.loads has it.
    r = post(harness, "clinician", b'{"id": "x", "id": "y"}', {"content-type": content_type})
    assert r.json()["case_id"] == "y"


def test_the_plain_endpoint_serves_and_is_logged_by_its_template(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    routes = [
        getattr(r, "endpoint", None) for r in harness.app.router.routes if hasattr(r, "endpoint")
    ]
    assert assess_request not in routes  # it lives on the API router, matched first there
    with caplog.at_level("INFO", logger="netmdt.http"):
        r = post(harness, "clinician", b'{"id": "x"}', JSON, "?view=summary")
    assert r.status_code == 200
    assert any("POST /api/assess 200" in m for m in caplog.messages)


def test_the_schema_documents_the_case_body_and_the_view(harness: Harness) -> None:
    op = harness.client.get("/openapi.json").json()["paths"]["/api/assess"]["post"]
    assert op["operationId"] == "assess_case_api_assess_post"
    assert op["requestBody"] == {
        "content": {
            "application/json": {
                "schema": {
                    "additionalProperties": True,
                    "description": "A case in the case format (v1); nothing is stored",
                    "title": "Case",
                    "type": "object",
                }
            }
        },
        "required": True,
    }
    ((param),) = op["parameters"]
    assert (param["name"], param["in"], param["schema"]["enum"]) == (
        "view",
        "query",
        ["full", "summary"],
    )
