"""`arccm validate` on a fresh deployment passes; each deployment broken on purpose fails its check, saying how to
mend it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from arccm.adapters.postgres.validation import EXPECTED_TRIGGERS, FAIL, PASS, Validation
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


def test_a_fresh_deployment_passes_every_check(pg_schema: PgSchema) -> None:
    report = Validation(pg_schema.database).run()
    assert [(c.name, c.status) for c in report.checks] == [
        ("initialization", PASS), ("connection", PASS), ("realtime", PASS), ("schema", PASS), ("security", PASS),
        ("role_filtering", PASS), ("transactions", PASS), ("batch", PASS),
    ], report  # fmt: skip
    transactions = next(c for c in report.checks if c.name == "transactions")
    assert (transactions.figures["enrolled"], transactions.figures["waitlisted"]) == (5, 11)
    with pg_schema.owner.connect() as connection:  # the scratch schema is gone
        left = connection.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'arccm\\_validate\\_%'"))
        assert left.scalar_one() == 0
    assert report.grade == PASS
    schema = next(c for c in report.checks if c.name == "schema")
    assert schema.figures["indexes"] > 50
    assert schema.figures["triggers"] == len(EXPECTED_TRIGGERS)


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
