"""The centre's registry status (open | on_hold | closed) and the knowledge base as the
centre uses it.

The bundled knowledge base says the PRRT registry is on hold (the seed page). A centre
sets its own status with ``netmdt registry status --set`` or the admin page; each change
is a row of ``registry_status_changes`` and an audit record. The engine stays pure: the
app derives a knowledge base whose PRRT ``audit_registry`` funding rules carry the centre's
status and a note saying it (``centre_kb``), with its own fingerprint, so stored
assessments made under another status are re-made when next read. Both engines (generated
Python and the reference closures) read the same derived rules.
"""

from __future__ import annotations

import dataclasses
import re
import time
import weakref
from functools import cache
from typing import Literal

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from netmdt.errors import Problem, RecordValidationError
from netmdt.kb.load import fingerprint
from netmdt.kb.model import FundingRule, KnowledgeBase
from netmdt.registry import tables as rt
from netmdt.store.services import Actor, audit

Status = Literal["open", "on_hold", "closed"]
STATUSES: tuple[Status, ...] = ("open", "on_hold", "closed")
# The options whose audit_registry route is this registry (liver transplantation's
# audit_registry route is the national transplant programme: not ours).
REGISTRY_OPTIONS = frozenset({"prrt_lu177_dotatate", "prrt_y90_dotatoc"})
STATUS_NOTE = {
    "open": "The centre's PRRT audit registry is open: the MDT may enrol the patient "
    "(netmdt registry).",
    "on_hold": "The centre's PRRT audit registry is currently on hold: no new enrolments; "
    "otherwise individual funding request.",
    "closed": "The centre's PRRT audit registry is closed: individual funding request.",
}
# How long a process trusts the status it last read (another process, such as the CLI,
# may change it); a change made in this process is seen at once.
CACHE_SECONDS = 2.0
_cache: weakref.WeakKeyDictionary[Engine, tuple[float, Status | None]] = weakref.WeakKeyDictionary()
_ON_HOLD = re.compile(r",? now on hold,?|\s*\(on hold\)")


def parse_status(value: str) -> Status:
    if value not in STATUSES:
        raise RecordValidationError(
            [
                Problem(
                    "status", f"{value!r} is not a registry status; allowed: {', '.join(STATUSES)}"
                )
            ]
        )
    return value  # type: ignore[return-value,unused-ignore]


def current_status(db: Session) -> Status | None:
    """The status the centre set last, or None when never set (the knowledge base's)."""
    row = db.scalar(
        select(rt.RegistryStatusChange).order_by(rt.RegistryStatusChange.id.desc()).limit(1)
    )
    return None if row is None else parse_status(row.status)


def history(db: Session) -> list[rt.RegistryStatusChange]:
    return list(db.scalars(select(rt.RegistryStatusChange).order_by(rt.RegistryStatusChange.id)))


def set_status(db: Session, actor: Actor | str, value: str) -> Status:
    status = parse_status(value)
    before = current_status(db)
    row = rt.RegistryStatusChange(
        status=status, set_by=actor if isinstance(actor, str) else actor.name
    )
    db.add(row)
    db.flush()
    audit(db, actor, "set_status", "registry", row.id, status=status, before=before)
    db.commit()
    bind = db.get_bind()
    if isinstance(bind, Engine):
        _cache.pop(bind, None)
    return status


def cached_status(engine: Engine) -> Status | None:
    """The status, read at most every CACHE_SECONDS per engine."""
    hit = _cache.get(engine)
    clock = time.monotonic()
    if hit is not None and clock - hit[0] < CACHE_SECONDS:
        return hit[1]
    try:
        with Session(engine) as db:
            status = current_status(db)
    except (OperationalError, ProgrammingError):
        # A database not yet upgraded to 0005 (migrate_on_start off): the knowledge
        # base's own status until ``netmdt db upgrade`` has run.
        status = None
    _cache[engine] = (clock, status)
    return status


def centre_kb(kb: KnowledgeBase, status: str | None) -> KnowledgeBase:
    """``kb`` with the registry's funding rules carrying ``status`` (``kb`` itself when the
    centre never set one)."""
    kb = _BASE.get(id(kb), kb)  # a derived one: start again from its base
    if status is None:
        return kb
    return _derived(kb, parse_status(status))


# Each derived knowledge base's base, by the derived one's id (derived ones are cached for
# good, so an id is never reused).
_BASE: dict[int, KnowledgeBase] = {}


@cache
def _derived(kb: KnowledgeBase, status: Status) -> KnowledgeBase:
    options = dict(kb.options)
    for option_id in REGISTRY_OPTIONS & set(options):
        option = options[option_id]
        funding = {
            system: tuple(_rule(r, status) for r in rules)
            for system, rules in option.funding.items()
        }
        options[option_id] = dataclasses.replace(option, funding=funding)
    raw = {**kb.raw, "centre": {"prrt_registry_status": status}}
    # over the base's fingerprint, which may already cover local settings and trials
    mark = fingerprint({"base": kb.fingerprint, "prrt_registry_status": status})
    derived = dataclasses.replace(kb, options=options, raw=raw, fingerprint=mark)
    _BASE[id(derived)] = kb
    return derived


def _rule(rule: FundingRule, status: Status) -> FundingRule:
    if rule.pathway != "audit_registry":
        return rule
    note = f"{STATUS_NOTE[status]} {_ON_HOLD.sub('', rule.note)}"
    return dataclasses.replace(rule, registry_status=status, note=note)
