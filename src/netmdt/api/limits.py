"""The app's edge, as pure ASGI middleware: what a request must be before any route sees
it, and what every answer carries.

From the outside in (``install`` adds them; ``AuthenticateFirst`` sits inside the
session middleware, see ``app._middleware``):

- ``Edge``: the security headers on every answer but static files, 500s included (CSP
  ``default-src 'self'``, HSTS with ``NETMDT_HTTPS``); a redirect never names the Host
  the request claimed, only a path; an exception the app did not handle becomes a 500
  in the one error shape, with those headers.
- ``TrustedHostMiddleware``: only ``NETMDT_ALLOWED_HOSTS`` (400 for any other Host).
- ``BodyLimit``: a body over ``NETMDT_MAX_BODY_BYTES`` is refused with 413 before it is
  parsed, by its ``Content-Length`` or, streamed (chunked), as soon as the bytes read
  pass the limit.
- ``StrictQuery``: a query parameter holding a NUL character is refused with 422
  naming it (PostgreSQL cannot compare text with NUL).
- ``AuthenticateFirst``: a write (POST, PUT, PATCH, DELETE) to any route that needs a
  login is answered 401 before a byte of its body is read when the caller has no valid
  token or session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netmdt.config import Settings
from netmdt.textcheck import shown, text_fault

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes that need no netmdt login: logging in and out, CDS Hooks (the EHR's signed
# JWT, checked by the CDS router itself before it parses the body) and the patient's
# survey page (its one-time link's token, checked by the survey's routes, which also
# limit the rate and the size of what they take).
PUBLIC_WRITES = ("/login", "/logout")
PUBLIC_PREFIXES = ("/cds-services", "/s/")
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]", "testserver")  # testserver: TestClient

# The app serves no JavaScript and no third-party content: everything from itself.
CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    # Patient pages and API answers must not stay in a shared ward PC's cache.
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


def install(app: Any, settings: Settings) -> None:
    """Add the outer middleware (call last: the last added runs first)."""
    app.add_middleware(StrictQuery)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))
    app.add_middleware(Edge, https=settings.https)


def allowed_hosts(settings: Settings) -> list[str]:
    if settings.allowed_hosts:
        return list(settings.allowed_hosts)
    own = urlsplit(settings.base_url).hostname
    return sorted({*(LOOPBACK), *([own] if own else [])})


def error_json(status: int, code: str, message: str, problems: Iterable[Any] = ()) -> bytes:
    """The one error shape of the API (``app.error_body``), as bytes."""
    from netmdt.api.app import error_body

    return json.dumps(error_body(code, message, list(problems))).encode()


async def send_json(send: Send, status: int, body: bytes, headers: Iterable[Any] = ()) -> None:
    await send_body(send, status, body, b"application/json", headers)


async def send_body(
    send: Send, status: int, body: bytes, content_type: bytes, headers: Iterable[Any] = ()
) -> None:
    """A whole answer sent straight from ASGI middleware (before any route runs)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Edge:
    """Security headers on every answer (500s too); redirects without the Host."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = [*HEADERS, HSTS] if https else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        started = False

        async def add(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", [])]
                if 300 <= message["status"] < 400:
                    headers = [_local_location(k, v) for k, v in headers]
                if not static:
                    headers += self.headers
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, add)
        except Exception:
            if not started:
                body = error_json(500, "server_error", "the server could not answer this request")
                await send_json(send, 500, body, self.headers)
            raise


def _local_location(key: bytes, value: bytes) -> tuple[bytes, bytes]:
    """``Location: http://{Host}/path?q`` -> ``/path?q``: the app's own redirects are
    always to itself, so they need no host, and a Host header is never reflected."""
    if key.lower() != b"location":
        return key, value
    parts = urlsplit(value.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return key, value
    local = parts.path or "/"
    if parts.query:
        local += "?" + parts.query
    return key, local.encode("latin-1")


class BodyLimit:
    """413 for a body larger than ``limit`` bytes, before the app parses any of it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is larger than the limit of {self.limit:,} bytes"
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.isascii() or not length.isdigit():
                body = error_json(400, "bad_request", "Content-Length is not a number")
                await send_json(send, 400, body)
                return
            if int(length) > self.limit:
                await send_json(send, 413, error_json(413, "too_large", message))
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            incoming = await receive()
            if incoming["type"] == "http.request":
                seen += len(incoming.get("body", b""))
                if seen > self.limit:
                    # An HTTPException passes FastAPI's body parsing untouched and
                    # reaches the app's error handler (the one error shape).
                    raise HTTPException(413, message)
            return incoming

        await self.app(scope, counted, send)


class StrictQuery:
    """422 naming the parameter for a query string value (or name) with a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            from netmdt.errors import Problem

            query = scope["query_string"].decode("latin-1")
            problems = []
            for name, value in parse_qsl(query, keep_blank_values=True):
                for text, what in ((name, "the parameter name"), (value, "the value")):
                    fault = text_fault(text)
                    if fault:
                        where = name if text is value and not text_fault(name) else shown(name)
                        problems.append(Problem(where, f"{what} {fault}", "invalid_text"))
            if problems:
                body = error_json(422, "invalid", "the input is invalid", problems)
                await send_json(send, 422, body)
                return
        await self.app(scope, receive, send)


class AuthenticateFirst:
    """401 for a write by an unknown caller before its body is read.

    Runs inside the session middleware (it reads the session) and asks the same
    dependency the routes use (``deps.current_actor``), which never reads the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE
            or scope["path"] in PUBLIC_WRITES
            or scope["path"].startswith(PUBLIC_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        from netmdt.api.deps import NotAuthenticated, current_actor

        request = Request(scope)
        try:
            known = await current_actor(request) is not None
        except HTTPException:
            known = True  # e.g. a missing CSRF header: the route answers it as usual
        if not known:
            if scope["path"].startswith("/api/"):
                denied = NotAuthenticated()
                body = error_json(401, "not_authenticated", str(denied.detail))
                await send_json(send, 401, body, [(b"www-authenticate", b"Bearer")])
                return
            from netmdt.web.common import error_page

            page = error_page(request, 401, {})
            await page(scope, receive, send)
            return
        await self.app(scope, receive, send)
