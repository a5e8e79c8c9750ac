"""The CDS Hooks 2.0 service: discovery, a patient-view call, every refused token, 412,
fetching from the FHIR server, feedback. Tokens are real JWTs signed by keys made here."""

from __future__ import annotations

import json
import re
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
    InMemoryCardStore,
    InMemoryJtiStore,
    create_cds_router,
)
from netmdt.cdshooks.config import StoreFull

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


FHIR = "https://fhir.ehr.example.org/r4"


def make_client(
    recorder: Recorder, transport: httpx.AsyncBaseTransport | None = None, **settings: Any
) -> TestClient:
    config = CdsConfig(
        **{
            "service_base_url": BASE + "/",
            "app_base_url": APP,
            "trusted_issuers": {EHR: {"jwks": JWKS, "fhir_servers": [FHIR]}},
            "jti_store": InMemoryJtiStore(),
            "freeze_heap": False,  # the test process creates many routers
            **settings,
        }
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


SI_NET_SUMMARY = "NET MDT options (netmdt): 1 recommended, 2 to consider, 13 undecided"
EXPECTED_DETAIL = (
    "**Recommended**\n"
    "\n"
    "- **Long-acting somatostatin analogue**: Standard indication: carcinoid syndrome, VIPoma or "
    "glucagonoma (any type or grade)\n"
    "\n"
    "**Consider**\n"
    "\n"
    "- **Short-acting octreotide**: recommended only if hormone symptoms are not controlled on "
    "current treatment (initiation or rescue of breakthrough symptoms); not known yet\n"
    "- **Best supportive care**: recommended only if supportive care is the standard: poor "
    "performance status (ECOG 3-4), life expectancy below 3 months, or the patient's informed "
    "wish to have supportive care…\n"
    "\n"
    "UNDECIDED\n"
    "\n"
    "**Possible trials.** CAREFNDR, NETTER-3: see the trials panel.\n"
    "\n"
    "Reasons, sources and every option: the full assessment in netmdt (link below). netmdt "
    "supports the MDT; it does not decide."
)
# The counts follow the knowledge base; the words and their order are the card's.
UNDECIDED = re.compile(
    r"\*\*Undecided: \d+ options\*\*, including Surgery with curative intent and Lu-177 "
    r"DOTATATE PRRT\. What would decide them \(options it decides\): Progression in the last "
    r"12 months \(RECIST\) \(\d+\), Hormone symptoms controlled on current treatment \(\d+\), "
    r"Extrahepatic metastatic sites \(\d+\), All known disease resectable for cure \(surgeon's "
    r"judgement\) \(\d+\), Carcinoid heart disease \(\d+\) and \d+ more\."
)
OVERRIDES = [
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
]


def test_a_patient_view_call_returns_one_short_card_built_from_the_prefetch(
    client: TestClient, recorder: Recorder
) -> None:
    response = call(client, hook_body(SI_NET), token())
    assert response.status_code == 200, response.text
    timing = [part.split(";")[0] for part in response.headers["server-timing"].split(", ")]
    assert timing == ["fetch", "import", "assess", "card"]
    cards = response.json()["cards"]
    assert len(cards) == 1
    card = _stable(cards[0])
    [undecided] = [b for b in card["detail"].split("\n\n") if b.startswith("**Undecided")]
    assert UNDECIDED.fullmatch(undecided), undecided
    card["detail"] = card["detail"].replace(undecided, "UNDECIDED")
    assert {k: v for k, v in card.items() if k != "suggestions"} == {
        "uuid": "UUID",
        "summary": SI_NET_SUMMARY,
        "indicator": "info",
        "detail": EXPECTED_DETAIL,
        "source": {"label": "netmdt knowledge base 2026.11"},
        "overrideReasons": OVERRIDES,
        "links": [
            {
                "label": "Full assessment in netmdt",
                "url": "https://netmdt.example.org/patients/find?nhs_number=9000000009",
                "type": "absolute",
            }
        ],
        "selectionBehavior": "any",
    }
    assert len(card["summary"]) < 140
    assert [s["label"] for s in card["suggestions"]] == [
        "Find out: Progression in the last 12 months (RECIST)",
        "Find out: Hormone symptoms controlled on current treatment",
        "Find out: Extrahepatic metastatic sites",
    ]
    first = card["suggestions"][0]
    assert first == {
        "label": "Find out: Progression in the last 12 months (RECIST)",
        "uuid": "UUID",
        "actions": [
            {
                "type": "create",
                "description": "RECIST 1.1 comparison of two cross-sectional scans (CT/MRI) at "
                "least 3-6 months apart.",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "proposal",
                    "subject": {"reference": "Patient/si-net-patient"},
                    "code": {
                        "text": "RECIST 1.1 comparison of two cross-sectional scans (CT/MRI) at "
                        "least 3-6 months apart."
                    },
                    "reasonCode": [
                        {
                            "text": "Would decide 9 undecided option(s): Interferon alfa, Lu-177 "
                            "DOTATATE PRRT, Y-90 DOTATOC PRRT, Liver embolisation, Thermal "
                            "ablation of liver metastases, Liver transplantation for NET liver "
                            "metastases, Clinical trial or registry, Everolimus…"
                        }
                    ],
                },
            }
        ],
    }
    ServiceRequest.model_validate(first["actions"][0]["resource"])
    [event] = recorder.cards
    assert event == CardEvent(
        service_id=SERVICE_ID,
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        card_uuid=cards[0]["uuid"],
        patient_fhir_id="si-net-patient",
        summary=cards[0]["summary"],
        indicator="info",
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


@pytest.mark.parametrize(
    ("aud", "path"),
    [
        (BASE, SERVICE_ID),  # the discovery URL
        (f"{BASE}/{SERVICE_ID}/feedback", SERVICE_ID),  # the feedback URL, for a hook call
        (f"{BASE}/{SERVICE_ID}", f"{SERVICE_ID}/feedback"),  # the hook URL, for feedback
    ],
)
def test_aud_must_be_exactly_the_endpoint_called(client: TestClient, aud: str, path: str) -> None:
    """Review finding (sandbox 8): a token for one endpoint cannot be replayed on another."""
    body: dict[str, Any] = hook_body(SI_NET)
    if path.endswith("feedback"):
        body = {"feedback": [{"card": "c", "outcome": "accepted",
                              "outcomeTimestamp": "2026-11-27T09:30:00Z"}]}  # fmt: skip
    response = client.post(
        f"/cds-services/{path}", json=body, headers={"Authorization": f"Bearer {token(aud=aud)}"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "wrong_audience", "message": f"aud must be {BASE}/{path}"}
    }


def test_a_token_is_remembered_through_the_leeway_and_replay_after_exp_is_refused(
    client: TestClient,
) -> None:
    """Security review 5: a token past ``exp`` but inside the 30 s leeway is still accepted
    once; its replay at ``exp + 1`` (and later, inside the leeway) is refused."""
    now = int(time.time())
    late = token(iat=now - 250, exp=now - 1)  # expired 1 s ago: accepted within the leeway
    assert call(client, hook_body(SI_NET), late).status_code == 200
    again = call(client, hook_body(SI_NET), late)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "replayed_token"


def test_the_jti_store_keeps_a_token_until_the_time_it_is_given_and_is_bounded() -> None:
    clock = [1000.0]
    store = InMemoryJtiStore(clock=lambda: clock[0], max_entries=2)
    assert store.check_and_remember("a", 1130) is True  # exp 1100 + leeway 30
    clock[0] = 1101.0  # past exp, inside the leeway
    assert store.check_and_remember("a", 1130) is False
    assert store.check_and_remember("b", 1230) is True
    with pytest.raises(StoreFull):
        store.check_and_remember("c", 1230)  # two live entries: refuse, never forget
    clock[0] = 1131.0
    assert store.check_and_remember("c", 1260) is True  # "a" is gone now
    assert len(store) == 2


def test_a_full_jti_store_answers_503_busy(recorder: Recorder) -> None:
    client = make_client(recorder, jti_store=InMemoryJtiStore(max_entries=1))
    assert call(client, hook_body(SI_NET), token()).status_code == 200
    response = call(client, hook_body(SI_NET), token())
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "busy", "message": "too many calls at once; try again shortly"}
    }


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


def test_a_null_prefetch_key_means_no_data_not_412(client: TestClient) -> None:
    """Sandbox finding 2: a spec-following EHR sends null for a key it has no data for."""
    body = hook_body({**SI_NET, "medicationRequests": None, "procedures": None})
    response = call(client, body, token())
    assert response.status_code == 200, response.text
    assert response.json()["cards"][0]["summary"] == (SI_NET_SUMMARY)


@pytest.mark.parametrize("patient_id", ["p" * 65, "a/b", "", "x y"])
def test_a_patient_id_that_is_not_a_fhir_id_is_400_before_anything_is_stored(
    client: TestClient, patient_id: str
) -> None:
    """review-1 #13: a long patientId overflowed the audit log's record id (a 500 on
    PostgreSQL); a FHIR id has at most 64 letters, digits, '-' and '.'."""
    body = hook_body(SI_NET)
    body["context"] = {**body["context"], "patientId": patient_id}
    response = call(client, body, token())
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_request")
    assert "context.patientId" in response.json()["error"]["message"]


AUTH = {
    "access_token": "EHR-SECRET-ACCESS-TOKEN",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "netmdt",
}


def with_server(body: dict[str, Any], server: str = FHIR) -> dict[str, Any]:
    return {**body, "fhirServer": server, "fhirAuthorization": AUTH}


class FhirServer:
    """A mock FHIR server answering the prefetch queries from a patient's prefetch;
    ``pages``: serve each search Bundle in pages of this many entries."""

    def __init__(self, data: dict[str, Any], pages: int | None = None) -> None:
        self.data, self.pages = data, pages
        self.seen: list[tuple[str, str | None]] = []

    def key(self, request: httpx.Request) -> str:
        return next(k for k, q in PREFETCH.items() if request.url.path.endswith(q.split("?")[0]))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url), request.headers.get("authorization")))
        value = self.data[self.key(request)]
        if self.pages is None or value["resourceType"] != "Bundle":
            return httpx.Response(200, json=value)
        page = int(request.url.params.get("page", "0"))
        entries = value["entry"][page * self.pages : (page + 1) * self.pages]
        out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
        if (page + 1) * self.pages < len(value["entry"]):
            nxt = request.url.copy_set_param("page", str(page + 1))
            out["link"] = [{"relation": "next", "url": str(nxt)}]
        return httpx.Response(200, json=out)


def _query(key: str) -> str:
    return f"{FHIR}/{PREFETCH[key]}".replace("{{context.patientId}}", "si-net-patient")


def test_absent_prefetch_keys_are_fetched_in_parallel_from_the_issuers_server(
    recorder: Recorder,
) -> None:
    """Sandbox finding 13: the five queries run at once (each waits until all have
    arrived: one after another they would never finish)."""
    import asyncio

    server = FhirServer(SI_NET)
    arrived: list[str] = []
    everyone = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(request.url.path)
        if len(arrived) == 5:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)
        return server(request)

    client = make_client(recorder, httpx.MockTransport(handler))
    response = call(client, with_server(hook_body({"patient": SI_NET["patient"]})), token())
    assert response.status_code == 200, response.text
    assert sorted(server.seen) == sorted(
        (_query(k), "Bearer EHR-SECRET-ACCESS-TOKEN") for k in PREFETCH if k != "patient"
    )
    assert response.json()["cards"][0]["summary"] == (SI_NET_SUMMARY)


def test_a_fhir_server_not_configured_for_the_issuer_is_never_called(recorder: Recorder) -> None:
    """Security review 6: any URL was fetched with the EHR's token."""
    server = FhirServer(SI_NET)
    client = make_client(recorder, httpx.MockTransport(server))
    for other in ("http://127.0.0.1:9999", "https://fhir.ehr.example.org/other",
                  "https://evil.example.org/r4", "file:///etc/passwd"):  # fmt: skip
        body = with_server(hook_body({"patient": SI_NET["patient"]}), other)
        response = call(client, body, token())
        assert response.status_code == 412
        assert response.json() == {
            "error": {
                "code": "prefetch_missing",
                "message": "prefetch conditions, observations, medicationStatements, "
                "medicationRequests, procedures missing and its fhirServer is not one "
                "configured for this issuer",
            }
        }
    assert server.seen == []


def test_fhir_servers_must_be_https_or_loopback_http() -> None:
    for url in ("http://fhir.example.org/r4", "ftp://x/r4", "https://u:p@x/r4", "https://x/r4?a=1"):
        with pytest.raises(ValueError, match="fhir_servers"):
            CdsConfig(service_base_url=BASE, app_base_url=APP,
                      trusted_issuers={EHR: {"jwks": JWKS, "fhir_servers": [url]}})  # fmt: skip
    config = CdsConfig(
        service_base_url=BASE,
        app_base_url=APP,
        trusted_issuers={EHR: {"jwks": JWKS, "fhir_servers": ["http://127.0.0.1:8080/fhir/"]}},
    )
    assert config.fhir_servers == {EHR: ("http://127.0.0.1:8080/fhir",)}
    assert config.trusted_issuers == {EHR: JWKS}
    with pytest.raises(ValueError, match="unknown key"):
        CdsConfig(service_base_url=BASE, app_base_url=APP,
                  trusted_issuers={EHR: {"jwks": JWKS, "fhir_server": [FHIR]}})  # fmt: skip


def test_paging_stays_on_the_fhir_servers_origin_and_the_token_never_leaves_it(
    recorder: Recorder,
) -> None:
    """Security review 6: a next link to another host received the EHR's token."""
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        if request.url.path.endswith("/Observation"):
            bundle = {**SI_NET["observations"], "link": [
                {"relation": "next", "url": "http://127.0.0.1:9998/steal-token"}]}  # fmt: skip
            return httpx.Response(200, json=bundle)
        if request.url.path.endswith("/Procedure"):
            return httpx.Response(302, headers={"Location": "https://evil.example.org/x"})
        return FhirServer(SI_NET)(request)

    client = make_client(recorder, httpx.MockTransport(handler))
    body = {k: v for k, v in SI_NET.items() if k not in ("observations", "procedures")}
    response = call(client, with_server(hook_body(body)), token())
    assert response.status_code == 502
    assert response.json() == {
        "error": {
            "code": "fhir_server_error",
            "message": "the FHIR server answered the procedures query with HTTP 302",
        }
    }
    assert all(url.startswith(FHIR + "/") for url, _ in seen), seen
    body = {k: v for k, v in SI_NET.items() if k != "observations"}
    response = call(client, with_server(hook_body(body)), token())
    assert response.status_code == 200
    assert all(url.startswith(FHIR + "/") for url, _ in seen), seen
    assert "**Partial data.** This card rests on part of the record: results and observations " \
        "(the FHIR server's next page is on another server (not followed))." in (
        response.json()["cards"][0]["detail"])  # fmt: skip


def test_fhir_answers_are_capped_in_bytes_and_entries(recorder: Recorder) -> None:
    """Security review 6: 35 MB answers took 3.5 GB; now a budget per call, then partial."""
    server = FhirServer(SI_NET, pages=3)
    body = {k: v for k, v in SI_NET.items() if k != "observations"}
    client = make_client(recorder, httpx.MockTransport(server), fhir_max_entries=4)
    response = call(client, with_server(hook_body(body)), token())
    assert response.status_code == 200, response.text
    assert (
        "results and observations (more than netmdt fetches for one call)"
        in (response.json()["cards"][0]["detail"])
    )
    assert len(server.seen) == 2  # two pages of 3: the budget of 4 ran out in the second
    server = FhirServer(SI_NET)
    client = make_client(recorder, httpx.MockTransport(server), fhir_max_bytes=1000)
    response = call(client, with_server(hook_body(body)), token())
    assert response.status_code == 200, response.text
    assert (
        "results and observations (more than netmdt fetches for one call)"
        in (response.json()["cards"][0]["detail"])
    )


def test_a_slow_fhir_server_is_bounded_in_total_time(recorder: Recorder) -> None:
    import asyncio

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200, json={})

    client = make_client(recorder, httpx.MockTransport(handler), fhir_total_seconds=0.2)
    response = call(client, with_server(hook_body({"patient": SI_NET["patient"]})), token())
    assert response.status_code == 504
    assert response.json() == {
        "error": {
            "code": "fhir_server_timeout",
            "message": "the FHIR server did not answer within 0.2 s",
        }
    }


def test_fhir_json_is_parsed_off_the_event_loop(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    on_loop: list[bool] = []
    real = json.loads

    def loads(data: Any) -> Any:
        if len(data) > 2000:  # FHIR answers and the hook body, not the JWT's parts
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
        return real(data)

    monkeypatch.setattr(json, "loads", loads)  # the module fetch.py parses with
    client = make_client(recorder, httpx.MockTransport(FhirServer(SI_NET)))
    response = call(client, with_server(hook_body({"patient": SI_NET["patient"]})), token())
    assert response.status_code == 200
    assert on_loop and not any(on_loop)


def test_an_unknown_patient_is_a_clear_404_not_502(recorder: Recorder) -> None:
    """Sandbox finding 9."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})

    client = make_client(recorder, httpx.MockTransport(handler))
    response = call(client, with_server(hook_body({})), token())
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "unknown_patient",
            "message": "the FHIR server has no such Patient (context.patientId)",
        }
    }
    response = call(client, hook_body({**SI_NET, "patient": None}), token())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_patient"


def _paged(key: str, size: int) -> dict[str, Any]:
    bundle = SI_NET[key]
    return {**bundle, "entry": bundle["entry"][:size],
            "link": [{"relation": "next", "url": f"{_query(key)}&page=1"}]}  # fmt: skip


def test_a_paged_prefetch_is_completed_when_authorised_else_the_card_says_partial(
    recorder: Recorder,
) -> None:
    """Sandbox finding 3: the SCLC card silently used 23 facts of 106."""
    server = FhirServer(SI_NET, pages=3)
    client = make_client(recorder, httpx.MockTransport(server))
    body = hook_body({**SI_NET, "observations": _paged("observations", 3)})
    alone = call(client, body, token()).json()["cards"][0]
    assert alone["detail"].count("**Partial data.**") == 1
    assert "results and observations (the EHR sent only the first page)" in alone["detail"]
    assert server.seen == []
    completed = call(client, with_server(body), token()).json()["cards"][0]
    assert "Partial data" not in completed["detail"]
    assert completed["summary"] == (SI_NET_SUMMARY)
    pages = len(SI_NET["observations"]["entry"]) // 3
    assert [url for url, _ in server.seen] == [
        f"{_query('observations')}&page={n}" for n in range(1, pages + 1)
    ]


def test_an_operation_outcome_in_prefetch_is_fetched_again_or_said_to_be_missing(
    recorder: Recorder,
) -> None:
    """Sandbox finding 4: an OperationOutcome was read as data, silently."""
    failed = {"resourceType": "OperationOutcome",
              "issue": [{"severity": "error", "code": "timeout"}]}  # fmt: skip
    server = FhirServer(SI_NET)
    client = make_client(recorder, httpx.MockTransport(server))
    body = hook_body({**SI_NET, "observations": failed})
    alone = call(client, body, token()).json()["cards"][0]
    assert "results and observations (the EHR could not fetch them)" in alone["detail"]
    completed = call(client, with_server(body), token()).json()["cards"][0]
    assert "Partial data" not in completed["detail"]
    assert server.seen == [(_query("observations"), "Bearer EHR-SECRET-ACCESS-TOKEN")]


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
    card = call(client, hook_body(SI_NET), token()).json()["cards"][0]
    card_id, suggestion = card["uuid"], card["suggestions"][0]["uuid"]
    body = {
        "feedback": [
            {
                "card": card_id,
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
                "card": card_id,
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": suggestion}],
                "outcomeTimestamp": "2026-11-27T09:31:00Z",
            },
        ]
    }
    response = feedback(client, body)
    assert response.status_code == 200, response.text
    assert recorder.feedback == [
        FeedbackEvent(
            service_id=SERVICE_ID,
            card_uuid=card_id,
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
            card_uuid=card_id,
            outcome="accepted",
            accepted_suggestions=[suggestion],
            override_reason_code=None,
            override_reason_display=None,
            user_comment=None,
            outcome_timestamp=datetime(2026, 11, 27, 9, 31, tzinfo=UTC),
            issuer=EHR,
            received_at=NOW,
        ),
    ]


def feedback(client: TestClient, body: dict[str, Any]) -> Any:
    bearer = token(aud=f"{BASE}/{SERVICE_ID}/feedback")
    return client.post(
        f"/cds-services/{SERVICE_ID}/feedback", json=body,
        headers={"Authorization": f"Bearer {bearer}"},
    )  # fmt: skip


def _item(card: str, **more: Any) -> dict[str, Any]:
    return {"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-11-27T09:30:00Z",
            **more}  # fmt: skip


def test_feedback_is_accepted_only_for_cards_issued_and_their_suggestions(
    client: TestClient, recorder: Recorder
) -> None:
    """Sandbox finding 10: feedback for a card never issued was accepted and audited."""
    never = feedback(client, {"feedback": [_item("9368d37b-283f-44a0-93ea-547cebab93ed")]})
    assert never.status_code == 404
    assert never.json() == {
        "error": {"code": "unknown_card", "message": "feedback[0].card: no such card was issued"}
    }
    card = call(client, hook_body(SI_NET), token()).json()["cards"][0]
    foreign = _item(card["uuid"], acceptedSuggestions=[{"id": "not-ours"}])
    stranger = feedback(client, {"feedback": [_item(card["uuid"]), foreign]})
    assert stranger.status_code == 400
    assert stranger.json()["error"] == {
        "code": "unknown_suggestion",
        "message": "feedback[1].acceptedSuggestions: not a suggestion of this card",
    }
    assert recorder.feedback == []  # nothing recorded half-way
    ok = feedback(client, {"feedback": [_item(card["uuid"])] * 10})
    assert ok.status_code == 200
    more = feedback(client, {"feedback": [_item(card["uuid"])]})
    assert more.status_code == 429
    assert more.json()["error"]["code"] == "too_much_feedback"
    assert len(recorder.feedback) == 10
    many = feedback(client, {"feedback": [_item(card["uuid"])] * 21})
    assert many.status_code == 400
    assert many.json()["error"]["message"] == (
        "feedback: List should have at most 20 items after validation, not 21"
    )


def test_the_card_store_is_bounded() -> None:
    from netmdt.cdshooks.config import IssuedCard

    store = InMemoryCardStore(max_cards=2)
    for n in range(3):
        store.remember(f"c{n}", IssuedCard(EHR, frozenset()))
    assert (store.get("c0"), len(store)) == (None, 2)
    assert store.get("c2") == IssuedCard(EHR, frozenset())


def test_feedback_without_a_token_or_with_a_bad_outcome_is_refused(
    client: TestClient, recorder: Recorder
) -> None:
    url = f"/cds-services/{SERVICE_ID}/feedback"
    item = {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-27T09:30:00Z"}
    assert client.post(url, json={"feedback": [item]}).status_code == 401
    response = feedback(client, {"feedback": [item]})
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
        (root / "src/netmdt/cdshooks" / f).read_text() for f in ("auth.py", "router.py", "fetch.py")
    )
    codes = set(
        re.findall(
            r'(?:Refusal\(\s*\d{3},\s*|AuthError\(\s*|error_response\(\s*\d{3},\s*)"([a-z_]+)"',
            source,
        )
    )
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


def test_fetching_logs_no_patient_data(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    client = make_client(recorder, httpx.MockTransport(FhirServer(SI_NET)))
    with caplog.at_level(logging.DEBUG, logger="netmdt"), caplog.at_level(logging.INFO):
        body = with_server(hook_body({"patient": SI_NET["patient"]}))
        assert call(client, body, token()).status_code == 200
    assert "cds call: service=netmdt-patient-view resources=24 cards=1 partial=0" in caplog.text
    for secret in ("si-net-patient", "9000000009", "Alice", "EHR-SECRET"):
        assert secret not in caplog.text


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


SYNTHEA = HERE / "fhir/external/synthea-r4"
KINDS = ("Patient", "Condition", "Observation", "MedicationStatement", "MedicationRequest",
         "Procedure")  # fmt: skip


def synthea(name: str, alive: bool = False) -> tuple[str, dict[str, Any]]:
    """A Synthea patient (tests/fhir/external) as prefetch; ``alive``: without the death."""
    [path] = SYNTHEA.glob(f"{name}_*.json")
    resources = [e["resource"] for e in json.loads(path.read_text())["entry"]]
    resources = [r for r in resources if r["resourceType"] in KINDS]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    if alive:
        patient.pop("deceasedDateTime", None)
        patient.pop("deceasedBoolean", None)
    return str(patient["id"]), prefetch_from(resources)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Buster_Hoeger", "not_neuroendocrine"),  # no cancer
        ("Darin_Skiles", "not_neuroendocrine"),  # colon cancer
        ("Austin_Franecki", "deceased"),  # non-small-cell lung cancer, dead
        ("Sherman_McGlynn", "deceased"),  # small-cell lung cancer (a NEC), dead
    ],
)
def test_no_card_when_netmdt_has_nothing_to_say(
    client: TestClient, recorder: Recorder, name: str, why: str
) -> None:
    """Sandbox finding 1: every patient got a warning card, with or without a NET, alive
    or dead. The specification: a service with no guidance answers no cards."""
    patient, prefetch = synthea(name)
    response = call(client, hook_body(prefetch, patient), token())
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
    [event] = recorder.cards
    assert (event.card_uuid, event.summary, event.indicator) == (None, f"no card: {why}", "none")


def test_a_deceased_net_patient_gets_no_card(client: TestClient) -> None:
    dead = {**SI_NET, "patient": {**SI_NET["patient"], "deceasedDateTime": "2026-10-01"}}
    assert call(client, hook_body(dead), token()).json() == {"cards": []}
    assert call(client, hook_body({**SI_NET, "conditions": None}), token()).json() == {"cards": []}


def _card(client: TestClient, prefetch: dict[str, Any], patient: str) -> dict[str, Any]:
    response = call(client, hook_body(prefetch, patient), token())
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    return dict(card)


def test_the_indicator_is_info_unless_the_ehr_could_supply_what_a_main_option_lacks(
    client: TestClient,
) -> None:
    """Sandbox finding 5: the indicator was always warning (curative surgery always lacks
    the surgeon's judgement, which FHIR never carries)."""
    si_net = _card(client, SI_NET, "si-net-patient")
    assert si_net["indicator"] == "info"
    pnet = _card(client, prefetch_of(HERE / "fhir/pnet-bundle.json"), "pnet-patient")
    assert pnet["indicator"] == "warning"
    assert pnet["detail"].split("\n\n")[0] == (
        "**Check the record.** Results the EHR can hold would decide Long-acting somatostatin "
        "analogue, Lu-177 DOTATATE PRRT: SSTR imaging positive, All lesions SSTR-avid, Krenning "
        "score (0-4), SSTR uptake relative to normal liver."
    )
    patient, prefetch = synthea("Sherman_McGlynn", alive=True)
    assert _card(client, prefetch, patient)["indicator"] == "warning"


def test_a_record_that_contradicts_itself_is_a_warning(client: TestClient) -> None:
    primary = next(
        e["resource"] for e in SI_NET["conditions"]["entry"]
        if e["resource"]["id"] == "si-net-primary"
    )  # fmt: skip
    other = {k: v for k, v in primary.items() if k != "extension"}
    other["id"] = "si-net-primary-2"
    other["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.1"}]}
    conditions = {**SI_NET["conditions"],
                  "entry": [*SI_NET["conditions"]["entry"], {"resource": other}]}  # fmt: skip
    card = _card(client, {**SI_NET, "conditions": conditions}, "si-net-patient")
    assert card["indicator"] == "warning"
    day = primary.get("onsetDateTime", "")[:10]
    assert card["detail"].startswith(
        "**Check the record.** The record gives two values for the tumour's type on "
        f"{datetime.fromisoformat(day):%d %b %Y}: NET and NEC."
    ), card["detail"][:300]


def _every_card(client: TestClient) -> list[dict[str, Any]]:
    inputs = [("si-net-patient", SI_NET),
              ("pnet-patient", prefetch_of(HERE / "fhir/pnet-bundle.json")),
              synthea("Sherman_McGlynn", alive=True)]  # fmt: skip
    return [_card(client, prefetch, patient) for patient, prefetch in inputs]


def test_every_card_is_short_plain_and_free_of_internal_ids(client: TestClient) -> None:
    """Sandbox findings 7 and 11: 2.3k-10.7k characters, a bullet of 1,002, merged last
    lines, "record [] if none", option ids, NICE TA449 as the source of an SCLC card."""
    from netmdt.kb import load_kb

    ids = [o for o in load_kb().options if "_" in o]
    for card in _every_card(client):
        detail = card["detail"]
        assert len(detail) < 1500, len(detail)
        lines = detail.splitlines()
        assert all(len(line) <= 250 for line in lines if line.startswith("- "))
        assert max(len(line) for line in lines) <= 450
        for block in detail.split("\n\n"):  # a paragraph, or a list: nothing merges
            assert "\n" not in block or all(ln.startswith("- ") for ln in block.split("\n"))
        shown = json.dumps(card, ensure_ascii=False)
        assert "[]" not in shown and "if none" not in shown
        assert [i for i in ids if i in shown] == []
        assert card["source"] == {"label": "netmdt knowledge base 2026.11"}
        assert "TA449" not in shown
        assert card["indicator"] in ("info", "warning")


def _assessment_of(prefetch: dict[str, Any]) -> Any:
    from netmdt.engine.assess import assess
    from netmdt.fhir.importer import import_fhir

    resources = [prefetch["patient"]] + [
        e["resource"] for k, v in prefetch.items() if k != "patient" for e in v["entry"]
    ]
    return assess(import_fhir(resources, assessed_on=NOW.date(), health_system="nhs_england").case)


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "allow"),
    [
        ("GET", f"/cds-services/{SERVICE_ID}", 405, "method_not_allowed", "POST"),
        ("GET", f"/cds-services/{SERVICE_ID}/feedback", 405, "method_not_allowed", "POST"),
        ("PUT", "/cds-services", 405, "method_not_allowed", "GET"),
        ("POST", f"/cds-services//{SERVICE_ID}", 404, "unknown_service", None),
        ("GET", f"/cds-services//{SERVICE_ID}", 404, "unknown_service", None),
        ("GET", "/cds-services/", 404, "not_found", None),
        ("GET", "/cds-services/a/b/c", 404, "unknown_service", None),
    ],
)
def test_every_answer_under_cds_services_is_json(
    tmp_path: Path, method: str, path: str, status: int, code: str, allow: str | None
) -> None:
    """Sandbox finding 12: a GET on the service URL and a double slash answered HTML; the
    whole app is used here, with its own error pages."""
    from netmdt.api import create_app
    from netmdt.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/n.db", secret_key="t",
                              cds_freeze_heap=False))  # fmt: skip
    with TestClient(app) as web:
        response = web.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.headers.get("allow") == allow


def test_the_card_says_subject_to_the_pending_checks() -> None:
    import yaml

    from netmdt import assess, parse_case
    from netmdt.cdshooks.cards import leading, short_name
    from netmdt.kb import default_kb_path
    from tests.kbfixture import before_treatment_kb

    data = yaml.safe_load(
        (default_kb_path().parent / "examples/si-net-liver-metastases.yaml").read_text()
    )
    data["labs"] = {"egfr_ml_min": 78, "bilirubin_x_uln": 0.6, "date": "2026-11-20"}
    a = assess(parse_case(data), before_treatment_kb())
    prrt = a.option("prrt_lu177_dotatate")
    assert prrt.verdict in ("recommended", "consider") and prrt.pending_checks
    labels = ", ".join(dict.fromkeys(p.label for p in prrt.pending_checks))
    lines = "\n".join(leading(a)).splitlines()
    [line] = [ln for ln in lines if ln.startswith(f"- **{short_name(prrt.name)}**")]
    assert line.endswith(f" (subject to: {labels})"), line
    assert len(line) <= 250
    assert all("subject to" not in ln for ln in lines if "Telotristat" in ln)  # none pending
