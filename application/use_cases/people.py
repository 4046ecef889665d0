"""Compliance items and user management."""

from __future__ import annotations

from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, InTransaction, found, in_transaction
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, Resource, ResourceKind, may
from arccm.domain.compliance import ComplianceRecord, ComplianceStanding, standing
from arccm.domain.errors import DomainError, InvalidValue, NotFound
from arccm.domain.people import ERASED_NAME, UserProfile, actor_for, refusal


@attrs.frozen
class RecordComplianceItemHandler(InTransaction[commands.RecordComplianceItem, ComplianceStanding]):
    """Record one compliance item and recompute the user's standing from all their records."""

    ctx: Context

    def run(
        self, uow: UnitOfWork, actor: Actor, cmd: commands.RecordComplianceItem
    ) -> Result[ComplianceStanding, DomainError]:
        if cmd.expires_on is not None and cmd.expires_on < cmd.recorded_on:
            return Failure(InvalidValue("expires_on", "must not be before recorded_on"))
        return Result.do(
            self._apply(uow, profile, cmd)
            for _ in found(uow.compliance.metric(cmd.metric_id), "compliance metric", cmd.metric_id)
            for profile in found(uow.profiles.get_for_update(cmd.user_id), "user", cmd.user_id)
            for _ in may(actor, Action.RECORD_COMPLIANCE, profile.resource())
        )

    def _apply(self, uow: UnitOfWork, profile: UserProfile, cmd: commands.RecordComplianceItem) -> ComplianceStanding:
        record = ComplianceRecord(profile.id, cmd.metric_id, cmd.status, cmd.recorded_on, cmd.expires_on)
        uow.compliance.add_record(record)
        now = self.ctx.clock.now()
        new = standing(profile.role, uow.compliance.records_for(profile.id), uow.compliance.metrics(), now.date())
        profile.record_compliance(record, new, now)
        return new


@attrs.frozen
class ChangeUserRoleHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.ChangeUserRole) -> Result[UserProfile, DomainError]:
        """Nobody changes their own role: another administrator must (an organization must not lose its last
        administrator to a slip, and a user demoted mid-transaction could no longer record what they did)."""
        if cmd.user_id == actor.user_id:
            return Failure(InvalidValue("user_id", "must not be the acting user"))

        def work(uow: UnitOfWork) -> Result[UserProfile, DomainError]:
            return Result.do(
                self._change(uow, actor, profile, cmd)
                for profile in found(uow.profiles.get_for_update(cmd.user_id), "user", cmd.user_id)
                for _ in may(actor, Action.MANAGE_USER, attrs.evolve(profile.resource(), granted_role=cmd.role))
            )

        return in_transaction(self.ctx, actor, work)

    def _change(self, uow: UnitOfWork, actor: Actor, profile: UserProfile, cmd: commands.ChangeUserRole) -> UserProfile:
        now = self.ctx.clock.now()
        profile.change_role(cmd.role, actor.user_id, now)
        if profile.compliance != ComplianceStanding.unassessed():
            # other metrics apply to the new role: the standing may move with it
            records, metrics = uow.compliance.records_for(profile.id), uow.compliance.metrics()
            profile.update_compliance(standing(profile.role, records, metrics, now.date()), now)
        return profile


@attrs.frozen
class ErasePersonHandler(InTransaction[commands.ErasePerson, UUID]):
    """SA and AD erase a learner's personal data (docs/access.md, "Erasure")."""

    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.ErasePerson) -> Result[UUID, DomainError]:
        if cmd.person_id == actor.user_id:
            return Failure(InvalidValue("person_id", "must not be the acting user"))
        allowed = may(actor, Action.ERASE_PERSON, Resource(ResourceKind.PROFILE, subject_id=cmd.person_id))
        if isinstance(allowed, Failure):
            return Failure(allowed.failure())
        profile = uow.profiles.get_for_update(cmd.person_id)
        if profile is None and uow.profiles.student(cmd.person_id) is None:
            return found(None, "person", cmd.person_id)
        if profile is not None:
            profile.erase(actor.user_id, self.ctx.clock.now())
        uow.profiles.erase_personal_data(cmd.person_id, ERASED_NAME)
        return Success(cmd.person_id)


@attrs.frozen
class SetUserActiveHandler(InTransaction[commands.SetUserActive, UserProfile]):
    """Managing a user includes deactivating them: SA anyone, AD anyone but SA, AP its own provider's instructors.
    Nobody deactivates themselves (an organization must not lock out its last administrator by accident)."""

    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.SetUserActive) -> Result[UserProfile, DomainError]:
        if cmd.user_id == actor.user_id:
            return Failure(InvalidValue("user_id", "must not be the acting user"))
        return Result.do(
            profile.set_active(cmd.active, actor.user_id, self.ctx.clock.now())
            for profile in found(uow.profiles.get_for_update(cmd.user_id), "user", cmd.user_id)
            for _ in may(actor, Action.MANAGE_USER, profile.resource())
        )


@attrs.frozen
class ResolveActorHandler:
    """The acting identity for a user id, built from stored facts (never from a client's claim)."""

    ctx: Context

    @boundary
    def __call__(self, user_id: UUID) -> Result[Actor, DomainError]:
        with self.ctx.uow(None) as uow:
            profile = uow.profiles.find(user_id)
            if profile is None:
                return found(None, "user", user_id)
            return _standing(uow, profile)

    @boundary
    def by_email(self, email: str) -> Result[Actor, DomainError]:
        """The acting identity of the one user with this e-mail (spaces and letter case ignored)."""
        wanted = email.strip()
        if not wanted or len(wanted) > MAX_EMAIL or "@" not in wanted:
            return Failure(InvalidValue("email", f"must be an e-mail address of at most {MAX_EMAIL} characters"))
        with self.ctx.uow(None) as uow:
            found = uow.profiles.with_email(wanted)
            if not found:
                return Failure(NotFound("user with e-mail", wanted))
            if len(found) > 1:
                return Failure(InvalidValue("email", f"belongs to {len(found)} users: name the user by id"))
            profile = uow.profiles.find(found[0])
            return _standing(uow, profile) if profile else Failure(NotFound("user with e-mail", wanted))


MAX_EMAIL = 254  # RFC 5321's limit on a forward path


def _standing(uow: UnitOfWork, profile: UserProfile) -> Result[Actor, DomainError]:
    provider = uow.reference.provider(profile.provider_id) if profile.provider_id else None
    refused = refusal(profile, provider)
    if refused is not None:
        return Failure(refused)
    return Success(actor_for(profile, provider))
