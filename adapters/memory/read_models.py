"""Read models over the in-memory store, scoped by the same rules as everything else."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from arccm.adapters.memory.store import MemoryStore
from arccm.application.ports.change_feed import Change, ChangeBatch, Cursor, read_up_to
from arccm.application.ports.clock import Clock
from arccm.application.ports.read_models import (
    Analytics,
    AnalyticsRow,
    CalendarEntry,
    CertificateSummary,
    Dashboard,
    EnrollmentSummary,
    NotificationSummary,
    PublicCertificate,
    SessionMetrics,
    SessionSummary,
)
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.application.validation import Day, Limit, Moment, checked_query
from arccm.domain.access import ADMINS, Actor, can_read
from arccm.domain.certificate import Certificate, CertificateStatus
from arccm.domain.enrollment import Attendance, Completion, Enrollment, EnrollmentStatus
from arccm.domain.training_session import SessionStatus, TrainingSession
from arccm.domain.verification_code import VerificationCode


@attrs.frozen
class MemoryReadModels:
    store: MemoryStore

    def _sessions(self, actor: Actor) -> Iterator[TrainingSession]:
        return (s for s in self.store.sessions.values() if can_read(actor, s.resource()))

    def _certificates(self, actor: Actor) -> Iterator[Certificate]:
        return (c for c in self.store.certificates.values() if can_read(actor, c.resource()))

    @checked_query
    def sessions(self, actor: Actor) -> Sequence[SessionSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            return sorted((session_summary(s) for s in self._sessions(actor)), key=lambda s: (s.starts_at, s.id))

    @checked_query
    def enrollments(self, actor: Actor) -> Sequence[EnrollmentSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            found = [
                enrollment_summary(s, e)
                for s in self.store.sessions.values()
                for e in s.enrollments
                if can_read(actor, s.enrollment_resource(e))
            ]
        return sorted(found, key=lambda e: (str(e.session_id), e.enrolled_at, str(e.id)))

    @checked_query
    def certificates(self, actor: Actor, today: Day) -> Sequence[CertificateSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            found = [certificate_summary(c, today) for c in self._certificates(actor)]
        return sorted(found, key=lambda c: (c.issue_date, str(c.id)))

    @checked_query
    def notifications(self, actor: Actor) -> Sequence[NotificationSummary]:
        self.store.check_standing(actor)
        with self.store.lock:
            found = [
                NotificationSummary(
                    n.id, n.category.value, n.title, n.message, n.created_at, n.email_status.value, n.email_attempts
                )
                for n in self.store.notifications.values()
                if actor.role in ADMINS or n.person_id == actor.user_id
            ]
        return sorted(found, key=lambda n: (n.created_at, str(n.id)))

    @checked_query
    def open_sessions(
        self, course_id: UUID, location_ids: frozenset[UUID], after: Moment, limit: Limit = 5
    ) -> Sequence[SessionSummary]:
        with self.store.lock:
            found = [
                session_summary(s)
                for s in self.store.sessions.values()
                if s.course_id == course_id
                and s.location_id in location_ids
                and s.status is SessionStatus.SCHEDULED
                and s.starts_at > after
                and s.seats_taken < s.max_capacity
            ]
        return sorted(found, key=lambda s: (s.starts_at, s.id))[:limit]

    @checked_query
    def lookup(self, code: VerificationCode, today: Day) -> tuple[PublicCertificate, str] | None:
        return self._public(self.store.certificate_by_code.get(code.canonical), today)

    @checked_query
    def lookup_legacy(self, code: str, today: Day) -> tuple[PublicCertificate, str] | None:
        """The memory store holds no imported certificates unless a host put legacy codes in it (one holder each)."""
        holders = self.store.legacy_codes.get(code, ())
        return self._public(holders[0], today) if len(holders) == 1 else None

    def _public(self, key: UUID | None, today: Day) -> tuple[PublicCertificate, str] | None:
        with self.store.lock:
            if key is None:
                return None
            c = self.store.certificates[key]
            provider = self.store.providers.get(c.provider_id) if c.provider_id else None
            location = self.store.locations.get(c.location_id)
            issuer = provider.name if provider else (location.name if location else "")
        public = PublicCertificate(
            status=c.status(today).value,
            recipient_name=c.recipient.name,
            course_name=c.course_name,
            issuer_name=issuer,
            issue_date=c.issue_date,
            expiry_date=c.expiry_date,
            revoked_on=c.revocation.revoked_at.date() if c.revocation else None,
        )
        return public, c.recipient.name

    @checked_query
    def dashboard(self, actor: Actor, today: Day) -> Dashboard:
        self.store.check_standing(actor)
        with self.store.lock:
            sessions = [
                s for s in self._sessions(actor) if s.status in (SessionStatus.SCHEDULED, SessionStatus.IN_PROGRESS)
            ]
            certificates = list(self._certificates(actor))
            profiles = [p for p in self.store.profiles.values() if can_read(actor, p.resource())]
            teams = [t for t in self.store.teams.values() if can_read(actor, t.resource())]
        statuses = [c.status(today) for c in certificates]
        assessed = [p.compliance.score for p in profiles if p.compliance.status.value != "unassessed"]
        return Dashboard(
            upcoming_sessions=sum(1 for s in sessions if s.status is SessionStatus.SCHEDULED),
            in_progress_sessions=sum(1 for s in sessions if s.status is SessionStatus.IN_PROGRESS),
            seats_taken=sum(s.seats_taken for s in sessions),
            seats_offered=sum(s.max_capacity for s in sessions),
            waitlisted=sum(len(s.waitlist) for s in sessions),
            certificates_total=len(certificates),
            certificates_active=statuses.count(CertificateStatus.ACTIVE),
            certificates_expiring_30d=sum(
                1
                for c, st in zip(certificates, statuses, strict=True)
                if st is CertificateStatus.ACTIVE and c.expiry_date <= today + timedelta(days=30)
            ),
            certificates_issued_7d=sum(1 for c in certificates if c.issue_date > today - timedelta(days=7)),
            compliance_average_score=sum(assessed) / len(assessed) if assessed else None,
            teams=len(teams),
            team_members=sum(len(t.members) for t in teams),
        )


def enrollment_summary(s: TrainingSession, e: Enrollment) -> EnrollmentSummary:
    return EnrollmentSummary(
        e.id, s.id, e.learner_id, e.enrolled_at, e.status.value, e.waitlist_position, e.attendance.value,
        e.completion.value,
    )  # fmt: skip


def certificate_summary(c: Certificate, today: date) -> CertificateSummary:
    return CertificateSummary(
        c.id, c.code.display, c.recipient.name, c.course_name, c.issue_date, c.expiry_date, c.status(today).value
    )


def session_summary(s: TrainingSession) -> SessionSummary:
    return SessionSummary(
        id=s.id,
        title=s.title,
        course_id=s.course_id,
        location_id=s.location_id,
        lead_instructor_id=s.lead_instructor_id,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        status=s.status.value,
        seats_taken=s.seats_taken,
        max_capacity=s.max_capacity,
        waitlist_length=len(s.waitlist),
    )


@attrs.frozen
class MemoryChangeFeed:
    """Committed events in commit order, filtered by the reader's scope as they are read."""

    store: MemoryStore
    clock: Clock

    def _context(self, change: Change) -> dict[str, str]:
        fields = {f.name: getattr(change.event, f.name) for f in attrs.fields(type(change.event))}
        if change.event.topic == "enrollments":
            return _enrollment_context(self.store, fields)
        if change.event.topic == "certificates":
            return _certificate_context(self.store, fields, self.clock.now().date())
        return {}

    @checked_query
    def read(
        self, actor: Actor, since: Cursor, limit: Limit = 1000, topics: frozenset[str] | None = None
    ) -> ChangeBatch:
        self.store.check_standing(actor)
        return self._read(actor, since, limit, topics)

    @checked_query
    def read_all(self, since: Cursor, limit: Limit = 1000) -> ChangeBatch:
        return self._read(None, since, limit, None)

    def head(self) -> Cursor:
        with self.store.lock:
            horizon = self.store.horizon()
            for change in reversed(self.store.changes):  # in cursor order: the final ones first
                if change.cursor.txid < horizon:
                    return change.cursor
        return Cursor.origin()

    def changed(self, actors: Collection[Actor]) -> frozenset[UUID]:
        gone = set()
        for actor in actors:
            try:
                self.store.check_standing(actor)
            except ActorNotPermitted:
                gone.add(actor.user_id)
        return frozenset(gone)

    def _read(self, actor: Actor | None, since: Cursor, limit: int, topics: frozenset[str] | None) -> ChangeBatch:
        with self.store.lock:
            if self.store.watermark is not None and since < self.store.watermark:
                return ChangeBatch([], since, resync_required=True)
            changes, horizon = self.store.changes, self.store.horizon()
            start = _first_after(changes, since)
            picked: list[Change] = []
            for change in changes[start:]:
                if change.cursor.txid >= horizon:
                    break  # an older transaction is still open: nothing past it is final yet
                if (topics is None or change.event.topic in topics) and (
                    actor is None or can_read(actor, change.event.scope)
                ):
                    picked.append(attrs.evolve(change, context=self._context(change)))
                    if len(picked) >= limit:
                        break
        return ChangeBatch(picked, read_up_to(since, picked, limit, horizon))

    @checked_query
    def backlog(self, actor: Actor, since: Cursor, topics: frozenset[str] | None = None) -> int:
        self.store.check_standing(actor)
        with self.store.lock:
            horizon = self.store.horizon()
            return sum(
                1
                for change in self.store.changes
                if since < change.cursor
                and change.cursor.txid < horizon
                and (topics is None or change.event.topic in topics)
                and can_read(actor, change.event.scope)
            )


def _enrollment_context(store: MemoryStore, fields: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    session = store.sessions.get(fields.get("session_id"))  # type: ignore[arg-type]
    if session is not None:
        out["session_title"] = session.title
        out["session_starts_at"] = session.starts_at.astimezone(UTC).isoformat()
        location = store.locations.get(session.location_id)
        if location is not None:
            out["location_name"] = location.name
    learner = store.profiles.get(fields.get("learner_id"))  # type: ignore[arg-type]
    if learner is not None:
        out["learner_name"] = learner.display_name
    return out


def _certificate_context(store: MemoryStore, fields: dict[str, Any], today: date) -> dict[str, str]:
    certificate = store.certificates.get(fields.get("certificate_id"))  # type: ignore[arg-type]
    if certificate is None:
        return {}
    return {"course_name": certificate.course_name, "status": certificate.status(today).value}


def _first_after(changes: Sequence[object], since: Cursor) -> int:
    low, high = 0, len(changes)
    while low < high:
        middle = (low + high) // 2
        if changes[middle].cursor <= since:  # type: ignore[attr-defined]
            low = middle + 1
        else:
            high = middle
    return low


@attrs.frozen
class MemoryScheduleQueries:
    store: MemoryStore

    def _in_window(self, actor: Actor, start: datetime, end: datetime) -> list[TrainingSession]:
        return sorted(
            (s for s in self.store.sessions.values() if start <= s.starts_at < end and can_read(actor, s.resource())),
            key=lambda s: (s.starts_at, str(s.id)),
        )

    @checked_query
    def calendar(self, actor: Actor, start: Day, end: Day, viewer_timezone: str) -> Sequence[CalendarEntry]:
        self.store.check_standing(actor)
        zone = ZoneInfo(viewer_timezone)
        with self.store.lock:
            window = self._in_window(actor, datetime.combine(start, time(), zone), datetime.combine(end, time(), zone))
            return [
                CalendarEntry(
                    session_id=s.id,
                    title=s.title,
                    course_name=self.store.courses[s.course_id].name,
                    status=s.status.value,
                    starts_at=s.starts_at.astimezone(zone),
                    ends_at=s.ends_at.astimezone(zone),
                    location_name=self.store.locations[s.location_id].name,
                    location_timezone=self.store.locations[s.location_id].timezone,
                    instructor_name=self.store.profiles[s.lead_instructor_id].display_name,
                    seats_taken=s.seats_taken,
                    max_capacity=s.max_capacity,
                    percent_full=float(
                        (Decimal(100 * s.seats_taken) / s.max_capacity).quantize(Decimal("0.1"), ROUND_HALF_UP)
                    ),
                    waitlist_length=len(s.waitlist),
                    version=s.version,
                )
                for s in window
            ]

    @checked_query
    def analytics(self, actor: Actor, start: Day, end: Day, today: Day, group_by: str | None = None) -> Analytics:
        self.store.check_standing(actor)
        with self.store.lock:
            sessions = self._in_window(actor, datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC))
            certificates = [
                c for c in self.store.certificates.values()
                if start <= c.issue_date < end and can_read(actor, c.resource())
            ]  # fmt: skip
            groups: dict[UUID | None, dict[str, Any]] = {}
            for s in sessions:
                _add_session(groups.setdefault(_session_key(s, group_by), _empty()), s)
            for c in certificates:
                bucket = groups.setdefault(_certificate_key(c, group_by), _empty())
                bucket["certificates"] += 1
                bucket["active"] += c.status(today) is CertificateStatus.ACTIVE
            rows = [_analytics_row(key, self._label(key, group_by), g) for key, g in groups.items()]
            per_day: dict[date, int] = {}
            for c in certificates:
                per_day[c.issue_date] = per_day.get(c.issue_date, 0) + 1
        return Analytics(sorted(rows, key=lambda r: (r.label, str(r.key))), sorted(per_day.items()))

    def _label(self, key: UUID | None, group_by: str | None) -> str:
        if key is None:
            return "all"
        if group_by == "location":
            return self.store.locations[key].name
        if group_by == "course":
            return self.store.courses[key].name
        return self.store.profiles[key].display_name

    @checked_query
    def session_metrics(
        self, actor: Actor, start: Day, end: Day, course_id: UUID | None = None
    ) -> Sequence[SessionMetrics]:
        self.store.check_standing(actor)
        with self.store.lock:
            window = self._in_window(actor, datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC))
            out = []
            for s in window:
                if course_id is not None and s.course_id != course_id:
                    continue
                seated = [e for e in s.enrollments if e.status is EnrollmentStatus.ENROLLED]
                completed = sum(e.completion is Completion.COMPLETED for e in seated)
                failed = sum(e.completion is Completion.FAILED for e in seated)
                out.append(
                    SessionMetrics(
                        session_id=s.id,
                        title=s.title,
                        course_id=s.course_id,
                        enrolled=len(seated),
                        waitlisted=len(s.waitlist),
                        cancelled=sum(e.status is EnrollmentStatus.CANCELLED for e in s.enrollments),
                        attended=sum(e.attendance is Attendance.ATTENDED for e in seated),
                        completed=completed,
                        failed=failed,
                        completion_rate=None if completed + failed == 0 else round(completed / (completed + failed), 4),
                    )
                )
            return out


def _empty() -> dict[str, Any]:
    return {"sessions": 0, "completed_sessions": 0, "utilisation": [], "enrollments": 0, "run": 0, "attended": 0,
            "completed": 0, "certificates": 0, "active": 0}  # fmt: skip


def _session_key(s: TrainingSession, group_by: str | None) -> UUID | None:
    return {None: None, "location": s.location_id, "instructor": s.lead_instructor_id, "course": s.course_id}[group_by]


def _certificate_key(c: Certificate, group_by: str | None) -> UUID | None:
    return {None: None, "location": c.location_id, "instructor": c.lead_instructor_id, "course": c.course_id}[group_by]


def _add_session(bucket: dict[str, Any], s: TrainingSession) -> None:
    active = [e for e in s.enrollments if e.is_active]
    bucket["sessions"] += 1
    bucket["enrollments"] += len(active)
    if s.status is not SessionStatus.CANCELLED:
        bucket["utilisation"].append(s.seats_taken / s.max_capacity)
    if s.status is SessionStatus.COMPLETED:
        seated = [e for e in s.enrollments if e.status is EnrollmentStatus.ENROLLED]
        bucket["completed_sessions"] += 1
        bucket["run"] += len(active)
        bucket["attended"] += sum(e.attendance is Attendance.ATTENDED for e in seated)
        bucket["completed"] += sum(e.completion is Completion.COMPLETED for e in seated)


def _analytics_row(key: UUID | None, label: str, g: dict[str, Any]) -> AnalyticsRow:
    def rate(part: int) -> float | None:
        return None if not g["run"] else round(part / g["run"], 4)

    utilisation = g["utilisation"]
    return AnalyticsRow(
        key=key,
        label=label,
        sessions=g["sessions"],
        completed_sessions=g["completed_sessions"],
        average_utilisation=round(sum(utilisation) / len(utilisation), 4) if utilisation else None,
        enrollments=g["enrollments"],
        attendance_rate=rate(g["attended"]),
        completion_rate=rate(g["completed"]),
        certificates=g["certificates"],
        active_certificates=g["active"],
    )
