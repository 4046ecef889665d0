"""`arccm validate` on a fresh deployment passes; each deployment broken on purpose fails its check, saying how to
mend it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from arccm.adapters.postgres.database import Database, normalize_url
from arccm.adapters.postgres.validation import CHECKS, EXPECTED_TRIGGERS, FAIL, PASS, WARN, Validation
from tests.conftest import PgSchema

pytestmark = pytest.mark.needs_postgres


def test_the_expected_triggers_are_those_the_migrations_create(pg_schema: PgSchema) -> None:
    with pg_schema.owner.connect() as connection:
        found = connection.execute(
            text(
                "SELECT t.relname, g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid"
                " WHERE t.relnamespace = CAST(:s AS regnamespace) AND NOT g.tgisinternal"
            ),
            {"s": pg_schema.name},
        )
        assert {(table, name) for table, name in found} == EXPECTED_TRIGGERS


def scratch_schemas(pg_schema: PgSchema) -> set[str]:
    with pg_schema.owner.connect() as connection:
        found = connection.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'arccm\\_validate\\_%'"))
        return set(found.scalars())


def test_a_fresh_deployment_passes_every_check(pg_schema: PgSchema) -> None:
    before = scratch_schemas(pg_schema)
    report = Validation(pg_schema.database).run()
    statuses = {c.name: c.status for c in report.checks}
    assert list(statuses) == list(CHECKS), report
    # the two timed checks may warn on a busy machine (a figure over its threshold); they fail only on a broken plan,
    # an overbooked session or a ratio far under its baseline
    timed = ("query_performance", "benchmarks")
    assert {n: s for n, s in statuses.items() if n not in timed} == dict.fromkeys(CHECKS[:-2], PASS), report
    assert {statuses[n] for n in timed} <= {PASS, WARN}, report
    checks = {c.name: c for c in report.checks}
    assert (checks["transactions"].figures["enrolled"], checks["transactions"].figures["waitlisted"]) == (5, 11)
    realtime = checks["realtime"].figures
    assert realtime["trigger_woke"], realtime
    assert realtime["delivered"], realtime
    assert realtime["other_provider_delivered"], realtime
    assert not realtime["other_provider_saw_it"]
    assert checks["query_performance"].figures["whole_table_scans"] == []
    assert set(checks["query_performance"].figures) >= {"dashboard_ap_ms", "calendar_month_ap_ms", "lookup_ms"}
    assert checks["benchmarks"].figures["overbooked"] is False
    assert set(checks["benchmarks"].figures["ratios"]) == {"enroll", "dashboard", "lookup"}
    assert scratch_schemas(pg_schema) == before  # the scratch schemas are gone
    assert report.grade != FAIL
    schema = checks["schema"]
    assert schema.figures["indexes"] > 50
    assert schema.figures["triggers"] == len(EXPECTED_TRIGGERS)


def test_only_the_checks_asked_for_run(pg_schema: PgSchema) -> None:
    report = Validation(pg_schema.database, only=frozenset({"security", "initialization"})).run()
    assert [(c.name, c.status) for c in report.checks] == [("initialization", PASS), ("security", PASS)]


BROKEN = [
    ("DROP INDEX {s}.certificates_live_expiry_idx", "schema", "CREATE INDEX certificates_live_expiry_idx ON {s}.certificates"),
    ("ALTER TABLE {s}.session_enrollments DISABLE TRIGGER enrollment_counters", "schema",
     "ALTER TABLE {s}.session_enrollments ENABLE TRIGGER enrollment_counters"),
    ("ALTER TABLE {s}.rosters DROP CONSTRAINT batch_progress", "schema", "arccm db downgrade"),
    ("DROP TRIGGER count_insert ON {s}.certificates", "schema", "arccm db downgrade"),
    ("ALTER TABLE {s}.certificates NO FORCE ROW LEVEL SECURITY", "security", "row-level security is off or not forced on certificates"),
    ("REVOKE SELECT ON {s}.certificates FROM arccm_app", "security", "the runtime role cannot read certificates"),
    ("UPDATE {s}.alembic_version SET version_num = '0015'", "initialization", "arccm db upgrade"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("breakage", "check", "advice"), BROKEN, ids=[b[0].split(" {s}")[0] + " " + b[1] for b in BROKEN]
)
def test_a_deployment_broken_on_purpose_fails_its_check(
    pg_schema: PgSchema, breakage: str, check: str, advice: str
) -> None:
    quoted = f'"{pg_schema.name}"'
    with pg_schema.owner.begin() as connection:
        connection.execute(text(breakage.format(s=quoted)))
    report = Validation(pg_schema.database, scratch=False).run()  # the checks that read the deployment
    failed = {c.name: c for c in report.checks if c.status == FAIL}
    assert list(failed) == [check], report
    assert advice.format(s=quoted) in (failed[check].recommendation or ""), failed[check]
    assert report.grade == FAIL


def test_a_well_known_jwt_secret_fails_the_security_check(pg_schema: PgSchema) -> None:
    report = Validation(
        pg_schema.database, jwt_secret="your-super-secret-jwt-token-with-at-least-32-characters-long", scratch=False
    )
    security = next(c for c in report.run().checks if c.name == "security")
    assert security.status == FAIL
    assert "ARCCM_JWT_SECRET" in (security.recommendation or "")


# A runtime role of the test's own: the settings below are the role's, cluster-wide, so no other test's role may
# carry them even for a moment.
SLOW_ROLE = "arccm_validate_test"
ROLE_BREAKAGES = [
    (["enable_indexscan = off", "enable_bitmapscan = off", "enable_indexonlyscan = off"], "query_performance",
     "the planner reads a big table whole"),
    (["BYPASSRLS"], "role_filtering", "a policy admits what it must not"),
    (["jit = on", "jit_above_cost = 0"], "benchmarks", "far under its raw baseline"),
]  # fmt: skip


@pytest.fixture
def own_role(pg_url: str) -> Iterator[Database]:
    """A deployment whose runtime role is its own (created by its migrations like any runtime role)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    owner = create_engine(normalize_url(pg_url), poolclass=NullPool)
    database = Database(normalize_url(pg_url), schema=schema, app_role=SLOW_ROLE)
    try:
        database.upgrade()
        yield database
    finally:
        database.shutdown()
        with owner.begin() as connection:
            connection.execute(text(f'ALTER ROLE "{SLOW_ROLE}" RESET ALL'))
            connection.execute(text(f'ALTER ROLE "{SLOW_ROLE}" NOBYPASSRLS'))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        owner.dispose()


@pytest.mark.parametrize(("settings", "check", "advice"), ROLE_BREAKAGES, ids=[b[1] for b in ROLE_BREAKAGES])
def test_a_runtime_role_broken_on_purpose_fails_its_check(
    own_role: Database, pg_url: str, settings: list[str], check: str, advice: str
) -> None:
    """What the scratch schemas share with the deployment is the server and the runtime role: settings on the role
    that turn off index scans or compile every statement fail the check that measures them, and a role that
    bypasses row-level security fails role filtering (a bare runtime connection reads every row)."""
    owner = create_engine(normalize_url(pg_url), poolclass=NullPool)
    try:
        with owner.begin() as connection:
            if "jit = on" in settings and not connection.execute(text("SELECT pg_jit_available()")).scalar_one():
                pytest.skip("this server has no JIT compiler (llvmjit) to slow the runtime role with")
            for setting in settings:
                change = setting if setting.isupper() else f"SET {setting}"  # an attribute, or a setting
                connection.execute(text(f'ALTER ROLE "{SLOW_ROLE}" {change}'))
    finally:
        owner.dispose()
    report = Validation(own_role, only=frozenset({check})).run()
    assert [(c.name, c.status) for c in report.checks] == [(check, FAIL)], report
    assert advice in (report.checks[0].recommendation or ""), report.checks[0]


def test_listen_through_a_transaction_pooler_fails_the_realtime_check(pg_schema: PgSchema, bouncer: str) -> None:
    """The wake-ups of the change feed do not pass pgbouncer in transaction mode: a deployment that points arccm's
    listener at one fails the realtime check, and is told so."""
    through = Database(normalize_url(bouncer), schema=pg_schema.name, pool_mode="transaction")
    try:
        report = Validation(through, only=frozenset({"realtime"}), scratch=False).run()
    finally:
        through.shutdown()
    assert [(c.name, c.status) for c in report.checks] == [("realtime", FAIL)], report
    assert "transaction-pooling proxy" in (report.checks[0].recommendation or "")


def test_a_schema_never_migrated_fails_initialization_schema_and_security(pg_url: str) -> None:
    """Not a deployment at all: what to run is said three times, and no check passes on an empty schema."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    owner = create_engine(normalize_url(pg_url), poolclass=NullPool)
    with owner.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    database = Database(normalize_url(pg_url), schema=name)
    try:
        report = Validation(database, only=frozenset({"initialization", "schema", "security"})).run()
    finally:
        database.shutdown()
        with owner.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        owner.dispose()
    assert [(c.name, c.status) for c in report.checks] == [
        ("initialization", FAIL), ("schema", FAIL), ("security", FAIL)
    ], report  # fmt: skip
    assert all("arccm db upgrade" in (c.recommendation or "") for c in report.checks), report


def test_a_runtime_role_of_another_name_is_granted_what_arccm_app_would_be(own_role: Database) -> None:
    """Migrations grant to the configured runtime role (migration 0005 once named arccm_app: on a cluster without
    that role a deployment with ARCCM_APP_ROLE set could not migrate)."""
    report = Validation(own_role, only=frozenset({"initialization", "security"}), scratch=False).run()
    assert [c.status for c in report.checks] == [PASS, PASS], report
    with own_role.owner_engine().connect() as connection:
        granted = connection.execute(
            text("SELECT has_table_privilege(:role, CAST(:table AS regclass), 'SELECT')"),
            {"role": SLOW_ROLE, "table": f'"{own_role.schema}".change_log_watermark'},
        )
        assert granted.scalar_one() is True
