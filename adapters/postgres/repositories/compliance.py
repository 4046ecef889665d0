"""Compliance metrics and each user's records (append-only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select

from arccm.adapters.postgres import rows
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mapping import insert_row
from arccm.domain.compliance import ComplianceMetric, ComplianceRecord

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork

m, r = t.t_compliance_metrics, t.t_user_compliance_records


class PostgresComplianceRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def metrics(self) -> Sequence[ComplianceMetric]:
        found = self._uow.execute(select(m).where(m.c.is_active).order_by(m.c.id)).mappings()
        return [rows.metric(row) for row in found]

    def metric(self, metric_id: UUID) -> ComplianceMetric | None:
        row = self._uow.execute(select(m).where(m.c.id == metric_id)).mappings().first()
        return None if row is None else rows.metric(row)

    def add_metric(self, metric: ComplianceMetric) -> None:
        insert_row(self._uow, m, rows.metric_params(metric))

    def records_for(self, user_id: UUID) -> Sequence[ComplianceRecord]:
        found = self._uow.execute(select(r).where(r.c.user_id == user_id).order_by(r.c.id)).mappings()
        return [rows.record(row) for row in found]

    def add_record(self, record: ComplianceRecord) -> None:
        insert_row(self._uow, r, rows.record_params(record))
