"""The audit trail: who changed what (written by the database as rows change), and who was refused what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import attrs

from arccm.domain.access import Actor


@attrs.frozen
class AuditEntry:
    id: int
    at: datetime
    actor_id: UUID | None  # None: the system (an import, upkeep, a migration)
    operation: str  # INSERT, UPDATE, DELETE, TRUNCATE, or REFUSED
    table: str | None
    row_id: str | None
    old_values: dict[str, Any] | None  # UPDATE: only the fields that changed
    new_values: dict[str, Any] | None
    action: str | None = None  # REFUSED: what was attempted and why not
    reason: str | None = None
    transaction_id: int | None = None


class AuditTrail(Protocol):
    def refused(self, actor: Actor, action: str, reason: str) -> None:
        """Record a refused attempt (it wrote nothing else: its unit of work was rolled back)."""
        ...

    def history(
        self,
        table: str | None = None,
        row_id: str | None = None,
        actor_id: UUID | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[AuditEntry]:
        """Entries matching every given filter, oldest first (an operator's view: read as the owner)."""
        ...
