"""Teams and their members."""

from __future__ import annotations

import attrs
from returns.result import Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, found, in_transaction
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.errors import DomainError
from arccm.domain.team import Team, TeamMember


@attrs.frozen
class CreateTeamHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.CreateTeam) -> Result[Team, DomainError]:
        def work(uow: UnitOfWork) -> Result[Team, DomainError]:
            team = Team(
                id=self.ctx.ids.new_id(),
                name=cmd.name.strip(),
                provider_id=cmd.provider_id,
                location_id=cmd.location_id,
                created_by=actor.user_id,
            )
            outcome = may(actor, Action.CREATE_TEAM, team.resource()).bind(
                lambda _: Team.create(team, self.ctx.clock.now())
            )
            if isinstance(outcome, Success):
                uow.teams.add(team)
            return outcome

        return in_transaction(self.ctx, actor, work)


@attrs.frozen
class AddTeamMemberHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.AddTeamMember) -> Result[TeamMember, DomainError]:
        return in_transaction(
            self.ctx,
            actor,
            lambda uow: found(uow.profiles.find(cmd.user_id), "user", cmd.user_id).bind(
                lambda _: found(uow.teams.get_for_update(cmd.team_id), "team", cmd.team_id).bind(
                    lambda t: may(actor, Action.MANAGE_TEAM_MEMBERS, t.resource()).bind(
                        lambda _: t.add(cmd.user_id, cmd.role, self.ctx.clock.now())
                    )
                )
            ),
        )


@attrs.frozen
class RemoveTeamMemberHandler:
    ctx: Context

    @boundary
    def __call__(self, actor: Actor, cmd: commands.RemoveTeamMember) -> Result[TeamMember, DomainError]:
        return in_transaction(
            self.ctx,
            actor,
            lambda uow: found(uow.teams.get_for_update(cmd.team_id), "team", cmd.team_id).bind(
                lambda t: may(actor, Action.MANAGE_TEAM_MEMBERS, t.resource()).bind(
                    lambda _: t.remove(cmd.user_id, self.ctx.clock.now())
                )
            ),
        )
