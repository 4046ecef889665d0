"""The rollups (migration 0020) equal a recount of the rows they count after any workload — use cases run one after
another, statements over many rows, rolled-back transactions, writers at the same rollup rows at once — and so do
the dashboards and analytics that read them: the same statement counting the rows themselves
(``rolled=False``) answers the same for every administrator and AP, any day and any window."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Result, Success
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from arccm.adapters.postgres.migrations import earlier
from arccm.adapters.postgres.read_models import ROLLUP_TABLES, analytics_query, dashboard_query, fetch, prune_rollups
from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.enrollment import Attendance
from tests.conftest import PgSchema
from tests.integration.test_concurrency import learners, run_concurrently
from tests.world import NOW, World, ok

pytestmark = pytest.mark.needs_postgres

ROLLUPS = earlier("0020_rollups.py")


def drift(pg_schema: PgSchema) -> dict[str, dict[tuple[Any, ...], tuple[Any, Any]]]:
    """Each rollup's keys whose kept sums differ from a recount of the source rows: kept, recounted (a key kept at
    all zeros is a key the recount does not have)."""
    out: dict[str, dict[tuple[Any, ...], tuple[Any, Any]]] = {}
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        for name, (keys, _sums, _) in ROLLUPS.ROLLUPS.items():
            width = len(keys)
            kept = {
                tuple(r[:width]): tuple(r[width:])
                for r in connection.execute(text(f"SELECT * FROM {name}"))
                if any(v != 0 for v in r[width:])
            }
            recount = {tuple(r[:width]): tuple(r[width:]) for r in connection.execute(text(ROLLUPS.recount(name)))}
            wrong = {
                key: (kept.get(key), recount.get(key))
                for key in set(kept) | set(recount)
                if kept.get(key) != recount.get(key)
            }
            if wrong:
                out[name] = wrong
    return out


class Organization:
    """Two providers (two locations and one), two APs, instructors, learners, and sessions on a few days."""

    def __init__(self, pg_schema: PgSchema) -> None:
        self.pg_schema = pg_schema
        self.world = World.create(pg_schema.container())
        self.providers = [self.world.provider(locations=2), self.world.provider(locations=1)]
        self.aps = [self.world.user(Role.AP, p) for p in self.providers]
        assert self.world.admin is not None
        self.admin: Actor = self.world.admin
        self.learners = learners(self.world, 12)
        self.sessions: list[uuid.UUID] = []
        self.today = NOW.date()

    @property
    def container(self) -> Any:
        return self.world.container

    def schedule(self, index: int, days: int) -> None:
        """A session at location ``index`` (of three), starting ``days`` from now, led by an instructor of its own
        (so that any number of sessions may run at once)."""
        location = self.world.locations[index % 3]
        which = 0 if index % 3 < 2 else 1
        lead = self.world.user(Role.IC, self.providers[which])
        session = self.world.session(
            self.aps[which], lead, capacity=3, location=location, starts_in=timedelta(days=days)
        )
        self.sessions.append(session.id)

    def enrollments(self, session_id: uuid.UUID) -> list[dict[str, Any]]:
        with self.pg_schema.owner.connect() as connection:
            found = connection.execute(
                text(f'SELECT id, status FROM "{self.pg_schema.name}".session_enrollments WHERE session_id = :s'),
                {"s": session_id},
            )
            return [dict(r) for r in found.mappings()]

    def certificates(self) -> list[uuid.UUID]:
        with self.pg_schema.owner.connect() as connection:
            found = connection.execute(text(f'SELECT id FROM "{self.pg_schema.name}".certificates ORDER BY id'))
            return list(found.scalars())

    def step(self, kind: str, pick: int, arg: int) -> Result[Any, Any] | None:
        """One use case of a workload (its outcome: refusals are part of the workload too)."""
        if not self.sessions or kind == "schedule":
            self.schedule(pick, 1 + abs(arg))
            return None
        session = self.sessions[pick % len(self.sessions)]
        container, admin = self.container, self.admin
        if kind == "enroll":
            return container.enroll_learner()(admin, c.EnrollLearner(session, self.learners[arg % len(self.learners)]))
        if kind == "cancel":
            live = [e for e in self.enrollments(session) if e["status"] != "cancelled"]
            if not live:
                return None
            return container.cancel_enrollment()(admin, c.CancelEnrollment(session, live[arg % len(live)]["id"]))
        if kind == "reschedule":  # to another day (another key of session_rollups)
            starts = NOW + timedelta(days=1 + abs(arg), hours=pick % 5)
            return container.reschedule_session()(
                admin, c.RescheduleSession(session, starts, starts + timedelta(hours=4))
            )
        if kind == "capacity":
            return container.change_capacity()(admin, c.ChangeCapacity(session, 1 + arg % 5))
        if kind == "cancel_session":
            return container.cancel_session()(admin, c.CancelSession(session, "weather"))
        if kind == "run":  # start, attend, assess, complete and certify the class
            return self.run(session)
        certificates = self.certificates()
        if kind == "revoke" and certificates:
            chosen = certificates[arg % len(certificates)]
            return container.revoke_certificate()(admin, c.RevokeCertificate(chosen, "issued in error"))
        return None

    def run(self, session: uuid.UUID) -> Result[Any, Any]:
        """The class of ``session`` run on its day (the clock set to its start, and back after)."""
        with self.pg_schema.owner.connect() as connection:
            starts = connection.execute(
                text(f'SELECT starts_at FROM "{self.pg_schema.name}".training_sessions WHERE id = :s'), {"s": session}
            ).scalar_one()
        self.world.clock.current = starts
        try:
            return self._run(session)
        finally:
            self.world.clock.current = NOW

    def _run(self, session: uuid.UUID) -> Result[Any, Any]:
        container, admin = self.container, self.admin
        started = container.start_session()(admin, c.StartSession(session))
        if isinstance(started, Failure):
            return started
        for e in self.enrollments(session):
            if e["status"] == "enrolled":
                ok(container.record_attendance()(admin, c.RecordAttendance(session, e["id"], Attendance.ATTENDED)))
                assessment = c.RecordAssessment(session, e["id"], Decimal(90), Decimal(85))
                ok(container.record_assessment()(admin, assessment))
                ok(container.complete_enrollment()(admin, c.CompleteEnrollment(session, e["id"])))
        ok(container.complete_session()(admin, c.CompleteSession(session)))
        batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session, chunk_size=2)
        return container.batch_issue_certificates()(admin, batch)

    def statement(self, kind: str, mask: list[bool], arg: int) -> tuple[str, dict[str, Any]]:
        """One statement over many rows at once, as an operator's correction would be."""
        chosen = [s for s, keep in zip(self.sessions, mask, strict=False) if keep]
        locations = [loc.id for loc in self.world.locations]
        providers: list[uuid.UUID | None] = [p.id for p in self.providers] + [None]
        if kind == "move_sessions":
            return (
                "UPDATE training_sessions SET location_id = :loc, provider_id = :prov WHERE id = ANY(:ids)",
                {"ids": chosen, "loc": locations[arg % 3], "prov": providers[arg % 3]},
            )
        if kind == "shift_sessions":  # across a UTC midnight or not, for every chosen session at once
            return (
                "UPDATE training_sessions SET starts_at = starts_at + make_interval(hours => :h),"
                " ends_at = ends_at + make_interval(hours => :h) WHERE id = ANY(:ids)",
                {"ids": chosen, "h": arg},
            )
        if kind == "move_certificates":
            return (
                "UPDATE certificates SET location_id = :loc, provider_id = :prov, expiry_date = expiry_date + :d",
                {"loc": locations[arg % 3], "prov": providers[arg % 3], "d": arg % 3},
            )
        if kind == "supersede":
            return (
                "UPDATE certificates SET superseded_by_id = CASE WHEN superseded_by_id IS NULL THEN"
                " (SELECT min(id::text)::uuid FROM certificates) END WHERE issue_date <= :day",
                {"day": self.today + timedelta(days=arg)},
            )
        assert kind == "compliance"
        return (
            "UPDATE profiles SET compliance_score = ((compliance_score + :n) % 101 + 101) % 101,"
            " compliance_status = CASE WHEN (compliance_score + :n) % 3 = 0 THEN 'unassessed' ELSE 'compliant' END,"
            " location_id = CASE WHEN :n % 2 = 0 THEN location_id ELSE :loc END WHERE role IN ('IC', 'AP')",
            {"n": arg, "loc": locations[arg % 3]},
        )

    def readers(self) -> list[Actor]:
        return [self.admin, *self.aps]

    def reads_agree(self, days: list[date]) -> None:
        """Every reader's dashboard (any day) and analytics (any window, every grouping) from the rollups equal the
        same statement counting the rows themselves."""
        database = self.container.database()
        for actor in self.readers():
            for day in days:
                rolled = fetch(database, actor, *dashboard_query(actor, day))
                recount = fetch(database, actor, *dashboard_query(actor, day, rolled=False))
                assert [dict(r) for r in rolled] == [dict(r) for r in recount], (actor.role, day)
                for group in (None, "location", "course"):
                    start, end = day - timedelta(days=20), day + timedelta(days=20)
                    rolled = fetch(database, actor, *analytics_query(actor, start, end, day, group))
                    recount = fetch(database, actor, *analytics_query(actor, start, end, day, group, rolled=False))
                    assert [dict(r) for r in rolled] == [dict(r) for r in recount], (actor.role, day, group)


@pytest.fixture
def org(pg_schema: PgSchema) -> Organization:
    return Organization(pg_schema)


USE_CASES = ["schedule", "enroll", "enroll", "enroll", "cancel", "reschedule", "capacity", "cancel_session", "run"]
USE_CASES += ["revoke"]
STATEMENTS = ["move_sessions", "shift_sessions", "move_certificates", "supersede", "compliance"]
use_case = st.tuples(st.just("use"), st.sampled_from(USE_CASES), st.integers(0, 30), st.integers(-20, 20))
statement = st.tuples(
    st.just("sql"), st.sampled_from(STATEMENTS), st.lists(st.booleans(), min_size=6, max_size=6), st.integers(-30, 30)
)
rolled_back = st.tuples(st.just("rollback"), st.lists(statement.map(lambda s: s[1:]), min_size=1, max_size=3))


def rows_counting_nothing(pg_schema: PgSchema) -> dict[str, int]:
    """Per rollup, its rows whose every sum is zero."""
    out = {}
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        for table in ROLLUP_TABLES:
            sums = [name for name, _ in ROLLUPS.ROLLUPS[table.name][1]]
            nothing = " AND ".join(f"{name} = 0" for name in sums)
            out[table.name] = connection.execute(
                text(f"SELECT count(*) FROM {table.name} WHERE {nothing}")
            ).scalar_one()
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.one_of(use_case, use_case, statement, rolled_back, st.just(("prune",))), min_size=1, max_size=12),
    offsets=st.lists(st.integers(-25, 25), max_size=2),
)
def test_the_rollups_equal_a_recount_after_any_workload_and_so_do_the_reads(
    org: Organization, steps: list[tuple[Any, ...]], offsets: list[int]
) -> None:
    """Pruning (rows that count nothing deleted) anywhere in the workload: the writers after it count into the keys
    it removed, and everything still equals a recount."""
    for step in steps:
        if step[0] == "use":
            org.step(*step[1:])
            continue
        if step[0] == "prune":
            prune_rollups(org.container.database())
            assert set(rows_counting_nothing(org.pg_schema).values()) == {0}
            continue
        statements = [step[1:]] if step[0] == "sql" else step[1]
        with org.pg_schema.owner.connect() as connection:
            connection.execute(text(f'SET search_path TO "{org.pg_schema.name}"'))
            for kind, mask, arg in statements:
                connection.execute(text(org.statement(kind, mask, arg)[0]), org.statement(kind, mask, arg)[1])
            if step[0] == "sql":
                connection.commit()
            else:
                connection.rollback()
    assert drift(org.pg_schema) == {}
    org.reads_agree(sorted({org.today, *(org.today + timedelta(days=o) for o in offsets)}))


def test_pruning_deletes_the_keys_whose_rows_all_moved_away_and_a_writer_brings_them_back(org: Organization) -> None:
    """A session moved to another day leaves its old key at zeros; pruning deletes exactly such rows (and nothing
    that counts), the dashboards and analytics read the same before and after, and moving the session back counts
    it under the old key again."""
    org.schedule(0, 3)
    ok(org.container.enroll_learner()(org.admin, c.EnrollLearner(org.sessions[0], org.learners[0])))
    org.step("reschedule", 0, 9)  # day 3 → day 10: day 3's key of session_rollups now counts nothing
    left = rows_counting_nothing(org.pg_schema)
    assert left["session_rollups"] >= 1
    pruned = prune_rollups(org.container.database())
    assert pruned == left
    assert set(rows_counting_nothing(org.pg_schema).values()) == {0}
    assert drift(org.pg_schema) == {}
    org.reads_agree([org.today, org.today + timedelta(days=3)])
    org.step("reschedule", 0, 2)  # back to day 3: its key is inserted again by the trigger
    assert drift(org.pg_schema) == {}
    assert prune_rollups(org.container.database())["session_rollups"] >= 1  # day 10's key, now empty
    assert drift(org.pg_schema) == {}


def test_writers_at_the_same_rollup_rows_at_once_leave_them_exact(org: Organization) -> None:
    """Eight threads at once, all at the same location, course and day (the same rows of every rollup): enrollments
    and cancellations, capacity changes, a class run and certified, sessions moved between locations by statements
    over many rows, the rows that count nothing pruned — each its own transaction, a lost race retried as the caller
    would."""
    for _ in range(6):
        org.schedule(0, 3)  # one location, one day: one key of session_rollups, one of open_session_counts
    org.schedule(1, 3)
    learners_ = org.learners

    def enrolling(seed: int) -> Any:
        rng = random.Random(seed)
        for _ in range(12):
            session = rng.choice(org.sessions[:6])
            if rng.random() < 0.7:
                learner = rng.choice(learners_)
                org.container.enroll_learner()(org.admin, c.EnrollLearner(session, learner))
            else:
                org.step("cancel", org.sessions.index(session), rng.randint(0, 9))
        return None

    def moving(seed: int) -> Any:
        rng = random.Random(seed)
        for _ in range(8):
            sql, params = org.statement("move_sessions", [rng.random() < 0.5 for _ in range(7)], rng.randint(0, 2))
            while True:  # a deadlock with a use case is this statement's to retry (the use cases retry their own)
                try:
                    with org.pg_schema.owner.begin() as connection:
                        connection.execute(text(f'SET LOCAL search_path TO "{org.pg_schema.name}"'))
                        connection.execute(text(sql), params)
                    break
                except OperationalError as error:
                    if getattr(error.orig, "sqlstate", None) != "40P01":
                        raise
        return None

    def capacity(seed: int) -> Any:
        rng = random.Random(seed)
        for _ in range(8):
            session = rng.choice(org.sessions[:6])
            org.container.change_capacity()(org.admin, c.ChangeCapacity(session, rng.randint(1, 6)))
        return None

    def pruning() -> Any:
        for _ in range(10):
            prune_rollups(org.container.database())
        return None

    jobs = [lambda n=n: enrolling(n) for n in range(5)] + [lambda: moving(99), lambda: capacity(7), pruning]
    jobs.append(lambda: org.run(org.sessions[6]))
    outcomes = run_concurrently(jobs, threads=len(jobs))
    certified = [o for o in outcomes if o is not None]
    assert all(isinstance(o, Success) for o in certified), certified
    assert drift(org.pg_schema) == {}
    org.reads_agree([org.today, org.today + timedelta(days=3)])


def test_a_deleted_or_truncated_source_leaves_its_rollups_exact(org: Organization) -> None:
    org.schedule(0, 2)
    org.schedule(2, 5)
    for learner in org.learners[:4]:
        ok(org.container.enroll_learner()(org.admin, c.EnrollLearner(org.sessions[0], learner)))
    with org.pg_schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{org.pg_schema.name}"'))
        connection.execute(text("DELETE FROM session_enrollments WHERE session_id = :s"), {"s": org.sessions[0]})
        connection.execute(text("DELETE FROM training_sessions WHERE id = :s"), {"s": org.sessions[0]})
    assert drift(org.pg_schema) == {}
    with org.pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{org.pg_schema.name}"'))
        assert connection.execute(text("SELECT sum(sessions) FROM session_rollups")).scalar() == 1
        connection.execute(text("TRUNCATE training_sessions, session_enrollments CASCADE"))
        connection.commit()
        assert connection.execute(text("SELECT count(*) FROM session_rollups")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM open_session_counts")).scalar() == 0
    assert drift(org.pg_schema) == {}


def test_an_actor_reads_only_its_own_rollup_rows_and_writes_none(org: Organization) -> None:
    org.schedule(0, 2)
    org.schedule(2, 2)
    database = org.container.database()
    far = org.aps[1]  # its provider's one location holds the second session only
    rows = fetch(database, far, "SELECT location_id FROM open_session_counts", {})
    assert {r["location_id"] for r in rows} == {org.world.locations[2].id}
    learner = org.world.user(Role.IT, org.providers[0])
    assert fetch(database, learner, "SELECT * FROM session_rollups", {}) == []
    with pytest.raises(Exception, match="permission denied"):
        fetch(database, org.admin, "UPDATE session_rollups SET sessions = 0 RETURNING 1", {})
    assert drift(org.pg_schema) == {}


def test_the_migration_counts_what_was_there_before_it(pg_schema: PgSchema) -> None:
    """Rows written before migration 0020 (a deployment upgraded in place) are counted by its backfill."""
    org = Organization(pg_schema)
    org.schedule(0, 1)
    ok(org.container.enroll_learner()(org.admin, c.EnrollLearner(org.sessions[0], org.learners[0])))
    org.run(org.sessions[0])
    pg_schema.database.downgrade("0019")
    pg_schema.database.upgrade()
    assert drift(pg_schema) == {}
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        assert connection.execute(text("SELECT sum(certificates) FROM certificate_rollups")).scalar() == 1
