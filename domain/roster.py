"""Rosters: external learners in a class, their scores and completion.

A roster is the unit for batch issuance: every member who completed gets a
certificate; every other member is reported with the reason.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.course import AssessmentRule, validate_score
from arccm.domain.enrollment import Attendance, Completion, evaluate_completion
from arccm.domain.errors import AlreadyMember, DomainError, InvalidValue, NotFound, RosterFull
from arccm.domain.events import DomainEvent, RosterCreated, RosterMemberAdded, RosterMemberAssessed
from arccm.domain.text import clean_text


@attrs.define(slots=False, eq=False)
class RosterMember:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    student_id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    added_at: datetime
    attendance: Attendance = Attendance.REGISTERED
    practical_score: Decimal | None = None
    written_score: Decimal | None = None
    completion: Completion = Completion.NOT_STARTED
    completion_reason: str | None = None
    completed_at: datetime | None = None


@attrs.define(slots=False, eq=False)
class Roster:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    name: str
    course_id: UUID
    location_id: UUID
    instructor_id: UUID
    max_capacity: int
    provider_id: UUID | None = None
    created_by: UUID | None = None
    members: list[RosterMember] = attrs.field(factory=list)
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def create(roster: Roster, now: datetime) -> Result[Roster, DomainError]:
        if roster.max_capacity < 1:
            return Failure(InvalidValue("max_capacity", "must be at least 1"))
        name = clean_text("name", roster.name)
        if isinstance(name, Failure):
            return Failure(name.failure())
        roster.name = name.unwrap()
        roster.events.append(RosterCreated(occurred_at=now, scope=roster.resource(), roster_id=roster.id))
        return Success(roster)

    def resource(self) -> Resource:
        return Resource(
            kind=ResourceKind.ROSTER,
            location_id=self.location_id,
            provider_id=self.provider_id,
            created_by=self.created_by,
            instructors=frozenset({self.instructor_id}),
            lead_instructor=self.instructor_id,
        )

    def member(self, member_id: UUID) -> Result[RosterMember, DomainError]:
        found = next((m for m in self.members if m.id == member_id), None)
        return Success(found) if found else Failure(NotFound("roster member", member_id))

    def add(self, member_id: UUID, student_id: UUID, now: datetime) -> Result[RosterMember, DomainError]:
        if any(m.student_id == student_id for m in self.members):
            return Failure(AlreadyMember(self.id, student_id))
        if len(self.members) >= self.max_capacity:
            return Failure(RosterFull(self.id, self.max_capacity))
        member = RosterMember(member_id, student_id, now)
        self.members.append(member)
        self.events.append(
            RosterMemberAdded(
                occurred_at=now, scope=self.resource(), roster_id=self.id, member_id=member_id, student_id=student_id
            )
        )
        return Success(member)

    def assess(
        self,
        member_id: UUID,
        attendance: Attendance,
        practical: Decimal,
        written: Decimal,
        rule: AssessmentRule,
        now: datetime,
    ) -> Result[RosterMember, DomainError]:
        """Record attendance and scores, and decide completion by the same rule as sessions."""
        scores = validate_score("practical_score", practical).bind(lambda _: validate_score("written_score", written))
        if isinstance(scores, Failure):
            return Failure(scores.failure())
        return self.member(member_id).map(lambda m: self._decide(m, attendance, practical, written, rule, now))

    def _decide(
        self,
        member: RosterMember,
        attendance: Attendance,
        practical: Decimal,
        written: Decimal,
        rule: AssessmentRule,
        now: datetime,
    ) -> RosterMember:
        outcome = evaluate_completion(attendance, practical, written, rule)
        member.attendance, member.practical_score, member.written_score = attendance, practical, written
        member.completion, member.completion_reason = outcome.completion, outcome.reason
        member.completed_at = now
        self.events.append(
            RosterMemberAssessed(
                occurred_at=now,
                scope=self.resource(),
                roster_id=self.id,
                member_id=member.id,
                student_id=member.student_id,
                completion=outcome.completion.value,
            )
        )
        return member
