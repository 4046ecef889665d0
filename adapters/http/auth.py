"""Bearer JWTs, HS256 with ``ARCCM_JWT_SECRET``, as a Supabase project issues them (``sub`` the user's id, ``exp``,
``aud`` "authenticated"): the token says who is calling; what they may do is loaded from the database on every
request (``ResolveActorHandler``), never read from the claims."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

AUDIENCE = "authenticated"  # what Supabase puts in its users' tokens
MAX_TOKEN = 8192


class Unauthenticated(Exception):
    """No usable token: the reason, said to the caller in one sentence."""


def subject(authorization: str | None, secret: str | None) -> uuid.UUID:
    """The user id a bearer token names, once its signature, expiry and audience check out."""
    if secret is None:
        raise Unauthenticated("this server has no ARCCM_JWT_SECRET: it accepts no tokens")
    if not authorization:
        raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send a bearer token: Authorization: Bearer <JWT>")
    if len(token) > MAX_TOKEN:
        raise Unauthenticated("the token is too long")
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["exp", "sub"]})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"the token is not valid ({type(error).__name__})") from None
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthenticated("the token's subject is not a user id") from None


def mint(user_id: uuid.UUID, secret: str, ttl: timedelta, now: datetime | None = None) -> str:
    """A token as Supabase would issue it, for development and tests (``arccm token``)."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {"sub": str(user_id), "aud": AUDIENCE, "role": "authenticated",
                              "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp())}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


FEED_AUDIENCE = "arccm-calendar"  # a calendar feed token opens the feed only; a bearer token never opens a feed


def mint_feed(user_id: uuid.UUID, secret: str, now: datetime | None = None) -> str:
    """The token in a calendar feed's URL: it names the user and no expiry (calendar apps keep the URL for years);
    the user's standing is still loaded for every fetch, so deactivating them closes their feed."""
    issued = now or datetime.now(UTC)
    claims = {"sub": str(user_id), "aud": FEED_AUDIENCE, "iat": int(issued.timestamp())}
    return jwt.encode(claims, secret, algorithm="HS256")


def feed_subject(token: str, secret: str | None) -> uuid.UUID:
    if secret is None:
        raise Unauthenticated("this server has no ARCCM_JWT_SECRET: it serves no feeds")
    if len(token) > MAX_TOKEN:
        raise Unauthenticated("the token is too long")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=FEED_AUDIENCE, options={"require": ["sub"]})
        return uuid.UUID(str(claims["sub"]))
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthenticated("the feed token is not valid") from None
