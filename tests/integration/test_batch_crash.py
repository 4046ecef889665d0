"""An 8,000-certificate batch killed with SIGKILL mid-way, then resumed: exactly 8,000, all codes distinct."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import PgSchema

pytestmark = pytest.mark.needs_postgres
LEARNERS = 8_000  # eight chunks: the kill lands mid-batch with committed chunks on both sides
ARCCM = str(Path(sys.executable).parent / "arccm")

SEED = """
INSERT INTO locations (id, name) VALUES (:location, 'Crash Hall');
INSERT INTO authorized_providers (id, name) VALUES (:provider, 'Crash Provider');
INSERT INTO provider_locations (provider_id, location_id) VALUES (:provider, :location);
INSERT INTO course_templates (id, name, code, validity_months, practical_weight, written_weight, pass_threshold)
    VALUES (:course, 'Standard First Aid', 'SFA', 36, 0.5, 0.5, 75);
INSERT INTO profiles (id, display_name, role) VALUES (:admin, 'Ada Admin', 'SA'), (:instructor, 'Ian Instructor', 'IC');
INSERT INTO instructor_profiles (id, max_students_per_session) VALUES (:instructor, 30);
INSERT INTO student_rosters (id, roster_name, course_id, location_id, provider_id, instructor_id, max_capacity)
    VALUES (:roster, 'Big class', :course, :location, :provider, :instructor, :n);
INSERT INTO student_enrollment_profiles (id, first_name, last_name, email)
    SELECT gen_random_uuid(), 'Learner', 'No ' || i, 'learner' || i || '@example.org' FROM generate_series(1, :n) AS i;
INSERT INTO student_roster_members (id, roster_id, student_profile_id, enrolled_at, attendance_status,
    practical_score, written_score, completion_status, completion_date)
    SELECT gen_random_uuid(), :roster, id, now(), 'attended', 90, 90, 'completed', now()
    FROM student_enrollment_profiles;
"""


def owner_sql(pg_schema: PgSchema, sql: str, params: dict[str, object]) -> list[tuple[object, ...]]:
    with pg_schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{pg_schema.name}"'))
        result = connection.execute(text(sql), params)
        return [tuple(row) for row in result] if result.returns_rows else []


def test_sigkill_mid_batch_then_resume(pg_schema: PgSchema) -> None:
    keys = {k: uuid.uuid4() for k in ("location", "provider", "course", "admin", "instructor", "roster")}
    for statement in SEED.strip().split(";\n"):
        owner_sql(pg_schema, statement, {**keys, "n": LEARNERS})
    env = {**os.environ, "ARCCM_DATABASE_URL": pg_schema.url, "ARCCM_DB_SCHEMA": pg_schema.name}
    batch = [
        ARCCM,
        "certificates",
        "batch",
        "--as",
        str(keys["admin"]),
        "--roster",
        str(keys["roster"]),
        "--chunk",
        "1000",
    ]

    worker = subprocess.Popen(batch, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert worker.stdout is not None
    first = worker.stdout.readline()  # the batch's id comes first: what an operator needs to resume it
    assert first.startswith("batch ")
    printed_id = first.split()[1]
    for line in worker.stdout:  # wait, by the worker's own word, until 3 chunks are committed
        if line.startswith("progress 3000/"):
            break
    worker.send_signal(signal.SIGKILL)  # it is already working on the next chunk
    worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL

    (partial,) = owner_sql(pg_schema, "SELECT count(*) FROM certificates", {})
    assert 3000 <= int(partial[0]) < LEARNERS  # type: ignore[call-overload]
    assert int(partial[0]) % 1000 == 0  # type: ignore[call-overload]  # a killed chunk leaves nothing behind
    ((batch_id, status),) = owner_sql(pg_schema, "SELECT id, status FROM rosters", {})
    assert status == "running"
    assert str(batch_id) == printed_id

    resumed = subprocess.run(
        [ARCCM, "certificates", "resume", printed_id, "--as", str(keys["admin"])],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr

    ((total, codes, completions, live_batches),) = owner_sql(
        pg_schema,
        "SELECT count(*), count(DISTINCT verification_code), count(DISTINCT completion_id),"
        " (SELECT count(*) FROM rosters WHERE status = 'running') FROM certificates",
        {},
    )
    assert (total, codes, completions, live_batches) == (LEARNERS, LEARNERS, LEARNERS, 0)
    ((count, done),) = owner_sql(pg_schema, "SELECT certificate_count, done FROM rosters", {})
    assert (count, done) == (LEARNERS, LEARNERS)
    ((notified,),) = owner_sql(pg_schema, "SELECT count(DISTINCT dedupe_key) FROM notifications", {})
    assert notified == LEARNERS  # one issue notice each, none twice
