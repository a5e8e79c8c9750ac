"""Account lifecycle: API tokens (list, revoke), deactivation and reactivation, password
changes and session ends. Shared by the CLI, the admin API and the admin pages; every
change is audited in the same transaction, and every change that ends a credential bumps
the credential epoch (so every process's token cache forgets) and, for a user, their
session epoch (so their session cookies stop working)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from netmdt.errors import NotFoundError, Problem, RecordValidationError
from netmdt.passwords import password_problem
from netmdt.store import schemas as s
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit


def bump_credential_epoch(db: Session) -> None:
    db.execute(
        update(t.CredentialEpoch)
        .where(t.CredentialEpoch.id == 1)
        .values(epoch=t.CredentialEpoch.epoch + 1)
    )


def end_sessions(db: Session, user_id: int) -> None:
    """Every session cookie the user holds stops working (logout ends them all)."""
    db.execute(
        update(t.User).where(t.User.id == user_id).values(session_epoch=t.User.session_epoch + 1)
    )


def user_named(db: Session, name: str) -> t.User:
    user = db.scalar(select(t.User).where(t.User.name == name))
    if user is None:
        raise NotFoundError(f"user {name!r}")
    return user


def user_by_id(db: Session, user_id: int) -> t.User:
    user = db.get(t.User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id}")
    return user


def _token_out(row: t.ApiToken, user: str) -> s.TokenOut:
    return s.TokenOut(
        id=row.id,
        user=user,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked=row.revoked,
        revoked_at=row.revoked_at,
    )


def list_tokens(db: Session, actor: Actor | str, user: str | None = None) -> list[s.TokenOut]:
    """Every token's record (newest first), or one user's; audited."""
    stmt = (
        select(t.ApiToken, t.User.name)
        .join(t.User, t.User.id == t.ApiToken.user_id)
        .order_by(t.ApiToken.id.desc())
    )
    if user is not None:
        stmt = stmt.where(t.User.name == user)
    out = [_token_out(row, name) for row, name in db.execute(stmt)]
    audit(db, actor, "list", "token", None, user=user, count=len(out))
    db.commit()
    return out


def revoke_token(db: Session, actor: Actor | str, token_id: int) -> s.TokenOut:
    """Revoke one token (idempotent: revoking a revoked token changes nothing)."""
    row = db.get(t.ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"token {token_id}")
    if not row.revoked:
        row.revoked = True
        row.revoked_at = datetime.now(UTC)
        bump_credential_epoch(db)
    owner = user_by_id(db, row.user_id).name
    audit(db, actor, "revoke", "token", row.id, user=owner)
    db.commit()
    return _token_out(row, owner)


def token_id_of(db: Session, token_hash: str) -> int:
    found = db.scalar(select(t.ApiToken.id).where(t.ApiToken.token_hash == token_hash))
    if found is None:
        raise NotFoundError("token: no such token")
    return found


def _revoke_all(db: Session, user: t.User) -> int:
    now = datetime.now(UTC)
    result = db.execute(
        update(t.ApiToken)
        .where(t.ApiToken.user_id == user.id, t.ApiToken.revoked.is_(False))
        .values(revoked=True, revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def deactivate_user(db: Session, actor: Actor | str, user: t.User) -> s.UserOut:
    """The user can no longer log in; their sessions end and all their tokens are revoked."""
    name = actor if isinstance(actor, str) else actor.name
    if name == user.name:
        raise RecordValidationError([Problem("name", "you cannot deactivate yourself")])
    revoked = _revoke_all(db, user)
    if user.active:
        user.active = False
        user.deactivated_at = datetime.now(UTC)
    end_sessions(db, user.id)
    bump_credential_epoch(db)
    audit(db, actor, "deactivate", "user", user.id, tokens_revoked=revoked)
    db.commit()
    db.refresh(user)
    return s.UserOut.model_validate(user, from_attributes=True)


def activate_user(db: Session, actor: Actor | str, user: t.User) -> s.UserOut:
    """Let a deactivated user log in again (their revoked tokens stay revoked)."""
    user.active = True
    user.deactivated_at = None
    audit(db, actor, "activate", "user", user.id)
    db.commit()
    return s.UserOut.model_validate(user, from_attributes=True)


def check_new_password(user: t.User, password: str) -> None:
    problem = password_problem(password, user.name)
    if problem:
        raise RecordValidationError([Problem("password", problem)])


def set_password(db: Session, actor: Actor | str, user: t.User, password: str) -> int:
    """Set a new password (policy-checked, as typed); every session of the user ends.
    Returns the user's new session epoch (to re-issue the changer's own session)."""
    from netmdt.api.security import hash_password

    check_new_password(user, password)
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    end_sessions(db, user.id)
    bump_credential_epoch(db)
    audit(db, actor, "password", "user", user.id)
    db.commit()
    db.refresh(user)
    return user.session_epoch
