"""The raw baselines arccm's figures are measured against, on the same database: the least SQL that does the same
job correctly (enroll, look a code up), and the replaced system's way of making a dashboard (fetch the rows in the
actor's scope, count them on the client).  ``python -m benchmarks`` and ``arccm validate`` both run them.

They connect as the owner with plain psycopg, as the replaced system ran (no row-level security, no use case), so
the baselines pay nothing that arccm pays.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, text

from arccm.domain.access import Actor

Attempt = Callable[[tuple[int, uuid.UUID]], bool]


def text_sql(sql: str) -> str:
    """A SQLAlchemy-style ``:name`` statement for psycopg's ``%(name)s``."""
    return re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql)


def raw_connection(dsn: str, schema: str) -> psycopg.Connection[Any]:
    connection = psycopg.connect(dsn, autocommit=True)
    connection.execute(f'SET search_path TO "{schema}"')
    return connection


def add_sessions(
    owner: Engine, schema: str, count: int, capacity: int, lead: Any, location: Any, course: Any, by: Any
) -> list[uuid.UUID]:
    """``count`` sessions of ``capacity`` seats and no waitlist, far in the future, written as the owner."""
    ids = [uuid.uuid4() for _ in range(count)]
    starts = datetime.now(UTC) + timedelta(days=400)
    with owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        for i, session_id in enumerate(ids):
            connection.execute(
                text(
                    "INSERT INTO training_sessions (id, course_id, title, location_id, lead_instructor_id, starts_at,"
                    " ends_at, max_capacity, allow_waitlist, created_by)"
                    " VALUES (:id, :c, 'bench', :l, :lead, :s, :e, :cap, false, :by)"
                ),
                {"id": session_id, "c": course, "l": location, "lead": lead, "s": starts + timedelta(hours=8 * i),
                 "e": starts + timedelta(hours=8 * i + 4), "cap": capacity, "by": by},
            )  # fmt: skip
    return ids


def contend(
    plan: Sequence[tuple[int, uuid.UUID]], workers: int, make: Callable[[], Attempt], seconds: float | None = None
) -> tuple[float, list[float]]:
    """Run ``plan``'s attempts on ``workers`` threads released together: (attempts per second, latencies in ms).
    With ``seconds``, each thread stops starting attempts once that long has passed (a short run on a slow server)."""
    barrier = threading.Barrier(workers + 1)
    stop = [float("inf")]
    latencies: list[float] = []
    lock = threading.Lock()

    def work(mine: Sequence[tuple[int, uuid.UUID]]) -> None:
        attempt = make()
        barrier.wait()
        local = []
        for item in mine:
            if time.perf_counter() > stop[0]:
                break
            started = time.perf_counter()
            attempt(item)
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=work, args=(plan[i::workers],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop[0] = started + seconds if seconds is not None else float("inf")
    barrier.wait()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def raw_enroller(connection: psycopg.Connection[Any], sessions: Sequence[uuid.UUID]) -> Attempt:
    """The minimal correct SQL for an enroll: lock the session, check, insert (the trigger counts)."""
    connection.autocommit = False

    def attempt(item: tuple[int, uuid.UUID]) -> bool:
        session_id, learner = sessions[item[0]], item[1]
        with connection.transaction():
            seats, capacity = connection.execute(
                "SELECT seats_taken, max_capacity FROM training_sessions WHERE id = %s FOR UPDATE", (session_id,)
            ).fetchone() or (0, 0)
            if seats >= capacity:
                return False
            taken = connection.execute(
                "SELECT 1 FROM session_enrollments WHERE session_id = %s AND learner_id = %s AND status <> 'cancelled'",
                (session_id, learner),
            ).fetchone()
            if taken:
                return False
            connection.execute(
                "INSERT INTO session_enrollments (id, session_id, learner_id, status, enrolled_at)"
                " VALUES (%s, %s, %s, 'enrolled', now())",
                (uuid.uuid4(), session_id, learner),
            )
        return True

    return attempt


def client_side_dashboard(connection: psycopg.Connection[Any], actor: Actor, today: date) -> dict[str, Any]:
    """The replaced system's way: select the raw rows in the actor's scope, then count and sum in Python."""
    from arccm.adapters.postgres.read_models import (
        certificate_scope,
        profile_scope,
        scope_params,
        session_scope,
        team_scope,
    )

    params = scope_params(actor)
    sessions = connection.execute(
        text_sql(f"SELECT s.id, s.status, s.max_capacity FROM training_sessions s WHERE {session_scope(actor)}"), params
    ).fetchall()
    open_ids = [row[0] for row in sessions if row[1] in ("scheduled", "in_progress")]
    enrollments = connection.execute(
        "SELECT session_id, status FROM session_enrollments WHERE session_id = ANY(%(ids)s)", {"ids": open_ids}
    ).fetchall()
    certificates = connection.execute(
        text_sql(
            "SELECT c.expiry_date, c.issue_date, c.revoked_at, c.superseded_by_id FROM certificates c"
            f" WHERE {certificate_scope(actor)}"
        ),
        params,
    ).fetchall()
    profiles = connection.execute(
        text_sql(f"SELECT p.compliance_score, p.compliance_status FROM profiles p WHERE {profile_scope(actor)}"),
        params,
    ).fetchall()
    teams = connection.execute(text_sql(f"SELECT t.id FROM teams t WHERE {team_scope(actor)}"), params).fetchall()
    members = connection.execute(
        "SELECT team_id FROM team_members WHERE team_id = ANY(%(ids)s)", {"ids": [t[0] for t in teams]}
    ).fetchall()
    seats = sum(1 for e in enrollments if e[1] == "enrolled")
    live = [c for c in certificates if c[2] is None and c[3] is None and c[0] >= today]
    scores = [p[0] for p in profiles if p[1] != "unassessed"]
    return {
        "upcoming": sum(1 for s in sessions if s[1] == "scheduled"), "seats": seats,
        "offered": sum(s[2] for s in sessions if s[1] in ("scheduled", "in_progress")),
        "waitlisted": sum(1 for e in enrollments if e[1] == "waitlisted"), "certificates": len(certificates),
        "active": len(live), "expiring": sum(1 for c in live if c[0] <= today + timedelta(days=30)),
        "issued_7d": sum(1 for c in certificates if c[1] > today - timedelta(days=7)),
        "compliance": sum(scores) / len(scores) if scores else None, "teams": len(teams), "members": len(members),
    }  # fmt: skip


def raw_lookup(connection: psycopg.Connection[Any], canonical_code: str) -> tuple[Any, ...] | None:
    """One certificate's public fields by its code, in one SELECT."""
    return connection.execute(
        "SELECT c.recipient_name, c.course_name, c.issue_date, c.expiry_date, c.revoked_at, p.name"
        " FROM certificates c LEFT JOIN authorized_providers p ON p.id = c.provider_id WHERE c.verification_code = %s",
        (canonical_code,),
    ).fetchone()
