"""Read-model queries.  Every one is scoped by the actor where the data is read."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

import attrs

from arccm.application.validation import Day, Limit, Moment
from arccm.domain.access import Actor
from arccm.domain.verification_code import VerificationCode


@attrs.frozen
class SessionSummary:
    id: UUID
    title: str
    course_id: UUID
    location_id: UUID
    lead_instructor_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: str
    seats_taken: int
    max_capacity: int
    waitlist_length: int


@attrs.frozen
class EnrollmentSummary:
    id: UUID
    session_id: UUID
    learner_id: UUID
    enrolled_at: datetime
    status: str
    waitlist_position: int | None
    attendance: str
    completion: str


@attrs.frozen
class CertificateSummary:
    id: UUID
    code: str
    recipient_name: str
    course_name: str
    issue_date: date
    expiry_date: date
    status: str


@attrs.frozen
class NotificationSummary:
    id: UUID
    category: str
    title: str
    message: str
    created_at: datetime
    email_status: str
    email_attempts: int


@attrs.frozen
class PublicCertificate:
    """What a verifier may learn: no email, phone or internal ids."""

    status: str
    recipient_name: str
    course_name: str
    issuer_name: str
    issue_date: date
    expiry_date: date
    revoked_on: date | None


@attrs.frozen
class Dashboard:
    upcoming_sessions: int
    in_progress_sessions: int
    seats_taken: int
    seats_offered: int
    waitlisted: int
    certificates_total: int
    certificates_active: int
    certificates_expiring_30d: int
    certificates_issued_7d: int
    compliance_average_score: float | None
    teams: int
    team_members: int


class VisibleRecords(Protocol):
    def sessions(self, actor: Actor) -> Sequence[SessionSummary]: ...

    def enrollments(self, actor: Actor) -> Sequence[EnrollmentSummary]: ...

    def certificates(self, actor: Actor, today: Day) -> Sequence[CertificateSummary]: ...

    def notifications(self, actor: Actor) -> Sequence[NotificationSummary]:
        """Notifications addressed to the actor (administrators: everyone's)."""
        ...


class VerificationLookup(Protocol):
    def lookup(self, code: VerificationCode, today: Day) -> tuple[PublicCertificate, str] | None:
        """The public view and the full recipient name (for a name check that never reveals it)."""
        ...

    def lookup_legacy(self, code: str, today: Day) -> tuple[PublicCertificate, str] | None:
        """The same for a code of the replaced system's (upper-cased as typed, docs/import.md): the one imported
        certificate that held it — none when two did."""
        ...


class DashboardQueries(Protocol):
    def dashboard(self, actor: Actor, today: Day) -> Dashboard: ...


class UpcomingSessions(Protocol):
    def open_sessions(
        self, course_id: UUID, location_ids: frozenset[UUID], after: Moment, limit: Limit = 5
    ) -> Sequence[SessionSummary]:
        """Scheduled sessions of a course at these locations, starting after ``after``, with a free seat."""
        ...


@attrs.frozen
class CalendarEntry:
    """One session as a viewer's calendar shows it, in the viewer's time zone."""

    session_id: UUID
    title: str
    course_name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    location_name: str
    location_timezone: str
    instructor_name: str
    seats_taken: int
    max_capacity: int
    percent_full: float
    waitlist_length: int
    version: int


@attrs.frozen
class AnalyticsRow:
    """Figures for one group (``key`` None: everything in scope)."""

    key: UUID | None
    label: str
    sessions: int
    completed_sessions: int
    average_utilisation: float | None
    enrollments: int
    attendance_rate: float | None
    completion_rate: float | None
    certificates: int
    active_certificates: int


@attrs.frozen
class Analytics:
    rows: Sequence[AnalyticsRow]
    issued_per_day: Sequence[tuple[date, int]]


@attrs.frozen
class SessionMetrics:
    session_id: UUID
    title: str
    course_id: UUID
    enrolled: int
    waitlisted: int
    cancelled: int
    attended: int
    completed: int
    failed: int
    completion_rate: float | None


class ScheduleQueries(Protocol):
    def calendar(self, actor: Actor, start: Day, end: Day, viewer_timezone: str) -> Sequence[CalendarEntry]:
        """Sessions starting in [start, end) of the viewer's zone, rendered in that zone."""
        ...

    def analytics(self, actor: Actor, start: Day, end: Day, today: Day, group_by: str | None = None) -> Analytics:
        """Performance over sessions starting in [start, end); group_by: None, location, instructor or course."""
        ...

    def session_metrics(
        self, actor: Actor, start: Day, end: Day, course_id: UUID | None = None
    ) -> Sequence[SessionMetrics]:
        """Enrollment and completion per session starting in [start, end), optionally for one course."""
        ...
