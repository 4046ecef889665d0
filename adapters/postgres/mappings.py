"""Every aggregate's mapping, in one place (see ``mapping.py`` for what a mapping is)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs
from sqlalchemy import ARRAY, Select, Table, any_, bindparam, delete, func, select

from arccm.adapters.postgres import rows
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.mapping import ConcurrentUpdate, Row, RowMapping, insert_row, update_row
from arccm.domain.batch import CertificateBatch
from arccm.domain.certificate import Certificate
from arccm.domain.enrollment import EnrollmentStatus
from arccm.domain.notification import EmailBatch, Notification
from arccm.domain.people import UserProfile
from arccm.domain.roster import Roster
from arccm.domain.team import Team
from arccm.domain.training_session import TrainingSession

if TYPE_CHECKING:
    from arccm.adapters.postgres.unit_of_work import PostgresUnitOfWork


@attrs.frozen
class CertificateMapping(RowMapping[Certificate]):
    """A certificate is written back like any row, except being superseded: issuing supersedes the holder's current
    certificate for the course wherever it was issued, often outside the issuer's read and write scope, so that
    one change goes through ``arccm_supersede`` (migration 0009), which checks the actor may issue at all."""

    def flush(self, uow: PostgresUnitOfWork, value: Certificate, before: Any) -> dict[str, Any]:
        params = self.params(value)
        changed = {k for k, v in params.items() if before.get(k) != v}
        if changed == {"superseded_by_id", "version"} and before["superseded_by_id"] is None:
            done = uow.run(
                "SELECT arccm_supersede(:id, :successor, :before, :after)",
                {
                    "id": value.id,
                    "successor": value.superseded_by_id,
                    "before": before["version"],
                    "after": value.version,
                },
            ).scalar_one()
            if not done:
                raise ConcurrentUpdate(f"certificate {value.id} changed under a unit of work holding it")
            return params
        return super().flush(uow, value, before)


CERTIFICATES = CertificateMapping("certificate", t.t_certificates, rows.certificate, rows.certificate_params, bulk=True)


def contact_columns(table: Table) -> tuple[Any, ...]:
    """A person's row as the acting user may see it: e-mail and phone through ``arccm_email``/``arccm_phone``
    (migration 0010: the person, SA, AD and an AP whose scope holds them see them; others read '')."""
    return tuple(
        getattr(func, f"arccm_{c.name}")(table.c.id).label(c.name) if c.name in ("email", "phone") else c
        for c in table.c
    )


PROFILES = RowMapping[UserProfile](
    "profile", t.t_profiles, rows.profile, rows.profile_params, columns=contact_columns(t.t_profiles)
)
BATCHES = RowMapping[CertificateBatch]("batch", t.t_rosters, rows.batch, rows.batch_params)
NOTIFICATIONS = RowMapping[Notification](
    "notification", t.t_notifications, rows.notification, rows.notification_params, bulk=True, touch=False
)
EMAIL_BATCHES = RowMapping[EmailBatch](
    "email_batch", t.t_email_batch_operations, rows.email_batch, rows.email_batch_params, touch=False
)


def _children(
    uow: PostgresUnitOfWork, table: Table, parent: str, ids: Sequence[UUID], *order: str
) -> dict[UUID, list[Row]]:
    """The child rows of many parents in one query, grouped by parent."""
    found = uow.fetch(_children_of(table, parent, order), {"ids": list(ids)})
    if len(ids) == 1:  # the common case: one aggregate, nothing to group
        return {ids[0]: found}
    grouped: dict[UUID, list[Row]] = {}
    for row in found:
        grouped.setdefault(row[parent], []).append(row)
    return grouped


@functools.cache
def _children_of(table: Table, parent: str, order: tuple[str, ...]) -> Select[Any]:
    return (
        select(table)
        .where(table.c[parent] == any_(bindparam("ids", type_=ARRAY(table.c[parent].type))))
        .order_by(*(table.c[n] for n in order))
    )


def _write_children(
    uow: PostgresUnitOfWork, table: Table, children: Sequence[dict[str, Any]], before: dict[UUID, dict[str, Any]]
) -> dict[UUID, dict[str, Any]]:
    """Insert the new child rows and update the changed ones, in the order given; returns them by id."""
    for params in children:
        old = before.get(params["id"])
        if old is None:
            insert_row(uow, table, params)
        elif old != params:
            update_row(uow, table, params, old, touch=False)
    return {params["id"]: params for params in children}


@attrs.frozen
class WithChildren:
    """An aggregate stored as a row and its child rows: the parts every such mapping shares."""

    kind: str
    table: Table
    bulk: bool = False

    def key(self, value: Any) -> UUID:
        key: UUID = value.id
        return key

    def selectable(self) -> tuple[Any, ...]:
        return tuple(self.table.c)


@attrs.frozen
class SessionMapping(WithChildren):
    """A session row and its enrollments; seats are freed before they are taken, so the seat CHECK holds after
    every statement."""

    def build(self, uow: PostgresUnitOfWork, found: Sequence[Row]) -> list[TrainingSession]:
        ids = [row["id"] for row in found]
        enrollments = _children(uow, t.t_session_enrollments, "session_id", ids, "enrolled_at", "id")
        return [rows.session(row, [rows.enrollment(e) for e in enrollments.get(row["id"], [])]) for row in found]

    def snapshot(self, value: TrainingSession) -> tuple[dict[str, Any], dict[UUID, dict[str, Any]]]:
        return rows.session_params(value), {e.id: rows.enrollment_params(e) for e in value.enrollments}

    def insert(self, uow: PostgresUnitOfWork, value: TrainingSession) -> None:
        insert_row(uow, self.table, rows.session_params(value))
        for enrollment in value.enrollments:
            insert_row(uow, t.t_session_enrollments, rows.enrollment_params(enrollment))

    def flush(self, uow: PostgresUnitOfWork, value: TrainingSession, before: Any) -> Any:
        session_before, enrollments_before = before
        params = rows.session_params(value)
        update_row(uow, self.table, params, session_before, versioned=True)
        ordered = sorted(value.enrollments, key=lambda e: e.status is EnrollmentStatus.ENROLLED)
        children = [rows.enrollment_params(e) for e in ordered]
        return params, _write_children(uow, t.t_session_enrollments, children, enrollments_before)


@attrs.frozen
class RosterMapping(WithChildren):
    """A roster (``student_rosters``) and its members."""

    def build(self, uow: PostgresUnitOfWork, found: Sequence[Row]) -> list[Roster]:
        ids = [row["id"] for row in found]
        members = _children(uow, t.t_student_roster_members, "roster_id", ids, "enrolled_at", "id")
        return [rows.roster(row, [rows.roster_member(m) for m in members.get(row["id"], [])]) for row in found]

    def snapshot(self, value: Roster) -> dict[UUID, dict[str, Any]]:
        return {m.id: rows.roster_member_params(value.id, m) for m in value.members}

    def insert(self, uow: PostgresUnitOfWork, value: Roster) -> None:
        insert_row(uow, self.table, rows.roster_params(value))
        self.flush(uow, value, {})

    def flush(self, uow: PostgresUnitOfWork, value: Roster, before: Any) -> Any:
        members = [rows.roster_member_params(value.id, m) for m in value.members]
        return _write_children(uow, t.t_student_roster_members, members, before)


@attrs.frozen
class TeamMapping(WithChildren):
    """A team and its members (a membership is added or removed, never changed)."""

    def build(self, uow: PostgresUnitOfWork, found: Sequence[Row]) -> list[Team]:
        ids = [row["id"] for row in found]
        members = _children(uow, t.t_team_members, "team_id", ids, "added_at", "user_id")
        return [rows.team(row, [rows.team_member(m) for m in members.get(row["id"], [])]) for row in found]

    def snapshot(self, value: Team) -> frozenset[UUID]:
        return value.member_ids()

    def insert(self, uow: PostgresUnitOfWork, value: Team) -> None:
        insert_row(uow, self.table, rows.team_params(value))
        self.flush(uow, value, frozenset())

    def flush(self, uow: PostgresUnitOfWork, value: Team, before: Any) -> Any:
        members = t.t_team_members
        current = {m.user_id: m for m in value.members}
        for user_id in sorted(before - current.keys()):
            uow.execute(delete(members).where(members.c.team_id == value.id, members.c.user_id == user_id))
        for user_id in sorted(current.keys() - before):
            insert_row(uow, members, rows.team_member_params(value.id, current[user_id]))
        return frozenset(current)


SESSIONS = SessionMapping("session", t.t_training_sessions)
ROSTERS = RosterMapping("roster", t.t_student_rosters)
TEAMS = TeamMapping("team", t.t_teams)
