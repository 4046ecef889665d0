from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from arccm.domain.training_session import TrainingSession


class SessionRepository(Protocol):
    def get_for_update(self, session_id: UUID) -> TrainingSession | None:
        """A session with its enrollments, held for change until the unit of work ends."""
        ...

    def find(self, session_id: UUID) -> TrainingSession | None:
        """A session with its enrollments to look at, holding nothing (changes to it are not saved)."""
        ...

    def add(self, session: TrainingSession) -> None: ...

    def taught_by_for_update(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[TrainingSession]:
        """Sessions any of these instructors staff that overlap the window; holds the instructors, so two units of
        work cannot claim the same instructor's time at once."""
        ...
