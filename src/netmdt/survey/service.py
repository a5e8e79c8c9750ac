"""Invitations, answers, opt-outs, the service's figures and the MDT's flags.

Every write and every read of patient-linked answers leaves an audit record in the same
transaction. A link's token is returned once, when it is issued; only its SHA-256 is
stored, and the link carries nothing else (no patient id, no NHS number)."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netmdt.errors import ConflictError, NotFoundError, Problem, RecordValidationError
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit
from netmdt.survey.logic import visible
from netmdt.survey.model import Answer, Item, Survey, load_survey
from netmdt.survey.tables import SurveyInvitation, SurveyOptOut, SurveyResponse
from netmdt.textcheck import text_fault

LINK_DAYS = 14  # a link works for 14 days after it is issued
SCHEDULE_DAYS = (0, 14, 28)  # after an injection, as in Darden 2021
MAX_TEXT = 1000


def _now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- invitations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    invitation_id: int
    token: str  # shown once; only its hash is stored

    def link(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/s/{self.token}"


def _opted_out(db: Session, patient_id: int | None) -> bool:
    return patient_id is not None and db.get(SurveyOptOut, patient_id) is not None


def _issue(row: SurveyInvitation, now: datetime) -> Issued:
    token = secrets.token_urlsafe(32)
    row.token_hash = token_hash(token)
    row.issued_at = now
    row.expires_at = now + timedelta(days=LINK_DAYS)
    return Issued(row.id, token)


def invite(
    db: Session,
    actor: Actor | str,
    patient_id: int | None,
    *,
    today: date,
    injection_date: date | None = None,
    days: Iterable[int] = (0,),
    survey_id: str = "ssa_injection",
    now: datetime | None = None,
) -> list[Issued]:
    """Invite a patient (or, with ``patient_id`` None, anyone: anonymous mode) to the
    survey at each of ``days`` after ``injection_date`` (default today). Links due today
    or earlier are issued now and returned; later ones wait for ``issue_due``. Refused
    (409) for a patient who opted out."""
    survey = load_survey(survey_id)
    if patient_id is not None:
        if db.get(t.Patient, patient_id) is None:
            raise NotFoundError(f"patient {patient_id}")
        if _opted_out(db, patient_id):
            raise ConflictError("patient: this patient asked for no more surveys (opted out)")
    start = injection_date or today
    days = sorted(set(days))
    if not days or any(d < 0 or d > 365 for d in days):
        raise RecordValidationError([Problem("days", "days after the injection: 0 to 365")])
    now = now or _now()
    issued = []
    for day in days:
        row = SurveyInvitation(
            survey_id=survey.id,
            survey_version=survey.version,
            patient_id=patient_id,
            injection_date=injection_date,
            day=day,
            due_on=start + timedelta(days=day),
            created_by=actor if isinstance(actor, str) else actor.name,
        )
        db.add(row)
        db.flush()
        if row.due_on <= today:
            issued.append(_issue(row, now))
        audit(
            db, actor, "create", "survey_invitation", row.id, day=day, linked=patient_id is not None
        )
    db.commit()
    return issued


def issue_due(
    db: Session, actor: Actor | str, today: date, now: datetime | None = None
) -> list[Issued]:
    """Issue the links of scheduled invitations now due; cancel those of patients who
    opted out (never issued). Audited, one record per invitation."""
    now = now or _now()
    rows = db.scalars(
        select(SurveyInvitation)
        .where(
            SurveyInvitation.token_hash.is_(None),
            SurveyInvitation.cancelled_at.is_(None),
            SurveyInvitation.due_on <= today,
        )
        .order_by(SurveyInvitation.id)
    ).all()
    issued = []
    for row in rows:
        if _opted_out(db, row.patient_id):
            row.cancelled_at = now
            audit(db, actor, "cancel", "survey_invitation", row.id, reason="opted_out")
            continue
        issued.append(_issue(row, now))
        audit(db, actor, "issue", "survey_invitation", row.id, day=row.day)
    db.commit()
    return issued


def opt_out(db: Session, actor: Actor | str, patient_id: int, now: datetime | None = None) -> int:
    """Record that the patient wants no more surveys and cancel every invitation not yet
    answered; returns how many were cancelled."""
    now = now or _now()
    if db.get(t.Patient, patient_id) is None:
        raise NotFoundError(f"patient {patient_id}")
    if db.get(SurveyOptOut, patient_id) is None:
        who = actor if isinstance(actor, str) else actor.name
        db.add(SurveyOptOut(patient_id=patient_id, at=now, recorded_by=who))
    cancelled = 0
    for row in db.scalars(
        select(SurveyInvitation).where(
            SurveyInvitation.patient_id == patient_id,
            SurveyInvitation.submitted_at.is_(None),
            SurveyInvitation.cancelled_at.is_(None),
        )
    ):
        row.cancelled_at = now
        cancelled += 1
    audit(db, actor, "opt_out", "patient", patient_id, cancelled=cancelled)
    db.commit()
    return cancelled


# -- the link ---------------------------------------------------------------------------


class LinkError(Exception):
    """A link that cannot be answered: ``status`` 404 (unknown), 409 (already sent),
    410 (expired or withdrawn); the message is the patient-facing sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def open_link(db: Session, token: str, now: datetime | None = None) -> SurveyInvitation:
    now = now or _now()
    if not token or len(token) > 100 or text_fault(token):
        raise LinkError(404, "This link is not valid.")
    row = db.scalar(
        select(SurveyInvitation).where(SurveyInvitation.token_hash == token_hash(token))
    )
    if row is None:
        raise LinkError(404, "This link is not valid.")
    if row.submitted_at is not None:
        raise LinkError(409, "You have already sent your answers. Thank you.")
    if row.cancelled_at is not None:
        raise LinkError(410, "This survey has been stopped. You will not get any more.")
    if row.expires_at is None or _aware(row.expires_at) <= now:
        raise LinkError(410, "This link has expired.")
    return row


def response_of(db: Session, invitation: SurveyInvitation) -> SurveyResponse | None:
    return db.scalar(select(SurveyResponse).where(SurveyResponse.invitation_id == invitation.id))


_TAG = re.compile(r"<[^>]*>")


def plain_text(text: str) -> str:
    """Free text with no HTML kept: tags removed, entities decoded, then any ``<`` or
    ``>`` left dropped; whitespace tidied."""
    text = _TAG.sub(" ", unescape(_TAG.sub(" ", text)))
    text = text.replace("<", " ").replace(">", " ")
    return re.sub(r"[ \t]+", " ", text).strip()


def parse_page(survey: Survey, page_id: str, form: Mapping[str, str]) -> dict[str, Answer | None]:
    """The answers a page's form gives (None: left blank), each checked against its
    question; every problem named by the question's linkId."""
    page = next((p for p in survey.pages if p.linkId == page_id), None)
    if page is None:
        raise NotFoundError(f"survey page {page_id}")
    out: dict[str, Answer | None] = {}
    problems = []
    for item in page.item:
        raw = form.get(item.linkId, "")
        try:
            out[item.linkId] = _value(item, raw.strip() if item.type != "text" else raw)
        except ValueError as error:
            problems.append(Problem(item.linkId, str(error), "invalid"))
    if problems:
        raise RecordValidationError(problems)
    return out


def _value(item: Item, raw: str) -> Answer | None:
    if text_fault(raw):
        raise ValueError("this answer holds characters that are not allowed")
    if raw == "":
        return None
    if item.type == "boolean":
        if raw not in ("1", "0"):
            raise ValueError("choose yes or no")
        return raw == "1"
    if item.type == "choice":
        if raw not in {o.code for o in item.answerOption}:
            raise ValueError("choose one of the answers shown")
        return raw
    if item.type in ("integer", "decimal"):
        try:
            number: float = int(raw) if item.type == "integer" else float(raw)
        except ValueError:
            raise ValueError(
                "type a whole number" if item.type == "integer" else "type a number"
            ) from None
        if (
            not math.isfinite(number)
            or (item.minValue is not None and number < item.minValue)
            or (item.maxValue is not None and number > item.maxValue)
        ):
            lo = "" if item.minValue is None else f" from {item.minValue:g}"
            hi = "" if item.maxValue is None else f" up to {item.maxValue:g}"
            raise ValueError(f"type a number{lo}{hi}")
        return number
    limit = item.maxLength or MAX_TEXT
    text = plain_text(raw)
    if len(text) > limit:
        raise ValueError(f"please keep this to {limit} characters or fewer")
    return text or None


def save_page(
    db: Session,
    token: str,
    page_id: str,
    form: Mapping[str, str],
    *,
    finish: bool,
    now: datetime | None = None,
) -> SurveyResponse:
    """Keep one page's answers (partial answers are kept); ``finish`` sends the whole
    survey: required questions that are shown must be answered, and the link is used up
    (a second submission is refused: 409)."""
    now = now or _now()
    invitation = open_link(db, token, now)
    survey = load_survey(invitation.survey_id)
    if survey.version != invitation.survey_version:
        raise LinkError(410, "This survey has changed. Please ask the team for a new link.")
    page_answers = parse_page(survey, page_id, form)
    row = response_of(db, invitation)
    answers: dict[str, Any] = dict(row.answers) if row else {}
    for key, value in page_answers.items():
        if value is None:
            answers.pop(key, None)
        else:
            answers[key] = value
    shown = visible(survey.items(), answers)
    answers = {k: v for k, v in answers.items() if k in shown}  # hidden: not kept
    if finish:
        missing = [
            Problem(i.linkId, "please answer this question", "required")
            for i in survey.items()
            if i.required and i.linkId in shown and i.linkId not in answers
        ]
        if missing:
            raise RecordValidationError(missing)
    status = "completed" if finish else "in-progress"
    actor = f"survey-link:{invitation.id}"
    if row is None:
        row = SurveyResponse(
            invitation_id=invitation.id,
            survey_id=survey.id,
            survey_version=survey.version,
            patient_id=invitation.patient_id,
            status=status,
            answers=answers,
            resource={},
        )
        db.add(row)
        db.flush()
    row.answers = answers
    row.status = status
    row.updated_at = now
    if finish:
        row.completed_at = now
        invitation.submitted_at = now
    row.resource = questionnaire_response(survey, row, invitation)
    audit(db, actor, "submit" if finish else "save", "survey_response", row.id, page=page_id)
    db.commit()
    return row


def questionnaire_response(
    survey: Survey, row: SurveyResponse, invitation: SurveyInvitation
) -> dict[str, Any]:
    """The answers as a FHIR R4 QuestionnaireResponse, pinned to ``url|version``; the
    subject only by the record's internal reference, never an NHS number."""
    answers = row.answers
    groups = []
    for page in survey.pages:
        items = []
        for item in page.item:
            if item.linkId not in answers:
                continue
            items.append(
                {
                    "linkId": item.linkId,
                    "text": item.text,
                    "answer": [_fhir_answer(item, answers[item.linkId])],
                }
            )
        if items:
            groups.append({"linkId": page.linkId, "text": page.text, "item": items})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"survey-response-{row.id}",
        "questionnaire": survey.canonical,
        "status": row.status,
        "authored": (row.completed_at or row.updated_at or _now()).isoformat(),
        "item": groups,
    }
    if invitation.patient_id is not None:
        resource["subject"] = {"reference": f"Patient/{invitation.patient_id}"}
    return resource


def _fhir_answer(item: Item, value: Any) -> dict[str, Any]:
    if item.type == "boolean":
        return {"valueBoolean": value}
    if item.type == "integer":
        return {"valueInteger": value}
    if item.type == "decimal":
        return {"valueDecimal": value}
    if item.type == "choice":
        display = next(o.display for o in item.answerOption if o.code == value)
        return {
            "valueCoding": {
                "system": f"{load_survey().url}/{item.linkId}",
                "code": value,
                "display": display,
            }
        }
    return {"valueString": value}


def opt_out_by_link(db: Session, token: str, now: datetime | None = None) -> None:
    """The patient's own "no more surveys" from the page (linked mode only)."""
    invitation = open_link(db, token, now)
    actor = f"survey-link:{invitation.id}"
    if invitation.patient_id is None:
        invitation.cancelled_at = now or _now()
        audit(db, actor, "opt_out", "survey_invitation", invitation.id)
        db.commit()
        return
    opt_out(db, actor, invitation.patient_id, now)


# -- reading answers --------------------------------------------------------------------

MODES = ("linked", "anonymous")


def responses(
    db: Session, actor: Actor, survey_id: str, mode: str, *, completed_only: bool = True
) -> list[dict[str, Any]]:
    """Responses to a survey. ``linked``: with the patient's record id (the care team);
    ``anonymous``: no patient id. Audited (``list survey_response``)."""
    load_survey(survey_id)
    stmt = select(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
    if completed_only:
        stmt = stmt.where(SurveyResponse.status == "completed")
    rows = db.scalars(stmt.order_by(SurveyResponse.id)).all()
    out = []
    for row in rows:
        item: dict[str, Any] = {
            "id": row.id,
            "survey_version": row.survey_version,
            "status": row.status,
            "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            "answers": dict(row.answers),
            "questionnaire_response": row.resource,
        }
        if mode == "linked":
            item["patient_id"] = row.patient_id
        else:
            resource = dict(row.resource)
            resource.pop("subject", None)
            item["questionnaire_response"] = resource
        out.append(item)
    audit(db, actor, "list", "survey_response", survey_id, mode=mode, count=len(out))
    db.commit()
    return out


# -- the service's figures --------------------------------------------------------------

PRODUCTS = {"1": "lanreotide", "2": "octreotide LAR"}  # anything else: other
SETTINGS = {"1": "hospital", "2": "GP", "3": "home nurse", "4": "self", "5": "self"}
Z = 1.959963984540054


def product_of(answers: Mapping[str, Any]) -> str:
    return PRODUCTS.get(str(answers.get("product")), "other")


def setting_of(answers: Mapping[str, Any]) -> str:
    return SETTINGS.get(str(answers.get("who_gives")), "not given")


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of k/n (None when n is 0)."""
    if n == 0:
        return None
    p = k / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    question: str
    hit: Any  # answer -> bool


MEASURES = (
    Measure("pain", "Site pain 4 or more out of 10", "pain_score", lambda v: v >= 4),
    Measure("lump", "Lump at the site", "lump", lambda v: v is True),
    Measure("delayed", "A dose over 7 days late (3 months)", "delayed", lambda v: v is True),
    Measure("travel", "Travel over 30 minutes one way", "travel_min", lambda v: v > 30),
    Measure("satisfied", "Happy or very happy", "satisfied", lambda v: v in ("4", "5")),
    Measure(
        "aware",
        "Knew self-injection exists (not self-injecting)",
        "aware_self",
        lambda v: v is True,
    ),
)


@dataclass(frozen=True)
class Figure:
    measure: str
    group: str
    k: int
    n: int
    low: float | None
    high: float | None

    @property
    def share(self) -> float | None:
        return self.k / self.n if self.n else None


def figures(rows: Iterable[Mapping[str, Any]], by: str) -> list[Figure]:
    """For each measure and each group (``by`` product or setting): k of n answered,
    with the 95% Wilson interval. ``rows`` are flat answers of completed responses."""
    group_of = product_of if by == "product" else setting_of
    groups = (
        ["lanreotide", "octreotide LAR", "other"]
        if by == "product"
        else ["hospital", "GP", "home nurse", "self"]
    )
    rows = list(rows)
    out = []
    for m in MEASURES:
        for g in groups:
            values = [r[m.question] for r in rows if group_of(r) == g and m.question in r]
            k = sum(1 for v in values if m.hit(v))
            ci = wilson(k, len(values))
            out.append(Figure(m.key, g, k, len(values), *(ci or (None, None))))
    return out


def median_travel(
    rows: Iterable[Mapping[str, Any]], by: str
) -> dict[str, tuple[float | None, int]]:
    group_of = product_of if by == "product" else setting_of
    found: dict[str, list[float]] = {}
    for r in rows:
        if "travel_min" in r:
            found.setdefault(group_of(r), []).append(r["travel_min"])
    return {g: (statistics.median(v), len(v)) for g, v in found.items()}


# -- the MDT's flag ---------------------------------------------------------------------

# 7-10 of 10 is "severe" (Serlin RC et al., Pain 1995;61:277-84 [V abstract]); sources
# disagree on the moderate/severe boundary (Paul SM et al., Pain 2005;113:37-44 did not
# confirm it; Woo A et al., Ann Palliat Med 2015 review: 6 most often): review: needed.
SEVERE_PAIN = 7
FLAG_DAYS = 90


@dataclass(frozen=True)
class Flag:
    key: str
    text: str

    @property
    def for_patient(self) -> str:
        """The flag in the patient's words, for the patient summary."""
        return PATIENT_WORDS[self.key]


PATIENT_WORDS = {
    "delayed_doses": "Some of your injections were more than a week late.",
    "site_pain": "Your injections hurt a lot where the needle went in.",
    "self_injection": "You would like to learn to give your injection yourself.",
}


def patient_flags(db: Session, patient_id: int, today: date) -> list[Flag]:
    """Information for the MDT from the patient's answers in the last 90 days: repeated
    delayed doses, severe injection-site pain, a wish to learn to self-inject. Never an
    input to the engine: verdicts do not change."""
    since = datetime.combine(today - timedelta(days=FLAG_DAYS), datetime.min.time(), UTC)
    rows = db.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.patient_id == patient_id, SurveyResponse.status == "completed")
        .order_by(SurveyResponse.completed_at)
    ).all()
    recent = [r.answers for r in rows if r.completed_at and _aware(r.completed_at) >= since]
    flags = []
    delays = max(
        (int(a.get("delayed_count", 1)) for a in recent if a.get("delayed") is True), default=0
    )
    delayed_answers = sum(1 for a in recent if a.get("delayed") is True)
    if delays >= 2 or delayed_answers >= 2:
        times = max(delays, delayed_answers)
        flags.append(
            Flag(
                "delayed_doses",
                f"Delayed doses: injections more than 7 days late ({times} times in 3 months).",
            )
        )
    severe = [a["pain_score"] for a in recent if a.get("pain_score", 0) >= SEVERE_PAIN]
    if severe:
        often = f"{len(severe)} time{'s' if len(severe) > 1 else ''}"
        flags.append(
            Flag(
                "site_pain",
                f"Severe injection-site pain: {max(severe)}/10 ({often} in 3 months).",
            )
        )
    if any(a.get("want_self") == "1" for a in recent):
        flags.append(Flag("self_injection", "Would like to learn to self-inject."))
    return flags
