"""Teams with their members."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arccm.adapters.postgres.mapping import AggregateRepository
from arccm.adapters.postgres.mappings import TEAMS
from arccm.domain.team import Team

if TYPE_CHECKING:
    pass


class PostgresTeamRepository(AggregateRepository[Team]):
    mapping = TEAMS
