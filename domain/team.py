"""Teams of users within a provider."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.domain.access import Resource, ResourceKind
from arccm.domain.errors import AlreadyMember, DomainError, NotAMember
from arccm.domain.events import DomainEvent, TeamCreated, TeamMemberAdded, TeamMemberRemoved
from arccm.domain.text import clean_text


class TeamRole(enum.Enum):
    MEMBER = "member"
    LEAD = "lead"


@attrs.frozen
class TeamMember:
    user_id: UUID
    role: TeamRole
    added_at: datetime


@attrs.define(slots=False, eq=False)
class Team:
    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    name: str
    provider_id: UUID | None = None
    location_id: UUID | None = None
    created_by: UUID | None = None
    members: list[TeamMember] = attrs.field(factory=list)
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def create(team: Team, now: datetime) -> Result[Team, DomainError]:
        name = clean_text("name", team.name)
        if isinstance(name, Failure):
            return Failure(name.failure())
        team.name = name.unwrap()
        team.events.append(TeamCreated(occurred_at=now, scope=team.resource(), team_id=team.id, team_name=team.name))
        return Success(team)

    def resource(self, subject_id: UUID | None = None) -> Resource:
        return Resource(
            kind=ResourceKind.TEAM,
            location_id=self.location_id,
            provider_id=self.provider_id,
            created_by=self.created_by,
            subject_id=subject_id,
        )

    def member_ids(self) -> frozenset[UUID]:
        return frozenset(m.user_id for m in self.members)

    def add(self, user_id: UUID, role: TeamRole, now: datetime) -> Result[TeamMember, DomainError]:
        if user_id in self.member_ids():
            return Failure(AlreadyMember(self.id, user_id))
        member = TeamMember(user_id, role, now)
        self.members.append(member)
        self.events.append(
            TeamMemberAdded(occurred_at=now, scope=self.resource(user_id), team_id=self.id, user_id=user_id)
        )
        return Success(member)

    def remove(self, user_id: UUID, now: datetime) -> Result[TeamMember, DomainError]:
        member = next((m for m in self.members if m.user_id == user_id), None)
        if member is None:
            return Failure(NotAMember(self.id, user_id))
        self.members.remove(member)
        self.events.append(
            TeamMemberRemoved(occurred_at=now, scope=self.resource(user_id), team_id=self.id, user_id=user_id)
        )
        return Success(member)
