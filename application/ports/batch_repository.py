from typing import Protocol
from uuid import UUID

from arccm.domain.batch import CertificateBatch
from arccm.domain.certificate import CompletionKind


class CertificateBatchRepository(Protocol):
    def get(self, batch_id: UUID) -> CertificateBatch | None:
        """Load a batch record, reserved for change in this unit of work."""
        ...

    def add(self, batch: CertificateBatch) -> None: ...

    def running_for(self, source_kind: CompletionKind, source_id: UUID) -> CertificateBatch | None:
        """The unfinished batch for this session or roster, if one was interrupted."""
        ...
