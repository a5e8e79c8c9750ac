"""The meeting's pages and JSON API: the agenda (order, question, status, removal, adding
a case by search), members and attendance with the quoracy check, the outcome recorded
live with its actions, the pre-meeting list, the minutes and the outcome letters.

Every route checks the role; every patient read and write is audited by the service."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from netmdt.api.deps import (
    Admin,
    CareTeam,
    Coordinator,
    DbDep,
    Id,
    StateDep,
    require,
)
from netmdt.assessment import VERDICTS
from netmdt.config import Settings
from netmdt.engine.assess import summarize
from netmdt.errors import Problem, RecordValidationError
from netmdt.kb import KnowledgeBase
from netmdt.meeting import render as docs
from netmdt.meeting import schemas as ms
from netmdt.meeting import service as ms_svc
from netmdt.meeting import vocab
from netmdt.meeting.investigations import investigation_lines
from netmdt.meeting.render import Letter, Letterhead
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.store import tables as t
from netmdt.store.schemas import MAX_ID
from netmdt.store.services import Actor
from netmdt.web.common import Form, add_templates, model_of, redirect, render, templates

add_templates(Path(__file__).parent / "templates")
templates.env.filters["uk_date"] = vocab.uk_date
templates.env.filters["nhs"] = vocab.nhs_number_words
templates.env.globals.update(
    MEETING_STATUSES=vocab.STATUSES,
    PROFESSIONAL_ROLES=vocab.PROFESSIONAL_ROLES,
    FOLLOW_UP=vocab.FOLLOW_UP,
    PATIENT_TOLD=vocab.PATIENT_TOLD,
)

router = APIRouter()
api = APIRouter(prefix="/api")
ListAdmin = Annotated[Actor, Depends(require("coordinator", "admin"))]
Format = Literal["html", "pdf"]


# -- the meeting page ---------------------------------------------------------------------


@router.get("/meetings")
def meetings(request: Request, db: DbDep, actor: CareTeam) -> Response:
    return render(
        request, "meetings.html", actor, meetings=svc.list_meetings(db, actor), today=date.today()
    )


@router.post("/meetings")
def create_meeting(request: Request, db: DbDep, actor: Coordinator, form: Form) -> Response:
    attendees = [a.strip() for a in str(form.get("attendees", "")).splitlines() if a.strip()]
    data = model_of(
        s.MeetingIn,
        {"date": form.get("date"), "title": form.get("title", ""), "attendees": attendees},
    )
    meeting = svc.create_meeting(db, actor, data)
    return redirect(f"/meetings/{meeting.id}")


@router.get("/meetings/{meeting_id}")
def meeting(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    meeting_id: Id,
    q: str = "",
) -> Response:
    info = svc.get_meeting(db, actor, meeting_id)
    rows = ms_svc.meeting_rows(db, actor, meeting_id, purpose="meeting_page")
    headlines = {}
    for row in rows:
        _, assessment, _ = svc.current_assessment(db, actor, state.kb, row.case.id)
        grouped: dict[str, list[str]] = {v: [] for v in VERDICTS}
        for option in summarize(assessment).options:
            grouped[option.verdict].append(state.kb.options[option.option].name)
        headlines[row.case.id] = grouped
    found = (
        ms_svc.search_cases(db, actor, q[:200], exclude=info.case_ids)
        if q and "coordinator" in actor.roles
        else []
    )
    present = ms_svc.present(db, meeting_id)
    return render(
        request,
        "meeting_agenda.html",
        actor,
        meeting=info,
        rows=rows,
        headlines=headlines,
        chosen={
            r.decision.id: ms_svc.option_names(state.kb, r.decision.chosen)
            for r in rows
            if r.decision
        },
        q=q[:200],
        found=found,
        members=ms_svc.list_members(db, active_only=True),
        present={m.id for m in present},
        quorum=ms_svc.quoracy(state.settings.mdt_core_roles, present),
    )


@router.post("/meetings/{meeting_id}/agenda")
def add_to_agenda(db: DbDep, actor: Coordinator, meeting_id: Id, form: Form) -> Response:
    svc.add_to_agenda(db, actor, meeting_id, _int(form.get("case_id"), "case_id"))
    return redirect(f"/meetings/{meeting_id}")


def _int(value: Any, where: str) -> int:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise RecordValidationError([Problem(where, f"must be a whole number, 1 to {MAX_ID}")])
    return int(text)


@router.post("/meetings/{meeting_id}/cases/{case_id}/move")
def move_item(db: DbDep, actor: Coordinator, meeting_id: Id, case_id: Id, form: Form) -> Response:
    by = -1 if str(form.get("direction")) == "up" else 1
    ms_svc.move(db, actor, meeting_id, case_id, by)
    return redirect(f"/meetings/{meeting_id}#agenda")


@router.post("/meetings/{meeting_id}/cases/{case_id}/remove")
def remove_item(db: DbDep, actor: Coordinator, meeting_id: Id, case_id: Id, form: Form) -> Response:
    ms_svc.remove_item(db, actor, meeting_id, case_id)
    return redirect(f"/meetings/{meeting_id}#agenda")


@router.post("/meetings/{meeting_id}/attendance")
def attendance(db: DbDep, actor: Coordinator, meeting_id: Id, form: Form) -> Response:
    ids = [_int(v, "member_ids") for v in form.getlist("member_ids")]
    ms_svc.set_attendance(db, actor, meeting_id, ids)
    return redirect(f"/meetings/{meeting_id}#attendance")


# -- one case at the meeting: question, status, outcome, actions, letters -----------------


@router.get("/meetings/{meeting_id}/cases/{case_id}")
def item_page(
    request: Request, db: DbDep, state: StateDep, actor: CareTeam, meeting_id: Id, case_id: Id
) -> Response:
    return _item_page(request, db, state, actor, meeting_id, case_id)


def _item_page(
    request: Request,
    db: DbDep,
    state: Any,
    actor: Actor,
    meeting_id: int,
    case_id: int,
    problems: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    info = svc.get_meeting(db, actor, meeting_id)
    row = ms_svc.one_row(db, actor, meeting_id, case_id, purpose="item_page")
    return render(
        request,
        "meeting_item.html",
        actor,
        status,
        meeting=info,
        row=row,
        chosen=ms_svc.option_names(state.kb, row.decision.chosen) if row.decision else [],
        by=ms_svc.user_label(db, row.decision.created_by) if row.decision else "",
        asked_for=investigation_lines(state.kb, row.decision.investigations)
        if row.decision
        else [],
        cwt=ms_svc.cwt_intervals(row.dates, info.date),
        problems=problems or {},
    )


def _located(error: RecordValidationError) -> dict[str, list[str]]:
    """Problems by field; a model-level problem names its field before a colon."""
    out: dict[str, list[str]] = {}
    for p in error.problems:
        where, message = p.where, p.message
        if not where and ": " in message:
            where, message = message.split(": ", 1)
        out.setdefault(where, []).append(message)
    return out


@router.post("/meetings/{meeting_id}/cases/{case_id}/item")
def set_item(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    meeting_id: Id,
    case_id: Id,
    form: Form,
) -> Response:
    try:
        data = model_of(
            ms.ItemIn,
            {
                "question": str(form.get("question", "")) or None,
                "status": str(form.get("status", "to_discuss")),
                "status_reason": str(form.get("status_reason", "")) or None,
                "pathology_review": form.get("pathology_review") == "yes",
                "radiology_review": form.get("radiology_review") == "yes",
            },
        )
        ms_svc.set_item(db, actor, meeting_id, case_id, data)
    except RecordValidationError as error:
        return _item_page(request, db, state, actor, meeting_id, case_id, _located(error), 422)
    return redirect(f"/meetings/{meeting_id}/cases/{case_id}")


OUTCOME_FIELDS = (
    "follow_up",
    "follow_up_on",
    "responsible_clinician",
    "key_worker",
    "patient_told_on",
    "gp",
    "referrer",
    "referral_on",
    "diagnosis_told_on",
    "decision_to_treat_on",
    "first_treatment_on",
)


@router.post("/meetings/{meeting_id}/cases/{case_id}/outcome")
def record_outcome(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    meeting_id: Id,
    case_id: Id,
    form: Form,
) -> Response:
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() or None for k in OUTCOME_FIELDS}
    values["patient_told"] = str(form.get("patient_told", "unknown"))
    try:
        ms_svc.record_outcome(db, actor, meeting_id, case_id, model_of(ms.OutcomeIn, values))
    except RecordValidationError as error:
        return _item_page(request, db, state, actor, meeting_id, case_id, _located(error), 422)
    return redirect(f"/meetings/{meeting_id}/cases/{case_id}#outcome")


@router.post("/meetings/{meeting_id}/cases/{case_id}/actions")
def add_action(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    meeting_id: Id,
    case_id: Id,
    form: Form,
) -> Response:
    values = {k: str(form.get(k, "")).strip() or None for k in ("what", "owner", "due_on")}
    try:
        ms_svc.add_action(db, actor, meeting_id, case_id, model_of(ms.ActionIn, values))
    except RecordValidationError as error:
        return _item_page(request, db, state, actor, meeting_id, case_id, _located(error), 422)
    return redirect(f"/meetings/{meeting_id}/cases/{case_id}#actions")


@router.post("/meetings/{meeting_id}/actions/{action_id}/done")
def action_done(db: DbDep, actor: CareTeam, meeting_id: Id, action_id: Id, form: Form) -> Response:
    row = ms_svc.set_action_done(db, actor, meeting_id, action_id, form.get("done") == "yes")
    item = db.get(t.AgendaItem, row.agenda_item_id)
    case_id = item.case_id if item else 0
    return redirect(f"/meetings/{meeting_id}/cases/{case_id}#actions")


@router.get("/meetings/{meeting_id}/cases/{case_id}/letter")
def letter(
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    meeting_id: Id,
    case_id: Id,
    to: Literal["gp", "referrer"] = "gp",
    format: Literal["html", "pdf", "docx"] = "html",
) -> Response:
    """The outcome letter to the GP or the referrer (409 before a decision exists)."""
    made = _letter(db, state, actor, meeting_id, case_id, to)
    name = f"mdt-outcome-{to}-meeting-{meeting_id}-case-{case_id}"
    if format == "pdf":
        return _file(docs.pdf(docs.letter_html, made), "application/pdf", f"{name}.pdf")
    if format == "docx":
        kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return _file(docs.letter_docx(made), kind, f"{name}.docx")
    return HTMLResponse(docs.letter_html(made))


def _file(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _letter(db: DbDep, state: Any, actor: Actor, meeting_id: int, case_id: int, to: str) -> Letter:
    row, facts = ms_svc.letter_row(db, actor, meeting_id, case_id, to)
    assert row.decision is not None
    meeting = svc._row(db, t.Meeting, meeting_id, "meeting")
    rec = row.record
    address = (rec.gp if to == "gp" else rec.referrer) if rec else None
    follow = ""
    if rec and rec.follow_up:
        when = vocab.uk_date(rec.follow_up_on) or "date to be set"
        follow = f"{vocab.FOLLOW_UP[rec.follow_up]}: {when}"
    told = vocab.PATIENT_TOLD[rec.patient_told] if rec else "Not recorded"
    if rec and rec.patient_told_on:
        told += f" ({vocab.uk_date(rec.patient_told_on)})"
    return Letter(
        head=Letterhead.of(state.settings),
        today=date.today(),
        recipient="General practitioner" if to == "gp" else "Referring clinician",
        address=[x.strip() for x in (address or "Address not recorded").splitlines() if x.strip()],
        patient=row.patient,
        meeting_date=meeting.date,
        diagnosis=vocab.diagnosis_line(facts),
        question=(rec.question or "") if rec else "",
        recommendation=ms_svc.option_names(state.kb, row.decision.chosen),
        rationale=row.decision.rationale,
        actions=row.actions,
        follow_up=follow,
        responsible=(rec.responsible_clinician or "") if rec else "",
        key_worker=(rec.key_worker or "") if rec else "",
        patient_told=told,
        recorded_by=ms_svc.user_label(db, row.decision.created_by),
        investigations=investigation_lines(state.kb, row.decision.investigations),
    )


# -- the documents of the meeting ---------------------------------------------------------


@router.get("/meetings/{meeting_id}/list")
def premeeting(
    db: DbDep, state: StateDep, actor: CareTeam, meeting_id: Id, format: Format = "html"
) -> Response:
    """The pre-meeting list to circulate, with the pathology and radiology review lists."""
    meeting = svc._row(db, t.Meeting, meeting_id, "meeting")
    rows = ms_svc.meeting_rows(db, actor, meeting_id, purpose="premeeting_list")
    svc.audit(db, actor, "export", "premeeting_list", meeting_id, count=len(rows))
    db.commit()
    args = (meeting, rows, Letterhead.of(state.settings))
    if format == "pdf":
        return _file(
            docs.pdf(docs.premeeting_html, *args), "application/pdf", f"list-{meeting_id}.pdf"
        )
    return HTMLResponse(docs.premeeting_html(*args))


@router.get("/meetings/{meeting_id}/minutes")
def minutes(
    db: DbDep, state: StateDep, actor: CareTeam, meeting_id: Id, format: Format = "html"
) -> Response:
    """The minutes: attendance and quoracy, then each case's outcome, actions, follow-up."""
    args = minutes_args(db, state.settings, state.kb, actor, meeting_id)
    if format == "pdf":
        return _file(
            docs.pdf(docs.minutes_html, *args), "application/pdf", f"minutes-{meeting_id}.pdf"
        )
    return HTMLResponse(docs.minutes_html(*args))


def minutes_args(
    db: Session, settings: Settings, kb: KnowledgeBase, actor: Actor, meeting_id: int
) -> tuple[Any, ...]:
    """What the minutes show (audited as their export); also for ``netmdt meeting``."""
    meeting = svc._row(db, t.Meeting, meeting_id, "meeting")
    rows = ms_svc.meeting_rows(db, actor, meeting_id, purpose="minutes")
    present = ms_svc.present(db, meeting_id)
    decisions = [r.decision for r in rows if r.decision]
    args = (
        meeting,
        rows,
        Letterhead.of(settings),
        present,
        ms_svc.quoracy(settings.mdt_core_roles, present),
        {d.id: ms_svc.option_names(kb, d.chosen) for d in decisions},
        {d.id: ms_svc.user_label(db, d.created_by) for d in decisions},
        {d.id: investigation_lines(kb, d.investigations) for d in decisions},
    )
    svc.audit(db, actor, "export", "minutes", meeting_id, count=len(rows))
    db.commit()
    return args


# -- members ------------------------------------------------------------------------------


@router.get("/members")
def members_page(request: Request, db: DbDep, actor: ListAdmin) -> Response:
    return _members(request, db, actor)


def _members(
    request: Request, db: DbDep, actor: Actor, problems: dict[str, list[str]] | None = None
) -> Response:
    svc.audit(db, actor, "list", "mdt_member", None)
    db.commit()
    return render(
        request,
        "meeting_members.html",
        actor,
        422 if problems else 200,
        members=ms_svc.list_members(db),
        problems=problems or {},
    )


@router.post("/members")
def add_member(request: Request, db: DbDep, actor: ListAdmin, form: Form) -> Response:
    try:
        data = model_of(
            ms.MemberIn, {"name": str(form.get("name", "")), "role": str(form.get("role", ""))}
        )
    except RecordValidationError as error:
        return _members(request, db, actor, _located(error))
    ms_svc.add_member(db, actor, data)
    return redirect("/members")


@router.post("/members/{member_id}/active")
def member_active(db: DbDep, actor: ListAdmin, member_id: Id, form: Form) -> Response:
    ms_svc.set_member_active(db, actor, member_id, form.get("active") == "yes")
    return redirect("/members")


# -- users' full names and professional roles --------------------------------------------


@router.post("/admin/users/{user_id}/profile")
def user_profile(db: DbDep, actor: Admin, user_id: Id, form: Form) -> Response:
    values = {k: str(form.get(k, "")).strip() or None for k in ("full_name", "professional_role")}
    ms_svc.set_profile(db, actor, user_id, model_of(ms.ProfileIn, values))
    return redirect(f"/admin/users/{user_id}")


@api.put("/users/{user_id}/profile", response_model=s.UserOut)
def api_user_profile(db: DbDep, actor: Admin, user_id: Id, data: ms.ProfileIn) -> s.UserOut:
    user = ms_svc.set_profile(db, actor, user_id, data)
    return s.UserOut.model_validate(user, from_attributes=True)


# -- JSON API -----------------------------------------------------------------------------


@api.put("/meetings/{meeting_id}/cases/{case_id}", status_code=204)
def api_set_item(
    db: DbDep, actor: CareTeam, meeting_id: Id, case_id: Id, data: ms.ItemIn
) -> Response:
    ms_svc.set_item(db, actor, meeting_id, case_id, data)
    return Response(status_code=204)


@api.delete("/meetings/{meeting_id}/cases/{case_id}", status_code=204)
def api_remove_item(db: DbDep, actor: Coordinator, meeting_id: Id, case_id: Id) -> Response:
    ms_svc.remove_item(db, actor, meeting_id, case_id)
    return Response(status_code=204)


@api.put("/meetings/{meeting_id}/agenda", response_model=s.MeetingOut)
def api_reorder(db: DbDep, actor: Coordinator, meeting_id: Id, data: ms.OrderIn) -> s.MeetingOut:
    ms_svc.reorder(db, actor, meeting_id, data.case_ids)
    return svc.get_meeting(db, actor, meeting_id)


@api.put("/meetings/{meeting_id}/attendance", status_code=204)
def api_attendance(
    db: DbDep, actor: Coordinator, meeting_id: Id, data: ms.AttendanceIn
) -> Response:
    ms_svc.set_attendance(db, actor, meeting_id, data.member_ids)
    return Response(status_code=204)


@api.put("/meetings/{meeting_id}/cases/{case_id}/outcome", status_code=204)
def api_outcome(
    db: DbDep, actor: CareTeam, meeting_id: Id, case_id: Id, data: ms.OutcomeIn
) -> Response:
    ms_svc.record_outcome(db, actor, meeting_id, case_id, data)
    return Response(status_code=204)


@api.post("/meetings/{meeting_id}/cases/{case_id}/actions", status_code=201)
def api_action(
    db: DbDep, actor: CareTeam, meeting_id: Id, case_id: Id, data: ms.ActionIn
) -> dict[str, Any]:
    row = ms_svc.add_action(db, actor, meeting_id, case_id, data)
    return {"id": row.id, "what": row.what, "owner": row.owner, "due_on": row.due_on}


@api.get("/members")
def api_members(db: DbDep, actor: ListAdmin) -> list[dict[str, Any]]:
    svc.audit(db, actor, "list", "mdt_member", None)
    db.commit()
    return [
        {"id": m.id, "name": m.name, "role": m.role, "active": m.active}
        for m in ms_svc.list_members(db)
    ]


@api.post("/members", status_code=201)
def api_add_member(db: DbDep, actor: ListAdmin, data: ms.MemberIn) -> dict[str, Any]:
    row = ms_svc.add_member(db, actor, data)
    return {"id": row.id, "name": row.name, "role": row.role, "active": row.active}
