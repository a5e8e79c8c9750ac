"""The survey's tables (on the shared ``Base``; migration 0006_survey).

- ``survey_invitations``: one per link. Only the SHA-256 of the link's token is kept;
  a scheduled invitation (day 14, day 28) has no token until it is issued. Linked mode
  names the patient; anonymous mode (``patient_id`` NULL) links to no one.
- ``survey_responses``: one per invitation, the answers as a FHIR QuestionnaireResponse
  pinned to the survey version (``questionnaire`` = ``url|version``) plus the flat
  answers; saved page by page (``in-progress``), then ``completed`` once.
- ``survey_opt_outs``: patients who asked for no more surveys.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from netmdt.store.tables import Base, Json, now


class SurveyInvitation(Base):
    __tablename__ = "survey_invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(40), index=True)
    survey_version: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    injection_date: Mapped[date | None] = mapped_column(Date)
    day: Mapped[int] = mapped_column(Integer, default=0)  # days after the injection
    due_on: Mapped[date] = mapped_column(Date, index=True)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id"), unique=True)
    survey_id: Mapped[str] = mapped_column(String(40), index=True)
    survey_version: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # in-progress | completed
    answers: Mapped[dict[str, Any]] = mapped_column(Json)
    resource: Mapped[dict[str, Any]] = mapped_column(Json)  # the QuestionnaireResponse
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SurveyOptOut(Base):
    __tablename__ = "survey_opt_outs"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    recorded_by: Mapped[str] = mapped_column(String(80))
