"""What the API and the web forms accept and return (kept apart from the table rows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from netmdt.case.history import OptionId
from netmdt.nhs import nhs_number_valid, normalise_nhs_number
from netmdt.passwords import password_problem
from netmdt.textcheck import text_fault

MAX_ID = 2_147_483_647  # the largest id PostgreSQL's INTEGER and SQLite both hold
MAX_NAME = 200  # a person's name or a title
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Role = Literal["admin", "coordinator", "clinician", "auditor", "clinical_lead"]
# clinical_lead: signs off the knowledge base for the centre (reviews, local settings,
# releases; docs/roles.md); a clinician who is also the lead holds both roles.
ROLES: tuple[Role, ...] = ("admin", "coordinator", "clinician", "auditor", "clinical_lead")
DeviationReason = Literal[
    "patient_preference",
    "comorbidity",
    "new_information",
    "guideline_outdated",
    "funding_or_access",
    "other",
]
DEVIATION_REASONS: dict[str, str] = {
    "patient_preference": "Patient preference",
    "comorbidity": "Comorbidity or frailty",
    "new_information": "Facts known at the meeting that the case did not hold",
    "guideline_outdated": "Guideline or knowledge base outdated",
    "funding_or_access": "Funding or access",
    "other": "Other (say what)",
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _strict_text(cls, value: Any) -> Any:
        """No lone surrogates and no NUL in any text (``facts`` are checked, field by
        field, by the case format)."""
        for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if isinstance(text, str) and (fault := text_fault(text)):
                raise ValueError(fault)
        return value


class PatientIn(_In):
    name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    nhs_number: str | None = Field(
        default=None, description="10 digits with a valid modulus-11 check digit"
    )
    hospital_number: str | None = Field(default=None, max_length=40)

    @field_validator("date_of_birth")
    @classmethod
    def _plausible(cls, value: date) -> date:
        if value.year < 1900 or value > date.today():
            raise ValueError("must be a date between 1900-01-01 and today")
        return value

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not nhs_number_valid(value):
            raise ValueError(
                "must be 10 digits whose last digit is the modulus-11 check digit "
                "(NHS Data Dictionary)"
            )
        return normalise_nhs_number(value)

    @field_validator("hospital_number")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class PatientOut(BaseModel):
    id: int
    name: str
    date_of_birth: date
    nhs_number: str | None
    hospital_number: str | None


class CaseCreate(_In):
    title: str = Field(min_length=1, max_length=200, description="e.g. 'PRRT question'")
    facts: dict[str, Any] = Field(description="A case in the case format (v1)")


class CaseUpdate(_In):
    base_version: int = Field(
        ge=1,
        le=MAX_ID - 1,  # the new version is base_version + 1
        description="The version the edit was made from",
    )
    facts: dict[str, Any]
    note: str | None = Field(default=None, max_length=2000)


class CaseOut(BaseModel):
    id: int
    patient_id: int
    title: str
    version: int
    facts: dict[str, Any]
    updated_at: datetime
    updated_by: str


class VersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by: str
    note: str | None
    facts: dict[str, Any]


class Change(BaseModel):
    field: str
    before: Any
    after: Any


class MeetingIn(_In):
    date: date
    title: str = Field(min_length=1, max_length=200)
    attendees: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=list, max_length=100, description="At most 100 names of 200 characters"
    )


class MeetingOut(BaseModel):
    id: int
    date: date
    title: str
    attendees: list[str]
    case_ids: list[int]


class AgendaIn(_In):
    case_id: RecordId


class InvestigationRequest(_In):
    """One investigation the MDT asked for: a fact the case's assessment names as unknown
    (``field``, one of ``next_investigations[].field``), free text (``text``), or both
    (the fact, with a note on how to find it out)."""

    field: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$",
        description="A case field the assessment lists in next_investigations",
    )
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Free text: an investigation not in the list, or a note on the one named",
    )

    @model_validator(mode="after")
    def _one_of(self) -> InvestigationRequest:
        if self.field is None and self.text is None:
            raise ValueError(
                "give the unknown fact it settles ('field'), free text ('text'), or both"
            )
        return self


class InvestigationOut(BaseModel):
    field: str | None = None
    text: str | None = None


class DecisionIn(_In):
    chosen: list[OptionId] = Field(
        default_factory=list,
        description="The options the MDT chose; none means 'investigate and rediscuss'",
    )
    rationale: str = Field(min_length=1, max_length=5000)
    deviation_reason: DeviationReason | None = None
    deviation_text: str | None = Field(default=None, max_length=2000)
    case_version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The case version discussed (default: the current one)",
    )
    trial_ref: str | None = Field(
        default=None,
        max_length=80,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="With clinical_trial chosen: the trial card referred to (GET /api/trials)",
    )
    investigations: list[InvestigationRequest] = Field(
        default_factory=list,
        max_length=30,
        description="The investigations the MDT asked for (each fact at most once)",
    )


class DecisionOut(BaseModel):
    id: int
    meeting_id: int
    case_id: int
    case_version: int
    chosen: list[str]
    verdicts: dict[str, str]
    rationale: str
    deviation: bool
    deviation_reason: str | None
    deviation_text: str | None
    supersedes_id: int | None
    created_at: datetime
    created_by: str
    trial_ref: str | None = None
    investigations: list[InvestigationOut] = []

    @field_validator("investigations", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        """Decisions recorded before investigations were (migration 0010) hold none."""
        return [] if value is None else value


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    record_type: str
    record_id: str | None
    detail: dict[str, Any]


# A password is kept exactly as typed: never stripped (what is typed at login must match).
Password = Annotated[str, StringConstraints(strip_whitespace=False, max_length=200)]
UserName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")]


class UserIn(_In):
    name: UserName
    roles: list[Role] = Field(min_length=1)
    password: Password = Field(
        description="At least 12 characters, not a known breached or easily guessed password"
    )

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str, info: ValidationInfo) -> str:
        problem = password_problem(password, str(info.data.get("name", "")))
        if problem:
            raise ValueError(problem)
        return password


class PasswordIn(_In):
    password: Password = Field(
        description="The new password: at least 12 characters, not a known breached one"
    )


class UserOut(BaseModel):
    id: int
    name: str
    roles: list[str]
    active: bool
    deactivated_at: datetime | None = None
    password_changed_at: datetime | None = None
    full_name: str | None = None  # issue #11: shown beside what the user records
    professional_role: str | None = None


class TokenOut(BaseModel):
    """An API token's record (never the token itself: only its hash is stored)."""

    id: int
    user: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None
