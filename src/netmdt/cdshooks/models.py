"""CDS Hooks 2.0 messages (the parts netmdt reads) and the events handed to the web app."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="allow")  # CDS Hooks lets clients add fields


class FhirAuthorization(_In):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


# A FHIR resource id (FHIR R4 "id" datatype): at most 64 letters, digits, '-' and '.'.
FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"


class PatientViewContext(_In):
    userId: str = Field(max_length=200)  # CDS Hooks field names are camelCase
    patientId: str = Field(pattern=FHIR_ID)
    encounterId: str | None = Field(default=None, pattern=FHIR_ID)


class HookRequest(_In):
    hook: str
    hookInstance: str
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None


class OverrideReason(_In):
    reason: dict[str, Any] | None = None  # a Coding
    userComment: str | None = Field(default=None, max_length=2000)


class AcceptedSuggestion(_In):
    id: str = Field(max_length=100)


class FeedbackItem(_In):
    card: str = Field(max_length=100)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] = Field(default_factory=list, max_length=20)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime


class FeedbackRequest(_In):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=20)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedbackEvent(_Event):
    """One feedback item, for the web app's audit log."""

    service_id: str
    card_uuid: str
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: list[str]
    override_reason_code: str | None
    override_reason_display: str | None
    user_comment: str | None
    outcome_timestamp: datetime
    issuer: str
    received_at: datetime


class CardEvent(_Event):
    """A call that read a patient's record, and the card netmdt issued (so feedback can be
    tied to what was shown); ``card_uuid`` None when netmdt had nothing to say (no card:
    ``summary`` says why, ``indicator`` is ``none``)."""

    service_id: str
    hook_instance: str
    card_uuid: str | None
    patient_fhir_id: str
    summary: str
    indicator: str
    knowledge_base_version: str
    knowledge_base_fingerprint: str
    issuer: str
    issued_at: datetime
