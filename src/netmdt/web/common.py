"""The web pages' shared kernel: one Jinja2 environment (autoescaped) whose template
folders every domain package adds to, the page renderer, CSRF-checked forms and the
error page. A domain package (trials, registry, survey, governance, meeting) builds its
pages on these and keeps its own routes and templates in its own folder:

    from netmdt.web.common import Form, add_templates, redirect, render
    add_templates(Path(__file__).parent / "templates")
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader, pass_context
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from netmdt import __version__
from netmdt.api.security import new_csrf_token, same_token
from netmdt.assessment import VERDICTS
from netmdt.errors import Problem, RecordValidationError
from netmdt.store import schemas as s
from netmdt.store import services as svc
from netmdt.textcheck import shown, text_fault
from netmdt.vocabulary import (
    ROLES,
    fact_text,
    nhs_number,
    pathway_text,
    uk_date,
    uk_datetime,
    value_name,
)
from netmdt.web.forms import EMPTY_LIST

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
_loaders: list[FileSystemLoader] = [FileSystemLoader(Path(__file__).parent / "templates")]
templates.env.loader = ChoiceLoader(_loaders)


def add_templates(folder: Path) -> None:
    """Let the pages find a domain package's templates (its names must not clash with the
    shared ones: prefix them with the package's name, e.g. ``trials/panel.html``)."""
    if not any(str(folder) in loader.searchpath for loader in _loaders):
        _loaders.append(FileSystemLoader(folder))


VERDICT_WORDS = {
    "recommended": "Recommended",
    "consider": "Consider",
    "insufficient_information": "Insufficient information",
    "not_recommended": "Not recommended",
    "contraindicated": "Contraindicated",
}


@pass_context
def _fact(context: Any, value: Any, path: str) -> str:
    """A fact in words; prior treatments named by the page's knowledge base (``kb``)."""
    kb = context.get("kb")
    names = (lambda o: kb.options[o].name if o in kb.options else value_name("", o)) if kb else None
    return fact_text(path, value, names)


templates.env.filters.update(
    ukdate=uk_date,  # 2026-12-01 -> "1 Dec 2026"
    ukdatetime=uk_datetime,
    nhs=nhs_number,  # 9990000018 -> "999 000 0018"
    fact=_fact,  # {{ value|fact(path) }}
    code=lambda value, path="": value_name(path, value),  # {{ code|code(path) }}
    pathway=pathway_text,
    role=lambda code: ROLES.get(code, value_name("", code)),
)
templates.env.globals.update(
    version=__version__,
    VERDICTS=VERDICTS,
    VERDICT_WORDS=VERDICT_WORDS,
    DEVIATION_REASONS=s.DEVIATION_REASONS,
    EMPTY_LIST=EMPTY_LIST,
)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


def render(
    request: Request, name: str, actor: svc.Actor | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"actor": actor, "csrf": csrf_token(request), **context},
        status_code=status_code,
    )


def error_page(request: Request, status: int, error: dict[str, Any]) -> Response:
    if status == 401:
        target = request.url.path
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query  # e.g. a link from the EHR with its NHS number
        return render(request, "login.html", None, 401, next=target, error=None)
    return render(request, "error.html", None, status, status=status, error=error)


async def checked_form(request: Request) -> FormData:
    """The submitted form, after its CSRF token is checked against the session's; no
    file parts (nothing spooled to disk), and strict text (no NUL) in every field."""
    form = await request.form(max_files=0, max_fields=2000)
    if not same_token(str(form.get("csrf_token", "")), request.session.get("csrf")):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
    problems = [
        Problem(shown(name) if text_fault(name) else name, fault, "invalid_text")
        for name, value in form.multi_items()
        if isinstance(value, str) and (fault := text_fault(name) or text_fault(value))
    ]
    if problems:
        raise RecordValidationError(problems)
    return form


Form = Annotated[FormData, Depends(checked_form)]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def model_of(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RecordValidationError(svc.problems_of(error)) from error
