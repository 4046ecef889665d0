"""The in-memory store: committed state, indexes and the change log.

A product part, not a test fake: embedders use it for fast tests and demos,
and the contract suite holds it to the same behaviour as PostgreSQL.

Isolation model: a unit of work holds the store's lock from enter to exit, so
units of work are serial (the strongest isolation there is).  Reads hand out
deep copies; commit writes copies back, so nothing a caller holds can change
committed state behind the store's back, and a rolled-back unit leaves no trace.
"""

from __future__ import annotations

import threading
import time
from bisect import insort
from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

import attrs

from arccm.application.ports.audit import AuditEntry
from arccm.application.ports.change_feed import Change, Cursor
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.domain.access import Actor
from arccm.domain.batch import CertificateBatch
from arccm.domain.certificate import Certificate, CompletionRef
from arccm.domain.compliance import ComplianceMetric, ComplianceRecord
from arccm.domain.course import Course
from arccm.domain.events import DomainEvent
from arccm.domain.notification import EmailBatch, Notification
from arccm.domain.people import (
    AuthorizedProvider,
    InstructorProfile,
    Location,
    StudentProfile,
    UserProfile,
    actor_for,
    refusal,
)
from arccm.domain.roster import Roster
from arccm.domain.scheduling import AvailabilityBooking
from arccm.domain.team import Team
from arccm.domain.templates import CertificateLayout, EmailTemplate
from arccm.domain.training_session import TrainingSession


class IntegrityViolation(RuntimeError):
    """A commit would break an invariant the database enforces: a bug in a use case, never a business outcome."""


@attrs.define
class MemoryStore:
    lock: threading.RLock = attrs.field(factory=threading.RLock)
    sessions: dict[UUID, TrainingSession] = attrs.field(factory=dict)
    certificates: dict[UUID, Certificate] = attrs.field(factory=dict)
    courses: dict[UUID, Course] = attrs.field(factory=dict)
    locations: dict[UUID, Location] = attrs.field(factory=dict)
    providers: dict[UUID, AuthorizedProvider] = attrs.field(factory=dict)
    profiles: dict[UUID, UserProfile] = attrs.field(factory=dict)
    instructors: dict[UUID, InstructorProfile] = attrs.field(factory=dict)
    students: dict[UUID, StudentProfile] = attrs.field(factory=dict)
    rosters: dict[UUID, Roster] = attrs.field(factory=dict)
    teams: dict[UUID, Team] = attrs.field(factory=dict)
    metrics: dict[UUID, ComplianceMetric] = attrs.field(factory=dict)
    records: dict[UUID, list[ComplianceRecord]] = attrs.field(factory=lambda: defaultdict(list))
    bookings: dict[UUID, AvailabilityBooking] = attrs.field(factory=dict)
    batches: dict[UUID, CertificateBatch] = attrs.field(factory=dict)
    notifications: dict[UUID, Notification] = attrs.field(factory=dict)
    notification_keys: dict[str, UUID] = attrs.field(factory=dict)
    email_batches: dict[UUID, EmailBatch] = attrs.field(factory=dict)
    layouts: dict[UUID, CertificateLayout] = attrs.field(factory=dict)
    email_templates: dict[tuple[UUID, str], EmailTemplate] = attrs.field(factory=dict)
    changes: list[Change] = attrs.field(factory=list)  # kept sorted by cursor (txid, id)
    last_txid: int = 0
    last_change_id: int = 0
    open_txids: set[int] = attrs.field(factory=set)  # transactions holding a txid that have not committed yet
    committed: threading.Condition = attrs.field(factory=threading.Condition)
    commits: int = 0
    watermark: Cursor | None = None  # the highest cursor pruned away
    recorded_at: dict[Cursor, float] = attrs.field(factory=dict)
    # certificate indexes, kept in step on every commit
    certificate_by_code: dict[str, UUID] = attrs.field(factory=dict)
    # codes of the replaced system's certificates -> the certificates that held them (docs/import.md)
    legacy_codes: dict[str, list[UUID]] = attrs.field(factory=dict)
    live_certificate_by_completion: dict[CompletionRef, UUID] = attrs.field(factory=dict)
    certificates_by_holder: dict[tuple[UUID, UUID], set[UUID]] = attrs.field(factory=lambda: defaultdict(set))
    audit: list[AuditEntry] = attrs.field(factory=list)  # refused attempts (adapters/memory/audit.py)

    def check_standing(self, actor: Actor) -> None:
        """Raise ``ActorNotPermitted`` unless ``actor`` is who the store says the user is now, and may act."""
        profile = self.profiles.get(actor.user_id)
        provider = self.providers.get(profile.provider_id) if profile and profile.provider_id else None
        if profile is None or refusal(profile, provider) is not None:
            raise ActorNotPermitted("the user is inactive, unknown, or under a provider that is not active")
        if actor_for(profile, provider) != actor:
            raise ActorNotPermitted("the user's role, provider or locations changed since this actor was resolved")

    def index_certificate(self, certificate: Certificate) -> None:
        """Index a committed certificate, holding the invariants PostgreSQL's unique indexes hold."""
        live = self.live_certificate_by_completion.get(certificate.completion)
        if certificate.is_live and live not in (None, certificate.id):
            raise IntegrityViolation(f"one_live_certificate_per_completion: {certificate.completion}")
        person = certificate.recipient.person_id
        if certificate.is_current and person is not None:
            rivals = self.certificates_by_holder.get((person, certificate.course_id), set()) - {certificate.id}
            if any(self.certificates[r].is_current for r in rivals if r in self.certificates):
                raise IntegrityViolation(f"one_current_certificate_per_holder: {person}, {certificate.course_id}")
        self.certificate_by_code[certificate.code.canonical] = certificate.id
        person = certificate.recipient.person_id
        if person is not None:
            self.certificates_by_holder[(person, certificate.course_id)].add(certificate.id)
        if certificate.is_live:
            self.live_certificate_by_completion[certificate.completion] = certificate.id
        elif self.live_certificate_by_completion.get(certificate.completion) == certificate.id:
            del self.live_certificate_by_completion[certificate.completion]

    def record(self, txid: int, events: Sequence[DomainEvent]) -> None:
        """Append a transaction's events under its txid (caller holds ``lock``) and wake the listeners."""
        for event in events:
            self.last_change_id += 1
            cursor = Cursor(txid, self.last_change_id)
            insort(self.changes, Change(cursor, event), key=lambda c: c.cursor)
            self.recorded_at[cursor] = time.time()
        self.open_txids.discard(txid)
        with self.committed:
            self.commits += 1
            self.committed.notify_all()

    def prune(self, older_than: float) -> int:
        """Drop final changes recorded before ``older_than`` (epoch seconds); remember the highest one dropped."""
        with self.lock:
            horizon = self.horizon()
            gone = [c for c in self.changes if self.recorded_at[c.cursor] < older_than and c.cursor.txid < horizon]
            if gone:
                top = max(c.cursor for c in gone)
                self.watermark = max(top, self.watermark) if self.watermark else top
                dropped = {c.cursor for c in gone}
                self.changes = [c for c in self.changes if c.cursor not in dropped]
                for cursor in dropped:
                    del self.recorded_at[cursor]
            return len(gone)

    def horizon(self) -> int:
        """Changes below this txid are final: every older transaction has committed or gone (PostgreSQL's xmin)."""
        return min(self.open_txids, default=self.last_txid + 1)

    def hold(self) -> HeldTransaction:
        """Begin a transaction that commits later, after younger ones (for out-of-order tests and replays)."""
        with self.lock:
            self.last_txid += 1
            self.open_txids.add(self.last_txid)
            return HeldTransaction(self, self.last_txid)


@attrs.define
class HeldTransaction:
    store: MemoryStore
    txid: int
    events: list[DomainEvent] = attrs.field(factory=list)

    def emit(self, event: DomainEvent) -> None:
        self.events.append(event)

    def commit(self) -> None:
        with self.store.lock:
            self.store.record(self.txid, self.events)

    def rollback(self) -> None:
        with self.store.lock:
            self.store.open_txids.discard(self.txid)
