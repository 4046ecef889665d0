from typing import Protocol
from uuid import UUID

from arccm.domain.team import Team


class TeamRepository(Protocol):
    def get_for_update(self, team_id: UUID) -> Team | None:
        """A team with its members, held for change until the unit of work ends."""
        ...

    def add(self, team: Team) -> None: ...
