"""At scale s, the instructor's and the learner's dashboards and the verification lookup use indexes:
no sequential scan on sessions, enrollments or certificates."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from arccm.adapters.postgres.read_models import dashboard_query, lookup_query
from arccm.adapters.postgres.seed import seed
from arccm.domain.access import Actor, Role
from arccm.domain.verification_code import VerificationCode
from tests.conftest import PgSchema

pytestmark = pytest.mark.needs_postgres
COUNTERS_DISAGREE = """
    SELECT count(*) FROM training_sessions s CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE e.status = 'enrolled') AS seats,
               count(*) FILTER (WHERE e.status = 'waitlisted') AS waiting,
               count(*) FILTER (WHERE e.status <> 'cancelled') AS active,
               count(*) FILTER (WHERE e.status = 'enrolled' AND e.attendance_status = 'attended') AS attended,
               count(*) FILTER (WHERE e.status = 'enrolled' AND e.completion_status = 'completed') AS completed,
               count(*) FILTER (WHERE e.status = 'enrolled' AND e.completion_status = 'failed') AS failed
        FROM session_enrollments e WHERE e.session_id = s.id) c
    WHERE (s.seats_taken, s.waitlist_length, s.active_enrollments, s.attended_count, s.completed_count, s.failed_count)
       <> (c.seats, c.waiting, c.active, c.attended, c.completed, c.failed)
"""
BIG_TABLES = re.compile(r"Seq Scan on (training_sessions|session_enrollments|certificates)\b")
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def seeded(pg_url: str) -> Any:
    schema = PgSchema(pg_url)
    seed(schema.owner, schema.name, "s", 1, TODAY)
    yield schema
    schema.drop()


def plan(schema: PgSchema, sql: str, params: dict[str, Any]) -> list[str]:
    with schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{schema.name}"'))
        return list(connection.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql), params).scalars())


def one(schema: PgSchema, sql: str) -> Any:
    with schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{schema.name}"'))
        return connection.execute(text(sql)).scalar_one()


@pytest.mark.parametrize(
    ("role", "busiest"),
    [
        (Role.IC, "SELECT lead_instructor_id FROM training_sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"),
        (Role.IT, "SELECT learner_id FROM session_enrollments GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"),
    ],
)
def test_small_scopes_use_index_scans(seeded: PgSchema, role: Role, busiest: str) -> None:
    actor = Actor(one(seeded, busiest), role)
    lines = plan(seeded, *dashboard_query(actor, TODAY))
    assert not [line for line in lines if BIG_TABLES.search(line)], "\n".join(lines)
    assert any("Index" in line for line in lines)


def test_verification_lookup_uses_the_code_index(seeded: PgSchema) -> None:
    code = VerificationCode(one(seeded, "SELECT verification_code FROM certificates ORDER BY id LIMIT 1"))
    lines = plan(seeded, *lookup_query(code, TODAY, seeded.name))
    assert not [line for line in lines if BIG_TABLES.search(line)], "\n".join(lines)
    assert any("certificates_verification_code_key" in line for line in lines), "\n".join(lines)


def test_the_seed_is_deterministic_and_consistent(seeded: PgSchema) -> None:
    from arccm.adapters.postgres.seed import SCALES, generate

    first, second = generate(SCALES["demo"], 5, TODAY), generate(SCALES["demo"], 5, TODAY)
    assert first == second
    assert generate(SCALES["demo"], 6, TODAY) != first
    assert one(seeded, COUNTERS_DISAGREE) == 0
    assert one(seeded, "SELECT count(*) FROM certificates") == SCALES["s"].certificates
