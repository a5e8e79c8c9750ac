"""Settings of the netmdt service, read from ``NETMDT_*`` environment variables.

Every setting is documented in ``docs/web.md`` (a test keeps the two in step).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The service's settings; ``NETMDT_DATABASE_URL`` matters most."""

    model_config = SettingsConfigDict(env_prefix="NETMDT_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///netmdt.db",
        description="SQLAlchemy URL: SQLite file (default) or postgresql+psycopg://...",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session cookies. Unset: a random key per process "
        "(everyone is logged out on restart). Set it in production.",
    )
    https: bool = Field(
        default=False, description="Served over https: session cookies get the Secure flag."
    )
    session_hours: float = Field(default=10.0, gt=0, description="Session lifetime in hours.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per user name allowed in the window."
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="Login throttling window in minutes."
    )
    token_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a verified API token is trusted before the database is asked again.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API and CDS Hooks (e.g. the EHR's), JSON list.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The app's public address, used in CDS Hooks card links and as "
        "the audience CDS clients must sign their JWTs for.",
    )
    cds_issuers_file: str | None = Field(
        default=None,
        description="JSON file mapping each trusted CDS client issuer (iss) to its JWK Set "
        "(or to the path of a JWK Set file). Unset: no EHR is trusted (every CDS call is 401).",
    )
    cds_freeze_heap: bool = Field(
        default=True,
        description="Freeze the start-up heap out of garbage collection (gc.freeze) after "
        "the CDS service warms up: halves its p99 latency.",
    )
    max_body_bytes: int = Field(
        default=5_000_000,
        ge=1024,
        description="Largest request body accepted, in bytes (Content-Length or streamed); "
        "larger answers 413 before anything is parsed.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description='Host names the app answers to, JSON list (e.g. ["mdt.example.nhs.uk"]). '
        "Empty: the host of NETMDT_BASE_URL and the loopback names. Others get 400.",
    )
