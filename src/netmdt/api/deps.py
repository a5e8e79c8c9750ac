"""Dependencies shared by the JSON API and the web pages: the database session, who is
asking, role checks and CSRF."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from netmdt.api.security import PasswordChecks, TokenCache, same_token
from netmdt.config import Settings
from netmdt.kb import KnowledgeBase
from netmdt.store import tables as t
from netmdt.store.schemas import MAX_ID, ROLES
from netmdt.store.services import Actor

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id")]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID, description="A record id")]
VersionNo = Annotated[int, Query(ge=1, le=MAX_ID, description="A case version number")]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    base_kb: KnowledgeBase  # as loaded; ``kb`` is it as the centre uses it
    tokens: TokenCache
    checks: PasswordChecks

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base with the centre's settings applied (the PRRT registry's
        status: netmdt.registry.status)."""
        from netmdt.registry.status import cached_status, centre_kb

        return centre_kb(self.base_kb, cached_status(self.engine))


class NotAuthenticated(HTTPException):
    def __init__(self) -> None:
        super().__init__(401, "log in first (or send an Authorization: Bearer token)")


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.netmdt
    return state


def get_db(request: Request) -> Iterator[Session]:
    with state_of(request).sessions() as db:
        yield db


DbDep = Annotated[Session, Depends(get_db)]


async def app_state(request: Request) -> AppState:
    return state_of(request)  # async: FastAPI runs sync dependencies on a thread


StateDep = Annotated[AppState, Depends(app_state)]


async def current_actor(request: Request) -> Actor | None:
    """The caller: a Bearer token's user, else the logged-in session's user, else None.

    Async, with the database touched only on a token-cache miss or for a session: the hot
    path of an API call (a known token) costs no thread hop and no query."""
    state = state_of(request)
    actor = await _actor(request, state)
    request.state.actor = actor  # for the audit of a refused (409) request
    return actor


async def _actor(request: Request, state: AppState) -> Actor | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        return state.tokens.cached(token) or await run_in_threadpool(_token_actor, state, token)
    uid = request.session.get("uid")
    if uid is None:
        return None
    age_hours = (time.time() - float(request.session.get("since", 0))) / 3600
    if age_hours > state.settings.session_hours:  # a fixed lifetime from login
        request.session.clear()
        return None
    actor = await run_in_threadpool(_session_actor, state, uid, request.session.get("epoch"))
    if actor is None:
        request.session.clear()
        return None
    # Cookie-authenticated API writes need the page's CSRF token in a header.
    api_write = request.method in UNSAFE and request.url.path.startswith("/api/")
    if api_write and not same_token(
        request.headers.get("x-csrf-token"), request.session.get("csrf")
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token header")
    return actor


def _token_actor(state: AppState, token: str) -> Actor | None:
    with state.sessions() as db:
        return state.tokens.actor(db, token)


def _session_actor(state: AppState, uid: object, epoch: object) -> Actor | None:
    """The session's user while active and the session's epoch is the user's: logout,
    a password change and deactivation move the epoch on, ending every older session."""
    if not isinstance(uid, int) or not isinstance(epoch, int):
        return None  # a cookie from before session epochs: log in again
    with state.sessions() as db:
        user = db.scalar(
            select(t.User).where(
                t.User.id == uid, t.User.active.is_(True), t.User.session_epoch == epoch
            )
        )
        return Actor(user.name, frozenset(user.roles)) if user else None


MaybeActor = Annotated[Actor | None, Depends(current_actor)]


def require(*roles: str) -> Callable[[Actor | None], Coroutine[Any, Any, Actor]]:
    """A dependency that lets through only users holding one of ``roles``."""

    async def check(actor: MaybeActor) -> Actor:
        if actor is None:
            raise NotAuthenticated()
        if not actor.roles & set(roles):
            raise HTTPException(403, f"needs the role {' or '.join(roles)}")
        return actor

    return check


Coordinator = Annotated[Actor, Depends(require("coordinator"))]
Clinician = Annotated[Actor, Depends(require("clinician"))]
care_team = require("coordinator", "clinician")
CareTeam = Annotated[Actor, Depends(care_team)]
Auditor = Annotated[Actor, Depends(require("auditor"))]
Admin = Annotated[Actor, Depends(require("admin"))]
ClinicalLead = Annotated[Actor, Depends(require("clinical_lead"))]
AnyUser = Annotated[Actor, Depends(require(*ROLES))]


async def audit_conflict(request: Request) -> None:
    """Audit a refused (409) request of a known caller: a conflict can reveal that a
    record exists (a duplicate NHS number, say). Route template, method and record ids
    only: never the body."""
    actor = getattr(request.state, "actor", None)
    if not isinstance(actor, Actor):
        return
    template = getattr(request.scope.get("route"), "path", "(unmatched)")
    ids = {k: str(v)[:20] for k, v in request.path_params.items()}
    await run_in_threadpool(
        _audit_conflict, state_of(request), actor, request.method, template, ids
    )


def _audit_conflict(
    state: AppState, actor: Actor, method: str, template: str, ids: dict[str, str]
) -> None:
    from netmdt.store.services import audit

    with state.sessions() as db:
        audit(db, actor, "conflict", "request", None, method=method, route=template, **ids)
        db.commit()
