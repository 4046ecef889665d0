"""Many Server-Sent Event subscribers in one process, for ``sse_fanout`` (over_http.py): one asyncio connection
each over plain sockets (HTTP/1.1, chunked), as light on the shared two cores as a client can be.

``python -m benchmarks.sse_client HOST PORT`` reads one JSON line on stdin — ``{"path": ..., "tokens": [...]}`` —
opens one stream per token, prints ``ready`` once every stream has sent its first line, then reads ``drain N``:
it waits until N events have arrived in all (or 30 s pass without one) and prints one JSON line: per subscriber,
the events it got as ``[cursor, arrival (CLOCK_MONOTONIC, seconds), key]``, where key is the event's enrollment id
if it has one."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

QUIET = 30.0


class Streams:
    def __init__(self, count: int) -> None:
        self.got: list[list[tuple[str, float, str | None]]] = [[] for _ in range(count)]
        self.total = 0
        self.started = 0
        self.failed: list[str] = []
        self.ready = asyncio.Event()
        self.arrived = asyncio.Event()
        self.count = count

    def start(self) -> None:
        self.started += 1
        if self.started == self.count:
            self.ready.set()


def _event(block: str) -> tuple[str, str | None] | None:
    cursor, key = None, None
    for line in block.split("\n"):
        if line.startswith("id: "):
            cursor = line[4:]
        elif line.startswith("data: "):
            data: dict[str, Any] = json.loads(line[6:])
            key = data.get("data", {}).get("enrollment_id")
    return (cursor, key) if cursor is not None else None


async def subscribe(streams: Streams, index: int, host: str, port: int, path: str, token: str) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    except OSError as error:
        streams.failed.append(repr(error))
        streams.start()
        return
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        .encode()
    )  # fmt: skip
    status = await reader.readline()
    if b" 200 " not in status:
        streams.failed.append(status.decode(errors="replace").strip())
        streams.start()
        return
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # headers
    buffer, first = "", True
    got = streams.got[index]
    while True:
        size_line = await reader.readline()
        if not size_line:
            return
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            return
        chunk = await reader.readexactly(size + 2)
        arrival = time.monotonic()
        if first:
            first = False
            streams.start()
        buffer += chunk[:-2].decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            found = _event(block)
            if found is not None:
                got.append((found[0], arrival, found[1]))
                streams.total += 1
                streams.arrived.set()


async def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    loop = asyncio.get_running_loop()
    setup = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    streams = Streams(len(setup["tokens"]))
    tasks = [
        asyncio.create_task(subscribe(streams, i, host, port, setup["path"], token))
        for i, token in enumerate(setup["tokens"])
    ]
    await streams.ready.wait()
    print(json.dumps({"ready": len(tasks), "failed": streams.failed[:5], "failures": len(streams.failed)}), flush=True)
    command = await loop.run_in_executor(None, sys.stdin.readline)
    wanted = int(command.split()[1])
    while streams.total < wanted:
        streams.arrived.clear()
        try:
            await asyncio.wait_for(streams.arrived.wait(), timeout=QUIET)
        except TimeoutError:
            break
    print(json.dumps({"got": streams.got, "failures": len(streams.failed)}), flush=True)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
