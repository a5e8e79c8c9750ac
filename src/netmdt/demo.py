"""Demo data: synthetic patients spanning the NET pathway, their cases, a meeting with
them on the agenda, and a demo user whose password is generated (never a default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from netmdt.api.security import hash_password, new_password
from netmdt.errors import ConflictError
from netmdt.kb import KnowledgeBase
from netmdt.meeting.demo import load_meeting_demo
from netmdt.registry.demo import load_registry_demo
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.store import tables as t
from netmdt.survey.demo import seed_survey_demo

DEMO_USER = "demo"
DEMO_ROLES = ["admin", "coordinator", "clinician", "auditor", "clinical_lead"]
SYSTEM = svc.Actor("netmdt-demo", frozenset(DEMO_ROLES))


@dataclass(frozen=True)
class DemoLogin:
    name: str
    password: str
    patients_loaded: int
    survey_path: str = ""  # a fresh survey link for a demo patient (the site's path)


def demo_cases() -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(patient identity, case title, case facts) for each demo case, in file order."""
    folder = files("netmdt.examples").joinpath("demo")
    people = yaml.safe_load(folder.joinpath("patients.yaml").read_text())
    found = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml") or entry.name == "patients.yaml":
            continue
        facts = yaml.safe_load(entry.read_text())
        person = dict(people[facts["id"]])
        person.pop("sex", None)  # a case fact, not part of the patient record
        found.append((person, str(person.pop("title")), facts))
    return found


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


def load_demo(sessions: sessionmaker[Session], kb: KnowledgeBase, today: date) -> DemoLogin:
    """Create the demo user (new password each time) and, on an empty database, the demo
    patients, cases and a meeting with every case on its agenda."""
    password = new_password()
    with sessions() as db:
        _refuse_real_data(db)
        user = db.scalar(select(t.User).where(t.User.name == DEMO_USER))
        if user is None:
            db.add(t.User(name=DEMO_USER, password_hash=hash_password(password), roles=DEMO_ROLES))
        else:
            user.password_hash = hash_password(password)
        svc.audit(db, SYSTEM, "demo_login", "user", DEMO_USER)
        db.commit()
        if db.scalar(select(func.count()).select_from(t.Patient)):
            return DemoLogin(DEMO_USER, password, 0)
        meeting = svc.create_meeting(
            db, SYSTEM, s.MeetingIn(date=today, title="NET MDT (demo)", attendees=_attendees())
        )
        loaded = 0
        for person, title, facts in demo_cases():
            patient = svc.create_patient(db, SYSTEM, s.PatientIn.model_validate(person))
            case = svc.create_case(
                db, SYSTEM, kb, patient.id, s.CaseCreate(title=title, facts=_jsonable(facts))
            )
            svc.add_to_agenda(db, SYSTEM, meeting.id, case.id)
            loaded += 1
        load_meeting_demo(db, SYSTEM, kb, meeting.id)
        loaded += load_registry_demo(db, SYSTEM, kb, today)
    survey = seed_survey_demo(sessions, today)
    return DemoLogin(DEMO_USER, password, loaded, survey)


class RealDataError(ConflictError):
    """The database holds users or patients the demo did not create."""


def _refuse_real_data(db: Session) -> None:
    """Demo mode makes an all-roles account with a printed password: never on a database
    with real users or patients. What the demo user entered is demo data: it stays."""
    others = db.scalar(select(func.count()).select_from(t.User).where(t.User.name != DEMO_USER))
    real = db.scalar(
        select(func.count())
        .select_from(t.Patient)
        .where(t.Patient.created_by.not_in([SYSTEM.name, DEMO_USER]))
    )
    if others or real:
        raise RealDataError(
            f"refusing demo mode: this database has {others} other user(s) and {real} "
            "patient(s) not created in the demo; the demo needs a database of its own: move "
            "./netmdt.db aside, or run with NETMDT_DATABASE_URL=sqlite:///demo.db"
        )


def _attendees() -> list[str]:
    return [
        "Medical oncologist",
        "HPB surgeon",
        "Nuclear medicine physician",
        "Radiologist",
        "Histopathologist",
        "NET clinical nurse specialist",
        "MDT coordinator",
    ]
