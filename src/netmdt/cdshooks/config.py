"""Settings of the CDS Hooks service, and the bounded stores it keeps in memory: the JWT ids
(``jti``) already seen, and the cards issued (so feedback is accepted only for them)."""

from __future__ import annotations

import heapq
import ipaddress
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_KEY_OPTIONS = ("surgery_curative", "ssa_long_acting", "prrt_lu177_dotatate", "chemotherapy")


class StoreFull(Exception):
    """A bounded store holds only live entries and has no room: refuse rather than forget."""


@runtime_checkable
class JtiStore(Protocol):
    """Remembers the JWT ids already seen, until the tokens can no longer be accepted."""

    def check_and_remember(self, jti: str, until: int) -> bool:
        """True the first time ``jti`` is seen (and remember it until ``until``, a Unix time:
        the token's ``exp`` plus the verifier's leeway); False if it was seen before and is
        still remembered: a replayed token. May raise ``StoreFull``."""
        ...


class InMemoryJtiStore:
    """A process-local, bounded ``JtiStore``: an entry is kept until its token can no longer
    be accepted (``exp`` + leeway), then dropped; when ``max_entries`` live entries are held,
    a new token is refused (``StoreFull``) rather than an old one forgotten.

    One process only: run several workers behind a load balancer with a shared store
    (e.g. Redis ``SET key 1 NX EXAT until``) instead.
    """

    def __init__(self, clock: Any = time.time, max_entries: int = 100_000) -> None:
        self._seen: dict[str, int] = {}
        self._expiry: list[tuple[int, str]] = []  # heap of (until, jti)
        self._lock = threading.Lock()
        self._clock = clock
        self._max = max_entries

    def check_and_remember(self, jti: str, until: int) -> bool:
        now = self._clock()
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, old = heapq.heappop(self._expiry)
                if self._seen.get(old, now) < now:
                    del self._seen[old]
            seen = self._seen.get(jti)
            if seen is not None and seen >= now:
                return False
            if len(self._seen) >= self._max:
                raise StoreFull("too many live tokens remembered")
            self._seen[jti] = until
            heapq.heappush(self._expiry, (until, jti))
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass
class IssuedCard:
    """What feedback may refer to: a card this service issued, to whom, its suggestions."""

    issuer: str
    suggestions: frozenset[str]
    feedback: int = 0


@runtime_checkable
class CardStore(Protocol):
    """Remembers the cards issued, so feedback is accepted only for those."""

    def remember(self, card_uuid: str, card: IssuedCard) -> None: ...

    def get(self, card_uuid: str) -> IssuedCard | None: ...


@dataclass
class InMemoryCardStore:
    """The last ``max_cards`` cards issued by this process (oldest forgotten first)."""

    max_cards: int = 10_000
    _cards: OrderedDict[str, IssuedCard] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, card_uuid: str, card: IssuedCard) -> None:
        with self._lock:
            self._cards[card_uuid] = card
            while len(self._cards) > self.max_cards:
                self._cards.popitem(last=False)

    def get(self, card_uuid: str) -> IssuedCard | None:
        with self._lock:
            return self._cards.get(card_uuid)

    def __len__(self) -> int:
        return len(self._cards)


def fhir_base(url: str, where: str) -> str:
    """A FHIR base URL an issuer may name as ``fhirServer``: ``https``, or plain ``http`` on a
    loopback address only (tests, a local proxy); no query, fragment or credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{where}: {url!r} is not a URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{where}: {url!r} must be an https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{where}: {url!r} must have no query, fragment or credentials")
    if parts.scheme == "http" and not _loopback(host):
        raise ValueError(f"{where}: {url!r} must be https (plain http only on loopback)")
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CdsConfig(BaseModel):
    """How the CDS Hooks router is set up.

    ``service_base_url``: the public URL of the discovery endpoint, e.g.
    ``https://netmdt.example.org/cds-services``; a token's ``aud`` must be exactly the
    endpoint called: ``{service_base_url}/{service id}`` for a hook call, its ``/feedback``
    URL for feedback (CDS Hooks 2.0). ``app_base_url``: the web app's public URL, for the
    card's link. ``trusted_issuers``: each allowed ``iss`` and either its JSON Web Key Set
    (a dict, or a path to a JSON file holding one) or ``{"jwks": <set or path>,
    "fhir_servers": [<FHIR base URL>, ...]}``: the only FHIR servers netmdt fetches from
    (and sends that issuer's access tokens to) for calls signed by it (``fhir_base``).
    ``key_options``: the main lines of treatment, for the indicator (docs/fhir.md).
    ``fhir_max_bytes``, ``fhir_max_entries``, ``fhir_total_seconds``: caps on what one call
    fetches; ``fhir_timeout_seconds`` bounds each read. ``freeze_heap``: after warming up,
    move every object alive at start-up out of the garbage collector's view
    (``gc.freeze``), so full collections stay short (docs/design-choices.md).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    service_base_url: str
    app_base_url: str
    trusted_issuers: dict[str, dict[str, Any]]
    fhir_servers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    jti_store: JtiStore = Field(default_factory=InMemoryJtiStore)
    card_store: CardStore = Field(default_factory=InMemoryCardStore)
    health_system: str | None = "nhs_england"
    key_options: tuple[str, ...] = DEFAULT_KEY_OPTIONS
    source_url: str | None = None
    max_token_lifetime_seconds: int = 300
    leeway_seconds: int = 30
    fhir_timeout_seconds: float = 10.0
    fhir_total_seconds: float = 20.0
    fhir_max_bytes: int = 20_000_000
    fhir_max_entries: int = 20_000
    max_feedback_per_card: int = 10
    timezone: str = "Europe/London"
    freeze_heap: bool = True

    @field_validator("service_base_url", "app_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/London)"
            ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _issuer_entries(cls, data: Any) -> Any:
        """Split ``{"jwks": ..., "fhir_servers": [...]}`` issuer entries into the JWK Sets
        and the FHIR servers of each issuer."""
        if not isinstance(data, dict):
            return data
        issuers = data.get("trusted_issuers")
        if isinstance(issuers, str | Path):
            issuers = json.loads(Path(issuers).read_text(encoding="utf-8"))
        if not isinstance(issuers, dict):
            return data
        servers = dict(data.get("fhir_servers") or {})
        jwks_of: dict[str, Any] = {}
        for iss, entry in issuers.items():
            if isinstance(entry, dict) and "jwks" in entry:
                unknown = set(entry) - {"jwks", "fhir_servers"}
                if unknown:
                    raise ValueError(
                        f"trusted_issuers[{iss!r}]: unknown key(s) {sorted(unknown)}; "
                        "allowed: jwks, fhir_servers"
                    )
                listed = entry.get("fhir_servers", [])
                if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
                    raise ValueError(f"trusted_issuers[{iss!r}].fhir_servers: a list of URLs")
                servers[iss] = tuple(listed)
                jwks_of[iss] = entry["jwks"]
            else:
                jwks_of[iss] = entry
        return {**data, "trusted_issuers": jwks_of, "fhir_servers": servers}

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _load_jwks_files(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for iss, jwks in value.items():
            if isinstance(jwks, str | Path):
                jwks = json.loads(Path(jwks).read_text(encoding="utf-8"))
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                raise ValueError(f"trusted_issuers[{iss!r}]: not a JWK Set (no 'keys' list)")
            out[iss] = jwks
        return out

    @field_validator("fhir_servers")
    @classmethod
    def _fhir_bases(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {
            iss: tuple(fhir_base(u, f"trusted_issuers[{iss!r}].fhir_servers") for u in urls)
            for iss, urls in value.items()
        }
