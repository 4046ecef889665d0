from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from arccm.domain.training_session import TrainingSession


class SessionRepository(Protocol):
    def get(self, session_id: UUID) -> TrainingSession | None:
        """Load a session with its enrollments, reserved for change in this unit of work."""
        ...

    def add(self, session: TrainingSession) -> None: ...

    def taught_by(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[TrainingSession]:
        """Sessions any of these instructors staff that overlap the window."""
        ...
