"""Settings of the CDS Hooks service, and the store that remembers JWT ids (``jti``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_KEY_OPTIONS = ("surgery_curative", "ssa_long_acting", "prrt_lu177_dotatate", "chemotherapy")


@runtime_checkable
class JtiStore(Protocol):
    """Remembers the JWT ids already seen, until they expire."""

    def check_and_remember(self, jti: str, exp: int) -> bool:
        """True the first time ``jti`` is seen (and remember it until ``exp``, a Unix time);
        False if it was seen before and has not expired: a replayed token."""
        ...


class InMemoryJtiStore:
    """A process-local ``JtiStore``; entries are dropped once their token has expired.

    One process only: run several workers behind a load balancer with a shared store
    (e.g. Redis ``SET key 1 NX EXAT exp``) instead.
    """

    def __init__(self, clock: Any = time.time) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def check_and_remember(self, jti: str, exp: int) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._seen) > 1024:
                self._seen = {k: v for k, v in self._seen.items() if v >= now}
            seen = self._seen.get(jti)
            if seen is not None and seen >= now:
                return False
            self._seen[jti] = exp
            return True

    def __len__(self) -> int:
        return len(self._seen)


class CdsConfig(BaseModel):
    """How the CDS Hooks router is set up.

    ``service_base_url``: the public URL of the discovery endpoint, e.g.
    ``https://netmdt.example.org/cds-services``; a token's ``aud`` must equal it or the
    invoked service's URL (``{service_base_url}/{service id}``, the CDS Hooks 2.0 wording).
    ``app_base_url``: the web app's public URL, for the card's link to the full assessment.
    ``trusted_issuers``: each allowed ``iss`` and its JSON Web Key Set (a dict, or a path to
    a JSON file holding one). ``key_options``: the options whose unknown verdict turns a
    card's indicator to ``warning`` (docs/fhir.md). ``freeze_heap``: after warming up,
    move every object alive at start-up out of the garbage collector's view
    (``gc.freeze``), so full collections stay short (docs/design-choices.md).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    service_base_url: str
    app_base_url: str
    trusted_issuers: dict[str, dict[str, Any]]
    jti_store: JtiStore = Field(default_factory=InMemoryJtiStore)
    health_system: str | None = "nhs_england"
    key_options: tuple[str, ...] = DEFAULT_KEY_OPTIONS
    source_url: str | None = None
    max_token_lifetime_seconds: int = 300
    leeway_seconds: int = 30
    fhir_timeout_seconds: float = 10.0
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

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _load_jwks_files(cls, value: Any) -> Any:
        if isinstance(value, str | Path):
            value = json.loads(Path(value).read_text(encoding="utf-8"))
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
