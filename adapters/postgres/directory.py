"""The directory on PostgreSQL: each page one statement, scoped in SQL (and again by row-level security), keyset
paged in the orders of ports/directory.py.  Names are ordered and compared ``COLLATE "C"`` (code points), the order
the in-memory store uses, whatever the database's locale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import attrs

from arccm.adapters.postgres.database import Database
from arccm.adapters.postgres.read_models import (
    certificate_scope,
    certificate_status,
    enrollment_scope,
    fetch,
    profile_scope,
    scope_params,
    session_scope,
)
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
from arccm.application.ports.read_models import CertificateSummary, EnrollmentSummary, SessionSummary
from arccm.application.validation import Day, Limit, checked_query
from arccm.domain.access import ADMINS, Actor, Role
from arccm.domain.verification_code import VerificationCode

_SESSION = (
    "s.id, s.title, s.course_id, s.location_id, s.lead_instructor_id, s.starts_at, s.ends_at, s.status,"
    " s.seats_taken, s.max_capacity, s.waitlist_length"
)
_ENROLLMENT = (
    "e.id, e.session_id, e.learner_id, e.enrolled_at, e.status, e.waitlist_position,"
    " e.attendance_status AS attendance, e.completion_status AS completion"
)
_CERTIFICATE = (
    "c.id, c.verification_code AS code, c.recipient_name, c.course_name, c.issue_date, c.expiry_date,"
    f" {certificate_status()} AS status"
)
_ROSTER = (
    "r.id, r.roster_name AS name, r.course_id, r.location_id, r.instructor_id, r.max_capacity,"
    " (SELECT count(*) FROM student_roster_members m WHERE m.roster_id = r.id) AS members"
)
_BATCH = (
    "b.id, b.name, b.source_kind, b.source_id, b.course_id, b.location_id, b.issue_date, b.status, b.total, b.done,"
    " b.certificate_count AS issued, b.not_eligible, b.created_by"
)


def _ap(location: str, provider: str, creator: str) -> str:
    return f"({location} = ANY(:locs) OR {provider} = :prov OR {creator} = :me)"


def _roster_scope(actor: Actor) -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return _ap("r.location_id", "r.provider_id", "r.created_by")
    return "r.instructor_id = :me" if actor.role in (Role.IC, Role.IP) else "FALSE"


def _batch_scope(actor: Actor) -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return _ap("b.location_id", "b.provider_id", "b.created_by")
    return "b.created_by = :me"


def _learner_scope(actor: Actor) -> str:
    if actor.role in ADMINS:
        return "TRUE"
    return "l.location_id = ANY(:locs)" if actor.role is Role.AP else "FALSE"


def _certificate(row: Any) -> CertificateSummary:
    return CertificateSummary(**{**{k: row[k] for k in attrs.fields_dict(CertificateSummary)},
                                 "code": VerificationCode(row["code"]).display})  # fmt: skip


@attrs.frozen
class PostgresDirectory:
    database: Database

    def _rows(self, actor: Actor, sql: str, params: dict[str, Any]) -> list[Any]:
        return fetch(self.database, actor, sql, {**scope_params(actor), **params})

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
        where = [session_scope(actor)]
        if status is not None:
            where.append("s.status = :status")
        if start is not None:
            where.append("s.starts_at >= CAST(:start AS date)::timestamp AT TIME ZONE 'UTC'")
        if end is not None:
            where.append("s.starts_at < CAST(:end AS date)::timestamp AT TIME ZONE 'UTC'")
        if after is not None:
            where.append("(s.starts_at, s.id) > (:after_at, :after_id)")
        found = self._rows(
            actor,
            f"SELECT {_SESSION} FROM training_sessions s WHERE {' AND '.join(where)} ORDER BY s.starts_at, s.id"
            " LIMIT :limit",
            {"status": status, "start": start, "end": end, "limit": limit,
             "after_at": after[0] if after else None, "after_id": after[1] if after else None},
        )  # fmt: skip
        return [SessionSummary(**dict(row)) for row in found]

    @checked_query
    def session(self, actor: Actor, session_id: UUID) -> SessionDetail | None:
        found = self._rows(actor, f"SELECT {_SESSION} FROM training_sessions s WHERE s.id = :id AND {session_scope(actor)}",
                           {"id": session_id})  # fmt: skip
        if not found:
            return None
        enrollments = self._rows(
            actor,
            f"SELECT {_ENROLLMENT} FROM session_enrollments e JOIN training_sessions s ON s.id = e.session_id"
            f" WHERE e.session_id = :id AND {enrollment_scope(actor)} ORDER BY e.enrolled_at, e.id",
            {"id": session_id},
        )
        return SessionDetail(SessionSummary(**dict(found[0])), tuple(EnrollmentSummary(**dict(r)) for r in enrollments))

    @checked_query
    def people(
        self, actor: Actor, name: str | None, email: str | None, after: NameKey | None, limit: Limit
    ) -> Sequence[PersonSummary]:
        # an e-mail is matched by the database's contact rule (arccm_with_email: only addresses the actor may see)
        matches = (
            "id = ANY(CAST((SELECT arccm_with_email(:email)) AS uuid[]))"
            if email is not None
            else "strpos(lower(name), lower(:name)) > 0"
        )
        keyset = '(name COLLATE "C", id) > (:after_name COLLATE "C", :after_id)' if after is not None else "TRUE"
        found = self._rows(
            actor,
            "SELECT id, kind, name, role, active, location_id, provider_id FROM ("
            "SELECT p.id, 'user' AS kind, p.display_name AS name, p.role, p.status = 'active' AS active, p.location_id,"
            f" p.provider_id FROM profiles p WHERE {profile_scope(actor)}"
            " UNION ALL SELECT l.id, 'learner', btrim(l.first_name || ' ' || l.last_name), NULL, l.is_active,"
            f" l.location_id, NULL FROM student_enrollment_profiles l WHERE {_learner_scope(actor)}) people"
            f' WHERE {matches} AND {keyset} ORDER BY name COLLATE "C", id LIMIT :limit',
            {"name": name, "email": email, "limit": limit,
             "after_name": after[0] if after else None, "after_id": after[1] if after else None},
        )  # fmt: skip
        return [PersonSummary(**dict(row)) for row in found]

    @checked_query
    def certificates(
        self, actor: Actor, today: Day, holder: UUID | None, status: str | None, after: DayKey | None, limit: Limit
    ) -> Sequence[CertificateSummary]:
        where = [certificate_scope(actor)]
        if holder is not None:
            where.append("(c.recipient_user_id = :holder OR c.recipient_student_id = :holder)")
        if status is not None:
            where.append(f"{certificate_status()} = :status")
        if after is not None:
            where.append("(c.issue_date, c.id) < (:after_day, :after_id)")
        found = self._rows(
            actor,
            f"SELECT {_CERTIFICATE} FROM certificates c WHERE {' AND '.join(where)}"
            " ORDER BY c.issue_date DESC, c.id DESC LIMIT :limit",
            {"today": today, "holder": holder, "status": status, "limit": limit,
             "after_day": after[0] if after else None, "after_id": after[1] if after else None},
        )  # fmt: skip
        return [_certificate(row) for row in found]

    @checked_query
    def certificate(
        self, actor: Actor, today: Day, certificate_id: UUID | None, code: str | None
    ) -> CertificateDetail | None:
        which = "c.id = :id" if certificate_id is not None else "c.verification_code = :code"
        found = self._rows(
            actor,
            f"SELECT {_CERTIFICATE}, coalesce(c.recipient_user_id, c.recipient_student_id) AS holder_id,"
            " c.completion_kind, c.completion_id, c.course_id, c.location_id, c.provider_id, c.revoked_at,"
            f" c.revocation_reason FROM certificates c WHERE {which} AND {certificate_scope(actor)}",
            {"id": certificate_id, "code": code, "today": today},
        )
        if not found:
            return None
        row = found[0]
        return CertificateDetail(
            _certificate(row),
            row["holder_id"], row["completion_kind"], row["completion_id"], row["course_id"], row["location_id"],
            row["provider_id"], row["revoked_at"], row["revocation_reason"],
        )  # fmt: skip

    @checked_query
    def rosters(self, actor: Actor, after: NameKey | None, limit: Limit) -> Sequence[RosterSummary]:
        keyset = '(r.roster_name COLLATE "C", r.id) > (:after_name COLLATE "C", :after_id)' if after else "TRUE"
        found = self._rows(
            actor,
            f"SELECT {_ROSTER} FROM student_rosters r WHERE {_roster_scope(actor)} AND {keyset}"
            ' ORDER BY r.roster_name COLLATE "C", r.id LIMIT :limit',
            {"limit": limit, "after_name": after[0] if after else None, "after_id": after[1] if after else None},
        )
        return [RosterSummary(**dict(row)) for row in found]

    @checked_query
    def roster(self, actor: Actor, roster_id: UUID) -> RosterDetail | None:
        found = self._rows(
            actor,
            f"SELECT {_ROSTER} FROM student_rosters r WHERE r.id = :id AND {_roster_scope(actor)}",
            {"id": roster_id},
        )
        if not found:
            return None
        members = self._rows(
            actor,
            "SELECT m.id, m.student_profile_id AS student_id, m.attendance_status AS attendance,"
            " m.completion_status AS completion FROM student_roster_members m WHERE m.roster_id = :id"
            " ORDER BY m.enrolled_at, m.id",
            {"id": roster_id},
        )
        return RosterDetail(RosterSummary(**dict(found[0])), tuple(RosterMemberSummary(**dict(m)) for m in members))

    @checked_query
    def batches(self, actor: Actor, after: DayKey | None, limit: Limit) -> Sequence[BatchSummary]:
        keyset = "(b.issue_date, b.id) < (:after_day, :after_id)" if after else "TRUE"
        found = self._rows(
            actor,
            f"SELECT {_BATCH} FROM rosters b WHERE {_batch_scope(actor)} AND {keyset}"
            " ORDER BY b.issue_date DESC, b.id DESC LIMIT :limit",
            {"limit": limit, "after_day": after[0] if after else None, "after_id": after[1] if after else None},
        )
        return [BatchSummary(**dict(row)) for row in found]

    @checked_query
    def batch(self, actor: Actor, batch_id: UUID) -> BatchSummary | None:
        found = self._rows(actor, f"SELECT {_BATCH} FROM rosters b WHERE b.id = :id AND {_batch_scope(actor)}",
                           {"id": batch_id})  # fmt: skip
        return BatchSummary(**dict(found[0])) if found else None
