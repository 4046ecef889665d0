"""The audit trail on PostgreSQL: ``audit_log`` (migration 0009), written by triggers and ``arccm_record_refusal``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs
from sqlalchemy import text

from arccm.adapters.postgres.database import Database
from arccm.application.ports.audit import AuditEntry
from arccm.domain.access import Actor


@attrs.frozen
class PostgresAuditTrail:
    database: Database

    def refused(self, actor: Actor, action: str, reason: str) -> None:
        """In a transaction of its own, with the actor's id as the claimed user — recorded even when the actor
        may not act at all (the reason it was refused)."""
        connection, _ = self.database.begun(
            self.database.engine,
            text(
                "SELECT set_config('search_path', :schema, true), set_config('arccm.user_id', :me, true),"
                f' "{self.database.schema}".arccm_record_refusal(:action, :reason)'
            ),
            {"schema": f'"{self.database.schema}"', "me": str(actor.user_id), "action": action, "reason": reason},
        )
        with connection:
            connection.commit()

    def history(
        self,
        table: str | None = None,
        row_id: str | None = None,
        actor_id: UUID | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[AuditEntry]:
        where: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        for column, value in (("table_name", table), ("row_id", row_id), ("actor_id", actor_id)):
            if value is not None:
                where.append(f"{column} = :{column}")
                params[column] = value
        if since is not None:
            where.append("at >= :since")
            params["since"] = since
        sql = (
            "SELECT id, at, actor_id, operation, table_name, row_id, old_values, new_values, action, reason,"
            f" txid::text::bigint AS txid FROM audit_log WHERE {' AND '.join(where) or 'TRUE'} ORDER BY id LIMIT :limit"
        )
        with self.database.transaction(None) as connection:
            found = connection.execute(text(sql), params).mappings().all()
        return [_entry(row) for row in found]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row["id"], at=row["at"], actor_id=row["actor_id"], operation=row["operation"], table=row["table_name"],
        row_id=row["row_id"], old_values=row["old_values"], new_values=row["new_values"], action=row["action"],
        reason=row["reason"], transaction_id=row["txid"],
    )  # fmt: skip
