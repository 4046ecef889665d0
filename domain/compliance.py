"""Instructor compliance: metrics, records, and the standing derived from them.

A user's standing (score, tier, status) is a pure function of their records,
the metrics that apply to their role, and the date.  Nothing else feeds it, so
the same inputs always give the same standing, and a change in any of the three
outputs is exactly what ``ComplianceChanged`` reports.

* A metric applies when the user's role is in its ``roles`` (empty: every role).
* A record *meets* its metric when it is ``COMPLIANT`` and not expired.
* score = weight of met applicable metrics ÷ weight of all applicable, 0–100
  (100 when nothing applies).
* tier: ``ROBUST`` when every applicable metric is met, ``BASIC`` when every
  basic-required one is, else ``NONE``.
* status: ``NON_COMPLIANT`` when a basic-required metric is not met;
  ``AT_RISK`` when all are met but a met record expires within the warning
  window or a robust-required one is unmet; else ``COMPLIANT``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, timedelta
from uuid import UUID

import attrs

from arccm.domain.access import Role

WARNING_WINDOW = timedelta(days=30)


class Tier(enum.Enum):
    NONE = "none"
    BASIC = "basic"
    ROBUST = "robust"


class ComplianceStatus(enum.Enum):
    COMPLIANT = "compliant"
    AT_RISK = "at_risk"
    NON_COMPLIANT = "non_compliant"
    UNASSESSED = "unassessed"


class RecordStatus(enum.Enum):
    COMPLIANT = "compliant"
    PENDING = "pending"
    NON_COMPLIANT = "non_compliant"


@attrs.frozen
class ComplianceMetric:
    id: UUID
    name: str
    weight: int = 1
    roles: frozenset[Role] = frozenset()
    required_for_basic: bool = True
    required_for_robust: bool = True

    def applies_to(self, role: Role) -> bool:
        return not self.roles or role in self.roles


@attrs.frozen
class ComplianceRecord:
    user_id: UUID
    metric_id: UUID
    status: RecordStatus
    recorded_on: date
    expires_on: date | None = None

    def meets(self, today: date) -> bool:
        unexpired = self.expires_on is None or self.expires_on >= today
        return self.status is RecordStatus.COMPLIANT and unexpired


@attrs.frozen
class ComplianceStanding:
    score: int
    tier: Tier
    status: ComplianceStatus

    @staticmethod
    def unassessed() -> ComplianceStanding:
        return ComplianceStanding(0, Tier.NONE, ComplianceStatus.UNASSESSED)

    @property
    def in_good_standing(self) -> bool:
        return self.status in (ComplianceStatus.COMPLIANT, ComplianceStatus.AT_RISK)


def standing(
    role: Role,
    records: Iterable[ComplianceRecord],
    metrics: Iterable[ComplianceMetric],
    today: date,
) -> ComplianceStanding:
    applicable = [metric for metric in metrics if metric.applies_to(role)]
    latest = _latest_by_metric(records)
    met = {m.id for m in applicable if m.id in latest and latest[m.id].meets(today)}
    return ComplianceStanding(
        score=_score(applicable, met),
        tier=_tier(applicable, met),
        status=_status(applicable, met, latest, today),
    )


def _latest_by_metric(records: Iterable[ComplianceRecord]) -> dict[UUID, ComplianceRecord]:
    latest: dict[UUID, ComplianceRecord] = {}
    for record in records:
        current = latest.get(record.metric_id)
        if current is None or _sort_key(record) > _sort_key(current):
            latest[record.metric_id] = record
    return latest


def _sort_key(record: ComplianceRecord) -> tuple[date, date, str]:
    # the newest record wins; ties broken deterministically so order never matters
    return (record.recorded_on, record.expires_on or date.max, record.status.value)


def _score(applicable: list[ComplianceMetric], met: set[UUID]) -> int:
    total = sum(metric.weight for metric in applicable)
    if total == 0:
        return 100
    achieved = sum(metric.weight for metric in applicable if metric.id in met)
    return (achieved * 100) // total


def _tier(applicable: list[ComplianceMetric], met: set[UUID]) -> Tier:
    if all(metric.id in met for metric in applicable):
        return Tier.ROBUST
    if all(metric.id in met for metric in applicable if metric.required_for_basic):
        return Tier.BASIC
    return Tier.NONE


def _status(
    applicable: list[ComplianceMetric],
    met: set[UUID],
    latest: dict[UUID, ComplianceRecord],
    today: date,
) -> ComplianceStatus:
    if any(m.required_for_basic and m.id not in met for m in applicable):
        return ComplianceStatus.NON_COMPLIANT
    robust_gap = any(m.required_for_robust and m.id not in met for m in applicable)
    expiring = any(_expires_soon(latest[m.id], today) for m in applicable if m.id in met)
    if robust_gap or expiring:
        return ComplianceStatus.AT_RISK
    return ComplianceStatus.COMPLIANT


def _expires_soon(record: ComplianceRecord, today: date) -> bool:
    return record.expires_on is not None and record.expires_on <= today + WARNING_WINDOW
