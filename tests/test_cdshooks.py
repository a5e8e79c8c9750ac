"""The CDS Hooks 2.0 service: discovery, a patient-view call, every refused token, 412,
fetching from the FHIR server, feedback. Tokens are real JWTs signed by keys made here."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from benchmarks.cdshooks import prefetch_from
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.servicerequest import ServiceRequest

from netmdt.cdshooks import (
    PREFETCH,
    SERVICE_ID,
    CardEvent,
    CdsConfig,
    FeedbackEvent,
    InMemoryJtiStore,
    create_cds_router,
)

HERE = Path(__file__).parent
BASE = "https://netmdt.example.org/cds-services"
APP = "https://netmdt.example.org"
EHR = "https://ehr.example.org"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algo = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algo.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


JWKS = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS384"), _jwk(EC_KEY, "ec-1", "ES384")]}


def token(
    key: Any = RSA_KEY,
    alg: str = "RS384",
    kid: str = "rsa-1",
    **claims: Any,
) -> str:
    now = int(time.time())
    body = {
        "iss": EHR,
        "sub": "ehr-client",
        "aud": f"{BASE}/{SERVICE_ID}",
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


class Recorder:
    def __init__(self) -> None:
        self.feedback: list[FeedbackEvent] = []
        self.cards: list[CardEvent] = []


def make_client(
    recorder: Recorder, transport: httpx.AsyncBaseTransport | None = None
) -> TestClient:
    config = CdsConfig(
        service_base_url=BASE + "/",
        app_base_url=APP,
        trusted_issuers={EHR: JWKS},
        jti_store=InMemoryJtiStore(),
        freeze_heap=False,  # the test process creates many routers
    )
    app = FastAPI()
    app.include_router(
        create_cds_router(
            config,
            on_feedback=recorder.feedback.append,
            on_card=recorder.cards.append,
            clock=lambda: NOW,
            http_transport=transport,
        )
    )
    return TestClient(app)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> TestClient:
    return make_client(recorder)


def prefetch_of(bundle_path: Path) -> dict[str, Any]:
    """The six prefetch keys filled from a Bundle, as an EHR would send them."""
    return prefetch_from([e["resource"] for e in json.loads(bundle_path.read_text())["entry"]])


def hook_body(prefetch: dict[str, Any] | None, patient: str = "si-net-patient") -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/123", "patientId": patient},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def call(client: TestClient, body: dict[str, Any], bearer: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return client.post(f"/cds-services/{SERVICE_ID}", json=body, headers=headers)


SI_NET = prefetch_of(HERE / "fhir/si-net-bundle.json")


def test_discovery_lists_the_patient_view_service_with_its_prefetch(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    service = response.json()["services"][0]
    assert response.json() == {"services": [service]}
    assert {k: service[k] for k in ("hook", "id", "prefetch")} == {
        "hook": "patient-view",
        "id": "netmdt-patient-view",
        "prefetch": {
            "patient": "Patient/{{context.patientId}}",
            "conditions": "Condition?patient={{context.patientId}}",
            "observations": "Observation?patient={{context.patientId}}",
            "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
            "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
            "procedures": "Procedure?patient={{context.patientId}}",
        },
    }


def _stable(card: dict[str, Any]) -> dict[str, Any]:
    """The card with its random uuids replaced, so it can be compared whole."""
    text = json.dumps(card)
    for u in [card["uuid"], *(s["uuid"] for s in card.get("suggestions", []))]:
        text = text.replace(u, "UUID")
    return json.loads(text)


EXPECTED_DETAIL = (
    (
        "**Key options that cannot be judged yet:** Surgery with curative intent, Lu-177 "
        "DOTATATE PRRT (Lutathera, lutetium (177Lu) oxodotreotide).\n\n"
    )
    + """\
**Recommended**
- Long-acting somatostatin analogue (octreotide LAR, lanreotide Autogel)

**Consider**
- Short-acting octreotide (subcutaneous or intravenous)
- Best supportive care (symptom control and palliative care, no anticancer treatment)

**Insufficient information**
"""
)


def test_a_patient_view_call_returns_one_card_built_from_the_prefetch(
    client: TestClient, recorder: Recorder
) -> None:
    response = call(client, hook_body(SI_NET), token())
    assert response.status_code == 200, response.text
    timing = [part.split(";")[0] for part in response.headers["server-timing"].split(", ")]
    assert timing == ["import", "assess", "card"]
    cards = response.json()["cards"]
    assert len(cards) == 1
    card = _stable(cards[0])
    assert card["detail"].startswith(EXPECTED_DETAIL)
    assert {k: v for k, v in card.items() if k not in ("detail", "suggestions")} == {
        "uuid": "UUID",
        "summary": "NET MDT options (netmdt): 1 recommended, 2 consider, 13 need more information",
        "indicator": "warning",
        "source": card["source"],
        "overrideReasons": [
            {
                "system": "urn:netmdt:cds:override-reason",
                "code": "mdt-decided-otherwise",
                "display": "The MDT has decided otherwise",
            },
            {
                "system": "urn:netmdt:cds:override-reason",
                "code": "patient-preference",
                "display": "The patient's preference",
            },
            {
                "system": "urn:netmdt:cds:override-reason",
                "code": "record-out-of-date",
                "display": "The record is incomplete or out of date",
            },
            {
                "system": "urn:netmdt:cds:override-reason",
                "code": "not-relevant",
                "display": "Not relevant to this patient now",
            },
        ],
        "links": [
            {
                "label": "Full netmdt assessment",
                "url": "https://netmdt.example.org/patients/find?nhs_number=9000000009",
                "type": "absolute",
            }
        ],
        "selectionBehavior": "any",
    }
    assert card["source"]["label"] == "netmdt, knowledge base 2026.11"
    assert card["source"]["url"].startswith("http")
    assert len(card["summary"]) < 140
    first = card["suggestions"][0]
    assert first == {
        "label": first["label"],
        "uuid": "UUID",
        "actions": [
            {
                "type": "create",
                "description": first["actions"][0]["description"],
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "proposal",
                    "subject": {"reference": "Patient/si-net-patient"},
                    "code": first["actions"][0]["resource"]["code"],
                    "reasonCode": first["actions"][0]["resource"]["reasonCode"],
                },
            }
        ],
    }
    assert first["label"] == "Find out: Progression in the last 12 months (RECIST)"
    ServiceRequest.model_validate(first["actions"][0]["resource"])
    [event] = recorder.cards
    assert event == CardEvent(
        service_id=SERVICE_ID,
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        card_uuid=cards[0]["uuid"],
        patient_fhir_id="si-net-patient",
        summary=cards[0]["summary"],
        indicator="warning",
        knowledge_base_version="2026.11",
        knowledge_base_fingerprint=event.knowledge_base_fingerprint,
        issuer=EHR,
        issued_at=NOW,
    )


def test_a_token_signed_with_an_ec_key_is_accepted(client: TestClient) -> None:
    response = call(client, hook_body(SI_NET), token(EC_KEY, "ES384", "ec-1"))
    assert response.status_code == 200, response.text


def test_without_an_nhs_number_the_link_uses_the_fhir_id(client: TestClient) -> None:
    prefetch = prefetch_of(HERE / "fhir/pnet-bundle.json")
    response = call(client, hook_body(prefetch, "pnet-patient"), token())
    assert response.status_code == 200, response.text
    assert response.json()["cards"][0]["links"][0]["url"] == (
        "https://netmdt.example.org/patients/find?fhir_id=pnet-patient"
    )


def _hs256_with_public_key() -> str:
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": EHR, "aud": f"{BASE}/{SERVICE_ID}", "exp": now + 300, "iat": now, "jti": "x1"}
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(claims).encode())
    import hashlib
    import hmac

    signing_input = header + b"." + body
    sig = hmac.new(pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(sig)).decode()


def _alg_none() -> str:
    now = int(time.time())
    claims = {"iss": EHR, "aud": f"{BASE}/{SERVICE_ID}", "exp": now + 300, "iat": now, "jti": "x2"}
    return jwt.encode(claims, None, algorithm="none")


BAD_TOKENS = {
    "missing": (lambda: None, "missing_token"),
    "garbage": (lambda: "not-a-jwt", "invalid_token"),
    "alg_none": (_alg_none, "unsupported_algorithm"),
    "hs256_signed_with_the_public_key": (_hs256_with_public_key, "unsupported_algorithm"),
    "expired": (
        lambda: token(exp=int(time.time()) - 120, iat=int(time.time()) - 300),
        "expired_token",
    ),
    "wrong_audience": (
        lambda: token(aud="https://elsewhere.example.org/cds-services"),
        "wrong_audience",
    ),
    "unknown_issuer": (lambda: token(iss="https://stranger.example.org"), "unknown_issuer"),
    "signed_by_another_key": (lambda: token(OTHER_KEY), "invalid_signature"),
    "unknown_kid": (lambda: token(kid="nope"), "invalid_token"),
    "no_jti": (lambda: token(jti=None), "invalid_token"),
    "no_iat": (lambda: token(iat=None), "invalid_token"),
    "lives_an_hour": (lambda: token(exp=int(time.time()) + 3600), "invalid_token"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_a_bad_token_is_refused_with_401_and_the_error_shape(
    client: TestClient, recorder: Recorder, case: str
) -> None:
    make, code = BAD_TOKENS[case]
    response = call(client, hook_body(SI_NET), make())
    assert response.status_code == 401
    body = response.json()
    assert body == {"error": {"code": code, "message": body["error"]["message"]}}
    assert response.headers["www-authenticate"] == f'Bearer error="{code}"'
    assert "si-net" not in response.text
    assert recorder.cards == []


def test_a_replayed_token_is_refused(client: TestClient) -> None:
    once = token()
    assert call(client, hook_body(SI_NET), once).status_code == 200
    again = call(client, hook_body(SI_NET), once)
    assert again.status_code == 401
    assert again.json() == {
        "error": {"code": "replayed_token", "message": "this token (jti) has been used before"}
    }


def test_the_service_url_itself_is_an_accepted_audience(client: TestClient) -> None:
    assert call(client, hook_body(SI_NET), token(aud=BASE)).status_code == 200


def test_missing_prefetch_without_a_fhir_server_is_412(client: TestClient) -> None:
    partial = {k: v for k, v in SI_NET.items() if k != "observations"}
    response = call(client, hook_body(partial), token())
    assert response.status_code == 412
    assert response.json() == {
        "error": {
            "code": "prefetch_missing",
            "message": "prefetch observations missing and no fhirServer with fhirAuthorization "
            "to fetch it",
        }
    }
    response = call(client, hook_body(None), token())
    assert response.status_code == 412


def test_missing_prefetch_is_fetched_from_the_fhir_server(recorder: Recorder) -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        key = next(k for k, q in PREFETCH.items() if request.url.path.endswith(q.split("?")[0]))
        return httpx.Response(200, json=SI_NET[key])

    client = make_client(recorder, httpx.MockTransport(handler))
    body = hook_body({"patient": SI_NET["patient"], "conditions": None})
    body["fhirServer"] = "https://fhir.ehr.example.org/r4"
    body["fhirAuthorization"] = {
        "access_token": "opaque-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "netmdt",
    }
    response = call(client, body, token())
    assert response.status_code == 200, response.text
    assert seen == [
        (
            f"https://fhir.ehr.example.org/r4/{q}".replace(
                "{{context.patientId}}", "si-net-patient"
            ),
            "Bearer opaque-token",
        )
        for k, q in PREFETCH.items()
        if k != "patient"
    ]
    assert response.json()["cards"][0]["indicator"] == "warning"


def test_a_prefetch_for_another_patient_is_refused(client: TestClient) -> None:
    response = call(client, hook_body(SI_NET, patient="someone-else"), token())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "patient_mismatch"


def test_a_malformed_request_gets_the_error_shape(client: TestClient) -> None:
    response = client.post(
        f"/cds-services/{SERVICE_ID}",
        content=b"{not json",
        headers={"Authorization": f"Bearer {token()}"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_request", "message": "the body is not JSON"}
    }
    response = call(client, {"hook": "patient-view"}, token())
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_request",
            "message": "hookInstance: Field required; context: Field required",
        }
    }


def test_an_unknown_service_is_404(client: TestClient) -> None:
    response = client.post("/cds-services/other", json={}, headers={"Authorization": "Bearer x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_service"


def test_feedback_is_validated_and_handed_to_the_app(
    client: TestClient, recorder: Recorder
) -> None:
    body = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "system": "urn:netmdt:cds:override-reason",
                        "code": "mdt-decided-otherwise",
                        "display": "The MDT has decided otherwise",
                    },
                    "userComment": "MDT 2026-11-26 chose PRRT",
                },
                "outcomeTimestamp": "2026-11-27T09:30:00Z",
            },
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                "outcomeTimestamp": "2026-11-27T09:31:00Z",
            },
        ]
    }
    response = client.post(
        f"/cds-services/{SERVICE_ID}/feedback",
        json=body,
        headers={"Authorization": f"Bearer {token(aud=f'{BASE}/{SERVICE_ID}/feedback')}"},
    )
    assert response.status_code == 200, response.text
    assert recorder.feedback == [
        FeedbackEvent(
            service_id=SERVICE_ID,
            card_uuid="9368d37b-283f-44a0-93ea-547cebab93ed",
            outcome="overridden",
            accepted_suggestions=[],
            override_reason_code="mdt-decided-otherwise",
            override_reason_display="The MDT has decided otherwise",
            user_comment="MDT 2026-11-26 chose PRRT",
            outcome_timestamp=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
            issuer=EHR,
            received_at=NOW,
        ),
        FeedbackEvent(
            service_id=SERVICE_ID,
            card_uuid="9368d37b-283f-44a0-93ea-547cebab93ed",
            outcome="accepted",
            accepted_suggestions=["e56e1945-20b3-4393-8503-a1a20fd73152"],
            override_reason_code=None,
            override_reason_display=None,
            user_comment=None,
            outcome_timestamp=datetime(2026, 11, 27, 9, 31, tzinfo=UTC),
            issuer=EHR,
            received_at=NOW,
        ),
    ]


def test_feedback_without_a_token_or_with_a_bad_outcome_is_refused(
    client: TestClient, recorder: Recorder
) -> None:
    url = f"/cds-services/{SERVICE_ID}/feedback"
    item = {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-27T09:30:00Z"}
    assert client.post(url, json={"feedback": [item]}).status_code == 401
    response = client.post(
        url, json={"feedback": [item]}, headers={"Authorization": f"Bearer {token()}"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert recorder.feedback == []


def test_the_jti_store_forgets_expired_tokens() -> None:
    clock = [1000.0]
    store = InMemoryJtiStore(clock=lambda: clock[0])
    assert store.check_and_remember("a", 1100) is True
    assert store.check_and_remember("a", 1100) is False
    clock[0] = 1200.0
    assert store.check_and_remember("a", 1300) is True


def test_trusted_issuers_load_from_a_jwks_file(tmp_path: Path) -> None:
    path = tmp_path / "ehr-jwks.json"
    path.write_text(json.dumps(JWKS))
    config = CdsConfig(service_base_url=BASE, app_base_url=APP, trusted_issuers={EHR: str(path)})
    assert config.trusted_issuers == {EHR: JWKS}
    with pytest.raises(ValueError, match="not a JWK Set"):
        CdsConfig(service_base_url=BASE, app_base_url=APP, trusted_issuers={EHR: {"k": 1}})


def test_every_error_code_the_service_can_answer_is_documented() -> None:
    import re

    root = Path(__file__).parent.parent
    source = "".join(
        (root / "src/netmdt/cdshooks" / f).read_text() for f in ("auth.py", "router.py")
    )
    codes = set(re.findall(r'(?:_Refusal\(\s*\d{3},\s*|AuthError\(\s*)"([a-z_]+)"', source))
    assert len(codes) >= 15, codes
    errors_doc = (root / "docs/errors.md").read_text()
    fhir_doc = (root / "docs/fhir.md").read_text()
    for code in codes:
        assert f"`{code}`" in errors_doc, code
        assert f"`{code}`" in fhir_doc or code in ("missing_token",), code


def test_a_prefetch_that_is_not_fhir_is_refused_with_the_error_shape(client: TestClient) -> None:
    broken = {**SI_NET, "conditions": {"resourceType": "Bundle", "entry": [{"resource": {}}]}}
    response = call(client, hook_body(broken), token())
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_fhir",
            "message": "input[1]: not a FHIR resource (a JSON object with resourceType)",
        }
    }


def test_logs_carry_no_patient_data(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.DEBUG, logger="netmdt"):
        assert call(client, hook_body(SI_NET), token()).status_code == 200
        assert call(client, hook_body(SI_NET, patient="x"), token()).status_code == 400
    text = caplog.text
    assert "cds call: service=netmdt-patient-view resources=24" in text
    for secret in ("si-net-patient", "9000000009", "Alice", "1968"):
        assert secret not in text


def test_the_router_freezes_the_start_up_heap_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    for freeze in (True, False):
        config = CdsConfig(service_base_url=BASE, app_base_url=APP, trusted_issuers={EHR: JWKS},
                           freeze_heap=freeze)  # fmt: skip
        create_cds_router(config, on_feedback=lambda e: None)
    assert calls == ["freeze"]


def test_an_unknown_time_zone_is_refused_when_the_service_is_configured() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        CdsConfig(
            service_base_url=BASE, app_base_url=APP, trusted_issuers={}, timezone="Mars/Olympus"
        )


def test_the_card_says_subject_to_the_pending_checks() -> None:
    import yaml

    from netmdt import assess, parse_case
    from netmdt.cdshooks.cards import _detail
    from netmdt.fhir.report import ImportReport
    from netmdt.kb import default_kb_path
    from tests.kbfixture import before_treatment_kb

    data = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    data["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    a = assess(parse_case(data), before_treatment_kb())
    prrt = a.option("prrt_lu177_dotatate")
    report = ImportReport(
        facts=[], superseded=[], unmapped=[], unknown=[], warnings=[], resources={}
    )
    labels = ", ".join(dict.fromkeys(p.label for p in prrt.pending_checks))
    lines = _detail(a, report, []).splitlines()
    assert f"- {prrt.name} (subject to: {labels})" in lines
    assert f"- {a.option('telotristat').name}" in lines  # nothing pending: no note
