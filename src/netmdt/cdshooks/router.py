"""The CDS Hooks 2.0 service as a FastAPI router (mounted by the web app).

``GET /cds-services`` (discovery), ``POST /cds-services/netmdt-patient-view`` (the
``patient-view`` hook) and ``POST /cds-services/netmdt-patient-view/feedback``. Calls and
feedback need a JWT bearer token (``auth``) whose ``aud`` is the endpoint called. Every
answer under ``/cds-services`` is JSON, errors included (``{"error": {"code",
"message"}}``: a wrong method, an unknown path, a double slash). Logs carry service ids,
counts and timings, never patient data.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from netmdt.assessment import Assessment
from netmdt.cdshooks.auth import AuthError, Caller, verify_bearer
from netmdt.cdshooks.cards import patient_card, silence
from netmdt.cdshooks.config import CdsConfig, IssuedCard, StoreFull
from netmdt.cdshooks.fetch import PREFETCH, Gathered, Refusal, gather
from netmdt.cdshooks.models import CardEvent, FeedbackEvent, FeedbackRequest, HookRequest
from netmdt.engine.assess import assess
from netmdt.errors import NetmdtError
from netmdt.fhir.importer import import_fhir
from netmdt.kb import KnowledgeBase, load_kb

# The centre's knowledge base now, and what gives an assessment the centre's reviews.
Centre = Callable[[], tuple[KnowledgeBase, Callable[[Assessment], Assessment]]]

log = logging.getLogger("netmdt.cdshooks")

SERVICE_ID = "netmdt-patient-view"
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
    "procedures (prefetch, or a FHIR server configured for the EHR's issuer with an "
    "access token).",
}


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
    centre: Centre | None = None,
    clock: Callable[[], datetime] | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> APIRouter:
    """A router with the discovery, patient-view and feedback endpoints.

    ``on_feedback`` receives each feedback item (the web app records it in its audit log);
    ``on_card`` each call that read a patient's record: the card issued, or none (when
    netmdt has nothing to say). ``kb`` defaults to the bundled knowledge base; ``centre``,
    when given, is asked at each call for the centre's knowledge base and the function that
    gives an assessment the centre's reviews (the web app's: its local settings, trials and
    PRRT registry status as they are now, docs/governance.md), and wins over ``kb``. ``clock``
    to the system clock (UTC; the assessment date is today's date in ``config.timezone``),
    ``http_transport`` to the network (tests pass a mock).
    """
    knowledge = kb or load_kb()
    current: Centre = centre or (lambda: (knowledge, _as_it_is))
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
            caller = _authorise(request, config, service_id, feedback=False)
            hook = await _parse(HookRequest, await request.body())
            if hook.hook != "patient-view":
                raise Refusal(
                    400, "unsupported_hook", f"this service answers patient-view, not {hook.hook!r}"
                )
            t0 = time.perf_counter()
            gathered = await gather(hook, caller.iss, config, http_transport)
            _check_patient(gathered, hook)
            timings: dict[str, float] = {"fetch": (time.perf_counter() - t0) * 1000}
            card, event_args = await run_in_threadpool(
                _assess, hook, gathered, config, current, now(), timings
            )
        except Refusal as r:
            log.info("cds call refused: status=%s code=%s", r.status, r.code)
            return error_response(r.status, r.code, r.message)
        if card is not None:
            suggestions = frozenset(s["uuid"] for s in card.get("suggestions", []))
            config.card_store.remember(card["uuid"], IssuedCard(caller.iss, suggestions))
        if on_card is not None:
            on_card(CardEvent(service_id=service_id, issuer=caller.iss, **event_args))
        total = (time.perf_counter() - started) * 1000
        log.info(
            "cds call: service=%s resources=%d cards=%d partial=%d import_ms=%.1f "
            "assess_ms=%.1f total_ms=%.1f",
            service_id,
            len(gathered.resources),
            0 if card is None else 1,
            len(gathered.partial),
            timings["import"],
            timings.get("assess", 0.0),
            total,
        )
        server_timing = ", ".join(f"{k};dur={v:.2f}" for k, v in timings.items())
        return JSONResponse(
            {"cards": [] if card is None else [card]}, headers={"Server-Timing": server_timing}
        )

    @router.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> JSONResponse:
        try:
            caller = _authorise(request, config, service_id, feedback=True)
            body = await _parse(FeedbackRequest, await request.body())
            _check_feedback(body, caller, config)
        except Refusal as r:
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

    @router.api_route(
        "/cds-services",
        methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    def discovery_only(request: Request) -> JSONResponse:
        response = error_response(
            405, "method_not_allowed", f"{request.method} is not allowed here; use GET"
        )
        response.headers["Allow"] = "GET"
        return response

    @router.api_route(
        "/cds-services/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    def elsewhere(rest: str, request: Request) -> JSONResponse:
        """JSON for everything else under /cds-services: 405 on a known URL with the wrong
        method, 404 otherwise (a double slash included)."""
        if rest == "":
            return error_response(404, "not_found", "nothing here; discovery is /cds-services")
        known = {SERVICE_ID: "POST", f"{SERVICE_ID}/feedback": "POST"}
        if rest in known:
            response = error_response(
                405, "method_not_allowed", f"{request.method} is not allowed here; use POST"
            )
            response.headers["Allow"] = known[rest]
            return response
        return error_response(
            404, "unknown_service", "no such CDS service or endpoint; see /cds-services"
        )

    return router


def _warm_up(config: CdsConfig) -> None:
    """Load now what the first call would otherwise load (FHIR model classes, code tables,
    the TLS context for FHIR servers);
    then, with ``config.freeze_heap``, freeze the start-up heap: the knowledge base and the
    FHIR models are large and live for ever, and without this every full collection scans
    them again (p99 of a call: 130 ms before, 43 ms after, benchmarks/cdshooks.py)."""
    from fhir.resources.R4B import get_fhir_model_class

    from netmdt.cdshooks.fetch import tls_context
    from netmdt.fhir.codes import tables

    tables()
    tls_context()
    for name in ("Patient", "Condition", "Observation", "MedicationStatement",
                 "MedicationRequest", "MedicationAdministration", "Procedure",
                 "DiagnosticReport"):  # fmt: skip
        get_fhir_model_class(name)
    if config.freeze_heap:
        gc.collect()
        gc.freeze()


def _authorise(request: Request, config: CdsConfig, service_id: str, *, feedback: bool) -> Caller:
    """The verified caller; the token's ``aud`` must be exactly the endpoint called."""
    if service_id != SERVICE_ID:
        raise Refusal(404, "unknown_service", f"no CDS service {service_id!r}; see /cds-services")
    endpoint = f"{config.service_base_url}/{service_id}" + ("/feedback" if feedback else "")
    try:
        return verify_bearer(request.headers.get("authorization"), config, [endpoint])
    except AuthError as e:
        raise Refusal(401, e.code, e.message) from None
    except StoreFull:
        raise Refusal(503, "busy", "too many calls at once; try again shortly") from None


async def _parse(model: Any, body: bytes) -> Any:
    """The request body as ``model``; JSON parsed off the event loop (a prefetch is large)."""
    try:
        data = await asyncio.to_thread(json.loads, body or b"null")
        return model.model_validate(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise Refusal(400, "invalid_request", "the body is not JSON") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:10]
        )
        raise Refusal(400, "invalid_request", problems) from None


def _check_patient(gathered: Gathered, hook: HookRequest) -> None:
    patients = [r for r in gathered.resources if r.get("resourceType") == "Patient"]
    if not patients:
        raise Refusal(
            404, "unknown_patient", "no Patient for context.patientId (the prefetch is null)"
        )
    if any(str(p.get("id")) != hook.context.patientId for p in patients):
        raise Refusal(
            400, "patient_mismatch", "the Patient in the prefetch is not context.patientId"
        )


def _check_feedback(body: FeedbackRequest, caller: Caller, config: CdsConfig) -> None:
    """Feedback only for cards this service issued to this issuer, for their suggestions,
    at most ``config.max_feedback_per_card`` items a card; nothing recorded unless all pass."""
    counts: dict[str, int] = {}
    for n, item in enumerate(body.feedback):
        card = config.card_store.get(item.card)
        if card is None or card.issuer != caller.iss:
            raise Refusal(404, "unknown_card", f"feedback[{n}].card: no such card was issued")
        unknown = [s.id for s in item.acceptedSuggestions if s.id not in card.suggestions]
        if unknown:
            raise Refusal(
                400,
                "unknown_suggestion",
                f"feedback[{n}].acceptedSuggestions: not a suggestion of this card",
            )
        counts[item.card] = counts.get(item.card, card.feedback) + 1
        if counts[item.card] > config.max_feedback_per_card:
            raise Refusal(
                429,
                "too_much_feedback",
                f"feedback[{n}]: at most {config.max_feedback_per_card} items per card",
            )
    for uuid_, total in counts.items():
        card = config.card_store.get(uuid_)
        if card is not None:
            card.feedback = total


# ------------------------------------------------------------------ assessing


def _as_it_is(assessment: Assessment) -> Assessment:
    return assessment


def _assess(
    hook: HookRequest,
    gathered: Gathered,
    config: CdsConfig,
    centre: Centre,
    now: datetime,
    timings: dict[str, float],
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The card (or None: nothing to say) and the arguments of its ``CardEvent``."""
    kb, govern = centre()
    resources = gathered.resources
    day = now.astimezone(ZoneInfo(config.timezone)).date()
    t0 = time.perf_counter()
    try:
        result = import_fhir(resources, assessed_on=day, health_system=config.health_system)  # type: ignore[arg-type]
    except NetmdtError as e:
        raise Refusal(400, "invalid_fhir", str(e).replace("\n", "; ")) from None
    t1 = time.perf_counter()
    timings["import"] = (t1 - t0) * 1000
    event: dict[str, Any] = {
        "hook_instance": hook.hookInstance,
        "patient_fhir_id": hook.context.patientId,
        "issued_at": now,
        "knowledge_base_version": kb.version,
        "knowledge_base_fingerprint": kb.fingerprint,
    }
    quiet = silence(result.report)
    if quiet is not None:
        return None, {**event, "card_uuid": None, "summary": f"no card: {quiet}",
                      "indicator": "none"}  # fmt: skip
    assessment = govern(assess(result.case, kb))
    t2 = time.perf_counter()
    patient = next(r for r in resources if r.get("resourceType") == "Patient")
    card = patient_card(assessment, result.report, patient, config, gathered.partial)
    timings.update({"assess": (t2 - t1) * 1000, "card": (time.perf_counter() - t2) * 1000})
    return card, {
        **event,
        "card_uuid": card["uuid"],
        "summary": card["summary"],
        "indicator": card["indicator"],
    }
