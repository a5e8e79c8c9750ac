"""Read and write a case's narrative; each read and write leaves an audit record (ids
and lengths only, never the text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netmdt.errors import NotFoundError, Problem, RecordValidationError
from netmdt.narrative.tables import CaseNarrative
from netmdt.store import services as svc
from netmdt.store import tables as t

MAX_TEXT = 20_000
NARRATIVE_FIELDS = {
    "question": "The question for the MDT",
    "clinical_history": "Clinical history",
    "pathology": "Pathology report (excerpt)",
    "radiology": "Radiology report (excerpt)",
}


class Narrative(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    question: str = Field(default="", max_length=2_000)
    clinical_history: str = Field(default="", max_length=MAX_TEXT)
    pathology: str = Field(default="", max_length=MAX_TEXT)
    radiology: str = Field(default="", max_length=MAX_TEXT)
    version: int = 0


def narrative_from_form(form: Mapping[str, Any]) -> dict[str, str]:
    """The narrative boxes of a submitted form (``narrative.question`` etc.)."""
    return {k: str(form.get(f"narrative.{k}", "")) for k in NARRATIVE_FIELDS}


def check_narrative(data: Mapping[str, str]) -> list[Problem]:
    """What is wrong with a narrative's boxes (each named ``narrative.<box>``)."""
    try:
        Narrative.model_validate(dict(data))
    except ValidationError as error:
        return svc.problems_of(error, "narrative.")
    return []


def _latest(db: Session, case_id: int) -> CaseNarrative | None:
    return db.scalar(
        select(CaseNarrative)
        .where(CaseNarrative.case_id == case_id)
        .order_by(CaseNarrative.version.desc())
        .limit(1)
    )


def get_narrative(db: Session, actor: svc.Actor, case_id: int) -> Narrative:
    if db.get(t.Case, case_id) is None:
        raise NotFoundError(f"case {case_id}")
    row = _latest(db, case_id)
    svc.audit(db, actor, "read", "case_narrative", case_id, version=row.version if row else 0)
    db.commit()
    if row is None:
        return Narrative()
    return Narrative(**{k: getattr(row, k) for k in NARRATIVE_FIELDS}, version=row.version)


def save_narrative(
    db: Session, actor: svc.Actor, case_id: int, data: Mapping[str, str]
) -> Narrative | None:
    """A new version when the text changed (None when nothing changed); commits."""
    try:
        narrative = Narrative.model_validate(dict(data))
    except ValidationError as error:
        raise RecordValidationError(svc.problems_of(error, "narrative.")) from error
    row = _latest(db, case_id)
    if row is not None and all(getattr(row, k) == getattr(narrative, k) for k in NARRATIVE_FIELDS):
        return None
    if row is None and not any(getattr(narrative, k) for k in NARRATIVE_FIELDS):
        return None
    version = (
        db.scalar(select(func.max(CaseNarrative.version)).where(CaseNarrative.case_id == case_id))
        or 0
    ) + 1
    db.add(
        CaseNarrative(
            case_id=case_id,
            version=version,
            created_by=actor.name,
            **{k: getattr(narrative, k) for k in NARRATIVE_FIELDS},
        )
    )
    svc.audit(
        db,
        actor,
        "update",
        "case_narrative",
        case_id,
        version=version,
        lengths={k: len(getattr(narrative, k)) for k in NARRATIVE_FIELDS},
    )
    db.commit()
    return narrative.model_copy(update={"version": version})
