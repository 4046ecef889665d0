"""`arccm validate`: checks of a deployment, each with a status, its measured figures and a recommendation.

Two kinds of check.  Those that read the deployment as it is: initialization, connection health, the realtime
listener, the schema's constraints, indexes and triggers, and security hygiene.  And those that must write to show a
rule holds — every role reads exactly its scope, concurrent enrolls never overbook, a batch issues each certificate
once: they run the release's own use cases in a scratch schema of the same database (``arccm_validate_<random>``),
migrated for the purpose and dropped at the end whatever happens, so the organization's data is never touched and
nothing is left behind.  Each check is independent: one failing does not stop the others, and an error inside a
check is that check's failure, said in one line.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import psycopg
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from arccm.adapters.postgres.database import Database, masked
from arccm.adapters.postgres.roles import actor_roles
from arccm.adapters.postgres.tables import metadata

PASS, WARN, FAIL = "pass", "warn", "fail"

LATENCY_WARN_MS = 50.0
DEFAULT_SECRETS = frozenset(
    {"secret", "changeme", "change-me", "password", "your-super-secret-jwt-token-with-at-least-32-characters-long"}
)


@attrs.frozen
class CheckResult:
    name: str
    status: str
    figures: dict[str, Any]
    recommendation: str | None = None


@attrs.frozen
class Report:
    checks: tuple[CheckResult, ...]

    @property
    def grade(self) -> str:
        statuses = {c.status for c in self.checks}
        return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS

    @property
    def passed(self) -> int:
        return sum(c.status != FAIL for c in self.checks)


def _run(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as error:  # a check that cannot run has failed; say why in one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return CheckResult(name, FAIL, {"error": f"{type(error).__name__}: {first[:200]}"}, "see the error")


@attrs.frozen
class Validation:
    database: Database
    jwt_secret: str | None = None
    scratch: bool = True  # False: only the checks that read the deployment (nothing is created, not even a schema)

    def run(self) -> Report:
        checks = (
            ("initialization", self.initialization),
            ("connection", self.connection),
            ("realtime", self.realtime),
            ("schema", self.schema),
            ("security", self.security),
        )
        read = [_run(name, check) for name, check in checks]
        if not self.scratch:
            return Report(tuple(read))
        with Scratch.made(self.database) as scratch:
            written = [
                _run("role_filtering", scratch.role_filtering),
                _run("transactions", scratch.transactions),
                _run("batch", scratch.batch),
            ]
        return Report((*read, *written))

    def _owner(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        engine = self.database.owner_engine()
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), params or {}).mappings())
        finally:
            engine.dispose()

    # 1 ---------------------------------------------------------------------------------------------------------
    def initialization(self) -> CheckResult:
        db = self.database
        current, head = db.current(), db.head()
        wanted = [db.app_role, *actor_roles(db.app_role)]
        found = {
            r["rolname"] for r in self._owner("SELECT rolname FROM pg_roles WHERE rolname = ANY(:r)", {"r": wanted})
        }
        missing = [r for r in wanted if r not in found]
        figures = {"database": masked(db.owner_url), "schema": db.schema, "current": current, "head": head,
                   "missing_roles": missing}  # fmt: skip
        if current != head or missing:
            return CheckResult("initialization", FAIL, figures, "run `arccm db upgrade` (as the database owner)")
        return CheckResult("initialization", PASS, figures)

    # 2 ---------------------------------------------------------------------------------------------------------
    def connection(self) -> CheckResult:
        timings = []
        for _ in range(7):
            started = time.perf_counter()
            with self.database.transaction(None) as connection:
                connection.execute(text("SELECT 1")).scalar_one()
            timings.append((time.perf_counter() - started) * 1000)
        pool = self.database.pool_stats()
        figures = {"latency_ms_p50": round(statistics.median(timings), 2), "latency_ms_max": round(max(timings), 2),
                   "pool": pool}  # fmt: skip
        if statistics.median(timings) > LATENCY_WARN_MS or pool["waiting"]:
            advice = (
                f"a transaction's round trip should take under {LATENCY_WARN_MS:.0f} ms: place arccm near its database"
            )
            return CheckResult("connection", WARN, figures, advice)
        return CheckResult("connection", PASS, figures)

    # 7 ---------------------------------------------------------------------------------------------------------
    def realtime(self) -> CheckResult:
        """The change feed's wake-up: a notification on the feed's channel, sent from one connection, arrives at a
        listening one (what every subscription waits on)."""
        from arccm.adapters.realtime.postgres import CHANNEL

        url = self.database.owner_url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as listener, psycopg.connect(url, autocommit=True) as sender:
            listener.execute(f"LISTEN {CHANNEL}")
            started = time.perf_counter()
            sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"validate {self.database.schema}"))
            arrived = next(listener.notifies(timeout=5.0, stop_after=1), None)
        figures = {"channel": CHANNEL, "round_trip_ms": round((time.perf_counter() - started) * 1000, 2)}
        if arrived is None:
            return CheckResult("realtime", FAIL, figures, "LISTEN/NOTIFY did not round-trip: a transaction-pooling"
                               " proxy drops LISTEN; point the listener at the server directly (docs/realtime.md)")  # fmt: skip
        return CheckResult("realtime", PASS, figures)

    # 8 ---------------------------------------------------------------------------------------------------------
    def schema(self) -> CheckResult:
        """Every index, constraint and trigger the invariants need: present, valid and enabled."""
        found = [self._indexes(), self._constraints(), self._triggers()]
        problems = [p for part in found for p in part[0]]
        repairs = [r for part in found for r in part[1]]
        figures = {"indexes": found[0][2], "constraints": found[1][2], "triggers": found[2][2], "problems": problems}
        if not problems:
            return CheckResult("schema", PASS, figures)
        advice = "; ".join(repairs[:5])
        if len(repairs) < len(problems):  # something missing that only a migration makes
            advice += (
                ("; " if advice else "") + "restore what is missing from its migration (`arccm db downgrade`"
                " to the revision before it, then `arccm db upgrade`)"
            )
        return CheckResult("schema", FAIL, figures, advice)

    def _indexes(self) -> tuple[list[str], list[str], int]:
        found = {r["name"]: r["valid"] for r in self._owner(
            "SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relnamespace = CAST(:s AS regnamespace)", {"s": self.database.schema})}  # fmt: skip
        problems, repairs = [], []
        for index in (i for table in metadata.tables.values() for i in table.indexes):
            if index.name not in found:
                problems.append(f"index {index.name} missing")
                ddl = CreateIndex(index).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
                repairs.append(str(ddl).strip().replace(" ON ", f' ON "{self.database.schema}".', 1))
            elif not found[index.name]:
                problems.append(f"index {index.name} invalid")
                repairs.append(f'REINDEX INDEX "{self.database.schema}".{index.name}')
        return problems, repairs, len(found)

    def _constraints(self) -> tuple[list[str], list[str], int]:
        schema = self.database.schema
        found = {(r["tbl"], r["name"]): r["validated"] for r in self._owner(
            "SELECT t.relname AS tbl, c.conname AS name, c.convalidated AS validated FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid WHERE t.relnamespace = CAST(:s AS regnamespace)", {"s": schema})}  # fmt: skip
        problems, repairs = [], []
        for table in metadata.tables.values():
            for name in (str(c.name) for c in table.constraints if c.name is not None):
                if (table.name, name) not in found:
                    problems.append(f"constraint {name} on {table.name} missing")
                elif not found[(table.name, name)]:
                    problems.append(f"constraint {name} on {table.name} not validated")
                    repairs.append(f'ALTER TABLE "{schema}".{table.name} VALIDATE CONSTRAINT {name}')
        return problems, repairs, len(found)

    def _triggers(self) -> tuple[list[str], list[str], int]:
        schema = self.database.schema
        found = {(r["tbl"], r["name"]): r["enabled"] for r in self._owner(
            "SELECT t.relname AS tbl, g.tgname AS name, g.tgenabled <> 'D' AS enabled FROM pg_trigger g"
            " JOIN pg_class t ON t.oid = g.tgrelid WHERE t.relnamespace = CAST(:s AS regnamespace)"
            " AND NOT g.tgisinternal", {"s": schema})}  # fmt: skip
        problems, repairs = [], []
        for table, name in sorted(expected_triggers()):
            if (table, name) not in found:
                problems.append(f"trigger {name} on {table} missing")
            elif not found[(table, name)]:
                problems.append(f"trigger {name} on {table} disabled")
                repairs.append(f'ALTER TABLE "{schema}".{table} ENABLE TRIGGER {name}')
        return problems, repairs, len(found)

    # 9 ---------------------------------------------------------------------------------------------------------
    def security(self) -> CheckResult:
        db = self.database
        tables = self._owner(
            "SELECT relname, relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class"
            " WHERE relnamespace = CAST(:s AS regnamespace) AND relkind = 'r' AND relname <> 'alembic_version'",
            {"s": db.schema},
        )
        unforced = sorted(t["relname"] for t in tables if not (t["enabled"] and t["forced"]))
        roles = self._owner(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(:r)",
            {"r": [db.app_role, *actor_roles(db.app_role)]},
        )
        privileged = sorted(r["rolname"] for r in roles if r["rolsuper"] or r["rolbypassrls"])
        ungranted = [r["relname"] for r in self._owner(
            "SELECT relname FROM pg_class WHERE relnamespace = CAST(:s AS regnamespace) AND relkind = 'r'"
            " AND relname NOT IN ('alembic_version', 'audit_log', 'change_log_watermark')"
            " AND NOT has_any_column_privilege(:role, oid, 'SELECT')",  # a table, or some of its columns (contact excepted)
            {"s": db.schema, "role": db.app_role})]  # fmt: skip
        weak_secret = self.jwt_secret is not None and self.jwt_secret.strip().lower() in DEFAULT_SECRETS
        figures = {"tables": len(tables), "rls_not_forced": unforced, "privileged_roles": privileged,
                   "tables_not_granted": ungranted, "default_jwt_secret": weak_secret}  # fmt: skip
        advice = []
        if unforced:
            advice.append(
                f"row-level security is off or not forced on {', '.join(unforced[:5])}: run `arccm db upgrade`"
            )
        if privileged:
            advice.append(f"ALTER ROLE {privileged[0]} NOSUPERUSER NOBYPASSRLS (policies do not bind it)")
        if ungranted:
            advice.append(
                f"the runtime role cannot read {', '.join(ungranted[:5])}: run `arccm db upgrade` (it grants)"
            )
        if weak_secret:
            advice.append("ARCCM_JWT_SECRET is a well-known default: set a random secret of 32+ characters")
        return CheckResult("security", FAIL if advice else PASS, figures, "; ".join(advice) or None)


# the triggers that hold the invariants, as the migrations create them (test_validation holds this list to a freshly
# migrated schema): the audit trail on every audited table, seat and roster counters, certificate counts, the change
# feed's wake-up, a notice's address, and the refusals (an append-only audit log, certificates never deleted)
AUDITED = (
    "authorized_providers", "availability_bookings", "certificate_templates", "certificates", "compliance_metrics",
    "compliance_templates", "course_enrollments", "course_schedules", "course_templates", "email_batch_operations",
    "instructor_profiles", "location_email_templates", "location_templates", "locations", "notifications",
    "profiles", "provider_locations", "rosters", "session_enrollments", "student_enrollment_profiles",
    "student_roster_members", "student_rosters", "team_members", "teams", "training_sessions",
    "user_compliance_records",
)  # fmt: skip
INVARIANT_TRIGGERS = frozenset({
    ("audit_log", "audit_log_append_only"), ("certificates", "certificates_never_deleted"),
    ("certificates", "count_delete"), ("certificates", "count_insert"), ("certificates", "count_truncate"),
    ("certificates", "count_update"), ("change_log", "change_log_notify"), ("notifications", "notice_address"),
    ("session_enrollments", "enrollment_counters"), ("student_roster_members", "roster_counter"),
})  # fmt: skip
EXPECTED_TRIGGERS = INVARIANT_TRIGGERS | {
    (table, f"audit_{operation}") for table in AUDITED for operation in ("insert", "update", "delete", "truncate")
}


def expected_triggers() -> frozenset[tuple[str, str]]:
    """(table, trigger) of every trigger the migrations create."""
    return EXPECTED_TRIGGERS


# --- checks that write, in a scratch schema ---------------------------------------------------------------------

SEATS, ENROLLERS = 5, 16


@attrs.define
class Scratch:
    """A scratch schema of the deployment's database with a small organization of every role, dropped on exit."""

    container: Any
    actors: dict[str, Any]
    sessions: dict[str, Any]

    @staticmethod
    @contextmanager
    def made(database: Database) -> Iterator[Scratch]:
        from arccm.adapters.container import on_postgres

        name = f"arccm_validate_{uuid.uuid4().hex[:10]}"
        url = database.owner_url.render_as_string(hide_password=False)
        container = on_postgres(url, schema=name, app_role=database.app_role, app_password=database.app_password)
        try:
            container.lifecycle().init()
            yield Scratch(container, *_organization(container))
        finally:
            container.lifecycle().shutdown()
            engine = database.owner_engine()
            try:
                with engine.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            finally:
                engine.dispose()

    # 3 ---------------------------------------------------------------------------------------------------------
    def role_filtering(self) -> CheckResult:
        """Each role reads exactly its scope (sessions and enrollments), and a connection without an actor reads
        nothing at all (row-level security fails closed)."""
        reads = self.container.read_models()
        north, south, crowded = (self.sessions[k].id for k in ("north", "south", "crowded"))
        expected = {"SA": {north, south, crowded}, "AP": {north, crowded}, "IC": {north, crowded}, "IN": {north},
                    "other_AP": {south}, "other_IC": {south}}  # fmt: skip
        seen = {who: {s.id for s in reads.sessions(self.actors[who])} for who in expected}
        learner = self.actors["IN"]
        own = {e.learner_id for e in reads.enrollments(learner)}
        database = self.container.database()
        with database.engine.connect() as connection:  # the runtime role, no actor: fail closed
            connection.execute(text(f'SET search_path TO "{database.schema}"'))
            anonymous = connection.execute(text("SELECT count(*) FROM training_sessions")).scalar_one()
            connection.rollback()
        wrong = sorted(who for who in expected if seen[who] != expected[who])
        figures = {"roles": len(expected), "wrong_scope": wrong, "learner_reads_others": own != {learner.user_id},
                   "rows_without_actor": anonymous}  # fmt: skip
        if wrong or own != {learner.user_id} or anonymous:
            return CheckResult("role_filtering", FAIL, figures, "a policy admits what it must not: compare the"
                               " schema's policies with this release (`arccm db upgrade`), and report it")  # fmt: skip
        return CheckResult("role_filtering", PASS, figures)

    # 5 ---------------------------------------------------------------------------------------------------------
    def transactions(self) -> CheckResult:
        """Sixteen enrolls at once into a session of five seats (and a waitlist): exactly five seats taken, the rest
        waitlisted in order, the counters equal to a recount."""
        from arccm.application import commands

        session = self.sessions["crowded"]
        learners = [_person(self.container, "IN", f"Learner {i}", self.actors["provider"]) for i in range(ENROLLERS)]
        start = threading.Barrier(ENROLLERS)
        outcomes: list[Any] = []

        def enroll(learner: Any) -> None:
            start.wait()
            outcomes.append(
                self.container.enroll_learner()(self.actors["AP"], commands.EnrollLearner(session.id, learner.user_id))
            )

        threads = [threading.Thread(target=enroll, args=(learner,)) for learner in learners]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        detail = self.container.read_models()
        taken = next(s for s in detail.sessions(self.actors["SA"]) if s.id == session.id)
        enrolled = [e for e in detail.enrollments(self.actors["SA"]) if e.session_id == session.id]
        active = sum(e.status == "enrolled" for e in enrolled)
        waiting = sorted(e.waitlist_position for e in enrolled if e.status == "waitlisted")
        figures = {"enrollers": ENROLLERS, "seats": SEATS, "enrolled": active, "seats_taken": taken.seats_taken,
                   "waitlisted": len(waiting), "seconds": round(elapsed, 3),
                   "failures": sum(1 for o in outcomes if not _ok(o))}  # fmt: skip
        good = active == taken.seats_taken == SEATS and waiting == list(range(1, ENROLLERS - SEATS + 1))
        if not good or figures["failures"]:
            return CheckResult("transactions", FAIL, figures, "concurrent enrolls broke the seat count: check the"
                               " seat trigger and the isolation level (`arccm validate` schema check), and report it")  # fmt: skip
        return CheckResult("transactions", PASS, figures)

    # 6 ---------------------------------------------------------------------------------------------------------
    def batch(self) -> CheckResult:
        """A class run and certified by a batch, twice: each learner's certificate issued once, each verifies."""
        from arccm.application import commands
        from arccm.domain.certificate import CompletionKind
        from arccm.domain.enrollment import Attendance

        sa, session = self.actors["SA"], self.sessions["north"]
        container = self.container
        ok = container.start_session()(sa, commands.StartSession(session.id))
        enrolled = [e for e in container.read_models().enrollments(sa) if e.session_id == session.id]
        for e in enrolled:
            ok = ok.bind(
                lambda _, e=e: container.record_attendance()(
                    sa, commands.RecordAttendance(session.id, e.id, Attendance.ATTENDED)
                )
            )
            ok = ok.bind(
                lambda _, e=e: container.record_assessment()(
                    sa, commands.RecordAssessment(session.id, e.id, Decimal(90), Decimal(90))
                )
            )
            ok = ok.bind(
                lambda _, e=e: container.complete_enrollment()(sa, commands.CompleteEnrollment(session.id, e.id))
            )
        command = commands.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session.id, chunk_size=1)
        started = time.perf_counter()
        first = ok.bind(lambda _: container.batch_issue_certificates()(sa, command))
        again = first.bind(lambda _: container.batch_issue_certificates()(sa, command))
        elapsed = time.perf_counter() - started
        if not (_ok(first) and _ok(again)):
            failure = first if not _ok(first) else again
            return CheckResult("batch", FAIL, {"error": str(failure.failure())}, "see the error, and report it")
        issued = container.read_models().certificates(sa, datetime.now(UTC).date())
        verified = [container.verify_certificate()(commands.VerifyCertificate(c.code)) for c in issued]
        figures = {"learners": len(enrolled), "issued": first.unwrap().issued, "again_issued": again.unwrap().issued,
                   "already_issued": again.unwrap().already_issued, "certificates": len(issued),
                   "verified_active": sum(1 for v in verified if _ok(v) and v.unwrap().certificate.status == "active"),
                   "seconds": round(elapsed, 3)}  # fmt: skip
        good = figures["issued"] == figures["already_issued"] == figures["certificates"] == len(enrolled) > 0
        if not good or figures["again_issued"] or figures["verified_active"] != len(enrolled):
            return CheckResult("batch", FAIL, figures, "a batch issued a certificate twice or not at all: report it")
        return CheckResult("batch", PASS, figures)


def _ok(outcome: Any) -> bool:
    from returns.result import Success

    return isinstance(outcome, Success)


def _person(container: Any, role: str, name: str, provider: Any) -> Any:
    from arccm.domain.access import Role
    from arccm.domain.compliance import ComplianceStanding, ComplianceStatus, Tier
    from arccm.domain.people import InstructorProfile, UserProfile, actor_for

    good = ComplianceStanding(100, Tier.ROBUST, ComplianceStatus.COMPLIANT)
    profile = UserProfile(uuid.uuid4(), name, Role(role), provider_id=provider.id if provider else None,
                          compliance=good)  # fmt: skip
    items: list[Any] = [profile]
    if role in ("IC", "IP", "IT", "IN"):
        items.append(
            InstructorProfile(profile.id, frozenset({"cpr"}), 50, datetime.now(UTC).date() + timedelta(days=365))
        )
    container.bootstrap().load(*items)
    return actor_for(profile, provider)


def _organization(container: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two providers, each with a location and an AP; an instructor, a learner; three sessions."""
    from arccm.application import commands
    from arccm.domain.course import Course
    from arccm.domain.people import AuthorizedProvider, Location

    north, south = Location(uuid.uuid4(), "Validate North", "UTC"), Location(uuid.uuid4(), "Validate South", "UTC")
    first = AuthorizedProvider(uuid.uuid4(), "Validate Provider", frozenset({north.id}))
    second = AuthorizedProvider(uuid.uuid4(), "Validate Other", frozenset({south.id}))
    course = Course(uuid.uuid4(), "Validate CPR", "VAL-CPR", 24, frozenset({"cpr"}))
    container.bootstrap().load(north, south, first, second, course)
    actors = {
        "provider": first,
        "SA": _person(container, "SA", "Validate Admin", None),
        "AP": _person(container, "AP", "Validate Coordinator", first),
        "other_AP": _person(container, "AP", "Validate Other Coordinator", second),
        "IC": _person(container, "IC", "Validate Instructor", first),
        "other_IC": _person(container, "IC", "Validate Other Instructor", second),
        "IN": _person(container, "IN", "Validate Learner", first),
    }
    begins = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    schedule = container.schedule_session()

    def session(by: str, lead: str, place: Any, hours: int, seats: int) -> Any:
        starts = begins + timedelta(hours=hours)
        command = commands.ScheduleSession(course.id, place.id, actors[lead].user_id, "Validate session", starts,
                                           starts + timedelta(hours=2), seats)  # fmt: skip
        return schedule(actors[by], command).unwrap()

    sessions = {
        "north": session("AP", "IC", north, 0, 10),
        "south": session("other_AP", "other_IC", south, 0, 10),
        "crowded": session("AP", "IC", north, 4, SEATS),
    }
    enrolled = container.enroll_learner()(
        actors["AP"], commands.EnrollLearner(sessions["north"].id, actors["IN"].user_id)
    )
    enrolled.unwrap()
    return actors, sessions
