"""Passwords (Argon2), API tokens, login throttling and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from netmdt.config import Settings
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password: evens out the time of an unknown user name")
TOKEN_PREFIX = "nmdt_"


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password() -> str:
    """A generated password for demo users (never a default one)."""
    return secrets.token_urlsafe(12)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(db: Session, settings: Settings, name: str, password: str) -> t.User | None:
    """The user if name and password match; counts failures and throttles guessing.

    What was typed as a name is kept (for counting) only if it fits a user name, and is
    shown in the audit log only when it is a real user's: a password typed into the name
    box must not end up in front of auditors."""
    name = name[:80]
    since = datetime.now(UTC) - timedelta(minutes=settings.login_window_minutes)
    failures = db.scalar(
        select(func.count()).where(t.LoginFailure.name == name, t.LoginFailure.at >= since)
    )
    user = db.scalar(select(t.User).where(t.User.name == name, t.User.active.is_(True)))
    who = user.name if user else "(unknown user name)"
    if (failures or 0) >= settings.login_max_failures:
        audit(db, who, "login_throttled", "user", user.id if user else None)
        db.commit()
        raise Throttled(int(settings.login_window_minutes * 60))
    if not _verify(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        db.add(t.LoginFailure(name=name))
        audit(db, who, "login_failed", "user", user.id if user else None)
        db.commit()
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.execute(delete(t.LoginFailure).where(t.LoginFailure.name == name))
    audit(db, user.name, "login", "user", user.id)
    db.commit()
    return user


def create_token(db: Session, user: t.User) -> str:
    """A new API token for ``user``; only its hash is stored, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(t.ApiToken(user_id=user.id, token_hash=_token_hash(token)))
    audit(db, "netmdt", "create", "token", user.id)
    db.commit()
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenCache:
    """Verified tokens, trusted for ``ttl`` seconds before the database is asked again."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._seen: dict[str, tuple[float, Actor]] = {}

    def cached(self, token: str) -> Actor | None:
        """The token's user if it was verified less than ``ttl`` seconds ago."""
        hit = self._seen.get(_token_hash(token))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def actor(self, db: Session, token: str) -> Actor | None:
        key = _token_hash(token)
        hit = self._seen.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        row = db.execute(
            select(t.User.name, t.User.roles)
            .join(t.ApiToken, t.ApiToken.user_id == t.User.id)
            .where(
                t.ApiToken.token_hash == key,
                t.ApiToken.revoked.is_(False),
                t.User.active.is_(True),
            )
        ).first()
        if row is None:
            self._seen.pop(key, None)
            return None
        actor = Actor(row.name, frozenset(row.roles))
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (time.monotonic() + self.ttl, actor)
        return actor


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
