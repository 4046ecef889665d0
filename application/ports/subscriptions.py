"""Live change feeds: subscribe with an actor, topics and a handler; be told of every change you may see."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

import attrs

from arccm.application.ports.change_feed import Change, Cursor
from arccm.domain.access import Actor
from arccm.domain.events import TOPICS  # every topic the feed carries is subscribable

__all__ = ["TOPICS", "Subscription", "SubscriptionHealth", "SubscriptionState", "Subscriptions"]


class SubscriptionState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    CLOSED = "closed"


@attrs.frozen
class SubscriptionHealth:
    state: SubscriptionState
    cursor: Cursor
    delivered: int
    reconnects: int
    lag_seconds: float | None
    resync_required: bool = False  # the cursor fell behind the retained feed: state is FAILED, resync from a snapshot
    lag_events: int = 0  # committed changes in scope not yet handed to the handler (-1: unknown right now)
    error: str | None = None  # why the subscription failed: its handler raised (resubscribe from ``cursor``)


class Subscription(Protocol):
    def health(self) -> SubscriptionHealth: ...

    def wait_until(self, *states: SubscriptionState, timeout: float) -> bool:
        """Block until the subscription is in one of ``states`` (True) or ``timeout`` seconds pass (False)."""
        ...

    def close(self) -> None: ...


class Subscriptions(Protocol):
    def subscribe(
        self,
        actor: Actor,
        topics: frozenset[str],
        handler: Callable[[Change], None],
        since: Cursor | None = None,
    ) -> Subscription:
        """Deliver every committed change in the actor's scope and topics after ``since`` (origin when None),
        exactly once and in (transaction, sequence) order, then every new one as it commits."""
        ...
