"""Staffing rules: who may lead, who may assist, when they are free."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from arccm.domain.access import Role
from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
from arccm.domain.course import Course
from arccm.domain.errors import (
    AvailabilityConflict,
    ExceedsInstructorMaximum,
    InstructorDoubleBooked,
    MissingSpecialties,
    StaffingRefused,
)
from arccm.domain.people import InstructorProfile, UserProfile
from arccm.domain.scheduling import AvailabilityBooking, Staff, StaffingPlan, check_staffing, overlaps
from arccm.domain.training_session import SessionStatus, TrainingSession

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
GOOD = ComplianceStanding(100, Tier.ROBUST, ComplianceStatus.COMPLIANT)
BAD = ComplianceStanding(10, Tier.NONE, ComplianceStatus.NON_COMPLIANT)
COURSE = Course(uuid.uuid4(), "CPR", "CPR", required_specialties=frozenset({"cpr"}))


def staff(
    role: Role = Role.IC,
    specialties: frozenset[str] = frozenset({"cpr"}),
    max_students: int = 10,
    credential: date | None = date(2030, 1, 1),
    compliance: ComplianceStanding = GOOD,
    active: bool = True,
) -> Staff:
    profile = UserProfile(uuid.uuid4(), "X", role, compliance=compliance)
    return Staff(profile, InstructorProfile(profile.id, specialties, max_students, credential, active))


def plan(lead: Staff, *assistants: Staff, capacity: int = 10, hours: int = 4) -> StaffingPlan:
    return StaffingPlan(COURSE, lead, assistants, T0, T0 + timedelta(hours=hours), capacity)


def session_for(
    lead: Staff, start: datetime, hours: int, status: SessionStatus = SessionStatus.SCHEDULED
) -> TrainingSession:
    return TrainingSession(
        uuid.uuid4(), COURSE.id, "s", uuid.uuid4(), lead.id, start, start + timedelta(hours=hours), 5, status=status
    )


@given(st.sampled_from(list(Role)), st.sampled_from([GOOD, BAD]), st.booleans())
def test_only_a_qualified_ic_or_ip_in_good_standing_may_lead(
    role: Role, compliance: ComplianceStanding, valid: bool
) -> None:
    lead = staff(role, credential=date(2030, 1, 1) if valid else date(2026, 4, 30), compliance=compliance)
    outcome = check_staffing(plan(lead), [], [])
    expected = role in (Role.IC, Role.IP) and valid and compliance is GOOD
    assert isinstance(outcome, Success) == expected
    if not expected:
        assert isinstance(outcome.failure(), StaffingRefused)


@given(st.sampled_from([Role.IT, Role.IN]))
def test_trainees_assist_only_alongside_a_lead(role: Role) -> None:
    trainee = staff(role)
    assert isinstance(check_staffing(plan(staff(Role.IC), trainee), [], []), Success)
    refused = check_staffing(plan(trainee), [], [])
    assert isinstance(refused.failure(), StaffingRefused)
    assert "may only assist" in refused.failure().message


@given(st.frozensets(st.sampled_from(["cpr", "first_aid", "aed"])))
def test_the_lead_must_cover_the_courses_specialties(specialties: frozenset[str]) -> None:
    outcome = check_staffing(plan(staff(specialties=specialties)), [], [])
    if "cpr" in specialties:
        assert isinstance(outcome, Success)
    else:
        assert outcome == Failure(MissingSpecialties(outcome.failure().instructor_id, frozenset({"cpr"})))  # type: ignore[attr-defined]


@given(st.integers(1, 40), st.integers(1, 40))
def test_capacity_within_the_leads_maximum(capacity: int, maximum: int) -> None:
    lead = staff(max_students=maximum)
    outcome = check_staffing(plan(lead, capacity=capacity), [], [])
    assert isinstance(outcome, Success) == (capacity <= maximum)
    if capacity > maximum:
        assert outcome == Failure(ExceedsInstructorMaximum(lead.id, capacity, maximum))


@given(st.integers(-10, 10), st.integers(1, 6), st.booleans(), st.booleans())
def test_no_instructor_teaches_two_overlapping_sessions(
    offset: int, hours: int, cancelled: bool, as_assistant: bool
) -> None:
    lead, other_lead = staff(), staff()
    other = session_for(
        other_lead,
        T0 + timedelta(hours=offset),
        hours,
        SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED,
    )
    if as_assistant:
        other.assistant_ids = frozenset({lead.id})
    else:
        other.lead_instructor_id = lead.id
    outcome = check_staffing(plan(lead), [other], [])
    clash = overlaps(T0, T0 + timedelta(hours=4), other.starts_at, other.ends_at) and not cancelled
    assert isinstance(outcome, Success) == (not clash)
    if clash:
        assert outcome == Failure(InstructorDoubleBooked(lead.id, other.id))


@given(st.integers(-10, 10), st.integers(1, 6))
def test_booked_or_blocked_time_is_a_conflict(offset: int, hours: int) -> None:
    lead, assistant = staff(), staff(Role.IT)
    start = T0 + timedelta(hours=offset)
    booking = AvailabilityBooking(uuid.uuid4(), assistant.id, start, start + timedelta(hours=hours))
    outcome = check_staffing(plan(lead, assistant), [], [booking])
    clash = overlaps(T0, T0 + timedelta(hours=4), booking.starts_at, booking.ends_at)
    assert outcome == (Failure(AvailabilityConflict(assistant.id, booking.id)) if clash else Success(None))


@given(st.integers(-100, 100), st.integers(1, 50), st.integers(-100, 100), st.integers(1, 50))
def test_overlap_is_symmetric_and_half_open(a: int, a_len: int, b: int, b_len: int) -> None:
    a0, a1 = T0 + timedelta(minutes=a), T0 + timedelta(minutes=a + a_len)
    b0, b1 = T0 + timedelta(minutes=b), T0 + timedelta(minutes=b + b_len)
    assert overlaps(a0, a1, b0, b1) == overlaps(b0, b1, a0, a1)
    assert not overlaps(a0, a1, a1, a1 + timedelta(minutes=1))
