"""The CDS Hooks 2.0 service as a FastAPI router (mounted by the web app).

``GET /cds-services`` (discovery), ``POST /cds-services/netmdt-patient-view`` (the
``patient-view`` hook) and ``POST /cds-services/netmdt-patient-view/feedback``. Calls and
feedback need a JWT bearer token (``auth``). Every error is JSON ``{"error": {"code",
"message"}}``. Logs carry service ids, counts and timings, never patient data.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from netmdt.cdshooks.auth import AuthError, Caller, verify_bearer
from netmdt.cdshooks.cards import patient_card
from netmdt.cdshooks.config import CdsConfig
from netmdt.cdshooks.models import CardEvent, FeedbackEvent, FeedbackRequest, HookRequest
from netmdt.engine.assess import assess
from netmdt.errors import NetmdtError
from netmdt.fhir.importer import import_fhir
from netmdt.kb import KnowledgeBase, load_kb

log = logging.getLogger("netmdt.cdshooks")

SERVICE_ID = "netmdt-patient-view"
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
SERVICE = {
    "hook": "patient-view",
    "id": SERVICE_ID,
    "title": "netmdt: NET MDT treatment options",
    "description": (
        "Every treatment option for a patient with a neuroendocrine neoplasm, with its "
        "verdict, the facts still missing and the investigations that would settle them. "
        "netmdt never decides: the MDT does."
    ),
    "prefetch": PREFETCH,
    "usageRequirements": "The patient's conditions, observations, medications and "
    "procedures (prefetch, or a FHIR server with an access token).",
}
MAX_PAGES = 20


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The one error shape of netmdt's HTTP interfaces."""
    headers = {"WWW-Authenticate": f'Bearer error="{code}"'} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def create_cds_router(
    config: CdsConfig,
    *,
    on_feedback: Callable[[FeedbackEvent], None],
    on_card: Callable[[CardEvent], None] | None = None,
    kb: KnowledgeBase | None = None,
    clock: Callable[[], datetime] | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> APIRouter:
    """A router with the discovery, patient-view and feedback endpoints.

    ``on_feedback`` receives each feedback item (the web app records it in its audit log);
    ``on_card`` each card issued. ``kb`` defaults to the bundled knowledge base, ``clock``
    to the system clock (UTC; the assessment date is today's date in ``config.timezone``),
    ``http_transport`` to the network (tests pass a mock).
    """
    knowledge = kb or load_kb()
    _warm_up(config)
    now = clock or (lambda: datetime.now(UTC))
    router = APIRouter(tags=["CDS Hooks"])

    @router.get("/cds-services")
    def discovery() -> dict[str, Any]:
        return {"services": [SERVICE]}

    @router.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            caller = _authorise(request, config, service_id)
            hook = _parse(HookRequest, await request.body())
            if hook.hook != "patient-view":
                raise _Refusal(
                    400, "unsupported_hook", f"this service answers patient-view, not {hook.hook!r}"
                )
            resources = await _resources(hook, config, http_transport)
            timings: dict[str, float] = {}
            card, event_args = await run_in_threadpool(
                _assess, hook, resources, config, knowledge, now(), timings
            )
        except _Refusal as r:
            log.info("cds call refused: status=%s code=%s", r.status, r.code)
            return error_response(r.status, r.code, r.message)
        if on_card is not None:
            on_card(CardEvent(service_id=service_id, issuer=caller.iss, **event_args))
        total = (time.perf_counter() - started) * 1000
        log.info(
            "cds call: service=%s resources=%d import_ms=%.1f assess_ms=%.1f total_ms=%.1f",
            service_id,
            len(resources),
            timings["import"],
            timings["assess"],
            total,
        )
        server_timing = ", ".join(f"{k};dur={v:.2f}" for k, v in timings.items())
        return JSONResponse({"cards": [card]}, headers={"Server-Timing": server_timing})

    @router.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> JSONResponse:
        try:
            caller = _authorise(request, config, service_id)
            body = _parse(FeedbackRequest, await request.body())
        except _Refusal as r:
            log.info("cds feedback refused: status=%s code=%s", r.status, r.code)
            return error_response(r.status, r.code, r.message)
        received = now()
        for item in body.feedback:
            reason = item.overrideReason.reason if item.overrideReason else None
            on_feedback(
                FeedbackEvent(
                    service_id=service_id,
                    card_uuid=item.card,
                    outcome=item.outcome,
                    accepted_suggestions=[s.id for s in item.acceptedSuggestions],
                    override_reason_code=(reason or {}).get("code"),
                    override_reason_display=(reason or {}).get("display"),
                    user_comment=item.overrideReason.userComment if item.overrideReason else None,
                    outcome_timestamp=item.outcomeTimestamp,
                    issuer=caller.iss,
                    received_at=received,
                )
            )
        log.info("cds feedback: service=%s items=%d", service_id, len(body.feedback))
        return JSONResponse({})

    return router


def _warm_up(config: CdsConfig) -> None:
    """Load now what the first call would otherwise load (FHIR model classes, code tables);
    then, with ``config.freeze_heap``, freeze the start-up heap: the knowledge base and the
    FHIR models are large and live for ever, and without this every full collection scans
    them again (p99 of a call: 130 ms before, 43 ms after, benchmarks/cdshooks.py)."""
    from fhir.resources.R4B import get_fhir_model_class

    from netmdt.fhir.codes import tables

    tables()
    for name in ("Patient", "Condition", "Observation", "MedicationStatement",
                 "MedicationRequest", "MedicationAdministration", "Procedure",
                 "DiagnosticReport"):  # fmt: skip
        get_fhir_model_class(name)
    if config.freeze_heap:
        gc.collect()
        gc.freeze()


def _authorise(request: Request, config: CdsConfig, service_id: str) -> Caller:
    if service_id != SERVICE_ID:
        raise _Refusal(404, "unknown_service", f"no CDS service {service_id!r}; see /cds-services")
    base = config.service_base_url
    audiences = [base, f"{base}/{service_id}", f"{base}/{service_id}/feedback"]
    try:
        return verify_bearer(request.headers.get("authorization"), config, audiences)
    except AuthError as e:
        raise _Refusal(401, e.code, e.message) from None


def _parse(model: Any, body: bytes) -> Any:
    try:
        return model.model_validate(json.loads(body or b"null"))
    except json.JSONDecodeError:
        raise _Refusal(400, "invalid_request", "the body is not JSON") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise _Refusal(400, "invalid_request", problems) from None


# ------------------------------------------------------------------ prefetch


async def _resources(
    hook: HookRequest, config: CdsConfig, transport: httpx.AsyncBaseTransport | None
) -> list[dict[str, Any]]:
    prefetch = hook.prefetch or {}
    missing = [k for k in PREFETCH if prefetch.get(k) is None]
    if missing and (hook.fhirServer is None or hook.fhirAuthorization is None):
        raise _Refusal(
            412,
            "prefetch_missing",
            f"prefetch {', '.join(missing)} missing and no fhirServer with "
            "fhirAuthorization to fetch it",
        )
    fetched = {}
    if missing and hook.fhirServer is not None and hook.fhirAuthorization is not None:
        fetched = await _fetch(
            hook.fhirServer,
            hook.fhirAuthorization.access_token,
            hook.context.patientId,
            missing,
            config,
            transport,
        )
    resources: list[dict[str, Any]] = []
    for key in PREFETCH:
        resources += _unwrap(fetched[key] if key in fetched else prefetch[key], key)
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if not patients or any(str(p.get("id")) != hook.context.patientId for p in patients):
        raise _Refusal(
            400, "patient_mismatch", "the Patient in the prefetch is not context.patientId"
        )
    return resources


def _unwrap(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, dict) or "resourceType" not in value:
        raise _Refusal(400, "invalid_request", f"prefetch.{key} is not a FHIR resource")
    if value["resourceType"] != "Bundle":
        return [value]
    entries = value.get("entry") or []
    return [
        e["resource"]
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


async def _fetch(
    server: str,
    access_token: str,
    patient_id: str,
    keys: list[str],
    config: CdsConfig,
    transport: httpx.AsyncBaseTransport | None,
) -> dict[str, Any]:
    """The prefetch queries netmdt was not sent, asked of the EHR's FHIR server."""
    base = server.rstrip("/")
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"}
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(
        transport=transport, timeout=config.fhir_timeout_seconds, headers=headers
    ) as client:
        for key in keys:
            query = PREFETCH[key].replace("{{context.patientId}}", quote(patient_id, safe=""))
            out[key] = await _get_all(client, f"{base}/{query}", key)
    return out


async def _get_all(client: httpx.AsyncClient, url: str, key: str) -> dict[str, Any]:
    """One resource, or a search Bundle with every page's entries."""
    entries: list[Any] = []
    first: dict[str, Any] | None = None
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            break
        try:
            response = await client.get(next_url)
            response.raise_for_status()
            page = response.json()
        except (httpx.HTTPError, ValueError):
            raise _Refusal(
                502, "fhir_server_error", f"the FHIR server did not answer the {key} query"
            ) from None
        if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
            return page if isinstance(page, dict) else {}
        first = first or page
        entries += page.get("entry") or []
        next_url = next(
            (ln.get("url") for ln in page.get("link", []) if ln.get("relation") == "next"), None
        )
    return {**(first or {"resourceType": "Bundle", "type": "searchset"}), "entry": entries}


# ------------------------------------------------------------------ assessing


def _assess(
    hook: HookRequest,
    resources: list[dict[str, Any]],
    config: CdsConfig,
    kb: KnowledgeBase,
    now: datetime,
    timings: dict[str, float],
) -> tuple[dict[str, Any], dict[str, Any]]:
    day = now.astimezone(ZoneInfo(config.timezone)).date()
    t0 = time.perf_counter()
    try:
        result = import_fhir(resources, assessed_on=day, health_system=config.health_system)  # type: ignore[arg-type]
    except NetmdtError as e:
        raise _Refusal(400, "invalid_fhir", str(e).replace("\n", "; ")) from None
    t1 = time.perf_counter()
    assessment = assess(result.case, kb)
    t2 = time.perf_counter()
    patient = next(r for r in resources if r.get("resourceType") == "Patient")
    card = patient_card(assessment, result.report, patient, config)
    timings.update(
        {
            "import": (t1 - t0) * 1000,
            "assess": (t2 - t1) * 1000,
            "card": (time.perf_counter() - t2) * 1000,
        }
    )
    event = {
        "hook_instance": hook.hookInstance,
        "card_uuid": card["uuid"],
        "patient_fhir_id": hook.context.patientId,
        "summary": card["summary"],
        "indicator": card["indicator"],
        "knowledge_base_version": assessment.knowledge_base.version,
        "knowledge_base_fingerprint": assessment.knowledge_base.fingerprint,
        "issued_at": now,
    }
    return card, event
