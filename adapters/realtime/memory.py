"""In-memory wake-ups: the store's condition, signalled on every commit."""

from __future__ import annotations

import attrs

from arccm.adapters.memory.store import MemoryStore
from arccm.domain.access import Actor


@attrs.define
class MemoryWakeups:
    store: MemoryStore
    _seen: int = 0
    _interrupted: bool = False

    def connect(self) -> None:
        with self.store.committed:
            self._seen = self.store.commits

    def wait(self, timeout: float) -> bool:
        with self.store.committed:
            woke = self.store.committed.wait_for(
                lambda: self.store.commits != self._seen or self._interrupted, timeout=timeout
            )
            self._seen, self._interrupted = self.store.commits, False
            return woke

    def follow(self, actors: frozenset[Actor]) -> None:
        """Every wake-up goes to the whole process; the feed's read applies each actor's scope."""

    def interrupt(self) -> None:
        with self.store.committed:
            self._interrupted = True
            self.store.committed.notify_all()

    def close(self) -> None:
        """Nothing to release."""
