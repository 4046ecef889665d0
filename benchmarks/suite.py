"""The benchmark suite (DESIGN §6): every figure beside its baseline, on one database, in one run."""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import psycopg
from returns.result import Success
from sqlalchemy import Engine, text

from arccm.adapters.container import Container, on_postgres
from arccm.adapters.postgres.baselines import (
    add_sessions,
    client_side_dashboard,
    contend,
    raw_connection,
    raw_enroller,
    raw_lookup,
    text_sql,
)
from arccm.adapters.postgres.database import Database
from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.verification_code import parse


@attrs.frozen
class Result:
    name: str
    unit: str
    ours: float
    baseline_name: str
    baseline: float
    higher_is_better: bool
    extra: dict[str, Any] = attrs.field(factory=dict)

    def as_json(self) -> dict[str, Any]:
        ratio = self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours
        return {
            "name": self.name,
            "unit": self.unit,
            "ours": round(self.ours, 3),
            "baseline": {"name": self.baseline_name, "value": round(self.baseline, 3)},
            "ratio": round(ratio, 3),
            "extra": self.extra,
        }


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(run: Callable[[], Any], repeat: int) -> list[float]:
    run()  # warm caches and plans once
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        out.append((time.perf_counter() - started) * 1000)
    return out


@attrs.define
class Bench:
    container: Container
    database: Database
    owner: Engine
    # a libpq URL for the baselines' raw psycopg: the owner role, as the replaced system ran with no row-level
    # security at all (and PostgreSQL refuses COPY FROM under it) — so the baselines' statements pay nothing for it,
    # and ours do.  But a baseline that opens a connection per call pays for a fresh backend loading the policies of
    # every table it touches (~6 ms more for six tables with them on: docs/performance.md, issue 11, tenth session)
    dsn: str
    schema: str
    quick: bool
    today: date
    rng: random.Random = attrs.field(factory=lambda: random.Random(7))

    @staticmethod
    def open(url: str, schema: str, quick: bool, today: date) -> Bench:
        container = on_postgres(url, schema=schema)
        database = container.database()
        owner_url = database.owner_url.set(drivername="postgresql").render_as_string(hide_password=False)
        return Bench(container, database, database.owner_engine(), owner_url, schema, quick, today)

    def raw(self) -> psycopg.Connection[Any]:
        return raw_connection(self.dsn, self.schema)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        with self.owner.begin() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{self.schema}"'))
            return connection.execute(text(sql), params or {}).scalar()

    def actor(self, role: Role) -> Actor:
        sql = {
            Role.SA: "SELECT id FROM profiles WHERE role = 'SA' LIMIT 1",
            Role.AD: "SELECT id FROM profiles WHERE role = 'AD' LIMIT 1",
            Role.AP: "SELECT id FROM profiles WHERE role = 'AP' ORDER BY display_name LIMIT 1",
            Role.IC: "SELECT lead_instructor_id FROM training_sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            Role.IT: "SELECT e.learner_id FROM session_enrollments e JOIN profiles p ON p.id = e.learner_id"
            " WHERE p.role = 'IT' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        }[role]
        resolved: Actor = self.container.resolve_actor()(self.scalar(sql)).unwrap()
        return resolved


# --- enroll_contended ------------------------------------------------------------------------

LEGACY = """
CREATE TABLE IF NOT EXISTS legacy_sessions (id uuid PRIMARY KEY, max_capacity int, current_enrollment int);
CREATE TABLE IF NOT EXISTS legacy_enrollments (session_id uuid, learner_id uuid);
TRUNCATE legacy_sessions, legacy_enrollments;  -- a kept schema (--schema) runs the suite again
"""


def contended(
    b: Bench, sessions_each: int, capacity: int, attempts: int
) -> tuple[Actor, list[uuid.UUID], list[uuid.UUID], list[tuple[int, uuid.UUID]]]:
    """An SA, two sets of ``sessions_each`` fresh sessions (one for ours, one for the baseline), and one plan of
    attempts: (session index, learner) drawn at random, so both sides race for the same seats the same way."""
    admin = b.actor(Role.SA)
    lead = b.scalar("SELECT id FROM instructor_profiles ORDER BY id LIMIT 1")
    location = b.scalar("SELECT id FROM locations ORDER BY id LIMIT 1")
    course = b.scalar("SELECT id FROM course_templates WHERE code = 'CPR-C'")
    learners = [row[0] for row in _rows(b, "SELECT id FROM profiles WHERE role IN ('IT','IN') ORDER BY id LIMIT 5000")]
    ours = add_sessions(b.owner, b.schema, sessions_each, capacity, lead, location, course, admin.user_id)
    theirs = add_sessions(b.owner, b.schema, sessions_each, capacity, lead, location, course, admin.user_id)
    plan = [(b.rng.randrange(sessions_each), b.rng.choice(learners)) for _ in range(attempts)]
    return admin, ours, theirs, plan


def library_enroller(b: Bench, admin: Actor, sessions: list[uuid.UUID]) -> Callable[[tuple[int, uuid.UUID]], bool]:
    """One attempt of a plan as arccm's enroll use case, in process."""
    enroll = b.container.enroll_learner()

    def attempt(item: tuple[int, uuid.UUID]) -> bool:
        outcome = enroll(admin, c.EnrollLearner(sessions[item[0]], item[1], join_waitlist=False))
        return isinstance(outcome, Success)

    return attempt


def enroll_contended(b: Bench) -> Result:
    sessions_each, capacity, workers = 40, 25, 8
    attempts = 1_600 if b.quick else 4_000
    admin, ours_sessions, raw_sessions, plan = contended(b, sessions_each, capacity, attempts)
    ours = library_enroller(b, admin, ours_sessions)
    ours_rate, ours_lat = contend(plan, workers, lambda: ours)
    raw_rate, raw_lat = contend(plan, workers, lambda: raw_enroller(b.raw(), raw_sessions))
    legacy_rate, _ = contend(plan, workers, lambda: _legacy_enroller(b, sessions_each, capacity))
    overbooked = b.scalar(
        "SELECT count(*) FROM (SELECT session_id FROM session_enrollments WHERE status = 'enrolled'"
        " AND session_id = ANY(:ids) GROUP BY session_id HAVING count(*) > :cap) x",
        {"ids": ours_sessions + raw_sessions, "cap": capacity},
    )
    legacy_over = b.scalar(
        "SELECT count(*) FROM (SELECT session_id FROM legacy_enrollments GROUP BY session_id HAVING count(*) > :cap) x",
        {"cap": capacity},
    )
    return Result(
        "enroll_contended", "ops/s", ours_rate, "raw_psycopg", raw_rate, True,
        {
            "workers": workers, "attempts": attempts, "sessions": sessions_each, "capacity": capacity,
            "p50_ms": round(p(ours_lat, 0.5), 2), "p99_ms": round(p(ours_lat, 0.99), 2),
            "baseline_p50_ms": round(p(raw_lat, 0.5), 2), "baseline_p99_ms": round(p(raw_lat, 0.99), 2),
            "overbooked_sessions": overbooked,
            "replaced_system_ops_s": round(legacy_rate, 1), "replaced_system_overbooked_sessions": legacy_over,
        },
    )  # fmt: skip


def _rows(b: Bench, sql: str) -> list[Any]:
    with b.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{b.schema}"'))
        return list(connection.execute(text(sql)))


_legacy_lock = threading.Lock()
_legacy_ready: set[str] = set()


def _legacy_enroller(b: Bench, count: int, capacity: int) -> Callable[[tuple[int, uuid.UUID]], bool]:
    """The replaced system's way: check seats, insert, then increment — separate statements, no lock."""
    connection = b.raw()
    with _legacy_lock:
        if b.schema not in _legacy_ready:
            with b.owner.begin() as owner:
                owner.execute(text(f'SET LOCAL search_path TO "{b.schema}"'))
                owner.execute(text(LEGACY))
                owner.execute(text("GRANT SELECT, INSERT, UPDATE ON legacy_sessions, legacy_enrollments TO arccm_app"))
                for i in range(count):
                    owner.execute(
                        text("INSERT INTO legacy_sessions VALUES (:id, :cap, 0)"),
                        {"id": uuid.UUID(int=i + 1), "cap": capacity},
                    )
            _legacy_ready.add(b.schema)

    def attempt(item: tuple[int, uuid.UUID]) -> bool:
        session_id = uuid.UUID(int=item[0] + 1)
        current, limit = connection.execute(
            "SELECT current_enrollment, max_capacity FROM legacy_sessions WHERE id = %s", (session_id,)
        ).fetchone() or (0, 0)
        if current >= limit:
            return False
        connection.execute("INSERT INTO legacy_enrollments VALUES (%s, %s)", (session_id, item[1]))
        connection.execute(
            "UPDATE legacy_sessions SET current_enrollment = current_enrollment + 1 WHERE id = %s", (session_id,)
        )
        return True

    return attempt


# --- dashboards, calendar, analytics: one query vs the rows fetched and counted in Python ------------------


def _client_side_dashboard(b: Bench, actor: Actor) -> dict[str, Any]:
    with b.raw() as connection:
        return client_side_dashboard(connection, actor, b.today)


def dashboard(b: Bench, role: Role) -> Result:
    actor = b.actor(role)
    repeat = 15 if b.quick else 40
    # ours take milliseconds: more samples for a median that a busy moment does not move (--rls both compares two)
    ours = timed(lambda: b.container.read_models().dashboard(actor, b.today), repeat * 3)
    theirs = timed(lambda: _client_side_dashboard(b, actor), max(3, repeat // 4))
    return Result(
        f"dashboard_{role.value.lower()}", "ms", statistics.median(ours), "client_side", statistics.median(theirs), False,
        {"p99_ms": round(p(ours, 0.99), 2), "baseline_p99_ms": round(p(theirs, 0.99), 2)},
    )  # fmt: skip


def calendar_month(b: Bench) -> Result:
    actor = b.actor(Role.AP)
    start = b.today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    repeat = 15 if b.quick else 40
    ours = timed(lambda: b.container.view_calendar()(actor, start, end, "America/Toronto"), repeat)

    def theirs() -> list[dict[str, Any]]:
        from arccm.adapters.postgres.read_models import scope_params, session_scope

        zone = ZoneInfo("America/Toronto")
        with b.raw() as connection:
            sessions = connection.execute(
                text_sql(f"SELECT s.* FROM training_sessions s WHERE {session_scope(actor)}"), scope_params(actor)
            ).fetchall()
            columns = [d.name for d in connection.execute("SELECT * FROM training_sessions LIMIT 0").description or []]
            rows = [dict(zip(columns, s, strict=True)) for s in sessions]
            lo = datetime.combine(start, datetime.min.time(), zone)
            hi = datetime.combine(end, datetime.min.time(), zone)
            window = [r for r in rows if lo <= r["starts_at"] < hi]
            locations = dict(connection.execute("SELECT id, name FROM locations").fetchall())
            courses = dict(connection.execute("SELECT id, name FROM course_templates").fetchall())
            people = dict(
                connection.execute(
                    "SELECT id, display_name FROM profiles WHERE id = ANY(%s)",
                    ([r["lead_instructor_id"] for r in window],),
                ).fetchall()
            )
        return [
            {**r, "location": locations[r["location_id"]], "course": courses[r["course_id"]],
             "instructor": people[r["lead_instructor_id"]], "local": r["starts_at"].astimezone(zone),
             "percent": round(100 * r["seats_taken"] / r["max_capacity"], 1)}
            for r in sorted(window, key=lambda r: r["starts_at"])
        ]  # fmt: skip

    baseline = timed(theirs, max(3, repeat // 3))
    entries = len(b.container.view_calendar()(actor, start, end, "America/Toronto").unwrap())
    return Result(
        "calendar_month_ap", "ms", statistics.median(ours), "client_side", statistics.median(baseline), False,
        {"entries": entries, "p99_ms": round(p(ours, 0.99), 2)},
    )  # fmt: skip


def people_search(b: Bench) -> Result:
    """An AP looking a person up by part of a name (``directory().people``, the first page of 50), against fetching
    every person of the AP's scope and matching names on the client, as the replaced front end searched.  Under
    row-level security the profiles' policies once built the AP's set of related people for every search
    (docs/performance.md, issue 11, eleventh session): this read is in the suite so ``--rls both`` covers it."""
    actor, wanted = b.actor(Role.AP), "learner 1"
    repeat = 15 if b.quick else 40
    ours = timed(lambda: b.container.directory().people(actor, wanted).unwrap(), repeat)

    def theirs() -> list[tuple[str, str]]:
        with b.raw() as connection:
            people = connection.execute(
                "SELECT id::text, display_name FROM profiles WHERE location_id = ANY(%(locs)s) OR provider_id = %(prov)s"
                " UNION ALL SELECT id::text, btrim(first_name || ' ' || last_name) FROM student_enrollment_profiles"
                " WHERE location_id = ANY(%(locs)s)",
                {"locs": sorted(actor.location_ids), "prov": actor.provider_id},
            ).fetchall()
        return sorted((name, key) for key, name in people if wanted in name.lower())[:50]

    baseline = timed(theirs, max(3, repeat // 4))
    found = [(person.name, str(person.id)) for person in b.container.directory().people(actor, wanted).unwrap().items]
    assert found == theirs(), "the two searches found different people"  # both by name, then id, as text
    return Result(
        "people_search_ap", "ms", statistics.median(ours), "client_side", statistics.median(baseline), False,
        {"found": len(found), "p99_ms": round(p(ours, 0.99), 2)},
    )  # fmt: skip


def analytics_quarter(b: Bench) -> Result:
    actor = b.actor(Role.SA)
    end = b.today
    start = end - timedelta(days=91)
    repeat = 8 if b.quick else 20
    ours = timed(lambda: b.container.view_analytics()(actor, start, end, "location"), repeat)

    def theirs() -> dict[Any, dict[str, float]]:
        lo = datetime.combine(start, datetime.min.time(), UTC)
        hi = datetime.combine(end, datetime.min.time(), UTC)
        with b.raw() as connection:
            sessions = connection.execute(
                "SELECT id, location_id, status, seats_taken, max_capacity FROM training_sessions WHERE starts_at >= %s AND starts_at < %s",
                (lo, hi),
            ).fetchall()
            enrollments = connection.execute(
                "SELECT session_id, status, attendance_status, completion_status FROM session_enrollments WHERE session_id = ANY(%s)",
                ([s[0] for s in sessions],),
            ).fetchall()
            certificates = connection.execute(
                "SELECT location_id, revoked_at, superseded_by_id, expiry_date, issue_date FROM certificates WHERE issue_date >= %s AND issue_date < %s",
                (start, end),
            ).fetchall()
        by_session: dict[Any, list[Any]] = {}
        for e in enrollments:
            by_session.setdefault(e[0], []).append(e)
        groups: dict[Any, dict[str, float]] = {}
        for s in sessions:
            g = groups.setdefault(
                s[1],
                {"sessions": 0, "completed": 0, "util": 0.0, "enrollments": 0, "attended": 0, "done": 0, "certs": 0},
            )
            g["sessions"] += 1
            g["util"] += s[3] / s[4]
            rows = [e for e in by_session.get(s[0], []) if e[1] != "cancelled"]
            g["enrollments"] += len(rows)
            if s[2] == "completed":
                g["completed"] += 1
                g["attended"] += sum(1 for e in rows if e[2] == "attended")
                g["done"] += sum(1 for e in rows if e[3] == "completed")
        for cert in certificates:
            groups.setdefault(cert[0], {"certs": 0}).setdefault("certs", 0)
            groups[cert[0]]["certs"] += 1
        return groups

    baseline = timed(theirs, max(3, repeat // 3))
    return Result(
        "analytics_quarter_sa",
        "ms",
        statistics.median(ours),
        "client_side",
        statistics.median(baseline),
        False,
        {"p99_ms": round(p(ours, 0.99), 2)},
    )


# --- batch issuance, verification --------------------------------------------------------------


def batch_certificates(b: Bench) -> Result:
    learners = 2_000 if b.quick else 20_000
    admin = b.actor(Role.SA)
    roster, twin = _completed_roster(b, learners), _completed_roster(b, learners)
    started = time.perf_counter()
    report = b.container.batch_issue_certificates()(
        admin, c.BatchIssueCertificates(CompletionKind.ROSTER_MEMBER, roster)
    ).unwrap()
    ours = report.issued / (time.perf_counter() - started)
    rows = _precomputed_certificates(b, twin, admin)
    started = time.perf_counter()
    with (
        b.raw() as connection,
        connection.cursor().copy(
            "COPY certificates (id, verification_code, completion_kind, completion_id, recipient_name, recipient_student_id,"
            " course_id, course_name, location_id, roster_id, instructor_ids, issued_by, issue_date, expiry_date) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    baseline = len(rows) / (time.perf_counter() - started)
    return Result(
        "batch_certificates",
        "certificates/s",
        ours,
        "raw_copy",
        baseline,
        True,
        {"learners": learners, "issued": report.issued},
    )


def _completed_roster(b: Bench, size: int) -> uuid.UUID:
    roster = uuid.uuid4()
    with b.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{b.schema}"'))
        connection.execute(
            text(
                "INSERT INTO student_rosters (id, roster_name, course_id, location_id, instructor_id, max_capacity)"
                " SELECT :r, 'bench', (SELECT id FROM course_templates WHERE code = 'SFA'), (SELECT id FROM locations ORDER BY id LIMIT 1),"
                " (SELECT id FROM instructor_profiles ORDER BY id LIMIT 1), :n"
            ),
            {"r": roster, "n": size},
        )
        connection.execute(
            text(
                "WITH s AS (INSERT INTO student_enrollment_profiles (id, first_name, last_name, email)"
                " SELECT gen_random_uuid(), 'Bench', 'Learner ' || i, '' FROM generate_series(1, :n) i RETURNING id)"
                " INSERT INTO student_roster_members (id, roster_id, student_profile_id, enrolled_at, attendance_status,"
                " practical_score, written_score, completion_status) SELECT gen_random_uuid(), :r, id, now(), 'attended', 90, 90, 'completed' FROM s"
            ),
            {"r": roster, "n": size},
        )
    return roster


def _precomputed_certificates(b: Bench, roster: uuid.UUID, admin: Actor) -> list[tuple[Any, ...]]:
    from arccm.adapters.system import SecureCodes
    from arccm.domain.certificate import add_months

    codes = SecureCodes()
    rows = _rows(
        b,
        "SELECT m.id, m.student_profile_id, r.course_id, c.name, r.location_id, r.instructor_id, c.validity_months"
        f" FROM student_roster_members m JOIN student_rosters r ON r.id = m.roster_id JOIN course_templates c ON c.id = r.course_id WHERE r.id = '{roster}'",
    )
    today = b.today
    return [
        (uuid.uuid4(), codes.new_code().canonical, "roster_member", m, "Bench Learner", student, course, name, location,
         roster, [instructor], admin.user_id, today, add_months(today, months))
        for m, student, course, name, location, instructor, months in rows
    ]  # fmt: skip


def verify_lookup(b: Bench) -> Result:
    codes = [row[0] for row in _rows(b, "SELECT verification_code FROM certificates ORDER BY id LIMIT 2000")]
    lookups = codes[: 500 if b.quick else 2000]
    verify = b.container.verify_certificate()
    started = time.perf_counter()
    for code in lookups:
        verify(c.VerifyCertificate(code.lower()))
    ours = len(lookups) / (time.perf_counter() - started)
    with b.raw() as connection:
        started = time.perf_counter()
        for code in lookups:
            raw_lookup(connection, parse(code).unwrap().canonical)
        baseline = len(lookups) / (time.perf_counter() - started)
    return Result("verify_lookup", "lookups/s", ours, "raw_select", baseline, True, {"lookups": len(lookups)})


SUITE: list[tuple[str, Callable[[Bench], Result]]] = [
    ("enroll_contended", enroll_contended),
    ("dashboard_sa", lambda b: dashboard(b, Role.SA)),
    ("dashboard_ad", lambda b: dashboard(b, Role.AD)),
    ("dashboard_ap", lambda b: dashboard(b, Role.AP)),
    ("dashboard_ic", lambda b: dashboard(b, Role.IC)),
    ("dashboard_it", lambda b: dashboard(b, Role.IT)),
    ("calendar_month_ap", calendar_month),
    ("people_search_ap", people_search),
    ("analytics_quarter_sa", analytics_quarter),
    ("batch_certificates", batch_certificates),
    ("verify_lookup", verify_lookup),
]


# --- realtime ----------------------------------------------------------------------------------


def realtime_latency(b: Bench) -> Result:
    """Commit-to-handler latency of a live subscription, against polling the feed once a second."""
    seconds = 3.0 if b.quick else 6.0
    results = {rate: _latency_run(b, rate, seconds) for rate in (200, 1000)}
    ours, polled = results[200]
    extra: dict[str, Any] = {}
    for rate, (live, poll) in results.items():
        extra[f"p50_ms_at_{rate}"] = round(p(live["latencies"], 0.5), 2)
        extra[f"p99_ms_at_{rate}"] = round(p(live["latencies"], 0.99), 2)
        extra[f"baseline_p50_ms_at_{rate}"] = round(p(poll["latencies"], 0.5), 1)
        extra[f"baseline_p99_ms_at_{rate}"] = round(p(poll["latencies"], 0.99), 1)
        extra[f"lost_at_{rate}"] = live["lost"]
        extra[f"duplicated_at_{rate}"] = live["duplicated"]
    return Result(
        "realtime_latency", "ms (p99 at 200 events/s)", p(ours["latencies"], 0.99), "poll_every_second",
        p(polled["latencies"], 0.99), False, extra,
    )  # fmt: skip


def _latency_run(b: Bench, rate: int, seconds: float) -> tuple[dict[str, Any], dict[str, Any]]:
    from arccm.application.ports.change_feed import Change, Cursor

    container = b.container
    container.config.feed_poll_seconds.from_value(1.0)
    admin = b.actor(Role.SA)
    feed = container.change_feed()
    start = Cursor.origin()
    while batch := feed.read(admin, start, 5000, frozenset({"teams"})).changes:
        start = batch[-1].cursor
    committed: dict[uuid.UUID, float] = {}
    live: dict[uuid.UUID, list[float]] = {}
    polled: dict[uuid.UUID, float] = {}
    lock = threading.Lock()

    def on_change(change: Change) -> None:
        arrived = time.perf_counter()
        with lock:
            live.setdefault(change.event.team_id, []).append(arrived)  # type: ignore[attr-defined]

    pump = container.subscriptions()
    subscription = pump.subscribe(admin, frozenset({"teams"}), on_change, since=start)
    stop = threading.Event()

    def poller() -> None:  # the replaced system's way: ask once a second
        cursor = start
        while not stop.wait(1.0):
            for change in feed.read(admin, cursor, 100_000, frozenset({"teams"})).changes:
                polled.setdefault(change.event.team_id, time.perf_counter())
                cursor = change.cursor

    polling = threading.Thread(target=poller, daemon=True)
    polling.start()
    _write_paced(container, rate, seconds, committed, stop)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and (len(live) < len(committed) or len(polled) < len(committed)):
        stop.wait(0.05)  # draining: the last events are in flight
    stop.set()
    polling.join(timeout=5)
    subscription.close()

    return (
        {
            "latencies": [(live[i][0] - committed[i]) * 1000 for i in committed if i in live],
            "lost": sum(1 for i in committed if i not in live),
            "duplicated": sum(len(v) - 1 for v in live.values()),
        },
        {"latencies": [(polled[i] - committed[i]) * 1000 for i in committed if i in polled]},
    )


def _write_paced(
    container: Container, rate: int, seconds: float, committed: dict[uuid.UUID, float], stop: threading.Event
) -> None:
    """Create teams at ``rate`` events a second (several per transaction above 200/s), noting each commit time."""
    from arccm.domain.team import Team

    per_transaction = max(1, rate // 200)
    began = time.perf_counter()
    sent = 0
    while time.perf_counter() - began < seconds:
        delay = began + sent / rate - time.perf_counter()
        if delay > 0:
            stop.wait(delay)  # pacing the writer to the target rate
        ids = []
        with container.unit_of_work()(None) as uow:
            for _ in range(per_transaction):
                team = Team(uuid.uuid4(), "latency")
                Team.create(team, datetime.now(UTC))
                uow.teams.add(team)
                ids.append(team.id)
            uow.commit()
        now = time.perf_counter()
        for team_id in ids:
            committed[team_id] = now
        sent += per_transaction


SUITE.append(("realtime_latency", realtime_latency))
