from typing import Protocol
from uuid import UUID

from arccm.domain.team import Team


class TeamRepository(Protocol):
    def get(self, team_id: UUID) -> Team | None: ...

    def add(self, team: Team) -> None: ...
