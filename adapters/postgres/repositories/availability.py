"""Instructors' booked and blocked time."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

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
        # a consult (migration 0009): the staff's bookings, whoever may read them otherwise
        found = self._uow.run(
            "SELECT * FROM arccm_staff_bookings(CAST(:ids AS uuid[]), :starts, :ends) ORDER BY id",
            {"ids": sorted(instructor_ids), "starts": starts_at, "ends": ends_at},
        ).mappings()
        return [rows.booking(row) for row in found]

    def add(self, booking: AvailabilityBooking) -> None:
        insert_row(self._uow, b, rows.booking_params(booking))
