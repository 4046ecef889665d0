"""A small organization built through the public API, for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import attrs
from returns.result import Result, Success

from arccm.adapters.container import Container
from arccm.adapters.system import ManualClock
from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
from arccm.domain.course import AssessmentRule, Course
from arccm.domain.errors import DomainError
from arccm.domain.people import (
    AuthorizedProvider,
    InstructorProfile,
    Location,
    StudentProfile,
    UserProfile,
    actor_for,
)
from arccm.domain.training_session import TrainingSession

T = TypeVar("T")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GOOD = ComplianceStanding(100, Tier.ROBUST, ComplianceStatus.COMPLIANT)


def ok(result: Result[T, DomainError]) -> T:
    assert isinstance(result, Success), f"expected success, got {result}"
    value: T = result.unwrap()
    return value


@attrs.define
class World:
    container: Container
    clock: ManualClock
    course: Course
    providers: list[AuthorizedProvider] = attrs.field(factory=list)
    locations: list[Location] = attrs.field(factory=list)
    actors: dict[uuid.UUID, Actor] = attrs.field(factory=dict)
    profiles: dict[uuid.UUID, UserProfile] = attrs.field(factory=dict)
    admin: Actor | None = None

    @staticmethod
    def create(container: Container | None = None, rule: AssessmentRule | None = None) -> World:
        container = container or Container()
        clock = ManualClock(NOW)
        container.clock.override(clock)
        course = Course(uuid.uuid4(), "CPR Level C", "CPR-C", 24, frozenset({"cpr"}), rule or AssessmentRule())
        world = World(container, clock, course)
        container.bootstrap().load(course)
        world.admin = world.user(Role.SA)
        return world

    def provider(self, locations: int = 1, timezone: str = "UTC") -> AuthorizedProvider:
        places = [Location(uuid.uuid4(), f"Location {len(self.locations) + i}", timezone) for i in range(locations)]
        provider = AuthorizedProvider(uuid.uuid4(), f"Provider {len(self.providers)}", frozenset(p.id for p in places))
        self.container.bootstrap().load(*places, provider)
        self.locations.extend(places)
        self.providers.append(provider)
        return provider

    def user(self, role: Role, provider: AuthorizedProvider | None = None, max_students: int = 200) -> Actor:
        profile = UserProfile(
            uuid.uuid4(),
            f"{role.value} {len(self.profiles)} Person",
            role,
            email=f"u{len(self.profiles)}@example.org",
            phone="555-0100",
            provider_id=provider.id if provider else None,
            compliance=GOOD,
        )
        items: list[UserProfile | InstructorProfile] = [profile]
        if role in (Role.IC, Role.IP, Role.IT, Role.IN):
            items.append(InstructorProfile(profile.id, frozenset({"cpr"}), max_students, date(2030, 1, 1)))
        self.container.bootstrap().load(*items)
        actor = actor_for(profile, provider)
        self.actors[profile.id] = actor
        self.profiles[profile.id] = profile
        return actor

    def student(self, name: str = "Jane Doe") -> StudentProfile:
        first, _, last = name.partition(" ")
        student = StudentProfile(uuid.uuid4(), first, last, email="jane@example.org", phone="555-0199")
        self.container.bootstrap().load(student)
        return student

    def session(
        self,
        by: Actor,
        lead: Actor,
        capacity: int = 25,
        location: Location | None = None,
        starts_in: timedelta = timedelta(days=7),
        allow_waitlist: bool = True,
        assistants: frozenset[uuid.UUID] = frozenset(),
    ) -> TrainingSession:
        place = location or next(loc for loc in self.locations if loc.id in by.location_ids or not by.location_ids)
        starts = NOW + starts_in
        command = c.ScheduleSession(
            self.course.id,
            place.id,
            lead.user_id,
            "Session",
            starts,
            starts + timedelta(hours=6),
            capacity,
            assistants,
            allow_waitlist,
        )
        return ok(self.container.schedule_session()(by, command))

    def run_class(self, session: TrainingSession, scores: dict[uuid.UUID, tuple[int, int]]) -> None:
        """Start the session and record attendance, scores and completion for the given enrollments."""
        sa = self.admin
        assert sa is not None
        self.clock.current = session.starts_at
        ok(self.container.start_session()(sa, c.StartSession(session.id)))
        from arccm.domain.enrollment import Attendance

        for enrollment_id, (practical, written) in scores.items():
            ok(
                self.container.record_attendance()(
                    sa, c.RecordAttendance(session.id, enrollment_id, Attendance.ATTENDED)
                )
            )
            assessment = c.RecordAssessment(session.id, enrollment_id, Decimal(practical), Decimal(written))
            ok(self.container.record_assessment()(sa, assessment))
            ok(self.container.complete_enrollment()(sa, c.CompleteEnrollment(session.id, enrollment_id)))
