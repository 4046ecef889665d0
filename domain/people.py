"""The organization: locations, providers, users, instructors, external learners."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

import attrs
from returns.result import Failure

from arccm.domain.access import Actor, Resource, ResourceKind, Role, may_act
from arccm.domain.compliance import ComplianceRecord, ComplianceStanding
from arccm.domain.errors import DomainError
from arccm.domain.events import (
    ComplianceChanged,
    ComplianceItemRecorded,
    DomainEvent,
    PersonErased,
    ProviderStatusChanged,
    UserRoleChanged,
    UserStatusChanged,
)


@attrs.frozen
class Location:
    id: UUID
    name: str
    timezone: str = "UTC"  # an IANA zone name


ERASED_NAME = "Erased learner"  # what an erased person's name reads, on certificates and everywhere else


class ProviderStatus(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # for a while (an audit, a lapsed agreement): its users may not act or read
    INACTIVE = "inactive"  # no longer a provider


@attrs.frozen
class AuthorizedProvider:
    id: UUID
    name: str
    location_ids: frozenset[UUID] = frozenset()
    status: ProviderStatus = ProviderStatus.ACTIVE

    @property
    def active(self) -> bool:
        return self.status is ProviderStatus.ACTIVE

    def resource(self) -> Resource:
        return Resource(kind=ResourceKind.REFERENCE, provider_id=self.id)

    def with_status(self, status: ProviderStatus, by: UUID, now: datetime) -> tuple[AuthorizedProvider, DomainEvent]:
        changed = attrs.evolve(self, status=status)
        event = ProviderStatusChanged(
            occurred_at=now, scope=self.resource(), provider_id=self.id, status=status.value, changed_by=by
        )
        return changed, event


@attrs.define(slots=False, eq=False)
class UserProfile:
    """A person with a login (``profiles``)."""

    id: UUID = attrs.field(on_setattr=attrs.setters.frozen)
    display_name: str
    role: Role
    email: str = ""
    phone: str = ""
    provider_id: UUID | None = None
    location_id: UUID | None = None
    compliance: ComplianceStanding = attrs.field(factory=ComplianceStanding.unassessed)
    active: bool = True  # an inactive user may not act or read (docs/access.md, "Who may act at all")
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def resource(self, kind: ResourceKind = ResourceKind.PROFILE) -> Resource:
        return Resource(
            kind=kind,
            location_id=self.location_id,
            provider_id=self.provider_id,
            subject_id=self.id,
            role=self.role,
        )

    def record_compliance(self, record: ComplianceRecord, new: ComplianceStanding, now: datetime) -> None:
        self.events.append(
            ComplianceItemRecorded(
                occurred_at=now,
                scope=self.resource(ResourceKind.COMPLIANCE),
                user_id=self.id,
                metric_id=record.metric_id,
                status=record.status.value,
            )
        )
        self.update_compliance(new, now)

    def update_compliance(self, new: ComplianceStanding, now: datetime) -> bool:
        """Store a recomputed standing; report a change only when score, tier or status moved."""
        old = self.compliance
        if new == old:
            return False
        self.compliance = new
        self.events.append(
            ComplianceChanged(
                occurred_at=now,
                scope=self.resource(ResourceKind.COMPLIANCE),
                user_id=self.id,
                old_score=old.score,
                new_score=new.score,
                old_tier=old.tier.value,
                new_tier=new.tier.value,
                old_status=old.status.value,
                new_status=new.status.value,
            )
        )
        return True

    def set_active(self, active: bool, by: UUID, now: datetime) -> UserProfile:
        if active != self.active:
            self.active = active
            self.events.append(
                UserStatusChanged(occurred_at=now, scope=self.resource(), user_id=self.id, active=active, changed_by=by)
            )
        return self

    def erase(self, by: UUID, now: datetime) -> UserProfile:
        """Replace the person's name and contact details (their records stay); an erased user no longer acts."""
        self.display_name, self.email, self.phone, self.active = ERASED_NAME, "", "", False
        self.events.append(PersonErased(occurred_at=now, scope=self.resource(), person_id=self.id, erased_by=by))
        return self

    def change_role(self, role: Role, by: UUID, now: datetime) -> UserProfile:
        if role is self.role:  # nothing changes, so nothing is announced (as for set_active)
            return self
        old = self.role
        self.role = role
        self.events.append(
            UserRoleChanged(
                occurred_at=now,
                scope=self.resource(),
                user_id=self.id,
                old_role=old.value,
                new_role=role.value,
                changed_by=by,
            )
        )
        return self


@attrs.frozen
class InstructorProfile:
    """What qualifies an instructor to teach (``instructor_profiles``)."""

    user_id: UUID
    specialties: frozenset[str] = frozenset()
    max_students_per_session: int = 12
    credential_expires_on: date | None = None
    is_active: bool = True


@attrs.frozen
class StudentProfile:
    """An external learner without a login (``student_enrollment_profiles``)."""

    id: UUID
    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    location_id: UUID | None = None

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def refusal(profile: UserProfile, provider: AuthorizedProvider | None) -> DomainError | None:
    """Why this user may not act or read now (``access.may_act``), or None."""
    decided = may_act(profile.active, provider.status.value if provider is not None else None)
    return decided.failure() if isinstance(decided, Failure) else None


def actor_for(profile: UserProfile, provider: AuthorizedProvider | None) -> Actor:
    """Build the acting identity from stored facts, never from a client's claim."""
    return Actor(
        user_id=profile.id,
        role=profile.role,
        provider_id=provider.id if provider else None,
        location_ids=provider.location_ids if provider else frozenset(),
    )
