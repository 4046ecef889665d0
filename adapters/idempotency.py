"""Where the HTTP API keeps its idempotency keys (adapters/http/idempotency.py says what they mean): in
PostgreSQL (adapters/postgres/idempotency.py) or in memory (adapters/memory/idempotency.py)."""

from __future__ import annotations

from typing import Literal, Protocol

import attrs

from arccm.domain.access import Actor


@attrs.frozen
class Stored:
    status: int
    media_type: str
    body: bytes


Claimed = Stored | Literal["new", "running", "mismatch"]


class IdempotencyStore(Protocol):
    def claim(self, actor: Actor, key: str, fingerprint: str, lock_seconds: int, ttl_seconds: int) -> Claimed:
        """``new`` (the caller runs the request and then ``finish``es or ``release``s), the stored response,
        ``running`` (another request holds the key) or ``mismatch`` (the key named another request)."""
        ...

    def finish(self, actor: Actor, key: str, stored: Stored) -> None: ...

    def release(self, actor: Actor, key: str) -> None: ...
