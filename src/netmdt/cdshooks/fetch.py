"""The patient's FHIR resources for one hook call: the prefetch, completed from the EHR's FHIR
server where the specification allows it, safely.

CDS Hooks 2.0 prefetch rules, as netmdt reads them:

- a key the client **omitted** must be fetched (``fhirServer`` + ``fhirAuthorization``);
  when it cannot be, the answer is 412;
- a key sent as **null** means the client has no data for it: nothing is fetched;
- a key holding an **OperationOutcome** means the client failed to fetch it: netmdt fetches
  it when it may, otherwise the card says it rests on partial data;
- a search **Bundle with a ``next`` link** has more pages: netmdt fetches them when it may,
  otherwise the card says it rests on partial data.

What "may" means (security review, finding 6): the call's ``fhirServer`` is one of the FHIR
base URLs configured for the token's issuer (``CdsConfig.fhir_servers``: https, or http on
loopback only), and ``fhirAuthorization`` is present. The access token is sent only to URLs
under that base (same scheme, host, port and base path; no dot segments); redirects are not
followed; every response is streamed under one byte budget for the call
(``fhir_max_bytes``), entries are counted against ``fhir_max_entries``, the whole fetch runs
under ``fhir_total_seconds``, the queries run in parallel, and JSON is parsed in a worker
thread, never on the event loop. A budget spent mid-way leaves the data read so far and a
note that the card rests on partial data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from netmdt.cdshooks.config import CdsConfig
from netmdt.cdshooks.models import HookRequest

PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
# httpx logs every request's URL at INFO: the queries name the patient (no patient data in
# logs), so its loggers say only what goes wrong.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level < logging.WARNING:
        logging.getLogger(_name).setLevel(logging.WARNING)

KEY_NAMES = {  # how the card names each prefetch key
    "patient": "the patient's record",
    "conditions": "diagnoses",
    "observations": "results and observations",
    "medicationStatements": "medication statements",
    "medicationRequests": "prescriptions",
    "procedures": "procedures",
}


class Refusal(Exception):
    """A call answered with an error: HTTP status, machine code, message for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Gathered:
    """The resources for the import, and the keys the card rests on only in part (and why)."""

    resources: list[dict[str, Any]]
    partial: dict[str, str] = field(default_factory=dict)


class _Spent(Exception):
    """A budget (bytes or entries) ran out."""


@dataclass
class _Budget:
    bytes_left: int
    entries_left: int


def allowed_server(hook: HookRequest, issuer: str, config: CdsConfig) -> str | None:
    """The configured base URL the call's ``fhirServer`` names, or None."""
    if hook.fhirServer is None:
        return None
    wanted = _origin_path(hook.fhirServer)
    for base in config.fhir_servers.get(issuer, ()):
        if wanted is not None and wanted == _origin_path(base):
            return base
    return None


def _origin_path(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.username or parts.password or not parts.hostname:
        return None
    return (parts.scheme.lower(), parts.hostname.lower(), port, parts.path.rstrip("/"))


def inside(base: str, url: str) -> bool:
    """True when ``url`` is under the FHIR base ``base`` (same scheme, host, port, base path,
    no ``.``/``..`` segments): the only URLs that may receive the EHR's access token."""
    b, u = _origin_path(base), _origin_path(url)
    if b is None or u is None or b[:3] != u[:3]:
        return False
    segments = unquote(urlsplit(url).path).split("/")
    if "." in segments or ".." in segments:
        return False
    return u[3] == b[3] or u[3].startswith(b[3] + "/")


async def gather(
    hook: HookRequest,
    issuer: str,
    config: CdsConfig,
    transport: httpx.AsyncBaseTransport | None,
) -> Gathered:
    """The call's resources: prefetch first, then what must and may be fetched."""
    prefetch = hook.prefetch or {}
    server = allowed_server(hook, issuer, config)
    can_fetch = server is not None and hook.fhirAuthorization is not None
    have: dict[str, list[dict[str, Any]]] = {}
    partial: dict[str, str] = {}
    fetch: dict[str, str] = {}  # key -> URL of the query (or of its next page)
    absent: list[str] = []
    for key in PREFETCH:
        if key not in prefetch:
            absent.append(key)
            continue
        value = prefetch[key]
        if value is None:
            have[key] = []
            continue
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            raise Refusal(400, "invalid_request", f"prefetch.{key} is not a FHIR resource or null")
        if value["resourceType"] == "OperationOutcome":
            have[key] = []
            if can_fetch:
                fetch[key] = ""
            else:
                partial[key] = "the EHR could not fetch them"
            continue
        have[key] = _entries(value)
        more = _next(value)
        if more is not None:
            if can_fetch and server is not None and inside(server, more):
                fetch[key] = more
            else:
                partial[key] = "the EHR sent only the first page"
    if absent and not can_fetch:
        why = (
            "no fhirServer with fhirAuthorization to fetch it"
            if hook.fhirServer is None or hook.fhirAuthorization is None
            else "its fhirServer is not one configured for this issuer"
        )
        raise Refusal(412, "prefetch_missing", f"prefetch {', '.join(absent)} missing and {why}")
    for key in absent:
        fetch[key] = ""
    if fetch and server is not None and hook.fhirAuthorization is not None:
        fetched = await _fetch_all(
            server, hook.fhirAuthorization.access_token, hook.context.patientId, fetch, config,
            transport,
        )  # fmt: skip
        for key, (resources, note) in fetched.items():
            have[key] = have.get(key, []) + resources
            if note:
                partial[key] = note
    return Gathered([r for key in PREFETCH for r in have.get(key, [])], partial)


def _entries(value: dict[str, Any]) -> list[dict[str, Any]]:
    if value["resourceType"] != "Bundle":
        return [value]
    entries = value.get("entry") or []
    if not isinstance(entries, list):
        raise Refusal(400, "invalid_request", "a prefetch Bundle's entry is not a list")
    return [
        e["resource"]
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") != "OperationOutcome"  # search notes, not data
    ]


def _next(value: dict[str, Any]) -> str | None:
    if value.get("resourceType") != "Bundle" or not isinstance(value.get("link"), list):
        return None
    for link in value["link"]:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


async def _fetch_all(
    server: str,
    access_token: str,
    patient_id: str,
    todo: dict[str, str],
    config: CdsConfig,
    transport: httpx.AsyncBaseTransport | None,
) -> dict[str, tuple[list[dict[str, Any]], str | None]]:
    """Each key's resources (all pages, within the budgets), the queries in parallel."""
    budget = _Budget(config.fhir_max_bytes, config.fhir_max_entries)
    pid = quote(patient_id, safe="")
    timeout = httpx.Timeout(config.fhir_timeout_seconds)
    async with httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        verify=tls_context(),
    ) as client:
        reader = _Reader(client, server, access_token, budget)
        try:
            async with asyncio.timeout(config.fhir_total_seconds), asyncio.TaskGroup() as group:
                tasks = {
                    key: group.create_task(reader.pages(key, url or f"{server}/{_query(key, pid)}"))
                    for key, url in todo.items()
                }  # one query fails: the others are cancelled, not left running
        except TimeoutError:
            raise Refusal(
                504, "fhir_server_timeout",
                f"the FHIR server did not answer within {config.fhir_total_seconds:g} s",
            ) from None  # fmt: skip
        except BaseExceptionGroup as failed:
            refusals = [e for e in failed.exceptions if isinstance(e, Refusal)]
            if refusals:
                raise refusals[0] from None
            raise
    return {key: task.result() for key, task in tasks.items()}


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (certifi's CA bundle, as httpx uses) for every call: building it
    loads the CA bundle, about 130 ms, which a per-call client would pay each time."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _query(key: str, patient_id: str) -> str:
    return PREFETCH[key].replace("{{context.patientId}}", patient_id)


@dataclass
class _Reader:
    client: httpx.AsyncClient
    server: str
    access_token: str
    budget: _Budget

    async def pages(self, key: str, url: str) -> tuple[list[dict[str, Any]], str | None]:
        """Every page of one query, following ``next`` links under the server's base."""
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url is not None:
            if not inside(self.server, next_url):
                return out, "the FHIR server's next page is on another server (not followed)"
            try:
                page = await self._get(key, next_url)
            except _Spent:
                if key == "patient":
                    raise Refusal(
                        502, "fhir_server_error", "the FHIR server's Patient is too large"
                    ) from None
                return out, "more than netmdt fetches for one call"
            if page.get("resourceType") == "OperationOutcome":
                raise Refusal(
                    502, "fhir_server_error", f"the FHIR server answered the {key} query "
                    "with an OperationOutcome"
                )  # fmt: skip
            entries = _entries(page)
            if len(entries) > self.budget.entries_left:
                out += entries[: self.budget.entries_left]
                self.budget.entries_left = 0
                return out, "more than netmdt fetches for one call"
            self.budget.entries_left -= len(entries)
            out += entries
            next_url = _next(page)
        return out, None

    async def _get(self, key: str, url: str) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.access_token}",
            "Accept": "application/fhir+json",
        }
        chunks: list[bytes] = []
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                if key == "patient" and response.status_code in (404, 410):
                    raise Refusal(
                        404, "unknown_patient", "the FHIR server has no such Patient "
                        "(context.patientId)"
                    )  # fmt: skip
                if response.status_code != 200:
                    raise Refusal(
                        502, "fhir_server_error", f"the FHIR server answered the {key} query "
                        f"with HTTP {response.status_code}"
                    )  # fmt: skip
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.budget.bytes_left:
                    raise _Spent
                async for chunk in response.aiter_bytes():  # decoded: counts unzipped bytes
                    self.budget.bytes_left -= len(chunk)  # shared by the parallel queries
                    if self.budget.bytes_left < 0:
                        raise _Spent
                    chunks.append(chunk)
        except httpx.HTTPError:
            raise Refusal(
                502, "fhir_server_error", f"the FHIR server did not answer the {key} query"
            ) from None
        try:
            page = await asyncio.to_thread(json.loads, b"".join(chunks))
        except (ValueError, RecursionError):
            raise Refusal(
                502, "fhir_server_error", f"the FHIR server's answer to the {key} query is not JSON"
            ) from None
        if not isinstance(page, dict) or not isinstance(page.get("resourceType"), str):
            raise Refusal(
                502, "fhir_server_error", f"the FHIR server's answer to the {key} query is not "
                "a FHIR resource"
            )  # fmt: skip
        return page
