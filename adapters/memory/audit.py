"""The audit trail in memory: refused attempts only (the row-level history is PostgreSQL's, written by triggers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

import attrs

from arccm.adapters.memory.store import MemoryStore
from arccm.application.ports.audit import AuditEntry
from arccm.domain.access import Actor


@attrs.frozen
class MemoryAuditTrail:
    store: MemoryStore

    def refused(self, actor: Actor, action: str, reason: str) -> None:
        with self.store.lock:
            entries = self.store.audit
            at = dt.datetime.now(dt.UTC)
            entry = AuditEntry(len(entries) + 1, at, actor.user_id, "REFUSED", None, None, None, None, action, reason)
            entries.append(entry)

    def history(
        self,
        table: str | None = None,
        row_id: str | None = None,
        actor_id: UUID | None = None,
        since: dt.datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[AuditEntry]:
        with self.store.lock:
            found = [
                e
                for e in self.store.audit
                if (table is None or e.table == table)
                and (row_id is None or e.row_id == row_id)
                and (actor_id is None or e.actor_id == actor_id)
                and (since is None or e.at >= since)
            ]
        return found[:limit]
