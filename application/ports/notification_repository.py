from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from arccm.domain.notification import EmailBatch, Notification


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> bool:
        """Store a new notification; False (and nothing stored) when its dedupe key already exists."""
        ...

    def queue(self, notification: Notification) -> None:
        """Store a notification whose dedupe key names something new in this unit of work (it cannot exist
        yet); it may be written with the commit rather than at once."""
        ...

    def get(self, notification_id: UUID) -> Notification | None: ...

    def awaiting_email(self, limit: int, after: UUID | None = None) -> Sequence[Notification]:
        """Notifications whose e-mail may be sent now, in id order after ``after``, reserved for this
        unit of work (a concurrent sender skips them)."""
        ...

    def add_email_batch(self, batch: EmailBatch) -> None: ...

    def email_batch(self, batch_id: UUID) -> EmailBatch | None: ...
