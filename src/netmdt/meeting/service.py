"""The meeting's reads and writes. Each one is authorised by its route and leaves an
audit record (ids and counts only) in the same transaction as the write.

An agenda item is a case on a meeting's agenda; what the MDT records about it beside
the decision (question, status, review lists, follow-up, letter recipients) is its
``ItemRecord``; its actions are ``Action`` rows; the case's cancer waiting-time dates
are its ``PathwayDates``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from netmdt.errors import ConflictError, NotFoundError, Problem, RecordValidationError
from netmdt.kb import KnowledgeBase
from netmdt.meeting import schemas as ms
from netmdt.meeting import tables as mt
from netmdt.meeting import vocab
from netmdt.nhs import normalise_nhs_number
from netmdt.store import services as svc
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit


@dataclass
class Row:
    """One agenda item as the meeting page, the lists and the minutes show it."""

    position: int
    item: t.AgendaItem
    case: t.Case
    patient: t.Patient
    record: mt.ItemRecord | None
    actions: list[mt.Action]
    decision: t.Decision | None
    dates: mt.PathwayDates | None


@dataclass
class Quoracy:
    quorate: bool
    present: dict[str, list[str]]  # core role words -> names of those present who fill it
    missing: list[str] = field(default_factory=list)  # core roles no one present fills


# -- agenda items -------------------------------------------------------------------------


def _item(db: Session, meeting_id: int, case_id: int) -> t.AgendaItem:
    svc._row(db, t.Meeting, meeting_id, "meeting")
    row = db.scalar(
        select(t.AgendaItem).where(
            t.AgendaItem.meeting_id == meeting_id, t.AgendaItem.case_id == case_id
        )
    )
    if row is None:
        raise NotFoundError(f"case {case_id} on the agenda of meeting {meeting_id}")
    return row


def latest_question(db: Session, case_id: int) -> str | None:
    """The question for the MDT that the case's latest meeting records (None if none
    does): the case page shows it when the case itself records none. The caller's read
    of the case is audited by the case page."""
    return db.scalar(
        select(mt.ItemRecord.question)
        .join(t.AgendaItem, t.AgendaItem.id == mt.ItemRecord.agenda_item_id)
        .join(t.Meeting, t.Meeting.id == t.AgendaItem.meeting_id)
        .where(t.AgendaItem.case_id == case_id, mt.ItemRecord.question.is_not(None))
        .order_by(t.Meeting.date.desc(), t.Meeting.id.desc())
        .limit(1)
    )


def _record(db: Session, item: t.AgendaItem, actor: Actor) -> mt.ItemRecord:
    row = db.scalar(select(mt.ItemRecord).where(mt.ItemRecord.agenda_item_id == item.id))
    if row is None:
        row = mt.ItemRecord(
            agenda_item_id=item.id,
            status="to_discuss",
            patient_told="unknown",
            pathology_review=False,
            radiology_review=False,
            updated_by=actor.name,
        )
        db.add(row)
    return row


def set_item(db: Session, actor: Actor, meeting_id: int, case_id: int, data: ms.ItemIn) -> None:
    """The item's question for the MDT, its status (a deferral says why) and whether it
    goes on the pathology or radiology review list."""
    item = _item(db, meeting_id, case_id)
    row = _record(db, item, actor)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    if data.status != "deferred":
        row.status_reason = None
    row.updated_at, row.updated_by = datetime.now(UTC), actor.name
    audit(db, actor, "update", "agenda_item", item.id, meeting=meeting_id, case=case_id)
    db.commit()


def remove_item(db: Session, actor: Actor, meeting_id: int, case_id: int) -> None:
    """Take a case off the agenda; refused (409) once a decision or an action is recorded
    for it (the record of the meeting is kept)."""
    item = _item(db, meeting_id, case_id)
    if svc._latest_decision(db, meeting_id, case_id):
        raise ConflictError(
            f"case {case_id} has a decision recorded at meeting {meeting_id}: it stays on "
            "the agenda (set its status instead)"
        )
    if db.scalar(select(mt.Action.id).where(mt.Action.agenda_item_id == item.id).limit(1)):
        raise ConflictError(
            f"case {case_id} has actions recorded at meeting {meeting_id}: it stays on the agenda"
        )
    db.execute(delete(mt.ItemRecord).where(mt.ItemRecord.agenda_item_id == item.id))
    db.delete(item)
    audit(db, actor, "update", "meeting", meeting_id, removed_case=case_id)
    db.commit()


def reorder(db: Session, actor: Actor, meeting_id: int, case_ids: list[int]) -> None:
    """Put the agenda in this order (every case on it, once each). Positions are unique,
    so they move aside (negated) first, then take their new places."""
    svc._row(db, t.Meeting, meeting_id, "meeting")
    items = {
        i.case_id: i
        for i in db.scalars(select(t.AgendaItem).where(t.AgendaItem.meeting_id == meeting_id))
    }
    if sorted(case_ids) != sorted(items) or len(set(case_ids)) != len(case_ids):
        raise RecordValidationError(
            [
                Problem(
                    "case_ids",
                    f"must list every case on the agenda once; on it: {sorted(items)}",
                )
            ]
        )
    db.execute(
        update(t.AgendaItem)
        .where(t.AgendaItem.meeting_id == meeting_id)
        .values(position=-t.AgendaItem.position)
        .execution_options(synchronize_session=False)
    )
    for place, case_id in enumerate(case_ids, start=1):
        db.execute(
            update(t.AgendaItem)
            .where(t.AgendaItem.id == items[case_id].id)
            .values(position=place)
            .execution_options(synchronize_session=False)
        )
    db.expire_all()
    audit(db, actor, "update", "meeting", meeting_id, reordered=len(case_ids))
    db.commit()


def move(db: Session, actor: Actor, meeting_id: int, case_id: int, by: int) -> None:
    """Move one case up (``by`` = -1) or down (+1) the agenda."""
    order = list(
        db.scalars(
            select(t.AgendaItem.case_id)
            .where(t.AgendaItem.meeting_id == meeting_id)
            .order_by(t.AgendaItem.position)
        )
    )
    _item(db, meeting_id, case_id)
    at = order.index(case_id)
    to = min(max(at + by, 0), len(order) - 1)
    order.insert(to, order.pop(at))
    reorder(db, actor, meeting_id, order)


def search_cases(db: Session, actor: Actor, query: str, exclude: list[int]) -> list[dict[str, Any]]:
    """Cases to add to an agenda, found by patient name (any part, any case), NHS number,
    hospital number or case title."""
    text = query.strip()
    if not text:
        return []
    like = f"%{text.lower()}%"
    number = normalise_nhs_number(text)
    rows = db.execute(
        select(t.Case.id, t.Case.title, t.Patient.name, t.Patient.nhs_number)
        .join(t.Patient, t.Patient.id == t.Case.patient_id)
        .where(
            t.Case.id.not_in(exclude),
            or_(
                func.lower(t.Patient.name).like(like),
                func.lower(t.Case.title).like(like),
                t.Patient.nhs_number == number,
                func.lower(t.Patient.hospital_number) == text.lower(),
            ),
        )
        .order_by(t.Patient.name, t.Case.id)
        .limit(50)
    ).all()
    audit(db, actor, "find", "case", None, count=len(rows), purpose="agenda")
    db.commit()
    return [
        {"id": r.id, "title": r.title, "patient": r.name, "nhs_number": r.nhs_number} for r in rows
    ]


# -- members and attendance ---------------------------------------------------------------


def list_members(db: Session, *, active_only: bool = False) -> list[mt.Member]:
    stmt = select(mt.Member).order_by(mt.Member.active.desc(), mt.Member.name)
    if active_only:
        stmt = stmt.where(mt.Member.active.is_(True))
    return list(db.scalars(stmt))


def add_member(db: Session, actor: Actor, data: ms.MemberIn) -> mt.Member:
    row = mt.Member(name=data.name, role=data.role, active=True, created_by=actor.name)
    db.add(row)
    db.flush()
    audit(db, actor, "create", "mdt_member", row.id)
    db.commit()
    return row


def set_member_active(db: Session, actor: Actor, member_id: int, active: bool) -> None:
    row = svc._row(db, mt.Member, member_id, "MDT member")
    row.active = active
    audit(db, actor, "activate" if active else "deactivate", "mdt_member", member_id)
    db.commit()


def set_attendance(db: Session, actor: Actor, meeting_id: int, member_ids: list[int]) -> None:
    """Who was present (replaces the previous list)."""
    svc._row(db, t.Meeting, meeting_id, "meeting")
    known = set(db.scalars(select(mt.Member.id).where(mt.Member.id.in_(member_ids))))
    if unknown := sorted(set(member_ids) - known):
        raise RecordValidationError(
            [Problem("member_ids", f"no MDT member with id {', '.join(map(str, unknown))}")]
        )
    db.execute(delete(mt.Attendance).where(mt.Attendance.meeting_id == meeting_id))
    for member_id in sorted(set(member_ids)):
        db.add(mt.Attendance(meeting_id=meeting_id, member_id=member_id))
    audit(db, actor, "update", "attendance", meeting_id, present=len(set(member_ids)))
    db.commit()


def present(db: Session, meeting_id: int) -> list[mt.Member]:
    return list(
        db.scalars(
            select(mt.Member)
            .join(mt.Attendance, mt.Attendance.member_id == mt.Member.id)
            .where(mt.Attendance.meeting_id == meeting_id)
            .order_by(mt.Member.name)
        )
    )


def quoracy(core_roles: list[str], members: list[mt.Member]) -> Quoracy:
    """Whether every core role is filled by someone present ("a|b": either fills it)."""
    filled: dict[str, list[str]] = {}
    missing = []
    for entry in core_roles:
        names = [m.name for m in members if m.role in entry.split("|")]
        filled[vocab.core_role_words(entry)] = names
        if not names:
            missing.append(vocab.core_role_words(entry))
    return Quoracy(quorate=not missing, present=filled, missing=missing)


# -- outcomes and actions -----------------------------------------------------------------


def record_outcome(
    db: Session, actor: Actor, meeting_id: int, case_id: int, data: ms.OutcomeIn
) -> None:
    """The outcome's follow-up (recorded live, changed later as the patient is told) and
    the case's cancer waiting-time dates."""
    item = _item(db, meeting_id, case_id)
    row = _record(db, item, actor)
    values = data.model_dump()
    for key in ("referral_on", "diagnosis_told_on", "decision_to_treat_on", "first_treatment_on"):
        value = values.pop(key)
        dates = _dates(db, case_id, actor)
        setattr(dates, key, value)
        dates.updated_at, dates.updated_by = datetime.now(UTC), actor.name
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at, row.updated_by = datetime.now(UTC), actor.name
    audit(db, actor, "update", "outcome", item.id, meeting=meeting_id, case=case_id)
    db.commit()


def _dates(db: Session, case_id: int, actor: Actor) -> mt.PathwayDates:
    row = db.scalar(select(mt.PathwayDates).where(mt.PathwayDates.case_id == case_id))
    if row is None:
        row = mt.PathwayDates(case_id=case_id, updated_by=actor.name)
        db.add(row)
        db.flush()
    return row


def add_action(
    db: Session, actor: Actor, meeting_id: int, case_id: int, data: ms.ActionIn
) -> mt.Action:
    item = _item(db, meeting_id, case_id)
    row = mt.Action(agenda_item_id=item.id, done=False, created_by=actor.name, **data.model_dump())
    db.add(row)
    db.flush()
    audit(db, actor, "create", "action", row.id, meeting=meeting_id, case=case_id)
    db.commit()
    return row


def set_action_done(
    db: Session, actor: Actor, meeting_id: int, action_id: int, done: bool
) -> mt.Action:
    row = svc._row(db, mt.Action, action_id, "action")
    item = db.get(t.AgendaItem, row.agenda_item_id)
    if item is None or item.meeting_id != meeting_id:
        raise NotFoundError(f"action {action_id} of meeting {meeting_id}")
    row.done, row.done_at = done, datetime.now(UTC) if done else None
    audit(db, actor, "update", "action", action_id, done=done)
    db.commit()
    return row


def cwt_intervals(dates: mt.PathwayDates | None, mdt_on: date) -> list[dict[str, Any]]:
    """Each waiting-time standard: its days so far (or in all) against its target."""
    out = []
    for name, start, end, target in vocab.CWT_STANDARDS:
        begun = getattr(dates, start) if dates else None
        ended = getattr(dates, end) if dates else None
        days = (ended - begun).days if begun and ended else None
        out.append(
            {
                "standard": name,
                "days": days,
                "target": target,
                "met": None if days is None else days <= target,
            }
        )
    return out


# -- the whole meeting --------------------------------------------------------------------


def meeting_rows(db: Session, actor: Actor, meeting_id: int, purpose: str) -> list[Row]:
    """Every item of the agenda with what was recorded about it (audited once: an agenda
    names patients)."""
    svc._row(db, t.Meeting, meeting_id, "meeting")
    items = list(
        db.scalars(
            select(t.AgendaItem)
            .where(t.AgendaItem.meeting_id == meeting_id)
            .order_by(t.AgendaItem.position)
        )
    )
    ids = [i.id for i in items]
    records = {
        r.agenda_item_id: r
        for r in db.scalars(select(mt.ItemRecord).where(mt.ItemRecord.agenda_item_id.in_(ids)))
    }
    actions: dict[int, list[mt.Action]] = {}
    for a in db.scalars(
        select(mt.Action).where(mt.Action.agenda_item_id.in_(ids)).order_by(mt.Action.id)
    ):
        actions.setdefault(a.agenda_item_id, []).append(a)
    rows = []
    for place, item in enumerate(items, start=1):
        case = svc._case_row(db, item.case_id)
        rows.append(
            Row(
                position=place,
                item=item,
                case=case,
                patient=svc._patient_row(db, case.patient_id),
                record=records.get(item.id),
                actions=actions.get(item.id, []),
                decision=svc._latest_decision(db, meeting_id, item.case_id),
                dates=db.scalar(
                    select(mt.PathwayDates).where(mt.PathwayDates.case_id == item.case_id)
                ),
            )
        )
    audit(db, actor, "read", "agenda", meeting_id, count=len(rows), purpose=purpose)
    db.commit()
    return rows


def one_row(db: Session, actor: Actor, meeting_id: int, case_id: int, purpose: str) -> Row:
    _item(db, meeting_id, case_id)
    rows = meeting_rows(db, actor, meeting_id, purpose)
    return next(r for r in rows if r.case.id == case_id)


def user_label(db: Session, name: str) -> str:
    """A user as people read them: full name (professional role), else the user name."""
    user = db.scalar(select(t.User).where(t.User.name == name))
    if user is None or not user.full_name:
        return name
    role = vocab.role_words(user.professional_role)
    return f"{user.full_name} ({role})" if role else user.full_name


def option_names(kb: KnowledgeBase, chosen: list[str]) -> list[str]:
    return [kb.options[o].name if o in kb.options else o for o in chosen]


def letter_row(
    db: Session, actor: Actor, meeting_id: int, case_id: int, recipient: str
) -> tuple[Row, dict[str, Any]]:
    """The agenda item an outcome letter is written from, and the case's facts at the
    decision. Refused (409) before the MDT has recorded a decision: a letter reports one."""
    row = one_row(db, actor, meeting_id, case_id, purpose=f"letter_{recipient}")
    if row.decision is None:
        raise ConflictError(
            f"no decision is recorded for case {case_id} at meeting {meeting_id}: an outcome "
            "letter reports the MDT's decision, so it is made only after one is recorded"
        )
    version = svc._version_row(db, case_id, row.decision.case_version)
    audit(db, actor, "export", "letter", row.decision.id, to=recipient, case=case_id)
    db.commit()
    return row, version.facts


def set_profile(db: Session, actor: Actor, user_id: int, data: ms.ProfileIn) -> t.User:
    """A user's full name and professional role (admin)."""
    user = svc._row(db, t.User, user_id, "user")
    user.full_name, user.professional_role = data.full_name, data.professional_role
    audit(db, actor, "profile", "user", user_id)
    db.commit()
    return user
