from typing import Protocol
from uuid import UUID

from arccm.domain.roster import Roster


class RosterRepository(Protocol):
    def get(self, roster_id: UUID) -> Roster | None: ...

    def add(self, roster: Roster) -> None: ...
