"""``GET /v1/events``: the change feed in the caller's scope as Server-Sent Events.

Each event's ``id:`` is its feed cursor, so a client that reconnects with ``Last-Event-ID`` (browsers do it by
themselves) resumes right after the last event it received: nothing missed, nothing twice — the feed is ordered by
commit and read below every open writer (docs/realtime.md).  A comment line every ``heartbeat`` seconds keeps
proxies from closing a quiet stream.  A cursor older than the retained feed gets one ``resync`` event and the
stream ends: the client reloads its data, then follows from the cursor that event gives.  The subscription
follows its actor: a caller whose role, provider or standing changes mid-stream is followed at once (issue 11)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import AsyncIterator
from typing import Any, Literal, get_args

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from arccm.adapters.events_codec import change_json
from arccm.adapters.http.common import Refused, acting
from arccm.adapters.http.problems import API_PROBLEMS, problem
from arccm.adapters.realtime.pump import FeedSubscription
from arccm.application.ports.change_feed import Cursor
from arccm.application.ports.subscriptions import TOPICS
from arccm.domain.access import Actor

router = APIRouter(prefix="/v1", responses=API_PROBLEMS)
RETRY_MS = 2000  # how soon a browser reconnects after the stream ends
POLL = 0.25  # how often the watcher looks at the open streams' subscriptions (resync) and the server (stopping)
SHUTTING_DOWN = threading.Event()  # set by `arccm serve` on SIGTERM: streams end (a browser reconnects elsewhere)
RESYNC = "the cursor is older than the retained feed: reload, then follow from now"
_STOP, _RESYNC = object(), object()  # what the watcher puts into a stream's queue


class Watcher:
    """One task per app looks, every ``POLL`` seconds, at what a stream cannot hear through its queue — the server
    stopping, its subscription past the retained feed — and tells the streams concerned.  A quiet stream then waits
    on its queue alone (its heartbeat the only timer): a thousand open streams cost no polling of their own."""

    def __init__(self) -> None:
        self.open: dict[asyncio.Queue[Any], FeedSubscription] = {}
        self.task: asyncio.Task[None] | None = None

    def add(self, queue: asyncio.Queue[Any], subscription: FeedSubscription, closing: threading.Event) -> None:
        self.open[queue] = subscription
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch(closing))

    def remove(self, queue: asyncio.Queue[Any]) -> None:
        self.open.pop(queue, None)

    async def _watch(self, closing: threading.Event) -> None:
        while self.open:
            await asyncio.sleep(POLL)
            stopping = SHUTTING_DOWN.is_set() or closing.is_set()
            for queue, subscription in list(self.open.items()):
                if stopping:
                    queue.put_nowait(_STOP)
                elif subscription.resync_required:
                    queue.put_nowait(_RESYNC)


Topic = Literal[
    "certificates", "compliance", "enrollments", "notifications", "profiles", "rosters", "sessions", "teams"
]
assert set(get_args(Topic)) == TOPICS, "the topics the API documents are the feed's"
CURSOR = r"^\s*(\d{1,19}:\d{1,19})?\s*$"


def _cursor(text: str | None) -> Cursor | None:
    if text is None or not text.strip():
        return None
    try:
        cursor = Cursor.parse(text.strip()[:64])
    except ValueError:
        cursor = None
    if cursor is None or not (0 <= cursor.txid < 2**63 and 0 <= cursor.id < 2**63):
        raise Refused(problem(422, "invalid_value", "Invalid value", "Last-Event-ID: expected TXID:ID, as an event's"
                              " id", field="Last-Event-ID", rule="expected TXID:ID"))  # fmt: skip
    return cursor


@router.get("/events", tags=["events"], summary="The change feed in the caller's scope, as Server-Sent Events",
            response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})  # fmt: skip
async def events(
    request: Request, actor: Actor = Depends(acting),
    topics: list[Topic] | None = Query(None, description="Topics to follow (repeat); all by default"),
    since: str | None = Query(None, max_length=64, pattern=CURSOR,
                              description="Resume after this cursor (as Last-Event-ID; 0:0 for the whole retained"
                              " feed). Without either, the stream follows from now"),
    max_events: int | None = Query(None, ge=1, le=1_000_000, description="End the stream after this many events"),
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=64, pattern=CURSOR),
) -> StreamingResponse:  # fmt: skip
    wanted = frozenset(topics or TOPICS)
    if unknown := sorted(wanted - TOPICS):
        raise Refused(problem(422, "invalid_value", "Invalid value", f"topics: unknown {unknown[0][:40]!r}",
                              field="topics", rule=f"one of {', '.join(sorted(TOPICS))}"))  # fmt: skip
    start = _cursor(last_event_id) or _cursor(since)
    if start is None:  # a stream opened afresh follows from now; ?since=0:0 replays the retained feed
        start = await run_in_threadpool(request.app.state.container.change_feed().head)
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[Any] = asyncio.Queue()
    subscriptions = request.app.state.container.subscriptions()
    subscription = subscriptions.subscribe(
        actor, wanted, lambda change: loop.call_soon_threadsafe(arrived.put_nowait, change), since=start
    )
    heartbeat: float = request.app.state.heartbeat_seconds
    closing: threading.Event = request.app.state.closing
    watcher: Watcher = request.app.state.event_streams
    open_streams = request.app.state.streams

    async def stream() -> AsyncIterator[str]:
        sent = 0
        # the first heartbeat at a random point of the first interval: streams opened together (a page of a
        # thousand browsers, every client after a restart) would otherwise all beat at the same instant
        quiet = heartbeat * (0.5 + random.random() / 2)
        open_streams.inc()
        watcher.add(arrived, subscription, closing)
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while max_events is None or sent < max_events:
                if SHUTTING_DOWN.is_set() or closing.is_set():  # checked between events too: a busy feed ends
                    yield f"retry: {RETRY_MS}\n: the server is stopping; reconnect with Last-Event-ID\n\n"
                    return
                try:
                    async with asyncio.timeout(quiet):
                        change = await arrived.get()
                except TimeoutError:
                    quiet = heartbeat
                    yield ": heartbeat\n\n"
                    continue
                if change is _STOP:
                    continue  # said at the top of the loop
                if change is _RESYNC:
                    yield f"event: resync\ndata: {json.dumps({'reason': RESYNC})}\n\n"
                    return
                sent += 1
                yield f"id: {change.cursor}\nevent: {change.event.topic}\ndata: {change_json(change)}\n\n"
        finally:  # a client gone ends the stream here too: Starlette cancels it on the disconnect
            watcher.remove(arrived)
            open_streams.dec()
            subscription.close()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # fmt: skip
