"""The MDT's web pages: server-rendered (Jinja2, autoescaped), plain forms, no JavaScript
needed. Every page checks the role; every form carries a CSRF token."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from netmdt.api.deps import (
    Admin,
    AnyUser,
    Auditor,
    CareTeam,
    Clinician,
    Coordinator,
    DbDep,
    Id,
    MaybeActor,
    QueryId,
    StateDep,
    VersionNo,
)
from netmdt.api.routes import add_user, user_input, users
from netmdt.api.security import Busy, Throttled, check_login, new_csrf_token
from netmdt.errors import ConflictError, Problem, RecordValidationError
from netmdt.kb import KnowledgeBase
from netmdt.meeting.investigations import (
    OFFERED_OPEN,
    fact_words,
    free_text_count,
    from_form,
    investigation_lines,
    requested_fields,
)
from netmdt.narrative import (
    NARRATIVE_FIELDS,
    Narrative,
    check_narrative,
    get_narrative,
    narrative_from_form,
    save_narrative,
)
from netmdt.nhs import nhs_number_valid, normalise_nhs_number
from netmdt.store import accounts
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.store.schemas import MAX_ID
from netmdt.vocabulary import field_label, unit
from netmdt.web.caseview import blocking_facts, mdt_view
from netmdt.web.common import (
    Form,
    model_of,
    redirect,
    render,
)
from netmdt.web.forms import (
    SECTION_KEYS,
    SECTION_NAMES,
    TREATMENT_ROWS_SPARE,
    facts_from_form,
    form_sections,
    outcomes,
    regimens,
    therapies,
    treatment_rows,
    values_from_facts,
    values_from_form,
)

router = APIRouter()
QueryIdOptional = Annotated[int | None, Query(ge=1, le=MAX_ID, description="A record id")]


# -- log in and out ---------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, actor: MaybeActor, next: str = "/") -> Response:
    return render(request, "login.html", actor, next=_local(next), error=None)


@router.post("/login")
async def login(request: Request, state: StateDep, form: Form) -> Response:
    """Async: the password is checked on the bounded login pool (never on the threads
    every other request runs on); a full pool is 503 and a throttled client 429, at once."""
    name = str(form.get("name", "")).strip()  # a user name has no spaces; a password is as typed
    target = _local(str(form.get("next", "/")))
    try:
        user = await check_login(
            state.sessions,
            state.settings,
            state.checks,
            name,
            str(form.get("password", "")),
            client_address(request),
        )
    except (Throttled, Busy) as error:
        status = 429 if isinstance(error, Throttled) else 503
        page = render(request, "login.html", None, status, next=target, error=str(error))
        page.headers["Retry-After"] = str(error.retry_after)
        return page
    if user is None:
        return render(
            request, "login.html", None, 401, next=target, error="Wrong user name or password."
        )
    start_session(request, user.id, user.session_epoch)
    return redirect(target)


def start_session(request: Request, uid: int, epoch: int) -> None:
    """A new session (cleared and re-issued: no fixation) under the user's epoch."""
    request.session.clear()
    request.session.update(uid=uid, epoch=epoch, csrf=new_csrf_token(), since=time.time())


def client_address(request: Request) -> str:
    """The client's address, as the server saw it (behind a reverse proxy, run uvicorn
    with --proxy-headers and --forwarded-allow-ips so that this is the real client's)."""
    return request.client.host if request.client else "unknown"


def _local(target: str) -> str:
    """Only redirect within this site after logging in."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/logout")
def logout(request: Request, db: DbDep, actor: MaybeActor, form: Form) -> Response:
    """Ends the session on the server too: the user's session epoch moves on, so a copy
    of the cookie (and the user's other sessions) no longer work."""
    uid = request.session.get("uid")
    if actor and isinstance(uid, int) and not request.headers.get("authorization"):
        accounts.end_sessions(db, uid)
        svc.audit(db, actor, "logout", "user", uid)
        db.commit()
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(actor: MaybeActor) -> Response:
    if actor is None:
        return redirect("/login")
    if actor.roles & {"coordinator", "clinician"}:
        return redirect("/meetings")
    return redirect("/audit" if "auditor" in actor.roles else "/admin/users")


# -- meetings: netmdt.meeting.web (the agenda, attendance, outcomes, minutes, letters) ---


def _int(value: Any, where: str) -> int:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise RecordValidationError([Problem(where, f"must be a whole number, 1 to {MAX_ID}")])
    return int(text)


# -- patients ---------------------------------------------------------------------------


@router.get("/patients")
def patients(request: Request, db: DbDep, actor: CareTeam, q: str | None = None) -> Response:
    found = svc.list_patients(db, actor, q)
    return render(request, "patients.html", actor, patients=found, q=q or "")


@router.get("/patients/new")
def new_patient(request: Request, actor: Coordinator, nhs_number: str = "") -> Response:
    """The registration form; ``nhs_number`` fills in the number (from a CDS Hooks card's
    link, via ``/patients/find``)."""
    values = {"nhs_number": nhs_number[:20]} if nhs_number else {}
    return render(request, "patient_new.html", actor, values=values, problems={})


@router.post("/patients")
def create_patient(request: Request, db: DbDep, actor: Coordinator, form: Form) -> Response:
    values = {
        k: str(form.get(k, "")) for k in ("name", "date_of_birth", "nhs_number", "hospital_number")
    }
    try:
        data = model_of(s.PatientIn, {k: v or None for k, v in values.items()})
        patient = svc.create_patient(db, actor, data)
    except RecordValidationError as error:
        return render(
            request,
            "patient_new.html",
            actor,
            422,
            values=values,
            problems=_by_field(error.problems),
        )
    except ConflictError as error:
        svc.audit(db, actor, "conflict", "request", None, method="POST", route="/patients")
        db.commit()
        problems = {"nhs_number": [str(error).removeprefix("nhs_number: ")]}
        return render(request, "patient_new.html", actor, 409, values=values, problems=problems)
    return redirect(f"/patients/{patient.id}")


def _by_field(problems: list[Problem]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for p in problems:
        grouped.setdefault(p.where.removeprefix("facts."), []).append(p.message)
    return grouped


@router.get("/patients/find")
def find_patient(
    request: Request, db: DbDep, actor: CareTeam, nhs_number: str = "", fhir_id: str = ""
) -> Response:
    """Where links from the EHR (CDS Hooks cards) land: by NHS number. A patient netmdt does
    not know yet gets a page that says so and, for the MDT coordinator, offers registration
    with the NHS number filled in; a record known only by its EHR (FHIR) id cannot be
    matched, and the page says how to find or register the patient (404 either way)."""
    number = normalise_nhs_number(nhs_number)[:20]
    if number:
        found = svc.find_patient(db, actor, nhs_number=number)
        if found is not None:
            return redirect(f"/patients/{found.id}")
    return render(
        request,
        "patient_not_registered.html",
        actor,
        404,
        nhs_number=number if nhs_number_valid(number) else "",
        invalid=bool(number) and not nhs_number_valid(number),
        from_ehr=bool(fhir_id) and not number,
        can_register="coordinator" in actor.roles,
    )


@router.get("/patients/{patient_id}")
def patient(request: Request, db: DbDep, actor: CareTeam, patient_id: Id) -> Response:
    info = svc.get_patient(db, actor, patient_id)
    cases = svc.patient_cases(db, actor, patient_id)
    return render(request, "patient.html", actor, patient=info, cases=cases)


# -- cases ------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/cases/new")
def new_case(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: Coordinator,
    patient_id: Id,
    from_case: QueryIdOptional = None,
) -> Response:
    """The new-case form: the health system from the centre's settings; ``from_case``
    pre-fills the facts (and the narrative) from the current version of another case of
    the same patient."""
    info = svc.get_patient(db, actor, patient_id)
    values: dict[str, Any] = {"context.health_system": state.settings.default_health_system}
    if from_case is not None:
        source = svc.get_case(db, actor, from_case)
        if source.patient_id != patient_id:
            raise RecordValidationError(
                [Problem("from_case", "must be a case of the same patient")]
            )
        values = values_from_facts(source.facts)
        values.update(_narrative_values(get_narrative(db, actor, from_case)))
    cases = svc.patient_cases(db, actor, patient_id)
    return _case_form(
        request, state, actor, patient=info, case=None, values=values, problems={}, others=cases
    )


@router.post("/patients/{patient_id}/cases/new/fhir")
def new_case_from_fhir(
    request: Request, db: DbDep, state: StateDep, actor: Coordinator, patient_id: Id, form: Form
) -> Response:
    """The new-case form pre-filled from a pasted FHIR R4 Bundle (``bundle``), with what
    was filled and what was not understood. Nothing is stored: the coordinator saves."""
    info = svc.get_patient(db, actor, patient_id)
    cases = svc.patient_cases(db, actor, patient_id)
    default: dict[str, Any] = {"context.health_system": state.settings.default_health_system}
    return _fhir_prefill(request, db, state, actor, form, info, None, default, cases)


@router.post("/cases/{case_id}/edit/fhir")
def edit_case_from_fhir(
    request: Request, db: DbDep, state: StateDep, actor: Coordinator, case_id: Id, form: Form
) -> Response:
    """The edit form of a case pre-filled from a pasted FHIR R4 Bundle: the current
    version's values with the fields the Bundle fills replaced, and which of them it
    changes. Nothing is stored: saving makes the new version."""
    case, assessment, _ = svc.current_assessment(db, actor, state.kb, case_id)
    info = svc.get_patient(db, actor, case.patient_id)
    values = values_from_facts(case.facts)
    values.update(_narrative_values(get_narrative(db, actor, case_id)))
    return _fhir_prefill(
        request, db, state, actor, form, info, case, values, None, blocking_facts(assessment)
    )


def _fhir_prefill(
    request: Request,
    db: Any,
    state: Any,
    actor: svc.Actor,
    form: FormData,
    info: s.PatientOut,
    case: s.CaseOut | None,
    current: dict[str, Any],
    others: list[s.CaseOut] | None,
    blocking: list[Any] | None = None,
) -> Response:
    """The case form (new: ``case`` None; edit) pre-filled from the pasted Bundle, after
    the identity check (``netmdt.fhir.prefill``); audited with counts or the refusal's
    reason code only."""
    from netmdt.fhir.prefill import (
        Identity,
        IdentityUnconfirmed,
        PrefillError,
        merge_into,
        prefill,
    )

    text = str(form.get("bundle", ""))
    labels = _form_labels(state.kb)
    detail: dict[str, Any] = {"patient": info.id} | ({"case": case.id} if case else {})
    try:
        made = prefill(
            text,
            labels=labels,
            values_of=values_from_facts,
            identity=Identity(info.name, info.date_of_birth, info.nhs_number, info.hospital_number),
            health_system=state.settings.default_health_system,
            today=date.today(),
            acknowledged=form.get("identity_checked") == "yes",
        )
    except PrefillError as error:
        svc.audit(
            db, actor, "import", "fhir_bundle", None, **detail, refused=True, reason=error.reason
        )
        db.commit()
        mismatches = error.mismatches if isinstance(error, IdentityUnconfirmed) else None
        return _case_form(
            request,
            state,
            actor,
            patient=info,
            case=case,
            values=current,
            problems={"bundle": [str(error)]},
            status=422,
            others=others,
            blocking=blocking,
            identity_mismatches=mismatches,
            bundle_text=text if mismatches else "",
        )
    svc.audit(db, actor, "import", "fhir_bundle", None, **detail, **made.counts)
    db.commit()
    return _case_form(
        request,
        state,
        actor,
        patient=info,
        case=case,
        values=merge_into(current, made, labels) if case else made.values,
        problems={},
        others=others,
        blocking=blocking,
        prefilled=made,
    )


def _form_labels(kb: KnowledgeBase) -> dict[str, str]:
    """Each form field's label (errors name the field as the form does, never by path)."""
    labels = {"": "Case", "title": "Case title", "note": "What changed", "bundle": "FHIR bundle"}
    labels.update({f"narrative.{k}": v for k, v in NARRATIVE_FIELDS.items()})
    for _, _, fields in form_sections(kb):
        labels.update({f.path: f.label for f in fields})
    return labels


def _narrative_values(narrative: Narrative) -> dict[str, Any]:
    return {f"narrative.{k}": getattr(narrative, k) for k in NARRATIVE_FIELDS}


def _case_form(
    request: Request,
    state: Any,
    actor: svc.Actor,
    *,
    patient: s.PatientOut,
    case: s.CaseOut | None,
    values: dict[str, Any],
    problems: dict[str, list[str]],
    status: int = 200,
    title: str = "",
    others: list[s.CaseOut] | None = None,
    blocking: list[Any] | None = None,
    saved: str = "",
    prefilled: Any = None,
    identity_mismatches: list[str] | None = None,
    bundle_text: str = "",
) -> Response:
    rows = len(values.get("history.prior_treatments", []) or []) + TREATMENT_ROWS_SPARE
    rows = min(max(rows, treatment_rows(values.get("history.prior_treatments.rows"))), 200)
    return render(
        request,
        "case_form.html",
        actor,
        status,
        patient=patient,
        case=case,
        title=title or (case.title if case else ""),
        sections=form_sections(state.kb),
        values=values,
        problems=problems,
        therapies=therapies(),
        outcomes=outcomes(),
        regimens=regimens(),
        treatment_rows=rows,
        narrative_fields=NARRATIVE_FIELDS,
        field_labels=_form_labels(state.kb),
        section_names=SECTION_NAMES,
        option_names={o.id: o.name for o in state.kb.options.values()},
        units={f.path: unit(f.path) for _, _, fs in form_sections(state.kb) for f in fs},
        others=[c for c in others or [] if case is None or c.id != case.id],
        blocking=blocking,
        saved=saved,
        prefilled=prefilled,
        bundle_label="FHIR R4 Bundle (JSON)",
        identity_mismatches=identity_mismatches,
        bundle_text=bundle_text,
    )


def _form_again(
    request: Request,
    state: Any,
    actor: svc.Actor,
    patient: s.PatientOut,
    case: s.CaseOut | None,
    form: FormData,
) -> Callable[..., Response]:
    """The case form shown again with what the user typed and what was wrong with it."""

    def show(problems: dict[str, list[str]], status: int, title: str = "") -> Response:
        return _case_form(
            request,
            state,
            actor,
            patient=patient,
            case=case,
            values=values_from_form(form),
            problems=problems,
            status=status,
            title=title,
        )

    return show


@router.post("/patients/{patient_id}/cases")
def create_case(
    request: Request, db: DbDep, state: StateDep, actor: Coordinator, patient_id: Id, form: Form
) -> Response:
    info = svc.get_patient(db, actor, patient_id)
    facts, problems = facts_from_form(form, form_sections(state.kb))
    title = str(form.get("title", "")).strip()
    narrative = narrative_from_form(form)
    try:
        problems += check_narrative(narrative)
        if problems:
            raise RecordValidationError(problems)
        case = svc.create_case(
            db,
            actor,
            state.kb,
            patient_id,
            model_of(s.CaseCreate, {"title": title, "facts": facts}),
        )
    except RecordValidationError as error:
        again = _form_again(request, state, actor, info, None, form)
        return again(_by_field(error.problems), 422, title)
    save_narrative(db, actor, case.id, narrative)
    return redirect(_after_save(case.id, str(form.get("section", ""))))


def _after_save(case_id: int, section: str) -> str:
    """A section's save button: back to the form at the next section (with what is still
    unknown); the final button (no section): the case page."""
    keys = list(SECTION_KEYS)
    if section not in keys:
        return f"/cases/{case_id}"
    following = keys[keys.index(section) + 1 :]
    anchor = f"#section-{following[0]}" if following else "#section-end"
    return f"/cases/{case_id}/edit?saved={section}{anchor}"


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    case_id: Id,
    version: VersionNo | None = None,
    present: bool = False,
    prev: str = "",
    next: str = "",
) -> Response:
    """The MDT view of a case. ``present=1``: presentation mode (large type for the
    projector); ``prev`` and ``next`` are the local addresses of the previous and next
    case in the meeting (keys: left and right arrow, p and n)."""
    case, assessment, _ = svc.current_assessment(db, actor, state.kb, case_id, version)
    info = svc.get_patient(db, actor, case.patient_id)
    narrative = get_narrative(db, actor, case_id)
    decisions = svc.case_decisions(db, actor, case_id)
    meetings = [m for m in svc.list_meetings(db, actor) if case_id in m.case_ids]
    from netmdt.governance.service import approved_options
    from netmdt.meeting.service import latest_question, user_label
    from netmdt.survey.web import case_flags

    # the question: the case's own, else the one its latest agenda item records
    question = narrative.question or latest_question(db, case_id)
    view = mdt_view(assessment, state.kb, info, case.facts, question)
    return render(
        request,
        "case.html",
        actor,
        approved=approved_options(assessment),
        case=case,
        patient=info,
        a=assessment,
        view=view,
        src_no={src.id: i for i, src in enumerate(assessment.knowledge_base.sources, 1)},
        narrative=narrative,
        question=question,
        decisions=decisions,
        decided_by={d.created_by: user_label(db, d.created_by) for d in decisions},
        asked_for={d.id: investigation_lines(state.kb, d.investigations) for d in decisions},
        meetings=meetings,
        kb=state.kb,
        latest=version is None,
        survey_flags=case_flags(db, case.patient_id),
        present=present,
        prev=prev if prev and _local(prev) == prev else "",
        next=next if next and _local(next) == next else "",
    )


@router.get("/cases/{case_id}/edit")
def edit_case(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: Coordinator,
    case_id: Id,
    saved: str = "",
) -> Response:
    """The case form with the current version's facts, and the unknown facts that still
    block a decision (from the current version's assessment)."""
    case, assessment, _ = svc.current_assessment(db, actor, state.kb, case_id)
    info = svc.get_patient(db, actor, case.patient_id)
    values = values_from_facts(case.facts)
    values.update(_narrative_values(get_narrative(db, actor, case_id)))
    return _case_form(
        request,
        state,
        actor,
        patient=info,
        case=case,
        values=values,
        problems={},
        blocking=blocking_facts(assessment),
        saved=dict(SECTION_NAMES).get(saved, ""),
    )


@router.post("/cases/{case_id}/edit")
def save_case(
    request: Request, db: DbDep, state: StateDep, actor: Coordinator, case_id: Id, form: Form
) -> Response:
    case = svc.get_case(db, actor, case_id)
    info = svc.get_patient(db, actor, case.patient_id)
    facts, problems = facts_from_form(form, form_sections(state.kb))
    base = _int(form.get("base_version"), "base_version")
    note = str(form.get("note", "")).strip() or None
    narrative = narrative_from_form(form)
    try:
        problems += check_narrative(narrative)
        if problems:
            raise RecordValidationError(problems)
        svc.update_case(
            db,
            actor,
            state.kb,
            case_id,
            model_of(s.CaseUpdate, {"base_version": base, "facts": facts, "note": note}),
        )
    except RecordValidationError as error:
        return _form_again(request, state, actor, info, case, form)(_by_field(error.problems), 422)
    except ConflictError as error:
        svc.audit(
            db,
            actor,
            "conflict",
            "request",
            None,
            method="POST",
            route="/cases/{case_id}/edit",
            case_id=str(case_id),
        )
        db.commit()
        return _form_again(request, state, actor, info, case, form)({"": [str(error)]}, 409)
    save_narrative(db, actor, case_id, narrative)
    return redirect(_after_save(case_id, str(form.get("section", ""))))


@router.get("/cases/{case_id}/history")
def history(request: Request, db: DbDep, state: StateDep, actor: CareTeam, case_id: Id) -> Response:
    case = svc.get_case(db, actor, case_id)
    versions = svc.case_versions(db, actor, case_id)
    changes = {
        v.version: svc.diff_facts(versions[i - 1].facts if i else {}, v.facts)
        for i, v in enumerate(versions)
    }
    return render(
        request,
        "history.html",
        actor,
        labels=lambda path: field_label(state.kb, path),
        kb=state.kb,
        case=case,
        versions=list(reversed(versions)),
        changes=changes,
    )


# -- decisions --------------------------------------------------------------------------


@router.get("/cases/{case_id}/decision")
def decision_form(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: Clinician,
    case_id: Id,
    meeting: QueryId,
    back: str = "",
) -> Response:
    """The decision form. ``back=meeting``: opened from the meeting's page of the case,
    and recording the decision returns there (else to the case page)."""
    return _decision_page(
        request, db, state, actor, case_id, meeting, values={}, problems={}, back=back
    )


def _decision_return(case_id: int, meeting_id: int, back: str) -> str:
    """Where recording a decision (or leaving the form) goes: the meeting's page of the
    case when the form was opened from there, else the case page."""
    if back == "meeting":
        return f"/meetings/{meeting_id}/cases/{case_id}#decision"
    return f"/cases/{case_id}#decisions"


def _decision_page(
    request: Request,
    db: DbDep,
    state: Any,
    actor: svc.Actor,
    case_id: Id,
    meeting_id: Id,
    *,
    values: dict[str, Any],
    problems: dict[str, list[str]],
    status: int = 200,
    back: str = "",
) -> Response:
    case, assessment, _ = svc.current_assessment(db, actor, state.kb, case_id)
    info = svc.get_patient(db, actor, case.patient_id)
    return render(
        request,
        "decision.html",
        actor,
        status,
        case=case,
        patient=info,
        a=assessment,
        meeting=svc.get_meeting(db, actor, meeting_id),
        values=values,
        problems=problems,
        back="meeting" if back == "meeting" else "",
        back_to=_decision_return(case_id, meeting_id, back),
        unknown=[(i.field, fact_words(state.kb, i.field)) for i in assessment.next_investigations],
        offered_open=OFFERED_OPEN,
        inv_problems=[
            m for k, ms in problems.items() if k.startswith("investigations") for m in ms
        ],
    )


@router.post("/cases/{case_id}/decision")
def record_decision(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: Clinician,
    case_id: Id,
    meeting: QueryId,
    form: Form,
    back: str = "",
) -> Response:
    values = {
        "chosen": [str(v) for v in form.getlist("chosen")],
        "rationale": str(form.get("rationale", "")),
        "deviation_reason": str(form.get("deviation_reason", "")) or None,
        "deviation_text": str(form.get("deviation_text", "")) or None,
        "case_version": _int(form.get("case_version"), "case_version"),
        "trial_ref": str(form.get("trial_ref", "")) or None,
    }
    ticked = [str(v) for v in form.getlist("investigation")]
    other = str(form.get("investigation_other", ""))
    try:
        data = model_of(s.DecisionIn, {**values, "investigations": from_form(ticked, other)})
        svc.record_decision(db, actor, state.kb, meeting, case_id, data)
    except RecordValidationError as error:
        return _decision_page(
            request,
            db,
            state,
            actor,
            case_id,
            meeting,
            values={**values, "investigation": ticked, "investigation_other": other},
            problems=_by_field(error.problems),
            status=422,
            back=back,
        )
    return redirect(_decision_return(case_id, meeting, back))


# -- the patient summary ----------------------------------------------------------------


def _summary(db: DbDep, state: Any, actor: svc.Actor, case_id: Id) -> Any:
    from netmdt.summary import DecisionInfo, PatientIdentifiers, build_summary

    case, assessment, _ = svc.current_assessment(db, actor, state.kb, case_id)
    info = svc.get_patient(db, actor, case.patient_id)
    decisions = svc.case_decisions(db, actor, case_id)
    decision = None
    if decisions:
        last = decisions[-1]
        when = svc.get_meeting(db, actor, last.meeting_id).date
        decision = DecisionInfo(
            meeting_date=when,
            chosen=last.chosen,
            rationale=last.rationale,
            investigations=requested_fields(last.investigations),
            other_investigations=free_text_count(last.investigations),
        )
    svc.audit(db, actor, "export", "summary", case_id)
    db.commit()
    identifiers = PatientIdentifiers(
        name=info.name,
        nhs_number=info.nhs_number,
        date_of_birth=info.date_of_birth,
        hospital_number=info.hospital_number,
    )
    summary = build_summary(
        assessment,
        state.kb,
        decision=decision,
        identifiers=identifiers,
        centre=state.settings.centre_name,
        contact=state.settings.centre_contact,
    )
    from netmdt.survey.web import case_flags

    return summary.model_copy(
        update={"from_survey": [f.for_patient for f in case_flags(db, case.patient_id)]}
    )


@router.get("/cases/{case_id}/summary")
def summary_page(db: DbDep, state: StateDep, actor: CareTeam, case_id: Id) -> Response:
    from netmdt.summary import summary_html

    return HTMLResponse(summary_html(_summary(db, state, actor, case_id)))


@router.get("/cases/{case_id}/summary.pdf")
def summary_pdf(db: DbDep, state: StateDep, actor: CareTeam, case_id: Id) -> Response:
    from netmdt.summary import summary_pdf as pdf

    return Response(
        pdf(_summary(db, state, actor, case_id)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="netmdt-summary-case-{case_id}.pdf"'},
    )


# -- audit, reports, users --------------------------------------------------------------


AUDIT_PAGE = 100
AUDIT_FILTERS = ("record_type", "record_id", "who", "action", "since", "until")


def _audit_filters(request: Request) -> dict[str, Any]:
    """The audit page's filters from its query (dates checked: 422 naming the field)."""
    raw = {k: request.query_params.get(k, "").strip()[:80] for k in AUDIT_FILTERS}
    out: dict[str, Any] = {k: v or None for k, v in raw.items()}
    for key in ("since", "until"):
        if raw[key]:
            try:
                out[key] = date.fromisoformat(raw[key])
            except ValueError as error:
                problem = Problem(key, "must be a date (YYYY-MM-DD)", "invalid_date")
                raise RecordValidationError([problem]) from error
    return out


@router.get("/audit")
def audit_page(request: Request, db: DbDep, actor: Auditor, page: int = 1) -> Response:
    """The audit log, newest first: filters (whole values, ignoring case), a date range,
    100 events a page, and the same selection as CSV."""
    filters = _audit_filters(request)
    page = min(max(page, 1), 1_000_000)
    total = svc.audit_count(db, **filters)
    events = svc.audit_log(db, actor, limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE, **filters)
    query = {k: request.query_params.get(k, "") for k in AUDIT_FILTERS}
    return render(
        request,
        "audit.html",
        actor,
        events=events,
        filters=query,
        query=urlencode({k: v for k, v in query.items() if v}),
        page=page,
        pages=max(1, -(-total // AUDIT_PAGE)),
        total=total,
    )


@router.get("/audit.csv")
def audit_csv(request: Request, db: DbDep, actor: Auditor) -> Response:
    """Every event the filters select (at most 100,000), as CSV; the export is audited."""
    events = svc.audit_log(db, actor, limit=100_000, purpose="export", **_audit_filters(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at_utc", "actor", "action", "record_type", "record_id", "detail"])
    for e in events:
        writer.writerow(
            [
                e.id,
                e.at.isoformat(),
                e.actor,
                e.action,
                e.record_type,
                e.record_id or "",
                json.dumps(e.detail, sort_keys=True),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="netmdt-audit.csv"'},
    )


@router.get("/reports/concordance")
def concordance_page(
    request: Request,
    db: DbDep,
    state: StateDep,
    actor: Auditor,
    since: str = "",
    until: str = "",
    meeting: str = "",
    clinician: str = "",
) -> Response:
    """The concordance report, filtered by meeting dates, one meeting or one clinician,
    with links to the deviating cases."""
    values = {"since": since, "until": until, "meeting": meeting, "clinician": clinician[:80]}
    dates: dict[str, date | None] = {}
    for key in ("since", "until"):
        try:
            dates[key] = date.fromisoformat(values[key]) if values[key] else None
        except ValueError as error:
            problem = Problem(key, "must be a date (YYYY-MM-DD)", "invalid_date")
            raise RecordValidationError([problem]) from error
    report = svc.concordance(
        db,
        actor,
        since=dates["since"],
        until=dates["until"],
        meeting_id=_int(meeting, "meeting") if meeting else None,
        clinician=values["clinician"] or None,
    )
    names = {o.id: o.name for o in state.kb.options.values()}
    trials = {t.id: t.card.acronym for t in state.kb.trials.values()}
    return render(
        request,
        "concordance.html",
        actor,
        report=report,
        names=names,
        trials=trials,
        filters=values,
    )


@router.get("/admin/users")
def users_page(request: Request, db: DbDep, actor: Admin) -> Response:
    return render(
        request, "users.html", actor, users=users(db), roles=s.ROLES, problems={}, created=None
    )


@router.post("/admin/users")
def create_user(request: Request, db: DbDep, actor: Admin, form: Form) -> Response:
    try:
        data = user_input(
            str(form.get("name", "")),
            [str(r) for r in form.getlist("roles")],
            str(form.get("password", "")),
        )
        user = add_user(db, actor.name, data)
    except (RecordValidationError, ConflictError) as error:
        problems = (
            _by_field(error.problems)
            if isinstance(error, RecordValidationError)
            else {"name": [str(error).removeprefix("name: ")]}
        )
        return render(
            request,
            "users.html",
            actor,
            422,
            users=users(db),
            roles=s.ROLES,
            problems=problems,
            created=None,
        )
    return render(
        request,
        "users.html",
        actor,
        201,
        users=users(db),
        roles=s.ROLES,
        problems={},
        created=user.name,
    )


def _user_page(
    request: Request,
    db: DbDep,
    actor: svc.Actor,
    user_id: int,
    status: int = 200,
    done: str | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    user = accounts.user_by_id(db, user_id)
    tokens = accounts.list_tokens(db, actor, user.name)
    return render(
        request,
        "user.html",
        actor,
        status,
        user=user,
        tokens=tokens,
        done=done,
        problems=problems or {},
    )


@router.get("/admin/users/{user_id}")
def user_page(request: Request, db: DbDep, actor: Admin, user_id: Id) -> Response:
    return _user_page(request, db, actor, user_id)


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(
    request: Request, db: DbDep, state: StateDep, actor: Admin, user_id: Id, form: Form
) -> Response:
    try:
        accounts.deactivate_user(db, actor, accounts.user_by_id(db, user_id))
    except RecordValidationError as error:
        return _user_page(request, db, actor, user_id, 422, problems=_by_field(error.problems))
    state.tokens.clear()
    done = "Deactivated: sessions ended and API tokens revoked."
    return _user_page(request, db, actor, user_id, done=done)


@router.post("/admin/users/{user_id}/activate")
def activate_user(request: Request, db: DbDep, actor: Admin, user_id: Id, form: Form) -> Response:
    accounts.activate_user(db, actor, accounts.user_by_id(db, user_id))
    return _user_page(request, db, actor, user_id, done="Reactivated.")


@router.post("/admin/users/{user_id}/password")
def set_user_password(
    request: Request, db: DbDep, state: StateDep, actor: Admin, user_id: Id, form: Form
) -> Response:
    try:
        accounts.set_password(
            db, actor, accounts.user_by_id(db, user_id), str(form.get("password", ""))
        )
    except RecordValidationError as error:
        return _user_page(request, db, actor, user_id, 422, problems=_by_field(error.problems))
    state.tokens.clear()
    return _user_page(request, db, actor, user_id, done="Password set; their sessions ended.")


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(db: DbDep, state: StateDep, actor: Admin, token_id: Id, form: Form) -> Response:
    token = accounts.revoke_token(db, actor, token_id)
    state.tokens.clear()
    return redirect(f"/admin/users/{accounts.user_named(db, token.user).id}")


@router.get("/account/password")
def password_page(request: Request, actor: AnyUser) -> Response:
    return render(request, "account_password.html", actor, problems={}, done=False)


@router.post("/account/password")
async def change_password(
    request: Request, state: StateDep, actor: AnyUser, form: Form
) -> Response:
    """Change one's own password: the current one is checked like a login (throttled, on
    the bounded pool); every other session ends, this one is re-issued."""
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        raise HTTPException(401, "log in first (with the login form: not with a token)")

    def page(status: int, problems: dict[str, list[str]], done: bool = False) -> Response:
        return render(request, "account_password.html", actor, status, problems=problems, done=done)

    try:
        user = await check_login(
            state.sessions,
            state.settings,
            state.checks,
            actor.name,
            str(form.get("current", "")),
            client_address(request),
        )
    except (Throttled, Busy) as error:
        status = 429 if isinstance(error, Throttled) else 503
        response = page(status, {"current": [str(error)]})
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if user is None:
        return page(422, {"current": ["wrong password"]})
    try:
        epoch = await run_in_threadpool(
            _set_own_password, state, actor, user.id, str(form.get("password", ""))
        )
    except RecordValidationError as error:
        return page(422, _by_field(error.problems))
    start_session(request, user.id, epoch)
    return page(200, {}, done=True)


def _set_own_password(state: Any, actor: svc.Actor, user_id: int, password: str) -> int:
    with state.sessions() as db:
        return accounts.set_password(db, actor, accounts.user_by_id(db, user_id), password)
