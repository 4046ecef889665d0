"""Commands: what a caller asks for, in the imperative, validated by the use cases."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

import attrs

from arccm.application.validation import Between, Day, Moment
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.compliance import RecordStatus
from arccm.domain.enrollment import Attendance
from arccm.domain.team import TeamRole


@attrs.frozen
class ScheduleSession:
    course_id: UUID
    location_id: UUID
    lead_instructor_id: UUID
    title: str
    starts_at: Moment
    ends_at: Moment
    max_capacity: int
    assistant_ids: frozenset[UUID] = frozenset()
    allow_waitlist: bool = True


@attrs.frozen
class RescheduleSession:
    session_id: UUID
    starts_at: Moment
    ends_at: Moment
    expected_version: int | None = None


@attrs.frozen
class ChangeCapacity:
    session_id: UUID
    max_capacity: int
    expected_version: int | None = None


@attrs.frozen
class CancelSession:
    session_id: UUID
    reason: str
    expected_version: int | None = None


@attrs.frozen
class StartSession:
    session_id: UUID


@attrs.frozen
class CompleteSession:
    session_id: UUID


@attrs.frozen
class EnrollLearner:
    session_id: UUID
    learner_id: UUID
    join_waitlist: bool = True


@attrs.frozen
class CancelEnrollment:
    session_id: UUID
    enrollment_id: UUID


@attrs.frozen
class RecordAttendance:
    session_id: UUID
    enrollment_id: UUID
    attendance: Attendance


@attrs.frozen
class RecordAssessment:
    session_id: UUID
    enrollment_id: UUID
    practical_score: Decimal
    written_score: Decimal


@attrs.frozen
class CompleteEnrollment:
    session_id: UUID
    enrollment_id: UUID


@attrs.frozen
class IssueCertificate:
    """Issue for one completion: an enrollment (parent = session) or a roster member (parent = roster)."""

    kind: CompletionKind
    parent_id: UUID
    completion_id: UUID
    issue_date: Day | None = None
    batch_id: UUID | None = None


@attrs.frozen
class BatchIssueCertificates:
    kind: CompletionKind
    parent_id: UUID
    chunk_size: Annotated[int, Between(1, 100_000)] = 1000
    issue_date: Day | None = None
    batch_id: UUID | None = None
    name: str | None = None
    preview: bool = False


@attrs.frozen
class RevokeCertificate:
    certificate_id: UUID
    reason: str


@attrs.frozen
class ReinstateCertificate:
    certificate_id: UUID


@attrs.frozen
class VerifyCertificate:
    code: str
    recipient_name: str | None = None


@attrs.frozen
class CreateRoster:
    name: str
    course_id: UUID
    location_id: UUID
    instructor_id: UUID
    max_capacity: int


@attrs.frozen
class AddRosterMember:
    roster_id: UUID
    student_id: UUID


@attrs.frozen
class AssessRosterMember:
    roster_id: UUID
    member_id: UUID
    attendance: Attendance
    practical_score: Decimal
    written_score: Decimal


@attrs.frozen
class CreateTeam:
    name: str
    provider_id: UUID | None = None
    location_id: UUID | None = None


@attrs.frozen
class AddTeamMember:
    team_id: UUID
    user_id: UUID
    role: TeamRole = TeamRole.MEMBER


@attrs.frozen
class RemoveTeamMember:
    team_id: UUID
    user_id: UUID


@attrs.frozen
class RecordComplianceItem:
    user_id: UUID
    metric_id: UUID
    status: RecordStatus
    recorded_on: Day
    expires_on: Day | None = None


@attrs.frozen
class ChangeUserRole:
    user_id: UUID
    role: Role


@attrs.frozen
class ErasePerson:
    """Erase a learner (a user or an external learner): name, contact details and free text replaced everywhere
    they were copied; enrollments, completions and certificates stay (certificates verify, holder shown erased)."""

    person_id: UUID


@attrs.frozen
class SetUserActive:
    """Deactivate a user (they may no longer act or read, anywhere, at once) or reactivate them."""

    user_id: UUID
    active: bool


# --- upkeep (run as the system, ``actor=None``, or by SA / AD) ---------------------------------


@attrs.frozen
class ExpireCertificates:
    """Record every certificate past its expiry date (``today``: default the clock's)."""

    today: Day | None = None


@attrs.frozen
class RemindRecertification:
    """Remind holders whose certificates expire within ``within_days`` of ``today``."""

    within_days: Annotated[int, Between(1, 366)]
    today: Day | None = None


@attrs.frozen
class SendNotificationEmails:
    """E-mail every notification waiting for it; ``name`` labels the run in ``email_batch_operations``."""

    name: str = "notifications"
