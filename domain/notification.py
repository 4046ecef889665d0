"""Notifications to learners (in-app rows, each optionally e-mailed once) and e-mail batches."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.events import DomainEvent, NotificationCreated

MAX_EMAIL_ATTEMPTS = 5


class Category(enum.Enum):
    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_REVOKED = "certificate_revoked"
    RECERTIFICATION_REMINDER = "recertification_reminder"


class EmailStatus(enum.Enum):
    NONE = "none"  # nobody to e-mail (no address on file)
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; never sent again automatically
    SENT = "sent"
    FAILED = "failed"  # retried on the next run, up to MAX_EMAIL_ATTEMPTS


@attrs.define(slots=False, eq=False)
class Notification:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    category: Category
    title: str
    message: str
    dedupe_key: str
    created_at: datetime
    user_id: UUID | None = None
    student_id: UUID | None = None
    email: str = ""
    location_id: UUID | None = None
    context: dict[str, Any] = attrs.field(factory=dict)
    email_status: EmailStatus = EmailStatus.NONE
    email_attempts: int = 0
    email_error: str | None = None
    emailed_at: datetime | None = None
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def create(notification: Notification, now: datetime) -> Notification:
        """A new notification: e-mail queued when there is an address, and announced as an event."""
        notification.email_status = EmailStatus.PENDING if notification.email else EmailStatus.NONE
        notification.events.append(
            NotificationCreated(
                occurred_at=now,
                scope=notification.resource(),
                notification_id=notification.id,
                category=notification.category.value,
            )
        )
        return notification

    @property
    def person_id(self) -> UUID | None:
        return self.user_id or self.student_id

    def resource(self) -> Resource:
        return Resource(kind=ResourceKind.NOTIFICATION, location_id=self.location_id, subject_id=self.person_id)

    @property
    def may_send(self) -> bool:
        retry = self.email_status is EmailStatus.FAILED and self.email_attempts < MAX_EMAIL_ATTEMPTS
        return self.email_status is EmailStatus.PENDING or retry

    def claim(self) -> None:
        self.email_status = EmailStatus.SENDING
        self.email_attempts += 1

    def sent(self, now: datetime) -> None:
        self.email_status, self.emailed_at, self.email_error = EmailStatus.SENT, now, None

    def failed(self, error: str) -> None:
        self.email_status, self.email_error = EmailStatus.FAILED, error[:500]


class EmailBatchStatus(enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@attrs.define(slots=False, eq=False)
class EmailBatch:
    """One run of the e-mail sender (``email_batch_operations``)."""

    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    name: str
    total: int
    started_at: datetime
    status: EmailBatchStatus = EmailBatchStatus.RUNNING
    processed: int = 0
    sent: int = 0
    failed: int = 0
    error: str | None = None
    completed_at: datetime | None = None

    def record(self, ok: bool, error: str | None = None) -> None:
        self.processed += 1
        if ok:
            self.sent += 1
        else:
            self.failed += 1
            self.error = error

    def finish(self, now: datetime) -> None:
        self.status = EmailBatchStatus.COMPLETED if self.failed == 0 else EmailBatchStatus.FAILED
        self.completed_at = now
