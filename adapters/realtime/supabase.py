"""Supabase Realtime wake-ups on the official ``realtime`` client (validated with 2.34.1).

Supabase's postgres_changes promise no delivery: "Realtime doesn't guarantee
every message gets delivered … treat the Realtime event as a signal to re-fetch
state", and a write made between ``SUBSCRIBED`` and the server's ``system``
ready message can be missed (../shared/docs/anchors/realtime_perf.md §3). So a
message here is only a wake-up, exactly like a PostgreSQL NOTIFY: the feed pump
reads the change log by cursor, in the actor's scope, after every message, after
the ready message of every (re)join, and on its poll timeout.

* One socket per process, one channel whose bindings are INSERTs on the change
  log, filtered by the followers' scope as far as Supabase filters can say it
  (``eq``/``in`` on single columns; membership in the instructor and learner
  arrays cannot be said, so those wake-ups are a superset). Only ``id`` and
  ``txid`` are selected: a wake-up carries no personal data.
* ``connect`` returns only after the ``system`` "Subscribed to PostgreSQL"
  message, so the pump's catch-up that follows closes the SUBSCRIBED-but-not-
  streaming gap.
* The client's own reconnection is switched off (it gives up after five
  attempts, and then nothing retries): any channel error, close, error ``system``
  message (an expired token) or unanswered ping makes ``wait`` raise
  ``WakeupLost``, and the pump's supervisor reconnects with backoff and full
  jitter, for ever, with a fresh token from ``token()`` each time.
* A stalled socket is found by pinging it every ``probe_seconds``: the client
  tracks no heartbeat replies and websockets' own keepalive takes 40 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

import attrs
from realtime import (
    AsyncRealtimeChannel,
    AsyncRealtimeClient,
    PostgresChangesPayload,
    RealtimePostgresChangesListenEvent,
    RealtimeSubscribeStates,
    SuccessSystemPayload,
)

from arccm.adapters.realtime.pump import WakeupLost
from arccm.domain.access import ADMINS, LEAD_INSTRUCTORS, Actor, Role

log = logging.getLogger(__name__)

IN_LIMIT = 100  # Supabase takes at most 100 values in one `in` filter
Interest = Mapping[str, frozenset[str]] | None  # column → values any of which wakes us; None: every row


def interest(actors: Iterable[Actor]) -> Interest:
    """Change-log columns and values whose rows the actors may read — a superset of their scope."""
    columns: dict[str, set[str]] = {"kind": {"reference"}}
    for actor in actors:
        me = str(actor.user_id)
        if actor.role in ADMINS:
            return None
        if actor.role is Role.AP:
            columns.setdefault("location_id", set()).update(str(location) for location in actor.location_ids)
            if actor.provider_id is not None:
                columns.setdefault("provider_id", set()).add(str(actor.provider_id))
            columns.setdefault("created_by", set()).add(me)
            # and what is addressed to the AP itself (its notices, its own profile), at no location of its own
            columns.setdefault("subject_id", set()).add(me)
            continue
        # instructors and learners read rows by membership in instructor_ids / learner_ids, which a
        # Supabase filter cannot test: wake on every row of those kinds, the feed's read narrows it
        columns["kind"] |= (
            {"session", "enrollment", "certificate", "roster"} if actor.role in LEAD_INSTRUCTORS else {"session"}
        )
        columns.setdefault("subject_id", set()).add(me)
    return {column: frozenset(values) for column, values in columns.items()}


def filters(wanted: Interest) -> list[str | None]:
    """One Supabase filter per binding: ``column=eq.v`` or ``column=in.(a,b)``; ``[None]`` for every row."""
    if wanted is None:
        return [None]
    out: list[str | None] = []
    for column in sorted(wanted):
        values = sorted(wanted[column])
        for start in range(0, len(values), IN_LIMIT):
            chunk = values[start : start + IN_LIMIT]
            out.append(f"{column}=eq.{chunk[0]}" if len(chunk) == 1 else f"{column}=in.({','.join(chunk)})")
    return out


def covers(bound: Interest, wanted: Interest) -> bool:
    if bound is None:
        return True
    if wanted is None:
        return False
    return all(values <= bound.get(column, frozenset()) for column, values in wanted.items())


@attrs.define(eq=False)
class SupabaseWakeups:
    url: str  # the project's Realtime URL, e.g. https://<ref>.supabase.co/realtime/v1
    token: Callable[[], str]  # an API key or a JWT; asked again on every connect
    schema: str
    table: str = "change_log"
    ready_timeout: float = 10.0
    probe_seconds: float = 15.0  # ping this often; no pong within as long again and the socket is gone
    _signal: threading.Condition = attrs.field(factory=threading.Condition)
    _woken: bool = False
    _lost: str | None = None
    _generation: int = 0
    _wanted: Interest = attrs.field(factory=dict)
    _bound: Interest = attrs.field(factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _client: AsyncRealtimeClient | None = None
    _channel: AsyncRealtimeChannel | None = None
    _probe: asyncio.Task[None] | None = None
    _topics: itertools.count[int] = attrs.field(factory=itertools.count)

    # --- the pump's side (its own thread) ---

    def connect(self) -> None:
        self.close()
        with self._signal:
            self._generation += 1
            self._woken, self._lost = False, None
            generation = self._generation
        self._start_loop()
        try:
            self._call(self._open(generation), timeout=self.ready_timeout + 15)
        except WakeupLost:
            raise
        except Exception as error:
            raise WakeupLost(f"supabase realtime: {error!r}") from error
        with self._signal:
            if self._lost is not None:
                raise WakeupLost(self._lost)

    def follow(self, actors: frozenset[Actor]) -> None:
        wanted = interest(actors)
        with self._signal:
            self._wanted = wanted
            live = self._client is not None and self._lost is None and not covers(self._bound, wanted)
            generation = self._generation
        if live and self._loop is not None:
            # rebind in the background: until the wider channel is ready the poll covers the new follower
            asyncio.run_coroutine_threadsafe(self._rebind(generation), self._loop)

    def wait(self, timeout: float) -> bool:
        with self._signal:
            self._signal.wait_for(lambda: self._woken or self._lost is not None, timeout=timeout)
            if self._lost is not None:
                raise WakeupLost(self._lost)
            woken, self._woken = self._woken, False
            return woken

    def interrupt(self) -> None:
        with self._signal:
            self._woken = True
            self._signal.notify_all()

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    # --- the socket's side (the event loop's thread) ---

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="arccm-supabase-realtime", daemon=True)
        self._thread.start()
        started.wait()

    def _call(self, coroutine: Coroutine[Any, Any, None], timeout: float) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    def _lose(self, generation: int, reason: str) -> None:
        with self._signal:
            if generation == self._generation and self._lost is None:
                log.info("supabase realtime connection lost: %s", reason)
                self._lost = reason
                self._signal.notify_all()

    def _wake(self, generation: int) -> None:
        with self._signal:
            if generation == self._generation:
                self._woken = True
                self._signal.notify_all()

    async def _open(self, generation: int) -> None:
        client = AsyncRealtimeClient(self.url, self.token(), auto_reconnect=False, timeout=int(self.ready_timeout))
        self._client = client
        await client.connect()
        await self._join(generation)
        self._probe = asyncio.create_task(self._watch(generation))

    async def _join(self, generation: int) -> None:
        """Join a channel for what the followers want now; return once it streams, then leave the old one."""
        client = self._client
        assert client is not None
        with self._signal:
            wanted = self._wanted
        old = self._channel
        channel = client.channel(f"arccm:{self.schema}:{next(self._topics)}")
        outcome: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def settle(result: str | None) -> None:
            if not outcome.done():
                outcome.set_result(result)

        def on_system(payload: SuccessSystemPayload) -> None:
            if payload.extension == "postgres_changes":
                settle(None)
                self._wake(generation)  # ready: the pump reads the gap between the join and now

        def on_state(state: RealtimeSubscribeStates, error: Exception | None) -> None:
            if state is RealtimeSubscribeStates.SUBSCRIBED or self._channel not in (channel, None):
                return  # subscribed is not streaming yet; a channel we left may close as it likes
            reason = f"channel {state.value}: {error}"
            settle(reason)
            self._lose(generation, reason)

        def on_change(_: PostgresChangesPayload) -> None:
            self._wake(generation)

        for condition in filters(wanted):
            channel.on_postgres_changes(
                RealtimePostgresChangesListenEvent.Insert,
                on_change,
                table=self.table,
                schema=self.schema,
                filter=condition,
                select=["id", "txid"],
            )
        channel.on_system(on_system)
        self._channel = channel
        await channel.subscribe(on_state)
        try:
            failure = await asyncio.wait_for(outcome, self.ready_timeout)
        except TimeoutError:
            failure = f"no ready message within {self.ready_timeout} s"
            self._lose(generation, failure)
        if failure is not None:
            raise WakeupLost(failure)
        with self._signal:
            self._bound = wanted
        if old is not None:
            await client.remove_channel(old)

    async def _rebind(self, generation: int) -> None:
        try:
            await self._join(generation)
        except Exception as error:
            self._lose(generation, f"rebinding failed: {error!r}")

    async def _watch(self, generation: int) -> None:
        """Ping the socket: a peer that stops answering is gone, whatever TCP says."""
        while True:
            await asyncio.sleep(self.probe_seconds)
            socket = self._client._ws_connection if self._client is not None else None
            if socket is None:
                self._lose(generation, "socket closed")
                return
            try:
                pong = await socket.ping()
                await asyncio.wait_for(pong, self.probe_seconds)
            except Exception as error:
                self._lose(generation, f"no answer to a ping within {self.probe_seconds} s ({error!r})")
                return

    async def _shutdown(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        client, self._client, self._channel, self._bound = self._client, None, None, {}
        if client is None:
            return
        socket = client._ws_connection
        if socket is not None and socket.transport is not None:
            socket.transport.abort()  # a stalled peer would hold a polite close for its whole timeout
        await client.close()
