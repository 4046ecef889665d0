"""Start-up, health, statistics and shutdown — what the replaced system called its integration manager."""

from __future__ import annotations

import time
from typing import Any

import attrs

from arccm.adapters.memory.store import MemoryStore
from arccm.adapters.postgres.database import Database


@attrs.define
class Lifecycle:
    backend: str
    database: Database | None
    store: MemoryStore
    started_at: float = attrs.field(factory=time.time)

    def init(self, migrate: bool = True) -> None:
        """Check the server answers (one-line error naming the URL if not) and bring the schema to head."""
        if self.database is None:
            return
        self.database.check_reachable()
        if migrate:
            self.database.upgrade()

    def health(self) -> dict[str, Any]:
        if self.database is None:
            with self.store.lock:
                rows = len(self.store.sessions) + len(self.store.certificates)
            return {"status": "healthy", "backend": "memory", "rows": rows}
        return {"backend": "postgres", **self.database.health()}

    def stats(self) -> dict[str, Any]:
        uptime = round(time.time() - self.started_at, 1)
        if self.database is None:
            with self.store.lock:
                return {
                    "backend": "memory",
                    "uptime_s": uptime,
                    "sessions": len(self.store.sessions),
                    "certificates": len(self.store.certificates),
                    "changes": len(self.store.changes),
                }
        return {"backend": "postgres", "uptime_s": uptime, **self.database.stats()}

    def shutdown(self, timeout: float = 30.0) -> None:
        if self.database is not None:
            self.database.shutdown(timeout)
