"""A local server speaking the Supabase Realtime protocol (Phoenix channels, vsn 1.0.0), with fault switches.

It does what the tests need of Supabase Realtime, frame for frame as in
../shared/docs/anchors/realtime_perf.md §2: the join reply echoes each binding
verbatim with an integer ``id``; the ``system`` "Subscribed to PostgreSQL"
message follows (and only then does the channel stream); INSERTs on the watched
table go out as ``postgres_changes`` broadcasts carrying the ids of the bindings
whose filter the row matches; heartbeats and leaves are answered; a token found
expired gets an error ``system`` message and ``phx_close``.

Changes come from the database: LISTEN on the change log's channel, then the
recent rows not sent yet, in the order they become visible (as WAL decoding
would give them). Losses are what the fault switches make them.

Fault switches: ``hold_ready``/``release_ready`` (SUBSCRIBED but not yet
streaming), ``drop_next(n)`` (change messages lost), ``close_all(code)``
(1000/1001/1011), ``stall()`` (the socket stops reading and answering),
``expire_tokens()`` (every token in use expires; joins with one are refused),
``refuse_joins(reason, n)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import zlib
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from arccm.adapters.container import Container, on_postgres
from tests.conftest import PgSchema

COLUMNS = ("id", "txid", "topic", "kind", "location_id", "provider_id", "created_by", "subject_id", "actor_id")
RECENT = 20_000  # rows below the highest id seen minus this are taken as sent (a late commit that old is lost)
TYPES = {"id": "int8", "txid": "xid8", "topic": "text", "kind": "text"}


def filter_matches(condition: str | None, row: Mapping[str, str | None]) -> bool:
    """Supabase's filter grammar, the part arccm uses: ``column=eq.value`` and ``column=in.(a,b)``."""
    if condition is None:
        return True
    column, _, test = condition.partition("=")
    operator, _, operand = test.partition(".")
    value = row.get(column)
    if operator == "eq":
        return value == operand
    if operator == "in":
        return value in operand.strip("()").split(",")
    raise ValueError(f"unsupported filter {condition!r}")


def binding_id(binding: Mapping[str, Any]) -> int:
    return zlib.crc32(json.dumps(binding, sort_keys=True).encode()) & 0x7FFFFFF | 1


class Channel:
    def __init__(self, topic: str, join_ref: str | None, bindings: list[dict[str, Any]], token: str) -> None:
        self.topic, self.join_ref, self.bindings, self.token = topic, join_ref, bindings, token
        self.ready = False


class Client:
    def __init__(self, socket: ServerConnection) -> None:
        self.socket = socket
        self.channels: dict[str, Channel] = {}
        self.stalled = False


class RealtimeServer:
    def __init__(self, database_url: str, schema: str, table: str = "change_log", channel: str = "arccm_changes"):
        self.database_url, self.schema, self.table, self.notify_channel = database_url, schema, table, channel
        self.clients: set[Client] = set()
        self.expired: set[str] = set()
        self.tokens_seen: list[str] = []
        self.joins = 0
        self.sent = 0
        self.dropped = 0
        self.refusals: list[str] = []
        self._drop = 0
        self._ready_held = False
        self._ready_waiting: list[tuple[Client, Channel]] = []
        self._last_id = 0
        self._seen: set[int] = set()
        self.rows_seen = 0  # change-log rows the server has taken from the database (and sent to whoever was ready)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="realtime-test-server", daemon=True)
        self._server: Server | None = None
        self._source: asyncio.Task[None] | None = None

    # --- control, from the test's thread ---

    def start(self) -> RealtimeServer:
        self._thread.start()
        self._run(self._start())
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}/realtime/v1"

    def stop(self) -> None:
        self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def hold_ready(self) -> None:
        self._run(self._set(_ready_held=True))

    def release_ready(self) -> None:
        self._run(self._release_ready())

    def drop_next(self, count: int) -> None:
        self._run(self._set(_drop=count))

    def close_all(self, code: int) -> int:
        return self._run(self._close_all(code))

    def stall(self) -> int:
        return self._run(self._stall())

    def expire_tokens(self) -> int:
        return self._run(self._expire_tokens())

    def refuse_joins(self, reason: str, count: int) -> None:
        self._run(self._set(refusals=[reason] * count))

    def active(self) -> list[Client]:
        """Connected clients, not counting stalled sockets (which the server cannot tell from live ones)."""
        return [client for client in list(self.clients) if not client.stalled]

    def wait_until(self, predicate: Any, timeout: float = 20.0) -> None:
        """Block until ``predicate(server)`` holds (checked whenever the server's state changes)."""
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self), timeout=timeout), "server never got there"

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=20)

    def _changed_state(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- the server, on its own loop ---

    async def _set(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    async def _start(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url) as connection:
            found = await connection.execute(f'SELECT COALESCE(max(id), 0) FROM "{self.schema}"."{self.table}"')
            self._last_id = (await found.fetchone() or (0,))[0]
        self._server = await serve(self._serve, "127.0.0.1", 0)
        listening = asyncio.Event()
        self._source = asyncio.create_task(self._follow_database(listening))
        await listening.wait()

    async def _stop(self) -> None:
        if self._source is not None:
            self._source.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._source
        for client in list(self.clients):
            client.socket.transport.abort()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _follow_database(self, listening: asyncio.Event) -> None:
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as connection:
            await connection.execute(f"LISTEN {self.notify_channel}")
            listening.set()
            while True:
                # the generator holds the connection: take one wake-up, leave it, then query
                woken = [n async for n in connection.notifies(stop_after=1) if n.payload == self.schema]
                if not woken:
                    continue
                columns = ", ".join(f"{c}::text" for c in COLUMNS)
                found = await connection.execute(
                    f'SELECT {columns}, recorded_at FROM "{self.schema}"."{self.table}" WHERE id > %s ORDER BY id',
                    (self._last_id - RECENT,),
                )
                for *values, recorded_at in await found.fetchall():
                    row = dict(zip(COLUMNS, values, strict=True))
                    row_id = int(row["id"] or 0)
                    if row_id in self._seen:
                        continue
                    self._seen.add(row_id)
                    self._last_id = max(self._last_id, row_id)
                    await self._broadcast(row, recorded_at)
                    self.rows_seen += 1
                    self._changed_state()

    async def _broadcast(self, row: dict[str, str | None], recorded_at: datetime) -> None:
        for client in list(self.clients):
            for channel in list(client.channels.values()):
                if not channel.ready or client.stalled:
                    continue
                ids = [
                    binding["id"]
                    for binding in channel.bindings
                    if binding.get("event") in ("INSERT", "*")
                    and binding.get("schema") == self.schema
                    and binding.get("table") == self.table
                    and filter_matches(binding.get("filter"), row)
                ]
                if not ids:
                    continue
                if self._drop:
                    self._drop -= 1
                    self.dropped += 1
                    continue
                selected = next((b["select"] for b in channel.bindings if b.get("select")), list(COLUMNS))
                record = {column: row[column] for column in selected}
                data = {
                    "schema": self.schema,
                    "table": self.table,
                    "commit_timestamp": recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "type": "INSERT",
                    "columns": [{"name": column, "type": TYPES.get(column, "uuid")} for column in selected],
                    "record": record,
                    "errors": None,
                }
                await self._send(client, channel.topic, "postgres_changes", {"ids": ids, "data": data})
                self.sent += 1
        self._changed_state()

    async def _send(self, client: Client, topic: str, event: str, payload: Any, ref: str | None = None) -> None:
        if client.stalled:
            return
        frame = {"topic": topic, "event": event, "payload": payload, "ref": ref}
        with contextlib.suppress(ConnectionClosed):
            await client.socket.send(json.dumps(frame))

    async def _serve(self, socket: ServerConnection) -> None:
        request = socket.request
        assert request is not None
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        if not parts.path.endswith("/websocket") or query.get("vsn", ["1.0.0"]) != ["1.0.0"]:
            await socket.close(1008, "expected /websocket with vsn 1.0.0")
            return
        client = Client(socket)
        self.clients.add(client)
        self._changed_state()
        try:
            async for raw in socket:
                await self._handle(client, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            self._changed_state()

    async def _handle(self, client: Client, message: dict[str, Any]) -> None:
        topic, event, payload, ref = (
            message["topic"],
            message["event"],
            message.get("payload") or {},
            message.get("ref"),
        )
        if event == "heartbeat" and topic == "phoenix":
            await self._send(client, "phoenix", "phx_reply", {"status": "ok", "response": {}}, ref)
        elif event == "phx_join":
            await self._join(client, topic, payload, ref, message.get("join_ref"))
        elif event == "access_token" and topic in client.channels:
            client.channels[topic].token = payload.get("access_token", "")
        elif event == "phx_leave":
            channel = client.channels.pop(topic, None)
            await self._send(client, topic, "phx_reply", {"status": "ok", "response": {}}, ref)
            await self._send(client, topic, "phx_close", {}, channel.join_ref if channel else ref)
        self._changed_state()

    async def _join(
        self, client: Client, topic: str, payload: dict[str, Any], ref: str | None, join_ref: str | None
    ) -> None:
        token = payload.get("access_token") or ""
        self.tokens_seen.append(token)
        if token in self.expired:
            reason = "InvalidJWTToken: Token has expired"
            await self._send(client, topic, "phx_reply", {"status": "error", "response": {"reason": reason}}, ref)
            return
        if self.refusals:
            reason = self.refusals.pop(0)
            await self._send(client, topic, "phx_reply", {"status": "error", "response": {"reason": reason}}, ref)
            return
        bindings = [dict(b) for b in payload.get("config", {}).get("postgres_changes", [])]
        for binding in bindings:
            binding["id"] = binding_id(binding)
        self.joins += 1
        channel = Channel(topic, join_ref, bindings, token)
        client.channels[topic] = channel
        reply = {"status": "ok", "response": {"postgres_changes": bindings}}
        await self._send(client, topic, "phx_reply", reply, ref)
        if self._ready_held:
            self._ready_waiting.append((client, channel))
        else:
            await self._ready(client, channel)

    async def _ready(self, client: Client, channel: Channel) -> None:
        channel.ready = True
        sub_topic = channel.topic.removeprefix("realtime:")
        message = {"extension": "postgres_changes", "status": "ok", "message": "Subscribed to PostgreSQL"}
        await self._send(client, channel.topic, "system", {**message, "channel": sub_topic})

    async def _release_ready(self) -> None:
        self._ready_held = False
        waiting, self._ready_waiting = self._ready_waiting, []
        for client, channel in waiting:
            if client in self.clients and client.channels.get(channel.topic) is channel:
                await self._ready(client, channel)

    async def _close_all(self, code: int) -> int:
        clients = self.active()
        for client in clients:
            with contextlib.suppress(ConnectionClosed):
                await client.socket.close(code, "closed by the test")
        return len(clients)

    async def _stall(self) -> int:
        clients = self.active()
        for client in clients:
            client.stalled = True
            client.socket.transport.pause_reading()  # pings go unanswered, nothing is sent
        return len(clients)

    async def _expire_tokens(self) -> int:
        closed = 0
        for client in self.active():
            for topic, channel in list(client.channels.items()):
                self.expired.add(channel.token)
                message = {"extension": "system", "status": "error", "message": "Token has expired 0 seconds ago"}
                await self._send(client, topic, "system", {**message, "channel": topic.removeprefix("realtime:")})
                await self._send(client, topic, "phx_close", {}, channel.join_ref)
                del client.channels[topic]
                closed += 1
        return closed


def owner_url(schema: PgSchema) -> str:
    return schema.owner.url.set(drivername="postgresql").render_as_string(hide_password=False)


def supabase_container(schema: PgSchema, server: RealtimeServer, key: str = "anon-key") -> Container:
    """A container on the schema whose change feed wakes on the local Realtime server's messages."""
    container = on_postgres(schema.url, schema=schema.name, supabase_url=server.url, supabase_key=key)
    schema.containers.append(container)
    return container
