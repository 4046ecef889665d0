"""Teams with their members."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from arccm.adapters.postgres.mappings import TEAMS
from arccm.domain.team import Team

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork


class PostgresTeamRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get_for_update(self, team_id: UUID) -> Team | None:
        return self._uow.get_for_update(TEAMS, team_id)

    def add(self, team: Team) -> None:
        self._uow.add(TEAMS, team)
