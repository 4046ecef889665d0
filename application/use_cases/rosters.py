"""Rosters of external learners: create, add members, assess."""

from __future__ import annotations

import attrs
from returns.result import Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, InTransaction, found, in_transaction
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.errors import DomainError
from arccm.domain.roster import Roster, RosterMember


@attrs.frozen
class CreateRosterHandler(InTransaction[commands.CreateRoster, Roster]):
    ctx: Context

    def run(self, uow: UnitOfWork, actor: Actor, cmd: commands.CreateRoster) -> Result[Roster, DomainError]:
        return Result.do(
            _added(uow, created)
            for _ in found(uow.reference.course(cmd.course_id), "course", cmd.course_id)
            for _ in found(uow.reference.location(cmd.location_id), "location", cmd.location_id)
            for _ in found(uow.profiles.instructor(cmd.instructor_id), "instructor", cmd.instructor_id)
            for roster in Success(self._roster(uow, actor, cmd))
            for _ in may(actor, Action.MANAGE_ROSTER, roster.resource())
            for created in Roster.create(roster, self.ctx.clock.now())
        )

    def _roster(self, uow: UnitOfWork, actor: Actor, cmd: commands.CreateRoster) -> Roster:
        provider = uow.reference.provider_of_location(cmd.location_id)
        return Roster(
            id=self.ctx.ids.new_id(),
            name=cmd.name.strip(),
            course_id=cmd.course_id,
            location_id=cmd.location_id,
            instructor_id=cmd.instructor_id,
            max_capacity=cmd.max_capacity,
            provider_id=provider.id if provider else None,
            created_by=actor.user_id,
        )


def _added(uow: UnitOfWork, roster: Roster) -> Roster:
    uow.rosters.add(roster)
    return roster


@attrs.frozen
class AddRosterMemberHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.AddRosterMember) -> Result[RosterMember, DomainError]:
        return in_transaction(
            self.ctx,
            actor,
            lambda uow: found(uow.profiles.student(cmd.student_id), "student", cmd.student_id).bind(
                lambda _: found(uow.rosters.get_for_update(cmd.roster_id), "roster", cmd.roster_id).bind(
                    lambda r: may(actor, Action.MANAGE_ROSTER, r.resource()).bind(
                        lambda _: r.add(self.ctx.ids.new_id(), cmd.student_id, self.ctx.clock.now())
                    )
                )
            ),
        )


@attrs.frozen
class AssessRosterMemberHandler:
    """Record a roster member's attendance and scores; the roster's instructor may, like a session's."""

    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.AssessRosterMember) -> Result[RosterMember, DomainError]:
        def work(uow: UnitOfWork) -> Result[RosterMember, DomainError]:
            return found(uow.rosters.get_for_update(cmd.roster_id), "roster", cmd.roster_id).bind(
                lambda r: may(actor, Action.RECORD_ASSESSMENT, r.resource()).bind(
                    lambda _: found(uow.reference.course(r.course_id), "course", r.course_id).bind(
                        lambda course: r.assess(
                            cmd.member_id,
                            cmd.attendance,
                            cmd.practical_score,
                            cmd.written_score,
                            course.rule,
                            self.ctx.clock.now(),
                        )
                    )
                )
            )

        return in_transaction(self.ctx, actor, work)
