"""In-memory unit of work and repositories."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar
from uuid import UUID

import attrs

from arccm.adapters.memory.store import MemoryStore
from arccm.application.ports.unit_of_work import UnitOfWorkFactory
from arccm.domain.access import Actor
from arccm.domain.batch import BatchStatus, CertificateBatch
from arccm.domain.certificate import Certificate, CompletionKind, CompletionRef
from arccm.domain.compliance import ComplianceMetric, ComplianceRecord
from arccm.domain.course import Course
from arccm.domain.events import DomainEvent
from arccm.domain.notification import EmailBatch, EmailStatus, Notification
from arccm.domain.people import AuthorizedProvider, InstructorProfile, Location, StudentProfile, UserProfile
from arccm.domain.roster import Roster
from arccm.domain.scheduling import AvailabilityBooking, overlaps
from arccm.domain.team import Team
from arccm.domain.templates import CertificateLayout, EmailTemplate
from arccm.domain.training_session import TrainingSession
from arccm.domain.verification_code import VerificationCode

T = TypeVar("T")


class MemoryUnitOfWork:
    def __init__(self, actor: Actor | None, store: MemoryStore) -> None:
        self._store = store
        self.actor = actor
        self._working: dict[str, dict[UUID, Any]] = {}
        self._writes: list[tuple[dict[UUID, Any], UUID, Any]] = []
        self.pending_records: list[ComplianceRecord] = []
        self.sessions = MemorySessionRepository(self)
        self.certificates = MemoryCertificateRepository(self)
        self.reference = MemoryReferenceRepository(self)
        self.profiles = MemoryProfileRepository(self)
        self.rosters = MemoryKeyedRepository[Roster](self, "rosters")
        self.teams = MemoryKeyedRepository[Team](self, "teams")
        self.compliance = MemoryComplianceRepository(self)
        self.availability = MemoryAvailabilityRepository(self)
        self.batches = MemoryBatchRepository(self)
        self.notifications = MemoryNotificationRepository(self)

    @property
    def store(self) -> MemoryStore:
        return self._store

    # --- tracking -----------------------------------------------------------

    def load(self, table_name: str, key: UUID) -> Any:
        """A private working copy of a stored aggregate, the same one for the whole unit."""
        working = self._working.setdefault(table_name, {})
        if key in working:
            return working[key]
        table: dict[UUID, Any] = getattr(self._store, table_name)
        stored = table.get(key)
        if stored is None:
            return None
        loaded = working[key] = copy.deepcopy(stored)
        self._writes.append((table, key, loaded))
        return loaded

    def put(self, table_name: str, key: UUID, value: Any) -> None:
        table: dict[UUID, Any] = getattr(self._store, table_name)
        self._working.setdefault(table_name, {})[key] = value
        self._writes.append((table, key, value))

    def pending(self, table_name: str) -> list[Any]:
        """Everything this unit has loaded or added to a table (added rows are not in the store yet)."""
        return list(self._working.get(table_name, {}).values())

    # --- transaction ----------------------------------------------------------

    def __enter__(self) -> Self:
        self._store.lock.acquire()
        if self.actor is not None:
            try:
                self._store.check_standing(self.actor)
            except BaseException:
                self._store.lock.release()
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._store.lock.release()

    def commit(self) -> None:
        store = self._store
        events: list[DomainEvent] = []
        for table, key, value in self._writes:
            raised = getattr(value, "events", None)
            if raised:
                events.extend(raised)
                raised.clear()
            table[key] = copy.deepcopy(value)
            if isinstance(value, Notification):
                store.notification_keys[value.dedupe_key] = value.id
        for _, _, value in self._writes:  # once every row is written, as a database checks at commit
            if isinstance(value, Certificate):
                store.index_certificate(value)
        for record in self.pending_records:
            store.records[record.user_id].append(record)
        if events:
            store.last_txid += 1
            store.record(store.last_txid, events)
        self._writes, self._working, self.pending_records = [], {}, []

    def rollback(self) -> None:
        self._writes, self._working, self.pending_records = [], {}, []


class MemoryKeyedRepository(Generic[T]):
    """Units of work on the memory store run one at a time, so holding and looking are the same here."""

    def __init__(self, uow: MemoryUnitOfWork, table: str) -> None:
        self._uow, self._table = uow, table

    def get_for_update(self, key: UUID) -> T | None:
        found: T | None = self._uow.load(self._table, key)
        return found

    def find(self, key: UUID) -> T | None:
        return self.get_for_update(key)

    def add(self, value: T) -> None:
        self._uow.put(self._table, value.id, value)  # type: ignore[attr-defined]


class MemorySessionRepository(MemoryKeyedRepository[TrainingSession]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, "sessions")

    def taught_by_for_update(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[TrainingSession]:
        wanted = set(instructor_ids)
        keys = [
            s.id
            for s in self._uow.store.sessions.values()
            if wanted & s.instructors and overlaps(starts_at, ends_at, s.starts_at, s.ends_at)
        ]
        return [self._uow.load("sessions", key) for key in keys]


class MemoryCertificateRepository(MemoryKeyedRepository[Certificate]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, "certificates")

    def by_code(self, code: VerificationCode) -> Certificate | None:
        for pending in self._uow.pending("certificates"):
            if pending.code == code:
                return pending  # type: ignore[no-any-return]
        key = self._uow.store.certificate_by_code.get(code.canonical)
        return None if key is None else self.find(key)

    def live_for_update(self, completions: Collection[CompletionRef]) -> dict[CompletionRef, Certificate]:
        pending = {c.completion: c for c in self._uow.pending("certificates") if c.is_live}
        found: dict[CompletionRef, Certificate] = {}
        for completion in completions:
            key = self._uow.store.live_certificate_by_completion.get(completion)
            certificate = pending.get(completion) or (None if key is None else self.get_for_update(key))
            if certificate is not None and certificate.is_live:
                found[completion] = certificate
        return found

    def current_for_update(self, holders: Collection[tuple[UUID, UUID]]) -> dict[tuple[UUID, UUID], list[Certificate]]:
        found: dict[tuple[UUID, UUID], list[Certificate]] = {}
        for person_id, course_id in holders:
            keys = set(self._uow.store.certificates_by_holder.get((person_id, course_id), set()))
            keys |= {
                c.id
                for c in self._uow.pending("certificates")
                if c.recipient.person_id == person_id and c.course_id == course_id
            }
            loaded = [self.get_for_update(key) for key in sorted(keys)]
            current = [c for c in loaded if c is not None and c.is_current]
            if current:
                found[(person_id, course_id)] = current
        return found

    def codes_in_use(self, codes: Collection[VerificationCode]) -> set[str]:
        pending = {c.code.canonical for c in self._uow.pending("certificates")}
        return {
            code.canonical
            for code in codes
            if code.canonical in self._uow.store.certificate_by_code or code.canonical in pending
        }

    def _current(self) -> list[Certificate]:
        return [c for c in self._uow.store.certificates.values() if c.is_current]

    def expired_unrecorded(self, today: date, limit: int) -> Sequence[Certificate]:
        keys = sorted(c.id for c in self._current() if c.expiry_date < today and c.expired_on is None)
        return [c for c in (self.get_for_update(k) for k in keys[:limit]) if c is not None]

    def entering_window(self, today: date, until: date, limit: int, after: UUID | None) -> Sequence[Certificate]:
        keys = sorted(
            c.id for c in self._current() if today <= c.expiry_date <= until and (after is None or c.id > after)
        )
        return [c for c in (self.get_for_update(k) for k in keys[:limit]) if c is not None]


class MemoryReferenceRepository:
    """Reference data is immutable once written; it is written at commit like everything else."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def course(self, course_id: UUID) -> Course | None:
        found: Course | None = self._uow.load("courses", course_id)
        return found

    def location(self, location_id: UUID) -> Location | None:
        found: Location | None = self._uow.load("locations", location_id)
        return found

    def provider(self, provider_id: UUID) -> AuthorizedProvider | None:
        found: AuthorizedProvider | None = self._uow.load("providers", provider_id)
        return found

    def provider_of_location(self, location_id: UUID) -> AuthorizedProvider | None:
        for provider in [*self._uow.pending("providers"), *self._uow.store.providers.values()]:
            if location_id in provider.location_ids:
                return self.provider(provider.id)
        return None

    def add_course(self, course: Course) -> None:
        self._uow.put("courses", course.id, course)

    def add_location(self, location: Location) -> None:
        self._uow.put("locations", location.id, location)

    def add_provider(self, provider: AuthorizedProvider) -> None:
        self._uow.put("providers", provider.id, provider)

    def certificate_layout(self, location_id: UUID) -> CertificateLayout | None:
        return self._uow.store.layouts.get(location_id)

    def email_template(self, location_id: UUID, name: str) -> EmailTemplate | None:
        return self._uow.store.email_templates.get((location_id, name))

    def set_certificate_layout(self, location_id: UUID, layout: CertificateLayout) -> None:
        self._uow.store.layouts[location_id] = layout  # reference data: written through, like an import

    def add_email_template(self, template: EmailTemplate) -> None:
        if template.location_id is None:
            raise ValueError("an e-mail template belongs to a location")
        self._uow.store.email_templates[(template.location_id, template.name)] = template


class MemoryProfileRepository(MemoryKeyedRepository[UserProfile]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, "profiles")

    def find(self, user_id: UUID) -> UserProfile | None:
        stored = self._uow.store.profiles.get(user_id)
        pending = self._uow.pending("profiles")
        own = next((p for p in pending if p.id == user_id), None)
        return own or (copy.deepcopy(stored) if stored is not None else None)

    def exists(self, user_id: UUID) -> bool:
        return self.find(user_id) is not None

    def with_email(self, address: str) -> list[UUID]:
        wanted = address.strip().lower()
        found = (p.id for p in self._uow.store.profiles.values() if wanted and p.email.strip().lower() == wanted)
        if self._uow.actor is not None:
            raise ValueError("with_email is the system's lookup: a unit of work without an actor")
        return sorted(found)

    def find_many(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfile]:
        found = {i: self.find(i) for i in user_ids}
        return {i: p for i, p in found.items() if p is not None}

    def students(self, student_ids: Collection[UUID]) -> dict[UUID, StudentProfile]:
        found = {i: self.student(i) for i in student_ids}
        return {i: s for i, s in found.items() if s is not None}

    def instructor(self, user_id: UUID) -> InstructorProfile | None:
        found: InstructorProfile | None = self._uow.load("instructors", user_id)
        return found

    def put_instructor(self, qualification: InstructorProfile) -> None:
        self._uow.put("instructors", qualification.user_id, qualification)

    def student(self, student_id: UUID) -> StudentProfile | None:
        found: StudentProfile | None = self._uow.load("students", student_id)
        return found

    def add_student(self, student: StudentProfile) -> None:
        self._uow.put("students", student.id, student)

    def erase_personal_data(self, person_id: UUID, erased_name: str) -> None:
        store, uow = self._uow.store, self._uow
        student = uow.load("students", person_id)
        if student is not None:
            erased = attrs.evolve(student, first_name=erased_name, last_name="", email="", phone="")
            uow.put("students", person_id, erased)
        for certificate_id in [c.id for c in store.certificates.values() if c.recipient.person_id == person_id]:
            certificate = uow.load("certificates", certificate_id)
            certificate.recipient = attrs.evolve(certificate.recipient, name=erased_name)
        for notice_id in [n.id for n in store.notifications.values() if person_id in (n.user_id, n.student_id)]:
            notice = uow.load("notifications", notice_id)
            notice.title, notice.message, notice.email, notice.context = "(erased)", "(erased)", "", {}
            if notice.email_status in (EmailStatus.PENDING, EmailStatus.FAILED):
                notice.email_status = EmailStatus.NONE
        for session_id in [
            s.id for s in store.sessions.values() if any(e.learner_id == person_id for e in s.enrollments)
        ]:
            for enrollment in uow.load("sessions", session_id).enrollments:
                if enrollment.learner_id == person_id:
                    enrollment.completion_reason = None
        for roster_id in [r.id for r in store.rosters.values() if any(m.student_id == person_id for m in r.members)]:
            for member in uow.load("rosters", roster_id).members:
                if member.student_id == person_id:
                    member.completion_reason = None


class MemoryComplianceRepository:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def metrics(self) -> Sequence[ComplianceMetric]:
        keys = {*self._uow.store.metrics, *(m.id for m in self._uow.pending("metrics"))}
        return [m for m in (self.metric(key) for key in sorted(keys)) if m is not None]

    def metric(self, metric_id: UUID) -> ComplianceMetric | None:
        found: ComplianceMetric | None = self._uow.load("metrics", metric_id)
        return found

    def add_metric(self, metric: ComplianceMetric) -> None:
        self._uow.put("metrics", metric.id, metric)

    def records_for(self, user_id: UUID) -> Sequence[ComplianceRecord]:
        pending = [r for r in self._uow.pending_records if r.user_id == user_id]
        return [*self._uow.store.records.get(user_id, []), *pending]

    def add_record(self, record: ComplianceRecord) -> None:
        self._uow.pending_records.append(record)


class MemoryAvailabilityRepository:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def overlapping(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[AvailabilityBooking]:
        wanted = set(instructor_ids)
        everything = {**self._uow.store.bookings, **{b.id: b for b in self._uow.pending("bookings")}}
        return [
            b
            for b in everything.values()
            if b.instructor_id in wanted and overlaps(starts_at, ends_at, b.starts_at, b.ends_at)
        ]

    def add(self, booking: AvailabilityBooking) -> None:
        self._uow.put("bookings", booking.id, booking)


class MemoryBatchRepository(MemoryKeyedRepository[CertificateBatch]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, "batches")

    def running_for_update(self, source_kind: CompletionKind, source_id: UUID) -> CertificateBatch | None:
        for batch in self._uow.store.batches.values():
            if (batch.source_kind, batch.source_id, batch.status) == (source_kind, source_id, BatchStatus.RUNNING):
                return self.get_for_update(batch.id)
        return None


class MemoryNotificationRepository:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, notification: Notification) -> None:
        if not self.existing([notification.dedupe_key]):
            self._uow.put("notifications", notification.id, notification)

    def existing(self, dedupe_keys: Collection[str]) -> set[str]:
        pending = {n.dedupe_key for n in self._uow.pending("notifications")}
        return {k for k in dedupe_keys if k in self._uow.store.notification_keys or k in pending}

    def get_for_update(self, notification_id: UUID) -> Notification | None:
        found: Notification | None = self._uow.load("notifications", notification_id)
        return found

    def awaiting_email(self, limit: int, after: UUID | None = None) -> Sequence[Notification]:
        keys = sorted(
            n.id for n in self._uow.store.notifications.values() if n.may_send and (after is None or n.id > after)
        )
        return [n for n in (self.get_for_update(k) for k in keys[:limit]) if n is not None]

    def add_email_batch(self, batch: EmailBatch) -> None:
        self._uow.put("email_batches", batch.id, batch)

    def email_batch(self, batch_id: UUID) -> EmailBatch | None:
        found: EmailBatch | None = self._uow.load("email_batches", batch_id)
        return found


class MemoryUnitOfWorkFactory:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def __call__(self, actor: Actor | None) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(actor, self.store)


if TYPE_CHECKING:  # the adapter satisfies the port (mypy checks this; nothing runs)

    def _satisfies(factory: MemoryUnitOfWorkFactory) -> UnitOfWorkFactory:
        return factory
