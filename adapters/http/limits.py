"""Per-client rate limits: a sliding window of request times per (purpose, client address), in this process."""

from __future__ import annotations

import threading
import time
from collections import deque

import attrs


@attrs.define
class Limiter:
    """At most ``limit`` requests per ``window`` seconds for each key; ``check`` answers how long to wait (0: go)."""

    limit: int
    window: float
    _seen: dict[str, deque[float]] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _max_keys: int = 100_000  # a flood of distinct addresses forgets the oldest instead of growing without bound

    def check(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                self._seen[key] = times
                return max(1, int(times[0] + self.window - now + 0.999))
            times.append(now)
            self._seen[key] = times  # re-inserted last: the dict's order is least recently seen first
            if len(self._seen) > self._max_keys:
                del self._seen[next(iter(self._seen))]
            return 0
