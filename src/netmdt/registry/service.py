"""Reads and writes of registry records. Every one is audited in the same transaction
(ids and counts only, never patient data); a write that breaks a rule stores nothing.

Routes and the CLI check roles before calling these (docs/registry.md, "Roles")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netmdt.assessment import Assessment
from netmdt.errors import ConflictError, NotFoundError, Problem, RecordValidationError
from netmdt.registry import ctcae, recist
from netmdt.registry import schemas as rs
from netmdt.registry import tables as rt
from netmdt.registry.status import REGISTRY_OPTIONS, current_status
from netmdt.registry.subgroup import derive
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit, case_of

PLANNED_CYCLES = 4  # UCL / Royal Free protocol: 4 cycles, retreatment 2
PLANNED_RETREATMENT_CYCLES = 2


def _today() -> date:
    return date.today()


def _invalid(field: str, message: str) -> RecordValidationError:
    return RecordValidationError([Problem(field, message)])


# -- enrolment --------------------------------------------------------------------------


def enrol(
    db: Session, actor: Actor, data: rs.EnrolIn, today: date | None = None
) -> rs.EnrolmentOut:
    """Enrol the patient of an MDT decision that chose PRRT through the registry route.
    Refused (409, with the reason) unless the decision chose a registry PRRT option whose
    funding, in the assessment the decision rested on, was the audit registry; unless the
    registry is open; or when the decision is superseded or already enrolled."""
    today = today or _today()
    decision = db.get(t.Decision, data.decision_id)
    if decision is None:
        raise NotFoundError(f"decision {data.decision_id}")
    newer = db.scalar(select(t.Decision.id).where(t.Decision.supersedes_id == decision.id))
    if newer is not None:
        raise ConflictError(
            f"decision {decision.id} was amended by decision {newer}: enrol from that one"
        )
    chosen = [o for o in decision.chosen if o in REGISTRY_OPTIONS]
    if not chosen:
        raise ConflictError(
            f"decision {decision.id} chose {', '.join(decision.chosen) or 'nothing'}, not PRRT: "
            "only a decision choosing PRRT enrols in the registry"
        )
    stored = db.get(t.StoredAssessment, decision.assessment_id)
    assert stored is not None  # a foreign key
    assessment = Assessment.model_validate(stored.result)
    option = chosen[0]
    funding = next(o.funding for o in assessment.options if o.option == option)
    if funding.pathway != "audit_registry":
        raise ConflictError(
            f"the funding route of {option} in the assessment decision {decision.id} rested on "
            f"was {funding.pathway}, not the audit registry"
        )
    status = current_status(db)
    if status != "open":
        raise ConflictError(
            f"the PRRT registry is {(status or 'on_hold (never set)').replace('_', ' ')}: an "
            "administrator opens it with netmdt registry status --set open"
        )
    if db.scalar(select(rt.Enrolment.id).where(rt.Enrolment.decision_id == decision.id)):
        raise ConflictError(f"decision {decision.id} is already enrolled")
    enrolled_on = data.enrolled_on or today
    problems = []
    if enrolled_on > today:
        problems.append(Problem("enrolled_on", f"{enrolled_on} is in the future"))
    if data.consent_date > enrolled_on:
        problems.append(
            Problem("consent_date", f"{data.consent_date} is after the enrolment ({enrolled_on})")
        )
    if problems:
        raise RecordValidationError(problems)
    version = db.scalar(
        select(t.CaseVersion).where(
            t.CaseVersion.case_id == decision.case_id,
            t.CaseVersion.version == decision.case_version,
        )
    )
    assert version is not None
    sub = derive(case_of(decision.case_id, version.facts))
    if sub.subgroup == "not_eligible":
        raise ConflictError(f"not eligible for the registry: {sub.reason}")
    case = db.get(t.Case, decision.case_id)
    assert case is not None
    reason = sub.reason + (f" (missing: {', '.join(sub.missing)})" if sub.missing else "")
    planned = data.planned_cycles or (
        PLANNED_RETREATMENT_CYCLES if sub.subgroup == "gep_retreatment" else PLANNED_CYCLES
    )
    row = rt.Enrolment(
        patient_id=case.patient_id,
        case_id=decision.case_id,
        decision_id=decision.id,
        case_version=decision.case_version,
        option=option,
        kb_version=stored.kb_version,
        kb_fingerprint=stored.kb_fingerprint,
        assessment_json=assessment.model_dump_json(),
        subgroup=sub.subgroup,
        subgroup_reason=reason,
        registry_status=status,
        enrolled_on=enrolled_on,
        consent_date=data.consent_date,
        info_sheet_version=data.info_sheet_version,
        planned_cycles=planned,
        created_by=actor.name,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise ConflictError(f"decision {decision.id} is already enrolled") from None
    audit(db, actor, "create", "registry_enrolment", row.id, decision=decision.id, case=row.case_id)
    db.commit()
    return _enrolment_out(row)


def _enrolment_out(row: rt.Enrolment) -> rs.EnrolmentOut:
    return rs.EnrolmentOut.model_validate(row, from_attributes=True)


def _enrolment_row(db: Session, enrolment_id: int) -> rt.Enrolment:
    row = db.get(rt.Enrolment, enrolment_id)
    if row is None:
        raise NotFoundError(f"registry enrolment {enrolment_id}")
    return row


def get_enrolment(db: Session, actor: Actor, enrolment_id: int) -> rs.RecordOut:
    row = _enrolment_row(db, enrolment_id)
    out = _record(db, row)
    audit(db, actor, "read", "registry_enrolment", row.id)
    db.commit()
    return out


def frozen_assessment(db: Session, actor: Actor, enrolment_id: int) -> str:
    """The assessment the enrolling decision rested on, as frozen (JSON text)."""
    row = _enrolment_row(db, enrolment_id)
    audit(db, actor, "read", "registry_frozen_assessment", row.id)
    db.commit()
    return row.assessment_json


def list_enrolments(db: Session, actor: Actor | str) -> list[rs.RecordOut]:
    rows = list(db.scalars(select(rt.Enrolment).order_by(rt.Enrolment.id)))
    out = [_record(db, r) for r in rows]
    audit(db, actor, "list", "registry_enrolment", None, count=len(out))
    db.commit()
    return out


def enrolment_for_decision(db: Session, decision_id: int) -> int | None:
    return db.scalar(select(rt.Enrolment.id).where(rt.Enrolment.decision_id == decision_id))


def _record(db: Session, row: rt.Enrolment) -> rs.RecordOut:
    cycles = list(
        db.scalars(
            select(rt.Cycle).where(rt.Cycle.enrolment_id == row.id).order_by(rt.Cycle.number)
        )
    )
    cumulative = 0.0
    cycle_out = []
    for c in cycles:
        cumulative = round(cumulative + c.administered_gbq, 2)
        cycle_out.append(
            rs.CycleOut(
                id=c.id,
                number=c.number,
                given_on=c.given_on,
                agent=c.agent,
                prescribed_gbq=c.prescribed_gbq,
                administered_gbq=c.administered_gbq,
                cumulative_gbq=cumulative,
                warnings=list(c.warnings),
            )
        )
    labs = [
        rs.LabOut.model_validate(r, from_attributes=True)
        for r in db.scalars(
            select(rt.LabResult)
            .where(rt.LabResult.enrolment_id == row.id)
            .order_by(rt.LabResult.taken_on, rt.LabResult.id)
        )
    ]
    events = [
        rs.AdverseEventOut.model_validate(r, from_attributes=True)
        for r in db.scalars(
            select(rt.AdverseEvent)
            .where(rt.AdverseEvent.enrolment_id == row.id)
            .order_by(rt.AdverseEvent.onset, rt.AdverseEvent.id)
        )
    ]
    scans = [
        rs.ScanOut.model_validate(r, from_attributes=True)
        for r in db.scalars(
            select(rt.Scan)
            .where(rt.Scan.enrolment_id == row.id)
            .order_by(rt.Scan.scanned_on, rt.Scan.id)
        )
    ]
    proms = [
        rs.PromOut.model_validate(r, from_attributes=True)
        for r in db.scalars(
            select(rt.PromScore)
            .where(rt.PromScore.enrolment_id == row.id)
            .order_by(rt.PromScore.completed_on, rt.PromScore.id)
        )
    ]
    grades = [e.grade for e in events]
    return rs.RecordOut(
        enrolment=_enrolment_out(row),
        cycles=cycle_out,
        labs=labs,
        adverse_events=events,
        scans=scans,
        proms=proms,
        cumulative_gbq=cumulative,
        max_grade=max(grades) if grades else (0 if labs else None),
        best_response=recist.best([s.response for s in scans if s.response]),
    )


def _not_before(field: str, value: date, row: rt.Enrolment, today: date) -> list[Problem]:
    problems = []
    if value < row.enrolled_on:
        problems.append(Problem(field, f"{value} is before the enrolment ({row.enrolled_on})"))
    if value > today:
        problems.append(Problem(field, f"{value} is in the future"))
    return problems


# -- cycles -----------------------------------------------------------------------------


def add_cycle(
    db: Session, actor: Actor, enrolment_id: int, data: rs.CycleIn, today: date | None = None
) -> rs.CycleOut:
    today = today or _today()
    row = _enrolment_row(db, enrolment_id)
    problems = _not_before("given_on", data.given_on, row, today)
    previous = db.scalar(
        select(rt.Cycle)
        .where(rt.Cycle.enrolment_id == row.id)
        .order_by(rt.Cycle.number.desc())
        .limit(1)
    )
    if previous is not None and data.given_on <= previous.given_on:
        problems.append(
            Problem(
                "given_on",
                f"{data.given_on} is not after cycle {previous.number} ({previous.given_on})",
            )
        )
    if row.death_date is not None and data.given_on > row.death_date:
        problems.append(
            Problem("given_on", f"{data.given_on} is after the death ({row.death_date})")
        )
    if problems:
        raise RecordValidationError(problems)
    prescribed, administered = round(data.prescribed_gbq, 2), round(data.administered_gbq, 2)
    warnings = []
    if administered > prescribed * rs.OVER_ACTIVITY_FACTOR:
        warnings.append(
            f"administered {administered:g} GBq is more than 110 % of the prescribed "
            f"{prescribed:g} GBq: check the entry"
        )
    if previous is not None and (data.given_on - previous.given_on).days < rs.MIN_INTERVAL_DAYS:
        warnings.append(
            f"{(data.given_on - previous.given_on).days} days after cycle {previous.number}: "
            "under 6 weeks (the protocol interval is 8-12 weeks): check the date"
        )
    cycle = rt.Cycle(
        enrolment_id=row.id,
        number=(previous.number + 1) if previous else 1,
        given_on=data.given_on,
        agent=data.agent,
        prescribed_gbq=prescribed,
        administered_gbq=administered,
        warnings=warnings,
        created_by=actor.name,
    )
    db.add(cycle)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise ConflictError("another cycle was recorded at the same moment; reload") from None
    audit(db, actor, "create", "registry_cycle", cycle.id, enrolment=row.id, number=cycle.number)
    db.commit()
    out = _record(db, row).cycles
    return out[-1]


# -- labs and adverse events ------------------------------------------------------------


def add_labs(
    db: Session, actor: Actor, enrolment_id: int, data: rs.LabsIn, today: date | None = None
) -> list[rs.LabOut]:
    """Store blood results; each one's CTCAE grade is computed against its reference range
    and the patient's baseline, and a grade >= 1 after baseline becomes an adverse event."""
    today = today or _today()
    row = _enrolment_row(db, enrolment_id)
    if data.baseline:
        problems = (
            []
            if data.taken_on <= today
            else [Problem("taken_on", f"{data.taken_on} is in the future")]
        )
    else:
        problems = _not_before("taken_on", data.taken_on, row, today)
    if problems:
        raise RecordValidationError(problems)
    stored = []
    for analyte, v in data.results.items():
        base = db.scalar(
            select(rt.LabResult.value)
            .where(
                rt.LabResult.enrolment_id == row.id,
                rt.LabResult.analyte == analyte,
                rt.LabResult.baseline.is_(True),
            )
            .order_by(rt.LabResult.taken_on.desc(), rt.LabResult.id.desc())
            .limit(1)
        )
        g = ctcae.grade(
            analyte, v.value, lln=v.lln, uln=v.uln, baseline=None if data.baseline else base
        )
        lab = rt.LabResult(
            enrolment_id=row.id,
            taken_on=data.taken_on,
            baseline=data.baseline,
            analyte=analyte,
            value=v.value,
            lln=v.lln,
            uln=v.uln,
            grade=g.grade,
            grade_reason=g.reason,
            created_by=actor.name,
        )
        db.add(lab)
        db.flush()
        stored.append(lab)
        if not data.baseline and g.grade:
            db.add(
                rt.AdverseEvent(
                    enrolment_id=row.id,
                    term=g.term,
                    meddra_code=g.meddra_code,
                    grade=g.grade,
                    ctcae_version=g.ctcae_version,
                    onset=data.taken_on,
                    serious=False,
                    lab_id=lab.id,
                    created_by=actor.name,
                )
            )
    db.flush()
    audit(db, actor, "create", "registry_labs", row.id, count=len(stored))
    db.commit()
    return [rs.LabOut.model_validate(r, from_attributes=True) for r in stored]


def add_adverse_event(
    db: Session, actor: Actor, enrolment_id: int, data: rs.AdverseEventIn, today: date | None = None
) -> rs.AdverseEventOut:
    today = today or _today()
    row = _enrolment_row(db, enrolment_id)
    problems = _not_before("onset", data.onset, row, today)
    if data.resolved is not None and data.resolved < data.onset:
        problems.append(Problem("resolved", f"{data.resolved} is before the onset ({data.onset})"))
    if problems:
        raise RecordValidationError(problems)
    event = rt.AdverseEvent(enrolment_id=row.id, created_by=actor.name, **data.model_dump())
    db.add(event)
    db.flush()
    audit(db, actor, "create", "registry_adverse_event", event.id, enrolment=row.id)
    db.commit()
    return rs.AdverseEventOut.model_validate(event, from_attributes=True)


# -- PROMs -----------------------------------------------------------------------------


def add_proms(
    db: Session, actor: Actor, enrolment_id: int, data: rs.PromIn, today: date | None = None
) -> list[rs.PromOut]:
    """Store a questionnaire's scale scores (0-100) with its licence reference; items and
    questionnaire text are never stored."""
    today = today or _today()
    row = _enrolment_row(db, enrolment_id)
    if data.completed_on > today:
        raise _invalid("completed_on", f"{data.completed_on} is in the future")
    stored = []
    for scale, score in data.scores.items():
        prom = rt.PromScore(
            enrolment_id=row.id,
            instrument=data.instrument,
            completed_on=data.completed_on,
            scale=scale,
            score=score,
            licence_ref=data.licence_ref,
            created_by=actor.name,
        )
        db.add(prom)
        stored.append(prom)
    db.flush()
    audit(db, actor, "create", "registry_prom", row.id, count=len(stored))
    db.commit()
    return [rs.PromOut.model_validate(p, from_attributes=True) for p in stored]


# -- scans ------------------------------------------------------------------------------


def _targets(lesions: list[rs.Lesion] | list[dict[str, Any]]) -> tuple[recist.Target, ...]:
    out = []
    for lesion in lesions:
        d = lesion.model_dump() if isinstance(lesion, rs.Lesion) else lesion
        out.append(recist.Target(d["lesion"], d["organ"], bool(d["nodal"]), float(d["mm"])))
    return tuple(out)


def add_scan(
    db: Session, actor: Actor, enrolment_id: int, data: rs.ScanIn, today: date | None = None
) -> rs.ScanOut:
    """A baseline scan (its target lesions checked against RECIST 1.1) or a follow-up
    scan (its response computed from the measurements: against baseline and nadir)."""
    today = today or _today()
    row = _enrolment_row(db, enrolment_id)
    scans = list(
        db.scalars(
            select(rt.Scan)
            .where(rt.Scan.enrolment_id == row.id)
            .order_by(rt.Scan.scanned_on, rt.Scan.id)
        )
    )
    baseline = next((s for s in scans if s.baseline), None)
    if data.scanned_on > today:
        raise _invalid("scanned_on", f"{data.scanned_on} is in the future")
    targets = _targets(data.lesions)
    if data.baseline:
        if baseline is not None:
            raise ConflictError(
                f"enrolment {row.id} already has a baseline scan ({baseline.scanned_on})"
            )
        if not targets:
            raise _invalid("lesions", "a baseline scan needs at least one target lesion")
        recist.check_baseline(targets)
        response = reason = None
    else:
        if baseline is None:
            raise ConflictError("record the baseline scan (its target lesions) first")
        problems = _not_before("scanned_on", data.scanned_on, row, today)
        if scans and data.scanned_on <= scans[-1].scanned_on:
            problems.append(
                Problem(
                    "scanned_on",
                    f"{data.scanned_on} is not after the last scan ({scans[-1].scanned_on})",
                )
            )
        if problems:
            raise RecordValidationError(problems)
        base = recist.Scan(_targets(baseline.lesions))
        follow = [
            recist.Scan(_targets(s.lesions), s.new_lesions, s.non_target)
            for s in scans
            if not s.baseline
        ]
        follow.append(recist.Scan(targets, data.new_lesions, data.non_target))
        result = recist.responses(base, follow)[-1]
        response, reason = result.overall, result.reason
    scan = rt.Scan(
        enrolment_id=row.id,
        scanned_on=data.scanned_on,
        baseline=data.baseline,
        lesions=[lesion.model_dump() for lesion in data.lesions],
        new_lesions=data.new_lesions,
        non_target=data.non_target,
        sstr_response=data.sstr_response,
        sum_mm=float(sum(t.mm for t in targets)),
        response=response,
        response_reason=reason,
        created_by=actor.name,
    )
    db.add(scan)
    db.flush()
    audit(db, actor, "create", "registry_scan", scan.id, enrolment=row.id)
    db.commit()
    return rs.ScanOut.model_validate(scan, from_attributes=True)


# -- follow-up --------------------------------------------------------------------------


def update_follow_up(
    db: Session, actor: Actor, enrolment_id: int, data: rs.FollowUpIn, today: date | None = None
) -> rs.EnrolmentOut:
    today = today or _today()
    row = _enrolment_row(db, enrolment_id)
    given = data.model_dump(exclude_unset=True)
    problems = []
    for field in ("progression_date", "death_date", "last_contact"):
        value = given.get(field)
        if value is not None:
            problems += _not_before(field, value, row, today)
    death = given.get("death_date", row.death_date)
    contact = given.get("last_contact", row.last_contact)
    if death is not None and contact is not None and contact > death:
        problems.append(Problem("last_contact", f"{contact} is after the death ({death})"))
    if given.get("death_cause") and death is None:
        problems.append(Problem("death_cause", "only with a death_date"))
    if problems:
        raise RecordValidationError(problems)
    for field, value in given.items():
        setattr(row, field, value)
    audit(db, actor, "update", "registry_enrolment", row.id, fields=sorted(given))
    db.commit()
    return _enrolment_out(row)


# -- overdue ----------------------------------------------------------------------------

BLOODS = ((14, 7, 28, "2-week bloods"), (42, 29, 63, "6-week bloods"))
SCAN_EVERY_DAYS = 91  # restaging every 3 months (German practice; UCL protocol)
CONTACT_EVERY_DAYS = 91


def overdue(db: Session, actor: Actor | str, today: date | None = None) -> list[dict[str, Any]]:
    """What is overdue: post-cycle bloods (2 and 6 weeks after each cycle), the 3-monthly
    restaging scan (stops at progression) and follow-up contact (stops at death)."""
    today = today or _today()
    out = []
    for row in db.scalars(select(rt.Enrolment).order_by(rt.Enrolment.id)):
        if row.death_date is not None:
            continue
        cycles = list(
            db.scalars(
                select(rt.Cycle).where(rt.Cycle.enrolment_id == row.id).order_by(rt.Cycle.number)
            )
        )
        lab_dates = set(
            db.scalars(
                select(rt.LabResult.taken_on).where(
                    rt.LabResult.enrolment_id == row.id, rt.LabResult.baseline.is_(False)
                )
            )
        )
        for c in cycles:
            for due_days, lo, hi, what in BLOODS:
                due = c.given_on + timedelta(days=due_days)
                window = (c.given_on + timedelta(days=lo), c.given_on + timedelta(days=hi))
                if today > due and not any(window[0] <= d <= window[1] for d in lab_dates):
                    out.append(_due(row, f"{what} after cycle {c.number}", due))
        if cycles and row.progression_date is None:
            last_scan = db.scalar(
                select(func.max(rt.Scan.scanned_on)).where(rt.Scan.enrolment_id == row.id)
            )
            since = max(d for d in (last_scan, cycles[0].given_on) if d is not None)
            due = since + timedelta(days=SCAN_EVERY_DAYS)
            if today > due:
                out.append(_due(row, "restaging scan (every 3 months)", due))
        contact = row.last_contact or row.enrolled_on
        due = contact + timedelta(days=CONTACT_EVERY_DAYS)
        if today > due:
            out.append(_due(row, "follow-up contact (every 3 months)", due))
    audit(db, actor, "list", "registry_overdue", None, count=len(out))
    db.commit()
    return out


def _due(row: rt.Enrolment, what: str, due: date) -> dict[str, Any]:
    return {"enrolment": row.id, "case": row.case_id, "what": what, "due": due}
