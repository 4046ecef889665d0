"""Read models as set-based SQL, scoped by the actor inside the query (never filtered after fetching).

Each ``*_scope`` function renders DESIGN §2's read rules for one table as a SQL
predicate; they mirror ``domain.access.can_read`` and the contract suite's scope
property checks both against the same oracle.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import BigInteger, TextClause, text
from sqlalchemy.exc import OperationalError

from arccm.adapters.events_codec import decode, decode_scope
from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.database import FEED_WRITER_CLASS, Database, feed_horizon
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
from arccm.application.validation import Day, Limit, Moment, checked_query
from arccm.domain.access import ADMINS, LEAD_INSTRUCTORS, Actor, Role
from arccm.domain.verification_code import VerificationCode


def scope_params(actor: Actor) -> dict[str, Any]:
    return {"me": actor.user_id, "locs": sorted(actor.location_ids), "prov": actor.provider_id}


def _ap(location: str, provider: str, creator: str) -> str:
    return f"({location} = ANY(:locs) OR {provider} = :prov OR {creator} = :me)"


# Under row-level security an index serves a query's own predicate only if its operator is leakproof: equality on
# uuid is, array containment (the GIN indexes on assistant_ids, instructor_ids) is not.  So the sessions an
# instructor teaches come from the policies' SECURITY DEFINER helper (one call per statement: an InitPlan), and the
# rows are then fetched by id.  An instructor's certificates are the exception: their role's policy names
# instructor_ids @> [me] itself, so the GIN index serves the policy and the query's own identical test runs on the
# rows found (fetching 285 certificates by id from a helper's array cost an IC's dashboard 1.3 of its 1.9 ms).
_TAUGHT = "CAST((SELECT arccm_taught_sessions()) AS uuid[])"
# the sessions the actor leads, assists or is enrolled in (a learner's scope); one helper call per statement, where
# the branches below would each pay the policy's own call again under row-level security
_ATTENDED = "CAST((SELECT arccm_my_sessions()) AS uuid[])"
# each branch is answered by its own index; the union is tiny for an instructor or a learner
_MY_SESSIONS = (
    "SELECT id FROM training_sessions WHERE lead_instructor_id = :me"
    f" UNION SELECT id FROM training_sessions WHERE id = ANY({_TAUGHT})"
    " UNION SELECT session_id FROM session_enrollments WHERE learner_id = :me AND status <> 'cancelled'"
)


def session_scope(actor: Actor, s: str = "s") -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return _ap(f"{s}.location_id", f"{s}.provider_id", f"{s}.created_by")
    return f"{s}.id IN ({_MY_SESSIONS})"


def scoped_sessions(actor: Actor, where: str) -> str:
    """The sessions an actor may read that satisfy ``where`` (over alias s), as a relation named s.

    For an instructor or a learner the few sessions of their scope are found by id
    (the primary key), so a small scope is never found by scanning every session.
    """
    if actor.role in ADMINS or actor.role is Role.AP:
        return f"(SELECT s.* FROM training_sessions s WHERE {where} AND {session_scope(actor)}) s"
    # anyone else: the sessions they lead, assist or attend — arccm_my_sessions(), which the policy calls too — found
    # by id in one table reference (three branches paid the policy's helpers three times over under row-level
    # security, for the same few sessions)
    return f"(SELECT s.* FROM training_sessions s WHERE s.id = ANY({_ATTENDED}) AND {where}) s"


def enrollment_scope(actor: Actor, e: str = "e", s: str = "s") -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return _ap(f"{s}.location_id", f"{s}.provider_id", f"{e}.enrolled_by")
    if actor.role in LEAD_INSTRUCTORS:
        return f"({e}.session_id = ANY({_TAUGHT}) OR {e}.learner_id = :me)"
    return f"{e}.learner_id = :me"


def certificate_scope(actor: Actor, c: str = "c") -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return _ap(f"{c}.location_id", f"{c}.provider_id", f"{c}.issued_by")
    mine = f"({c}.recipient_user_id = :me OR {c}.recipient_student_id = :me)"
    if actor.role in LEAD_INSTRUCTORS:
        return f"({c}.instructor_ids @> ARRAY[CAST(:me AS uuid)] OR {mine})"
    return mine


# The locations other than the AP's own where its provider has certificates, by a loose index scan of
# (provider_id, location_id): one probe per distinct location, each for the next one after the last.  The second
# branch below read all of its provider's certificates (19,751 at scale m, 2.7 ms) to find those at no location of
# the AP's — usually none.
_PROVIDER_ELSEWHERE = """(
    WITH RECURSIVE found(location_id) AS (
        (SELECT location_id FROM certificates WHERE provider_id = :prov ORDER BY location_id LIMIT 1)
        UNION ALL
        SELECT (SELECT n.location_id FROM certificates n WHERE n.provider_id = :prov AND n.location_id > found.location_id
                ORDER BY n.location_id LIMIT 1)
        FROM found WHERE found.location_id IS NOT NULL)
    SELECT location_id FROM found WHERE location_id IS NOT NULL AND NOT (location_id = ANY(:locs)))"""


def scoped_certificates(actor: Actor, columns: str) -> str:
    """The certificates an actor may read, as a relation named c.

    For an AP the three ways in (its locations, its provider, what it issued) are
    disjoint branches, each answerable from a covering index without visiting the
    table, instead of one bitmap OR that must read every matching row.
    """
    if actor.role is not Role.AP:
        return f"(SELECT {columns} FROM certificates c WHERE {certificate_scope(actor)}) c"
    return (
        f"(SELECT {columns} FROM certificates c WHERE c.location_id = ANY(:locs)"
        f" UNION ALL SELECT {columns} FROM {_PROVIDER_ELSEWHERE} elsewhere"
        " JOIN certificates c ON c.provider_id = :prov AND c.location_id = elsewhere.location_id"
        f" UNION ALL SELECT {columns} FROM certificates c WHERE c.issued_by = :me AND NOT (c.location_id = ANY(:locs))"
        " AND c.provider_id IS DISTINCT FROM :prov) c"
    )


def profile_scope(actor: Actor, p: str = "p") -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return f"({p}.location_id = ANY(:locs) OR {p}.provider_id = :prov)"
    return f"{p}.id = :me"


def team_scope(actor: Actor, t: str = "t") -> str:
    if actor.role in ADMINS:
        return "TRUE"
    if actor.role is Role.AP:
        return _ap(f"{t}.location_id", f"{t}.provider_id", f"{t}.created_by")
    return "FALSE"


def change_scope(actor: Actor, c: str = "c") -> str:
    """``can_read`` over the change log's scope columns."""
    if actor.role in ADMINS:
        return "TRUE"
    reference = f"{c}.kind = 'reference'"
    addressed = f"({c}.kind = 'notification' AND {c}.subject_id = :me)"
    if actor.role is Role.AP:
        ap = _ap(f"{c}.location_id", f"{c}.provider_id", f"{c}.created_by")
        return f"({reference} OR {addressed} OR ({c}.kind <> 'notification' AND {ap}))"
    if actor.role in LEAD_INSTRUCTORS:
        return (
            f"({reference} OR (:me = ANY({c}.instructor_ids) AND {c}.kind IN ('session','enrollment','certificate','roster'))"
            f" OR ({c}.kind = 'session' AND :me = ANY({c}.learner_ids)) OR ({c}.subject_id = :me AND {c}.kind <> 'team'))"
        )
    return (
        f"({reference} OR ({c}.kind = 'session' AND (:me = ANY({c}.learner_ids) OR :me = ANY({c}.instructor_ids)))"
        f" OR ({c}.subject_id = :me AND {c}.kind NOT IN ('roster', 'team')))"
    )


@functools.lru_cache(maxsize=512)
def statement(sql: str) -> TextClause:
    """A read model's SQL as a statement, parsed once: the same few texts (one per role and shape) run again and
    again, and parsing a long text for its parameters on every read is work done for nothing."""
    return text(sql)


def fetch(database: Database, actor: Actor | None, sql: str, params: dict[str, Any]) -> list[Any]:
    """Every row of one read, in one transaction acting as ``actor`` (its scope settings applied)."""
    with database.transaction(actor, generic_plans=True) as connection:
        rows = list(connection.execute(statement(sql), params).mappings())
        # it wrote nothing, so a commit ends it as a rollback would — and keeps the connection's prepared statements
        # (psycopg drops them all at every rollback): the same few read statements are then parsed, rewritten under
        # the policies and planned once per connection, not at every read
        connection.commit()
        return rows


def certificate_status(c: str = "c") -> str:
    """SQL for ``Certificate.status(today)`` (``:today``): the one place SQL says what a status is."""
    return (
        f"CASE WHEN {c}.revoked_at IS NOT NULL THEN 'revoked' WHEN {c}.superseded_by_id IS NOT NULL THEN 'superseded'"
        f" WHEN {c}.expiry_date < :today THEN 'expired' ELSE 'active' END"
    )


def certificate_current(c: str = "c") -> str:
    """SQL for ``Certificate.is_current``: neither revoked nor superseded."""
    return f"{c}.revoked_at IS NULL AND {c}.superseded_by_id IS NULL"


def certificate_active(c: str = "c") -> str:
    """SQL for ``Certificate.status(today) is ACTIVE``: current and not past its expiry date."""
    return f"({certificate_current(c)} AND {c}.expiry_date >= :today)"


_STATUS = certificate_status()


def _pairs(actor: Actor, alias: str) -> str:
    """An administrator's or an AP's certificates by location and provider (an AP's: of its provider or at its
    locations) — what ``certificate_counts`` (migration 0014) can count; an AP's own issues elsewhere are not."""
    if actor.role in ADMINS:
        return "TRUE"
    return f"({alias}.provider_id = :prov OR {alias}.location_id = ANY(:locs))"


def _elsewhere(actor: Actor, alias: str, author: str) -> str:
    """What an AP reached as ``author`` (creator, issuer) outside the (location, provider) pairs the rollups give it:
    the rows of its scope (docs/access.md) the pairs miss — a handful, from the author's index."""
    return f"{alias}.{author} = :me AND NOT COALESCE({_pairs(actor, alias)}, FALSE)"


def _counted_certificates(actor: Actor) -> str:
    """The certificate figures of an administrator or an AP, from the counts per (location, provider) and the
    rollups per (location, provider, course, issue, expiry): a few hundred rows, however many certificates there
    are, and no certificate read (but an AP's own issues elsewhere).  An AP's: one pass over its rollup rows
    (active = current with expiry ≥ today).  An administrator's, over every row, in date ranges of indexes:

    active = live with no expiry recorded (counted) − those of them already past expiry (the upkeep's backlog)
    + live ones whose expiry was recorded though ``today`` is not past it (a day before the upkeep's)."""
    live = certificate_active()
    if actor.role is Role.AP:  # what the AP issued itself at another provider's certificates elsewhere: a handful
        elsewhere = f"""(
            SELECT count(*) AS total, count(*) FILTER (WHERE {live}) AS active,
                   count(*) FILTER (WHERE {live} AND c.expiry_date <= :soon) AS expiring,
                   count(*) FILTER (WHERE c.issue_date > :week_ago) AS issued
            FROM certificates c WHERE {_elsewhere(actor, "c", "issued_by")})"""
        # an AP's rollup rows are few (about a thousand at scale l): every figure from one pass over them — one
        # table reference, so its role policy's guard (a definer call: an InitPlan per reference) runs once
        return f"""(
        SELECT k.total + x.total AS certificates_total, k.active + x.active AS certificates_active,
               k.expiring + x.expiring AS certificates_expiring_30d, k.issued + x.issued AS certificates_issued_7d
        FROM (SELECT COALESCE(sum(r.certificates), 0) AS total,
                     COALESCE(sum(r.current) FILTER (WHERE r.expiry_date >= :today), 0) AS active,
                     COALESCE(sum(r.current) FILTER (WHERE r.expiry_date >= :today AND r.expiry_date <= :soon), 0)
                     AS expiring,
                     COALESCE(sum(r.certificates) FILTER (WHERE r.issue_date > :week_ago), 0) AS issued
              FROM certificate_rollups r WHERE {_pairs(actor, "r")}) k, {elsewhere} x
    ) c"""
    # an administrator's: every row, so nothing elsewhere and no pairs to test.  The week's issues are a range of
    # the issue index: bounded on both sides, even by the always-true ``<= 'infinity'``, since a generic plan (the
    # read models run on theirs) rates ``issue_date > $n`` alone at a third of the rows and scans all ten thousand
    # (scale m; 0.55 of the dashboard's 0.68 ms of execution), where a range of two comparisons rates 0.5 %
    return """(
        SELECT k.total AS certificates_total,
               k.live_unrecorded
               - (SELECT COALESCE(sum(r.current - r.recorded), 0) FROM certificate_rollups r
                  WHERE r.current > r.recorded AND r.expiry_date < :today)
               + (SELECT COALESCE(sum(r.recorded), 0) FROM certificate_rollups r
                  WHERE r.recorded > 0 AND r.expiry_date >= :today)
               AS certificates_active,
               (SELECT COALESCE(sum(r.current), 0) FROM certificate_rollups r
                WHERE r.current > 0 AND r.expiry_date >= :today AND r.expiry_date <= :soon) AS certificates_expiring_30d,
               (SELECT COALESCE(sum(r.certificates), 0) FROM certificate_rollups r
                WHERE r.issue_date > :week_ago AND r.issue_date <= 'infinity') AS certificates_issued_7d
        FROM (SELECT COALESCE(sum(k.certificates), 0) AS total, COALESCE(sum(k.live_unrecorded), 0) AS live_unrecorded
              FROM certificate_counts k) k
    ) c"""


def _counted_people(actor: Actor) -> str:
    """The session, compliance and team figures of an administrator or an AP from ``dashboard_counts`` (migration
    0022: one table reference, so one guard of its role policy), plus, for an AP, the open sessions and the teams it
    created elsewhere (an index probe each, as a rule finding nothing)."""
    if actor.role is Role.AP:
        sessions = f"""(
            SELECT count(*) FILTER (WHERE s.status = 'scheduled') AS upcoming,
                   count(*) FILTER (WHERE s.status = 'in_progress') AS in_progress,
                   COALESCE(sum(s.seats_taken), 0) AS seats_taken, COALESCE(sum(s.max_capacity), 0) AS seats_offered,
                   COALESCE(sum(s.waitlist_length), 0) AS waitlisted
            FROM training_sessions s
            WHERE s.status IN ('scheduled', 'in_progress') AND {_elsewhere(actor, "s", "created_by")})"""
        teams = f"""(
            SELECT count(*) AS teams,
                   COALESCE(sum((SELECT count(*) FROM team_members m WHERE m.team_id = t.id)), 0) AS team_members
            FROM teams t WHERE {_elsewhere(actor, "t", "created_by")})"""
    else:
        sessions = "(SELECT 0 AS upcoming, 0 AS in_progress, 0 AS seats_taken, 0 AS seats_offered, 0 AS waitlisted)"
        teams = "(SELECT 0 AS teams, 0 AS team_members)"
    return f"""(
        SELECT k.upcoming + x.upcoming AS upcoming_sessions, k.in_progress + x.in_progress AS in_progress_sessions,
               k.seats_taken + x.seats_taken AS seats_taken, k.seats_offered + x.seats_offered AS seats_offered,
               k.waitlisted + x.waitlisted AS waitlisted, k.compliance_average_score,
               (k.teams + y.teams)::bigint AS teams, (k.team_members + y.team_members)::bigint AS team_members
        FROM (SELECT COALESCE(sum(k.upcoming), 0) AS upcoming, COALESCE(sum(k.in_progress), 0) AS in_progress,
                     COALESCE(sum(k.seats_taken), 0) AS seats_taken, COALESCE(sum(k.seats_offered), 0) AS seats_offered,
                     COALESCE(sum(k.waitlisted), 0) AS waitlisted,  -- the average as avg() makes it: numeric, then float
                     (sum(k.score)::numeric / NULLIF(sum(k.assessed), 0))::float AS compliance_average_score,
                     COALESCE(sum(k.teams), 0) AS teams, COALESCE(sum(k.team_members), 0) AS team_members
              FROM dashboard_counts k WHERE {_pairs(actor, "k")}) k, {sessions} x, {teams} y
    ) s"""


def _rolled(actor: Actor) -> bool:
    """Whether the actor's figures come from the rollups: an administrator's and an AP's (what the rollups' keys,
    location and provider, can select); anyone else's few sessions and certificates are counted themselves."""
    return actor.role in ADMINS or actor.role is Role.AP


def dashboard_query(actor: Actor, today: date, rolled: bool | None = None) -> tuple[str, dict[str, Any]]:
    """One statement for every figure of the dashboard: from the rollups and counts kept by triggers for an
    administrator or an AP (migrations 0014, 0020, 0022) unless ``rolled`` is False, else by counting the rows
    themselves — the recount the tests compare the rollups' figures with."""
    live = certificate_active()
    rolled = _rolled(actor) and rolled is not False
    certificates = (
        _counted_certificates(actor)
        if rolled
        else f"""(
        SELECT count(*) AS certificates_total, count(*) FILTER (WHERE {live}) AS certificates_active,
               count(*) FILTER (WHERE {live} AND c.expiry_date <= :soon) AS certificates_expiring_30d,
               count(*) FILTER (WHERE c.issue_date > :week_ago) AS certificates_issued_7d
        FROM {scoped_certificates(actor, "c.issue_date, c.expiry_date, c.revoked_at, c.superseded_by_id")}
    ) c"""
    )
    teams = (
        # a role that reads no team (docs/access.md) counts none without a statement that could not find one: its
        # plan — the teams' and the members' policies, their InitPlans and hashed SubPlan — was still set up at
        # every read (about 0.02 ms of an instructor's or a learner's dashboard, scale m)
        "(SELECT 0::bigint AS teams, 0::bigint AS team_members)"
        if team_scope(actor) == "FALSE"
        else f"""(
        SELECT count(*) AS teams, (SELECT count(*) FROM team_members m WHERE m.team_id = ANY(array_agg(t.id))) AS team_members
        FROM teams t WHERE {team_scope(actor)}
    )"""
    )
    if rolled:
        sql = f"SELECT s.*, c.* FROM {_counted_people(actor)}, {certificates}"
    else:
        sql = f"""SELECT s.*, c.*, p.*, t.* FROM (
        SELECT count(*) FILTER (WHERE s.status = 'scheduled') AS upcoming_sessions,
               count(*) FILTER (WHERE s.status = 'in_progress') AS in_progress_sessions,
               COALESCE(sum(s.seats_taken), 0) AS seats_taken, COALESCE(sum(s.max_capacity), 0) AS seats_offered,
               COALESCE(sum(s.waitlist_length), 0) AS waitlisted
        FROM {scoped_sessions(actor, "s.status IN ('scheduled', 'in_progress')")}
    ) s, {certificates}, (
        SELECT avg(p.compliance_score)::float AS compliance_average_score
        FROM profiles p WHERE p.compliance_status <> 'unassessed' AND {profile_scope(actor)}
    ) p, {teams} t"""
    params = {
        **scope_params(actor),
        "today": today,
        "soon": today + timedelta(days=30),
        "week_ago": today - timedelta(days=7),
    }
    return sql, params


def lookup_query(code: VerificationCode, today: date, schema: str = "public") -> tuple[str, dict[str, Any]]:
    """Schema-qualified: it runs outside any unit of work, with no search_path of its own.  No actor reads the
    certificates table here: ``arccm_verify`` (migration 0009) returns the public fields of one code."""
    return (
        "SELECT status, recipient_name, course_name, issuer_name, issue_date, expiry_date, revoked_at"
        f' FROM "{schema}".arccm_verify(:code, :today)',
        {"code": code.canonical, "today": today},
    )


@attrs.frozen
class PostgresReadModels:
    database: Database

    def _rows(self, actor: Actor | None, sql: str, params: dict[str, Any]) -> list[Any]:
        return fetch(self.database, actor, sql, params)

    @checked_query
    def sessions(self, actor: Actor) -> Sequence[SessionSummary]:
        found = self._rows(
            actor,
            "SELECT s.id, s.title, s.course_id, s.location_id, s.lead_instructor_id, s.starts_at, s.ends_at, s.status,"
            f" s.seats_taken, s.max_capacity, s.waitlist_length FROM training_sessions s WHERE {session_scope(actor)}"
            " ORDER BY s.starts_at, s.id",
            scope_params(actor),
        )
        return [SessionSummary(**dict(row)) for row in found]

    @checked_query
    def enrollments(self, actor: Actor) -> Sequence[EnrollmentSummary]:
        found = self._rows(
            actor,
            "SELECT e.id, e.session_id, e.learner_id, e.enrolled_at, e.status, e.waitlist_position,"
            " e.attendance_status AS attendance, e.completion_status AS completion"
            " FROM session_enrollments e JOIN training_sessions s ON s.id = e.session_id"
            f" WHERE {enrollment_scope(actor)} ORDER BY e.session_id::text, e.enrolled_at, e.id::text",
            scope_params(actor),
        )
        return [EnrollmentSummary(**dict(row)) for row in found]

    @checked_query
    def certificates(self, actor: Actor, today: Day) -> Sequence[CertificateSummary]:
        found = self._rows(
            actor,
            "SELECT c.id, c.verification_code AS code, c.recipient_name, c.course_name, c.issue_date, c.expiry_date,"
            f" {_STATUS} AS status FROM certificates c WHERE {certificate_scope(actor)} ORDER BY c.issue_date, c.id::text",
            {**scope_params(actor), "today": today},
        )
        return [CertificateSummary(**{**dict(row), "code": VerificationCode(row["code"]).display}) for row in found]

    @checked_query
    def notifications(self, actor: Actor) -> Sequence[NotificationSummary]:
        mine = "TRUE" if actor.role in ADMINS else "(n.user_id = :me OR n.student_id = :me)"
        found = self._rows(
            actor,
            "SELECT n.id, n.category, n.title, n.message, n.created_at, n.email_status, n.email_attempts"
            f" FROM notifications n WHERE {mine} ORDER BY n.created_at, n.id::text",
            scope_params(actor),
        )
        return [NotificationSummary(**dict(row)) for row in found]

    @checked_query
    def open_sessions(
        self, course_id: UUID, location_ids: frozenset[UUID], after: Moment, limit: Limit = 5
    ) -> Sequence[SessionSummary]:
        found = self._rows(
            None,
            "SELECT s.id, s.title, s.course_id, s.location_id, s.lead_instructor_id, s.starts_at, s.ends_at, s.status,"
            " s.seats_taken, s.max_capacity, s.waitlist_length FROM training_sessions s"
            " WHERE s.course_id = :c AND s.location_id = ANY(:l) AND s.status = 'scheduled' AND s.starts_at > :after"
            " AND s.seats_taken < s.max_capacity ORDER BY s.starts_at, s.id LIMIT :limit",
            {"c": course_id, "l": sorted(location_ids), "after": after, "limit": limit},
        )
        return [SessionSummary(**dict(row)) for row in found]

    @checked_query
    def lookup(self, code: VerificationCode, today: Day) -> tuple[PublicCertificate, str] | None:
        return self._answer(self.database.read_public(*lookup_query(code, today, self.database.schema)))

    @checked_query
    def lookup_legacy(self, code: str, today: Day) -> tuple[PublicCertificate, str] | None:
        """``arccm_verify_legacy`` (migration 0019): the one imported certificate that held the code, or nothing."""
        sql = (
            "SELECT status, recipient_name, course_name, issuer_name, issue_date, expiry_date, revoked_at"
            f' FROM "{self.database.schema}".arccm_verify_legacy(:code, :today)'
        )
        return self._answer(self.database.read_public(sql, {"code": code, "today": today}))

    @staticmethod
    def _answer(found: Sequence[Any]) -> tuple[PublicCertificate, str] | None:
        if not found:
            return None
        row = found[0]
        revoked_on = row["revoked_at"].date() if row["revoked_at"] else None
        public = PublicCertificate(
            row["status"], row["recipient_name"], row["course_name"], row["issuer_name"],
            row["issue_date"], row["expiry_date"], revoked_on,
        )  # fmt: skip
        return public, row["recipient_name"]

    @checked_query
    def dashboard(self, actor: Actor, today: Day) -> Dashboard:
        """One round trip: every figure from one statement."""
        row = self._rows(actor, *dashboard_query(actor, today))[0]
        return Dashboard(**{k: (v if k == "compliance_average_score" else int(v)) for k, v in dict(row).items()})


_GROUPS = {  # the key of a session's group and of a certificate's, and the label of a key g.gkey
    None: ("NULL::uuid", "NULL::uuid", "'all'"),
    "location": ("location_id", "location_id", "(SELECT name FROM locations WHERE id = g.gkey)"),
    "instructor": ("lead_instructor_id", "lead_instructor_id", "(SELECT display_name FROM profiles WHERE id = g.gkey)"),
    "course": ("course_id", "course_id", "(SELECT name FROM course_templates WHERE id = g.gkey)"),
}
# a session as a row of session_rollups, and a certificate as a row of certificate_rollups (migration 0020); a
# session's utilisation in billionths, rounded down, as the rollups keep it
_SESSION_FACTS = (
    "s.status, 1 AS sessions, s.seats_taken, s.active_enrollments AS enrollments, s.attended_count AS attended,"
    " s.completed_count AS completed, s.seats_taken::bigint * 1000000000 / s.max_capacity AS utilisation"
)
_SESSION_SUMS = "r.status, r.sessions, r.seats_taken, r.enrollments, r.attended, r.completed, r.utilisation"
_CERTIFICATE_FACTS = f"c.issue_date, c.expiry_date, 1 AS certificates, ({certificate_current()})::int AS current"
_CERTIFICATE_SUMS = "r.issue_date, r.expiry_date, r.certificates, r.current"


def _analytics_facts(actor: Actor, group_by: str | None, rolled: bool) -> tuple[str, str]:
    """The sessions and the certificates of an analytics window as relations of rollup-shaped rows (key, status …
    and key, issue_date …): an administrator's and an AP's from the rollups (a few rows per location, course and
    day) plus, for an AP, what it created or issued elsewhere; anyone else's, and any grouping by instructor (not a
    rollup key), from the rows themselves.  A key whose rows all moved away is kept at zeros: not a group."""
    session_key, certificate_key, _ = _GROUPS[group_by]
    sessions = f"SELECT {session_key} AS key, {_SESSION_FACTS} FROM training_sessions s WHERE s.starts_at >= :from AND s.starts_at < :to"
    certificates = f"SELECT {certificate_key} AS key, {_CERTIFICATE_FACTS} FROM certificates c WHERE c.issue_date >= :start AND c.issue_date < :end"
    if group_by == "instructor" or not rolled:
        return f"{sessions} AND {session_scope(actor)}", f"{certificates} AND {certificate_scope(actor)}"
    sums = (
        f"SELECT {session_key} AS key, {_SESSION_SUMS} FROM session_rollups r"
        f" WHERE r.day >= :start AND r.day < :end AND r.sessions <> 0 AND {_pairs(actor, 'r')}",
        f"SELECT {certificate_key} AS key, {_CERTIFICATE_SUMS} FROM certificate_rollups r"
        f" WHERE r.issue_date >= :start AND r.issue_date < :end AND r.certificates <> 0 AND {_pairs(actor, 'r')}",
    )
    if actor.role is Role.AP:
        return (
            f"{sums[0]} UNION ALL {sessions} AND {_elsewhere(actor, 's', 'created_by')}",
            f"{sums[1]} UNION ALL {certificates} AND {_elsewhere(actor, 'c', 'issued_by')}",
        )
    return sums


def _window(start: date, end: date, zone: str = "UTC") -> dict[str, datetime]:
    tz = ZoneInfo(zone)
    return {"from": datetime.combine(start, time(), tz), "to": datetime.combine(end, time(), tz)}


def _rate(part: Any, whole: Any) -> float | None:
    return None if not whole else round(float(part) / float(whole), 4)


def analytics_query(
    actor: Actor, start: date, end: date, today: date, group_by: str | None, rolled: bool | None = None
) -> tuple[str, dict[str, Any]]:
    """One statement for analytics over [start, end): groups, then issuance per day; from the rollups for
    an administrator or an AP unless ``rolled`` is False, else from the rows themselves (the tests' recount)."""
    sessions, certificates = _analytics_facts(actor, group_by, _rolled(actor) and rolled is not False)
    completed = "FILTER (WHERE f.status = 'completed')"
    held = "FILTER (WHERE f.status <> 'cancelled')"
    sql = f"""
    WITH sg AS (
        SELECT f.key, sum(f.sessions) AS sessions, COALESCE(sum(f.sessions) {completed}, 0) AS completed_sessions,
               (sum(f.utilisation) {held} / 1e9 / NULLIF(sum(f.sessions) {held}, 0))::float AS utilisation,
               COALESCE(sum(f.enrollments), 0) AS enrollments,
               COALESCE(sum(f.enrollments) {completed}, 0) AS run_enrollments,
               COALESCE(sum(f.attended) {completed}, 0) AS attended,
               COALESCE(sum(f.completed) {completed}, 0) AS completed
        FROM ({sessions}) f GROUP BY 1
    ), cf AS MATERIALIZED (
        {certificates}
    ), cg AS (
        SELECT f.key, sum(f.certificates) AS certificates,
               COALESCE(sum(f.current) FILTER (WHERE f.expiry_date >= :today), 0) AS active
        FROM cf f GROUP BY 1
    ), g AS (
        SELECT COALESCE(sg.key, cg.key) AS gkey, sg.sessions, sg.completed_sessions, sg.utilisation,
               sg.enrollments, sg.run_enrollments, sg.attended, sg.completed, cg.certificates, cg.active
        FROM sg FULL OUTER JOIN cg ON COALESCE(sg.key, :nil) = COALESCE(cg.key, :nil)
    )
    SELECT 'group' AS row_kind, g.gkey AS key, {_GROUPS[group_by][2]} AS label, COALESCE(g.sessions, 0) AS sessions,
           COALESCE(g.completed_sessions, 0) AS completed_sessions, g.utilisation,
           COALESCE(g.enrollments, 0) AS enrollments, COALESCE(g.run_enrollments, 0) AS run_enrollments,
           COALESCE(g.attended, 0) AS attended, COALESCE(g.completed, 0) AS completed,
           COALESCE(g.certificates, 0) AS certificates, COALESCE(g.active, 0) AS active
    FROM g
    UNION ALL  -- issuance per day rides along in the same statement
    SELECT 'day', NULL, f.issue_date::text, 0, 0, NULL, 0, 0, 0, 0, sum(f.certificates), 0
    FROM cf f GROUP BY f.issue_date
    ORDER BY 1, 3, 2
    """
    params = {
        **scope_params(actor),
        **_window(start, end),
        "start": start,
        "end": end,
        "today": today,
        "nil": UUID(int=0),
    }
    return sql, params


@attrs.frozen
class PostgresScheduleQueries:
    database: Database

    def _rows(self, actor: Actor | None, sql: str, params: dict[str, Any]) -> list[Any]:
        return fetch(self.database, actor, sql, params)

    @checked_query
    def calendar(self, actor: Actor, start: Day, end: Day, viewer_timezone: str) -> Sequence[CalendarEntry]:
        zone = ZoneInfo(viewer_timezone)
        found = self._rows(
            actor,
            "SELECT s.id AS session_id, s.title, COALESCE(c.name, '') AS course_name, s.status, s.starts_at,"
            " s.ends_at, COALESCE(l.name, '') AS location_name, COALESCE(l.timezone, 'UTC') AS location_timezone,"
            " COALESCE(p.display_name, '') AS instructor_name,"
            " s.seats_taken, s.max_capacity, round(100.0 * s.seats_taken / s.max_capacity, 1)::float AS percent_full,"
            " s.waitlist_length, s.version"
            # the month's sessions first, then their names (outer joins: the sessions lead). Under row-level
            # security the scope is tested twice, the query's and the policy's; the planner multiplies the two
            # selectivities, expects almost no session, and with inner joins started from every location and
            # course instead. A name the actor may not read shows empty rather than hiding the session.
            " FROM training_sessions s LEFT JOIN course_templates c ON c.id = s.course_id"
            " LEFT JOIN locations l ON l.id = s.location_id LEFT JOIN profiles p ON p.id = s.lead_instructor_id"
            f" WHERE s.starts_at >= :from AND s.starts_at < :to AND {session_scope(actor)} ORDER BY s.starts_at, s.id",
            {**scope_params(actor), **_window(start, end, viewer_timezone)},
        )
        return [
            CalendarEntry(
                **{**dict(r), "starts_at": r["starts_at"].astimezone(zone), "ends_at": r["ends_at"].astimezone(zone)}
            )
            for r in found
        ]

    @checked_query
    def analytics(self, actor: Actor, start: Day, end: Day, today: Day, group_by: str | None = None) -> Analytics:
        found = self._rows(actor, *analytics_query(actor, start, end, today, group_by))
        per_day = [(date.fromisoformat(r["label"]), int(r["certificates"])) for r in found if r["row_kind"] == "day"]
        found = [r for r in found if r["row_kind"] == "group"]
        rows = [
            AnalyticsRow(
                key=r["key"], label=r["label"] or "", sessions=int(r["sessions"]),
                completed_sessions=int(r["completed_sessions"]),
                average_utilisation=None if r["utilisation"] is None else round(r["utilisation"], 4),
                enrollments=int(r["enrollments"]), attendance_rate=_rate(r["attended"], r["run_enrollments"]),
                completion_rate=_rate(r["completed"], r["run_enrollments"]),
                certificates=int(r["certificates"]), active_certificates=int(r["active"]),
            )
            for r in found
        ]  # fmt: skip
        return Analytics(rows, per_day)

    @checked_query
    def session_metrics(
        self, actor: Actor, start: Day, end: Day, course_id: UUID | None = None
    ) -> Sequence[SessionMetrics]:
        found = self._rows(
            actor,
            "SELECT s.id AS session_id, s.title, s.course_id, s.seats_taken AS enrolled, s.waitlist_length AS waitlisted,"
            " (SELECT count(*) FROM session_enrollments e WHERE e.session_id = s.id AND e.status = 'cancelled') AS cancelled,"
            " s.attended_count AS attended, s.completed_count AS completed, s.failed_count AS failed"
            " FROM training_sessions s"
            f" WHERE s.starts_at >= :from AND s.starts_at < :to AND {session_scope(actor)}"
            " AND (CAST(:course AS uuid) IS NULL OR s.course_id = :course)"
            " ORDER BY s.starts_at, s.id",
            {**scope_params(actor), **_window(start, end), "course": course_id},
        )
        return [
            SessionMetrics(**dict(r), completion_rate=_rate(r["completed"], r["completed"] + r["failed"]))
            for r in found
        ]


def feed_query(
    actor: Actor | None, since: Cursor, limit: int, topics: frozenset[str] | None, horizon_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """One page of the change feed past ``since`` (in ``actor``'s scope and ``topics``; ``None``: all) with the
    context of each change, whether the cursor fell behind retention, and the horizon it was read below."""
    # the page of changes first, with the ids their context needs taken out of the payload; only then the
    # joins, on plain id equality: under row-level security a join condition that runs a non-leakproof
    # function (jsonb access, a cast) cannot reach into the joined table's index, and every change would scan it.
    # Each join is a lookup by id per change of the page (LATERAL, kept apart by OFFSET 0): planned once for
    # every page (a generic plan, its LIMIT unknown), the plain joins became hash joins once the change log
    # was large — every read hashed all profiles, sessions and certificates, 26–31 ms a read of a few changes
    # at scale m after a batch of 20,000 certificates, whatever the page held
    sql = (
        "SELECT c.id, c.txid, c.event, c.payload, c.occurred_at,"
        " s.title AS session_title, s.starts_at AS session_starts_at, l.name AS location_name,"
        " p.display_name AS learner_name, cert.course_name,"
        f" CASE WHEN cert.id IS NULL THEN NULL ELSE {certificate_status('cert')} END AS certificate_status"
        " FROM (SELECT c.id, c.txid::text::bigint AS txid, c.event, c.payload, c.occurred_at,"
        " CASE WHEN c.topic = 'enrollments' THEN CAST(c.payload->'fields'->>'session_id' AS uuid) END AS session_ref,"
        " CASE WHEN c.topic = 'enrollments' THEN CAST(c.payload->'fields'->>'learner_id' AS uuid) END AS learner_ref,"
        " CASE WHEN c.topic = 'certificates' THEN CAST(c.payload->'fields'->>'certificate_id' AS uuid) END"
        " AS certificate_ref"
        f" FROM change_log c WHERE {_past_cursor(actor, topics, 'w.horizon')} ORDER BY c.txid, c.id LIMIT :limit) c"
        " LEFT JOIN LATERAL (SELECT s.title, s.starts_at, s.location_id FROM training_sessions s"
        " WHERE s.id = c.session_ref OFFSET 0) s ON true"
        " LEFT JOIN LATERAL (SELECT l.name FROM locations l WHERE l.id = s.location_id OFFSET 0) l ON true"
        " LEFT JOIN LATERAL (SELECT p.display_name FROM profiles p WHERE p.id = c.learner_ref OFFSET 0) p ON true"
        " LEFT JOIN LATERAL (SELECT cert.id, cert.course_name, cert.revoked_at, cert.superseded_by_id,"
        " cert.expiry_date FROM certificates cert WHERE cert.id = c.certificate_ref OFFSET 0) cert ON true"
    )
    params = {
        **(scope_params(actor) if actor else {}),
        **horizon_params,
        "txid": str(since.txid),
        "id": since.id,
        "limit": limit,
        "topics": sorted(topics or ()),
    }
    # one round trip: whether the cursor fell behind retention, the horizon (looked at once: the changes read
    # are those below it, and a page that is not full has read everything below it), and the changes
    guarded = (
        "WITH w AS MATERIALIZED (SELECT COALESCE((SELECT (CAST(:txid AS text)::xid8, :id) < (txid, id)"
        f" FROM change_log_watermark), false) AS stale, {feed_horizon()} AS horizon)"
        " SELECT w.stale, w.horizon::text::bigint AS below, x.* FROM w"
        f" LEFT JOIN LATERAL ({sql}) x ON NOT w.stale ORDER BY x.txid, x.id"
    )
    return guarded, params


@attrs.frozen
class PostgresChangeFeed:
    """Committed events in (txid, id) order, scoped in SQL.

    Only rows below the feed's horizon are read (``database.feed_horizon``): a
    transaction that commits after a later one is never skipped, and only
    transactions that can still write to the change log hold readers back.
    """

    database: Database
    clock: Clock

    @property
    def _horizon_params(self) -> dict[str, Any]:
        return {"feed_class": FEED_WRITER_CLASS, "feed_key": self.database.feed_key, "today": self.clock.now().date()}

    @checked_query
    def read(
        self, actor: Actor, since: Cursor, limit: Limit = 1000, topics: frozenset[str] | None = None
    ) -> ChangeBatch:
        return self._read(actor, since, limit, topics)

    @checked_query
    def read_all(self, since: Cursor, limit: Limit = 1000) -> ChangeBatch:
        return self._read(None, since, limit, None)

    def head(self) -> Cursor:
        found = fetch(
            self.database, None,
            "SELECT c.txid::text::bigint AS txid, c.id FROM change_log c"
            f" WHERE c.txid < {feed_horizon()} ORDER BY c.txid DESC, c.id DESC LIMIT 1",
            self._horizon_params,
        )  # fmt: skip
        return Cursor(found[0]["txid"], found[0]["id"]) if found else Cursor.origin()

    def changed(self, actors: Collection[Actor]) -> frozenset[UUID]:
        if not actors:
            return frozenset()
        # Who each user is now, as arccm_uid(), arccm_role(), arccm_provider() and arccm_locations() say it for the
        # one user a transaction acts as (migration 0009), for all of them at once; only those whose standing
        # differs come back (usually none).  The actors go as one JSON text (as four arrays, psycopg's array dumping
        # alone took 7 ms for a thousand), each looked up by its key (a hash join scanned every profile).
        people = json.dumps([
            {"id": str(a.user_id), "role": a.role.value, "provider": a.provider_id and str(a.provider_id),
             "locations": _listed(a.location_ids)} for a in actors
        ])  # fmt: skip
        differ = fetch(
            self.database, None,
            "SELECT x.id FROM jsonb_to_recordset(CAST(:people AS jsonb))"
            " AS x(id uuid, role text, provider uuid, locations text)"
            " LEFT JOIN LATERAL (SELECT p.role, p.provider_id, COALESCE((SELECT string_agg(l.location_id::text, ','"
            " ORDER BY l.location_id) FROM provider_locations l WHERE l.provider_id = p.provider_id), '') AS locations"
            " FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id"
            " WHERE p.id = x.id AND p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active')) now ON true"
            " WHERE now.role IS NULL OR now.role <> x.role OR now.provider_id IS DISTINCT FROM x.provider"
            " OR now.locations <> x.locations",
            {"people": people},
        )  # fmt: skip
        return frozenset(row["id"] for row in differ)

    def _read(self, actor: Actor | None, since: Cursor, limit: int, topics: frozenset[str] | None) -> ChangeBatch:
        guarded, params = feed_query(actor, since, limit, topics, self._horizon_params)
        rows_ = fetch(self.database, actor, guarded, params)
        if rows_[0]["stale"]:
            return ChangeBatch([], since, resync_required=True)
        found = [row for row in rows_ if row["id"] is not None]
        changes = [
            Change(
                Cursor(row["txid"], row["id"]),
                decode(
                    row["event"],
                    _payload(row["payload"])["fields"],
                    row["occurred_at"],
                    decode_scope(_payload(row["payload"])["scope"]),
                ),
                _context(row),
            )
            for row in found
        ]
        return ChangeBatch(changes, read_up_to(since, changes, limit, rows_[0]["below"]))

    @checked_query
    def backlog(self, actor: Actor, since: Cursor, topics: frozenset[str] | None = None) -> int:
        params = {
            **scope_params(actor),
            **self._horizon_params,
            "txid": str(since.txid),
            "id": since.id,
            "topics": sorted(topics or ()),
        }
        return int(fetch(self.database, actor, _backlog_sql(actor, topics), params)[0]["count"])


@functools.lru_cache(maxsize=4096)
def _listed(locations: frozenset[UUID]) -> str:
    """Locations as ``changed`` lists them: their text, sorted, comma-separated."""
    return ",".join(sorted(str(location) for location in locations))


def _backlog_sql(actor: Actor, topics: frozenset[str] | None) -> str:
    return f"SELECT count(*) FROM change_log c WHERE {_past_cursor(actor, topics, feed_horizon())}"


def _past_cursor(actor: Actor | None, topics: frozenset[str] | None, horizon: str) -> str:
    """The changes a reader past ``:txid``/``:id`` may be given, below ``horizon``: in ``actor``'s scope (``None``:
    every change) and ``topics`` (``None``: all) — what a page reads and a backlog counts, the same way."""
    topic_filter = "AND c.topic = ANY(:topics)" if topics is not None else ""
    scope = change_scope(actor) if actor else "TRUE"
    return f"(c.txid, c.id) > (CAST(:txid AS text)::xid8, :id) AND c.txid < {horizon} AND {scope} {topic_filter}"


_CONTEXT = ("session_title", "session_starts_at", "location_name", "learner_name", "course_name", "certificate_status")


def _context(row: Any) -> dict[str, str]:
    values = {key: row[key] for key in _CONTEXT if row[key] is not None}
    if "session_starts_at" in values:
        values["session_starts_at"] = values["session_starts_at"].astimezone(UTC).isoformat()
    return {("status" if key == "certificate_status" else key): str(value) for key, value in values.items()}


def _payload(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


ROLLUP_TABLES = (t.t_session_rollups, t.t_dashboard_counts, t.t_certificate_rollups)


def prune_rollups(database: Database) -> dict[str, int]:
    """Delete the rollup rows that count nothing (every sum zero), as the owner, after folding the rows that
    transactions kept of their own (``dashboard_counts``' teams) into one per key; how many rows went, per rollup.

    A key whose rows all moved to other keys — a session's day and status once it ran, a certificate's once it was
    superseded — is kept at zeros by the triggers (migration 0020), which never delete: the readers skip such a
    row, but still read it, and in a busy organization most session keys end so. Each rollup in its own short
    transaction; a row deleted while a writer counts into it again is simply inserted again by that writer's
    upsert, and a row a writer has just made non-zero is left (the delete looks again once the writer commits)."""
    engine = database.owner_engine()
    pruned: dict[str, int] = {}
    try:
        for table in ROLLUP_TABLES:
            sums = [c.name for c in table.c if isinstance(c.type, BigInteger) and c.name != "slot"]
            nothing = " AND ".join(f"{name} = 0" for name in sums)
            for attempt in range(1, 6):  # a deadlock with a writer locking the same rows: the delete goes again
                try:
                    with engine.begin() as connection:
                        connection.execute(text(f'SET LOCAL search_path TO "{database.schema}"'))
                        folded = (
                            connection.execute(text(_fold(table.name, sums))).scalar_one() if "slot" in table.c else 0
                        )
                        deleted = connection.execute(text(f"DELETE FROM {table.name} WHERE {nothing}")).rowcount
                    pruned[table.name] = folded + deleted
                    break
                except OperationalError as error:
                    if getattr(error.orig, "sqlstate", None) != "40P01" or attempt == 5:
                        raise
        return pruned
    finally:
        engine.dispose()


def _fold(name: str, sums: list[str]) -> str:
    """Every row a committed transaction kept in its own slot (migration 0022) added into slot 0 of its key, and
    deleted; how many.  A transaction writes its slot only while it runs, so no writer touches these rows again."""
    key = "kind, location_id, provider_id"
    return f"""
        WITH folded AS (DELETE FROM {name} WHERE slot <> 0 RETURNING *),
             merged AS (
                INSERT INTO {name} AS k ({key}, slot, {", ".join(sums)})
                SELECT {key}, 0, {", ".join(f"sum({s})" for s in sums)} FROM folded GROUP BY {key}
                ORDER BY kind, location_id NULLS FIRST, provider_id NULLS FIRST
                ON CONFLICT ON CONSTRAINT {name}_key DO UPDATE SET {", ".join(f"{s} = k.{s} + EXCLUDED.{s}" for s in sums)})
        SELECT count(*) FROM folded"""  # merged runs though unread, as every data-modifying WITH does


def prune_change_log(database: Database, older_than: datetime) -> int:
    """Delete final change-log rows recorded before ``older_than`` (as the owner) and raise the watermark."""
    engine = database.owner_engine()
    try:
        with engine.begin() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{database.schema}"'))
            count, txid, last_id = connection.execute(
                text(
                    "WITH gone AS (DELETE FROM change_log WHERE recorded_at < :cutoff"
                    " AND txid < pg_snapshot_xmin(pg_current_snapshot()) RETURNING txid, id),"
                    " top AS (SELECT txid, id FROM gone ORDER BY txid DESC, id DESC LIMIT 1)"
                    " SELECT (SELECT count(*) FROM gone), (SELECT txid::text FROM top), (SELECT id FROM top)"
                ),
                {"cutoff": older_than},
            ).one()
            if count:
                connection.execute(
                    text(
                        "INSERT INTO change_log_watermark AS w (txid, id) VALUES (CAST(:txid AS text)::xid8, :id)"
                        " ON CONFLICT (only_row) DO UPDATE SET txid = EXCLUDED.txid, id = EXCLUDED.id, pruned_at = now()"
                        " WHERE (EXCLUDED.txid, EXCLUDED.id) > (w.txid, w.id)"
                    ),
                    {"txid": txid, "id": last_id},
                )
            return int(count)
    finally:
        engine.dispose()
