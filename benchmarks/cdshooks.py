"""Benchmark: a CDS Hooks ``patient-view`` call end to end, over loopback HTTP.

Starts uvicorn in a thread with a minimal FastAPI app that mounts the CDS router, then
sends ``--n`` calls (after ``--warmup``) with a realistic prefetch of about 200 resources:
the functional SI-NET patient of ``tests/fhir/si-net-bundle.json`` plus two years of
monthly blood tests (full blood count, liver and renal function: eight observations a
month), so most values are superseded by newer ones as in a real record. Each call carries
a fresh RS384-signed JWT (signed before timing). Reports p50 / p99 latency seen by the
client, and the server's split between importing the FHIR resources, assessing and
building the card (from the ``Server-Timing`` header). Prints figures only.

With ``--fetch``, the call carries only the Patient and netmdt fetches the other five
prefetch queries itself from a FHIR server on loopback (configured for the issuer), each
answer delayed by ``--fhir-delay-ms`` (a real EHR's FHIR server is not instant): the five
queries run in parallel, so the call costs about one delay, not five.

    .venv/bin/python -m benchmarks.cdshooks [--n 500] [--warmup 30]
    .venv/bin/python -m benchmarks.cdshooks --fetch --fhir-delay-ms 50 [--n 100]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import socket
import statistics
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from netmdt.cdshooks import SERVICE_ID, CdsConfig, create_cds_router

ROOT = Path(__file__).resolve().parent.parent
BASE = "http://127.0.0.1:{port}/cds-services"
ISSUER = "https://ehr.example.org"
MONTHLY = [  # LOINC, unit, typical value, upper limit of normal (or None)
    ("718-7", "g/dL", 12.5, None),
    ("777-3", "10*3/uL", 230, None),
    ("6690-2", "10*3/uL", 6.2, None),
    ("751-8", "10*3/uL", 3.9, None),
    ("1975-2", "umol/L", 9.0, 21.0),
    ("1751-7", "g/L", 39.0, None),
    ("1742-6", "U/L", 25.0, 40.0),
    ("98979-8", "mL/min/{1.73_m2}", 80.0, None),
]


def prefetch(months: int = 24) -> dict[str, Any]:
    """The SI-NET patient's record with ``months`` of monthly blood tests added."""
    bundle = json.loads((ROOT / "tests/fhir/si-net-bundle.json").read_text())
    resources = [e["resource"] for e in bundle["entry"]]
    start = date(2026, 11, 20)
    for m in range(1, months + 1):
        day = (start - timedelta(days=30 * m)).isoformat()
        for i, (code, unit, value, uln) in enumerate(MONTHLY):
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "id": f"lab-{m}-{i}",
                "status": "final",
                "category": [{"coding": [{"code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": "Patient/si-net-patient"},
                "effectiveDateTime": day,
                "valueQuantity": {"value": round(value * (1 + 0.01 * (m % 7)), 2),
                                  "unit": unit, "system": "http://unitsofmeasure.org",
                                  "code": unit},
            }  # fmt: skip
            if uln is not None:
                obs["referenceRange"] = [{"high": {"value": uln, "unit": unit, "code": unit}}]
            resources.append(obs)
    return prefetch_from(resources)


def prefetch_from(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The six prefetch keys filled from a patient's resources, as an EHR would send them."""
    kinds = {
        "conditions": "Condition",
        "observations": "Observation",
        "medicationStatements": "MedicationStatement",
        "medicationRequests": "MedicationRequest",
        "procedures": "Procedure",
    }
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    out: dict[str, Any] = {"patient": patient}
    for key, kind in kinds.items():
        entries = [{"resource": r} for r in resources if r["resourceType"] == kind]
        out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(key: Any, port: int, fhir: str | None = None) -> tuple[uvicorn.Server, threading.Thread]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS384"}]}
    config = CdsConfig(
        service_base_url=BASE.format(port=port),
        app_base_url="http://127.0.0.1",
        trusted_issuers={ISSUER: {"jwks": jwks, "fhir_servers": [fhir] if fhir else []}},
    )
    app = FastAPI()
    app.include_router(create_cds_router(config, on_feedback=lambda e: None))
    return _run(app, port)


def _fhir_app(data: dict[str, Any], delay_ms: float) -> FastAPI:
    """A FHIR server answering netmdt's prefetch queries from ``data``, each after a delay."""
    import asyncio

    from fastapi.responses import JSONResponse

    app = FastAPI()
    kinds = {"Condition": "conditions", "Observation": "observations",
             "MedicationStatement": "medicationStatements",
             "MedicationRequest": "medicationRequests", "Procedure": "procedures"}  # fmt: skip

    @app.get("/fhir/{kind}")
    async def search(kind: str) -> JSONResponse:
        await asyncio.sleep(delay_ms / 1000)
        return JSONResponse(data[kinds[kind]])

    return app


def _run(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread


def _token(key: Any, aud: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "bench", "aud": aud, "iat": now, "exp": now + 300,
              "jti": str(uuid.uuid4())}  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "k1"})


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--fetch", action="store_true", help="netmdt fetches the prefetch")
    parser.add_argument("--fhir-delay-ms", type=float, default=50.0)
    args = parser.parse_args()
    logging.getLogger("netmdt.cdshooks").setLevel(logging.WARNING)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    port = _free_port()
    data = prefetch()
    fhir_server = None
    fhir = None
    if args.fetch:
        fhir_port = _free_port()
        fhir = f"http://127.0.0.1:{fhir_port}/fhir"
        fhir_server, _ = _run(_fhir_app(data, args.fhir_delay_ms), fhir_port)
    server, thread = _serve(key, port, fhir)
    url = f"{BASE.format(port=port)}/{SERVICE_ID}"
    n_resources = 1 + sum(len(v["entry"]) for k, v in data.items() if k != "patient")
    hook: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "si-net-patient"},
        "prefetch": {"patient": data["patient"]} if args.fetch else data,
    }
    if args.fetch:
        hook["fhirServer"] = fhir
        hook["fhirAuthorization"] = {"access_token": "bench", "token_type": "Bearer",
                                     "expires_in": 300, "scope": "patient/*.read",
                                     "subject": "bench"}  # fmt: skip
    body = json.dumps(hook).encode()
    tokens = [_token(key, url) for _ in range(args.n + args.warmup)]
    latencies: list[float] = []
    split: dict[str, list[float]] = {"fetch": [], "import": [], "assess": [], "card": []}
    with httpx.Client(timeout=30) as client:
        for i, tok in enumerate(tokens):
            t0 = time.perf_counter()
            r = client.post(
                url,
                content=body,
                headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
            )
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                raise SystemExit(f"call {i}: HTTP {r.status_code}: {r.text[:200]}")
            if i < args.warmup:
                continue
            latencies.append(elapsed)
            for part in r.headers["server-timing"].split(", "):
                name, dur = part.split(";dur=")
                split[name].append(float(dur))
    server.should_exit = True
    thread.join(timeout=5)
    if fhir_server is not None:
        fhir_server.should_exit = True
    server_ms = {k: statistics.mean(v) for k, v in split.items()}
    total = statistics.mean(latencies)
    print(
        f"CDS Hooks patient-view over loopback HTTP ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d})"
    )
    how = (
        f"fetched by netmdt (5 queries, each answered after {args.fhir_delay_ms:g} ms)"
        if args.fetch
        else f"{len(body) / 1024:.0f} KiB in the call"
    )
    print(f"prefetch: {n_resources} resources, {how}; {args.n} calls after {args.warmup} warm-up")
    print(
        f"latency: p50 {_pct(latencies, 50):.1f} ms, p99 {_pct(latencies, 99):.1f} ms, "
        f"mean {total:.1f} ms, max {max(latencies):.1f} ms (target p99 <= 100 ms)"
    )
    rest = total - sum(server_ms.values())
    print(
        "mean split: "
        + ", ".join(f"{k} {v:.2f} ms ({v / total:.0%})" for k, v in server_ms.items())
        + f", HTTP + JSON + JWT check {rest:.2f} ms ({rest / total:.0%})"
    )  # fmt: skip


if __name__ == "__main__":
    main()
