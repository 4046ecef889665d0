"""Idempotency keys in memory (adapters/http/idempotency.py), for an API served on the in-memory store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from uuid import UUID

import attrs

from arccm.adapters.idempotency import Claimed, Stored
from arccm.domain.access import Actor


@attrs.frozen
class _Key:
    fingerprint: str
    locked_until: float
    expires_at: float
    stored: Stored | None = None


@attrs.define
class MemoryIdempotency:
    now: Callable[[], float] = time.monotonic
    _keys: dict[tuple[UUID, str], _Key] = attrs.field(factory=dict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def claim(self, actor: Actor, key: str, fingerprint: str, lock_seconds: int, ttl_seconds: int) -> Claimed:
        now = self.now()
        with self._lock:
            for name in [k for k, held in self._keys.items() if held.expires_at <= now]:
                del self._keys[name]
            held = self._keys.get((actor.user_id, key))
            if held is not None and held.fingerprint != fingerprint:
                return "mismatch"
            if held is not None and held.stored is not None:
                return held.stored
            if held is not None and held.locked_until > now:
                return "running"
            self._keys[(actor.user_id, key)] = _Key(fingerprint, now + lock_seconds, now + ttl_seconds)
            return "new"

    def finish(self, actor: Actor, key: str, stored: Stored) -> None:
        with self._lock:
            held = self._keys.get((actor.user_id, key))
            if held is not None:
                self._keys[(actor.user_id, key)] = attrs.evolve(held, stored=stored)

    def release(self, actor: Actor, key: str) -> None:
        with self._lock:
            self._keys.pop((actor.user_id, key), None)
