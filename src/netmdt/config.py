"""Settings of the netmdt service, read from ``NETMDT_*`` environment variables.

Every setting is documented in ``docs/web.md`` (a test keeps the two in step). Read them
with ``load_settings``: a variable that is not valid is a ``SettingsError`` naming it.
"""

from __future__ import annotations

import re
import typing
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from netmdt.errors import Problem, SettingsError

ENV_PREFIX = "NETMDT_"


class Settings(BaseSettings):
    """The service's settings; ``NETMDT_DATABASE_URL`` matters most."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

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
        default=5,
        ge=1,
        description="Failed logins allowed per (user name, client address) pair in the window.",
    )
    login_max_failures_per_client: int = Field(
        default=50,
        ge=1,
        description="Failed logins allowed per client address (any user names) in the window.",
    )
    login_max_failures_per_name: int = Field(
        default=100,
        ge=1,
        description="Failed logins allowed per user name from all clients in the window; a "
        "client that logged in as that user before is exempt.",
    )
    login_trust_days: float = Field(
        default=30.0,
        gt=0,
        description="How long a successful login exempts that client from the per-name limit.",
    )
    password_hash_workers: int = Field(
        default=2, ge=1, description="Threads that check passwords at login (Argon2)."
    )
    password_hash_queue: int = Field(
        default=4,
        ge=0,
        description="Logins that may wait for a password-check thread; more get 503 at once.",
    )
    token_expiry_days: float = Field(
        default=90.0, gt=0, description="Default lifetime of a new API token, in days."
    )
    migrate_on_start: bool = Field(
        default=True,
        description="Apply database migrations when the app starts. Set false when the app "
        "runs as a restricted database role (migrate with `netmdt db upgrade` as the owner).",
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="Login throttling window in minutes."
    )
    token_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a verified API token is trusted before the database is asked again.",
    )
    trials_centre: str | None = Field(
        default=None,
        description="Our centre's site name(s) as trial cards spell them, comma-separated: "
        "a trial recruiting at such a site is open here (docs/trials.md).",
    )
    trials_open_here: str | None = Field(
        default=None,
        description="Trial card ids open at our centre by local decision, comma-separated "
        "(docs/trials.md).",
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
        description="JSON file mapping each trusted CDS client issuer (iss) to "
        '{"jwks": <JWK Set or its file>, "fhir_servers": [<FHIR base URL>, ...]} (or to the '
        "JWK Set alone: no FHIR server). Unset: no EHR is trusted (every CDS call is 401).",
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
    mdt_core_roles: list[str] = Field(
        default_factory=lambda: [
            "medical_oncologist|clinical_oncologist",
            "surgeon",
            "radiologist",
            "histopathologist",
            "nuclear_medicine",
            "specialist_nurse",
        ],
        description="The MDT's core membership for the quoracy check, JSON list of "
        'professional roles; "a|b" means either fills the place (docs/meetings.md).',
    )
    centre_address: str = Field(
        default="", description="The centre's postal address on letters (lines split by ';')."
    )
    centre_phone: str = Field(default="", description="The centre's telephone on letters.")
    mdt_coordinator_contact: str = Field(
        default="",
        description="The MDT coordinator's name, telephone and e-mail on letters and minutes.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description='Host names the app answers to, JSON list (e.g. ["mdt.example.nhs.uk"]). '
        "Empty: the host of NETMDT_BASE_URL and the loopback names. Others get 400.",
    )
    default_health_system: Literal["nhs_england", "nhs_scotland", "nhs_wales", "other"] = Field(
        default="nhs_england",
        description="The health system a new case starts with on the case form (funding "
        "jurisdiction); the coordinator can change it per case.",
    )
    centre_name: str = Field(
        default="",
        max_length=200,
        description="The NET centre's name, on the patient summary and on letters, minutes "
        "and lists (letterhead; these say 'NET centre' while it is unset).",
    )
    centre_contact: str = Field(
        default="",
        max_length=300,
        description="The named contact printed on the patient summary (e.g. the NET clinical "
        "nurse specialist's name, role and telephone number).",
    )


def load_settings() -> Settings:
    """The settings from the environment; ``SettingsError`` lists every variable that is
    not valid, by name, with what it allows (not its value, which may be a secret). A
    list that is not JSON is reported alone: pydantic-settings stops reading there."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError([_problem(e["loc"], e["msg"]) for e in error.errors()]) from None
    except _SourceError as error:  # a list setting whose value is not JSON
        found = re.search(r'field "(\w+)"', str(error))  # the only place it names the field
        name = found.group(1) if found else "*"
        raise SettingsError([_problem((name,), "is not valid JSON", not_json=True)]) from None


def _problem(loc: tuple[int | str, ...], message: str, not_json: bool = False) -> Problem:
    name = str(loc[0]) if loc else "*"
    field = Settings.model_fields.get(name)
    if not_json and field is not None and typing.get_origin(field.annotation) is list:
        message += ': give a JSON list of strings, e.g. ["first", "second"]'
    where = ENV_PREFIX + name.upper() + "".join(f"[{part}]" for part in loc[1:])
    return Problem(where, message)
