"""One pump per process: wake-ups from a notifier, catch-up by query, fan-out to every subscription.

The notifier only says "something changed"; the change feed (ordered by
``(txid, id)``, read below the snapshot's xmin, scoped where it is read) says
what. So a lost wake-up costs latency, never an event: the pump also reads on a
timeout, and after every reconnect it catches up from each subscription's
cursor before streaming again (listen → catch up → stream). A change is handed
to a handler only if its cursor is past the subscription's, so overlaps
between catch-up and wake-ups are dropped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import attrs
from returns.result import Result, Success

from arccm.application.ports.change_feed import Change, ChangeFeed, Cursor
from arccm.application.ports.subscriptions import TOPICS, SubscriptionHealth, SubscriptionState
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.domain.access import ADMINS, Actor, Role, audience, can_read
from arccm.domain.errors import DomainError

log = logging.getLogger(__name__)
PAGE = 500
STANDING_TOPICS = frozenset({"profiles", "reference"})  # people's roles and status; providers' status


class WakeupLost(RuntimeError):
    """The notifier's connection is gone; the pump reconnects."""


class Wakeups(Protocol):
    def connect(self) -> None:
        """Connect and be ready to wake: after this returns, no commit can go without a wake-up or a catch-up."""
        ...

    def follow(self, actors: frozenset[Actor]) -> None:
        """The actors subscribed now: a notifier that can narrow its wake-ups to their scope does (a hint only)."""
        ...

    def wait(self, timeout: float) -> bool:
        """True when woken before ``timeout``; raises ``WakeupLost`` when the connection dropped."""
        ...

    def interrupt(self) -> None:
        """Make a pending ``wait`` return now (the pump is stopping)."""
        ...

    def close(self) -> None: ...


@attrs.define(eq=False)
class FeedSubscription:
    actor: Actor
    topics: frozenset[str]
    handler: Callable[[Change], None]
    cursor: Cursor
    pump: FeedPump
    state: SubscriptionState = SubscriptionState.CONNECTING
    delivered: int = 0
    reconnects: int = 0
    last_event_at: datetime | None = None
    resync_required: bool = False
    error: str | None = None
    _lock: threading.Condition = attrs.field(factory=threading.Condition)  # notified when the state changes
    _reading: threading.Lock = attrs.field(factory=threading.Lock)  # one catch-up at a time: one handler call at a time
    # caught up by a read in its own scope after the pump's last shared read: from now on the pump's shared reads
    # (filtered by ``can_read``) serve it, until its actor changes (FeedPump._fan_out)
    shared: bool = False

    def health(self) -> SubscriptionHealth:
        with self._lock:
            lag = None if self.last_event_at is None else (datetime.now(UTC) - self.last_event_at).total_seconds()
            state, cursor, delivered, reconnects = self.state, self.cursor, self.delivered, self.reconnects
        try:
            behind = 0 if self.resync_required else self.pump.feed.backlog(self.actor, cursor, self.topics)
        except Exception:
            behind = -1
        return SubscriptionHealth(state, cursor, delivered, reconnects, lag, self.resync_required, behind, self.error)

    def close(self) -> None:
        self.pump.remove(self)
        with self._lock:
            self.state = SubscriptionState.CLOSED
            self._lock.notify_all()

    def wait_until(self, *states: SubscriptionState, timeout: float) -> bool:
        """Block until the subscription is in one of ``states`` (True) or ``timeout`` seconds pass (False)."""
        return self.wait_for(lambda subscription: subscription.state in states, timeout)

    def wait_for(self, predicate: Callable[[FeedSubscription], bool], timeout: float) -> bool:
        """Block until ``predicate`` holds of the subscription's state, cursor and counters (checked on each change)."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(self), timeout=timeout)

    def catch_up(self, feed: ChangeFeed) -> int:
        with self._reading:
            return self._catch_up(feed)

    def deliver(self, changes: Sequence[tuple[tuple[int, int], str, Change]]) -> int:
        """Hand over those of ``changes`` (read for every subscriber at once, each with its cursor as a tuple and
        its topic) that are past this subscription's cursor, of its topics, and in its actor's scope — the rule the
        scoped read applies (``can_read``)."""
        delivered = 0
        with self._reading:
            mine = (self.cursor.txid, self.cursor.id)
            for position, topic, change in changes:
                if position <= mine or topic not in self.topics or not can_read(self.actor, change.event.scope):
                    continue
                if self.state is SubscriptionState.FAILED or not self._hand(change):
                    break
                delivered += 1
        return delivered

    def _hand(self, change: Change) -> bool:
        try:
            self.handler(change)
        except Exception as error:  # the handler's fault, not the feed's: stop this one, not the pump
            log.exception("subscription handler failed on change %s; the subscription stops", change.cursor)
            self._fail(error=f"handler failed on {change.cursor}: {error!r}")
            return False
        with self._lock:
            self.cursor, self.delivered = change.cursor, self.delivered + 1
            self.last_event_at = change.event.occurred_at
            self._lock.notify_all()
        return True

    def _catch_up(self, feed: ChangeFeed) -> int:
        delivered = 0
        while self.state is not SubscriptionState.FAILED:
            try:
                batch = feed.read(self.actor, self.cursor, PAGE, self.topics)
            except ActorNotPermitted as refused:
                # the user's role, provider or status changed: follow it at once, or stop if they may not read
                if not self._follow_actor(refused):
                    return delivered
                continue
            if batch.resync_required:
                self._fail(resync_required=True)
                return delivered
            for change in batch.changes:
                if change.cursor <= self.cursor:
                    continue  # already delivered: overlap between a wake-up and a catch-up
                if not self._hand(change):
                    return delivered
                delivered += 1
            if len(batch.changes) < PAGE:
                self._go_on_from(batch.cursor)  # past the final changes it was not given, too (read_up_to)
                return delivered
        return delivered

    def passed(self, cursor: Cursor) -> None:
        """The pump's shared read has handed over every change of this subscription's up to ``cursor``."""
        with self._reading:
            self._go_on_from(cursor)

    def _go_on_from(self, cursor: Cursor) -> None:
        # its own next read and its backlog start there, never to look at the changes it was not given again
        with self._lock:
            if self.state is not SubscriptionState.FAILED and self.cursor < cursor:
                self.cursor = cursor
                self._lock.notify_all()

    def _follow_actor(self, refused: ActorNotPermitted) -> bool:
        resolved = self.pump.resolve(self.actor.user_id) if self.pump.resolve is not None else None
        if resolved is None or not isinstance(resolved, Success):
            reason = str(refused) if resolved is None else resolved.failure().message
            log.info("subscription of %s stops: %s", self.actor.user_id, reason)
            self._fail(error=f"the subscriber may no longer read the feed: {reason}")
            return False
        with self._lock:
            self.actor = resolved.unwrap()
        self.pump.refollow()
        return True

    def _fail(self, resync_required: bool = False, error: str | None = None) -> None:
        with self._lock:
            self.state, self.resync_required, self.error = SubscriptionState.FAILED, resync_required, error
            self._lock.notify_all()

    def mark(self, state: SubscriptionState, reconnected: bool = False) -> None:
        with self._lock:
            if self.state not in (SubscriptionState.CLOSED, SubscriptionState.FAILED):
                self.state = state
            self.reconnects += reconnected
            self._lock.notify_all()


@attrs.define(eq=False)
class FeedPump:
    feed: ChangeFeed
    wakeups: Wakeups
    poll_seconds: float = 1.0
    backoff_base: float = 0.05
    backoff_cap: float = 5.0
    healthy_after: float = 10.0
    # who a subscriber is now (the ResolveActor use case): a live subscription follows a change of role, provider
    # or status of its actor at once, or stops when the actor may no longer read
    resolve: Callable[[UUID], Result[Actor, DomainError]] | None = None
    _subscriptions: list[FeedSubscription] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _stop: threading.Event = attrs.field(factory=threading.Event)
    _thread: threading.Thread | None = None
    _rng: random.Random = attrs.field(factory=random.Random)
    _connected: bool = False
    _position: Cursor | None = None  # where the shared reads stand (_fan_out); None: start at the feed's head
    _asked_all_at: float = 0.0  # when the standing of every served subscriber was last asked (_fan_out)

    def subscribe(
        self, actor: Actor, topics: frozenset[str], handler: Callable[[Change], None], since: Cursor | None = None
    ) -> FeedSubscription:
        unknown = topics - TOPICS
        if unknown:
            raise ValueError(f"topics: unknown {sorted(unknown)}; known: {sorted(TOPICS)}")
        subscription = FeedSubscription(actor, topics, handler, since or Cursor.origin(), self)
        with self._lock:  # followers reported in order, and before the first connect
            self._subscriptions.append(subscription)
            self.wakeups.follow(frozenset(s.actor for s in self._subscriptions))
            running = self._thread is not None
            if not running:
                self._thread = threading.Thread(target=self._run, name="arccm-feed-pump", daemon=True)
                self._thread.start()
        if running:  # the pump may be waiting for a wake-up: read this one's backlog now, not at the next commit
            threading.Thread(target=self._welcome, args=(subscription,), name="arccm-feed-welcome").start()
        return subscription

    def _welcome(self, subscription: FeedSubscription) -> None:
        try:
            subscription.catch_up(self.feed)
        except Exception as error:  # the pump's own catch-up after it reconnects covers this one too
            log.info("first catch-up of a subscription failed (%s); the pump will retry", error)
            return
        if self._connected:
            subscription.mark(SubscriptionState.LIVE)

    def remove(self, subscription: FeedSubscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def stop(self) -> None:
        self._stop.set()
        self.wakeups.interrupt()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.wakeups.close()

    def refollow(self) -> None:
        with self._lock:
            self.wakeups.follow(frozenset(s.actor for s in self._subscriptions))

    def counts(self) -> dict[str, int]:
        """Subscriptions served by the shared read, and those still reading in their own scope (new ones catching
        up, or followers of a changed actor): what ``/metrics`` shows."""
        subscriptions = self._all()
        shared = sum(1 for s in subscriptions if s.shared)
        return {"shared": shared, "own_scope": len(subscriptions) - shared}

    def _all(self) -> list[FeedSubscription]:
        with self._lock:
            return list(self._subscriptions)

    def _fan_out(self) -> None:
        """One wake-up's work, in a few statements however many subscribe: the changes since the last wake-up (one
        read, every scope), who of the subscribers changed (one question), each change handed to the subscriptions
        whose actor ``can_read`` it.  A subscription not yet served this way — new, or its actor changed, or the
        shared read fell behind retention — is caught up by a read in its own scope (which follows or stops a
        changed actor, and says when a resync is needed) after the shared read, so that read's changes are
        behind it and the next shared read starts where its own ended or earlier: nothing is missed, and a change
        at or below its cursor is never handed over twice."""
        subscriptions = self._all()
        if not subscriptions:
            self._position = None  # nobody listens: the next subscriber starts the shared reads afresh
            return
        if self._position is None:
            self._position = self.feed.head()
            for subscription in subscriptions:
                subscription.shared = False
        served = [s for s in subscriptions if s.shared]
        while True:
            batch = self.feed.read_all(self._position, PAGE)
            if batch.resync_required:  # the pump fell behind retention: every subscription reads for itself
                self._position, served = None, []
                break
            reach = _Readers(served).of(batch.changes) if batch.changes else {}
            # Who the subscribers are now, asked after the read: an actor changed before any change read here
            # committed is caught (one that committed first was theirs to see, as a scoped read then would have
            # said).  Asked of every subscriber when the read holds a change of people or providers, and at least
            # every poll; otherwise of those about to receive something — so nothing is ever handed over without
            # the receiver's standing checked in the same wake-up (a narrowed or stopped actor gets nothing it may
            # no longer see), and a widened one (promoted, say, in SQL behind arccm's back) is found by the next
            # full check, its own read then catching up from its cursor, which nothing moved meanwhile.
            now = time.monotonic()
            everyone = now >= self._asked_all_at + self.poll_seconds or any(
                change.event.topic in STANDING_TOPICS for change in batch.changes
            )
            asked = served if everyone else list(reach)
            changed = self.feed.changed([s.actor for s in asked]) if asked else frozenset()
            if everyone:
                self._asked_all_at = now
            served = [s for s in served if s.actor.user_id not in changed]
            for subscription, changes in reach.items():
                if subscription.actor.user_id not in changed:
                    subscription.deliver(changes)
            # each of those whose standing was asked now has had all of its changes up to the shared read's cursor;
            # one not asked keeps its cursor (a widened actor's own read catches up from there once it is found)
            for subscription in served if everyone else (s for s in served if s in reach):
                subscription.passed(batch.cursor)
            self._position = batch.cursor
            if len(batch.changes) < PAGE:
                break
        kept = set(served)
        for subscription in subscriptions:
            if subscription not in kept:
                subscription.catch_up(self.feed)
                subscription.shared = self._position is not None and subscription.state is not SubscriptionState.FAILED

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            established = False
            try:
                self.wakeups.connect()
                established = True
                self._position = None  # after a reconnect each subscription catches up in its own scope first
                self._fan_out()
                self._connected = True
                for subscription in self._all():
                    subscription.mark(SubscriptionState.LIVE)
                connected_at = time.monotonic()
                while not self._stop.is_set():
                    self.wakeups.wait(self.poll_seconds)
                    self._fan_out()
                    for subscription in self._all():
                        subscription.mark(SubscriptionState.LIVE)
                    if attempt and time.monotonic() - connected_at > self.healthy_after:
                        attempt = 0  # healthy for a while: the next fault starts the backoff afresh
            except Exception as error:
                if self._stop.is_set():
                    break
                attempt += 1
                self._connected = False
                log.warning("change feed connection lost (%s); reconnecting", error)
                # a reconnect is counted once per established connection lost, not per failed attempt to get back
                for subscription in self._all():
                    subscription.mark(SubscriptionState.RECONNECTING, reconnected=established)
                self.wakeups.close()
                # exponential backoff with full jitter, capped
                self._stop.wait(self._rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt)))
        for subscription in self._all():
            subscription.mark(SubscriptionState.CLOSED)


class _Readers:
    """The served subscriptions by the keys of ``Audience``: who a change may concern is looked up, not asked of
    every subscriber (``can_read`` then decides for those found, in ``FeedSubscription.deliver``)."""

    def __init__(self, subscriptions: list[FeedSubscription]) -> None:
        self.all = subscriptions
        self.admins: list[FeedSubscription] = []
        self.users: dict[UUID, list[FeedSubscription]] = {}
        self.providers: dict[UUID, list[FeedSubscription]] = {}
        self.locations: dict[UUID, list[FeedSubscription]] = {}
        for subscription in subscriptions:
            actor = subscription.actor
            if actor.role in ADMINS:
                self.admins.append(subscription)
                continue
            self.users.setdefault(actor.user_id, []).append(subscription)
            if actor.role is Role.AP:
                if actor.provider_id is not None:
                    self.providers.setdefault(actor.provider_id, []).append(subscription)
                for location in actor.location_ids:
                    self.locations.setdefault(location, []).append(subscription)

    def of(self, changes: Sequence[Change]) -> dict[FeedSubscription, list[tuple[tuple[int, int], str, Change]]]:
        """Each subscription that may read one of ``changes``, with those changes in order (cursor as a tuple, and
        topic, beside each)."""
        found: dict[FeedSubscription, list[tuple[tuple[int, int], str, Change]]] = {}
        for change in changes:
            item = ((change.cursor.txid, change.cursor.id), change.event.topic, change)
            reach = audience(change.event.scope)
            if reach.everyone:
                readers: Iterable[FeedSubscription] = self.all
            else:
                near = {id(s): s for s in self.admins}
                for keys, index in ((reach.users, self.users), (reach.providers, self.providers),
                                    (reach.locations, self.locations)):  # fmt: skip
                    for key in keys:
                        near.update((id(s), s) for s in index.get(key, ()))
                readers = near.values()
            for subscription in readers:
                found.setdefault(subscription, []).append(item)
        return found
