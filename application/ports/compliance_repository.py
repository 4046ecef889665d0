from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from arccm.domain.compliance import ComplianceMetric, ComplianceRecord


class ComplianceRepository(Protocol):
    def metrics(self) -> Sequence[ComplianceMetric]: ...

    def metric(self, metric_id: UUID) -> ComplianceMetric | None: ...

    def add_metric(self, metric: ComplianceMetric) -> None: ...

    def records_for(self, user_id: UUID) -> Sequence[ComplianceRecord]: ...

    def add_record(self, record: ComplianceRecord) -> None: ...
