from typing import Protocol
from uuid import UUID

from arccm.domain.batch import CertificateBatch
from arccm.domain.certificate import CompletionKind


class CertificateBatchRepository(Protocol):
    def get_for_update(self, batch_id: UUID) -> CertificateBatch | None:
        """A batch record, held for change until the unit of work ends."""
        ...

    def add(self, batch: CertificateBatch) -> None: ...

    def running_for_update(self, source_kind: CompletionKind, source_id: UUID) -> CertificateBatch | None:
        """The unfinished batch for this session or roster, if any — and the right to start one: two units of work
        asking for the same source take turns, so a source never has two running batches."""
        ...
