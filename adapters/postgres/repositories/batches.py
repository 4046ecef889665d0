"""Certificate batch records (the replaced system's ``rosters`` table)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.locks import hold_keys
from arccm.adapters.postgres.mapping import AggregateRepository
from arccm.adapters.postgres.mappings import BATCHES
from arccm.domain.batch import BatchStatus, CertificateBatch
from arccm.domain.certificate import CompletionKind

if TYPE_CHECKING:
    pass


class PostgresBatchRepository(AggregateRepository[CertificateBatch]):
    mapping = BATCHES

    def running_for_update(self, source_kind: CompletionKind, source_id: UUID) -> CertificateBatch | None:
        hold_keys(self._uow, "batch source", [f"{source_kind.value}:{source_id}"])
        r = t.t_rosters
        running = (
            (r.c.source_kind == source_kind.value)
            & (r.c.source_id == source_id)
            & (r.c.status == BatchStatus.RUNNING.value)
        )
        found = self._uow.load(BATCHES, running, for_update=True)
        return found[0] if found else None
