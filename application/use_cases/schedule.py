"""Calendar, analytics and enrollment metrics, with their input checked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import attrs
from returns.result import Failure, Result, Success

from arccm.application.ports.clock import Clock
from arccm.application.ports.read_models import Analytics, CalendarEntry, ScheduleQueries, SessionMetrics
from arccm.application.validation import Day, boundary
from arccm.domain.access import Actor
from arccm.domain.errors import DomainError, InvalidValue
from arccm.domain.text import time_zone

MAX_DAYS = 400
GROUPS = (None, "location", "instructor", "course")


def _range(start: date, end: date) -> Result[None, DomainError]:
    if end <= start:
        return Failure(InvalidValue("end", "must be after start"))
    if (end - start).days > MAX_DAYS:
        return Failure(InvalidValue("end", f"a range spans at most {MAX_DAYS} days"))
    return Success(None)


def _zone(name: str) -> Result[str, DomainError]:
    return time_zone("timezone", name)


@attrs.frozen
class ViewCalendarHandler:
    queries: ScheduleQueries

    @boundary
    def __call__(
        self, actor: Actor, start: Day, end: Day, timezone: str
    ) -> Result[Sequence[CalendarEntry], DomainError]:
        return (
            _range(start, end)
            .bind(lambda _: _zone(timezone))
            .map(lambda _: self.queries.calendar(actor, start, end, timezone))
        )


@attrs.frozen
class ViewAnalyticsHandler:
    queries: ScheduleQueries
    clock: Clock

    @boundary
    def __call__(
        self, actor: Actor, start: Day, end: Day, group_by: str | None = None
    ) -> Result[Analytics, DomainError]:
        if group_by not in GROUPS:
            return Failure(InvalidValue("group_by", "must be location, instructor or course"))
        today = self.clock.now().date()
        return _range(start, end).map(lambda _: self.queries.analytics(actor, start, end, today, group_by))


@attrs.frozen
class ViewSessionMetricsHandler:
    queries: ScheduleQueries

    @boundary
    def __call__(
        self, actor: Actor, start: Day, end: Day, course_id: UUID | None = None
    ) -> Result[Sequence[SessionMetrics], DomainError]:
        return _range(start, end).map(lambda _: self.queries.session_metrics(actor, start, end, course_id))
