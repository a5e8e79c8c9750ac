"""Passwords (Argon2 on a bounded pool), the password policy, API tokens and their cache,
atomic login throttling and CSRF tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from netmdt.api.limits import send_body
from netmdt.config import Settings
from netmdt.passwords import password_problem
from netmdt.store import tables as t
from netmdt.store.services import Actor, audit

# OWASP's Argon2id profile (m=19 MiB, t=2, p=1): a third of argon2-cffi's default memory
# and one thread per check, so a burst of logins cannot exhaust the machine. Hashes made
# with other parameters still verify, and are re-hashed at the next successful login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("not a password: evens out the time of an unknown user name")
TOKEN_PREFIX = "nmdt_"
UNKNOWN_NAME = "(unknown user name)"
__all__ = ["password_problem"]


class Throttled(Exception):
    def __init__(self, retry_after: int, *, client: bool = False) -> None:
        self.retry_after = retry_after
        self.client = client  # the client's own limit (not a name's or a pair's)
        super().__init__(f"too many failed logins; try again in {retry_after} s")


class Busy(Exception):
    """Every password-check thread is busy and the queue is full: answer 503 at once."""

    retry_after = 2

    def __init__(self) -> None:
        super().__init__("the server is busy checking other logins; try again in a few seconds")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password() -> str:
    """A generated password for demo users (never a default one)."""
    return secrets.token_urlsafe(12)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False


# -- the bounded password-check pool ----------------------------------------------------


class PasswordChecks:
    """A fixed pool of ``workers`` threads for Argon2 at login, with at most ``queue``
    logins waiting. Logins beyond that are refused at once (:class:`Busy`), so a flood of
    unauthenticated logins can neither queue up without end nor take the threads that
    every other request runs on."""

    def __init__(self, workers: int, queue: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netmdt-login")
        self._size = workers + queue
        self._taken = 0
        self._lock = threading.Lock()
        # Clients refused by their per-client limit, until when: refused again without a
        # database round trip (bounded; each process keeps its own).
        self._blocked: dict[str, float] = {}

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._taken >= self._size:
                raise Busy()
            self._taken += 1
        try:
            yield
        finally:
            with self._lock:
                self._taken -= 1

    def full(self) -> bool:
        return self._taken >= self._size

    async def verify(self, password_hash: str, password: str) -> bool:
        future = self._pool.submit(_verify, password_hash, password)
        return await asyncio.wrap_future(future)

    def blocked(self, client: str) -> int | None:
        until = self._blocked.get(client)
        if until is None:
            return None
        left = until - time.time()
        if left <= 0:
            self._blocked.pop(client, None)
            return None
        return math.ceil(left)

    def block(self, client: str, retry_after: int) -> None:
        if len(self._blocked) > 10_000:
            self._blocked.clear()
        self._blocked[client] = time.time() + retry_after

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


LOGIN_PATHS = frozenset({"/login", "/account/password"})


class LoginGate:
    """Pure ASGI: a password-checking POST is refused at once, 429 when its address is
    over its limit and 503 when the password pool and its queue are full, before its body
    is read, its session cookie decoded or its route found. A flood's refusals then cost
    microseconds, and the event loop stays free for everyone else's requests."""

    def __init__(self, app: ASGIApp, checks: PasswordChecks) -> None:
        self.app = app
        self.checks = checks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in LOGIN_PATHS:
            client = scope.get("client")
            retry_after = self.checks.blocked(client[0] if client else "unknown")
            if retry_after is not None:
                await _refuse(send, 429, retry_after, Throttled(retry_after))
                return
            if self.checks.full():
                await _refuse(send, 503, Busy.retry_after, Busy())
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, retry_after: int, error: Exception) -> None:
    body = (
        f'<!doctype html><html lang="en-GB"><title>netmdt</title><p>{error}</p>'
        '<p><a href="/login">Log in</a></p></html>'
    ).encode()
    headers = [(b"retry-after", str(retry_after).encode())]
    await send_body(send, status, body, b"text/html; charset=utf-8", headers)


# -- login with atomic throttling -------------------------------------------------------


def _key(kind: str, *parts: str) -> str:
    """A counter's key: hashed, so neither a typed name nor an address is stored."""
    return hashlib.sha256("\x1f".join((kind, *parts)).encode("utf-8", "replace")).hexdigest()


@dataclass
class _Reservation:
    user_id: int | None
    password_hash: str
    keys: list[str]  # counters that this attempt was counted in (refunded on success)
    pair: str


def _reserve(db: Session, key: str, limit: int, now: float, window: float) -> int | None:
    """Count one attempt against ``key`` in one conditional upsert; None when the key has
    reached ``limit`` in its window (then the Retry-After in seconds is raised instead).

    One statement, so concurrent attempts cannot all pass a check before any counts."""
    a = t.LoginAttempt
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    expired = a.window_start <= now - window
    stmt = (
        insert(a)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[a.key],
            set_={
                "count": case((expired, 1), else_=a.count + 1),
                "window_start": case((expired, now), else_=a.window_start),
            },
            where=or_(expired, a.count < limit),
        )
        .returning(a.count)
    )
    if db.execute(stmt).first() is not None:
        return None
    start = db.scalar(select(a.window_start).where(a.key == key)) or now
    return max(1, math.ceil(start + window - now))


def reserve_login(
    db: Session, settings: Settings, name: str, client: str
) -> _Reservation | Throttled:
    """Count the attempt against the client, the (name, client) pair and (unless this
    client logged in as this user before) the name, before any password is checked."""
    now = time.time()
    window = settings.login_window_minutes * 60
    pair = _key("pair", name, client)
    keys = [_key("client", client), pair]
    limits = [settings.login_max_failures_per_client, settings.login_max_failures]
    trusted = db.scalar(select(t.LoginAttempt.trusted_until).where(t.LoginAttempt.key == pair))
    if not (trusted and trusted > now):
        keys.append(_key("name", name))
        limits.append(settings.login_max_failures_per_name)
    for key, limit in zip(keys, limits, strict=True):
        retry_after = _reserve(db, key, limit, now, window)
        if retry_after is not None:
            db.commit()
            return Throttled(retry_after, client=key == keys[0])
    db.commit()
    user = db.scalar(select(t.User).where(t.User.name == name, t.User.active.is_(True)))
    return _Reservation(
        user.id if user else None, user.password_hash if user else _DUMMY_HASH, keys, pair
    )


def settle_login(
    db: Session, settings: Settings, booking: _Reservation, ok: bool, password: str
) -> t.User | None:
    """Record the outcome: a success refunds the attempt, resets the pair's count and
    trusts the client for this name; a failure stays counted."""
    user = db.get(t.User, booking.user_id) if booking.user_id is not None else None
    if not ok or user is None or not user.active:
        audit(db, user.name if user else UNKNOWN_NAME, "login_failed", "user", booking.user_id)
        _prune(db, settings)
        db.commit()
        return None
    now = time.time()
    a = t.LoginAttempt
    refund = [k for k in booking.keys if k != booking.pair]
    db.execute(update(a).where(a.key.in_(refund), a.count > 0).values(count=a.count - 1))
    db.execute(
        update(a)
        .where(a.key == booking.pair)
        .values(count=0, trusted_until=now + settings.login_trust_days * 86400)
    )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit(db, user.name, "login", "user", user.id)
    db.commit()
    return user


_last_prune = [0.0]


def _prune(db: Session, settings: Settings) -> None:
    """Drop counters whose window has passed and that trust no client (at most once a
    minute per process): the table holds only the current window's keys."""
    now = time.time()
    if now - _last_prune[0] < 60:
        return
    _last_prune[0] = now
    a = t.LoginAttempt
    db.execute(
        delete(a).where(
            a.window_start <= now - settings.login_window_minutes * 60,
            or_(a.trusted_until.is_(None), a.trusted_until <= now),
        )
    )


async def check_login(
    sessions: sessionmaker[Session],
    settings: Settings,
    checks: PasswordChecks,
    name: str,
    password: str,
    client: str,
) -> t.User | None:
    """The user if name and password match, else None. Raises :class:`Busy` (503) when
    the password-check pool is full and :class:`Throttled` (429) over a limit; both
    before any hashing. What was typed is used as is: never stripped."""
    name = name[:80]
    retry_after = checks.blocked(client)
    if retry_after is not None:
        raise Throttled(retry_after)
    with checks.slot():
        booking = await run_in_threadpool(_reserve_in, sessions, settings, name, client)
        if isinstance(booking, Throttled):
            if booking.client:
                checks.block(client, booking.retry_after)
            raise booking
        ok = await checks.verify(booking.password_hash, password)
        return await run_in_threadpool(_settle_in, sessions, settings, booking, ok, password)


def _reserve_in(
    sessions: sessionmaker[Session], settings: Settings, name: str, client: str
) -> _Reservation | Throttled:
    with sessions() as db:
        booking = reserve_login(db, settings, name, client)
        if isinstance(booking, Throttled):
            user = db.scalar(select(t.User.id).where(t.User.name == name))
            audit(db, name if user else UNKNOWN_NAME, "login_throttled", "user", user)
            db.commit()
        return booking


def _settle_in(
    sessions: sessionmaker[Session],
    settings: Settings,
    booking: _Reservation,
    ok: bool,
    password: str,
) -> t.User | None:
    with sessions() as db:
        return settle_login(db, settings, booking, ok, password)


# -- API tokens -------------------------------------------------------------------------


def create_token(
    db: Session,
    user: t.User,
    *,
    expires_at: datetime | None = None,
    actor: str = "netmdt",
) -> str:
    """A new API token for ``user``; only its hash is stored, so it is shown once.
    ``expires_at`` None: it never expires (``netmdt token create`` sets one by default)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = t.ApiToken(user_id=user.id, token_hash=token_hash(token), expires_at=expires_at)
    db.add(row)
    db.flush()
    audit(
        db,
        actor,
        "create",
        "token",
        row.id,
        user=user.name,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    db.commit()
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often


class TokenCache:
    """Verified tokens, trusted for ``ttl`` seconds before the database is asked again.

    Revocation still takes effect within ``poll`` seconds (1 s) in every process: each
    process reads the one-row credential epoch at most once per ``poll`` and empties its
    cache when the epoch has moved (a token revoked, a user deactivated or their password
    changed, from any process or the CLI). The process that revokes empties its cache at
    once. A token's expiry also ends its cache entry."""

    def __init__(self, ttl: float, poll: float = 1.0) -> None:
        self.ttl = ttl
        self.poll = min(poll, ttl)
        self._seen: dict[str, tuple[float, Actor]] = {}
        self._epoch: int | None = None
        self._synced = -math.inf
        self._lock = threading.Lock()
        self.clock = time.monotonic

    def cached(self, token: str) -> Actor | None:
        """The token's user if it was verified less than ``ttl`` seconds ago and the
        credential epoch was read less than ``poll`` seconds ago (no database access)."""
        now = self.clock()
        if now - self._synced > self.poll:
            return None
        hit = self._seen.get(token_hash(token))
        return hit[1] if hit and hit[0] > now else None

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def sync(self, db: Session) -> None:
        """Read the credential epoch; a change empties the cache."""
        epoch = db.scalar(select(t.CredentialEpoch.epoch).where(t.CredentialEpoch.id == 1))
        with self._lock:
            if epoch != self._epoch:
                self._seen.clear()
                self._epoch = epoch
            self._synced = self.clock()

    def actor(self, db: Session, token: str) -> Actor | None:
        if self.clock() - self._synced > self.poll:
            self.sync(db)
        key = token_hash(token)
        hit = self._seen.get(key)
        if hit and hit[0] > self.clock():
            return hit[1]
        now = datetime.now(UTC)
        row = db.execute(
            select(
                t.User.name,
                t.User.roles,
                t.ApiToken.id,
                t.ApiToken.expires_at,
                t.ApiToken.last_used_at,
            )
            .join(t.ApiToken, t.ApiToken.user_id == t.User.id)
            .where(
                t.ApiToken.token_hash == key,
                t.ApiToken.revoked.is_(False),
                t.User.active.is_(True),
                or_(t.ApiToken.expires_at.is_(None), t.ApiToken.expires_at > now),
            )
        ).first()
        if row is None:
            self._seen.pop(key, None)
            return None
        if row.last_used_at is None or utc(row.last_used_at) < now - LAST_USED_RESOLUTION:
            db.execute(update(t.ApiToken).where(t.ApiToken.id == row.id).values(last_used_at=now))
            db.commit()
        actor = Actor(row.name, frozenset(row.roles))
        lifetime = self.ttl
        if row.expires_at is not None:
            lifetime = min(lifetime, (utc(row.expires_at) - now).total_seconds())
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (self.clock() + lifetime, actor)
        return actor


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
