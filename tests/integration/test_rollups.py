"""The rollups (migration 0020) equal a recount of the rows they count after any workload — use cases run one after
another, statements over many rows, rolled-back transactions, writers at the same rollup rows at once — and so do
the dashboards and analytics that read them: the same statement counting the rows themselves
(``rolled=False``) answers the same for every administrator and AP, any day and any window."""

from __future__ import annotations

import random
import threading
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
from arccm.domain.team import Team
from tests.conftest import PgSchema
from tests.integration.test_concurrency import learners, run_concurrently
from tests.world import NOW, World, ok

pytestmark = pytest.mark.needs_postgres

ROLLUPS = earlier("0020_rollups.py")
DASHBOARD = earlier("0022_dashboard_counts.py")
# every table kept by triggers that the rollups' readers use: (key columns, sum columns, its rows, recount)
KEPT: dict[str, tuple[int, list[str], str, str]] = {
    name: (len(ROLLUPS.ROLLUPS[name][0]), [s for s, _ in ROLLUPS.ROLLUPS[name][1]], f"SELECT * FROM {name}",
           ROLLUPS.recount(name))
    for name in ("session_rollups", "certificate_rollups")
}  # fmt: skip
KEPT["dashboard_counts"] = (
    3,
    DASHBOARD.SUMS,  # a key's rows summed over their slots (a team's writer counts in a row of its own)
    f"SELECT kind, location_id, provider_id, {', '.join(f'sum({s})' for s in DASHBOARD.SUMS)} FROM dashboard_counts"
    " GROUP BY kind, location_id, provider_id",
    DASHBOARD.recount(),
)


def drift(pg_schema: PgSchema) -> dict[str, dict[tuple[Any, ...], tuple[Any, Any]]]:
    """Each rollup's keys whose kept sums differ from a recount of the source rows: kept, recounted (a key kept at
    all zeros is a key the recount does not have)."""
    out: dict[str, dict[tuple[Any, ...], tuple[Any, Any]]] = {}
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        for name, (width, _sums, rows, counted) in KEPT.items():
            kept = {
                tuple(r[:width]): tuple(r[width:])
                for r in connection.execute(text(rows))
                if any(v != 0 for v in r[width:])
            }
            recount = {tuple(r[:width]): tuple(r[width:]) for r in connection.execute(text(counted))}
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
        self.teams: list[uuid.UUID] = []
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
        if kind in ("team", "member", "unmember"):
            return self.team_step(kind, pick, arg)
        certificates = self.certificates()
        if kind == "revoke" and certificates:
            chosen = certificates[arg % len(certificates)]
            return container.revoke_certificate()(admin, c.RevokeCertificate(chosen, "issued in error"))
        return None

    def team_step(self, kind: str, pick: int, arg: int) -> Result[Any, Any] | None:
        """A team made (of a provider, at a location, or neither), or a member added or removed."""
        container = self.container
        if kind == "team" or not self.teams:
            which = pick % 3  # of the first provider, the second or none (only an administrator makes teams)
            provider = self.providers[which].id if which < 2 and arg % 3 != 0 else None
            places = [loc.id for loc in self.world.locations]
            places = (places[:2] if which == 0 else places[2:]) if provider else places
            location = places[abs(arg) // 2 % len(places)] if arg % 2 == 0 else None
            made = container.create_team()(self.admin, c.CreateTeam(f"team {len(self.teams)}", provider, location))
            if isinstance(made, Success):
                self.teams.append(made.unwrap().id)
            return made
        team = self.teams[pick % len(self.teams)]
        person = self.learners[arg % len(self.learners)]
        if kind == "member":
            return container.add_team_member()(self.admin, c.AddTeamMember(team, person))
        return container.remove_team_member()(self.admin, c.RemoveTeamMember(team, person))

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
        if kind == "move_teams":  # a team's members move with it; an AP's teams elsewhere count for it too
            return (
                "UPDATE teams SET location_id = :loc, provider_id = :prov,"
                " created_by = CASE WHEN :n % 2 = 0 THEN :ap ELSE created_by END WHERE id = ANY(:ids)",
                {"ids": [t for t, keep in zip(self.teams, mask, strict=False) if keep], "loc": locations[arg % 3],
                 "prov": providers[(arg + 1) % 3], "n": arg, "ap": self.aps[arg % 2].user_id},
            )  # fmt: skip
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
USE_CASES += ["revoke", "team", "member", "member", "unmember"]
STATEMENTS = ["move_sessions", "shift_sessions", "move_certificates", "supersede", "compliance", "move_teams"]
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
            sums = KEPT[table.name][1]
            nothing = " AND ".join(f"{name} = 0" for name in sums)
            out[table.name] = connection.execute(
                text(f"SELECT count(*) FROM {table.name} WHERE {nothing}")
            ).scalar_one()
    return out


def own_slots(pg_schema: PgSchema) -> int:
    with pg_schema.owner.connect() as connection:
        found = connection.execute(text(f'SELECT count(*) FROM "{pg_schema.name}".dashboard_counts WHERE slot <> 0'))
        return int(found.scalar_one())


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
            assert own_slots(org.pg_schema) == 0  # the teams' rows of each transaction folded into one per key
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
    """Eleven threads at once, all at the same location, course and day (the same rows of every rollup): enrollments
    and cancellations, capacity changes, a class run and certified, sessions and teams moved between locations by
    statements over many rows, team members added and removed, the rows that count nothing pruned — each its own transaction, a lost race retried as the caller
    would."""
    for _ in range(6):
        org.schedule(0, 3)  # one location, one day: one key of session_rollups, one of dashboard_counts
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

    def moving(seed: int, kind: str = "move_sessions") -> Any:
        rng = random.Random(seed)
        for _ in range(8):
            sql, params = org.statement(kind, [rng.random() < 0.5 for _ in range(7)], rng.randint(0, 2))
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

    def members(seed: int) -> Any:  # each member counted where its team is, while the teams move
        rng = random.Random(seed)
        for _ in range(12):
            org.team_step(rng.choice(["member", "member", "unmember"]), rng.randint(0, 9), rng.randint(0, 11))
        return None

    for pick in range(3):
        ok(org.team_step("team", pick, 4))  # where the sessions are, for the AP of them
    jobs = [lambda n=n: enrolling(n) for n in range(4)] + [lambda: moving(99), lambda: capacity(7), pruning]
    jobs += [lambda: members(5), lambda: members(6), lambda: moving(98, "move_teams")]
    jobs.append(lambda: org.run(org.sessions[6]))
    outcomes = run_concurrently(jobs, threads=len(jobs))
    certified = [o for o in outcomes if o is not None]
    assert all(isinstance(o, Success) for o in certified), certified
    assert drift(org.pg_schema) == {}
    org.reads_agree([org.today, org.today + timedelta(days=3)])


def test_a_team_made_while_another_transaction_holds_one_open_does_not_wait_for_it(org: Organization) -> None:
    """Each transaction counts its teams in a row of its own (migration 0022): a unit of work that made a team and
    stays open holds no other maker of teams back, at the same location and provider or any other; pruning folds the
    rows of the committed ones into one per key and leaves the open one's alone."""
    done = threading.Event()
    with org.container.unit_of_work()(None) as held:
        team = Team(uuid.uuid4(), "held")
        Team.create(team, NOW)
        held.teams.add(team)  # written now: the trigger has counted it in the held transaction's row

        def another() -> None:
            ok(org.team_step("team", 2, 1))  # no provider, no location: the held team's key
            ok(org.team_step("member", 0, 0))
            done.set()

        worker = threading.Thread(target=another, daemon=True)
        worker.start()
        assert done.wait(timeout=60), "a team maker waited for another transaction"
        worker.join()
        assert own_slots(org.pg_schema) == 2  # the team's transaction and the member's (the held one is not seen)
        prune_rollups(org.container.database())
        assert own_slots(org.pg_schema) == 0
        assert drift(org.pg_schema) == {}
        held.commit()
    assert own_slots(org.pg_schema) == 1  # the held one's, committed now
    assert drift(org.pg_schema) == {}
    prune_rollups(org.container.database())
    assert own_slots(org.pg_schema) == 0
    assert drift(org.pg_schema) == {}


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
        assert connection.execute(text("SELECT count(*) FROM dashboard_counts WHERE kind = 'sessions'")).scalar() == 0
    assert drift(org.pg_schema) == {}
    team = ok(org.team_step("team", 0, 4))
    ok(org.team_step("member", 0, 0))
    ok(org.team_step("member", 0, 1))
    with org.pg_schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{org.pg_schema.name}"'))
        connection.execute(text("DELETE FROM team_members WHERE user_id = :u"), {"u": org.learners[0]})
    assert drift(org.pg_schema) == {}
    with org.pg_schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{org.pg_schema.name}"'))
        connection.execute(text("DELETE FROM team_members"))
        connection.execute(text("DELETE FROM teams WHERE id = :t"), {"t": team.id})
    assert drift(org.pg_schema) == {}
    ok(org.team_step("team", 1, 4))
    ok(org.team_step("member", 1, 0))
    with org.pg_schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{org.pg_schema.name}"'))
        connection.execute(text("TRUNCATE team_members"))
        assert connection.execute(text("SELECT sum(team_members) FROM dashboard_counts")).scalar() == 0
        connection.execute(text("TRUNCATE teams CASCADE"))
        assert connection.execute(text("SELECT count(*) FROM dashboard_counts WHERE kind = 'teams'")).scalar() == 0
    assert drift(org.pg_schema) == {}


def test_an_actor_reads_only_its_own_rollup_rows_and_writes_none(org: Organization) -> None:
    org.schedule(0, 2)
    org.schedule(2, 2)
    database = org.container.database()
    far = org.aps[1]  # its provider's one location holds the second session only
    rows = fetch(database, far, "SELECT location_id FROM dashboard_counts WHERE kind = 'sessions'", {})
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
    ok(org.team_step("team", 0, 4))
    ok(org.team_step("member", 0, 3))
    pg_schema.database.downgrade("0019")
    pg_schema.database.upgrade()
    assert drift(pg_schema) == {}
    with pg_schema.owner.connect() as connection:
        connection.execute(text(f'SET search_path TO "{pg_schema.name}"'))
        assert connection.execute(text("SELECT sum(certificates) FROM certificate_rollups")).scalar() == 1
        teams = connection.execute(text("SELECT sum(teams), sum(team_members) FROM dashboard_counts")).one()
        assert tuple(teams) == (1, 1)
