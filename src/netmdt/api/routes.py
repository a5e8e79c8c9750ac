"""The JSON API (``/api``). Thin: each route checks the role, then calls a service."""

from __future__ import annotations

import email.message
import json
from datetime import date
from typing import Annotated, Any, cast, get_args

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from netmdt.api.deps import (
    Admin,
    Auditor,
    CareTeam,
    Clinician,
    Coordinator,
    DbDep,
    Id,
    StateDep,
    VersionNo,
    care_team,
    current_actor,
    state_of,
)
from netmdt.api.security import hash_password
from netmdt.assessment import Assessment, AssessmentSummary, View
from netmdt.case import parse_case
from netmdt.engine.assess import assess, assess_summary, summarize
from netmdt.errors import CaseValidationError, ConflictError, Problem, RecordValidationError
from netmdt.fhir import to_fhir
from netmdt.kb import KnowledgeBase
from netmdt.store import accounts
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.store import tables as t
from netmdt.store.schemas import MAX_ID

router = APIRouter(prefix="/api")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in and no valid Bearer token"},
    403: {"description": "The user's role does not allow this"},
    404: {"description": "No such record"},
    409: {"description": "Stale version or duplicate"},
    422: {"description": "Invalid input: every problem, located"},
}


ViewQuery = Annotated[
    View,
    Query(
        description="full: every reason, missing fact, counterfactual and warning; summary: "
        "verdicts, deciding reasons, missing facts, pending checks and funding pathways "
        "(docs/views.md)"
    ),
]


def assessment_response(
    assessment: Assessment | AssessmentSummary, view: View = "full"
) -> Response:
    """The assessment as JSON, serialised once by pydantic (FastAPI's own response
    validation and encoding would take several times longer than the engine)."""
    if view == "summary":
        summary = assessment if isinstance(assessment, AssessmentSummary) else summarize(assessment)
        return Response(summary.to_json(), media_type="application/json")
    assert isinstance(assessment, Assessment)
    return Response(assessment.model_dump_json(), media_type="application/json")


def assessed(data: Any, view: View, kb: KnowledgeBase) -> Response:
    """The answer of ``POST /api/assess`` to a parsed JSON object."""
    try:
        parsed = parse_case(data)
    except CaseValidationError as error:
        raise RecordValidationError(error.problems) from error
    if view == "summary":
        return assessment_response(assess_summary(parsed, kb), view)
    return assessment_response(assess(parsed, kb))


VIEWS: tuple[str, ...] = get_args(View)
NO_BODY = object()


async def assess_request(request: Request) -> Response:
    """``POST /api/assess`` as it is served: a plain Starlette endpoint doing what FastAPI
    did for ``assess_case`` below, in the same order and with the same errors, without
    its per-request machinery (dependency solving, parameter models, body field
    validation), which cost about as much as the summary view itself. In order: the body
    read and parsed as JSON when its Content-Type says JSON (422 ``json_invalid`` at the
    error's offset, 400 when it cannot be read or parsed otherwise), the caller's role
    (401, 403), then the ``view`` query parameter and the body's being a JSON object,
    reported together. ``tests/test_api_assess_route.py`` holds it equal to the
    FastAPI route over every such case."""
    request.scope["route"] = ASSESS_ROUTE  # its template for the request log, as before
    body = await _json_body(request)
    await care_team(await current_actor(request))
    errors: list[dict[str, Any]] = []
    view = request.query_params.get("view", "full")
    if view not in VIEWS:
        expected = " or ".join(repr(v) for v in VIEWS)
        msg = f"Input should be {expected}"
        ctx = {"expected": expected}
        errors.append(
            {
                "type": "literal_error",
                "loc": ("query", "view"),
                "msg": msg,
                "input": view,
                "ctx": ctx,
            }
        )
    if body is NO_BODY:
        errors.append({"type": "missing", "loc": ("body",), "msg": "Field required", "input": None})
    elif not isinstance(body, dict):
        msg = "Input should be a valid dictionary"
        errors.append({"type": "dict_type", "loc": ("body",), "msg": msg, "input": body})
    if errors:
        raise RequestValidationError(errors)
    return assessed(body, cast(View, view), state_of(request).kb)


async def _json_body(request: Request) -> Any:
    """The body as FastAPI reads a JSON body parameter (strict Content-Type): parsed when
    the Content-Type is ``application/json`` or ``application/*+json``, else the bytes;
    ``NO_BODY`` when empty."""
    try:
        raw = await request.body()
        if not raw:
            return NO_BODY
        kind = request.headers.get("content-type")
        if not kind:
            return raw
        if kind != "application/json":
            message = email.message.Message()
            message["content-type"] = kind
            subtype = message.get_content_subtype()
            if message.get_content_maintype() != "application" or not (
                subtype == "json" or subtype.endswith("+json")
            ):
                return raw
        return json.loads(raw)
    except json.JSONDecodeError as error:
        loc = ("body", error.pos)
        ctx = {"error": error.msg}
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": loc,
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": ctx,
                }
            ]
        ) from error
    except StarletteHTTPException:
        raise  # the body limit's 413
    except Exception as error:
        raise HTTPException(400, "There was an error parsing the body") from error


# Served by ``assess_request``; ``assess_case`` below is what the OpenAPI schema shows
# (and answers the same, were it reached).
router.add_route("/api/assess", assess_request, methods=["POST"], include_in_schema=False)
ASSESS_ROUTE = router.routes[-1]


@router.post(
    "/assess",
    response_model=Assessment | AssessmentSummary,
    responses=ERRORS,
    tags=["assess"],
)
async def assess_case(
    state: StateDep,
    actor: CareTeam,
    case: dict[str, Any] = Body(  # noqa: B008
        description="A case in the case format (v1); nothing is stored"
    ),
    view: ViewQuery = "full",
) -> Response:
    """Assess one case (not stored). The same as ``netmdt assess``."""
    return assessed(case, view, state.kb)


@router.post("/patients", status_code=201, response_model=s.PatientOut, responses=ERRORS)
def create_patient(db: DbDep, actor: Coordinator, data: s.PatientIn) -> s.PatientOut:
    return svc.create_patient(db, actor, data)


@router.get("/patients", response_model=list[s.PatientOut], responses=ERRORS)
def list_patients(db: DbDep, actor: CareTeam, q: str | None = None) -> list[s.PatientOut]:
    return svc.list_patients(db, actor, q)


@router.get("/patients/{patient_id}", response_model=s.PatientOut, responses=ERRORS)
def get_patient(db: DbDep, actor: CareTeam, patient_id: Id) -> s.PatientOut:
    return svc.get_patient(db, actor, patient_id)


@router.get("/patients/{patient_id}/cases", response_model=list[s.CaseOut], responses=ERRORS)
def patient_cases(db: DbDep, actor: CareTeam, patient_id: Id) -> list[s.CaseOut]:
    return svc.patient_cases(db, actor, patient_id)


@router.post(
    "/patients/{patient_id}/cases", status_code=201, response_model=s.CaseOut, responses=ERRORS
)
def create_case(
    db: DbDep, state: StateDep, actor: Coordinator, patient_id: Id, data: s.CaseCreate
) -> s.CaseOut:
    return svc.create_case(db, actor, state.kb, patient_id, data)


@router.get("/cases/{case_id}", response_model=s.CaseOut, responses=ERRORS)
def get_case(db: DbDep, actor: CareTeam, case_id: Id) -> s.CaseOut:
    return svc.get_case(db, actor, case_id)


@router.put("/cases/{case_id}", response_model=s.CaseOut, responses=ERRORS)
def update_case(
    db: DbDep, state: StateDep, actor: Coordinator, case_id: Id, data: s.CaseUpdate
) -> s.CaseOut:
    """Save a new version. Refused with 409 when ``base_version`` is not the current one."""
    return svc.update_case(db, actor, state.kb, case_id, data)


@router.get("/cases/{case_id}/versions", response_model=list[s.VersionOut], responses=ERRORS)
def case_versions(db: DbDep, actor: CareTeam, case_id: Id) -> list[s.VersionOut]:
    return svc.case_versions(db, actor, case_id)


@router.get("/cases/{case_id}/diff", response_model=list[s.Change], responses=ERRORS)
def case_diff(
    db: DbDep,
    actor: CareTeam,
    case_id: Id,
    from_version: int = Query(ge=1, alias="from"),
    to_version: int = Query(ge=1, alias="to"),
) -> list[s.Change]:
    versions = {v.version: v for v in svc.case_versions(db, actor, case_id)}
    missing = [n for n in (from_version, to_version) if n not in versions]
    if missing:
        raise RecordValidationError(
            [Problem("from/to", f"no version {n}; versions: 1..{len(versions)}") for n in missing]
        )
    return svc.diff_facts(versions[from_version].facts, versions[to_version].facts)


@router.get(
    "/cases/{case_id}/assessment",
    response_model=Assessment | AssessmentSummary,
    responses=ERRORS,
)
def case_assessment(
    db: DbDep,
    state: StateDep,
    actor: CareTeam,
    case_id: Id,
    version: VersionNo | None = None,
    view: ViewQuery = "full",
) -> Response:
    """The assessment of the current (or given) version under the current knowledge base."""
    assessment = svc.current_assessment(db, actor, state.kb, case_id, version)[1]
    return assessment_response(assessment, view)


@router.get(
    "/cases/{case_id}/assessment.fhir",
    responses={**ERRORS, 200: {"content": {"application/fhir+json": {}}}},
)
def case_assessment_fhir(
    db: DbDep, state: StateDep, actor: CareTeam, case_id: Id, version: VersionNo | None = None
) -> Response:
    """The assessment as FHIR R4: a Bundle of a GuidanceResponse and a RequestGroup."""
    case, assessment, _ = svc.current_assessment(db, actor, state.kb, case_id, version)
    bundle = to_fhir(assessment, svc.case_of(case_id, case.facts))
    return Response(json.dumps(bundle), media_type="application/fhir+json")


@router.get("/cases/{case_id}/decisions", response_model=list[s.DecisionOut], responses=ERRORS)
def case_decisions(db: DbDep, actor: CareTeam, case_id: Id) -> list[s.DecisionOut]:
    return svc.case_decisions(db, actor, case_id)


@router.post("/meetings", status_code=201, response_model=s.MeetingOut, responses=ERRORS)
def create_meeting(db: DbDep, actor: Coordinator, data: s.MeetingIn) -> s.MeetingOut:
    return svc.create_meeting(db, actor, data)


@router.get("/meetings", response_model=list[s.MeetingOut], responses=ERRORS)
def list_meetings(db: DbDep, actor: CareTeam) -> list[s.MeetingOut]:
    return svc.list_meetings(db, actor)


@router.get("/meetings/{meeting_id}", response_model=s.MeetingOut, responses=ERRORS)
def get_meeting(db: DbDep, actor: CareTeam, meeting_id: Id) -> s.MeetingOut:
    return svc.get_meeting(db, actor, meeting_id)


@router.post("/meetings/{meeting_id}/agenda", response_model=s.MeetingOut, responses=ERRORS)
def add_to_agenda(db: DbDep, actor: Coordinator, meeting_id: Id, data: s.AgendaIn) -> s.MeetingOut:
    return svc.add_to_agenda(db, actor, meeting_id, data.case_id)


@router.post(
    "/meetings/{meeting_id}/cases/{case_id}/decision",
    status_code=201,
    response_model=s.DecisionOut,
    responses=ERRORS,
)
def record_decision(
    db: DbDep,
    state: StateDep,
    actor: Clinician,
    meeting_id: Id,
    case_id: Id,
    data: s.DecisionIn,
) -> s.DecisionOut:
    """Record the MDT's decision. A choice that differs from netmdt's verdicts needs a
    coded ``deviation_reason``; a second decision supersedes the first (both are kept)."""
    return svc.record_decision(db, actor, state.kb, meeting_id, case_id, data)


@router.get("/audit", response_model=list[s.AuditOut], responses=ERRORS)
def audit_log(
    db: DbDep,
    actor: Auditor,
    record_type: str | None = None,
    record_id: str | None = None,
    who: str | None = None,
    action: str | None = None,
    since: Annotated[date | None, Query(description="From this UTC date (included)")] = None,
    until: Annotated[date | None, Query(description="To this UTC date (included)")] = None,
    limit: int = Query(default=200, ge=1, le=5000),
    offset: int = Query(default=0, ge=0, le=MAX_ID),
) -> list[s.AuditOut]:
    """Audit events, newest first; text filters match whole values, ignoring case."""
    return svc.audit_log(
        db,
        actor,
        record_type=record_type,
        record_id=record_id,
        who=who,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )


@router.get("/reports/concordance", responses=ERRORS)
def concordance(
    db: DbDep,
    actor: Auditor,
    since: date | None = None,
    until: date | None = None,
    meeting: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    clinician: Annotated[str | None, Query(max_length=80)] = None,
) -> dict[str, Any]:
    """Concordance of the latest decisions of meetings in the date range (meeting dates,
    both included), of one meeting, or recorded by one clinician (user name)."""
    return svc.concordance(
        db, actor, since=since, until=until, meeting_id=meeting, clinician=clinician
    )


@router.get("/users", response_model=list[s.UserOut], responses=ERRORS)
def list_users(db: DbDep, actor: Admin) -> list[s.UserOut]:
    return [s.UserOut.model_validate(u, from_attributes=True) for u in users(db)]


@router.post("/users", status_code=201, response_model=s.UserOut, responses=ERRORS)
def create_user(db: DbDep, actor: Admin, data: s.UserIn) -> s.UserOut:
    return s.UserOut.model_validate(add_user(db, actor.name, data), from_attributes=True)


@router.get("/tokens", response_model=list[s.TokenOut], responses=ERRORS)
def list_tokens(
    db: DbDep, actor: Admin, user: str | None = Query(None, max_length=80)
) -> list[s.TokenOut]:
    """Every API token's record (never the token): owner, created, expiry, last use
    (to within a minute), revocation."""
    return accounts.list_tokens(db, actor, user)


@router.post("/tokens/{token_id}/revoke", response_model=s.TokenOut, responses=ERRORS)
def revoke_token(db: DbDep, state: StateDep, actor: Admin, token_id: Id) -> s.TokenOut:
    """Revoke a token: refused at once by this process, within a second by any other."""
    out = accounts.revoke_token(db, actor, token_id)
    state.tokens.clear()
    return out


@router.post("/users/{user_id}/deactivate", response_model=s.UserOut, responses=ERRORS)
def deactivate_user(db: DbDep, state: StateDep, actor: Admin, user_id: Id) -> s.UserOut:
    """The user can no longer log in; their sessions end and their tokens are revoked."""
    out = accounts.deactivate_user(db, actor, accounts.user_by_id(db, user_id))
    state.tokens.clear()
    return out


@router.post("/users/{user_id}/activate", response_model=s.UserOut, responses=ERRORS)
def activate_user(db: DbDep, actor: Admin, user_id: Id) -> s.UserOut:
    """Let a deactivated user log in again (revoked tokens stay revoked)."""
    return accounts.activate_user(db, actor, accounts.user_by_id(db, user_id))


@router.put("/users/{user_id}/password", status_code=204, responses=ERRORS)
def set_password(
    db: DbDep, state: StateDep, actor: Admin, user_id: Id, data: s.PasswordIn
) -> Response:
    """Set a user's password (the policy applies); every session of theirs ends."""
    accounts.set_password(db, actor, accounts.user_by_id(db, user_id), data.password)
    state.tokens.clear()
    return Response(status_code=204)


def users(db: DbDep) -> list[t.User]:
    return list(db.query(t.User).order_by(t.User.name))


def add_user(db: DbDep, actor: str, data: s.UserIn) -> t.User:
    """Create a user (used by the API and by ``netmdt user add``)."""
    if db.query(t.User.id).filter(t.User.name == data.name).first():
        raise ConflictError(f"name: a user called {data.name!r} already exists")
    user = t.User(name=data.name, password_hash=hash_password(data.password), roles=data.roles)
    db.add(user)
    try:
        db.flush()
    except IntegrityError as error:  # the same name added at the same moment
        db.rollback()
        raise ConflictError(f"name: a user called {data.name!r} already exists") from error
    svc.audit(db, actor, "create", "user", user.id, roles=list(data.roles))
    db.commit()
    return user


def user_input(name: str, roles: list[str], password: str) -> s.UserIn:
    try:
        return s.UserIn.model_validate({"name": name, "roles": roles, "password": password})
    except ValidationError as error:
        raise RecordValidationError(svc.problems_of(error)) from error
