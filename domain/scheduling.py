"""Staffing a session: who may lead, who may assist, and when they are free.

These rules need facts beyond one session (the instructors' profiles, their
other sessions, their availability bookings), so they live in this domain
service rather than on the aggregate.  Each rule is a small named function
returning ``None`` when satisfied.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import INSTRUCTOR_ROLES, LEAD_INSTRUCTORS, TRAINEES
from arccm.domain.course import Course
from arccm.domain.errors import (
    AvailabilityConflict,
    DomainError,
    ExceedsInstructorMaximum,
    InstructorDoubleBooked,
    InvalidValue,
    MissingSpecialties,
    StaffingRefused,
)
from arccm.domain.people import InstructorProfile, UserProfile
from arccm.domain.training_session import SessionStatus, TrainingSession


class BookingKind(enum.Enum):
    BOOKED = "booked"
    BLOCKED = "blocked"


@attrs.frozen
class AvailabilityBooking:
    """An instructor's booked or blocked time (``availability_bookings``)."""

    id: UUID
    instructor_id: UUID
    starts_at: datetime
    ends_at: datetime
    kind: BookingKind = BookingKind.BLOCKED
    title: str = ""


@attrs.frozen
class Staff:
    """An instructor as the staffing rules see them: login profile plus qualifications."""

    profile: UserProfile
    qualification: InstructorProfile

    @property
    def id(self) -> UUID:
        return self.profile.id


@attrs.frozen
class StaffingPlan:
    course: Course
    lead: Staff
    assistants: Sequence[Staff]
    starts_at: datetime
    ends_at: datetime
    max_capacity: int
    session_id: UUID | None = None  # the session being changed, if any


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def check_staffing(
    plan: StaffingPlan,
    other_sessions: Sequence[TrainingSession],
    bookings: Sequence[AvailabilityBooking],
) -> Result[None, DomainError]:
    """Run every staffing rule; the first one broken is the answer."""
    for problem in (
        _lead_may_lead(plan),
        _assistants_may_assist(plan),
        _lead_covers_specialties(plan),
        _within_instructor_maximum(plan),
        _nobody_double_booked(plan, other_sessions),
        _nobody_unavailable(plan, bookings),
    ):
        if problem is not None:
            return Failure(problem)
    return Success(None)


def _lead_may_lead(plan: StaffingPlan) -> DomainError | None:
    lead = plan.lead
    if lead.profile.role not in LEAD_INSTRUCTORS:
        if lead.profile.role in TRAINEES:
            return StaffingRefused(lead.id, f"{lead.profile.role.value} may only assist alongside an IC or IP lead")
        return StaffingRefused(lead.id, f"the lead must be an IC or IP instructor, not {lead.profile.role.value}")
    return _qualified_on(lead, plan.starts_at)


def _qualified_on(staff: Staff, starts_at: datetime) -> DomainError | None:
    qualification = staff.qualification
    if not qualification.is_active:
        return StaffingRefused(staff.id, "instructor profile is inactive")
    expires = qualification.credential_expires_on
    if expires is None or expires < starts_at.date():
        return StaffingRefused(staff.id, "instructor credential is missing or expires before the session")
    if not staff.profile.compliance.in_good_standing:
        return StaffingRefused(staff.id, f"compliance is {staff.profile.compliance.status.value}")
    return None


def _assistants_may_assist(plan: StaffingPlan) -> DomainError | None:
    for assistant in plan.assistants:
        if assistant.id == plan.lead.id:
            return InvalidValue("assistant_ids", "the lead cannot also be an assistant")
        if assistant.profile.role not in INSTRUCTOR_ROLES:
            return StaffingRefused(assistant.id, f"{assistant.profile.role.value} is not an instructor role")
        if not assistant.qualification.is_active:
            return StaffingRefused(assistant.id, "instructor profile is inactive")
    return None


def _lead_covers_specialties(plan: StaffingPlan) -> DomainError | None:
    missing = plan.course.required_specialties - plan.lead.qualification.specialties
    if missing:
        return MissingSpecialties(plan.lead.id, frozenset(missing))
    return None


def _within_instructor_maximum(plan: StaffingPlan) -> DomainError | None:
    maximum = plan.lead.qualification.max_students_per_session
    if plan.max_capacity > maximum:
        return ExceedsInstructorMaximum(plan.lead.id, plan.max_capacity, maximum)
    return None


def _staff_ids(plan: StaffingPlan) -> set[UUID]:
    return {plan.lead.id, *(a.id for a in plan.assistants)}


def _nobody_double_booked(plan: StaffingPlan, others: Sequence[TrainingSession]) -> DomainError | None:
    staff = _staff_ids(plan)
    for other in others:
        if other.id == plan.session_id or other.status is SessionStatus.CANCELLED:
            continue
        if not overlaps(plan.starts_at, plan.ends_at, other.starts_at, other.ends_at):
            continue
        for instructor in sorted(staff & other.instructors):
            return InstructorDoubleBooked(instructor, other.id)
    return None


def _nobody_unavailable(plan: StaffingPlan, bookings: Sequence[AvailabilityBooking]) -> DomainError | None:
    staff = _staff_ids(plan)
    for booking in bookings:
        if booking.instructor_id in staff and overlaps(
            plan.starts_at, plan.ends_at, booking.starts_at, booking.ends_at
        ):
            return AvailabilityConflict(booking.instructor_id, booking.id)
    return None
