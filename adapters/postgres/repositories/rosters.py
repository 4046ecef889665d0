"""Rosters (``student_rosters``) with their members."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from arccm.adapters.postgres.mappings import ROSTERS
from arccm.domain.roster import Roster

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork


class PostgresRosterRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get_for_update(self, roster_id: UUID) -> Roster | None:
        return self._uow.get_for_update(ROSTERS, roster_id)

    def find(self, roster_id: UUID) -> Roster | None:
        return self._uow.find(ROSTERS, roster_id)

    def add(self, roster: Roster) -> None:
        self._uow.add(ROSTERS, roster)
