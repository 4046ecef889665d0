"""The PostgreSQL-native feed under out-of-order commits and killed listener connections."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from arccm.adapters.container import Container
from arccm.adapters.realtime.pump import FeedPump
from arccm.application.ports.change_feed import Cursor
from arccm.domain.access import Actor, Role
from arccm.domain.team import Team
from tests.conftest import PgSchema
from tests.contract.test_subscriptions import Inbox

pytestmark = pytest.mark.needs_postgres
ADMIN = Actor(uuid.uuid4(), Role.SA)


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


@pytest.mark.parametrize("run", range(3))
def test_out_of_order_commits_are_delivered_once_in_txid_order(pg_schema: PgSchema, run: int) -> None:
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
    assert len(everything) == writers * per_writer * per_transaction
    assert got == expected  # every event after the cursor, exactly once, in (txid, id) order
    assert len(set(got)) == len(got)


def test_killed_listener_connections_lose_and_duplicate_nothing(pg_schema: PgSchema) -> None:
    container = pg_schema.container()
    container.config.feed_poll_seconds.from_value(0.05)
    transactions, per_transaction, every = 300, 10, 300  # 3,000 events, a fault every 300 delivered
    commits = Commits(1)
    inbox = Inbox()
    pump: FeedPump = container.subscriptions()
    subscription = pump.subscribe(ADMIN, frozenset({"teams"}), inbox)
    writer = threading.Thread(
        target=lambda: [write_teams(container, per_transaction, commits) for _ in range(transactions)]
    )
    writer.start()
    killed = 0
    for fault in range(1, transactions * per_transaction // every):
        inbox.wait_for(fault * every)
        with pg_schema.owner.begin() as connection:
            killed += connection.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": f"arccm-listener:{pg_schema.name}"},
            ).scalar_one()
    writer.join()
    everything = committed_changes(pg_schema)
    got = [ch.cursor for ch in inbox.wait_for(len(everything))]
    health = subscription.health()
    pump.stop()
    assert len(everything) == transactions * per_transaction
    assert got == everything  # zero lost, zero duplicated, in order
    assert killed >= 5
    assert health.reconnects == killed  # one reconnect per fault injected
    assert health.delivered == len(everything)
