"""The meeting's tables (migration 0004_meeting). Every row is patient-linked through its
agenda item or case, so every read and write of them is audited by ``service``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netmdt.store.tables import Base, now


class Member(Base):
    """A member of the centre's MDT, with their professional role (managed by the MDT
    coordinator or an admin). Never deleted: made inactive, so old minutes still name them."""

    __tablename__ = "mdt_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))  # a key of vocab.PROFESSIONAL_ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class Attendance(Base):
    """A member present at a meeting."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("mdt_members.id"))


class ItemRecord(Base):
    """What the MDT records about one case on one meeting's agenda, beside the decision:
    the question, the status, the review lists, and the outcome's follow-up."""

    __tablename__ = "agenda_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), unique=True)
    question: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="to_discuss")
    status_reason: Mapped[str | None] = mapped_column(Text)
    pathology_review: Mapped[bool] = mapped_column(Boolean, default=False)
    radiology_review: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up: Mapped[str | None] = mapped_column(String(20))  # follow_up or rediscuss
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    responsible_clinician: Mapped[str | None] = mapped_column(String(200))
    key_worker: Mapped[str | None] = mapped_column(String(200))
    patient_told: Mapped[str] = mapped_column(String(10), default="unknown")  # yes/no/unknown
    patient_told_on: Mapped[date | None] = mapped_column(Date)
    gp: Mapped[str | None] = mapped_column(Text)  # name and practice address
    referrer: Mapped[str | None] = mapped_column(Text)  # name and address
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_by: Mapped[str] = mapped_column(String(80))


class Action(Base):
    """An action from a case's discussion: what, who owns it, by when, and whether done."""

    __tablename__ = "meeting_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))


class PathwayDates(Base):
    """A case's cancer waiting-time dates (NHS England's three standards, from 1 Oct 2023):
    referral (clock start), diagnosis told (28-day FDS end), decision to treat (31-day
    start) and first definitive treatment (31- and 62-day end). The MDT date is the
    meeting's."""

    __tablename__ = "pathway_dates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    referral_on: Mapped[date | None] = mapped_column(Date)
    diagnosis_told_on: Mapped[date | None] = mapped_column(Date)
    decision_to_treat_on: Mapped[date | None] = mapped_column(Date)
    first_treatment_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_by: Mapped[str] = mapped_column(String(80))
