"""`arccm validate`: checks of a deployment, each with a status, its measured figures and a recommendation.

The replaced system's "validation suite" had ten checks; this module holds those that read the deployment as it is
(nothing is written to the organization's data): initialization, connection health, the realtime listener, the
schema's constraints, indexes and triggers, and security hygiene.  Each check is independent: one failing does not
stop the others, and an error inside a check is that check's failure, said in one line.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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

    def run(self) -> Report:
        checks = (
            ("initialization", self.initialization),
            ("connection", self.connection),
            ("realtime", self.realtime),
            ("schema", self.schema),
            ("security", self.security),
        )
        return Report(tuple(_run(name, check) for name, check in checks))

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
