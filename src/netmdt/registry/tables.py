"""The registry's tables (migration 0005_registry). Rows are added, and an enrolment's
follow-up fields (stopping, progression, death, last contact) are updated; every write
leaves an audit record in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from netmdt.store.tables import Base, Json, now


class RegistryStatusChange(Base):
    """The centre's registry status, one row per change: the newest row is the status."""

    __tablename__ = "registry_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # open | on_hold | closed
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    set_by: Mapped[str] = mapped_column(String(80))


class Enrolment(Base):
    __tablename__ = "registry_enrolments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    case_version: Mapped[int] = mapped_column(Integer)
    option: Mapped[str] = mapped_column(String(40))  # the PRRT option the MDT chose
    kb_version: Mapped[str] = mapped_column(String(40))
    kb_fingerprint: Mapped[str] = mapped_column(String(80))
    # The assessment the decision rested on, frozen as JSON text (returned byte for byte).
    assessment_json: Mapped[str] = mapped_column(Text)
    subgroup: Mapped[str] = mapped_column(String(30))
    subgroup_reason: Mapped[str] = mapped_column(Text)
    registry_status: Mapped[str] = mapped_column(String(20))  # at enrolment
    enrolled_on: Mapped[date] = mapped_column(Date)
    consent_date: Mapped[date] = mapped_column(Date)
    info_sheet_version: Mapped[str] = mapped_column(String(40))
    planned_cycles: Mapped[int] = mapped_column(Integer)
    stop_reason: Mapped[str | None] = mapped_column(Text)  # why fewer cycles than planned
    progression_date: Mapped[date | None] = mapped_column(Date)
    death_date: Mapped[date | None] = mapped_column(Date)
    death_cause: Mapped[str | None] = mapped_column(String(40))
    last_contact: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class Cycle(Base):
    __tablename__ = "registry_cycles"
    __table_args__ = (UniqueConstraint("enrolment_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("registry_enrolments.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    given_on: Mapped[date] = mapped_column(Date)
    agent: Mapped[str] = mapped_column(String(30))
    prescribed_gbq: Mapped[float] = mapped_column(Float)
    administered_gbq: Mapped[float] = mapped_column(Float)
    warnings: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class LabResult(Base):
    __tablename__ = "registry_labs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("registry_enrolments.id"), index=True)
    taken_on: Mapped[date] = mapped_column(Date)
    baseline: Mapped[bool] = mapped_column(Boolean)
    analyte: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[int | None] = mapped_column(Integer)  # computed; None: not gradable
    grade_reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class AdverseEvent(Base):
    __tablename__ = "registry_adverse_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("registry_enrolments.id"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    meddra_code: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[int] = mapped_column(Integer)
    ctcae_version: Mapped[str] = mapped_column(String(10))
    onset: Mapped[date] = mapped_column(Date)
    resolved: Mapped[date | None] = mapped_column(Date)
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("registry_labs.id"))  # computed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class Scan(Base):
    __tablename__ = "registry_scans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("registry_enrolments.id"), index=True)
    scanned_on: Mapped[date] = mapped_column(Date)
    baseline: Mapped[bool] = mapped_column(Boolean)
    lesions: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    new_lesions: Mapped[bool] = mapped_column(Boolean, default=False)
    non_target: Mapped[str] = mapped_column(String(30))
    sstr_response: Mapped[str | None] = mapped_column(String(30))  # as recorded
    sum_mm: Mapped[float] = mapped_column(Float)
    response: Mapped[str | None] = mapped_column(String(4))  # computed; None at baseline
    response_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class PromScore(Base):
    """A patient-reported outcome scale score (0-100) as the licensed scoring gave it, with
    the licence it was used under: the registry stores scores, never questionnaire items."""

    __tablename__ = "registry_prom_scores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("registry_enrolments.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(30))
    completed_on: Mapped[date] = mapped_column(Date)
    scale: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    licence_ref: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))
