"""Training sessions with their enrollments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select

from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mapping import AggregateRepository
from arccm.adapters.postgres.mappings import SESSIONS
from arccm.domain.training_session import SessionStatus, TrainingSession

if TYPE_CHECKING:
    pass


class PostgresSessionRepository(AggregateRepository[TrainingSession]):
    mapping = SESSIONS

    def taught_by_for_update(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[TrainingSession]:
        """Holds the instructors' rows first, in id order, so two schedulers cannot deadlock or double-book."""
        ids = sorted(instructor_ids)
        instructors = t.t_instructor_profiles
        self._uow.execute(
            select(instructors.c.id)
            .where(instructors.c.id.in_(ids))
            .order_by(instructors.c.id)
            .with_for_update(key_share=True)
        )
        s = t.t_training_sessions
        staffed = (s.c.lead_instructor_id.in_(ids)) | s.c.assistant_ids.overlap(ids)
        window = (s.c.starts_at < ends_at) & (s.c.ends_at > starts_at) & (s.c.status != SessionStatus.CANCELLED.value)
        return self._uow.load(SESSIONS, staffed & window, for_update=False)
