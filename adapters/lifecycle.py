"""Start-up, health, statistics and shutdown — what the replaced system called its integration manager.

One lifecycle per backend: the container picks the one that matches its storage, so no method asks "which
backend am I?" again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from arccm.adapters.memory.store import MemoryStore

if TYPE_CHECKING:
    from arccm.adapters.postgres.database import Database


class Lifecycle(Protocol):
    def init(self, migrate: bool = True) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...

    def shutdown(self, timeout: float = 30.0) -> None: ...


@attrs.define
class MemoryLifecycle:
    store: MemoryStore
    started_at: float = attrs.field(factory=time.time)

    def init(self, migrate: bool = True) -> None:
        """Nothing to reach or migrate: the store is this process's memory."""

    def health(self) -> dict[str, Any]:
        with self.store.lock:
            rows = len(self.store.sessions) + len(self.store.certificates)
        return {"status": "healthy", "backend": "memory", "rows": rows}

    def stats(self) -> dict[str, Any]:
        with self.store.lock:
            return {
                "backend": "memory",
                "uptime_s": round(time.time() - self.started_at, 1),
                "sessions": len(self.store.sessions),
                "certificates": len(self.store.certificates),
                "changes": len(self.store.changes),
            }

    def shutdown(self, timeout: float = 30.0) -> None:
        """Nothing to close."""


@attrs.define
class PostgresLifecycle:
    database: Database
    started_at: float = attrs.field(factory=time.time)

    def init(self, migrate: bool = True) -> None:
        """Check the server answers (one-line error naming the URL if not) and bring the schema to head."""
        self.database.check_reachable()
        if migrate:
            self.database.upgrade()

    def health(self) -> dict[str, Any]:
        return {"backend": "postgres", **self.database.health()}

    def stats(self) -> dict[str, Any]:
        return {"backend": "postgres", "uptime_s": round(time.time() - self.started_at, 1), **self.database.stats()}

    def shutdown(self, timeout: float = 30.0) -> None:
        self.database.shutdown(timeout)
