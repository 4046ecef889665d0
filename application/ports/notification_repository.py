from collections.abc import Collection, Sequence
from typing import Protocol
from uuid import UUID

from arccm.domain.notification import EmailBatch, Notification


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> None:
        """Store a new notification with the commit — unless one with its dedupe key exists by then, in which
        case nothing is stored (a notice is never sent twice)."""
        ...

    def existing(self, dedupe_keys: Collection[str]) -> set[str]:
        """Which of these dedupe keys some stored notification carries."""
        ...

    def get_for_update(self, notification_id: UUID) -> Notification | None: ...

    def awaiting_email(self, limit: int, after: UUID | None = None) -> Sequence[Notification]:
        """Notifications whose e-mail may be sent now, in id order after ``after``, reserved for this
        unit of work (a concurrent sender skips them)."""
        ...

    def add_email_batch(self, batch: EmailBatch) -> None: ...

    def email_batch(self, batch_id: UUID) -> EmailBatch | None: ...
