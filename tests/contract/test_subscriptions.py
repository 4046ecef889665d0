"""Live subscriptions: every change in scope, exactly once, in (txid, id) order — on every backend."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import text

from arccm.adapters.container import Container
from arccm.adapters.memory.store import MemoryStore
from arccm.adapters.realtime.pump import FeedPump
from arccm.application import commands as c
from arccm.application.ports.change_feed import Change, ChangeBatch, Cursor
from arccm.application.ports.subscriptions import SubscriptionState
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.events import TeamCreated
from arccm.domain.team import Team
from tests.conftest import PgSchema
from tests.realtime_server import RealtimeServer, owner_url, supabase_container
from tests.world import NOW, World, ok

A = TypeVar("A")

WAIT = 20.0  # seconds: a deadline for an event that should come at once, never a sleep


class Inbox:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._arrived = threading.Condition()

    def __call__(self, change: Change) -> None:
        with self._arrived:
            self.changes.append(change)
            self._arrived.notify_all()

    def wait_for(self, count: int) -> list[Change]:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.changes) >= count, timeout=WAIT), (
                f"{len(self.changes)} of {count} changes arrived"
            )
            return list(self.changes)


@pytest.fixture(params=["memory", "postgres", pytest.param("supabase", marks=pytest.mark.needs_postgres)])
def make_container(request: pytest.FixtureRequest) -> Iterator[Callable[[], Container]]:
    """The contract runs on all three feeds: in memory, PostgreSQL LISTEN/NOTIFY, and Supabase Realtime through
    the official client against the local protocol server (tests/realtime_server.py)."""
    if request.param == "memory":
        yield Container
        return
    schema: PgSchema = request.getfixturevalue("pg_schema")
    servers: list[RealtimeServer] = []

    def fresh() -> Container:
        schema.close_containers()
        schema.truncate()
        if request.param == "postgres":
            return schema.container()
        servers.append(RealtimeServer(owner_url(schema), schema.name).start())
        return supabase_container(schema, servers[-1])

    yield fresh
    for server in servers:
        server.stop()


@pytest.fixture
def world(make_container: Callable[[], Container]) -> Iterator[World]:
    container = make_container()
    # Supabase: poll twice as long as any test waits, so every delivery rides a socket message or a
    # gap-fill after a (re)join — a lost wake-up fails the test instead of being covered by the poll
    supabase = container.config.wakeups() == "supabase"
    container.config.feed_poll_seconds.from_value(2 * WAIT if supabase else 0.05)
    world = World.create(container)
    yield world
    world.container.subscriptions().stop()


def test_a_subscriber_gets_every_change_in_scope_once_in_order(world: World) -> None:
    provider = world.provider()
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    learner, other = world.user(Role.IN), world.user(Role.IN)
    everything, mine = Inbox(), Inbox()
    pump: FeedPump = world.container.subscriptions()
    admin_feed = pump.subscribe(world.admin, frozenset({"sessions", "enrollments"}), everything)
    learner_feed = pump.subscribe(learner, frozenset({"sessions", "enrollments"}), mine)
    session = world.session(ap, ic, capacity=1)
    ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id)))
    ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, other.user_id)))  # waitlisted
    names = [ch.event.name for ch in everything.wait_for(3)]
    assert names == ["SessionScheduled", "LearnerEnrolled", "LearnerWaitlisted"]
    assert [ch.event.name for ch in mine.wait_for(1)] == ["LearnerEnrolled"]
    cursors = [ch.cursor for ch in everything.changes]
    assert cursors == sorted(set(cursors))
    health = admin_feed.health()
    # its cursor: past its last change, perhaps past changes it was not given too (read_up_to)
    assert (health.state, health.delivered) == (SubscriptionState.LIVE, 3)
    assert health.cursor >= cursors[-1]
    assert health.lag_events == 0
    learner_feed.close()
    assert learner_feed.health().state is SubscriptionState.CLOSED


def settled(ask: Callable[[], A], enough: Callable[[A], bool]) -> A:
    """``ask`` until its answer is ``enough`` (bounded): the feed releases a change only when no transaction that
    may precede it is running anywhere on the server (database.feed_horizon), which on a busy, shared server can
    lag a commit by a moment."""
    answer = ask()
    for _ in range(10_000):
        if enough(answer):
            break
        answer = ask()
    return answer


def settled_backlog(world: World, since: Cursor, topics: frozenset[str], expected: int) -> int:
    """The backlog once the feed has released what was committed (never more than ``expected``)."""
    feed = world.container.change_feed()
    return settled(lambda: feed.backlog(world.admin, since, topics), lambda backlog: backlog >= expected)


def test_resuming_from_a_cursor_skips_what_was_seen(world: World) -> None:
    first = Inbox()
    pump: FeedPump = world.container.subscriptions()
    for name in ("Red", "Green", "Blue"):
        ok(world.container.create_team()(world.admin, c.CreateTeam(name)))
    assert settled_backlog(world, Cursor.origin(), frozenset({"teams"}), 3) == 3
    assert world.container.change_feed().backlog(world.admin, Cursor.origin(), frozenset({"sessions"})) == 0
    seen = pump.subscribe(world.admin, frozenset({"teams"}), first)
    cursor = first.wait_for(3)[0].cursor
    assert settled_backlog(world, cursor, frozenset({"teams"}), 2) == 2
    seen.close()
    later = Inbox()
    pump.subscribe(world.admin, frozenset({"teams"}), later, since=cursor)
    assert [ch.event.team_name for ch in later.wait_for(2)] == ["Green", "Blue"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown"):
        pump.subscribe(world.admin, frozenset({"gossip"}), later)


def settled_read(world: World, since: Cursor, topics: frozenset[str], expected: int, limit: int = 1000) -> ChangeBatch:
    """A read once the feed has released ``expected`` changes of ``topics`` past ``since``."""
    feed = world.container.change_feed()
    return settled(lambda: feed.read(world.admin, since, limit, topics), lambda batch: len(batch.changes) >= expected)


def test_a_reader_goes_on_past_the_changes_it_was_not_given(world: World) -> None:
    """A page that is not full has looked at every final change past its cursor, so the reader goes on from the
    horizon: a reader of a quiet topic among busy ones (or of a narrow scope) does not scan the same foreign changes
    again at every read — and still gets every change of its own, once."""
    feed = world.container.change_feed()
    for name in ("Red", "Green", "Blue"):
        ok(world.container.create_team()(world.admin, c.CreateTeam(name)))
    teams = settled_read(world, Cursor.origin(), frozenset({"teams"}), 3)
    assert [ch.event.team_name for ch in teams.changes] == ["Red", "Green", "Blue"]  # type: ignore[attr-defined]
    last_team = teams.changes[-1].cursor
    assert teams.cursor >= last_team
    quiet = feed.read(world.admin, Cursor.origin(), 1000, frozenset({"sessions"}))
    assert quiet.changes == []
    assert quiet.cursor > last_team  # past the teams it was not given
    learner = world.user(Role.IN)  # a narrow scope: no team is a learner's to see
    narrow = feed.read(learner, Cursor.origin(), 1000)
    assert [ch.event.name for ch in narrow.changes] == []
    assert narrow.cursor > last_team
    # a full page stops at its last change: what follows is still to be read
    paged = feed.read(world.admin, Cursor.origin(), 2, frozenset({"teams"}))
    assert [ch.cursor for ch in paged.changes] == [ch.cursor for ch in teams.changes[:2]]
    assert paged.cursor == teams.changes[1].cursor
    assert [ch.cursor for ch in feed.read(world.admin, paged.cursor, 2, frozenset({"teams"})).changes] == [last_team]
    # from the advanced cursor: the next change of its own, once; and a cursor never goes back
    provider = world.provider()
    world.session(world.user(Role.AP, provider), world.user(Role.IC, provider))
    scheduled = settled_read(world, quiet.cursor, frozenset({"sessions"}), 1)
    assert [ch.event.name for ch in scheduled.changes] == ["SessionScheduled"]
    assert feed.read(world.admin, scheduled.cursor, 1000, frozenset({"sessions"})).changes == []
    ahead = Cursor(scheduled.cursor.txid + 10**6, 0)
    assert feed.read(world.admin, ahead, 1000, frozenset({"sessions"})).cursor == ahead


def test_a_subscribers_cursor_goes_on_past_the_changes_it_was_not_given(world: World) -> None:
    """A live subscription's cursor follows the feed past the changes of other topics, so its backlog and its own
    catch-up reads never scan them again; a subscription resumed from it gets exactly what came after."""
    pump: FeedPump = world.container.subscriptions()
    sessions = Inbox()
    quiet = pump.subscribe(world.admin, frozenset({"sessions"}), sessions)
    assert quiet.wait_until(SubscriptionState.LIVE, timeout=WAIT)
    for name in ("Red", "Green", "Blue"):
        ok(world.container.create_team()(world.admin, c.CreateTeam(name)))
    last_team = settled_read(world, Cursor.origin(), frozenset({"teams"}), 3).changes[-1].cursor
    assert quiet.wait_for(lambda s: s.cursor > last_team, WAIT), quiet.health()
    assert sessions.changes == []
    assert quiet.health().lag_events == 0
    resumed = Inbox()
    pump.subscribe(world.admin, frozenset({"sessions", "teams"}), resumed, since=quiet.health().cursor)
    provider = world.provider()
    world.session(world.user(Role.AP, provider), world.user(Role.IC, provider))
    assert [ch.event.name for ch in sessions.wait_for(1)] == ["SessionScheduled"]
    assert [ch.event.name for ch in resumed.wait_for(1)] == ["SessionScheduled"]  # no team again


def test_an_open_transaction_holds_back_younger_commits_in_memory() -> None:
    """The in-memory store has PostgreSQL's horizon: nothing past a still-open older transaction is final."""
    world = World.create()
    store: MemoryStore = world.container.memory_store()
    held = store.hold()
    team = Team(uuid.uuid4(), "Held")
    held.emit(TeamCreated(occurred_at=NOW, scope=team.resource(), team_id=team.id, team_name="Held"))
    ok(world.container.create_team()(world.admin, c.CreateTeam("Younger")))
    feed = world.container.change_feed()
    assert feed.read(world.admin, Cursor.origin()).changes == []  # the younger commit waits behind the older txid
    held.commit()
    names = [ch.event.team_name for ch in feed.read(world.admin, Cursor.origin()).changes]  # type: ignore[attr-defined]
    assert names == ["Held", "Younger"]


def test_changes_carry_what_their_reader_needs(world: World) -> None:
    provider = world.provider()
    ap, ic, learner = world.user(Role.AP, provider), world.user(Role.IC, provider), world.user(Role.IN)
    session = world.session(ap, ic, capacity=3)
    enrollment = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, learner.user_id)))
    world.run_class(session, {enrollment.id: (95, 95)})
    issued = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
    certificate = ok(world.container.issue_certificate()(ap, issued))
    inbox = Inbox()
    world.container.subscriptions().subscribe(learner, frozenset({"enrollments", "certificates"}), inbox)
    changes = {ch.event.name: ch.context for ch in inbox.wait_for(5)}
    assert changes["LearnerEnrolled"] == {  # times in UTC, as stored
        "session_title": session.title,
        "session_starts_at": session.starts_at.astimezone(UTC).isoformat(),
        "location_name": world.locations[-1].name,
        "learner_name": world.profiles[learner.user_id].display_name,
    }
    assert changes["CertificateIssued"] == {"course_name": certificate.course_name, "status": "active"}


def test_a_failing_handler_stops_its_subscription_and_no_other(world: World) -> None:
    """Redelivering to a handler that raised would loop for ever; the others on the pump go on."""
    good = Inbox()
    seen: list[Change] = []

    def fragile(change: Change) -> None:
        if seen:
            raise RuntimeError("cannot handle a second change")
        seen.append(change)

    pump: FeedPump = world.container.subscriptions()
    broken = pump.subscribe(world.admin, frozenset({"teams"}), fragile)
    pump.subscribe(world.admin, frozenset({"teams"}), good)
    for name in ("One", "Two", "Three"):
        ok(world.container.create_team()(world.admin, c.CreateTeam(name)))
    assert len(good.wait_for(3)) == 3
    assert broken.wait_until(SubscriptionState.FAILED, timeout=WAIT)
    health = broken.health()
    assert health.delivered == 1
    assert seen[0].cursor <= health.cursor < good.changes[1].cursor  # past what it handled, short of what it did not
    assert health.error is not None
    assert "cannot handle a second change" in health.error
    ok(world.container.create_team()(world.admin, c.CreateTeam("Four")))
    assert len(good.wait_for(4)) == 4
    assert broken.health().delivered == 1
    fixed = Inbox()  # resumed from its cursor once the handler is fixed: what it did not handle, once
    pump.subscribe(world.admin, frozenset({"teams"}), fixed, since=health.cursor)
    names = [ch.event.team_name for ch in fixed.wait_for(3)]  # type: ignore[attr-defined]
    assert names == ["Two", "Three", "Four"]


def prune_everything(world: World, expected: int) -> int:
    if world.container.config.backend() == "postgres":
        import time
        from datetime import datetime, timedelta

        from arccm.adapters.postgres.read_models import prune_change_log

        # a change is pruned only once no transaction older than it runs anywhere on the server (so no reader
        # can still be about to see it); on a shared, busy server another client's transaction may hold that
        # back for a moment: prune again until the changes are gone (bounded)
        pruned, deadline = 0, time.monotonic() + 120
        while pruned < expected and time.monotonic() < deadline:
            pruned += prune_change_log(world.container.database(), datetime.now(UTC) + timedelta(minutes=1))
        return pruned
    import time

    store: MemoryStore = world.container.memory_store()
    return store.prune(time.time() + 60)


def test_a_cursor_older_than_the_retained_feed_is_told_to_resync(world: World) -> None:
    for name in ("One", "Two"):
        ok(world.container.create_team()(world.admin, c.CreateTeam(name)))
    feed = world.container.change_feed()
    last = feed.read(world.admin, Cursor.origin()).changes[-1].cursor
    assert prune_everything(world, 2) == 2
    assert feed.read(world.admin, Cursor.origin()).resync_required  # never silence
    assert not feed.read(world.admin, last).resync_required
    ok(world.container.create_team()(world.admin, c.CreateTeam("Three")))
    after = feed.read(world.admin, last)
    assert [ch.event.team_name for ch in after.changes] == ["Three"]  # type: ignore[attr-defined]
    inbox = Inbox()
    behind = world.container.subscriptions().subscribe(world.admin, frozenset({"teams"}), inbox)
    current = world.container.subscriptions().subscribe(world.admin, frozenset({"teams"}), inbox, since=last)
    assert [ch.event.team_name for ch in inbox.wait_for(1)] == ["Three"]  # type: ignore[attr-defined]
    assert behind.wait_until(SubscriptionState.FAILED, timeout=WAIT)
    assert behind.health().resync_required
    assert behind.health().state is SubscriptionState.FAILED
    assert not current.health().resync_required


@pytest.mark.parametrize("run", range(10))
def test_out_of_order_commits_in_memory_are_delivered_once_in_txid_order(run: int) -> None:
    """8 writers, 10,000 events; every seventh transaction is held open while younger ones commit; a
    subscriber from a mid-way cursor gets every later event exactly once, in (txid, id) order."""
    world = World.create()
    world.container.config.feed_poll_seconds.from_value(0.05)
    store: MemoryStore = world.container.memory_store()
    writers, per_writer, per_transaction = 8, 125, 10
    halfway = threading.Barrier(writers + 1)

    def writer(index: int) -> None:
        held = []
        for n in range(per_writer):
            if n == per_writer // 2:
                for transaction in held:  # commit the old ones only after younger ones have landed
                    transaction.commit()
                held.clear()
                halfway.wait()
            transaction = store.hold()
            for _ in range(per_transaction):
                team = Team(uuid.uuid4(), "T")
                transaction.emit(TeamCreated(occurred_at=NOW, scope=team.resource(), team_id=team.id, team_name="T"))
            if n % 7 == index % 7:
                held.append(transaction)
            else:
                transaction.commit()
        for transaction in held:
            transaction.commit()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    halfway.wait()
    feed = world.container.change_feed()
    start = Cursor.origin()
    while batch := feed.read(world.admin, start, 100_000).changes:
        start = batch[-1].cursor
    inbox = Inbox()
    pump: FeedPump = world.container.subscriptions()
    pump.subscribe(world.admin, frozenset({"teams"}), inbox, since=start)
    for thread in threads:
        thread.join()
    everything = [change.cursor for change in store.changes]
    assert len(everything) == writers * per_writer * per_transaction
    expected = [cursor for cursor in everything if cursor > start]
    got = [change.cursor for change in inbox.wait_for(len(expected))]
    pump.stop()
    assert got == expected


def test_a_live_subscription_follows_its_actors_role_and_status_at_once(world: World) -> None:
    """An IC demoted to IN while subscribed stops receiving other learners' enrollments with the very next change
    (a fresh subscription would withhold them too); once deactivated, the subscription stops."""
    provider = world.provider()
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    first, second = world.user(Role.IN), world.user(Role.IN)
    assert world.admin is not None
    inbox = Inbox()
    pump: FeedPump = world.container.subscriptions()
    subscription = pump.subscribe(ic, frozenset({"enrollments"}), inbox)
    session = world.session(ap, ic, capacity=5)
    ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, first.user_id)))
    assert [ch.event.learner_id for ch in inbox.wait_for(1)] == [first.user_id]  # type: ignore[attr-defined]
    ok(world.container.change_user_role()(world.admin, c.ChangeUserRole(ic.user_id, Role.IN)))
    ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, second.user_id)))  # not theirs any more
    other = world.session(ap, world.user(Role.IC, provider), capacity=5, starts_in=timedelta(days=30))
    ok(world.container.enroll_learner()(ap, c.EnrollLearner(other.id, ic.user_id)))  # their own: still theirs
    arrived = inbox.wait_for(2)
    assert [ch.event.learner_id for ch in arrived] == [first.user_id, ic.user_id]  # type: ignore[attr-defined]
    assert subscription.actor.role is Role.IN
    ok(world.container.set_user_active()(world.admin, c.SetUserActive(ic.user_id, active=False)))
    ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, world.user(Role.IN).user_id)))
    assert subscription.wait_until(SubscriptionState.FAILED, timeout=WAIT)
    assert subscription.health().error is not None
    assert "inactive" in (subscription.health().error or "")
    assert len(inbox.changes) == 2


def test_many_subscribers_of_every_role_each_get_exactly_what_a_read_in_their_scope_gets(world: World) -> None:
    """The pump reads the feed once per wake-up for everyone and hands each subscriber what ``can_read`` lets its
    actor see: every subscriber's changes — cursors, events and context — equal what the feed read in that
    subscriber's own scope returns, for every role, across providers, sessions, certificates and teams."""
    north, south = world.provider(), world.provider()
    assert world.admin is not None
    aps = [world.user(Role.AP, north), world.user(Role.AP, south)]
    leads = [world.user(Role.IC, north), world.user(Role.IP, south)]
    learners = [world.user(role) for role in (Role.IT, Role.IN, Role.IT, Role.IN)]
    subscribers = [world.admin, world.user(Role.AD), *aps, *leads, world.user(Role.IC, north), *learners]
    feed = world.container.change_feed()
    start = feed.head()
    pump: FeedPump = world.container.subscriptions()
    topics = frozenset({"sessions", "enrollments", "certificates", "teams", "rosters", "compliance"})
    inboxes = [Inbox() for _ in subscribers]
    subscriptions = [
        pump.subscribe(a, topics, inbox, since=start) for a, inbox in zip(subscribers, inboxes, strict=True)
    ]
    for subscription in subscriptions:  # served by the shared read from now on (each caught up in its scope first)
        assert subscription.wait_for(lambda s: s.shared, timeout=WAIT)
    assert pump.counts() == {"shared": len(subscribers), "own_scope": 0}
    sessions = [world.session(ap, lead, capacity=2) for ap, lead in zip(aps, leads, strict=True)]
    for index, learner in enumerate(learners):  # two per session, and a third waitlisted at the first
        ok(world.container.enroll_learner()(aps[index % 2], c.EnrollLearner(sessions[index % 2].id, learner.user_id)))
    ok(world.container.enroll_learner()(aps[0], c.EnrollLearner(sessions[0].id, leads[1].user_id)))
    ok(world.container.create_team()(world.admin, c.CreateTeam("Night shift")))
    enrolled = world.container.directory().session(world.admin, sessions[1].id)
    scores = {e.id: (90, 90) for e in ok(enrolled).enrollments if e.status == "enrolled"}
    world.run_class(sessions[1], scores)
    for actor, inbox in zip(subscribers, inboxes, strict=True):
        expected: list[Change] = []
        cursor = start
        while batch := feed.read(actor, cursor, 500, topics).changes:
            expected.extend(batch)
            cursor = batch[-1].cursor
        got = inbox.wait_for(len(expected))
        assert [(ch.cursor, ch.event, dict(ch.context)) for ch in got] == [
            (ch.cursor, ch.event, dict(ch.context)) for ch in expected
        ], actor.role
    admin_changes = len(inboxes[0].changes)
    assert all(len(inbox.changes) < admin_changes for inbox in inboxes[6:])  # scope did narrow what they got


def test_a_subscriber_promoted_behind_arccms_back_gets_its_wider_scope_from_the_next_check(world: World) -> None:
    """A role changed in the database directly (no event names it) widens what the subscriber may see: the pump's
    periodic check of every subscriber finds it, and the subscription's own read catches up — the change it could
    not see before the promotion is not lost."""
    if world.container.config.wakeups() == "supabase":
        pytest.skip("here the Supabase pump polls every 40 s: a wake-up only comes for a follower's own bindings")
    assert world.admin is not None
    learner = world.user(Role.IT)
    inbox = Inbox()
    pump: FeedPump = world.container.subscriptions()
    subscription = pump.subscribe(learner, frozenset({"teams"}), inbox)
    assert subscription.wait_for(lambda s: s.shared, timeout=WAIT)
    if world.container.config.backend() == "memory":
        world.container.memory_store().profiles[learner.user_id].role = Role.AD
    else:
        with world.container.database().owner_engine().begin() as connection:
            schema = world.container.database().schema
            connection.execute(text(f'UPDATE "{schema}".profiles SET role = \'AD\' WHERE id = :id'),
                               {"id": learner.user_id})  # fmt: skip
    ok(world.container.create_team()(world.admin, c.CreateTeam("Only for administrators")))
    arrived = inbox.wait_for(1)
    assert [ch.event.team_name for ch in arrived] == ["Only for administrators"]  # type: ignore[attr-defined]
    assert subscription.actor.role is Role.AD
