"""Demo data for the survey: synthetic answers so the dashboard shows figures, a
completed survey for the first demo patient (so their case shows the MDT flag) and a
fresh one-time link for that patient, printed once."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from netmdt.store import tables as t
from netmdt.survey import service as sv
from netmdt.survey.model import load_survey

ACTOR = "netmdt-demo"


def synthetic_answers(rng: random.Random) -> dict[str, dict[str, str]]:
    """One synthetic patient's answers, page by page, as the form would send them."""
    product = rng.choice(["1", "1", "2", "2", "3"])
    who = rng.choice(["1", "1", "2", "3", "3", "4"])
    delayed = rng.random() < 0.2
    travel = 0 if who in ("3", "4") else rng.choice([10, 20, 30, 45, 60, 90])
    pain = rng.choice([0, 1, 2, 3, 4, 5, 6, 8])
    return {
        "page_injection": {"product": product, "who_gives": who, "interval_weeks": "4"},
        "page_site": {
            "pain_score": str(pain),
            "pain_days": str(rng.choice([1, 2, 3])) if pain else "",
            "lump": rng.choice(["1", "0", "0"]),
            "bruise": rng.choice(["1", "0", "0", "0"]),
            "leak": "1" if product == "2" and rng.random() < 0.2 else "0",
            "worry": rng.choice(["1", "1", "2", "3"]),
        },
        "page_access": {
            "delayed": "1" if delayed else "0",
            "delayed_count": "1" if delayed else "",
            "delay_why": rng.choice(["1", "2"]) if delayed else "",
            "travel_min": str(travel),
        },
        "page_views": {
            "satisfied": rng.choice(["3", "4", "4", "5", "5"]),
            "aware_self": rng.choice(["1", "0"]) if who != "4" else "",
            "want_self": rng.choice(["1", "2", "3"]) if who != "4" else "",
            "prefer_place": rng.choice(["1", "2", "4"]),
        },
    }


def answer(db: Session, token: str, pages: dict[str, dict[str, str]], now: datetime) -> None:
    """Answer a link page by page, as a patient would, and send it."""
    survey = load_survey()
    last = survey.pages[-1].linkId
    for page in survey.pages:
        sv.save_page(
            db, token, page.linkId, pages.get(page.linkId, {}), finish=page.linkId == last, now=now
        )


def seed_survey_demo(sessions: sessionmaker[Session], today: date, count: int = 40) -> str:
    """Seed ``count`` anonymous synthetic responses and a flagged, answered survey for
    the first demo patient; return a fresh link path for that patient (`netmdt serve
    --demo` prints it as a whole address)."""
    rng = random.Random(14)
    now = datetime.combine(today, time(9), UTC)
    with sessions() as db:
        for n in range(count):
            when = now - timedelta(days=count - n)
            (issued,) = sv.invite(db, ACTOR, None, today=when.date(), now=when)
            answer(db, issued.token, synthetic_answers(rng), when)
        patient = db.scalar(select(t.Patient).order_by(t.Patient.id))
        if patient is None:
            return ""
        when = now - timedelta(days=10)
        (issued,) = sv.invite(db, ACTOR, patient.id, today=when.date(), now=when)
        flagged: dict[str, Any] = synthetic_answers(rng)
        flagged["page_injection"].update(product="1", who_gives="1")
        flagged["page_site"].update(pain_score="8", pain_days="3")
        flagged["page_access"].update(delayed="1", delayed_count="2", delay_why="1")
        flagged["page_views"].update(want_self="1", aware_self="0")
        answer(db, issued.token, flagged, when)
        (fresh,) = sv.invite(db, ACTOR, patient.id, today=today, injection_date=today, now=now)
    return f"/s/{fresh.token}"
