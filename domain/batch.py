"""Certificate batches (the replaced system's ``rosters``): what was asked, how far it got."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

import attrs

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.certificate import CompletionKind
from arccm.domain.events import CertificateBatchCompleted, CertificateBatchStarted, DomainEvent


class BatchStatus(enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"


@attrs.define(slots=False, eq=False)
class CertificateBatch:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    name: str
    source_kind: CompletionKind
    source_id: UUID
    course_id: UUID
    location_id: UUID
    issue_date: date
    created_by: UUID | None
    provider_id: UUID | None = None
    status: BatchStatus = BatchStatus.RUNNING
    total: int = 0
    done: int = 0
    issued: int = 0
    not_eligible: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def resource(self) -> Resource:
        return Resource(
            kind=ResourceKind.BATCH,
            location_id=self.location_id,
            provider_id=self.provider_id,
            created_by=self.created_by,
        )

    def start(self, total: int, not_eligible: int, now: datetime) -> None:
        self.total, self.not_eligible, self.status = total, not_eligible, BatchStatus.RUNNING
        self.events.append(
            CertificateBatchStarted(occurred_at=now, scope=self.resource(), batch_id=self.id, total=total)
        )

    def resume(self, total: int, not_eligible: int) -> None:
        """Pick up an interrupted batch; learners who completed since are included."""
        self.total, self.not_eligible = max(self.total, total), not_eligible

    def progress(self, done: int, issued: int) -> None:
        """Record progress; called inside the transaction that committed the chunk."""
        self.done = min(max(self.done, done), self.total)
        self.issued = min(self.issued + issued, self.total)

    def complete(self, certificates: int, now: datetime) -> None:
        """Finish, once: callers that ran the same batch side by side all finish it, and only the first counts."""
        if self.status is BatchStatus.COMPLETED:
            return
        self.status, self.done = BatchStatus.COMPLETED, self.total
        self.issued = certificates
        self.events.append(
            CertificateBatchCompleted(occurred_at=now, scope=self.resource(), batch_id=self.id, issued=certificates)
        )
