"""In-memory wake-ups: the store's condition, signalled on every commit."""

from __future__ import annotations

import attrs

from arccm.adapters.memory.store import MemoryStore


@attrs.define
class MemoryWakeups:
    store: MemoryStore
    _seen: int = 0

    def connect(self) -> None:
        with self.store.committed:
            self._seen = self.store.commits

    def wait(self, timeout: float) -> bool:
        with self.store.committed:
            woke = self.store.committed.wait_for(lambda: self.store.commits != self._seen, timeout=timeout)
            self._seen = self.store.commits
            return woke

    def close(self) -> None:
        """Nothing to release."""
