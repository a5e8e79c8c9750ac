"""What the meeting's forms and API accept."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from netmdt.store.schemas import MAX_NAME, RecordId, _In

Status = Literal["to_discuss", "standard_of_care", "discussed", "deferred"]
ProfessionalRole = Literal[
    "medical_oncologist",
    "clinical_oncologist",
    "surgeon",
    "gastroenterologist",
    "endocrinologist",
    "radiologist",
    "interventional_radiologist",
    "nuclear_medicine",
    "histopathologist",
    "specialist_nurse",
    "mdt_coordinator",
    "other",
]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class ItemIn(_In):
    """One agenda item's question, status and review lists."""

    question: str | None = Field(default=None, max_length=2000)
    status: Status = "to_discuss"
    status_reason: str | None = Field(
        default=None, max_length=2000, description="Required when the status is 'deferred'"
    )
    pathology_review: bool = False
    radiology_review: bool = False

    @model_validator(mode="after")
    def _deferred_needs_reason(self) -> ItemIn:
        if self.status == "deferred" and not self.status_reason:
            raise ValueError("status_reason: required when the status is 'deferred' (say why)")
        return self


class OrderIn(_In):
    case_ids: list[RecordId] = Field(
        max_length=1000, description="Every case on the agenda, in the new order"
    )


class MemberIn(_In):
    name: Name
    role: ProfessionalRole


class AttendanceIn(_In):
    member_ids: list[RecordId] = Field(default_factory=list, max_length=200)


class OutcomeIn(_In):
    """The outcome's follow-up, recorded live; the cancer waiting-time dates of the case."""

    follow_up: Literal["follow_up", "rediscuss"] | None = None
    follow_up_on: date | None = None
    responsible_clinician: str | None = Field(default=None, max_length=MAX_NAME)
    key_worker: str | None = Field(default=None, max_length=MAX_NAME)
    patient_told: Literal["unknown", "yes", "no"] = "unknown"
    patient_told_on: date | None = None
    gp: str | None = Field(default=None, max_length=1000, description="GP's name and address")
    referrer: str | None = Field(
        default=None, max_length=1000, description="Referrer's name and address"
    )
    referral_on: date | None = None
    diagnosis_told_on: date | None = None
    decision_to_treat_on: date | None = None
    first_treatment_on: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OutcomeIn:
        if self.follow_up_on and not self.follow_up:
            raise ValueError("follow_up: say whether the date is a follow-up or a re-discussion")
        if self.patient_told_on and self.patient_told != "yes":
            raise ValueError("patient_told_on: only when the patient has been told (yes)")
        order = [
            ("referral_on", self.referral_on),
            ("decision_to_treat_on", self.decision_to_treat_on),
            ("first_treatment_on", self.first_treatment_on),
        ]
        known = [(k, d) for k, d in order if d]
        for (k1, d1), (k2, d2) in pairwise(known):
            if d2 < d1:
                raise ValueError(f"{k2}: {d2} is before {k1} ({d1})")
        told, referred = self.diagnosis_told_on, self.referral_on
        if told and referred and told < referred:
            raise ValueError("diagnosis_told_on: before the referral date")
        return self


class ActionIn(_In):
    what: str = Field(min_length=1, max_length=2000)
    owner: Name
    due_on: date | None = None


class ProfileIn(_In):
    """A user's full name and professional role (decisions, minutes and letters say who)."""

    full_name: Name | None = None
    professional_role: ProfessionalRole | None = None
