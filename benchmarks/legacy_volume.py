"""``import_legacy``: the importer at volume against ``COPY`` of the same target rows (issue 14).

A database shaped like the replaced system's (tests/legacy/legacy_schema.sql) is filled by ``COPY`` with a
generated organization — 100,000 certificates and 200,000 session enrollments at full size, a tenth with
``--quick`` — in the formats the replaced code wrote (ISO and ``Month d, yyyy`` dates, UTC timestamps, mixed-case
statuses, 8- and 10-character codes), and imported into a fresh schema.  Ours: target rows written per second by
the whole ``arccm import legacy`` run (reading the source in one snapshot, planning every row, writing in chunks
with their records, the quarantine and the content check).  Baseline: ``COPY`` of exactly the rows the import
wrote, table by table into another fresh schema, as the owner, with the same triggers (audit trail, counters).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from arccm.adapters.legacy.plan import STEPS, Mapping_
from arccm.adapters.legacy.run import run_import
from arccm.adapters.postgres.database import Database, normalize_url
from arccm.adapters.system import SecureCodes
from arccm.domain.certificate import add_months

SCHEMA_SQL = Path(__file__).resolve().parents[1] / "tests" / "legacy" / "legacy_schema.sql"
PROVINCES = [("Toronto", "ON"), ("Ottawa", "ON"), ("Montréal", "QC"), ("Québec", "QC"), ("Calgary", "AB"),
             ("Edmonton", "AB"), ("Vancouver", "BC"), ("Victoria", "BC"), ("Halifax", "NS"), ("Winnipeg", "MB")]  # fmt: skip
COURSES = [("Standard First Aid & CPR C", "SFA-C", 36), ("Emergency First Aid & CPR A", "EFA-A", 36),
           ("CPR C & AED", "CPR-C", 12), ("Basic Life Support", "BLS", 12), ("Instructor Trainer", "IT-1", 24)]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip


COUNTERS = {"seats_taken", "waitlist_length", "active_enrollments", "attended_count", "completed_count", "failed_count"}


def legacy_schema_sql(connection: psycopg.Connection[Any]) -> str:
    """The replaced system's schema as pg_dump wrote it, without psql's meta-commands; where the server lacks the
    contrib extensions it creates (an embedded server), without them — nothing in it uses them (``gen_random_uuid``
    is PostgreSQL's own since 13)."""
    available = {r[0] for r in connection.execute("SELECT name FROM pg_available_extensions").fetchall()}
    kept = []
    for line in SCHEMA_SQL.read_text().splitlines():
        if line.startswith("\\"):
            continue
        if (
            not {"pgcrypto", "uuid-ossp"} <= available
            and "EXTENSION" in line
            and ("pgcrypto" in line or "uuid-ossp" in line)
        ):
            continue
        kept.append(line)
    return "\n".join(kept)


def _dsn(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


def _copy(connection: psycopg.Connection[Any], table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate(  # noqa: PLR0915 - one organization, table by table
    url: str, name: str, certificates: int, enrollments: int, seed: int = 1
) -> dict[str, int]:
    """Create database ``name`` with the replaced system's schema and a generated organization of this size."""
    r = random.Random(seed)

    def uid() -> uuid.UUID:
        return uuid.UUID(int=r.getrandbits(128), version=4)

    with psycopg.connect(_dsn(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    now = datetime(2025, 7, 20, 15, tzinfo=UTC)
    with psycopg.connect(_dsn(url, name), autocommit=True) as connection:
        for role in ("anon", "authenticated", "service_role"):
            connection.execute(
                f"DO $$BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$"  # type: ignore[arg-type]
            )
        connection.execute(legacy_schema_sql(connection))  # type: ignore[call-overload]
        connection.execute("SET session_replication_role = replica")
        locations = [(uid(), f"{city} Training Centre", city, prov) for city, prov in PROVINCES]
        _copy(connection, "public.locations", ["id", "name", "city", "state", "country", "status", "created_at", "updated_at"],
              [(i, n, c, p, "Canada", r.choice(["ACTIVE", "active"]), now, now) for i, n, c, p in locations])  # fmt: skip
        providers = [(uid(), f"Provider {k} Safety Inc.") for k in range(len(locations) // 2)]
        _copy(connection, "public.authorized_providers", ["id", "name", "status", "created_at"],
              [(i, n, "active", now) for i, n in providers])  # fmt: skip
        _copy(connection, "public.provider_location_assignments",
              ["id", "provider_id", "location_id", "assignment_role", "status", "start_date"],
              [(uid(), providers[k // 2][0], loc[0], "primary", "active", "2024-01-01") for k, loc in enumerate(locations)])  # fmt: skip
        _copy(connection, "public.courses", ["id", "name", "status", "expiration_months", "length", "created_at", "updated_at"],
              [(uid(), n, "ACTIVE", m, 8, now, now) for n, _, m in COURSES])  # fmt: skip
        _copy(connection, "public.course_templates", ["id", "name", "code", "duration_hours", "max_students", "is_active"],
              [(uid(), n, c, 8, 12, True) for n, c, _ in COURSES])  # fmt: skip
        staff = []
        for k in range(max(50, certificates // 250)):
            role = "SA" if k == 0 else "AD" if k < 3 else "AP" if k < 3 + len(providers) else r.choice(["IC", "IP"])
            staff.append((uid(), role, f"Staff {k}", f"staff{k}@example.org", locations[k % len(locations)][0]))
        _copy(connection, "auth.users", ["id", "email", "created_at"], [(s[0], s[3], now) for s in staff])
        _copy(connection, "public.profiles", ["id", "role", "display_name", "email", "status", "location_id", "created_at", "updated_at"],
              [(i, role, n, e, "ACTIVE", loc, now, now) for i, role, n, e, loc in staff])  # fmt: skip
        teachers = [s for s in staff if s[1] in ("IC", "IP")]
        instructors = [(uid(), t[3], t[2], t[4]) for t in teachers]
        _copy(connection, "public.instructor_profiles", ["id", "email", "display_name", "is_active", "max_students_per_session", "location_id"],
              [(i, e, n, True, 12, loc) for i, e, n, loc in instructors])  # fmt: skip
        learners = [(uid(), f"learner{k}@mail.example", f"Learner {k}") for k in range(max(1_000, enrollments // 4))]
        _copy(connection, "public.student_enrollment_profiles", ["id", "email", "display_name", "first_name", "last_name", "is_active"],
              [(i, e, n, "Learner", n.split()[1], True) for i, e, n in learners])  # fmt: skip
        sessions, rows = [], []
        statuses = ["COMPLETED", "completed", "SCHEDULED", "scheduled", "CANCELLED"]
        for k in range(enrollments // 10):
            day = date(2023, 1, 2) + timedelta(days=k % 900)
            loc = locations[k % len(locations)]
            course = COURSES[k % len(COURSES)][0]
            sid = uid()
            sessions.append((sid, f"{course} — {day:%b %d}", instructors[k % len(instructors)][0], loc[0], day, clock(9),
                             clock(17), 12, 10, course, statuses[k % len(statuses)], now))  # fmt: skip
            for learner in r.sample(learners, 10):
                done = r.choice(
                    [
                        ("present", "completed"),
                        ("ATTENDED", "PASSED"),
                        ("absent", "FAILED"),
                        ("REGISTERED", "NOT_STARTED"),
                    ]
                )
                rows.append((uid(), sid, learner[0], now, done[0], done[1], r.choice([None, 80, 91.5])))
        _copy(connection, "public.training_sessions",
              ["id", "title", "instructor_id", "location_id", "session_date", "start_time", "end_time", "max_capacity",
               "current_enrollment", "course_template", "status", "created_at"], sessions)  # fmt: skip
        _copy(connection, "public.session_enrollments",
              ["id", "session_id", "student_id", "enrollment_date", "attendance_status", "completion_status", "assessment_score"], rows)  # fmt: skip
        batches = [
            (uid(), f"Batch {k}", "COMPLETED", locations[k % len(locations)][0], now)
            for k in range(max(10, certificates // 500))
        ]
        _copy(connection, "public.rosters", ["id", "name", "status", "location_id", "created_at"], batches)
        certs = []
        for k in range(certificates):
            learner = learners[k % len(learners)]
            name, _, months = COURSES[(k // len(learners)) % len(COURSES)]
            issued = date(2022, 1, 3) + timedelta(days=r.randrange(1_200))
            expires = add_months(issued, months)
            kind = k % 3
            text = [lambda d: d.isoformat(), lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
                    lambda d: f"{d.isoformat()}T16:00:00.000Z"][kind]  # fmt: skip
            code = ("".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3)) + f"{r.randrange(100_000):05d}"
                    + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(2))) if k % 10 else \
                "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(8))  # fmt: skip
            batch = batches[k % len(batches)]
            certs.append((uid(), learner[2], learner[1], name, text(issued), text(expires), code, "ACTIVE", batch[0],
                          batch[3], staff[k % 3][0], datetime.combine(issued, clock(16), UTC), now))  # fmt: skip
        _copy(connection, "public.certificates",
              ["id", "recipient_name", "recipient_email", "course_name", "issue_date", "expiry_date", "verification_code",
               "status", "roster_id", "location_id", "issued_by", "created_at", "updated_at"], certs)  # fmt: skip
        connection.execute("ANALYZE")
        return {"certificates": len(certs), "session_enrollments": len(rows), "training_sessions": len(sessions),
                "student_enrollment_profiles": len(learners)}  # fmt: skip


def drop_database(url: str, name: str) -> None:
    with psycopg.connect(_dsn(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def measure(url: str, quick: bool) -> dict[str, Any]:
    """Generate, import (timed), COPY the same rows into another schema (timed); both figures and the counts."""
    certificates, enrollments = (10_000, 20_000) if quick else (100_000, 200_000)
    source = f"legacy_bench_{uuid.uuid4().hex[:8]}"
    ours = Database(normalize_url(url), schema=f"bench_import_{uuid.uuid4().hex[:8]}")
    theirs = Database(normalize_url(url), schema=f"bench_copy_{uuid.uuid4().hex[:8]}")
    try:
        generated = generate(url, source, certificates, enrollments)
        ours.upgrade()
        theirs.upgrade()
        codes = SecureCodes()
        raw = ours.owner_engine().raw_connection()
        try:
            started = time.perf_counter()
            outcome = run_import(raw.driver_connection, ours.schema, _dsn(url, source), Mapping_(),  # type: ignore[arg-type]
                                 lambda: codes.new_code().canonical, chunk=5_000)  # fmt: skip
            seconds = time.perf_counter() - started
        finally:
            raw.close()
        written = sum(outcome["written"].values())
        owner = _dsn(url, make_url(url).database or "postgres")
        with psycopg.connect(owner) as connection:
            copied, copy_seconds = 0, 0.0
            for table in [*STEPS, "legacy_codes", "import_runs", "import_records", "import_quarantine"]:
                buffer = bytearray()
                relation = f'"{ours.schema}"."{table}"'
                if table == "training_sessions":  # the enrollments' own trigger counts the seats again as they come
                    columns = [r[0] for r in connection.execute(
                        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                        " AND NOT attisdropped ORDER BY attnum", (relation,)).fetchall()]  # fmt: skip
                    relation = "(SELECT {} FROM {})".format(
                        ", ".join(f"0 AS {c}" if c in COUNTERS else f'"{c}"' for c in columns), relation
                    )
                with connection.cursor() as cursor, cursor.copy(f"COPY {relation} TO STDOUT") as out:
                    for block in out:
                        buffer += block
                began = time.perf_counter()
                with connection.cursor() as cursor, cursor.copy(f'COPY "{theirs.schema}"."{table}" FROM STDIN') as into:
                    into.write(bytes(buffer))
                connection.commit()
                copy_seconds += time.perf_counter() - began
                if table in STEPS:
                    copied += connection.execute(f'SELECT count(*) FROM "{theirs.schema}"."{table}"').fetchone()[0]  # type: ignore[index]
        return {
            "source": generated,
            "written": written,
            "copied": copied,
            "seconds": seconds,
            "copy_seconds": copy_seconds,
            "report": outcome["report"]["totals"],
            "content_check": {k: (len(v) if isinstance(v, list) else v) for k, v in outcome["content_check"].items()},
        }
    finally:
        for database in (ours, theirs):
            with database.owner_engine().begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE')
            database.shutdown(timeout=1)
        drop_database(url, source)


def import_legacy(b: Any) -> Any:
    """The benchmark (benchmarks/suite.py's shape): rows per second, ours against COPY of the same rows."""
    from benchmarks.suite import Result

    found = measure(b.dsn, b.quick)
    return Result(
        "import_legacy",
        "rows/s",
        found["written"] / found["seconds"],
        "COPY same rows",
        found["copied"] / found["copy_seconds"],
        True,
        {k: v for k, v in found.items() if k not in ("seconds", "copy_seconds")}
        | {"seconds": round(found["seconds"], 1), "copy_seconds": round(found["copy_seconds"], 2)},
    )
