"""Domain events: one for every state change, named in the past tense.

Each event carries the ``Resource`` scope of the row it is about, so a change
feed can filter it with the same read rules that filter queries.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from arccm.domain.access import Resource


@attrs.frozen(kw_only=True)
class DomainEvent:
    occurred_at: datetime
    scope: Resource

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def topic(self) -> str:
        return _TOPICS.get(self.scope.kind.value, self.scope.kind.value)


_TOPICS = {
    "session": "sessions",
    "enrollment": "enrollments",
    "certificate": "certificates",
    "team": "teams",
    "compliance": "compliance",
    "roster": "rosters",
    "profile": "profiles",
    "batch": "certificates",
    "notification": "notifications",
}
TOPICS = frozenset(_TOPICS.values())  # every topic an event can carry


# --- sessions ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SessionScheduled(DomainEvent):
    session_id: UUID
    starts_at: datetime
    ends_at: datetime
    max_capacity: int


@attrs.frozen(kw_only=True)
class SessionChanged(DomainEvent):
    session_id: UUID
    version: int
    changes: tuple[tuple[str, str], ...]


@attrs.frozen(kw_only=True)
class SessionStarted(DomainEvent):
    session_id: UUID


@attrs.frozen(kw_only=True)
class SessionCompleted(DomainEvent):
    session_id: UUID


@attrs.frozen(kw_only=True)
class SessionCancelled(DomainEvent):
    session_id: UUID
    reason: str


# --- enrollments ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LearnerEnrolled(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID


@attrs.frozen(kw_only=True)
class LearnerWaitlisted(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID
    position: int


@attrs.frozen(kw_only=True)
class WaitlistPromoted(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID


@attrs.frozen(kw_only=True)
class EnrollmentCancelled(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID
    freed_seat: bool


@attrs.frozen(kw_only=True)
class AttendanceRecorded(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID
    attendance: str


@attrs.frozen(kw_only=True)
class AssessmentRecorded(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID
    practical: Decimal
    written: Decimal


@attrs.frozen(kw_only=True)
class TrainingCompleted(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID


@attrs.frozen(kw_only=True)
class TrainingFailed(DomainEvent):
    session_id: UUID
    enrollment_id: UUID
    learner_id: UUID
    reason: str


# --- certificates -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class CertificateIssued(DomainEvent):
    certificate_id: UUID
    code: str
    course_id: UUID
    expiry: str


@attrs.frozen(kw_only=True)
class CertificateRevoked(DomainEvent):
    certificate_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class CertificateReinstated(DomainEvent):
    certificate_id: UUID


@attrs.frozen(kw_only=True)
class CertificateSuperseded(DomainEvent):
    certificate_id: UUID
    successor_id: UUID


# --- rosters ----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RosterCreated(DomainEvent):
    roster_id: UUID


@attrs.frozen(kw_only=True)
class RosterMemberAdded(DomainEvent):
    roster_id: UUID
    member_id: UUID
    student_id: UUID


@attrs.frozen(kw_only=True)
class RosterMemberAssessed(DomainEvent):
    roster_id: UUID
    member_id: UUID
    student_id: UUID
    completion: str


# --- teams, compliance -------------------------------------------------------


@attrs.frozen(kw_only=True)
class TeamCreated(DomainEvent):
    team_id: UUID
    team_name: str


@attrs.frozen(kw_only=True)
class TeamMemberAdded(DomainEvent):
    team_id: UUID
    user_id: UUID


@attrs.frozen(kw_only=True)
class TeamMemberRemoved(DomainEvent):
    team_id: UUID
    user_id: UUID


@attrs.frozen(kw_only=True)
class ComplianceItemRecorded(DomainEvent):
    user_id: UUID
    metric_id: UUID
    status: str


@attrs.frozen(kw_only=True)
class ComplianceChanged(DomainEvent):
    user_id: UUID
    old_score: int
    new_score: int
    old_tier: str
    new_tier: str
    old_status: str
    new_status: str


@attrs.frozen(kw_only=True)
class UserRoleChanged(DomainEvent):
    user_id: UUID
    old_role: str
    new_role: str
    changed_by: UUID


@attrs.frozen(kw_only=True)
class UserStatusChanged(DomainEvent):
    """A user was deactivated (may no longer act or read) or reactivated."""

    user_id: UUID
    active: bool
    changed_by: UUID


@attrs.frozen(kw_only=True)
class PersonErased(DomainEvent):
    """A learner's name, contact details and free text were replaced everywhere (their records stay)."""

    person_id: UUID
    erased_by: UUID


@attrs.frozen(kw_only=True)
class ProviderStatusChanged(DomainEvent):
    """A provider was suspended, made inactive or reactivated: its users act only while it is active."""

    provider_id: UUID
    status: str
    changed_by: UUID


@attrs.frozen(kw_only=True)
class CertificateExpired(DomainEvent):
    certificate_id: UUID
    expiry_date: str


@attrs.frozen(kw_only=True)
class CertificateBatchStarted(DomainEvent):
    batch_id: UUID
    total: int


@attrs.frozen(kw_only=True)
class CertificateBatchCompleted(DomainEvent):
    batch_id: UUID
    issued: int


@attrs.frozen(kw_only=True)
class NotificationCreated(DomainEvent):
    notification_id: UUID
    category: str
