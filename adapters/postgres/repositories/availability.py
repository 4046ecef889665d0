"""Instructors' booked and blocked time."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select

from arccm.adapters.postgres import rows
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mapping import insert_row
from arccm.domain.scheduling import AvailabilityBooking

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork

b = t.t_availability_bookings


class PostgresAvailabilityRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def overlapping(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[AvailabilityBooking]:
        where = b.c.user_id.in_(sorted(instructor_ids)) & (b.c.starts_at < ends_at) & (b.c.ends_at > starts_at)
        return [rows.booking(row) for row in self._uow.execute(select(b).where(where).order_by(b.c.id)).mappings()]

    def add(self, booking: AvailabilityBooking) -> None:
        insert_row(self._uow, b, rows.booking_params(booking))
