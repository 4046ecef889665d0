"""Teams and their members."""

from __future__ import annotations

import attrs
from returns.result import Failure, Result, Success

from arccm.application import commands
from arccm.application.ports.unit_of_work import UnitOfWork
from arccm.application.use_cases.base import Context, found, in_transaction
from arccm.application.validation import boundary
from arccm.domain.access import Action, Actor, may
from arccm.domain.errors import DomainError, InvalidValue, NotFound
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
            outcome = Result.do(
                created
                for _ in _places_exist(uow, cmd)
                for _ in may(actor, Action.CREATE_TEAM, team.resource())
                for created in Team.create(team, self.ctx.clock.now())
            )
            if isinstance(outcome, Success):
                uow.teams.add(team)
            return outcome

        return in_transaction(self.ctx, actor, work)


def _places_exist(uow: UnitOfWork, cmd: commands.CreateTeam) -> Result[None, DomainError]:
    """The provider and the location a team names exist, and the location is one of the provider's."""
    if cmd.provider_id is not None:
        provider = uow.reference.provider(cmd.provider_id)
        if provider is None:
            return Failure(NotFound("provider", cmd.provider_id))
        if cmd.location_id is not None and cmd.location_id not in provider.location_ids:
            return Failure(InvalidValue("location_id", "must be one of the provider's locations"))
    elif cmd.location_id is not None and uow.reference.location(cmd.location_id) is None:
        return Failure(NotFound("location", cmd.location_id))
    return Success(None)


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
