"""CDS Hooks 2.0 JWT bearer tokens: who is calling, checked before any patient data is read.

A token is accepted only when: its ``iss`` is allow-listed; it is signed with an asymmetric
algorithm by a key of that issuer's JWK Set (``alg: none`` and HMAC algorithms are refused,
so an HS256 token "signed" with the public key fails); ``aud`` is exactly the endpoint
called; ``exp``, ``iat`` and ``jti`` are present; it has not expired and lives at most five
minutes; and its ``jti`` has not been seen before (replay): a ``jti`` is remembered as long
as the token could be accepted, that is until ``exp`` plus the leeway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from netmdt.cdshooks.config import CdsConfig

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


@dataclass(frozen=True)
class AuthError(Exception):
    """A refused token: ``code`` for machines, ``message`` for people (no token content)."""

    code: str
    message: str


@dataclass(frozen=True)
class Caller:
    iss: str
    sub: str | None
    jti: str


def verify_bearer(authorization: str | None, config: CdsConfig, audiences: list[str]) -> Caller:
    """The verified caller of a request, or ``AuthError`` (``StoreFull`` when the jti store
    has no room)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthError("missing_token", "an Authorization: Bearer <JWT> header is required")
    token = authorization[7:].strip()
    header, claims = _unverified(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AuthError(
            "unsupported_algorithm",
            f"alg {alg!r} is not allowed; use one of {', '.join(ALGORITHMS)}",
        )
    iss = claims.get("iss")
    jwks = config.trusted_issuers.get(iss) if isinstance(iss, str) else None
    if jwks is None:
        raise AuthError("unknown_issuer", f"issuer {iss!r} is not trusted by this service")
    key = _key(jwks, header.get("kid"), str(alg))
    verified = _decode(token, key, str(alg), config, audiences)
    _check_lifetime(verified, config)
    jti = str(verified["jti"])
    if not config.jti_store.check_and_remember(
        f"{iss}|{jti}", int(verified["exp"]) + config.leeway_seconds + 1
    ):
        raise AuthError("replayed_token", "this token (jti) has been used before")
    sub = verified.get("sub")
    return Caller(iss=str(iss), sub=str(sub) if sub is not None else None, jti=jti)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AuthError("invalid_token", "the bearer token is not a well-formed JWT") from None
    return header, claims


def _key(jwks: dict[str, Any], kid: Any, alg: str) -> Any:
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWTError:
        raise AuthError("invalid_token", "the issuer's JWK Set cannot be read") from None
    matching = [k for k in keys if kid is None or k.key_id == kid]
    if kid is None and len(matching) > 1:
        raise AuthError("invalid_token", "the token has no kid and the issuer has several keys")
    if not matching:
        raise AuthError("invalid_token", f"no key {kid!r} in the issuer's JWK Set")
    return matching[0].key


def _decode(token: str, key: Any, alg: str, config: CdsConfig, audiences: list[str]) -> Any:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audiences,
            leeway=config.leeway_seconds,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("expired_token", "the token has expired") from None
    except jwt.InvalidAudienceError:
        raise AuthError("wrong_audience", f"aud must be {' or '.join(audiences)}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError("invalid_token", f"the token has no {exc.claim!r} claim") from None
    except jwt.ImmatureSignatureError:
        raise AuthError("invalid_token", "the token is issued in the future (iat)") from None
    except jwt.InvalidSignatureError:
        raise AuthError("invalid_signature", "the signature does not verify") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise AuthError("invalid_token", "the token cannot be verified") from None


def _check_lifetime(claims: dict[str, Any], config: CdsConfig) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise AuthError("invalid_token", "exp and iat must be numbers")
    limit = config.max_token_lifetime_seconds + config.leeway_seconds
    if exp - iat > limit or exp - time.time() > limit:
        raise AuthError(
            "invalid_token", f"the token lives longer than {config.max_token_lifetime_seconds} s"
        )
