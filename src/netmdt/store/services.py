"""Reads and writes of patient data. Each one leaves an audit record in the same
transaction, so a write and its audit entry land together or not at all.

Routes check roles before calling these; these check the data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netmdt.assessment import POSITIVE, Assessment
from netmdt.case import Case, parse_case
from netmdt.engine.assess import assess
from netmdt.errors import (
    CaseValidationError,
    ConflictError,
    NotFoundError,
    Problem,
    RecordValidationError,
)
from netmdt.kb import KnowledgeBase
from netmdt.nhs import normalise_nhs_number
from netmdt.store import schemas as s
from netmdt.store import tables as t

R = TypeVar("R", bound=t.Base)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user or an API token's user."""

    name: str
    roles: frozenset[str]


def audit(
    db: Session,
    actor: Actor | str,
    action: str,
    record_type: str,
    record_id: object = None,
    **detail: Any,
) -> None:
    """Append an audit record (ids and counts only: never patient data)."""
    db.add(
        t.AuditEvent(
            actor=actor if isinstance(actor, str) else actor.name,
            action=action,
            record_type=record_type,
            record_id=None if record_id is None else str(record_id),
            detail=detail,
        )
    )


def problems_of(error: ValidationError, prefix: str = "") -> list[Problem]:
    """pydantic's errors as located problems."""
    return [
        Problem(
            prefix + ".".join(str(p) for p in e["loc"]),
            e["msg"].removeprefix("Value error, "),
            e["type"],
        )
        for e in error.errors()
    ]


# -- patients ---------------------------------------------------------------------------


def create_patient(db: Session, actor: Actor, data: s.PatientIn) -> s.PatientOut:
    if data.nhs_number and db.scalar(
        select(t.Patient.id).where(t.Patient.nhs_number == data.nhs_number)
    ):
        raise ConflictError("nhs_number: a patient with this NHS number is already registered")
    row = t.Patient(**data.model_dump(), created_by=actor.name)
    db.add(row)
    _flush_or_conflict(db, "nhs_number: a patient with this NHS number is already registered")
    audit(db, actor, "create", "patient", row.id)
    db.commit()
    return _patient_out(row)


def _flush_or_conflict(db: Session, message: str) -> None:
    """Flush; a unique constraint broken by a concurrent writer is a conflict (409)."""
    try:
        db.flush()
    except IntegrityError as error:
        db.rollback()
        raise ConflictError(message) from error


def _patient_out(row: t.Patient) -> s.PatientOut:
    return s.PatientOut(
        id=row.id,
        name=row.name,
        date_of_birth=row.date_of_birth,
        nhs_number=row.nhs_number,
        hospital_number=row.hospital_number,
    )


def _row(db: Session, table: type[R], record_id: int, what: str) -> R:
    """The row with this id, or NotFoundError naming the record."""
    row = db.get(table, record_id)
    if row is None:
        raise NotFoundError(f"{what} {record_id}")
    return row


def _patient_row(db: Session, patient_id: int) -> t.Patient:
    return _row(db, t.Patient, patient_id, "patient")


def get_patient(db: Session, actor: Actor, patient_id: int) -> s.PatientOut:
    out = _patient_out(_patient_row(db, patient_id))
    audit(db, actor, "read", "patient", patient_id)
    db.commit()
    return out


def list_patients(db: Session, actor: Actor, query: str | None = None) -> list[s.PatientOut]:
    stmt = select(t.Patient).order_by(t.Patient.name)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            func.lower(t.Patient.name).like(like)
            | (t.Patient.nhs_number == normalise_nhs_number(query))
            | (t.Patient.hospital_number == query)
        )
    rows = [_patient_out(r) for r in db.scalars(stmt.limit(500))]
    audit(db, actor, "list", "patient", None, count=len(rows), searched=bool(query))
    db.commit()
    return rows


def find_patient(db: Session, actor: Actor, *, nhs_number: str) -> s.PatientOut | None:
    row = db.scalar(select(t.Patient).where(t.Patient.nhs_number == nhs_number))
    audit(db, actor, "find", "patient", row.id if row else None, found=row is not None)
    db.commit()
    return _patient_out(row) if row else None


# -- cases and versions -----------------------------------------------------------------


def validate_facts(facts: dict[str, Any], patient: t.Patient, today: date) -> dict[str, Any]:
    """Check facts against the case format and the patient record; return what is stored.

    ``assessed_on`` defaults to today; ``age_years`` defaults to the age on that date from
    the date of birth, and must agree with it when given.
    """
    facts = {k: v for k, v in facts.items() if k != "id"}
    facts.setdefault("assessed_on", today.isoformat())
    case = _parsed(facts)
    assert case.assessed_on is not None
    age = _age(patient.date_of_birth, case.assessed_on)
    if not 0 <= age <= 120:
        raise RecordValidationError(
            [
                Problem(
                    "facts.assessed_on",
                    f"{case.assessed_on} gives an age of {age} from the date of birth "
                    f"({patient.date_of_birth}); allowed: 0 to 120",
                    "inconsistent",
                )
            ]
        )
    if case.age_years is None:
        facts["age_years"] = age
    elif case.age_years != age:
        raise RecordValidationError(
            [
                Problem(
                    "facts.age_years",
                    f"{case.age_years} does not match the date of birth "
                    f"({patient.date_of_birth}: {age} on {case.assessed_on})",
                    "inconsistent",
                )
            ]
        )
    return _parsed(facts).model_dump(mode="json", exclude_none=True)


def _parsed(facts: dict[str, Any]) -> Case:
    try:
        return parse_case(facts)
    except CaseValidationError as error:
        raise RecordValidationError(
            [Problem(f"facts.{p.where}", p.message, p.code) for p in error.problems]
        ) from error


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def create_case(
    db: Session, actor: Actor, kb: KnowledgeBase, patient_id: int, data: s.CaseCreate
) -> s.CaseOut:
    patient = _patient_row(db, patient_id)
    facts = validate_facts(data.facts, patient, _today())
    row = t.Case(patient_id=patient_id, title=data.title, version=1)
    db.add(row)
    db.flush()
    version = t.CaseVersion(
        case_id=row.id, version=1, facts=facts, note="created", created_by=actor.name
    )
    db.add(version)
    db.flush()
    _store_assessment(db, kb, row.id, version)
    audit(db, actor, "create", "case", row.id, version=1)
    db.commit()
    return _case_out(row, version)


def update_case(
    db: Session, actor: Actor, kb: KnowledgeBase, case_id: int, data: s.CaseUpdate
) -> s.CaseOut:
    """A new version, only if ``base_version`` is still the current one (else 409)."""
    row = _case_row(db, case_id)
    facts = validate_facts(data.facts, _patient_row(db, row.patient_id), _today())
    new = data.base_version + 1
    moved = db.execute(
        update(t.Case)
        .where(t.Case.id == case_id, t.Case.version == data.base_version)
        .values(version=new)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        current = _case_row(db, case_id).version
        raise ConflictError(
            f"case {case_id} is at version {current}, not {data.base_version}: "
            "someone else saved it first; reload, then edit again"
        )
    version = t.CaseVersion(
        case_id=case_id, version=new, facts=facts, note=data.note, created_by=actor.name
    )
    db.add(version)
    _flush_or_conflict(db, f"case {case_id}: version {new} was saved by someone else")
    _store_assessment(db, kb, case_id, version)
    audit(db, actor, "update", "case", case_id, version=new, base_version=data.base_version)
    db.commit()
    db.refresh(row)
    return _case_out(row, version)


def _today() -> date:
    return datetime.now(UTC).date()


def _case_row(db: Session, case_id: int) -> t.Case:
    return _row(db, t.Case, case_id, "case")


def _version_row(db: Session, case_id: int, version: int) -> t.CaseVersion:
    row = db.scalar(
        select(t.CaseVersion).where(
            t.CaseVersion.case_id == case_id, t.CaseVersion.version == version
        )
    )
    if row is None:
        raise NotFoundError(f"case {case_id} version {version}")
    return row


def _case_out(row: t.Case, version: t.CaseVersion) -> s.CaseOut:
    return s.CaseOut(
        id=row.id,
        patient_id=row.patient_id,
        title=row.title,
        version=version.version,
        facts=version.facts,
        updated_at=version.created_at,
        updated_by=version.created_by,
    )


def get_case(db: Session, actor: Actor, case_id: int) -> s.CaseOut:
    row = _case_row(db, case_id)
    out = _case_out(row, _version_row(db, case_id, row.version))
    audit(db, actor, "read", "case", case_id, version=row.version)
    db.commit()
    return out


def patient_cases(db: Session, actor: Actor, patient_id: int) -> list[s.CaseOut]:
    _patient_row(db, patient_id)
    rows = db.scalars(select(t.Case).where(t.Case.patient_id == patient_id).order_by(t.Case.id))
    out = [_case_out(r, _version_row(db, r.id, r.version)) for r in rows]
    audit(db, actor, "list", "case", None, patient=patient_id, count=len(out))
    db.commit()
    return out


def case_versions(db: Session, actor: Actor, case_id: int) -> list[s.VersionOut]:
    _case_row(db, case_id)
    rows = db.scalars(
        select(t.CaseVersion)
        .where(t.CaseVersion.case_id == case_id)
        .order_by(t.CaseVersion.version)
    )
    out = [
        s.VersionOut(
            version=r.version,
            created_at=r.created_at,
            created_by=r.created_by,
            note=r.note,
            facts=r.facts,
        )
        for r in rows
    ]
    audit(db, actor, "read", "case_versions", case_id, count=len(out))
    db.commit()
    return out


def diff_facts(before: dict[str, Any], after: dict[str, Any]) -> list[s.Change]:
    """Field-by-field changes between two versions' facts (dotted paths, sorted)."""
    old, new = _flatten(before), _flatten(after)
    return [
        s.Change(field=k, before=old.get(k), after=new.get(k))
        for k in sorted(old.keys() | new.keys())
        if old.get(k) != new.get(k)
    ]


def _flatten(facts: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in facts.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


# -- assessments ------------------------------------------------------------------------


def case_of(case_id: int, facts: dict[str, Any]) -> Case:
    return parse_case({**facts, "id": f"case-{case_id}"})


def _store_assessment(
    db: Session, kb: KnowledgeBase, case_id: int, version: t.CaseVersion
) -> t.StoredAssessment:
    result = assess(case_of(case_id, version.facts), kb)
    row = t.StoredAssessment(
        case_version_id=version.id,
        kb_version=kb.version,
        kb_fingerprint=kb.fingerprint,
        result=result.model_dump(mode="json"),
    )
    db.add(row)
    db.flush()
    return row


def current_assessment(
    db: Session, actor: Actor, kb: KnowledgeBase, case_id: int, version: int | None = None
) -> tuple[s.CaseOut, Assessment, int]:
    """The case (current or given version) and its assessment under the current knowledge
    base, made and stored now if the stored one used an older knowledge base.

    The knowledge base is the centre's (the active release's local settings applied), and
    each reason carries the centre's review of its criterion (``netmdt.governance``)."""
    from netmdt.governance.service import centre_kb, governed, on_stored

    kb = centre_kb(db, kb)
    row = _case_row(db, case_id)
    v = _version_row(db, case_id, version or row.version)
    stored = db.scalar(
        select(t.StoredAssessment).where(
            t.StoredAssessment.case_version_id == v.id,
            t.StoredAssessment.kb_fingerprint == kb.fingerprint,
        )
    )
    if stored is None:
        stored = _store_assessment(db, kb, case_id, v)
        on_stored(db, stored.id)
        audit(db, "netmdt", "reassess", "assessment", stored.id, kb_version=kb.version)
    audit(db, actor, "read", "assessment", stored.id, case=case_id, version=v.version)
    db.commit()
    out = _case_out(row, v)
    return out, governed(db, kb, Assessment.model_validate(stored.result)), stored.id


# -- meetings and decisions -------------------------------------------------------------


def create_meeting(db: Session, actor: Actor, data: s.MeetingIn) -> s.MeetingOut:
    row = t.Meeting(**data.model_dump(), created_by=actor.name)
    db.add(row)
    db.flush()
    audit(db, actor, "create", "meeting", row.id)
    db.commit()
    return s.MeetingOut(
        id=row.id, date=row.date, title=row.title, attendees=row.attendees, case_ids=[]
    )


def list_meetings(db: Session, actor: Actor) -> list[s.MeetingOut]:
    """Every meeting with its agenda's case ids (audited: agendas name patients' cases)."""
    rows = db.scalars(select(t.Meeting).order_by(t.Meeting.date.desc(), t.Meeting.id.desc()))
    out = [_meeting_out(db, r) for r in rows]
    audit(db, actor, "list", "meeting", None, count=len(out))
    db.commit()
    return out


def _meeting_row(db: Session, meeting_id: int) -> t.Meeting:
    return _row(db, t.Meeting, meeting_id, "meeting")


def _meeting_out(db: Session, row: t.Meeting) -> s.MeetingOut:
    case_ids = db.scalars(
        select(t.AgendaItem.case_id)
        .where(t.AgendaItem.meeting_id == row.id)
        .order_by(t.AgendaItem.position)
    )
    return s.MeetingOut(
        id=row.id,
        date=row.date,
        title=row.title,
        attendees=row.attendees,
        case_ids=list(case_ids),
    )


def get_meeting(db: Session, actor: Actor, meeting_id: int) -> s.MeetingOut:
    out = _meeting_out(db, _meeting_row(db, meeting_id))
    audit(db, actor, "read", "meeting", meeting_id)
    db.commit()
    return out


def add_to_agenda(db: Session, actor: Actor, meeting_id: int, case_id: int) -> s.MeetingOut:
    """Add a case at the end of the agenda. Positions are unique per meeting: when another
    coordinator takes the same place at the same moment, try the next one (409 if the case
    itself was added meanwhile, or after several tries)."""
    meeting = _meeting_row(db, meeting_id)
    _case_row(db, case_id)
    on_agenda = select(t.AgendaItem.id).where(
        t.AgendaItem.meeting_id == meeting_id, t.AgendaItem.case_id == case_id
    )
    already = f"case {case_id} is already on the agenda of meeting {meeting_id}"
    for _ in range(AGENDA_TRIES):
        if db.scalar(on_agenda):
            raise ConflictError(already)
        last = db.scalar(
            select(func.max(t.AgendaItem.position)).where(t.AgendaItem.meeting_id == meeting_id)
        )
        db.add(t.AgendaItem(meeting_id=meeting_id, case_id=case_id, position=(last or 0) + 1))
        try:
            db.flush()
        except IntegrityError:
            db.rollback()  # that place (or this case) was taken by a concurrent addition
            continue
        audit(db, actor, "update", "meeting", meeting_id, added_case=case_id)
        db.commit()
        return _meeting_out(db, meeting)
    if db.scalar(on_agenda):
        raise ConflictError(already)
    raise ConflictError(f"the agenda of meeting {meeting_id} kept changing; try again")


AGENDA_TRIES = 10


def agenda(db: Session, actor: Actor, meeting_id: int) -> list[dict[str, Any]]:
    """The agenda rows: case, patient, current version, headline verdicts, decision."""
    meeting = _meeting_out(db, _meeting_row(db, meeting_id))
    rows = []
    for case_id in meeting.case_ids:
        case = _case_row(db, case_id)
        patient = _patient_row(db, case.patient_id)
        decision = _latest_decision(db, meeting_id, case_id)
        rows.append({"case": case, "patient": patient, "decision": decision})
    audit(db, actor, "read", "agenda", meeting_id, count=len(rows))
    db.commit()
    return rows


def deviation_of(chosen: list[str], verdicts: dict[str, str]) -> bool:
    """Whether the MDT's choice differs from netmdt's view.

    It does when any chosen option's verdict was not ``recommended`` or ``consider``.
    Choosing one positive option over another is not a deviation, and neither is choosing
    nothing yet (investigate and rediscuss).
    """
    if not chosen:
        return False
    return any(verdicts.get(o) not in POSITIVE for o in chosen)


def record_decision(
    db: Session,
    actor: Actor,
    kb: KnowledgeBase,
    meeting_id: int,
    case_id: int,
    data: s.DecisionIn,
) -> s.DecisionOut:
    _meeting_row(db, meeting_id)
    if not db.scalar(
        select(t.AgendaItem.id).where(
            t.AgendaItem.meeting_id == meeting_id, t.AgendaItem.case_id == case_id
        )
    ):
        raise RecordValidationError(
            [Problem("case_id", f"case {case_id} is not on the agenda of meeting {meeting_id}")]
        )
    _, assessment, assessment_id = current_assessment(db, actor, kb, case_id, data.case_version)
    verdicts: dict[str, str] = {o.option: o.verdict for o in assessment.options}
    deviation = deviation_of(list(data.chosen), verdicts)
    _check_deviation(data, deviation, verdicts)
    _check_trial_ref(data, kb)
    investigations = _check_investigations(data, assessment)
    previous = _latest_decision(db, meeting_id, case_id)
    row = t.Decision(
        meeting_id=meeting_id,
        case_id=case_id,
        case_version=data.case_version or _case_row(db, case_id).version,
        assessment_id=assessment_id,
        chosen=list(dict.fromkeys(data.chosen)),
        verdicts=verdicts,
        rationale=data.rationale,
        deviation=deviation,
        deviation_reason=data.deviation_reason if deviation else None,
        deviation_text=data.deviation_text if deviation else None,
        supersedes_id=previous.id if previous else None,
        trial_ref=data.trial_ref,
        investigations=investigations,
        sequence=previous.sequence + 1 if previous else 1,
        created_by=actor.name,
    )
    db.add(row)
    _flush_or_conflict(
        db,
        f"another decision on case {case_id} at meeting {meeting_id} was recorded at the "
        "same moment; reload to see it, then amend if needed",
    )
    audit(
        db,
        actor,
        "create",
        "decision",
        row.id,
        case=case_id,
        meeting=meeting_id,
        investigations=len(investigations),
    )
    db.commit()
    return decision_out(row)


def _check_investigations(data: s.DecisionIn, assessment: Assessment) -> list[dict[str, Any]]:
    """The investigations asked for, as stored: each named fact must be one the case's
    assessment lists as unknown (``next_investigations``), and named once."""
    unknown = [i.field for i in assessment.next_investigations]
    problems, seen = [], set()
    for n, item in enumerate(data.investigations):
        if item.field is None:
            continue
        if item.field not in unknown:
            shown = ", ".join(unknown[:12]) + (", ..." if len(unknown) > 12 else "")
            problems.append(
                Problem(
                    f"investigations.{n}.field",
                    f"'{item.field}' is not a fact this case's assessment lists as unknown; "
                    f"allowed: {shown or 'none (every fact is known): use text'}",
                )
            )
        elif item.field in seen:
            problems.append(Problem(f"investigations.{n}.field", f"'{item.field}' is named twice"))
        seen.add(item.field)
    if problems:
        raise RecordValidationError(problems)
    return [i.model_dump() for i in data.investigations]


def _check_deviation(data: s.DecisionIn, deviation: bool, verdicts: dict[str, str]) -> None:
    problems = []
    if deviation and data.deviation_reason is None:
        off = [o for o in data.chosen if verdicts.get(o) not in POSITIVE]
        problems.append(
            Problem(
                "deviation_reason",
                f"required: the decision differs from netmdt's verdicts ({', '.join(off)}); "
                f"allowed: {', '.join(s.DEVIATION_REASONS)}",
                "missing",
            )
        )
    if deviation and data.deviation_reason == "other" and not data.deviation_text:
        problems.append(Problem("deviation_text", "required when the reason is 'other'"))
    if not deviation and data.deviation_reason is not None:
        problems.append(
            Problem(
                "deviation_reason",
                "only for a decision that differs from netmdt's verdicts; this one does not",
            )
        )
    if problems:
        raise RecordValidationError(problems)


def _check_trial_ref(data: s.DecisionIn, kb: KnowledgeBase) -> None:
    """A trial referral names a trial card, and only goes with clinical_trial chosen."""
    if data.trial_ref is None:
        return
    if "clinical_trial" not in data.chosen:
        raise RecordValidationError(
            [Problem("trial_ref", "only with clinical_trial among the chosen options")]
        )
    if data.trial_ref not in kb.trials:
        known = ", ".join(sorted(kb.trials)) or "none"
        raise RecordValidationError(
            [Problem("trial_ref", f"no trial card {data.trial_ref!r}; cards: {known}")]
        )


def _latest_decision(db: Session, meeting_id: int, case_id: int) -> t.Decision | None:
    return db.scalar(
        select(t.Decision)
        .where(t.Decision.meeting_id == meeting_id, t.Decision.case_id == case_id)
        .order_by(t.Decision.id.desc())
        .limit(1)
    )


def decision_out(row: t.Decision) -> s.DecisionOut:
    return s.DecisionOut.model_validate(row, from_attributes=True)


def case_decisions(db: Session, actor: Actor, case_id: int) -> list[s.DecisionOut]:
    _case_row(db, case_id)
    rows = db.scalars(
        select(t.Decision).where(t.Decision.case_id == case_id).order_by(t.Decision.id)
    )
    out = [decision_out(r) for r in rows]
    audit(db, actor, "list", "decision", None, case=case_id, count=len(out))
    db.commit()
    return out


# -- audit and reports ------------------------------------------------------------------


def audit_log(
    db: Session,
    actor: Actor,
    *,
    record_type: str | None = None,
    record_id: str | None = None,
    who: str | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
    offset: int = 0,
    purpose: str = "read",
) -> list[s.AuditOut]:
    """Events newest first, filtered (text filters match whole values, ignoring case;
    ``since`` and ``until`` are UTC dates, both included), one page at a time."""
    stmt = _audit_filtered(select(t.AuditEvent), record_type, record_id, who, action, since, until)
    stmt = stmt.order_by(t.AuditEvent.id.desc()).limit(limit).offset(offset)
    out = [s.AuditOut.model_validate(r, from_attributes=True) for r in db.scalars(stmt)]
    audit(db, actor, purpose, "audit_log", None, count=len(out), offset=offset)
    db.commit()
    return out


def audit_count(
    db: Session,
    *,
    record_type: str | None = None,
    record_id: str | None = None,
    who: str | None = None,
    action: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> int:
    stmt = select(func.count()).select_from(t.AuditEvent)
    return int(
        db.scalar(_audit_filtered(stmt, record_type, record_id, who, action, since, until)) or 0
    )


def _audit_filtered(
    stmt: Any,
    record_type: str | None,
    record_id: str | None,
    who: str | None,
    action: str | None,
    since: date | None,
    until: date | None,
) -> Any:
    for column, value in (
        (t.AuditEvent.record_type, record_type),
        (t.AuditEvent.record_id, record_id),
        (t.AuditEvent.actor, who),
        (t.AuditEvent.action, action),
    ):
        if value:
            stmt = stmt.where(func.lower(column) == value.lower())
    if since:
        stmt = stmt.where(t.AuditEvent.at >= datetime.combine(since, time.min, UTC))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, UTC)
        stmt = stmt.where(t.AuditEvent.at < end)
    return stmt


def concordance(
    db: Session,
    actor: Actor,
    *,
    since: date | None = None,
    until: date | None = None,
    meeting_id: int | None = None,
    clinician: str | None = None,
) -> dict[str, Any]:
    """How often the MDT's decisions matched netmdt's verdicts, by option and by reason.

    Counts each case's latest decision at each meeting (amended ones are superseded),
    of meetings from ``since`` to ``until`` (both included), of one meeting, or recorded
    by one clinician (user name, ignoring case). ``deviating`` lists the deviating
    decisions (case, meeting, options, reason: ids and codes, no patient data)."""
    superseded = select(t.Decision.supersedes_id).where(t.Decision.supersedes_id.is_not(None))
    stmt = (
        select(t.Decision, t.Meeting.date)
        .join(t.Meeting, t.Meeting.id == t.Decision.meeting_id)
        .where(t.Decision.id.not_in(superseded))
        .order_by(t.Meeting.date, t.Decision.id)
    )
    if since:
        stmt = stmt.where(t.Meeting.date >= since)
    if until:
        stmt = stmt.where(t.Meeting.date <= until)
    if meeting_id:
        stmt = stmt.where(t.Decision.meeting_id == meeting_id)
    if clinician:
        stmt = stmt.where(func.lower(t.Decision.created_by) == clinician.lower())
    found = db.execute(stmt).all()
    rows = [r[0] for r in found]
    deviating = [
        {
            "decision_id": d.id,
            "case_id": d.case_id,
            "meeting_id": d.meeting_id,
            "meeting_date": when.isoformat(),
            "chosen": d.chosen,
            "deviation_reason": d.deviation_reason,
            "recorded_by": d.created_by,
        }
        for d, when in found
        if d.deviation
    ]
    by_option: dict[str, Counter[str]] = {}
    for row in rows:
        for option in row.chosen:
            by_option.setdefault(option, Counter())[row.verdicts.get(option, "unknown")] += 1
        for option, verdict in row.verdicts.items():
            if verdict == "recommended" and option not in row.chosen:
                by_option.setdefault(option, Counter())["recommended_not_chosen"] += 1
    reasons = Counter(r.deviation_reason for r in rows if r.deviation)
    referrals = Counter(r.trial_ref or "unnamed" for r in rows if "clinical_trial" in r.chosen)
    audit(db, actor, "read", "report", "concordance", decisions=len(rows))
    db.commit()
    return {
        "decisions": len(rows),
        "concordant": sum(not r.deviation for r in rows),
        "deviations": sum(r.deviation for r in rows),
        "by_option": {o: dict(sorted(c.items())) for o, c in sorted(by_option.items())},
        "by_deviation_reason": {k or "none": v for k, v in sorted(reasons.items())},
        # decisions choosing clinical_trial, by the trial card referred to
        "trial_referrals": dict(sorted(referrals.items())),
        "deviating": deviating,
    }


def open_cases(db: Session, actor: Actor, exclude: list[int]) -> list[dict[str, Any]]:
    """Cases that could go on an agenda: id, title and patient name (for the picker)."""
    rows = db.execute(
        select(t.Case.id, t.Case.title, t.Patient.name)
        .join(t.Patient, t.Patient.id == t.Case.patient_id)
        .where(t.Case.id.not_in(exclude))
        .order_by(t.Patient.name, t.Case.id)
        .limit(500)
    ).all()
    audit(db, actor, "list", "case", None, count=len(rows), purpose="agenda")
    db.commit()
    return [{"id": r.id, "title": r.title, "patient": r.name} for r in rows]


def stored_cohort(db: Session, actor: Actor | str) -> list[dict[str, Any]]:
    """The current version of every stored case, as case-format dicts with the id
    ``case-<id>`` (for ``netmdt screen --db``); audited as one export."""
    rows = db.execute(
        select(t.Case.id, t.CaseVersion.facts)
        .join(
            t.CaseVersion,
            (t.CaseVersion.case_id == t.Case.id) & (t.CaseVersion.version == t.Case.version),
        )
        .order_by(t.Case.id)
    ).all()
    audit(db, actor, "export", "cohort", None, count=len(rows))
    db.commit()
    return [{**r.facts, "id": f"case-{r.id}"} for r in rows]
