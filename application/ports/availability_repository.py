from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from arccm.domain.scheduling import AvailabilityBooking


class AvailabilityRepository(Protocol):
    def overlapping(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[AvailabilityBooking]: ...

    def add(self, booking: AvailabilityBooking) -> None: ...
