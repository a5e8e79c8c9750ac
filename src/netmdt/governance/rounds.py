"""Review rounds with several reviewers (openEHR Clinical Knowledge Manager style).

A clinical lead opens a round over one or more items and invites named reviewers (active
users with the ``clinical_lead`` or ``clinician`` role). Each invited reviewer records a
verdict and a comment once per round. A clinical lead closes the round with the final
verdict: one review record per item (``KbReview`` with ``round_id``), bound to the content
as it was when the round opened (what the reviewers saw; if the bundled knowledge base
changed it meanwhile, the closed review is lapsed at once). That final review is the one
that counts, exactly as a single clinical lead's review (``service.record_review``), which
keeps working beside rounds. One service for ``netmdt kb review round`` and the web pages;
every step is audited (record type ``kb_review_round``). While a round is open a clinical
lead may invite more reviewers, or cancel it with a reason (no review is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netmdt.errors import NotFoundError, Problem, RecordValidationError
from netmdt.governance import tables as g
from netmdt.governance.service import (
    NEEDS_COMMENT,
    ROLE,
    VERDICTS,
    _day,
    find_item,
)
from netmdt.kb import KnowledgeBase
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit
from netmdt.store.tables import now

REVIEWER_ROLES = frozenset({ROLE, "clinician"})
MAX_ITEMS = 200
MAX_COMMENT = 2000


@dataclass
class Round:
    row: g.KbReviewRound
    responses: list[g.KbRoundResponse]

    @property
    def open(self) -> bool:
        return self.row.closed_at is None

    @property
    def state(self) -> str:
        """open, closed (with the final review) or cancelled (no review)."""
        if self.open:
            return "open"
        return "cancelled" if self.row.cancelled else "closed"

    @property
    def waiting_for(self) -> list[str]:
        answered = {r.reviewer for r in self.responses}
        return [n for n in self.row.reviewers if n not in answered]

    def as_json(self) -> dict[str, Any]:
        r = self.row
        return {
            "round": r.id,
            "state": self.state,
            "items": sorted(r.items),
            "reviewers": list(r.reviewers),
            "note": r.note,
            "opened_by": r.opened_by,
            "opened_on": str(_day(r.opened_at)),
            "responses": [
                {
                    "reviewer": x.reviewer,
                    "verdict": x.verdict,
                    "comment": x.comment,
                    "on": str(_day(x.created_at)),
                }
                for x in self.responses
            ],
            "waiting_for": self.waiting_for,
            "closed_by": r.closed_by,  # or cancelled by
            "cancelled": r.cancelled,
            "closed_on": None if r.closed_at is None else str(_day(r.closed_at)),
            "verdict": r.verdict,
            "comment": r.comment,
        }


def _problem(where: str, message: str, code: str = "invalid") -> RecordValidationError:
    return RecordValidationError([Problem(where, message, code)])


def _lead(actor: Actor) -> None:
    if ROLE not in actor.roles:
        raise _problem("as", f"needs the {ROLE} role", "role")


def _verdict(verdict: str, comment: str | None) -> str | None:
    if verdict not in VERDICTS:
        raise _problem("verdict", f"{verdict!r} is not allowed; allowed: {', '.join(VERDICTS)}")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise _problem("comment", f"at most {MAX_COMMENT} characters")
    if verdict in NEEDS_COMMENT and comment is None:
        raise _problem("comment", f"a {verdict.replace('_', ' ')} verdict needs a comment")
    return comment


def user_actor(db: Session, name: str) -> Actor:
    """An active user by name (``--as USER``), with the roles they hold."""
    user = db.scalar(select(t.User).where(t.User.name == name))
    if user is None or not user.active:
        raise NotFoundError(f"active user {name!r}")
    return Actor(user.name, frozenset(user.roles))


def eligible_reviewers(db: Session) -> list[str]:
    """Active users who may be invited: clinical leads and clinicians."""
    users = db.scalars(select(t.User).where(t.User.active.is_(True)).order_by(t.User.name))
    return [u.name for u in users if REVIEWER_ROLES & set(u.roles)]


def _reviewers(db: Session, names: list[str]) -> list[str]:
    """The names (stripped, once each), each an active clinical lead or clinician."""
    reviewers = list(dict.fromkeys(r.strip() for r in names if r.strip()))
    if not reviewers:
        raise _problem("reviewers", "invite at least one reviewer")
    allowed = set(eligible_reviewers(db))
    wrong = [r for r in reviewers if r not in allowed]
    if wrong:
        raise _problem(
            "reviewers",
            f"{', '.join(map(repr, wrong))}: not an active user with the clinical_lead or "
            "clinician role",
            "role",
        )
    return reviewers


def _still_open(rnd: Round) -> None:
    if not rnd.open:
        raise _problem("round", f"round {rnd.row.id} is already {rnd.state}", rnd.state)


def open_round(
    db: Session,
    actor: Actor,
    kb: KnowledgeBase,
    items: list[str],
    reviewers: list[str],
    note: str | None = None,
) -> Round:
    """Open a round over ``items`` (their content now) inviting ``reviewers``; audited."""
    _lead(actor)
    items = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not items:
        raise _problem("items", "name at least one item (option.criterion, trial:TRIAL.CRITERION)")
    if len(items) > MAX_ITEMS:
        raise _problem("items", f"at most {MAX_ITEMS} items in a round")
    found = [find_item(kb, i) for i in items]
    reviewers = _reviewers(db, reviewers)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_COMMENT:
        raise _problem("note", f"at most {MAX_COMMENT} characters")
    row = g.KbReviewRound(
        items={i.id: {"fingerprint": i.fingerprint, "content": i.content} for i in found},
        reviewers=reviewers,
        note=note,
        opened_by=actor.name,
    )
    db.add(row)
    db.flush()
    audit(
        db,
        actor,
        "open",
        "kb_review_round",
        str(row.id),
        items=[i.id for i in found],
        reviewers=reviewers,
    )
    db.commit()
    return Round(row, [])


def get_round(db: Session, round_id: int) -> Round:
    row = db.get(g.KbReviewRound, round_id)
    if row is None:
        raise NotFoundError(f"review round {round_id}")
    responses = db.scalars(
        select(g.KbRoundResponse)
        .where(g.KbRoundResponse.round_id == round_id)
        .order_by(g.KbRoundResponse.id)
    ).all()
    return Round(row, list(responses))


def list_rounds(db: Session) -> list[Round]:
    rows = db.scalars(select(g.KbReviewRound).order_by(g.KbReviewRound.id.desc())).all()
    return [get_round(db, r.id) for r in rows]


def respond(
    db: Session, actor: Actor, round_id: int, verdict: str, comment: str | None = None
) -> Round:
    """An invited reviewer's verdict and comment, once per round, while it is open."""
    rnd = get_round(db, round_id)
    _still_open(rnd)
    if actor.name not in rnd.row.reviewers:
        raise _problem("as", f"{actor.name!r} is not invited to round {round_id}", "not_invited")
    if not REVIEWER_ROLES & actor.roles:
        raise _problem("as", "needs the clinical_lead or clinician role", "role")
    if any(r.reviewer == actor.name for r in rnd.responses):
        raise _problem("as", f"{actor.name!r} has already responded in round {round_id}", "once")
    comment = _verdict(verdict, comment)
    row = g.KbRoundResponse(
        round_id=round_id, reviewer=actor.name, verdict=verdict, comment=comment
    )
    db.add(row)
    db.flush()
    audit(db, actor, "respond", "kb_review_round", str(round_id), verdict=verdict)
    db.commit()
    return get_round(db, round_id)


def close_round(
    db: Session,
    actor: Actor,
    round_id: int,
    verdict: str,
    comment: str | None = None,
) -> Round:
    """Close the round with the final verdict: a review record per item (the one that
    counts), bound to the content the round opened over; audited."""
    _lead(actor)
    rnd = get_round(db, round_id)
    _still_open(rnd)
    comment = _verdict(verdict, comment)
    row = rnd.row
    for item_id, seen in row.items.items():
        db.add(
            g.KbReview(
                item=item_id,
                fingerprint=seen["fingerprint"],
                content=seen["content"],
                status=verdict,
                comment=comment,
                reviewer=actor.name,
                round_id=row.id,
            )
        )
    row.closed_by = actor.name
    row.closed_at = now()
    row.verdict = verdict
    row.comment = comment
    db.flush()
    audit(
        db,
        actor,
        "close",
        "kb_review_round",
        str(round_id),
        verdict=verdict,
        items=sorted(row.items),
        responses=len(rnd.responses),
        invited=len(row.reviewers),
    )
    db.commit()
    return get_round(db, round_id)


def invite(db: Session, actor: Actor, round_id: int, reviewers: list[str]) -> Round:
    """Add reviewers to an open round (a clinical lead); those already invited are named
    in the error, nothing is added then; audited."""
    _lead(actor)
    rnd = get_round(db, round_id)
    _still_open(rnd)
    names = _reviewers(db, reviewers)
    again = [n for n in names if n in rnd.row.reviewers]
    if again:
        raise _problem(
            "reviewers",
            f"{', '.join(map(repr, again))}: already invited to round {round_id}",
            "invited",
        )
    rnd.row.reviewers = [*rnd.row.reviewers, *names]  # a new list: the JSON column changes
    db.flush()
    audit(db, actor, "invite", "kb_review_round", str(round_id), reviewers=names)
    db.commit()
    return get_round(db, round_id)


def cancel_round(db: Session, actor: Actor, round_id: int, reason: str) -> Round:
    """Cancel an open round with a reason (a clinical lead): no review is written, the
    responses stay; audited."""
    _lead(actor)
    rnd = get_round(db, round_id)
    _still_open(rnd)
    reason = (reason or "").strip()
    if not reason:
        raise _problem("reason", "say why the round is cancelled")
    if len(reason) > MAX_COMMENT:
        raise _problem("reason", f"at most {MAX_COMMENT} characters")
    row = rnd.row
    row.cancelled = True
    row.closed_by = actor.name
    row.closed_at = now()
    row.comment = reason
    db.flush()
    audit(
        db,
        actor,
        "cancel",
        "kb_review_round",
        str(round_id),
        items=sorted(row.items),
        responses=len(rnd.responses),
        invited=len(row.reviewers),
    )
    db.commit()
    return get_round(db, round_id)
