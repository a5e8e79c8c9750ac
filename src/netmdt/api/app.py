"""The app factory: ``create_app(settings)`` wires storage, the knowledge base, security,
the JSON API, the web pages and the error handlers. Nothing is created at import time."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netmdt import __version__
from netmdt.api import limits
from netmdt.api.deps import AppState, audit_conflict
from netmdt.api.routes import router as api_router
from netmdt.api.security import LoginGate, PasswordChecks, TokenCache
from netmdt.assessment import Assessment
from netmdt.cdshooks import CardEvent, CdsConfig, FeedbackEvent, create_cds_router
from netmdt.config import Settings, load_settings
from netmdt.errors import ConflictError, NotFoundError, Problem, RecordValidationError
from netmdt.kb import KnowledgeBase, load_kb
from netmdt.store.db import make_engine, migrate, session_factory
from netmdt.store.services import audit

log = logging.getLogger("netmdt.http")
STATIC = Path(__file__).parent.parent / "web" / "static"


def create_app(settings: Settings | None = None, *, kb: KnowledgeBase | None = None) -> FastAPI:
    from netmdt.trials.local import localised_by_settings  # the trials package imports the engine

    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start:
        migrate(engine)
    app = FastAPI(
        title="netmdt",
        version=__version__,
        summary="Decision support for the neuroendocrine tumour MDT",
        description="Every patient route needs a logged-in user or an "
        "`Authorization: Bearer` token (`netmdt token create NAME`) with the right role.",
        # No /docs or /redoc: FastAPI's pages load their JavaScript from a CDN, which the
        # CSP (default-src 'self') forbids; /openapi.json is there for any OpenAPI viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.netmdt = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        base_kb=localised_by_settings(kb or load_kb(), settings),  # docs/trials.md
        tokens=TokenCache(settings.token_cache_seconds),
        checks=PasswordChecks(settings.password_hash_workers, settings.password_hash_queue),
    )
    _middleware(app, settings)
    _errors(app)
    app.get("/healthz", tags=["ops"])(healthz)
    app.include_router(api_router, tags=["api"])
    from netmdt.web.routes import router as web_router

    app.include_router(web_router, include_in_schema=False)
    from netmdt.survey.web import api_router as survey_api
    from netmdt.survey.web import router as survey_web

    app.include_router(survey_api, tags=["survey"])
    app.include_router(survey_web, include_in_schema=False)
    from netmdt.trials.routes import router as trials_router

    app.include_router(trials_router)
    from netmdt.registry.routes import api as registry_api
    from netmdt.registry.routes import web as registry_web

    app.include_router(registry_api)
    app.include_router(registry_web)
    from netmdt.meeting.web import api as meeting_api
    from netmdt.meeting.web import router as meeting_router

    app.include_router(meeting_router, include_in_schema=False)
    app.include_router(meeting_api, tags=["api"])
    from netmdt.governance.web import router as governance_router

    app.include_router(governance_router, include_in_schema=False)
    app.include_router(_cds_router(app.state.netmdt))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _cds_router(state: AppState) -> APIRouter:
    """The CDS Hooks service, its feedback and its cards written to the audit log."""
    settings = state.settings
    issuers: dict[str, Any] = {}
    if settings.cds_issuers_file:
        issuers = json.loads(Path(settings.cds_issuers_file).read_text())
    config = CdsConfig(
        service_base_url=settings.base_url.rstrip("/") + "/cds-services",
        app_base_url=settings.base_url.rstrip("/"),
        trusted_issuers=issuers,
        freeze_heap=settings.cds_freeze_heap,
    )

    def on_feedback(event: FeedbackEvent) -> None:
        with state.sessions() as db:
            audit(
                db,
                f"cds:{event.issuer}",
                f"cds_{event.outcome}",
                "cds_card",
                event.card_uuid,
                override_reason=event.override_reason_code,
                accepted_suggestions=len(event.accepted_suggestions),
            )
            db.commit()

    def on_card(event: CardEvent) -> None:
        with state.sessions() as db:
            audit(
                db,
                f"cds:{event.issuer}",
                "read",
                "fhir_patient",
                event.patient_fhir_id,
                card=event.card_uuid,
                indicator=event.indicator,
                kb_version=event.knowledge_base_version,
            )
            db.commit()

    return create_cds_router(
        config, on_feedback=on_feedback, on_card=on_card, centre=cds_centre(state)
    )


def cds_centre(
    state: AppState,
) -> Callable[[], tuple[KnowledgeBase, Callable[[Assessment], Assessment]]]:
    """For the CDS service, at each call: the centre's knowledge base as it is now (local
    settings, trials open here, the PRRT registry's status) and what gives an assessment
    the centre's reviews (docs/governance.md)."""

    def centre() -> tuple[KnowledgeBase, Callable[[Assessment], Assessment]]:
        from netmdt.governance import service as gov

        with state.sessions() as db:
            kb = gov.centre_kb(db, state.kb)
            states, set_by = gov.item_states(db, kb), gov.settings_set_by(db)
        return kb, lambda a: gov.governed_with(a, kb, states, set_by)

    return centre


def healthz() -> dict[str, str]:
    """Liveness: no authentication, no database."""
    return {"status": "ok", "version": __version__}


def _middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(LoginGate, checks=app.state.netmdt.checks)  # innermost of these
    app.add_middleware(limits.AuthenticateFirst)  # inside the session middleware
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key or secrets.token_urlsafe(32),
        session_cookie="netmdt_session",
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=settings.https,
    )
    app.add_middleware(GZipApi)
    app.add_middleware(RequestLog)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type"],
        )
    limits.install(app, settings)  # outermost: the edge checks and the security headers


class GZipApi:
    """gzip for large JSON API responses (a full assessment: about 130 KB, 33 KB
    gzipped), when the client accepts it. Only under ``/api/``: the web pages carry the
    CSRF token beside what the user typed, which compression could leak (BREACH). Level
    1: a quarter of the size for a quarter of the CPU of level 9 (which gains only 20%)."""

    MINIMUM_SIZE = 16_384  # a summary view (about 10 KB) usually goes as it is

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=self.MINIMUM_SIZE, compresslevel=1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class RequestLog:
    """One log line per request: method, route *template*, status, time. Never the URL
    itself (its query could hold an NHS number) and never a body. Pure ASGI, so it costs
    microseconds, not a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            template = getattr(scope.get("route"), "path", "(unmatched)")
            ms = (time.perf_counter() - start) * 1000
            log.info("%s %s %d %.1fms", scope["method"], template, status, ms)


def error_body(code: str, message: str, problems: list[Problem] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """The one error shape of the JSON API."""
    return {
        "error": {
            "code": code,
            "message": message,
            "problems": [
                {"where": p.where, "message": p.message, "code": p.code} for p in problems
            ],
        }
    }


CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def _errors(app: FastAPI) -> None:
    from netmdt.web.common import error_page

    def reply(request: Request, status: int, body: dict[str, Any]) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(body, status_code=status, headers=headers)
        return error_page(request, status, body["error"])

    @app.exception_handler(RecordValidationError)
    async def invalid(request: Request, exc: RecordValidationError) -> Response:
        return reply(request, 422, error_body("invalid", "the input is invalid", exc.problems))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            Problem(
                ".".join(str(p) for p in e["loc"] if p != "body"),
                str(e["msg"]).removeprefix("Value error, "),
                str(e["type"]),
            )
            for e in exc.errors()
        ]
        return reply(request, 422, error_body("invalid", "the input is invalid", problems))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return reply(request, 404, error_body("not_found", str(exc)))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> Response:
        await audit_conflict(request)
        return reply(request, 409, error_body("conflict", str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = CODES.get(exc.status_code, f"http_{exc.status_code}")
        response = reply(request, exc.status_code, error_body(code, str(exc.detail)))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
