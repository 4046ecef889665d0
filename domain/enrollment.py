"""Enrollment in a training session, and the completion rule.

Enrollments live inside their ``TrainingSession`` aggregate: seats, the waitlist
and promotion are one consistency boundary, changed in one transaction.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from arccm.domain.course import AssessmentRule


class EnrollmentStatus(enum.Enum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Attendance(enum.Enum):
    REGISTERED = "registered"
    ATTENDED = "attended"
    PARTIAL = "partial"
    ABSENT = "absent"


class Completion(enum.Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


@attrs.define(slots=False, eq=False)
class Enrollment:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    session_id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    learner_id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    status: EnrollmentStatus
    enrolled_at: datetime
    enrolled_by: UUID | None = None
    waitlist_position: int | None = None
    attendance: Attendance = Attendance.REGISTERED
    completion: Completion = Completion.NOT_STARTED
    practical_score: Decimal | None = None
    written_score: Decimal | None = None
    completion_reason: str | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is not EnrollmentStatus.CANCELLED

    @property
    def holds_seat(self) -> bool:
        return self.status is EnrollmentStatus.ENROLLED


@attrs.frozen
class CompletionOutcome:
    completion: Completion
    reason: str | None = None


def evaluate_completion(
    attendance: Attendance,
    practical: Decimal,
    written: Decimal,
    rule: AssessmentRule,
) -> CompletionOutcome:
    """A learner completes when they ATTENDED and the scores pass the course rule."""
    if attendance is not Attendance.ATTENDED:
        return CompletionOutcome(Completion.FAILED, f"attendance is {attendance.value}, not attended")
    reason = rule.failure_reason(practical, written)
    if reason is not None:
        return CompletionOutcome(Completion.FAILED, reason)
    return CompletionOutcome(Completion.COMPLETED)
