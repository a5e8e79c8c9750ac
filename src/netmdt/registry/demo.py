"""Demo registry patients (synthetic; no real person), so a new user sees the registry at
work: the demo opens the centre's registry, records MDT decisions choosing Lu-177 PRRT
for six non-GEP NET patients, enrols them and enters cycles, bloods, scans and follow-up
dated back from today."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy.orm import Session

from netmdt.assessment import POSITIVE
from netmdt.kb import KnowledgeBase
from netmdt.registry import schemas as rs
from netmdt.registry import service as reg
from netmdt.registry.status import centre_kb, set_status
from netmdt.store import schemas as s
from netmdt.store import services as svc

# (name, date of birth, tumour, first cycle: days ago, cycles given, progression: days
# after the first cycle or None, death: days after the first cycle or None, best sums)
PEOPLE: list[tuple[str, str, dict[str, Any], int, int, int | None, int | None, list[int]]] = [
    ("Rhian Registry", "1958-02-11", {"type": "net", "primary_site": "lung",
     "lung_subtype": "atypical_carcinoid"}, 640, 4, 420, None, [62, 44, 40, 55]),
    ("Colin Registry", "1951-09-30", {"type": "net", "primary_site": "lung",
     "lung_subtype": "typical_carcinoid"}, 560, 4, None, None, [48, 40, 38]),
    ("Anita Registry", "1966-04-18", {"type": "net", "primary_site": "thymus"},
     500, 3, 200, 430, [70, 85]),
    ("Owen Registry", "1972-12-02", {"type": "paraganglioma", "primary_site": "other"},
     470, 4, None, None, [55, 36, 30]),
    ("Priya Registry", "1980-07-23", {"type": "phaeochromocytoma", "primary_site": "other"},
     300, 4, 260, None, [40, 34, 49]),
    ("Gareth Registry", "1963-03-09", {"type": "medullary_thyroid_carcinoma",
     "primary_site": "other"}, 150, 2, None, None, [50, 46]),
]  # fmt: skip


def _facts(tumour: dict[str, Any], today: date) -> dict[str, Any]:
    raw = files("netmdt.examples").joinpath("demo/demo-05-lung-atypical-carcinoid.yaml")
    facts: dict[str, Any] = json.loads(json.dumps(yaml.safe_load(raw.read_text()), default=str))
    for key in ("id", "age_years", "assessed_on"):
        facts.pop(key, None)
    facts["tumour"] = {**facts.get("tumour", {}), "lung_subtype": None, **tumour}
    facts["assessed_on"] = today.isoformat()
    return facts


def load_registry_demo(db: Session, actor: svc.Actor, kb: KnowledgeBase, today: date) -> int:
    """Open the registry and enrol the demo registry patients; returns how many."""
    set_status(db, actor, "open")
    kb = centre_kb(kb, "open")
    meeting = svc.create_meeting(
        db, actor, s.MeetingIn(date=today, title="NET MDT: PRRT registry (demo)", attendees=[])
    )
    for n, (name, born, tumour, ago, given, progression, death, sums) in enumerate(PEOPLE, 1):
        patient = svc.create_patient(
            db,
            actor,
            s.PatientIn(
                name=name, date_of_birth=date.fromisoformat(born), hospital_number=f"REG{n:04d}"
            ),
        )
        case = svc.create_case(
            db,
            actor,
            kb,
            patient.id,
            s.CaseCreate(title="PRRT in the registry?", facts=_facts(tumour, today)),
        )
        svc.add_to_agenda(db, actor, meeting.id, case.id)
        _, assessment, _ = svc.current_assessment(db, actor, kb, case.id)
        verdict = next(o.verdict for o in assessment.options if o.option == "prrt_lu177_dotatate")
        deviation = None if verdict in POSITIVE else "other"
        decision = svc.record_decision(
            db,
            actor,
            kb,
            meeting.id,
            case.id,
            s.DecisionIn(
                chosen=["prrt_lu177_dotatate"],
                rationale="Lu-177 PRRT within the audit registry",
                deviation_reason=deviation,
                deviation_text="demo: PRRT chosen by the MDT" if deviation else None,
            ),
        )
        first = today - timedelta(days=ago)
        enrolment = reg.enrol(
            db,
            actor,
            rs.EnrolIn(
                decision_id=decision.id,
                consent_date=first - timedelta(days=20),
                info_sheet_version="v1.0 (demo)",
                enrolled_on=first - timedelta(days=14),
            ),
            today=today,
        )
        _treat(db, actor, enrolment.id, first, given, sums, today)
        follow: dict[str, Any] = {"last_contact": min(today, first + timedelta(days=ago - 10))}
        if progression is not None:
            follow["progression_date"] = first + timedelta(days=progression)
        if death is not None:
            follow |= {
                "death_date": first + timedelta(days=death),
                "death_cause": "net_progression",
            }
            follow["last_contact"] = first + timedelta(days=death)
        if given < 4 and enrolment.planned_cycles > given and enrolment.subgroup != "mtc":
            follow["stop_reason"] = "progression" if progression else "toxicity"
        reg.update_follow_up(db, actor, enrolment.id, rs.FollowUpIn(**follow), today=today)
    return len(PEOPLE)


def _treat(
    db: Session, actor: svc.Actor, rid: int, first: date, given: int, sums: list[int], today: date
) -> None:
    reg.add_labs(
        db,
        actor,
        rid,
        rs.LabsIn(
            taken_on=first - timedelta(days=7),
            baseline=True,
            results={
                "platelets_10e9_l": rs.LabValue(value=230, lln=150),
                "neutrophils_10e9_l": rs.LabValue(value=3.9, lln=2.0),
                "haemoglobin_g_l": rs.LabValue(value=128, lln=130),
                "creatinine_umol_l": rs.LabValue(value=80, uln=110),
            },
        ),
        today=today,
    )
    lesions = [("L1", "liver"), ("L2", "lung")]
    reg.add_scan(
        db,
        actor,
        rid,
        rs.ScanIn(
            scanned_on=first - timedelta(days=10),
            baseline=True,
            lesions=[
                rs.Lesion(lesion=name, organ=organ, mm=sums[0] / 2) for name, organ in lesions
            ],
        ),
        today=today,
    )
    for k in range(given):
        day = first + timedelta(days=56 * k)
        reg.add_cycle(
            db,
            actor,
            rid,
            rs.CycleIn(given_on=day, prescribed_gbq=7.4, administered_gbq=7.4 if k != 1 else 7.3),
            today=today,
        )
        platelets = 140 - 25 * k
        six_weeks = day + timedelta(days=42)
        if six_weeks < today:
            reg.add_labs(
                db, actor, rid,
                rs.LabsIn(taken_on=six_weeks,
                          results={"platelets_10e9_l": rs.LabValue(value=platelets + 30, lln=150)}),
                today=today,
            )  # fmt: skip
        reg.add_labs(
            db,
            actor,
            rid,
            rs.LabsIn(
                taken_on=day + timedelta(days=14),
                results={
                    "platelets_10e9_l": rs.LabValue(value=platelets, lln=150),
                    "haemoglobin_g_l": rs.LabValue(value=118 - 4 * k, lln=130),
                },
            ),
            today=today,
        )
    for k, total in enumerate(sums[1:], 1):
        day = first + timedelta(days=91 * k)
        if day >= today:
            break
        reg.add_scan(
            db,
            actor,
            rid,
            rs.ScanIn(
                scanned_on=day,
                sstr_response=_sstr(total, sums[0]),
                lesions=[
                    rs.Lesion(lesion=name, organ=organ, mm=total / 2) for name, organ in lesions
                ],
            ),
            today=today,
        )


def _sstr(total: int, baseline: int) -> str:
    return "partial" if total < baseline else "progression"
