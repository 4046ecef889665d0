"""Typed business failures.

Every expected outcome that is not a success is one of these values, carried in
a ``returns.Result`` failure.  Each error knows a stable ``code`` (what the HTTP
and CLI boundaries map) and a sentence a person can read.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import attrs


@attrs.frozen
class DomainError:
    """Base of every business failure."""

    code: str = attrs.field(init=False, default="error")

    @property
    def message(self) -> str:
        return self.code.replace("_", " ")

    def __str__(self) -> str:
        return self.message


@attrs.frozen
class InvalidValue(DomainError):
    """Bad input: names the field and the rule it broke."""

    field: str
    rule: str
    code: str = attrs.field(init=False, default="invalid_value")

    @property
    def message(self) -> str:
        return f"{self.field}: {self.rule}"


@attrs.frozen
class NotFound(DomainError):
    kind: str
    id: object
    code: str = attrs.field(init=False, default="not_found")

    @property
    def message(self) -> str:
        return f"{self.kind} {self.id} does not exist"


@attrs.frozen
class Forbidden(DomainError):
    action: str
    reason: str
    code: str = attrs.field(init=False, default="forbidden")

    @property
    def message(self) -> str:
        return f"may not {self.action}: {self.reason}"


@attrs.frozen
class StaleVersion(DomainError):
    expected: int
    actual: int
    code: str = attrs.field(init=False, default="stale_version")

    @property
    def message(self) -> str:
        return f"edit was based on version {self.expected}, but the record is at version {self.actual}"


@attrs.frozen
class InvalidTransition(DomainError):
    kind: str
    current: str
    attempted: str
    code: str = attrs.field(init=False, default="invalid_transition")

    @property
    def message(self) -> str:
        return f"{self.kind} is {self.current}; cannot {self.attempted}"


# --- sessions and staffing -------------------------------------------------


@attrs.frozen
class SessionFull(DomainError):
    session_id: UUID
    capacity: int
    code: str = attrs.field(init=False, default="session_full")

    @property
    def message(self) -> str:
        return f"session {self.session_id} is full ({self.capacity} seats)"


@attrs.frozen
class AlreadyEnrolled(DomainError):
    session_id: UUID
    learner_id: UUID
    code: str = attrs.field(init=False, default="already_enrolled")

    @property
    def message(self) -> str:
        return f"learner {self.learner_id} already holds an active enrollment in session {self.session_id}"


@attrs.frozen
class CapacityBelowSeatsTaken(DomainError):
    requested: int
    seats_taken: int
    code: str = attrs.field(init=False, default="capacity_below_seats_taken")

    @property
    def message(self) -> str:
        return f"max_capacity {self.requested} is below the {self.seats_taken} seats already taken"


@attrs.frozen
class ExceedsInstructorMaximum(DomainError):
    instructor_id: UUID
    requested: int
    maximum: int
    code: str = attrs.field(init=False, default="exceeds_instructor_maximum")

    @property
    def message(self) -> str:
        return (
            f"max_capacity {self.requested} exceeds instructor {self.instructor_id}'s "
            f"max_students_per_session of {self.maximum}"
        )


@attrs.frozen
class InstructorDoubleBooked(DomainError):
    instructor_id: UUID
    other_session_id: UUID
    code: str = attrs.field(init=False, default="instructor_double_booked")

    @property
    def message(self) -> str:
        return f"instructor {self.instructor_id} already teaches session {self.other_session_id} at that time"


@attrs.frozen
class AvailabilityConflict(DomainError):
    instructor_id: UUID
    booking_id: UUID
    code: str = attrs.field(init=False, default="availability_conflict")

    @property
    def message(self) -> str:
        return f"instructor {self.instructor_id} is booked or blocked at that time (booking {self.booking_id})"


@attrs.frozen
class MissingSpecialties(DomainError):
    instructor_id: UUID
    missing: frozenset[str]
    code: str = attrs.field(init=False, default="missing_specialties")

    @property
    def message(self) -> str:
        return f"instructor {self.instructor_id} lacks the course's specialties: {', '.join(sorted(self.missing))}"


@attrs.frozen
class StaffingRefused(DomainError):
    instructor_id: UUID
    reason: str
    code: str = attrs.field(init=False, default="staffing_refused")

    @property
    def message(self) -> str:
        return f"instructor {self.instructor_id} cannot staff this session: {self.reason}"


# --- enrollment, assessment -------------------------------------------------


@attrs.frozen
class EnrollmentNotActive(DomainError):
    enrollment_id: UUID
    code: str = attrs.field(init=False, default="enrollment_not_active")

    @property
    def message(self) -> str:
        return f"enrollment {self.enrollment_id} is not active"


@attrs.frozen
class AssessmentMissing(DomainError):
    subject_id: UUID
    code: str = attrs.field(init=False, default="assessment_missing")

    @property
    def message(self) -> str:
        return f"{self.subject_id} has no recorded assessment"


@attrs.frozen
class NotCompleted(DomainError):
    subject_id: UUID
    reason: str
    code: str = attrs.field(init=False, default="not_completed")

    @property
    def message(self) -> str:
        return f"{self.subject_id} has not completed: {self.reason}"


# --- certificates -----------------------------------------------------------


@attrs.frozen
class AlreadyRevoked(DomainError):
    certificate_id: UUID
    revoked_at: datetime
    code: str = attrs.field(init=False, default="already_revoked")

    @property
    def message(self) -> str:
        return f"certificate {self.certificate_id} was already revoked at {self.revoked_at.isoformat()}"


@attrs.frozen
class NotRevoked(DomainError):
    certificate_id: UUID
    code: str = attrs.field(init=False, default="not_revoked")

    @property
    def message(self) -> str:
        return f"certificate {self.certificate_id} is not revoked"


@attrs.frozen
class NotPrintable(DomainError):
    """A revoked or superseded certificate is not printed: a clean copy of it would pass for a valid one."""

    certificate_id: UUID
    status: str
    code: str = attrs.field(init=False, default="not_printable")

    @property
    def message(self) -> str:
        return (
            f"certificate {self.certificate_id} is {self.status}: it is not printed"
            " (its verification page shows its status)"
        )


@attrs.frozen
class Unprintable(DomainError):
    """Text the certificate's fonts cannot print: no certificate is printed with a blank where a name should be."""

    field: str
    characters: str
    code: str = attrs.field(init=False, default="unprintable_text")

    @property
    def message(self) -> str:
        shown = self.characters[:20] + ("…" if len(self.characters) > 20 else "")
        return f"{self.field}: the certificate's fonts have no glyph for {shown!r}; it is not printed without them"


@attrs.frozen
class AlreadySuperseded(DomainError):
    certificate_id: UUID
    code: str = attrs.field(init=False, default="already_superseded")

    @property
    def message(self) -> str:
        return f"certificate {self.certificate_id} has already been superseded"


@attrs.frozen
class CompletionAlreadyCertified(DomainError):
    """Reinstating would give one completion two live certificates: it was certified again after the revocation."""

    certificate_id: UUID
    live_certificate_id: UUID
    code: str = attrs.field(init=False, default="completion_already_certified")

    @property
    def message(self) -> str:
        return (
            f"certificate {self.certificate_id} cannot be reinstated: its completion is now attested by"
            f" certificate {self.live_certificate_id} (revoke that one first)"
        )


@attrs.frozen
class Conflict(DomainError):
    """A concurrent change won a race for the same record; the caller may read again and retry."""

    rule: str
    code: str = attrs.field(init=False, default="conflict")

    @property
    def message(self) -> str:
        return f"a concurrent change conflicts: {self.rule}"


@attrs.frozen
class MalformedCode(DomainError):
    reason: str
    code: str = attrs.field(init=False, default="malformed_code")

    @property
    def message(self) -> str:
        return f"verification code is malformed: {self.reason}"


@attrs.frozen
class MistypedCode(DomainError):
    code: str = attrs.field(init=False, default="mistyped_code")

    @property
    def message(self) -> str:
        return "verification code has a typo: its check symbol does not match"


@attrs.frozen
class UnknownCode(DomainError):
    code: str = attrs.field(init=False, default="unknown_code")

    @property
    def message(self) -> str:
        return "no certificate has this verification code"


# --- rosters, teams ---------------------------------------------------------


@attrs.frozen
class RosterFull(DomainError):
    roster_id: UUID
    capacity: int
    code: str = attrs.field(init=False, default="roster_full")

    @property
    def message(self) -> str:
        return f"roster {self.roster_id} is full ({self.capacity} places)"


@attrs.frozen
class AlreadyMember(DomainError):
    group_id: UUID
    member_id: UUID
    code: str = attrs.field(init=False, default="already_member")

    @property
    def message(self) -> str:
        return f"{self.member_id} is already a member of {self.group_id}"


@attrs.frozen
class NotAMember(DomainError):
    group_id: UUID
    member_id: UUID
    code: str = attrs.field(init=False, default="not_a_member")

    @property
    def message(self) -> str:
        return f"{self.member_id} is not a member of {self.group_id}"


@attrs.frozen
class DateOutOfRange(DomainError):
    field: str
    value: date
    code: str = attrs.field(init=False, default="date_out_of_range")

    @property
    def message(self) -> str:
        return f"{self.field}: {self.value.isoformat()} is out of range"
