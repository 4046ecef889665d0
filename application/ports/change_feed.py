from collections.abc import Collection, Mapping, Sequence
from typing import Protocol
from uuid import UUID

import attrs

from arccm.application.validation import Limit, Position
from arccm.domain.access import Actor
from arccm.domain.events import DomainEvent


@attrs.frozen(order=True)
class Cursor:
    """A position in the change feed: (transaction id, sequence id), compared in that order."""

    txid: Position
    id: Position

    @staticmethod
    def origin() -> "Cursor":
        return Cursor(0, 0)

    def __str__(self) -> str:
        return f"{self.txid}:{self.id}"

    @staticmethod
    def parse(text: str) -> "Cursor":
        txid, _, seq = text.partition(":")
        return Cursor(int(txid), int(seq))


@attrs.frozen
class Change:
    cursor: Cursor
    event: DomainEvent
    # what a reader wants beside the event, as of reading: for enrollments the session's title, start and
    # location and the learner's name; for certificates the course and the current status
    context: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ChangeBatch:
    changes: Sequence[Change]
    # where the reader goes on from: past its last change, or past every final change it was shown or not
    cursor: Cursor
    # the reader's cursor is older than the retained feed: changes after it are gone, resync from a snapshot
    resync_required: bool = False


def read_up_to(since: Cursor, changes: Sequence[Change], limit: int, horizon: int) -> Cursor:
    """Where a reader goes on from after a page of ``changes`` read from ``since`` among the final changes (those of
    transactions below ``horizon``, every one of them ended).  A full page: its last change (more may follow).  A
    page that is not full has looked at every final change past ``since`` — those outside the reader's scope or
    topics too — so the reader goes on from the horizon, never to look at them again: a reader of a quiet topic
    among busy ones, or of a narrow scope, would otherwise scan the same foreign changes at every read until one
    of its own came (a topic's subscriber after a batch of 20,000 certificates: 10–36 ms a read, scale m).  The
    position says no more than the horizon does (the oldest transaction still open), never where a foreign change
    is, and never goes back."""
    if len(changes) >= limit:  # (a page of none — ``limit`` 0 — looked at nothing)
        return changes[-1].cursor if changes else since
    return max(since, Cursor(horizon, 0), *(change.cursor for change in changes[-1:]))


class ChangeFeed(Protocol):
    """Committed domain events, in commit order, filtered by the reader's scope where they are read."""

    def read(
        self, actor: Actor, since: Cursor, limit: Limit = 1000, topics: frozenset[str] | None = None
    ) -> ChangeBatch: ...

    def backlog(self, actor: Actor, since: Cursor, topics: frozenset[str] | None = None) -> int:
        """How many final changes in the actor's scope (and topics) lie past ``since``."""
        ...

    # --- for the process's own fan-out (adapters/realtime/pump.py), never for a caller -----------------------------

    def read_all(self, since: Cursor, limit: Limit = 1000) -> ChangeBatch:
        """Every final change past ``since`` whatever its scope, with its context: the subscriptions' pump reads
        the feed once per wake-up and hands each subscriber only what ``can_read`` lets it see."""
        ...

    def head(self) -> Cursor:
        """The cursor of the last final change (the origin when there is none)."""
        ...

    def changed(self, actors: Collection[Actor]) -> frozenset[UUID]:
        """The users among ``actors`` who may no longer act, or whose role, provider or locations are no longer
        what their ``Actor`` says — in one question, however many."""
        ...
