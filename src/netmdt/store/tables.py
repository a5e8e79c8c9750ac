"""The tables. Changes go through an Alembic migration (``migrations/versions``); a test
checks that the migrations and these models describe the same schema."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = JSON().with_variant(JSONB(), "postgresql")
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(Json)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # Bumped at logout, password change and deactivation: a session cookie carries the
    # epoch it was issued under and is refused once the user's epoch has moved on.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Shown beside what the user records (decisions say who): issue #11, migration 0004.
    full_name: Mapped[str | None] = mapped_column(String(200))
    professional_role: Mapped[str | None] = mapped_column(String(40))


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: never
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """One login-throttling counter: failed (or in-flight) password checks for a key in
    a fixed window. The key is a SHA-256 of (kind, user name, client), so what was typed
    as a name is never stored. Rows whose window has passed are pruned."""

    __tablename__ = "login_attempts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float, index=True)  # Unix time
    count: Mapped[int] = mapped_column(Integer)
    # (name, client) pairs only: the client logged in as this user successfully, so the
    # per-name ceiling (others' guessing) does not apply to it until then.
    trusted_until: Mapped[float | None] = mapped_column(Float)


class CredentialEpoch(Base):
    """One row, bumped whenever a credential stops being valid (token revoked, user
    deactivated, password changed): every process empties its token cache when it moves."""

    __tablename__ = "credential_epoch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    hospital_number: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)  # the current version
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class CaseVersion(Base):
    """One version of a case's facts. Never updated: an edit adds a version."""

    __tablename__ = "case_versions"
    __table_args__ = (UniqueConstraint("case_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict[str, Any]] = mapped_column(Json)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class StoredAssessment(Base):
    """The assessment of one case version, with the knowledge base it was made with."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("case_version_id", "kb_fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_version_id: Mapped[int] = mapped_column(ForeignKey("case_versions.id"), index=True)
    kb_version: Mapped[str] = mapped_column(String(40))
    kb_fingerprint: Mapped[str] = mapped_column(String(80))
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "case_id"),
        # Two cases added at the same moment cannot take the same place on the agenda.
        UniqueConstraint("meeting_id", "position", name="uq_agenda_items_position"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)


class Decision(Base):
    """The MDT's decision on a case at a meeting. Never updated: an amendment is a new row
    that names the one it supersedes."""

    __tablename__ = "decisions"
    # One decision per (meeting, case, sequence): two decisions recorded at the same moment
    # cannot both claim to be the latest.
    __table_args__ = (UniqueConstraint("meeting_id", "case_id", "sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_version: Mapped[int] = mapped_column(Integer)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    chosen: Mapped[list[str]] = mapped_column(Json)
    verdicts: Mapped[dict[str, str]] = mapped_column(Json)  # netmdt's verdicts at the time
    rationale: Mapped[str] = mapped_column(Text)
    deviation: Mapped[bool] = mapped_column(Boolean)
    deviation_reason: Mapped[str | None] = mapped_column(String(40))
    deviation_text: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    # the trial card a clinical_trial referral names (migration 0008_trials)
    trial_ref: Mapped[str | None] = mapped_column(String(80), default=None)
    # the investigations asked for: [{"field": path | None, "text": str | None}] (0010)
    investigations: Mapped[list[dict[str, Any]] | None] = mapped_column(Json, default=None)
    sequence: Mapped[int] = mapped_column(Integer)  # 1, then 2 for its first amendment, ...
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class AuditEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). Holds record ids, never
    patient data."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
