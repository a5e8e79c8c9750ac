"""The registry's JSON API (``/api/registry/...``) and web pages (``/registry/...``).

Roles (docs/registry.md): a clinician enrols and enters cycles, bloods, adverse events,
scans and follow-up, and sees the overdue list; an auditor reads records and the report
and exports; an administrator sets the centre's registry status. Every read and write is
audited by the service it calls."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from netmdt.api.deps import Admin, Clinician, DbDep, Id, require
from netmdt.errors import Problem, RecordValidationError
from netmdt.registry import schemas as rs
from netmdt.registry import service as reg
from netmdt.registry.report import report_data, report_html, report_pdf
from netmdt.registry.status import STATUSES, current_status, history, set_status
from netmdt.store.services import Actor, audit
from netmdt.web.common import Form, add_templates, model_of, redirect, render

add_templates(Path(__file__).parent / "templates")
Reader = Annotated[Actor, Depends(require("clinician", "auditor"))]
Auditor = Annotated[Actor, Depends(require("auditor"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in and no valid Bearer token"},
    403: {"description": "The user's role does not allow this"},
    404: {"description": "No such record"},
    409: {"description": "Refused: the reason says why (e.g. the decision's funding route)"},
    422: {"description": "Invalid input: every problem, located"},
}

api = APIRouter(prefix="/api/registry", tags=["registry"], responses=ERRORS)
web = APIRouter(include_in_schema=False)


# -- API --------------------------------------------------------------------------------


@api.get("/status")
def get_status(db: DbDep, actor: Reader) -> dict[str, Any]:
    """The centre's PRRT registry status (None: never set; the knowledge base's on_hold)."""
    audit(db, actor, "read", "registry_status")
    db.commit()
    return {"status": current_status(db)}


@api.put("/status")
def put_status(db: DbDep, actor: Admin, data: rs.StatusIn) -> dict[str, Any]:
    """Set the centre's registry status (audited); the funding notes follow it."""
    return {"status": set_status(db, actor, data.status)}


@api.post("/enrolments", status_code=201, response_model=rs.EnrolmentOut)
def enrol(db: DbDep, actor: Clinician, data: rs.EnrolIn) -> rs.EnrolmentOut:
    """Enrol from an MDT decision that chose PRRT through the audit registry (else 409)."""
    return reg.enrol(db, actor, data)


@api.get("/enrolments", response_model=list[rs.RecordOut])
def list_enrolments(db: DbDep, actor: Reader) -> list[rs.RecordOut]:
    return reg.list_enrolments(db, actor)


@api.get("/enrolments/{enrolment_id}", response_model=rs.RecordOut)
def get_enrolment(db: DbDep, actor: Reader, enrolment_id: Id) -> rs.RecordOut:
    return reg.get_enrolment(db, actor, enrolment_id)


@api.get("/enrolments/{enrolment_id}/assessment")
def frozen(db: DbDep, actor: Reader, enrolment_id: Id) -> Response:
    """The assessment the decision rested on, exactly as frozen at enrolment."""
    return Response(reg.frozen_assessment(db, actor, enrolment_id), media_type="application/json")


@api.post("/enrolments/{enrolment_id}/cycles", status_code=201, response_model=rs.CycleOut)
def add_cycle(db: DbDep, actor: Clinician, enrolment_id: Id, data: rs.CycleIn) -> rs.CycleOut:
    return reg.add_cycle(db, actor, enrolment_id, data)


@api.post("/enrolments/{enrolment_id}/labs", status_code=201, response_model=list[rs.LabOut])
def add_labs(db: DbDep, actor: Clinician, enrolment_id: Id, data: rs.LabsIn) -> list[rs.LabOut]:
    return reg.add_labs(db, actor, enrolment_id, data)


@api.post(
    "/enrolments/{enrolment_id}/adverse-events",
    status_code=201,
    response_model=rs.AdverseEventOut,
)
def add_event(
    db: DbDep, actor: Clinician, enrolment_id: Id, data: rs.AdverseEventIn
) -> rs.AdverseEventOut:
    return reg.add_adverse_event(db, actor, enrolment_id, data)


@api.post("/enrolments/{enrolment_id}/scans", status_code=201, response_model=rs.ScanOut)
def add_scan(db: DbDep, actor: Clinician, enrolment_id: Id, data: rs.ScanIn) -> rs.ScanOut:
    return reg.add_scan(db, actor, enrolment_id, data)


@api.post("/enrolments/{enrolment_id}/proms", status_code=201, response_model=list[rs.PromOut])
def add_proms(db: DbDep, actor: Clinician, enrolment_id: Id, data: rs.PromIn) -> list[rs.PromOut]:
    """PROM scale scores (0-100) with the licence reference; never questionnaire items."""
    return reg.add_proms(db, actor, enrolment_id, data)


@api.patch("/enrolments/{enrolment_id}/follow-up", response_model=rs.EnrolmentOut)
def follow_up(
    db: DbDep, actor: Clinician, enrolment_id: Id, data: rs.FollowUpIn
) -> rs.EnrolmentOut:
    return reg.update_follow_up(db, actor, enrolment_id, data)


@api.get("/overdue")
def overdue(db: DbDep, actor: Reader) -> list[dict[str, Any]]:
    return reg.overdue(db, actor)


@api.get("/report.pdf")
def report_pdf_api(db: DbDep, actor: Auditor) -> Response:
    return _pdf(db, actor)


# -- web pages --------------------------------------------------------------------------


def _pdf(db: DbDep, actor: Actor) -> Response:
    data = report_data(db, actor, date.today())
    return Response(
        report_pdf(data),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="prrt-registry-report.pdf"'},
    )


@web.get("/registry")
def registry_page(request: Request, db: DbDep, actor: Reader) -> Response:
    records = reg.list_enrolments(db, actor)
    late = reg.overdue(db, actor) if "clinician" in actor.roles else []
    return render(
        request,
        "registry_list.html",
        actor,
        records=records,
        overdue=late,
        status=current_status(db),
    )


@web.get("/registry/enrol")
def enrol_page(request: Request, actor: Clinician, decision: int = 0) -> Response:
    values = {
        "decision_id": decision or "",
        "consent_date": "",
        "info_sheet_version": "",
        "enrolled_on": "",
    }
    return render(request, "registry_enrol.html", actor, values=values, problems={})


def _form_values(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: (str(form.get(n, "")).strip() or None) for n in names}


def _problems(error: RecordValidationError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in error.problems:
        out.setdefault(p.where, []).append(p.message)
    return out


@web.post("/registry/enrol")
def enrol_submit(request: Request, db: DbDep, actor: Clinician, form: Form) -> Response:
    values = _form_values(
        form, ("decision_id", "consent_date", "info_sheet_version", "enrolled_on")
    )
    try:
        row = reg.enrol(db, actor, model_of(rs.EnrolIn, values))
    except RecordValidationError as error:
        return render(
            request,
            "registry_enrol.html",
            actor,
            422,
            values=values,
            problems=_problems(error),
        )
    return redirect(f"/registry/{row.id}")


@web.get("/registry/report")
def report_page(db: DbDep, actor: Auditor) -> Response:
    from fastapi.responses import HTMLResponse

    return HTMLResponse(report_html(report_data(db, actor, date.today())))


@web.get("/registry/report.pdf")
def report_pdf_page(db: DbDep, actor: Auditor) -> Response:
    return _pdf(db, actor)


@web.get("/admin/registry")
def status_page(request: Request, db: DbDep, actor: Admin) -> Response:
    audit(db, actor, "read", "registry_status")
    db.commit()
    return render(
        request,
        "registry_status.html",
        actor,
        status=current_status(db),
        statuses=STATUSES,
        changes=history(db),
    )


@web.post("/admin/registry")
def status_submit(db: DbDep, actor: Admin, form: Form) -> Response:
    set_status(db, actor, str(form.get("status", "")))
    return redirect("/admin/registry")


@web.get("/registry/{enrolment_id}")
def record_page(request: Request, db: DbDep, actor: Reader, enrolment_id: Id) -> Response:
    return _record_page(request, db, actor, enrolment_id)


def _record_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    enrolment_id: int,
    problems: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    record = reg.get_enrolment(db, actor, enrolment_id)
    return render(
        request,
        "registry_record.html",
        actor,
        status,
        r=record,
        problems=problems or {},
        today=date.today(),
    )


@web.post("/registry/{enrolment_id}/cycles")
def cycle_submit(
    request: Request, db: DbDep, actor: Clinician, enrolment_id: Id, form: Form
) -> Response:
    values = _form_values(form, ("given_on", "agent", "prescribed_gbq", "administered_gbq"))
    try:
        reg.add_cycle(db, actor, enrolment_id, model_of(rs.CycleIn, values))
    except RecordValidationError as error:
        return _record_page(request, db, actor, enrolment_id, _problems(error), 422)
    return redirect(f"/registry/{enrolment_id}#cycles")


@web.post("/registry/{enrolment_id}/labs")
def labs_submit(
    request: Request, db: DbDep, actor: Clinician, enrolment_id: Id, form: Form
) -> Response:
    results: dict[str, Any] = {}
    for analyte in rs.ANALYTE_BOUNDS:
        value = str(form.get(analyte, "")).strip()
        if value:
            entry = {"value": value}
            for limit in ("lln", "uln"):
                given = str(form.get(f"{analyte}_{limit}", "")).strip()
                if given:
                    entry[limit] = given
            results[analyte] = entry
    values = {
        "taken_on": str(form.get("taken_on", "")).strip() or None,
        "baseline": form.get("baseline") == "yes",
        "results": results,
    }
    try:
        if not results:
            raise RecordValidationError([Problem("results", "enter at least one result")])
        reg.add_labs(db, actor, enrolment_id, model_of(rs.LabsIn, values))
    except RecordValidationError as error:
        return _record_page(request, db, actor, enrolment_id, _problems(error), 422)
    return redirect(f"/registry/{enrolment_id}#labs")


@web.post("/registry/{enrolment_id}/scans")
def scan_submit(
    request: Request, db: DbDep, actor: Clinician, enrolment_id: Id, form: Form
) -> Response:
    lesions = []
    for i in range(rs.MAX_FORM_LESIONS):
        name = str(form.get(f"lesion_{i}", "")).strip()
        if name:
            lesions.append(
                {
                    "lesion": name,
                    "organ": str(form.get(f"organ_{i}", "")).strip(),
                    "nodal": form.get(f"nodal_{i}") == "yes",
                    "mm": str(form.get(f"mm_{i}", "")).strip() or None,
                }
            )
    values = {
        "scanned_on": str(form.get("scanned_on", "")).strip() or None,
        "baseline": form.get("baseline") == "yes",
        "lesions": lesions,
        "new_lesions": form.get("new_lesions") == "yes",
        "non_target": str(form.get("non_target", "none")),
        "sstr_response": str(form.get("sstr_response", "")).strip() or None,
    }
    try:
        reg.add_scan(db, actor, enrolment_id, model_of(rs.ScanIn, values))
    except RecordValidationError as error:
        return _record_page(request, db, actor, enrolment_id, _problems(error), 422)
    return redirect(f"/registry/{enrolment_id}#scans")


@web.post("/registry/{enrolment_id}/adverse-events")
def event_submit(
    request: Request, db: DbDep, actor: Clinician, enrolment_id: Id, form: Form
) -> Response:
    values = _form_values(form, ("term", "grade", "onset", "ctcae_version"))
    values["serious"] = form.get("serious") == "yes"
    try:
        reg.add_adverse_event(db, actor, enrolment_id, model_of(rs.AdverseEventIn, values))
    except RecordValidationError as error:
        return _record_page(request, db, actor, enrolment_id, _problems(error), 422)
    return redirect(f"/registry/{enrolment_id}#events")


@web.post("/registry/{enrolment_id}/follow-up")
def follow_up_submit(
    request: Request, db: DbDep, actor: Clinician, enrolment_id: Id, form: Form
) -> Response:
    names = ("progression_date", "death_date", "death_cause", "last_contact", "stop_reason")
    values = {k: v for k, v in _form_values(form, names).items() if v is not None}
    try:
        reg.update_follow_up(db, actor, enrolment_id, model_of(rs.FollowUpIn, values))
    except RecordValidationError as error:
        return _record_page(request, db, actor, enrolment_id, _problems(error), 422)
    return redirect(f"/registry/{enrolment_id}#follow-up")
