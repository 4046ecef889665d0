"""The directory over the in-memory store: the same scopes, orders and keys as PostgreSQL's (ports/directory.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from uuid import UUID

import attrs

from arccm.adapters.memory.read_models import certificate_summary, enrollment_summary, session_summary
from arccm.adapters.memory.store import MemoryStore
from arccm.application.ports.directory import (
    BatchSummary,
    CertificateDetail,
    DayKey,
    NameKey,
    PersonSummary,
    RosterDetail,
    RosterMemberSummary,
    RosterSummary,
    SessionDetail,
    SessionKey,
)
from arccm.application.ports.read_models import CertificateSummary, SessionSummary
from arccm.application.validation import Day, Limit, checked_query
from arccm.domain.access import ADMINS, Actor, Role, can_read
from arccm.domain.batch import CertificateBatch
from arccm.domain.certificate import Certificate
from arccm.domain.roster import Roster

T = TypeVar("T")


def _take(rows: Iterable[T], key: Callable[[T], Any], after: Any, limit: int, descending: bool = False) -> list[T]:
    ordered = sorted(rows, key=key, reverse=descending)
    if after is not None:
        ordered = [r for r in ordered if (key(r) < after if descending else key(r) > after)]
    return ordered[:limit]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def roster_summary(roster: Roster) -> RosterSummary:
    return RosterSummary(
        roster.id, roster.name, roster.course_id, roster.location_id, roster.instructor_id, roster.max_capacity,
        len(roster.members),
    )  # fmt: skip


def batch_summary(b: CertificateBatch) -> BatchSummary:
    return BatchSummary(
        b.id, b.name, b.source_kind.value, b.source_id, b.course_id, b.location_id, b.issue_date, b.status.value,
        b.total, b.done, b.issued, b.not_eligible, b.created_by,
    )  # fmt: skip


@attrs.frozen
class MemoryDirectory:
    store: MemoryStore

    @checked_query
    def sessions(
        self,
        actor: Actor,
        status: str | None,
        start: Day | None,
        end: Day | None,
        after: SessionKey | None,
        limit: Limit,
    ) -> Sequence[SessionSummary]:
        self.store.check_standing(actor)
        low = _midnight(start) if start else None
        high = _midnight(end) if end else None
        with self.store.lock:
            found = [
                session_summary(s)
                for s in self.store.sessions.values()
                if can_read(actor, s.resource())
                and (status is None or s.status.value == status)
                and (low is None or s.starts_at >= low)
                and (high is None or s.starts_at < high)
            ]
        return _take(found, lambda s: (s.starts_at, s.id), after, limit)

    @checked_query
    def session(self, actor: Actor, session_id: UUID) -> SessionDetail | None:
        self.store.check_standing(actor)
        with self.store.lock:
            s = self.store.sessions.get(session_id)
            if s is None or not can_read(actor, s.resource()):
                return None
            seen = [enrollment_summary(s, e) for e in s.enrollments if can_read(actor, s.enrollment_resource(e))]
        return SessionDetail(session_summary(s), tuple(sorted(seen, key=lambda e: (e.enrolled_at, e.id))))

    @checked_query
    def people(
        self, actor: Actor, name: str | None, email: str | None, after: NameKey | None, limit: Limit
    ) -> Sequence[PersonSummary]:
        self.store.check_standing(actor)

        def wanted(display_name: str, address: str) -> bool:
            if email is not None:
                return address.strip().lower() == email.strip().lower()
            return name is not None and name.lower() in display_name.lower()

        with self.store.lock:
            found = [
                PersonSummary(p.id, "user", p.display_name, p.role.value, p.active, p.location_id, p.provider_id)
                for p in self.store.profiles.values()
                if can_read(actor, p.resource()) and wanted(p.display_name, p.email)
            ]
            found += [
                PersonSummary(s.id, "learner", s.display_name, None, True, s.location_id, None)
                for s in self.store.students.values()
                if _reads_learner(actor, s.location_id) and wanted(s.display_name, s.email)
            ]
        return _take(found, lambda p: (p.name, p.id), after, limit)

    @checked_query
    def certificates(
        self, actor: Actor, today: Day, holder: UUID | None, status: str | None, after: DayKey | None, limit: Limit
    ) -> Sequence[CertificateSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            found = [
                certificate_summary(c, today)
                for c in self.store.certificates.values()
                if can_read(actor, c.resource())
                and (holder is None or c.recipient.person_id == holder)
                and (status is None or c.status(today).value == status)
            ]
        return _take(found, lambda c: (c.issue_date, c.id), after, limit, descending=True)

    @checked_query
    def certificate(
        self, actor: Actor, today: Day, certificate_id: UUID | None, code: str | None
    ) -> CertificateDetail | None:
        self.store.check_standing(actor)
        with self.store.lock:
            if certificate_id is None:
                certificate_id = self.store.certificate_by_code.get(code or "")
            c = self.store.certificates.get(certificate_id) if certificate_id else None
            if c is None or not can_read(actor, c.resource()):
                return None
            return _certificate_detail(c, today)

    @checked_query
    def rosters(self, actor: Actor, after: NameKey | None, limit: Limit) -> Sequence[RosterSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            found = [roster_summary(r) for r in self.store.rosters.values() if can_read(actor, r.resource())]
        return _take(found, lambda r: (r.name, r.id), after, limit)

    @checked_query
    def roster(self, actor: Actor, roster_id: UUID) -> RosterDetail | None:
        self.store.check_standing(actor)
        with self.store.lock:
            r = self.store.rosters.get(roster_id)
            if r is None or not can_read(actor, r.resource()):
                return None
            members = tuple(
                RosterMemberSummary(m.id, m.student_id, m.attendance.value, m.completion.value)
                for m in sorted(r.members, key=lambda m: (m.added_at, m.id))
            )
            return RosterDetail(roster_summary(r), members)

    @checked_query
    def batches(self, actor: Actor, after: DayKey | None, limit: Limit) -> Sequence[BatchSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            found = [batch_summary(b) for b in self.store.batches.values() if _reads_batch(actor, b)]
        return _take(found, lambda b: (b.issue_date, b.id), after, limit, descending=True)

    @checked_query
    def batch(self, actor: Actor, batch_id: UUID) -> BatchSummary | None:
        self.store.check_standing(actor)
        with self.store.lock:
            b = self.store.batches.get(batch_id)
            return batch_summary(b) if b is not None and _reads_batch(actor, b) else None


def _reads_learner(actor: Actor, location_id: UUID | None) -> bool:
    """External learners are found by SA, AD and the AP of their location (nobody else looks people up)."""
    if actor.role in ADMINS:
        return True
    return actor.role is Role.AP and location_id is not None and location_id in actor.location_ids


def _reads_batch(actor: Actor, batch: CertificateBatch) -> bool:
    """A batch is read like the certificates it issues, and by whoever started it (to resume it)."""
    return can_read(actor, batch.resource()) or batch.created_by == actor.user_id


def _certificate_detail(c: Certificate, today: date) -> CertificateDetail:
    revocation = c.revocation
    return CertificateDetail(
        certificate_summary(c, today),
        c.recipient.person_id,
        c.completion.kind.value,
        c.completion.id,
        c.course_id,
        c.location_id,
        c.provider_id,
        revocation.revoked_at if revocation else None,
        revocation.reason if revocation else None,
    )
