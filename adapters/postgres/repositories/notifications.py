"""Notifications (written in bulk with the commit, once per dedupe key) and e-mail batch records."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mappings import EMAIL_BATCHES, NOTIFICATIONS
from arccm.domain.notification import MAX_EMAIL_ATTEMPTS, EmailBatch, EmailStatus, Notification

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork

n = t.t_notifications


class PostgresNotificationRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def add(self, notification: Notification) -> None:
        pending = {p.dedupe_key for p in self._uow.pending(NOTIFICATIONS)}
        if notification.dedupe_key not in pending:
            self._uow.add(NOTIFICATIONS, notification)

    def existing(self, dedupe_keys: Collection[str]) -> set[str]:
        if not dedupe_keys:
            return set()
        sql = (  # queued by anyone, for anyone: an actor consults (migration 0009); the system reads the table
            "SELECT arccm_notification_keys_in_use(CAST(:keys AS text[]))"
            if self._uow.actor is not None
            else "SELECT dedupe_key FROM notifications WHERE dedupe_key = ANY(:keys)"
        )
        found = self._uow.run(sql, {"keys": list(dedupe_keys)}).scalars()
        return set(found)

    def get_for_update(self, notification_id: UUID) -> Notification | None:
        return self._uow.get(NOTIFICATIONS, notification_id, for_update=True)

    def awaiting_email(self, limit: int, after: UUID | None = None) -> Sequence[Notification]:
        waiting = (n.c.email_status == EmailStatus.PENDING.value) | (
            (n.c.email_status == EmailStatus.FAILED.value) & (n.c.email_attempts < MAX_EMAIL_ATTEMPTS)
        )
        where = waiting & (n.c.id > after) if after else waiting
        return self._uow.load(NOTIFICATIONS, where, for_update=True, order_by=[n.c.id], limit=limit, skip_locked=True)

    def add_email_batch(self, batch: EmailBatch) -> None:
        self._uow.add(EMAIL_BATCHES, batch)

    def email_batch(self, batch_id: UUID) -> EmailBatch | None:
        return self._uow.get(EMAIL_BATCHES, batch_id, for_update=True)
