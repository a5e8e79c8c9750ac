"""The governance tables: review records, local settings and releases. Append-only by
use: a new review or setting is a new row; the current one is the latest per item or
parameter (``service``). Migrations: ``store/migrations/versions/0007_governance.py``;
review rounds ``0011_review_rounds.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netmdt.store.tables import Base, Json, now


class KbReview(Base):
    """A clinical lead's verdict on one knowledge-base item, bound to the content seen."""

    __tablename__ = "kb_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[str] = mapped_column(String(200), index=True)  # option.criterion, ...
    fingerprint: Mapped[str] = mapped_column(String(80))  # of the content reviewed
    content: Mapped[dict[str, Any]] = mapped_column(Json)  # what was reviewed (for a diff)
    status: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # the review round this review closed (None: a single clinical lead's review)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("kb_review_rounds.id"), index=True)


class KbReviewRound(Base):
    """A review round (openEHR CKM style): a clinical lead opens it over one or more
    items, as their content was at opening (``items``: item -> fingerprint, content),
    invites named reviewers, and closes it with the final review (``KbReview`` rows with
    ``round_id``: the review that counts)."""

    __tablename__ = "kb_review_rounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    items: Mapped[dict[str, Any]] = mapped_column(Json)
    reviewers: Mapped[list[str]] = mapped_column(Json)
    note: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verdict: Mapped[str | None] = mapped_column(String(40))  # the final one
    comment: Mapped[str | None] = mapped_column(Text)  # the final one's, or why cancelled
    # cancelled by a clinical lead (closed_by/closed_at say who and when; no review written)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class KbRoundResponse(Base):
    """One invited reviewer's verdict and comment in a round (once per round)."""

    __tablename__ = "kb_round_responses"
    __table_args__ = (UniqueConstraint("round_id", "reviewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("kb_review_rounds.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(80))
    verdict: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class KbSetting(Base):
    """A centre's value of a declared parameter (a new row per change; ``value`` None:
    back to the default)."""

    __tablename__ = "kb_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    value: Mapped[float | None] = mapped_column(Json)
    comment: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class KbRelease(Base):
    """The centre's knowledge base at a moment: bundled version + local settings + review
    records, with an id and a fingerprint. The latest activated one is in force."""

    __tablename__ = "kb_releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release: Mapped[str] = mapped_column(String(80), unique=True)  # e.g. 2026.11-r3
    fingerprint: Mapped[str] = mapped_column(String(80))  # of version + settings + reviews
    kb_version: Mapped[str] = mapped_column(String(40))
    kb_fingerprint: Mapped[str] = mapped_column(String(80))  # the assessments' fingerprint
    content_fingerprint: Mapped[str] = mapped_column(String(80))  # the bundled content's
    settings: Mapped[dict[str, Any]] = mapped_column(Json)
    reviews: Mapped[dict[str, Any]] = mapped_column(Json)  # item -> status, by, on
    impact: Mapped[dict[str, Any]] = mapped_column(Json)  # changed verdicts at activation
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_by: Mapped[str] = mapped_column(String(80))
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class AssessmentRelease(Base):
    """The release a stored assessment was made with."""

    __tablename__ = "assessment_releases"
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("kb_releases.id"), index=True)
