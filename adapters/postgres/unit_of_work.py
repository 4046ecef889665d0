"""PostgreSQL unit of work and repositories: one transaction per use case.

Concurrency: loading a session (or a certificate, roster or team) takes its row
lock (``SELECT … FOR UPDATE``), so every change to one session — enrolment,
cancellation and promotion, capacity — is serialized on that row, whatever the
interleaving. Scheduling locks the instructors' rows first (in id order, so two
schedulers cannot deadlock) so two sessions cannot claim the same instructor's
time concurrently. The database's own constraints (seat CHECK kept by trigger,
partial unique indexes) back this up for writes that bypass arccm.

Added aggregates are inserted at once (so foreign keys see them); loaded ones
are compared with a snapshot at commit and only what changed is written. Domain
events raised by every aggregate the unit touched are written to ``change_log``
in the same transaction, just before it commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID, uuid4

import attrs
from sqlalchemy import Connection, text

from arccm.adapters.events_codec import encode, encode_scope
from arccm.adapters.postgres import rows
from arccm.adapters.postgres.database import Database
from arccm.application.ports.unit_of_work import UnitOfWorkFactory
from arccm.domain.access import Actor
from arccm.domain.batch import CertificateBatch
from arccm.domain.certificate import Certificate, CompletionKind, CompletionRef
from arccm.domain.compliance import ComplianceMetric, ComplianceRecord
from arccm.domain.course import Course
from arccm.domain.enrollment import Enrollment, EnrollmentStatus
from arccm.domain.events import DomainEvent
from arccm.domain.notification import MAX_EMAIL_ATTEMPTS, EmailBatch, Notification
from arccm.domain.people import AuthorizedProvider, InstructorProfile, Location, StudentProfile, UserProfile
from arccm.domain.roster import Roster
from arccm.domain.scheduling import AvailabilityBooking
from arccm.domain.team import Team
from arccm.domain.templates import CertificateLayout, EmailTemplate
from arccm.domain.training_session import TrainingSession
from arccm.domain.verification_code import VerificationCode

COPY_FROM = 64  # rows; below this a single INSERT is quicker


class ConcurrentUpdate(RuntimeError):
    """A row changed under a unit of work that held no lock on it: a bug, not a business outcome."""


def _columns(params: dict[str, Any]) -> tuple[str, str]:
    return ", ".join(params), ", ".join(f":{name}" for name in params)


def _sets(params: dict[str, Any], skip: Collection[str] = ("id",)) -> str:
    return ", ".join(f"{name} = :{name}" for name in params if name not in skip)


class PostgresUnitOfWork:
    def __init__(self, actor: Actor | None, database: Database) -> None:
        self.actor = actor
        self._database = database
        self._transaction: Any = None
        self._connection: Connection | None = None
        self._identity: dict[tuple[str, UUID], Any] = {}
        self._snapshots: dict[tuple[str, UUID], Any] = {}
        # rows written with the commit, in bulk, before any tracked change is flushed
        self.deferred: dict[str, list[Any]] = {"certificate": [], "notification": []}
        self.sessions = PostgresSessionRepository(self)
        self.certificates = PostgresCertificateRepository(self)
        self.reference = PostgresReferenceRepository(self)
        self.profiles = PostgresProfileRepository(self)
        self.rosters = PostgresRosterRepository(self)
        self.teams = PostgresTeamRepository(self)
        self.compliance = PostgresComplianceRepository(self)
        self.availability = PostgresAvailabilityRepository(self)
        self.batches = PostgresBatchRepository(self)
        self.notifications = PostgresNotificationRepository(self)

    # --- connection -----------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its with-block")
        return self._connection

    def run(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.connection.execute(text(sql), params or {})

    def __enter__(self) -> Self:
        self._transaction = self._database.transaction(self.actor)
        self._connection = self._transaction.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._transaction.__exit__(exc_type, exc, tb)
        finally:
            self._connection, self._identity, self._snapshots = None, {}, {}
            self.deferred = {"certificate": [], "notification": []}
            self.certificates.forget()

    # --- identity map and snapshots --------------------------------------------------------

    def known(self, kind: str, key: UUID) -> Any:
        return self._identity.get((kind, key))

    def track(self, kind: str, key: UUID, value: Any, snapshot: Any) -> Any:
        self._identity[(kind, key)] = value
        self._snapshots[(kind, key)] = snapshot
        return value

    def snapshot_of(self, kind: str, key: UUID) -> Any:
        return self._snapshots.get((kind, key))

    # --- commit -------------------------------------------------------------------------

    def commit(self) -> None:
        self._write_deferred()
        events: list[DomainEvent] = []
        for (kind, key), value in list(self._identity.items()):
            flush = _FLUSH.get(kind)
            if flush is not None:
                self._snapshots[(kind, key)] = flush(self, value, self._snapshots[(kind, key)])
            raised = getattr(value, "events", None)
            if raised:
                events.extend(raised)
                raised.clear()
        self._write_events(events)
        self.connection.commit()
        self._database.committed()

    def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()

    def _copy(self, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
        """Write rows through this unit of work's own transaction: COPY for many (the fastest way in),
        one multi-row INSERT for a few (COPY costs more round trips than it saves there)."""
        if not values:
            return
        driver: Any = self.connection.connection.driver_connection
        names = ", ".join(columns)
        with driver.cursor() as cursor:
            if len(values) >= COPY_FROM:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
                return
            row_marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row_marks] * len(values))}",
                [value for row in values for value in row],
            )

    def _write_deferred(self) -> None:
        certificates = [rows.certificate_params(c) for c in self.deferred["certificate"]]
        if certificates:
            self._copy("certificates", list(certificates[0]), [list(p.values()) for p in certificates])
        notifications = [rows.notification_params(n) for n in self.deferred["notification"]]
        if notifications:
            self._copy("notifications", list(notifications[0]), [list(p.values()) for p in notifications])
        self.deferred = {"certificate": [], "notification": []}

    def _write_events(self, events: list[DomainEvent]) -> None:
        actor = self.actor.user_id if self.actor else None
        self._copy(
            "change_log",
            ("topic", "event", "payload", "occurred_at", "kind", "location_id", "provider_id", "created_by",
             "instructor_ids", "subject_id", "learner_ids", "actor_id"),
            [
                (e.topic, e.name, json.dumps({"fields": encode(e), "scope": encode_scope(e.scope)}), e.occurred_at,
                 e.scope.kind.value, e.scope.location_id, e.scope.provider_id, e.scope.created_by,
                 sorted(e.scope.instructors), e.scope.subject_id, sorted(e.scope.learners), actor)
                for e in events
            ],
        )  # fmt: skip


# --- sessions ---------------------------------------------------------------------------

_SESSION = "SELECT * FROM training_sessions WHERE id = :id"


def _session_snapshot(s: TrainingSession) -> tuple[dict[str, Any], dict[UUID, dict[str, Any]]]:
    return rows.session_params(s), {e.id: rows.enrollment_params(e) for e in s.enrollments}


class PostgresSessionRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, session_id: UUID) -> TrainingSession | None:
        known: TrainingSession | None = self._uow.known("session", session_id)
        if known is not None:
            return known
        row = self._uow.run(_SESSION + " FOR UPDATE", {"id": session_id}).mappings().first()
        if row is None:
            return None
        return self._load(row)

    def _load(self, row: Any) -> TrainingSession:
        enrollments = [
            rows.enrollment(r)
            for r in self._uow.run(
                "SELECT * FROM session_enrollments WHERE session_id = :id ORDER BY enrolled_at, id", {"id": row["id"]}
            ).mappings()
        ]
        loaded = rows.session(row, enrollments)
        return self._uow.track("session", loaded.id, loaded, _session_snapshot(loaded))  # type: ignore[no-any-return]

    def add(self, session: TrainingSession) -> None:
        params = rows.session_params(session)
        names, values = _columns(params)
        self._uow.run(f"INSERT INTO training_sessions ({names}) VALUES ({values})", params)
        for enrollment in session.enrollments:
            _insert_enrollment(self._uow, enrollment)
        self._uow.track("session", session.id, session, _session_snapshot(session))

    def taught_by(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[TrainingSession]:
        ids = sorted(instructor_ids)
        self._uow.run("SELECT id FROM instructor_profiles WHERE id = ANY(:ids) ORDER BY id FOR UPDATE", {"ids": ids})
        found = self._uow.run(
            "SELECT * FROM training_sessions WHERE (lead_instructor_id = ANY(:ids) OR assistant_ids && CAST(:ids AS uuid[]))"
            " AND starts_at < :ends AND ends_at > :starts AND status <> 'cancelled'",
            {"ids": ids, "starts": starts_at, "ends": ends_at},
        ).mappings()
        out = []
        for row in found:
            known = self._uow.known("session", row["id"])
            out.append(known if known is not None else self._load(row))
        return out


def _insert_enrollment(uow: PostgresUnitOfWork, enrollment: Enrollment) -> None:
    params = rows.enrollment_params(enrollment)
    names, values = _columns(params)
    uow.run(f"INSERT INTO session_enrollments ({names}) VALUES ({values})", params)


def _flush_session(uow: PostgresUnitOfWork, session: TrainingSession, snapshot: Any) -> Any:
    before, enrollments_before = snapshot
    params = rows.session_params(session)
    if params != before:
        changed = uow.run(
            f"UPDATE training_sessions SET {_sets(params)}, updated_at = now() WHERE id = :id AND version = :old_version",
            {**params, "old_version": before["version"]},
        )
        if changed.rowcount != 1:
            raise ConcurrentUpdate(f"session {session.id} changed under a unit of work holding its lock")
    # seats are freed before they are taken, so the seat CHECK holds after every statement
    ordered = sorted(session.enrollments, key=lambda e: e.status is EnrollmentStatus.ENROLLED)
    written = {}
    for enrollment in ordered:
        old = enrollments_before.get(enrollment.id)
        current = written[enrollment.id] = rows.enrollment_params(enrollment)
        if old is None:
            _insert_enrollment(uow, enrollment)
        elif current != old:
            uow.run(
                f"UPDATE session_enrollments SET {_sets(current, ('id', 'session_id', 'learner_id'))} WHERE id = :id",
                current,
            )
    return params, written


# --- certificates ----------------------------------------------------------------------


class PostgresCertificateRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self._by_completion: dict[CompletionRef, Certificate | None] = {}
        self._current: dict[tuple[UUID, UUID], list[Certificate]] = {}

    def forget(self) -> None:
        self._by_completion, self._current = {}, {}

    def preload(self, completions: Collection[CompletionRef], holders: Collection[tuple[UUID, UUID]]) -> None:
        wanted = [ref for ref in completions if ref not in self._by_completion]
        if wanted:
            found = self._uow.run(
                "SELECT * FROM certificates WHERE revoked_at IS NULL AND (completion_kind, completion_id) IN"
                " (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:ids AS uuid[]))) ORDER BY id FOR UPDATE",
                {"kinds": [r.kind.value for r in wanted], "ids": [r.id for r in wanted]},
            ).mappings()
            for ref in wanted:
                self._by_completion[ref] = None
            for row in found:
                certificate = self._mapped(row)
                self._by_completion[certificate.completion] = certificate
        pairs = [pair for pair in holders if pair not in self._current]
        if pairs:
            found = self._uow.run(
                "SELECT * FROM certificates WHERE (recipient_user_id = ANY(:people) OR recipient_student_id = ANY(:people))"
                " AND course_id = ANY(:courses) AND revoked_at IS NULL AND superseded_by_id IS NULL ORDER BY id FOR UPDATE",
                {"people": sorted({p for p, _ in pairs}), "courses": sorted({c for _, c in pairs})},
            ).mappings()
            for pair in pairs:
                self._current[pair] = []
            for row in found:
                certificate = self._mapped(row)
                person = certificate.recipient.person_id
                if person is not None and (person, certificate.course_id) in self._current:
                    self._current[(person, certificate.course_id)].append(certificate)

    def codes_in_use(self, codes: Collection[VerificationCode]) -> set[str]:
        wanted = [code.canonical for code in codes]
        found = self._uow.run(
            "SELECT verification_code FROM certificates WHERE verification_code = ANY(:codes)", {"codes": wanted}
        )
        pending = {c.code.canonical for c in self._uow.deferred["certificate"]}
        return {row[0] for row in found} | (pending & set(wanted))

    def _one(self, where: str, params: dict[str, Any]) -> Certificate | None:
        row = self._uow.run(f"SELECT * FROM certificates WHERE {where} FOR UPDATE", params).mappings().first()
        return None if row is None else self._mapped(row)

    def _mapped(self, row: Any) -> Certificate:
        known: Certificate | None = self._uow.known("certificate", row["id"])
        if known is not None:
            return known
        loaded = rows.certificate(row)
        return self._uow.track("certificate", loaded.id, loaded, rows.certificate_params(loaded))  # type: ignore[no-any-return]

    def get(self, certificate_id: UUID) -> Certificate | None:
        known: Certificate | None = self._uow.known("certificate", certificate_id)
        return known if known is not None else self._one("id = :id", {"id": certificate_id})

    def by_code(self, code: VerificationCode) -> Certificate | None:
        pending = next((c for c in self._uow.deferred["certificate"] if c.code == code), None)
        return pending or self._one("verification_code = :code", {"code": code.canonical})

    def for_completion(self, completion: CompletionRef) -> Certificate | None:
        if completion in self._by_completion:
            cached = self._by_completion[completion]
            return cached if cached is not None and cached.revocation is None else None
        found = self._one(
            "completion_kind = :kind AND completion_id = :id AND revoked_at IS NULL",
            {"kind": completion.kind.value, "id": completion.id},
        )
        return found if found is not None and found.revocation is None else None

    def current_for(self, person_id: UUID, course_id: UUID) -> Sequence[Certificate]:
        if (person_id, course_id) in self._current:
            cached = self._current[(person_id, course_id)]
            return [c for c in cached if c.revocation is None and c.superseded_by_id is None]
        found = self._uow.run(
            "SELECT * FROM certificates WHERE (recipient_user_id = :p OR recipient_student_id = :p)"
            " AND course_id = :c AND revoked_at IS NULL AND superseded_by_id IS NULL ORDER BY id FOR UPDATE",
            {"p": person_id, "c": course_id},
        ).mappings()
        loaded = [self._mapped(row) for row in found]
        return [c for c in loaded if c.revocation is None and c.superseded_by_id is None]

    _LIVE = "revoked_at IS NULL AND superseded_by_id IS NULL"

    def expired_unrecorded(self, today: date, limit: int) -> Sequence[Certificate]:
        found = self._uow.run(
            f"SELECT * FROM certificates WHERE expiry_date < :today AND expired_on IS NULL AND {self._LIVE}"
            " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED",
            {"today": today, "limit": limit},
        ).mappings()
        return [self._mapped(row) for row in found]

    def entering_window(self, today: date, until: date, limit: int, after: UUID | None) -> Sequence[Certificate]:
        found = self._uow.run(
            f"SELECT * FROM certificates WHERE expiry_date BETWEEN :today AND :until AND {self._LIVE}"
            " AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :limit",
            {"today": today, "until": until, "after": after, "limit": limit},
        ).mappings()
        return [self._mapped(row) for row in found]

    def add(self, certificate: Certificate) -> None:
        """Written with the commit, with every other certificate of this unit of work, in one statement."""
        self._uow.deferred["certificate"].append(certificate)
        self._uow.track("certificate", certificate.id, certificate, rows.certificate_params(certificate))
        self._by_completion[certificate.completion] = certificate
        person = certificate.recipient.person_id
        if person is not None and (person, certificate.course_id) in self._current:
            self._current[(person, certificate.course_id)].append(certificate)


def _row_flush(
    table: str, params_of: Callable[[Any], dict[str, Any]], columns: Collection[str] | None = None, touch: bool = True
) -> Callable[[PostgresUnitOfWork, Any, Any], dict[str, Any]]:
    """Write one row back when it differs from what was loaded; returns what the row now holds."""

    def flush(uow: PostgresUnitOfWork, value: Any, before: Any) -> dict[str, Any]:
        params = params_of(value)
        if params != before:
            changed = {k: v for k, v in params.items() if columns is None or k in columns or k == "id"}
            stamp = ", updated_at = now()" if touch else ""
            uow.run(f"UPDATE {table} SET {_sets(changed)}{stamp} WHERE id = :id", params)
        return params

    return flush


# --- reference, people ------------------------------------------------------------------


class PostgresReferenceRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def course(self, course_id: UUID) -> Course | None:
        row = self._uow.run("SELECT * FROM course_templates WHERE id = :id", {"id": course_id}).mappings().first()
        return None if row is None else rows.course(row)

    def location(self, location_id: UUID) -> Location | None:
        row = self._uow.run("SELECT * FROM locations WHERE id = :id", {"id": location_id}).mappings().first()
        return None if row is None else rows.location(row)

    _PROVIDER = (
        "SELECT p.id, p.name, array_remove(array_agg(pl.location_id), NULL) AS location_ids"
        " FROM authorized_providers p LEFT JOIN provider_locations pl ON pl.provider_id = p.id"
    )

    def provider(self, provider_id: UUID) -> AuthorizedProvider | None:
        row = self._uow.run(self._PROVIDER + " WHERE p.id = :id GROUP BY p.id", {"id": provider_id}).mappings().first()
        return None if row is None else rows.provider(row)

    def provider_of_location(self, location_id: UUID) -> AuthorizedProvider | None:
        row = self._uow.run(
            "SELECT provider_id FROM provider_locations WHERE location_id = :id", {"id": location_id}
        ).first()
        return None if row is None else self.provider(row[0])

    def add_course(self, course: Course) -> None:
        params = rows.course_params(course)
        names, values = _columns(params)
        self._uow.run(f"INSERT INTO course_templates ({names}) VALUES ({values})", params)

    def add_location(self, location: Location) -> None:
        self._uow.run(
            "INSERT INTO locations (id, name, timezone) VALUES (:id, :name, :tz)",
            {"id": location.id, "name": location.name, "tz": location.timezone},
        )

    def certificate_layout(self, location_id: UUID) -> CertificateLayout | None:
        return _certificate_layout(self._uow, location_id)

    def email_template(self, location_id: UUID, name: str) -> EmailTemplate | None:
        return _email_template(self._uow, location_id, name)

    def set_certificate_layout(self, location_id: UUID, layout: CertificateLayout) -> None:
        _set_certificate_layout(self._uow, location_id, layout)

    def add_email_template(self, template: EmailTemplate) -> None:
        _add_email_template(self._uow, template)

    def add_provider(self, provider: AuthorizedProvider) -> None:
        self._uow.run(
            "INSERT INTO authorized_providers (id, name) VALUES (:id, :name)",
            {"id": provider.id, "name": provider.name},
        )
        for location_id in sorted(provider.location_ids):
            self._uow.run(
                "INSERT INTO provider_locations (provider_id, location_id) VALUES (:p, :l)",
                {"p": provider.id, "l": location_id},
            )


def _certificate_layout(uow: PostgresUnitOfWork, location_id: UUID) -> CertificateLayout | None:
    row = uow.run(
        "SELECT t.body FROM location_templates lt JOIN certificate_templates t ON t.id = lt.template_id"
        " WHERE lt.location_id = :l AND lt.is_primary",
        {"l": location_id},
    ).first()
    return None if row is None else CertificateLayout(**row[0])


def _email_template(uow: PostgresUnitOfWork, location_id: UUID, name: str) -> EmailTemplate | None:
    row = uow.run(
        "SELECT name, subject_template, body_template, location_id FROM location_email_templates"
        " WHERE location_id = :l AND name = :n ORDER BY is_default DESC, created_at DESC LIMIT 1",
        {"l": location_id, "n": name},
    ).first()
    return None if row is None else EmailTemplate(row[0], row[1], row[2], row[3])


def _set_certificate_layout(uow: PostgresUnitOfWork, location_id: UUID, layout: CertificateLayout) -> None:
    template_id = uuid4()
    uow.run(
        "INSERT INTO certificate_templates (id, name, version, body) VALUES (:id, :n, '1', CAST(:b AS jsonb))",
        {"id": template_id, "n": layout.title, "b": json.dumps(attrs.asdict(layout))},
    )
    uow.run("UPDATE location_templates SET is_primary = false WHERE location_id = :l", {"l": location_id})
    uow.run(
        "INSERT INTO location_templates (id, location_id, template_id, is_primary) VALUES (:id, :l, :t, true)",
        {"id": uuid4(), "l": location_id, "t": template_id},
    )


def _add_email_template(uow: PostgresUnitOfWork, template: EmailTemplate) -> None:
    if template.location_id is None:
        raise ValueError("an e-mail template belongs to a location")
    uow.run("UPDATE location_email_templates SET is_default = false WHERE location_id = :l AND name = :n",
            {"l": template.location_id, "n": template.name})  # fmt: skip
    uow.run(
        "INSERT INTO location_email_templates (id, location_id, name, subject_template, body_template, is_default)"
        " VALUES (:id, :l, :n, :s, :b, true)",
        {"id": uuid4(), "l": template.location_id, "n": template.name, "s": template.subject, "b": template.body},
    )


class PostgresProfileRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, user_id: UUID) -> UserProfile | None:
        known: UserProfile | None = self._uow.known("profile", user_id)
        if known is not None:
            return known
        row = self._uow.run("SELECT * FROM profiles WHERE id = :id FOR UPDATE", {"id": user_id}).mappings().first()
        if row is None:
            return None
        loaded = rows.profile(row)
        return self._uow.track("profile", user_id, loaded, rows.profile_params(loaded))  # type: ignore[no-any-return]

    def read(self, user_id: UUID) -> UserProfile | None:
        known: UserProfile | None = self._uow.known("profile", user_id)
        if known is not None:
            return known
        row = self._uow.run("SELECT * FROM profiles WHERE id = :id", {"id": user_id}).mappings().first()
        return None if row is None else rows.profile(row)

    def add(self, profile: UserProfile) -> None:
        params = rows.profile_params(profile)
        names, values = _columns(params)
        self._uow.run(f"INSERT INTO profiles ({names}) VALUES ({values})", params)
        self._uow.track("profile", profile.id, profile, params)

    def read_many(self, user_ids: Collection[UUID]) -> dict[UUID, UserProfile]:
        found = self._uow.run("SELECT * FROM profiles WHERE id = ANY(:ids)", {"ids": list(user_ids)}).mappings()
        loaded = {row["id"]: rows.profile(row) for row in found}
        for user_id in user_ids:  # what this unit of work already holds wins
            known = self._uow.known("profile", user_id)
            if known is not None:
                loaded[user_id] = known
        return loaded

    def students(self, student_ids: Collection[UUID]) -> dict[UUID, StudentProfile]:
        found = self._uow.run(
            "SELECT * FROM student_enrollment_profiles WHERE id = ANY(:ids)", {"ids": list(student_ids)}
        ).mappings()
        return {row["id"]: rows.student(row) for row in found}

    def instructor(self, user_id: UUID) -> InstructorProfile | None:
        row = self._uow.run("SELECT * FROM instructor_profiles WHERE id = :id", {"id": user_id}).mappings().first()
        return None if row is None else rows.instructor(row)

    def put_instructor(self, qualification: InstructorProfile) -> None:
        self._uow.run(
            "INSERT INTO instructor_profiles (id, specialties, max_students_per_session, credential_expires_on, is_active)"
            " VALUES (:id, :s, :m, :c, :a) ON CONFLICT (id) DO UPDATE SET specialties = :s,"
            " max_students_per_session = :m, credential_expires_on = :c, is_active = :a, updated_at = now()",
            {
                "id": qualification.user_id,
                "s": sorted(qualification.specialties),
                "m": qualification.max_students_per_session,
                "c": qualification.credential_expires_on,
                "a": qualification.is_active,
            },
        )

    def student(self, student_id: UUID) -> StudentProfile | None:
        row = (
            self._uow.run("SELECT * FROM student_enrollment_profiles WHERE id = :id", {"id": student_id})
            .mappings()
            .first()
        )
        return None if row is None else rows.student(row)

    def add_student(self, student: StudentProfile) -> None:
        self._uow.run(
            "INSERT INTO student_enrollment_profiles (id, first_name, last_name, email, phone, location_id)"
            " VALUES (:id, :f, :l, :e, :p, :loc)",
            {
                "id": student.id,
                "f": student.first_name,
                "l": student.last_name,
                "e": student.email,
                "p": student.phone,
                "loc": student.location_id,
            },
        )


# --- rosters, teams -------------------------------------------------------------------------


def _roster_snapshot(r: Roster) -> dict[UUID, dict[str, Any]]:
    return {m.id: rows.roster_member_params(r.id, m) for m in r.members}


class PostgresRosterRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, roster_id: UUID) -> Roster | None:
        known: Roster | None = self._uow.known("roster", roster_id)
        if known is not None:
            return known
        row = (
            self._uow.run("SELECT * FROM student_rosters WHERE id = :id FOR UPDATE", {"id": roster_id})
            .mappings()
            .first()
        )
        if row is None:
            return None
        members = [
            rows.roster_member(m)
            for m in self._uow.run(
                "SELECT * FROM student_roster_members WHERE roster_id = :id ORDER BY enrolled_at, id", {"id": roster_id}
            ).mappings()
        ]
        loaded = rows.roster(row, members)
        return self._uow.track("roster", roster_id, loaded, _roster_snapshot(loaded))  # type: ignore[no-any-return]

    def add(self, roster: Roster) -> None:
        self._uow.run(
            "INSERT INTO student_rosters (id, roster_name, course_id, location_id, provider_id, instructor_id,"
            " max_capacity, created_by) VALUES (:id, :name, :course, :location, :provider, :instructor, :cap, :by)",
            {
                "id": roster.id,
                "name": roster.name,
                "course": roster.course_id,
                "location": roster.location_id,
                "provider": roster.provider_id,
                "instructor": roster.instructor_id,
                "cap": roster.max_capacity,
                "by": roster.created_by,
            },
        )
        self._uow.track("roster", roster.id, roster, {})


def _flush_roster(uow: PostgresUnitOfWork, roster: Roster, before: Any) -> dict[UUID, dict[str, Any]]:
    written = {}
    for member in roster.members:
        params = written[member.id] = rows.roster_member_params(roster.id, member)
        old = before.get(member.id)
        if old is None:
            names, values = _columns(params)
            uow.run(f"INSERT INTO student_roster_members ({names}) VALUES ({values})", params)
        elif old != params:
            uow.run(f"UPDATE student_roster_members SET {_sets(params, ('id', 'roster_id'))} WHERE id = :id", params)
    return written


class PostgresTeamRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, team_id: UUID) -> Team | None:
        known: Team | None = self._uow.known("team", team_id)
        if known is not None:
            return known
        row = self._uow.run("SELECT * FROM teams WHERE id = :id FOR UPDATE", {"id": team_id}).mappings().first()
        if row is None:
            return None
        members = [
            rows.team_member(m)
            for m in self._uow.run(
                "SELECT * FROM team_members WHERE team_id = :id ORDER BY added_at, user_id", {"id": team_id}
            ).mappings()
        ]
        loaded = rows.team(row, members)
        return self._uow.track("team", team_id, loaded, loaded.member_ids())  # type: ignore[no-any-return]

    def add(self, team: Team) -> None:
        self._uow.run(
            "INSERT INTO teams (id, name, provider_id, location_id, created_by) VALUES (:id, :n, :p, :l, :b)",
            {"id": team.id, "n": team.name, "p": team.provider_id, "l": team.location_id, "b": team.created_by},
        )
        self._uow.track("team", team.id, team, frozenset())


def _flush_team(uow: PostgresUnitOfWork, team: Team, before: Any) -> frozenset[UUID]:
    current = {m.user_id: m for m in team.members}
    for user_id in sorted(before - current.keys()):
        uow.run("DELETE FROM team_members WHERE team_id = :t AND user_id = :u", {"t": team.id, "u": user_id})
    for user_id in sorted(current.keys() - before):
        member = current[user_id]
        uow.run(
            "INSERT INTO team_members (team_id, user_id, role, added_at) VALUES (:t, :u, :r, :a)",
            {"t": team.id, "u": user_id, "r": member.role.value, "a": member.added_at},
        )
    return frozenset(current)


class PostgresBatchRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def _one(self, where: str, params: dict[str, Any]) -> CertificateBatch | None:
        row = self._uow.run(f"SELECT * FROM rosters WHERE {where} FOR UPDATE", params).mappings().first()
        if row is None:
            return None
        known: CertificateBatch | None = self._uow.known("batch", row["id"])
        if known is not None:
            return known
        loaded = rows.batch(row)
        return self._uow.track("batch", loaded.id, loaded, rows.batch_params(loaded))  # type: ignore[no-any-return]

    def get(self, batch_id: UUID) -> CertificateBatch | None:
        known: CertificateBatch | None = self._uow.known("batch", batch_id)
        return known if known is not None else self._one("id = :id", {"id": batch_id})

    def running_for(self, source_kind: CompletionKind, source_id: UUID) -> CertificateBatch | None:
        return self._one(
            "source_kind = :k AND source_id = :s AND status = 'running'", {"k": source_kind.value, "s": source_id}
        )

    def add(self, batch: CertificateBatch) -> None:
        params = rows.batch_params(batch)
        names, values = _columns(params)
        self._uow.run(f"INSERT INTO rosters ({names}) VALUES ({values})", params)
        self._uow.track("batch", batch.id, batch, params)


class PostgresNotificationRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def add(self, notification: Notification) -> bool:
        params = rows.notification_params(notification)
        names, values = _columns(params)
        values = values.replace(":metadata", "CAST(:metadata AS jsonb)")
        inserted = self._uow.run(
            f"INSERT INTO notifications ({names}) VALUES ({values}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            params,
        ).first()
        if inserted is None:
            return False
        self._uow.track("notification", notification.id, notification, params)
        return True

    def queue(self, notification: Notification) -> None:
        self._uow.deferred["notification"].append(notification)
        self._uow.track("notification", notification.id, notification, rows.notification_params(notification))

    def _mapped(self, row: Any) -> Notification:
        known: Notification | None = self._uow.known("notification", row["id"])
        if known is not None:
            return known
        loaded = rows.notification(row)
        return self._uow.track("notification", loaded.id, loaded, rows.notification_params(loaded))  # type: ignore[no-any-return]

    def get(self, notification_id: UUID) -> Notification | None:
        known: Notification | None = self._uow.known("notification", notification_id)
        if known is not None:
            return known
        row = self._uow.run("SELECT * FROM notifications WHERE id = :id FOR UPDATE", {"id": notification_id})
        found = row.mappings().first()
        return None if found is None else self._mapped(found)

    def awaiting_email(self, limit: int, after: UUID | None = None) -> Sequence[Notification]:
        found = self._uow.run(
            "SELECT * FROM notifications WHERE (email_status = 'pending' OR (email_status = 'failed' AND email_attempts < :max))"
            " AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED",
            {"max": MAX_EMAIL_ATTEMPTS, "after": after, "limit": limit},
        ).mappings()
        return [self._mapped(row) for row in found]

    def add_email_batch(self, batch: EmailBatch) -> None:
        params = rows.email_batch_params(batch)
        names, values = _columns(params)
        self._uow.run(f"INSERT INTO email_batch_operations ({names}) VALUES ({values})", params)
        self._uow.track("email_batch", batch.id, batch, params)

    def email_batch(self, batch_id: UUID) -> EmailBatch | None:
        known: EmailBatch | None = self._uow.known("email_batch", batch_id)
        if known is not None:
            return known
        row = self._uow.run("SELECT * FROM email_batch_operations WHERE id = :id FOR UPDATE", {"id": batch_id})
        found = row.mappings().first()
        if found is None:
            return None
        loaded = rows.email_batch(found)
        return self._uow.track("email_batch", batch_id, loaded, rows.email_batch_params(loaded))  # type: ignore[no-any-return]


_EMAIL_STATE = ("email_status", "email_attempts", "email_error", "emailed_at")
# each writes back what changed since the snapshot and returns the new snapshot
_FLUSH: dict[str, Any] = {
    "session": _flush_session,
    "certificate": _row_flush("certificates", rows.certificate_params),
    "profile": _row_flush("profiles", rows.profile_params),
    "roster": _flush_roster,
    "team": _flush_team,
    "batch": _row_flush("rosters", rows.batch_params),
    "notification": _row_flush("notifications", rows.notification_params, _EMAIL_STATE, touch=False),
    "email_batch": _row_flush("email_batch_operations", rows.email_batch_params, touch=False),
}


# --- compliance, availability ------------------------------------------------------------


class PostgresComplianceRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def metrics(self) -> Sequence[ComplianceMetric]:
        return [
            rows.metric(r)
            for r in self._uow.run("SELECT * FROM compliance_metrics WHERE is_active ORDER BY id").mappings()
        ]

    def metric(self, metric_id: UUID) -> ComplianceMetric | None:
        row = self._uow.run("SELECT * FROM compliance_metrics WHERE id = :id", {"id": metric_id}).mappings().first()
        return None if row is None else rows.metric(row)

    def add_metric(self, metric: ComplianceMetric) -> None:
        self._uow.run(
            "INSERT INTO compliance_metrics (id, name, weight, roles, required_for_basic, required_for_robust)"
            " VALUES (:id, :n, :w, :r, :b, :rb)",
            {
                "id": metric.id,
                "n": metric.name,
                "w": metric.weight,
                "r": sorted(r.value for r in metric.roles),
                "b": metric.required_for_basic,
                "rb": metric.required_for_robust,
            },
        )

    def records_for(self, user_id: UUID) -> Sequence[ComplianceRecord]:
        found = self._uow.run("SELECT * FROM user_compliance_records WHERE user_id = :u ORDER BY id", {"u": user_id})
        return [rows.record(r) for r in found.mappings()]

    def add_record(self, record: ComplianceRecord) -> None:
        self._uow.run(
            "INSERT INTO user_compliance_records (user_id, metric_id, status, recorded_on, expires_on)"
            " VALUES (:u, :m, :s, :r, :e)",
            {
                "u": record.user_id,
                "m": record.metric_id,
                "s": record.status.value,
                "r": record.recorded_on,
                "e": record.expires_on,
            },
        )


class PostgresAvailabilityRepository:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def overlapping(
        self, instructor_ids: Collection[UUID], starts_at: datetime, ends_at: datetime
    ) -> Sequence[AvailabilityBooking]:
        found = self._uow.run(
            "SELECT * FROM availability_bookings WHERE user_id = ANY(:ids) AND starts_at < :e AND ends_at > :s ORDER BY id",
            {"ids": sorted(instructor_ids), "s": starts_at, "e": ends_at},
        )
        return [rows.booking(r) for r in found.mappings()]

    def add(self, booking: AvailabilityBooking) -> None:
        self._uow.run(
            "INSERT INTO availability_bookings (id, user_id, starts_at, ends_at, booking_type, title)"
            " VALUES (:id, :u, :s, :e, :k, :t)",
            {
                "id": booking.id,
                "u": booking.instructor_id,
                "s": booking.starts_at,
                "e": booking.ends_at,
                "k": booking.kind.value,
                "t": booking.title,
            },
        )


@attrs.frozen
class PostgresUnitOfWorkFactory:
    database: Database

    def __call__(self, actor: Actor | None) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(actor, self.database)


if TYPE_CHECKING:  # the adapter satisfies the port (mypy checks this; nothing runs)

    def _satisfies(factory: PostgresUnitOfWorkFactory) -> UnitOfWorkFactory:
        return factory
