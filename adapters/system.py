"""Sources of time, identity and randomness from the real world."""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta

import attrs

from arccm.domain.verification_code import RANDOM_BITS, VerificationCode, encode


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.define
class ManualClock:
    """A clock that moves only when told: for demos, tests and replays."""

    current: datetime
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.current += delta


class RandomIds:
    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()


class SecureCodes:
    """Verification codes from the operating system's CSPRNG (``secrets``)."""

    def new_code(self) -> VerificationCode:
        return encode(secrets.randbits(RANDOM_BITS))
