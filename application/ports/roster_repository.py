from typing import Protocol
from uuid import UUID

from arccm.domain.roster import Roster


class RosterRepository(Protocol):
    def get_for_update(self, roster_id: UUID) -> Roster | None:
        """A roster with its members, held for change until the unit of work ends."""
        ...

    def find(self, roster_id: UUID) -> Roster | None:
        """A roster with its members to look at, holding nothing (changes to it are not saved)."""
        ...

    def add(self, roster: Roster) -> None: ...
