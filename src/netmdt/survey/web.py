"""The survey's pages and API: the patient's public page (``/s/{token}``: no login,
nothing of the patient shown), the service's dashboard with plots and exports
(``/surveys/...``) and ``GET /api/surveys/{survey_id}/responses``.

Roles (docs/survey.md): the dashboard, its plots and the anonymous exports: coordinator,
clinician, auditor. Linked mode (each response with the patient's record id): the care
team only (coordinator, clinician)."""

from __future__ import annotations

import csv
import io
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from netmdt.api.deps import DbDep, require, state_of
from netmdt.errors import Problem, RecordValidationError
from netmdt.store.services import Actor
from netmdt.survey import service as sv
from netmdt.survey.export import RECORD_ID
from netmdt.survey.logic import visible
from netmdt.survey.model import SURVEYS, Survey, load_survey
from netmdt.web.common import Form, add_templates, redirect, render, templates

add_templates(Path(__file__).parent / "templates")


def _options(item: Any) -> list[tuple[str, str]]:
    if item.type == "boolean":
        return [("1", "Yes"), ("0", "No")]
    return [(o.code, o.display) for o in item.answerOption]


def _stored(value: Any) -> str:
    """A kept answer as the form's value (yes/no as 1/0; numbers from a failed form as typed)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


templates.env.filters["survey_options"] = _options
templates.env.filters["survey_stored"] = _stored
router = APIRouter()
api_router = APIRouter()

Dashboard = Annotated[Actor, Depends(require("coordinator", "clinician", "auditor"))]
CareTeam = Annotated[Actor, Depends(require("coordinator", "clinician"))]
SurveyId = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="A survey id")]
Mode = Annotated[str, Query(pattern="^(linked|anonymous)$")]

# -- abuse limits of the public page -----------------------------------------------------

PUBLIC_REQUESTS = 60  # per client address per window, every /s/ request counted
PUBLIC_WINDOW = 600.0  # seconds
PUBLIC_MAX_BODY = 16_384  # bytes: a page of answers is well under 4 KB


class PublicLimiter:
    """A sliding-window count of a client's requests to the public page (per process)."""

    def __init__(self, limit: int = PUBLIC_REQUESTS, window: float = PUBLIC_WINDOW) -> None:
        self.limit, self.window = limit, window
        self.seen: dict[str, deque[float]] = {}

    def allow(self, client: str, now: float | None = None) -> int:
        """0 if allowed, else seconds until the next request is."""
        now = time.monotonic() if now is None else now
        times = self.seen.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return int(times[0] + self.window - now) + 1
        times.append(now)
        if len(self.seen) > 10_000:  # forget idle clients
            for key in [k for k, v in self.seen.items() if not v]:
                del self.seen[key]
        return 0


async def public_guard(request: Request) -> None:
    limiter = getattr(request.app.state, "survey_limiter", None)
    if limiter is None:
        limiter = request.app.state.survey_limiter = PublicLimiter()
    client = request.client.host if request.client else "unknown"
    wait = limiter.allow(client)
    if wait:
        raise HTTPException(429, "too many requests; try again later", {"Retry-After": str(wait)})
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > PUBLIC_MAX_BODY:
        raise HTTPException(413, f"the answers are larger than {PUBLIC_MAX_BODY:,} bytes")


Public = Depends(public_guard)


# -- the patient's page -----------------------------------------------------------------


def _link_page(request: Request, error: sv.LinkError) -> Response:
    return render(request, "survey_closed.html", None, error.status, message=str(error))


def _page_view(
    request: Request,
    survey: Survey,
    token: str,
    number: int,
    answers: dict[str, Any],
    problems: dict[str, str] | None = None,
    status: int = 200,
    more: bool = False,
) -> Response:
    page = survey.pages[number]
    shown = visible(survey.items(), answers)
    items = [i for i in page.item if i.linkId in shown]
    return render(
        request,
        "survey_page.html",
        None,
        status,
        survey=survey,
        token=token,
        page=page,
        number=number,
        last=number == len(survey.pages) - 1,
        items=items,
        answers=answers,
        problems=problems or {},
        more=more,
    )


@router.get("/s/{token}", dependencies=[Public])
def survey_page(request: Request, db: DbDep, token: str, page: int = 0) -> Response:
    try:
        invitation = sv.open_link(db, token)
    except sv.LinkError as error:
        return _link_page(request, error)
    survey = load_survey(invitation.survey_id)
    row = sv.response_of(db, invitation)
    number = min(max(page, 0), len(survey.pages) - 1)
    return _page_view(request, survey, token, number, dict(row.answers) if row else {})


@router.post("/s/{token}", dependencies=[Public])
def survey_save(request: Request, db: DbDep, form: Form, token: str) -> Response:
    try:
        invitation = sv.open_link(db, token)
    except sv.LinkError as error:
        return _link_page(request, error)
    survey = load_survey(invitation.survey_id)
    ids = [p.linkId for p in survey.pages]
    page_id = str(form.get("page", ""))
    if page_id not in ids:
        raise RecordValidationError([Problem("page", f"one of {', '.join(ids)}")])
    number = ids.index(page_id)
    go = str(form.get("go", "next"))
    finish = go == "send" and number == len(ids) - 1
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    row = sv.response_of(db, invitation)
    before = dict(row.answers) if row else {}
    try:
        saved = sv.save_page(db, token, page_id, fields, finish=finish)
    except RecordValidationError as error:
        db.rollback()
        merged = {**before, **{k: v for k, v in fields.items() if k in survey_ids(survey)}}
        problems = {p.where: p.message for p in error.problems}
        target = number
        if finish:  # a required question on an earlier page: go to the first one
            first = next(
                i for i, p in enumerate(survey.pages) for it in p.item if it.linkId in problems
            )
            target = first
        return _page_view(request, survey, token, target, merged, problems, 422)
    except sv.LinkError as error:
        return _link_page(request, error)
    if finish:
        return redirect(f"/s/{token}/thanks")
    # Follow-up questions this page's answers have just opened: show the page again.
    shown_before = set(str(form.get("shown", "")).split())
    opened = [
        i.linkId
        for i in survey.pages[number].item
        if i.linkId in visible(survey.items(), saved.answers) and i.linkId not in shown_before
    ]
    if opened and go != "back":
        return _page_view(request, survey, token, number, dict(saved.answers), more=True)
    target = number - 1 if go == "back" else number + 1
    return redirect(f"/s/{token}?page={max(0, min(target, len(ids) - 1))}")


def survey_ids(survey: Survey) -> set[str]:
    return {i.linkId for i in survey.items()}


@router.get("/s/{token}/thanks", dependencies=[Public])
def survey_thanks(request: Request, token: str) -> Response:
    return render(request, "survey_closed.html", None, 200, message=None, thanks=True)


@router.post("/s/{token}/stop", dependencies=[Public])
def survey_stop(request: Request, db: DbDep, form: Form, token: str) -> Response:
    try:
        sv.opt_out_by_link(db, token)
    except sv.LinkError as error:
        return _link_page(request, error)
    return render(request, "survey_closed.html", None, 200, message=None, stopped=True)


# -- the service's dashboard ------------------------------------------------------------


def _completed(db: Any, actor: Actor, survey_id: str) -> list[dict[str, Any]]:
    return [r["answers"] for r in sv.responses(db, actor, survey_id, "anonymous")]


@router.get("/surveys")
def surveys_page(request: Request, actor: Dashboard) -> Response:
    return render(request, "survey_list.html", actor, surveys=[load_survey(s) for s in SURVEYS])


def _known(survey_id: str) -> Survey:
    try:
        return load_survey(survey_id)
    except KeyError as error:
        raise HTTPException(404, f"survey {survey_id}") from error


@router.get("/surveys/{survey_id}")
def dashboard_page(request: Request, db: DbDep, actor: Dashboard, survey_id: SurveyId) -> Response:
    survey = _known(survey_id)
    rows = _completed(db, actor, survey_id)
    tables = {
        by: {
            "figures": sv.figures(rows, by),
            "travel": sv.median_travel(rows, by),
        }
        for by in ("product", "setting")
    }
    return render(
        request,
        "survey_dashboard.html",
        actor,
        survey=survey,
        n=len(rows),
        tables=tables,
        measures=sv.MEASURES,
        linked="coordinator" in actor.roles or "clinician" in actor.roles,
    )


@router.get("/surveys/{survey_id}/plot/{by}.svg")
def dashboard_plot(db: DbDep, actor: Dashboard, survey_id: SurveyId, by: str) -> Response:
    _known(survey_id)
    if by not in ("product", "setting"):
        raise HTTPException(404, f"plot by {by}: by product or setting")
    from netmdt.survey.plots import figures_svg

    svg = figures_svg(sv.figures(_completed(db, actor, survey_id), by), sv.MEASURES, by)
    return Response(svg, media_type="image/svg+xml")


Coordinator = Annotated[Actor, Depends(require("coordinator"))]


@router.post("/surveys/{survey_id}/invite")
def invite_page(
    request: Request, db: DbDep, actor: Coordinator, form: Form, survey_id: SurveyId
) -> Response:
    """Make a patient's one-time link (shown once on the page that answers this form);
    with ``schedule``, day 14 and day 28 links wait for ``netmdt survey due``."""
    from datetime import date

    survey = _known(survey_id)
    problems = []
    raw_id = str(form.get("patient_id", "")).strip()
    if not raw_id.isdigit() or not 1 <= int(raw_id) <= 2**31 - 1:
        problems.append(Problem("patient_id", "the patient's record id: a whole number"))
    raw_date = str(form.get("injection_date", "")).strip()
    when = None
    if raw_date:
        try:
            when = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(Problem("injection_date", "a date as YYYY-MM-DD, or blank"))
    if problems:
        raise RecordValidationError(problems)
    days = sv.SCHEDULE_DAYS if form.get("schedule") == "1" else (0,)
    issued = sv.invite(
        db, actor, int(raw_id), today=date.today(), injection_date=when, days=days,
        survey_id=survey.id,
    )  # fmt: skip
    base = state_of(request).settings.base_url  # never the Host the request claimed
    links = [i.link(base) for i in issued]
    return render(
        request,
        "survey_invited.html",
        actor,
        survey=survey,
        links=links,
        days=days,
        link_days=sv.LINK_DAYS,
    )


def _mode_allowed(actor: Actor, mode: str) -> None:
    if mode == "linked" and not actor.roles & {"coordinator", "clinician"}:
        raise HTTPException(403, "linked mode needs the role coordinator or clinician")


@router.get("/surveys/{survey_id}/responses.csv")
def responses_csv(
    db: DbDep, actor: Dashboard, survey_id: SurveyId, mode: Mode = "anonymous"
) -> Response:
    _known(survey_id)
    _mode_allowed(actor, mode)
    return _csv(
        flat_rows(load_survey(survey_id), sv.responses(db, actor, survey_id, mode), mode),
        f"{survey_id}-responses.csv",
    )


@router.get("/surveys/{survey_id}/redcap-records.csv")
def redcap_csv(
    db: DbDep, actor: Dashboard, survey_id: SurveyId, mode: Mode = "anonymous"
) -> Response:
    _known(survey_id)
    _mode_allowed(actor, mode)
    survey = load_survey(survey_id)
    return _csv(
        redcap_records(survey, sv.responses(db, actor, survey_id, mode)), f"{survey_id}-redcap.csv"
    )


def _csv(rows: list[list[Any]], name: str) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return 1 if value else 0
    text = "" if value is None else value
    # No spreadsheet formula from free text (CSV injection).
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def flat_rows(survey: Survey, found: list[dict[str, Any]], mode: str) -> list[list[Any]]:
    """One row per response, one column per question (the REDCap variable names), with
    the product and setting groups the dashboard uses."""
    names = [i.linkId for i in survey.items()]
    head = ["response_id", *(["patient_id"] if mode == "linked" else []), "survey_version",
            "completed_at", "product_group", "setting_group", *names]  # fmt: skip
    rows: list[list[Any]] = [head]
    for r in found:
        a = r["answers"]
        rows.append(
            [
                r["id"],
                *([r["patient_id"]] if mode == "linked" else []),
                r["survey_version"],
                r["completed_at"],
                sv.product_of(a),
                sv.setting_of(a),
                *(_cell(a.get(n)) for n in names),
            ]
        )
    return rows


def redcap_records(survey: Survey, found: list[dict[str, Any]]) -> list[list[Any]]:
    """REDCap flat records for the data dictionary: ``record_id`` first, each variable,
    then ``<form>_complete`` (2: complete). The survey is not a repeating instrument, so
    each response is its own record (the response id; never a patient identifier)."""
    names = [i.linkId for i in survey.items()]
    rows: list[list[Any]] = [[RECORD_ID, *names, f"{survey.id}_complete"]]
    for r in found:
        a = r["answers"]
        rows.append([r["id"], *(_cell(a.get(n)) for n in names), 2])
    return rows


@api_router.get("/api/surveys/{survey_id}/responses")
def api_responses(
    db: DbDep, actor: Dashboard, survey_id: SurveyId, mode: Mode = "anonymous"
) -> list[dict[str, Any]]:
    """Completed responses, each with its QuestionnaireResponse. ``linked``: with the
    patient's record id (coordinator, clinician); ``anonymous``: without (also auditor)."""
    _known(survey_id)
    _mode_allowed(actor, mode)
    return sv.responses(db, actor, survey_id, mode)


# -- the MDT's flag (included in the case page) ------------------------------------------


def case_flags(db: Any, patient_id: int) -> list[sv.Flag]:
    """The survey flags for the case page (information only; no verdict changes)."""
    from datetime import date

    return sv.patient_flags(db, patient_id, date.today())
