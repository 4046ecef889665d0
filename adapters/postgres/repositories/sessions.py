"""Training sessions with their enrollments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from arccm.adapters.postgres.mapping import AggregateRepository
from arccm.adapters.postgres.mappings import SESSIONS
from arccm.domain.training_session import TrainingSession

if TYPE_CHECKING:
    pass


class PostgresSessionRepository(AggregateRepository[TrainingSession]):
    mapping = SESSIONS

    def taught_by_for_update(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[TrainingSession]:
        """Holds the instructors' rows first, in id order, so two schedulers cannot deadlock or double-book; the
        staff's other sessions may lie outside the scheduler's read scope, so a consult function (migration 0009)
        does both."""
        ids = sorted(instructor_ids)
        found = self._uow.run(
            "SELECT * FROM arccm_staff_sessions(CAST(:ids AS uuid[]), :starts, :ends) ORDER BY id",
            {"ids": ids, "starts": starts_at, "ends": ends_at},
        ).mappings()
        return self._uow.adopt(SESSIONS, list(found), for_update=False)
