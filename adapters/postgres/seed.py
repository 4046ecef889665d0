"""A deterministic data generator that loads by COPY: ``arccm seed --scale demo|s|m|l [--seed N]``.

The same seed and the same ``today`` give the same organization, row for row.
Rows are generated in Python and streamed with ``COPY … FROM STDIN``; the
enrollment counter trigger is switched off for the load (as the owner) and the
counters are then set in one statement, so the invariants hold exactly as if
every row had gone through arccm.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs
from sqlalchemy import Engine, text

from arccm.adapters.postgres import tables as t
from arccm.adapters.postgres.read_models import ROLLUP_TABLES
from arccm.domain.certificate import add_months
from arccm.domain.verification_code import RANDOM_BITS, encode


@attrs.frozen
class Scale:
    name: str
    locations: int
    providers: int
    instructors: int
    learners: int
    sessions: int
    enrollments: int
    certificates: int
    teams: int


SCALES = {
    "demo": Scale("demo", 4, 2, 20, 300, 60, 900, 300, 3),
    "s": Scale("s", 10, 3, 200, 10_000, 2_000, 50_000, 20_000, 20),
    "m": Scale("m", 50, 10, 2_000, 100_000, 20_000, 500_000, 200_000, 200),
    "l": Scale("l", 500, 100, 20_000, 1_000_000, 200_000, 5_000_000, 2_000_000, 2_000),
}
COURSES = [
    ("CPR Level C", "CPR-C", 12, ["cpr"]),
    ("Standard First Aid", "SFA", 36, ["first_aid"]),
    ("Emergency First Aid", "EFA", 36, ["first_aid"]),
    ("CPR Instructor", "CPR-I", 24, ["cpr", "instructor"]),
    ("AED Operator", "AED", 24, ["aed"]),
]
Progress = Callable[[str, int, int], None]


@attrs.frozen
class SeedReport:
    scale: str
    rows: dict[str, int]
    seconds: float


class Generator:
    def __init__(self, scale: Scale, seed: int, today: date) -> None:
        self.scale, self.rng, self.today = scale, random.Random(seed), today
        self.now = datetime.combine(today, time(12), UTC)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def organization(self) -> dict[str, list[tuple[Any, ...]]]:
        s, rng = self.scale, self.rng
        tables: dict[str, list[tuple[Any, ...]]] = {}
        locations = [(self.uuid(), f"Location {i + 1}", rng.choice(_ZONES)) for i in range(s.locations)]
        providers = [(self.uuid(), f"Provider {i + 1}") for i in range(s.providers)]
        served = [(providers[i % s.providers][0], loc[0]) for i, loc in enumerate(locations)]
        tables["locations"], tables["authorized_providers"], tables["provider_locations"] = locations, providers, served
        tables["course_templates"] = [
            (self.uuid(), name, code, months, "{" + ",".join(spec) + "}", 0.5, 0.5, 75, True)
            for name, code, months, spec in COURSES
        ]
        self.locations_of = {p[0]: [l_id for p_id, l_id in served if p_id == p[0]] for p in providers}
        return tables

    def people(self, tables: dict[str, list[tuple[Any, ...]]]) -> None:
        s, rng = self.scale, self.rng
        providers = [p[0] for p in tables["authorized_providers"]]
        profiles: list[tuple[Any, ...]] = []
        instructors: list[tuple[Any, ...]] = []
        self.staff: dict[uuid.UUID, list[uuid.UUID]] = {p: [] for p in providers}
        admin = self.uuid()
        profiles.append((admin, "Seed Admin", "SA", "admin@example.org", None, None, 100, "robust", "compliant"))
        self.admin = admin
        # an AD beside the SA (its id not drawn from the stream, so the rest of the data is what it always was)
        auditor = uuid.uuid5(admin, "administrator")
        profiles.append(
            (auditor, "Seed Administrator", "AD", "administrator@example.org", None, None, 0, "none", "unassessed")
        )
        self.aps: list[tuple[uuid.UUID, uuid.UUID]] = []
        for provider in providers:
            location = self.locations_of[provider][0]
            ap = self.uuid()
            self.aps.append((ap, provider))
            profiles.append(
                (ap, f"Provider admin {len(self.aps)}", "AP", "", provider, location, 0, "none", "unassessed")
            )
        for i in range(s.instructors):
            provider = providers[i % len(providers)]
            person, role = self.uuid(), rng.choice(["IC", "IC", "IC", "IP"])
            score = rng.randint(40, 100)
            tier, status = (
                ("robust", "compliant")
                if score >= 80
                else (("basic", "at_risk") if score >= 60 else ("none", "non_compliant"))
            )
            location = rng.choice(self.locations_of[provider])
            profiles.append(
                (
                    person,
                    f"Instructor {i + 1}",
                    role,
                    f"instructor{i + 1}@example.org",
                    provider,
                    location,
                    score,
                    tier,
                    status,
                )
            )
            specialties = "{cpr,first_aid,aed,instructor}"
            instructors.append((person, specialties, 30, self.today + timedelta(days=rng.randint(30, 900))))
            self.staff[provider].append(person)
        self.learners = []
        for i in range(s.learners):
            person = self.uuid()
            location = rng.choice(tables["locations"])[0]
            role = "IN" if i % 3 else "IT"
            profiles.append(
                (
                    person,
                    f"Learner {i + 1}",
                    role,
                    f"learner{i + 1}@example.org",
                    None,
                    location,
                    0,
                    "none",
                    "unassessed",
                )
            )
            self.learners.append(person)
        tables["profiles"], tables["instructor_profiles"] = profiles, instructors

    def sessions(self, tables: dict[str, list[tuple[Any, ...]]]) -> None:
        s, rng = self.scale, self.rng
        courses = [c[0] for c in tables["course_templates"]]
        providers = [p[0] for p in tables["authorized_providers"]]
        rows, self.session_rows = [], []
        for i in range(s.sessions):
            provider = providers[i % len(providers)]
            location = rng.choice(self.locations_of[provider])
            lead = rng.choice(self.staff[provider])
            offset = rng.randint(-540, 180)  # mostly past, some upcoming
            starts = self.now + timedelta(days=offset, hours=rng.randint(-3, 6))
            status = "completed" if offset < -1 else ("in_progress" if offset == 0 else "scheduled")
            if rng.random() < 0.03:
                status = "cancelled"
            capacity = rng.randint(20, 30)
            session = (
                self.uuid(),
                rng.choice(courses),
                f"Session {i + 1}",
                location,
                provider,
                lead,
                starts,
                starts + timedelta(hours=7),
                capacity,
                status,
            )
            rows.append(session)
            self.session_rows.append(session)
        tables["training_sessions"] = rows

    def enrollments(self, tables: dict[str, list[tuple[Any, ...]]]) -> None:
        s, rng = self.scale, self.rng
        per_session = max(1, s.enrollments // max(1, s.sessions))
        rows, certificates, self.completed = [], [], []
        for session in self.session_rows:
            session_id, course, _, location, provider, lead, starts, _, capacity, status = session
            learners = rng.sample(self.learners, min(per_session, len(self.learners)))
            for position, learner in enumerate(learners, start=1):
                waitlisted = position > capacity
                state = "cancelled" if status == "cancelled" else ("waitlisted" if waitlisted else "enrolled")
                wait_pos = position - capacity if state == "waitlisted" else None
                past = status == "completed" and state == "enrolled"
                attendance = rng.choices(["attended", "partial", "absent"], [90, 5, 5])[0] if past else "registered"
                passed = past and attendance == "attended" and rng.random() < 0.9
                completion = ("completed" if passed else "failed") if past else "not_started"
                scores = (
                    (rng.randint(80, 100), rng.randint(75, 100))
                    if passed
                    else ((rng.randint(30, 74), rng.randint(30, 74)) if past else (None, None))
                )
                enrollment_id = self.uuid()
                enrolled_at = starts - timedelta(days=rng.randint(3, 60))
                cancelled_at = enrolled_at + timedelta(days=1) if state == "cancelled" else None
                rows.append(
                    (
                        enrollment_id,
                        session_id,
                        learner,
                        state,
                        wait_pos,
                        attendance,
                        completion,
                        scores[0],
                        scores[1],
                        enrolled_at,
                        cancelled_at,
                    )
                )
                if passed:
                    self.completed.append((enrollment_id, session, learner, starts.date()))
        tables["session_enrollments"] = rows
        names = {p[0]: p[1] for p in tables["profiles"]}
        course_info = {c[0]: (c[1], c[3]) for c in tables["course_templates"]}
        codes: set[str] = set()
        for enrollment_id, session, learner, day in self.completed[: s.certificates]:
            session_id, course, _, location, provider, lead, *_ = session
            code = encode(rng.getrandbits(RANDOM_BITS)).canonical
            while code in codes:
                code = encode(rng.getrandbits(RANDOM_BITS)).canonical
            codes.add(code)
            name, months = course_info[course]
            certificates.append(
                (
                    self.uuid(),
                    code,
                    "session_enrollment",
                    enrollment_id,
                    names[learner],
                    learner,
                    course,
                    name,
                    location,
                    provider,
                    session_id,
                    "{" + str(lead) + "}",
                    names[lead],
                    lead,
                    day,
                    add_months(day, months),
                    lead,
                    None,
                    None,
                )
            )
        # the daily upkeep has run: each current certificate past its expiry date had it recorded the day after
        tables["certificates"] = [
            (*row, row[15] + timedelta(days=1) if row[-1] is None and row[15] < self.today else None)
            for row in _supersede_older(certificates)
        ]

    def teams(self, tables: dict[str, list[tuple[Any, ...]]]) -> None:
        rows, members = [], []
        providers = [p[0] for p in tables["authorized_providers"]]
        for i in range(self.scale.teams):
            provider = providers[i % len(providers)]
            team = self.uuid()
            rows.append((team, f"Team {i + 1}", provider, self.locations_of[provider][0], self.admin))
            for person in self.rng.sample(self.staff[provider], min(5, len(self.staff[provider]))):
                members.append((team, person, "member", self.now))
        tables["teams"], tables["team_members"] = rows, members


_ZONES = ["America/Toronto", "America/Vancouver", "America/Halifax", "America/Winnipeg", "UTC"]

COLUMNS = {
    "locations": "id, name, timezone",
    "authorized_providers": "id, name",
    "provider_locations": "provider_id, location_id",
    "course_templates": "id, name, code, validity_months, required_specialties, practical_weight, written_weight, pass_threshold, requires_both_scores",
    "profiles": "id, display_name, role, email, provider_id, location_id, compliance_score, compliance_tier, compliance_status",
    "instructor_profiles": "id, specialties, max_students_per_session, credential_expires_on",
    "training_sessions": "id, course_id, title, location_id, provider_id, lead_instructor_id, starts_at, ends_at, max_capacity, status",
    "session_enrollments": "id, session_id, learner_id, status, waitlist_position, attendance_status, completion_status, practical_score, written_score, enrolled_at, cancelled_at",
    "certificates": "id, verification_code, completion_kind, completion_id, recipient_name, recipient_user_id, course_id, course_name, location_id, provider_id, session_id, instructor_ids, instructor_name, issued_by, issue_date, expiry_date, lead_instructor_id, supersedes_id, superseded_by_id, expired_on",
    "teams": "id, name, provider_id, location_id, created_by",
    "team_members": "team_id, user_id, role, added_at",
}
ORDER = list(COLUMNS)
# what the triggers wrote while the rows above were copied in and counted (migrations 0014, 0020): rewritten key by
# key, they hold dead rows and no visibility map until vacuumed — and the dashboards read them by index only
KEPT_BY_TRIGGERS = [t.t_certificate_counts.name, *(table.name for table in ROLLUP_TABLES)]


def _supersede_older(certificates: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One current certificate per learner and course (the database holds this): each learner's older certificates
    for a course are superseded by the next one issued."""
    by_holder: dict[tuple[Any, Any], list[int]] = {}
    for index, row in enumerate(certificates):
        by_holder.setdefault((row[5], row[6]), []).append(index)  # (recipient_user_id, course_id)
    out = list(certificates)
    for indexes in by_holder.values():
        ordered = sorted(indexes, key=lambda i: (certificates[i][14], str(certificates[i][0])))  # issue date, id
        for older, newer in itertools.pairwise(ordered):
            out[older] = (*out[older][:-1], certificates[newer][0])
            out[newer] = (*out[newer][:-2], certificates[older][0], out[newer][-1])
    return out


def generate(scale: Scale, seed: int, today: date) -> dict[str, list[tuple[Any, ...]]]:
    generator = Generator(scale, seed, today)
    tables = generator.organization()
    generator.people(tables)
    generator.sessions(tables)
    generator.enrollments(tables)
    generator.teams(tables)
    return tables


def load(
    engine: Engine, schema: str, tables: Mapping[str, Sequence[tuple[Any, ...]]], progress: Progress | None = None
) -> dict[str, int]:
    """COPY every table in dependency order, in one transaction, as the owner."""
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(f'SET LOCAL search_path TO "{schema}"')
            cursor.execute("ALTER TABLE session_enrollments DISABLE TRIGGER enrollment_counters")
            for table in ORDER:
                rows = tables.get(table, [])
                _copy(cursor, table, COLUMNS[table], rows, progress)
            cursor.execute("ALTER TABLE session_enrollments ENABLE TRIGGER enrollment_counters")
            cursor.execute(
                "UPDATE training_sessions s SET seats_taken = c.seats, waitlist_length = c.waiting,"
                " active_enrollments = c.active, attended_count = c.attended, completed_count = c.completed,"
                " failed_count = c.failed FROM ("
                " SELECT session_id, count(*) FILTER (WHERE status = 'enrolled') AS seats,"
                " count(*) FILTER (WHERE status = 'waitlisted') AS waiting,"
                " count(*) FILTER (WHERE status <> 'cancelled') AS active,"
                " count(*) FILTER (WHERE status = 'enrolled' AND attendance_status = 'attended') AS attended,"
                " count(*) FILTER (WHERE status = 'enrolled' AND completion_status = 'completed') AS completed,"
                " count(*) FILTER (WHERE status = 'enrolled' AND completion_status = 'failed') AS failed"
                " FROM session_enrollments GROUP BY session_id) c WHERE c.session_id = s.id"
            )
        raw.commit()
        driver.autocommit = True
        with driver.cursor() as cursor:  # fresh visibility maps and statistics, as after autovacuum
            for table in [*ORDER, *KEPT_BY_TRIGGERS]:
                cursor.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')
    finally:
        raw.close()
    return {table: len(tables.get(table, [])) for table in ORDER}


def _copy(cursor: Any, table: str, columns: str, rows: Iterable[tuple[Any, ...]], progress: Progress | None) -> None:
    rows = list(rows)
    step = max(1, len(rows) // 20)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for index, row in enumerate(rows, start=1):
            copy.write_row(row)
            if progress is not None and (index % step == 0 or index == len(rows)):
                progress(table, index, len(rows))


def seed(
    engine: Engine,
    schema: str,
    scale: str,
    seed_value: int = 1,
    today: date | None = None,
    progress: Progress | None = None,
) -> SeedReport:
    import time as clock

    started = clock.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        if connection.execute(text("SELECT EXISTS (SELECT 1 FROM training_sessions)")).scalar():
            raise SeedRefused(f"schema {schema} already holds sessions; seed an empty schema (ARCCM_DB_SCHEMA)")
    tables = generate(SCALES[scale], seed_value, today or date.today())  # noqa: DTZ011 - the seed's anchor is the operator's day
    rows = load(engine, schema, tables, progress)
    return SeedReport(scale, rows, round(clock.perf_counter() - started, 2))


class SeedRefused(RuntimeError):
    """Seeding would mix generated rows with existing data."""
