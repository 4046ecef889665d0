"""Rosters (``student_rosters``) with their members."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arccm.adapters.postgres.mapping import AggregateRepository
from arccm.adapters.postgres.mappings import ROSTERS
from arccm.domain.roster import Roster

if TYPE_CHECKING:
    pass


class PostgresRosterRepository(AggregateRepository[Roster]):
    mapping = ROSTERS
