"""The case narrative's table (migration ``0009_case_narrative``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netmdt.store.tables import Base, now


class CaseNarrative(Base):
    """One version of a case's narrative. Never updated: a change adds a version."""

    __tablename__ = "case_narratives"
    __table_args__ = (UniqueConstraint("case_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text, default="")
    clinical_history: Mapped[str] = mapped_column(Text, default="")
    pathology: Mapped[str] = mapped_column(Text, default="")
    radiology: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_by: Mapped[str] = mapped_column(String(80))
