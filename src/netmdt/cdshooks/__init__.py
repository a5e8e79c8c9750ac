"""CDS Hooks 2.0: netmdt's patient-view service, as a FastAPI router for the web app.

>>> router = create_cds_router(CdsConfig(...), on_feedback=audit.record)
>>> app.include_router(router)
"""

from netmdt.cdshooks.auth import ALGORITHMS, AuthError, verify_bearer
from netmdt.cdshooks.config import (
    CardStore,
    CdsConfig,
    InMemoryCardStore,
    InMemoryJtiStore,
    JtiStore,
)
from netmdt.cdshooks.fetch import PREFETCH
from netmdt.cdshooks.models import CardEvent, FeedbackEvent
from netmdt.cdshooks.router import SERVICE_ID, create_cds_router, error_response

__all__ = [
    "ALGORITHMS",
    "PREFETCH",
    "SERVICE_ID",
    "AuthError",
    "CardEvent",
    "CardStore",
    "CdsConfig",
    "FeedbackEvent",
    "InMemoryCardStore",
    "InMemoryJtiStore",
    "JtiStore",
    "create_cds_router",
    "error_response",
    "verify_bearer",
]
