"""The TrainingSession aggregate: schedule, seats, waitlist, attendance, completion.

Invariants held here (and, from [2] on, again by the database):

* ``1 <= max_capacity`` and seats taken never exceed it;
* capacity never drops below the seats already taken;
* one active enrollment per learner;
* waitlist positions are 1..n in arrival order, and a freed seat promotes the
  head of the waitlist in the same change;
* status moves SCHEDULED → IN_PROGRESS → COMPLETED, or to CANCELLED.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.course import AssessmentRule, validate_score
from arccm.domain.enrollment import (
    Attendance,
    Completion,
    Enrollment,
    EnrollmentStatus,
    evaluate_completion,
)
from arccm.domain.errors import (
    AlreadyEnrolled,
    AssessmentMissing,
    CapacityBelowSeatsTaken,
    DomainError,
    EnrollmentNotActive,
    ExceedsInstructorMaximum,
    InvalidTransition,
    InvalidValue,
    NotCompleted,
    NotFound,
    SessionFull,
    StaleVersion,
)
from arccm.domain.events import (
    AssessmentRecorded,
    AttendanceRecorded,
    DomainEvent,
    EnrollmentCancelled,
    LearnerEnrolled,
    LearnerWaitlisted,
    SessionCancelled,
    SessionChanged,
    SessionCompleted,
    SessionScheduled,
    SessionStarted,
    TrainingCompleted,
    TrainingFailed,
    WaitlistPromoted,
)
from arccm.domain.people import InstructorProfile
from arccm.domain.text import clean_text


class SessionStatus(enum.Enum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_NEXT = {
    SessionStatus.SCHEDULED: frozenset({SessionStatus.IN_PROGRESS, SessionStatus.CANCELLED}),
    SessionStatus.IN_PROGRESS: frozenset({SessionStatus.COMPLETED, SessionStatus.CANCELLED}),
    SessionStatus.COMPLETED: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}
_RUNNING = frozenset({SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED})
_OPEN = frozenset({SessionStatus.SCHEDULED, SessionStatus.IN_PROGRESS})


def validate_window(starts_at: datetime, ends_at: datetime) -> Result[None, InvalidValue]:
    for name, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            return Failure(InvalidValue(name, "must be timezone-aware"))
    if ends_at <= starts_at:
        return Failure(InvalidValue("ends_at", "must be after starts_at"))
    return Success(None)


def validate_capacity(max_capacity: int) -> Result[None, InvalidValue]:
    if max_capacity < 1:
        return Failure(InvalidValue("max_capacity", "must be at least 1"))
    return Success(None)


@attrs.define(slots=False, eq=False)
class TrainingSession:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    course_id: UUID
    title: str
    location_id: UUID
    lead_instructor_id: UUID
    starts_at: datetime
    ends_at: datetime
    max_capacity: int
    provider_id: UUID | None = None
    assistant_ids: frozenset[UUID] = frozenset()
    allow_waitlist: bool = True
    created_by: UUID | None = None
    status: SessionStatus = SessionStatus.SCHEDULED
    version: int = 1
    enrollments: list[Enrollment] = attrs.field(factory=list)
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    # --- creation and scope ------------------------------------------------

    @staticmethod
    def schedule(session: TrainingSession, now: datetime) -> Result[TrainingSession, DomainError]:
        """Validate a new session and record that it was scheduled."""
        checked = (
            validate_window(session.starts_at, session.ends_at)
            .bind(lambda _: validate_capacity(session.max_capacity))
            .bind(lambda _: clean_text("title", session.title))
        )
        if isinstance(checked, Failure):
            return Failure(checked.failure())
        session.title = checked.unwrap()
        session.events.append(
            SessionScheduled(
                occurred_at=now,
                scope=session.resource(),
                session_id=session.id,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                max_capacity=session.max_capacity,
            )
        )
        return Success(session)

    @property
    def instructors(self) -> frozenset[UUID]:
        return self.assistant_ids | {self.lead_instructor_id}

    def resource(self) -> Resource:
        return Resource(
            kind=ResourceKind.SESSION,
            location_id=self.location_id,
            provider_id=self.provider_id,
            created_by=self.created_by,
            instructors=self.instructors,
            lead_instructor=self.lead_instructor_id,
            learners=frozenset(e.learner_id for e in self.enrollments if e.is_active),
        )

    def enrollment_resource(self, enrollment: Enrollment) -> Resource:
        return Resource(
            kind=ResourceKind.ENROLLMENT,
            location_id=self.location_id,
            provider_id=self.provider_id,
            created_by=enrollment.enrolled_by,
            instructors=self.instructors,
            lead_instructor=self.lead_instructor_id,
            subject_id=enrollment.learner_id,
        )

    # --- seats and waitlist ------------------------------------------------

    @property
    def seats_taken(self) -> int:
        return sum(1 for e in self.enrollments if e.holds_seat)

    @property
    def waitlist(self) -> list[Enrollment]:
        waiting = [e for e in self.enrollments if e.status is EnrollmentStatus.WAITLISTED]
        return sorted(waiting, key=lambda e: e.waitlist_position or 0)

    def active_enrollment_of(self, learner_id: UUID) -> Enrollment | None:
        return next((e for e in self.enrollments if e.learner_id == learner_id and e.is_active), None)

    def enrollment(self, enrollment_id: UUID) -> Result[Enrollment, DomainError]:
        found = next((e for e in self.enrollments if e.id == enrollment_id), None)
        if found is None:
            return Failure(NotFound("enrollment", enrollment_id))
        return Success(found)

    def enroll(
        self,
        enrollment_id: UUID,
        learner_id: UUID,
        now: datetime,
        *,
        join_waitlist: bool = True,
        enrolled_by: UUID | None = None,
    ) -> Result[Enrollment, DomainError]:
        if self.status is not SessionStatus.SCHEDULED:
            return Failure(InvalidTransition("session", self.status.value, "enroll"))
        if self.active_enrollment_of(learner_id) is not None:
            return Failure(AlreadyEnrolled(self.id, learner_id))
        if self.seats_taken < self.max_capacity:
            return Success(self._seat(enrollment_id, learner_id, now, enrolled_by))
        if join_waitlist and self.allow_waitlist:
            return Success(self._wait(enrollment_id, learner_id, now, enrolled_by))
        return Failure(SessionFull(self.id, self.max_capacity))

    def _seat(self, enrollment_id: UUID, learner_id: UUID, now: datetime, by: UUID | None) -> Enrollment:
        enrollment = Enrollment(enrollment_id, self.id, learner_id, EnrollmentStatus.ENROLLED, now, by)
        self.enrollments.append(enrollment)
        self._emit_enrollment(LearnerEnrolled, enrollment, now)
        return enrollment

    def _wait(self, enrollment_id: UUID, learner_id: UUID, now: datetime, by: UUID | None) -> Enrollment:
        position = len(self.waitlist) + 1
        enrollment = Enrollment(
            enrollment_id, self.id, learner_id, EnrollmentStatus.WAITLISTED, now, by, waitlist_position=position
        )
        self.enrollments.append(enrollment)
        self.events.append(
            LearnerWaitlisted(
                occurred_at=now,
                scope=self.enrollment_resource(enrollment),
                session_id=self.id,
                enrollment_id=enrollment.id,
                learner_id=learner_id,
                position=position,
            )
        )
        return enrollment

    def cancel_enrollment(self, enrollment_id: UUID, now: datetime) -> Result[Enrollment, DomainError]:
        if self.status not in _OPEN:
            return Failure(InvalidTransition("session", self.status.value, "cancel an enrollment"))
        return self.enrollment(enrollment_id).bind(lambda e: self._cancel(e, now))

    def _cancel(self, enrollment: Enrollment, now: datetime) -> Result[Enrollment, DomainError]:
        """Free the seat (or the waitlist place) and, while the session is scheduled, promote the waitlist's head."""
        if not enrollment.is_active:
            return Failure(EnrollmentNotActive(enrollment.id))
        freed_seat = enrollment.holds_seat
        enrollment.status = EnrollmentStatus.CANCELLED
        enrollment.waitlist_position = None
        enrollment.cancelled_at = now
        self.events.append(
            EnrollmentCancelled(
                occurred_at=now,
                scope=self.enrollment_resource(enrollment),
                session_id=self.id,
                enrollment_id=enrollment.id,
                learner_id=enrollment.learner_id,
                freed_seat=freed_seat,
            )
        )
        self._renumber_waitlist()
        self._promote(now)
        return Success(enrollment)

    def _renumber_waitlist(self) -> None:
        for position, waiting in enumerate(self.waitlist, start=1):
            waiting.waitlist_position = position

    def _promote(self, now: datetime) -> None:
        if self.status is not SessionStatus.SCHEDULED:
            return
        while self.seats_taken < self.max_capacity and self.waitlist:
            head = self.waitlist[0]
            head.status = EnrollmentStatus.ENROLLED
            head.waitlist_position = None
            self._emit_enrollment(WaitlistPromoted, head, now)
            self._renumber_waitlist()

    def _emit_enrollment(
        self,
        event: type[LearnerEnrolled] | type[WaitlistPromoted] | type[TrainingCompleted],
        enrollment: Enrollment,
        now: datetime,
    ) -> None:
        self.events.append(
            event(
                occurred_at=now,
                scope=self.enrollment_resource(enrollment),
                session_id=self.id,
                enrollment_id=enrollment.id,
                learner_id=enrollment.learner_id,
            )
        )

    # --- edits (optimistically versioned) -----------------------------------

    def check_version(self, expected: int | None) -> Result[None, DomainError]:
        if expected is not None and expected != self.version:
            return Failure(StaleVersion(expected, self.version))
        return Success(None)

    def change_capacity(
        self, max_capacity: int, now: datetime, lead: InstructorProfile | None = None
    ) -> Result[TrainingSession, DomainError]:
        """``lead``: the lead instructor's qualification — a class never outgrows its lead's maximum."""
        if self.status not in _OPEN:
            return Failure(InvalidTransition("session", self.status.value, "change capacity"))
        invalid = validate_capacity(max_capacity)
        if isinstance(invalid, Failure):
            return Failure(invalid.failure())
        if lead is not None and max_capacity > lead.max_students_per_session:
            return Failure(ExceedsInstructorMaximum(lead.user_id, max_capacity, lead.max_students_per_session))
        if max_capacity < self.seats_taken:
            return Failure(CapacityBelowSeatsTaken(max_capacity, self.seats_taken))
        before = self.max_capacity
        self.max_capacity = max_capacity
        self._changed(now, ("max_capacity", f"{before} -> {max_capacity}"))
        self._promote(now)
        return Success(self)

    def reschedule(self, starts_at: datetime, ends_at: datetime, now: datetime) -> Result[TrainingSession, DomainError]:
        if self.status is not SessionStatus.SCHEDULED:
            return Failure(InvalidTransition("session", self.status.value, "reschedule"))
        invalid = validate_window(starts_at, ends_at)
        if isinstance(invalid, Failure):
            return Failure(invalid.failure())
        old = f"{self.starts_at.isoformat()}..{self.ends_at.isoformat()}"
        self.starts_at, self.ends_at = starts_at, ends_at
        self._changed(now, ("window", f"{old} -> {starts_at.isoformat()}..{ends_at.isoformat()}"))
        return Success(self)

    def _changed(self, now: datetime, *changes: tuple[str, str]) -> None:
        self.version += 1
        self.events.append(
            SessionChanged(
                occurred_at=now, scope=self.resource(), session_id=self.id, version=self.version, changes=changes
            )
        )

    # --- status -------------------------------------------------------------

    def _move(self, to: SessionStatus, verb: str) -> Result[None, DomainError]:
        if to not in _NEXT[self.status]:
            return Failure(InvalidTransition("session", self.status.value, verb))
        self.status = to
        self.version += 1
        return Success(None)

    def start(self, now: datetime) -> Result[TrainingSession, DomainError]:
        moved = self._move(SessionStatus.IN_PROGRESS, "start")
        if isinstance(moved, Failure):
            return Failure(moved.failure())
        for waiting in self.waitlist:  # the class has begun: nobody else gets a seat
            self._cancel(waiting, now)  # no promotion: _promote only fills a scheduled session
        self.events.append(SessionStarted(occurred_at=now, scope=self.resource(), session_id=self.id))
        return Success(self)

    def complete(self, now: datetime) -> Result[TrainingSession, DomainError]:
        moved = self._move(SessionStatus.COMPLETED, "complete")
        if isinstance(moved, Failure):
            return Failure(moved.failure())
        self.events.append(SessionCompleted(occurred_at=now, scope=self.resource(), session_id=self.id))
        return Success(self)

    def cancel(self, reason: str, now: datetime) -> Result[TrainingSession, DomainError]:
        cleaned = clean_text("reason", reason, 500)
        if isinstance(cleaned, Failure):
            return Failure(cleaned.failure())
        reason = cleaned.unwrap()
        scope = self.resource()
        moved = self._move(SessionStatus.CANCELLED, "cancel")
        if isinstance(moved, Failure):
            return Failure(moved.failure())
        for enrollment in [e for e in self.enrollments if e.is_active]:
            self._cancel(enrollment, now)
        self.events.append(SessionCancelled(occurred_at=now, scope=scope, session_id=self.id, reason=reason))
        return Success(self)

    # --- attendance, assessment, completion ------------------------------------

    def _seated(self, enrollment_id: UUID, verb: str) -> Result[Enrollment, DomainError]:
        if self.status not in _RUNNING:
            return Failure(InvalidTransition("session", self.status.value, verb))
        found = self.enrollment(enrollment_id)
        if isinstance(found, Success) and not found.unwrap().holds_seat:
            return Failure(EnrollmentNotActive(enrollment_id))
        return found

    def record_attendance(
        self, enrollment_id: UUID, attendance: Attendance, now: datetime
    ) -> Result[Enrollment, DomainError]:
        return self._seated(enrollment_id, "record attendance").bind(lambda e: self._set_attendance(e, attendance, now))

    def _set_attendance(
        self, enrollment: Enrollment, attendance: Attendance, now: datetime
    ) -> Result[Enrollment, DomainError]:
        if enrollment.completion in (Completion.COMPLETED, Completion.FAILED):
            return Failure(InvalidTransition("enrollment", enrollment.completion.value, "change attendance"))
        enrollment.attendance = attendance
        self.events.append(
            AttendanceRecorded(
                occurred_at=now,
                scope=self.enrollment_resource(enrollment),
                session_id=self.id,
                enrollment_id=enrollment.id,
                learner_id=enrollment.learner_id,
                attendance=attendance.value,
            )
        )
        return Success(enrollment)

    def record_assessment(
        self, enrollment_id: UUID, practical: Decimal, written: Decimal, now: datetime
    ) -> Result[Enrollment, DomainError]:
        scores = validate_score("practical_score", practical).bind(lambda _: validate_score("written_score", written))
        if isinstance(scores, Failure):
            return Failure(scores.failure())
        return self._seated(enrollment_id, "record an assessment").bind(
            lambda e: self._set_scores(e, practical, written, now)
        )

    def _set_scores(
        self, enrollment: Enrollment, practical: Decimal, written: Decimal, now: datetime
    ) -> Result[Enrollment, DomainError]:
        if enrollment.completion in (Completion.COMPLETED, Completion.FAILED):
            return Failure(InvalidTransition("enrollment", enrollment.completion.value, "change the assessment"))
        enrollment.practical_score, enrollment.written_score = practical, written
        enrollment.completion = Completion.IN_PROGRESS
        self.events.append(
            AssessmentRecorded(
                occurred_at=now,
                scope=self.enrollment_resource(enrollment),
                session_id=self.id,
                enrollment_id=enrollment.id,
                learner_id=enrollment.learner_id,
                practical=practical,
                written=written,
            )
        )
        return Success(enrollment)

    def complete_enrollment(
        self, enrollment_id: UUID, rule: AssessmentRule, now: datetime
    ) -> Result[Enrollment, DomainError]:
        """Decide COMPLETED or FAILED by the course rule; both are recorded outcomes."""
        return self._seated(enrollment_id, "complete an enrollment").bind(lambda e: self._decide(e, rule, now))

    def _decide(self, enrollment: Enrollment, rule: AssessmentRule, now: datetime) -> Result[Enrollment, DomainError]:
        if enrollment.completion in (Completion.COMPLETED, Completion.FAILED):
            return Success(enrollment)  # already decided: idempotent
        if enrollment.attendance is Attendance.REGISTERED:
            return Failure(NotCompleted(enrollment.learner_id, "attendance has not been recorded"))
        if enrollment.practical_score is None or enrollment.written_score is None:
            return Failure(AssessmentMissing(enrollment.learner_id))
        outcome = evaluate_completion(enrollment.attendance, enrollment.practical_score, enrollment.written_score, rule)
        enrollment.completion, enrollment.completion_reason = outcome.completion, outcome.reason
        enrollment.completed_at = now
        if outcome.completion is Completion.COMPLETED:
            self._emit_enrollment(TrainingCompleted, enrollment, now)
        else:
            self.events.append(
                TrainingFailed(
                    occurred_at=now,
                    scope=self.enrollment_resource(enrollment),
                    session_id=self.id,
                    enrollment_id=enrollment.id,
                    learner_id=enrollment.learner_id,
                    reason=outcome.reason or "",
                )
            )
        return Success(enrollment)
