"""The governance pages: the worklist, an item with its review form, local settings, the
release (impact, then activation) and the governance report (page and PDF). They call the
same service as ``netmdt kb review|settings|release``; the clinical lead writes, the
auditor (clinical-safety officer) reads the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from netmdt.api.deps import ClinicalLead, DbDep, require
from netmdt.governance import service as gov
from netmdt.governance.words import local_words, review_words
from netmdt.pdf import html_to_pdf
from netmdt.store.services import Actor
from netmdt.web.common import Form, add_templates, redirect, render, templates

router = APIRouter()
add_templates(Path(__file__).parent / "templates")
templates.env.globals.update(
    review_words=review_words,
    local_words=local_words,
    approved_options=gov.approved_options,
)
LeadOrAuditor = Annotated[Actor, Depends(require("clinical_lead", "auditor"))]
Reviewer = Annotated[Actor, Depends(require("clinical_lead", "clinician"))]


PAGE_SIZE = gov.WORK_PAGE_SIZE
CSS = (Path(__file__).parent / "static" / "governance.css").read_text()


@router.get("/governance/governance.css")
def stylesheet() -> Response:
    """The governance pages' own styles (the app's CSP allows no inline style)."""
    return Response(CSS, media_type="text/css")


def breakable(item_id: str) -> Markup:
    """An item id that wraps only after a dot or an underscore (never mid-word)."""
    text = str(escape(item_id))
    return Markup(text.replace(".", ".<wbr>").replace("_", "_<wbr>"))


templates.env.globals["breakable"] = breakable


@router.get("/governance")
def worklist_page(
    request: Request,
    db: DbDep,
    actor: ClinicalLead,
    all: bool = False,
    state: str = "",
    scope: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    kb = gov.centre_kb(db)
    state = "all" if all and not state else state
    found = gov.work_page(
        db,
        kb,
        state=state,
        scope=scope,
        text=q,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        clamp=True,
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    page = found.offset // PAGE_SIZE + 1
    params = {k: v for k, v in {"state": state, "scope": scope, "q": q}.items() if v}
    return render(
        request,
        "governance_worklist.html",
        actor,
        work=found.rows,
        total=found.total,
        open_total=found.open_total,
        state=state,
        scope=scope,
        q=q,
        page=page,
        pages=pages,
        first=(page - 1) * PAGE_SIZE + 1,
        query=lambda n: "?" + urlencode({**params, "page": n}),
        states=gov.STATES,
        options=list(kb.options.values()),
        trials=list(kb.trials.values()),
    )


@router.get("/governance/items/{item}")
def item_page(request: Request, db: DbDep, actor: ClinicalLead, item: str) -> Response:
    kb = gov.centre_kb(db)
    gov.find_item(kb, item)
    state = gov.item_states(db, kb)[item]
    return render(
        request,
        "governance_item.html",
        actor,
        s=state,
        kb=kb,
        history=gov.review_history(db, item),
        examples=gov.example_cases(kb).get(item, []),
        verdicts=gov.VERDICTS,
        saved=request.query_params.get("saved"),
    )


@router.post("/governance/items/{item}")
def review_item(db: DbDep, actor: ClinicalLead, form: Form, item: str) -> Response:
    kb = gov.centre_kb(db)
    gov.record_review(
        db, actor, kb, item, str(form.get("status", "")), str(form.get("comment", "")) or None
    )
    return redirect(f"/governance/items/{item}?saved=1")


@router.get("/governance/rounds")
def rounds_page(request: Request, db: DbDep, actor: Reviewer, item: str = "") -> Response:
    from netmdt.governance import rounds

    return render(
        request,
        "governance_rounds.html",
        actor,
        rounds=rounds.list_rounds(db),
        eligible=rounds.eligible_reviewers(db),
        item=item,
    )


@router.post("/governance/rounds")
def open_round(db: DbDep, actor: ClinicalLead, form: Form) -> Response:
    from netmdt.governance import rounds

    items = str(form.get("items", "")).split()
    reviewers = [str(v) for v in form.getlist("reviewers")]
    rnd = rounds.open_round(
        db, actor, gov.centre_kb(db), items, reviewers, str(form.get("note", "")) or None
    )
    return redirect(f"/governance/rounds/{rnd.row.id}")


@router.get("/governance/rounds/{round_id}")
def round_page(request: Request, db: DbDep, actor: Reviewer, round_id: int) -> Response:
    from netmdt.governance import rounds

    rnd = rounds.get_round(db, round_id)
    return render(
        request,
        "governance_round.html",
        actor,
        r=rnd,
        verdicts=gov.VERDICTS,
        states=gov.item_states(db, gov.centre_kb(db)),
        may_respond=rnd.open and actor.name in rnd.waiting_for,
        may_close=rnd.open and "clinical_lead" in actor.roles,
        may_invite=[n for n in rounds.eligible_reviewers(db) if n not in rnd.row.reviewers]
        if rnd.open and "clinical_lead" in actor.roles
        else [],
        saved=request.query_params.get("saved"),
    )


@router.post("/governance/rounds/{round_id}/respond")
def respond(db: DbDep, actor: Reviewer, form: Form, round_id: int) -> Response:
    from netmdt.governance import rounds

    rounds.respond(
        db, actor, round_id, str(form.get("verdict", "")), str(form.get("comment", "")) or None
    )
    return redirect(f"/governance/rounds/{round_id}?saved=response")


@router.post("/governance/rounds/{round_id}/close")
def close_round(db: DbDep, actor: ClinicalLead, form: Form, round_id: int) -> Response:
    from netmdt.governance import rounds

    rounds.close_round(
        db, actor, round_id, str(form.get("verdict", "")), str(form.get("comment", "")) or None
    )
    return redirect(f"/governance/rounds/{round_id}?saved=closed")


@router.get("/governance/settings")
def settings_page(request: Request, db: DbDep, actor: ClinicalLead) -> Response:
    from netmdt.kb import load_kb

    kb = load_kb()
    return render(
        request,
        "governance_settings.html",
        actor,
        kb=kb,
        exported=gov.export_settings(db, kb),
        saved=request.query_params.get("saved"),
    )


@router.post("/governance/settings/{name}")
def set_setting(db: DbDep, actor: ClinicalLead, form: Form, name: str) -> Response:
    from netmdt.kb import load_kb

    text = str(form.get("value", "")).strip()
    value = None if text in ("", "default") else gov.parse_value(text)
    gov.set_setting(db, actor, load_kb(), name, value, str(form.get("comment", "")) or None)
    return redirect(f"/governance/settings?saved={name}")


@router.get("/governance/release")
def release_page(request: Request, db: DbDep, actor: ClinicalLead) -> Response:
    return render(
        request,
        "governance_release.html",
        actor,
        draft=gov.draft_release(db),
        active=gov.active_release(db),
        history=gov.releases(db),
    )


@router.post("/governance/release")
def activate(db: DbDep, actor: ClinicalLead, form: Form) -> Response:
    draft = gov.draft_release(db)
    if str(form.get("fingerprint", "")) != draft.fingerprint:
        # the settings or reviews changed since the impact was shown: show it again
        return redirect("/governance/release")
    gov.activate_release(db, actor, draft)
    return redirect("/governance/report")


@router.get("/governance/report")
def report_page(request: Request, db: DbDep, actor: LeadOrAuditor) -> Response:
    report = gov.report(db, gov.centre_kb(db))
    return render(request, "governance_report.html", actor, report=report)


@router.get("/governance/report.pdf")
def report_pdf(request: Request, db: DbDep, actor: LeadOrAuditor) -> Response:
    report = gov.report(db, gov.centre_kb(db))
    html = templates.get_template("governance_report_print.html").render(report=report)
    pdf = html_to_pdf(html)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="netmdt-governance-report.pdf"'},
    )


@router.post("/governance/rounds/{round_id}/invite")
def invite(db: DbDep, actor: ClinicalLead, form: Form, round_id: int) -> Response:
    from netmdt.governance import rounds

    rounds.invite(db, actor, round_id, [str(v) for v in form.getlist("reviewers")])
    return redirect(f"/governance/rounds/{round_id}?saved=invited")


@router.post("/governance/rounds/{round_id}/cancel")
def cancel_round(db: DbDep, actor: ClinicalLead, form: Form, round_id: int) -> Response:
    from netmdt.governance import rounds

    rounds.cancel_round(db, actor, round_id, str(form.get("reason", "")))
    return redirect(f"/governance/rounds/{round_id}?saved=cancelled")
