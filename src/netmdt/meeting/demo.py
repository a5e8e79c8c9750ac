"""The demo meeting's record, so a new user sees a meeting as it is run: members with
their professional roles, who was present (quorate), a question and a status on the first
cases, review lists, and the first case's outcome with actions, follow-up, contacts and
cancer waiting-time dates. Synthetic, like every demo patient."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from netmdt.kb import KnowledgeBase
from netmdt.meeting import schemas as ms
from netmdt.meeting import service
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.store import tables as t
from netmdt.store.services import Actor

MEMBERS: list[tuple[str, ms.ProfessionalRole]] = [
    ("Dr Amara Okafor", "medical_oncologist"),
    ("Mr James Whitfield", "surgeon"),
    ("Dr Priya Raman", "radiologist"),
    ("Dr Helen Marsh", "histopathologist"),
    ("Dr Tomasz Nowak", "nuclear_medicine"),
    ("Sarah Bennett", "specialist_nurse"),
    ("Liam Carter", "mdt_coordinator"),
]
QUESTIONS = [
    ("Progressing on lanreotide with liver metastases: PRRT or liver-directed therapy?",
     "discussed", None),
    ("Non-functional pancreatic NET G2: resection, or systemic treatment first?",
     "to_discuss", None),
    ("Insulinoma: surgery or medical control of the hypoglycaemia?", "to_discuss", None),
    ("Bronchial typical carcinoid: lobectomy as the standard of care?", "standard_of_care",
     None),
    ("Follow-up imaging: is there new disease?", "deferred", "awaiting the liver MRI"),
]  # fmt: skip


def load_meeting_demo(db: Session, actor: Actor, kb: KnowledgeBase, meeting_id: int) -> None:
    """Fill in the demo meeting's record (on the agenda the demo just built)."""
    members = [service.add_member(db, actor, ms.MemberIn(name=n, role=r)) for n, r in MEMBERS]
    service.set_attendance(db, actor, meeting_id, [m.id for m in members])
    meeting = db.get(t.Meeting, meeting_id)
    assert meeting is not None
    cases = list(
        db.scalars(
            select(t.AgendaItem.case_id)
            .where(t.AgendaItem.meeting_id == meeting_id)
            .order_by(t.AgendaItem.position)
        )
    )
    for case_id, (question, status, reason) in zip(cases, QUESTIONS, strict=False):
        item = ms.ItemIn(
            question=question,
            status=status,
            status_reason=reason,
            pathology_review=case_id == cases[1],
            radiology_review=status in ("discussed", "deferred") or case_id == cases[1],
        )
        service.set_item(db, actor, meeting_id, case_id, item)
    _first_outcome(db, actor, kb, meeting_id, cases[0], meeting.date)


def _first_outcome(
    db: Session, actor: Actor, kb: KnowledgeBase, meeting_id: int, case_id: int, on: date
) -> None:
    _, assessment, _ = svc.current_assessment(db, actor, kb, case_id)
    recommended = [o.option for o in assessment.options if o.verdict == "recommended"]
    # The first demo patient: SSTR-positive, progressing on an SSA: PRRT, as the question asks.
    chosen = ["prrt_lu177_dotatate"] if "prrt_lu177_dotatate" in recommended else recommended[:1]
    svc.record_decision(
        db,
        actor,
        kb,
        meeting_id,
        case_id,
        s.DecisionIn(
            chosen=chosen,
            rationale="Progressive disease on a somatostatin analogue with uptake above liver "
            "in every lesion on SSTR imaging; fit for treatment.",
        ),
    )
    for what, owner, days in [
        ("Refer for treatment planning and consent", "Dr Tomasz Nowak", 7),
        ("Renal function and full blood count before the first dose", "Sarah Bennett", 14),
        ("Write to the GP and the referrer with the outcome", "Liam Carter", 2),
    ]:
        service.add_action(
            db,
            actor,
            meeting_id,
            case_id,
            ms.ActionIn(what=what, owner=owner, due_on=on + timedelta(days=days)),
        )
    service.record_outcome(
        db,
        actor,
        meeting_id,
        case_id,
        ms.OutcomeIn(
            follow_up="rediscuss",
            follow_up_on=on + timedelta(days=84),
            responsible_clinician="Dr Amara Okafor",
            key_worker="Sarah Bennett, NET clinical nurse specialist",
            patient_told="no",
            gp="Dr Ellen Hughes\nRiverside Medical Practice\n12 Mill Lane\nAnytown AN1 2BC",
            referrer="Dr Mark Ellis, Consultant Gastroenterologist\nAnytown General Hospital",
            referral_on=on - timedelta(days=40),
            diagnosis_told_on=on - timedelta(days=16),
            decision_to_treat_on=on,
        ),
    )
