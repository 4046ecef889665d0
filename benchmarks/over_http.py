"""The HTTP adapter's cost (issue 12): `arccm serve` in a subprocess on the benchmark's schema, driven by httpx
clients on this machine.

* ``http_verify`` — verification lookups per second through the server (``GET /v1/verify/{code}``) against the same
  server's bare constant endpoint (``GET /healthz``), same clients, same connections: what the lookup adds to the
  HTTP path.  Each request names a client address of its own (``X-Forwarded-For``, which uvicorn trusts from
  127.0.0.1), as many phones scanning QR codes do — the per-address rate limit is a separate concern.
* ``http_enroll`` — contended enrolls per second through HTTP against the same enrolls as in-process library calls
  (the library's figure is enroll_contended's): what the HTTP layer costs on a write.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from arccm.adapters.http.auth import mint
from arccm.adapters.postgres.baselines import contend
from benchmarks.suite import Bench, Result, _rows, contended, library_enroller, p

SECRET = secrets.token_hex(32)


@contextmanager
def serving(b: Bench) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    url = b.database.owner_url.render_as_string(hide_password=False)
    env = {**os.environ, "ARCCM_DATABASE_URL": url, "ARCCM_DB_SCHEMA": b.schema, "ARCCM_JWT_SECRET": SECRET}
    arccm = str(Path(sys.executable).parent / "arccm")
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: nobody reads the access log here
        server = subprocess.Popen([arccm, "serve", "--port", str(port)], env=env, stderr=log, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("arccm serve did not start: " + log.read()[-3000:])
                time.sleep(0.1)
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def _rate(base: str, paths: Sequence[str], workers: int, headers: Callable[[int], dict[str, str]]) -> float:
    """Requests per second for ``paths`` on ``workers`` threads with a keep-alive client each, released together."""
    barrier = threading.Barrier(workers + 1)
    failures: list[int] = []

    def work(mine: Sequence[tuple[int, str]]) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            http.get("/healthz")  # connected before the clock starts
            barrier.wait()
            for index, path in mine:
                status = http.get(path, headers=headers(index)).status_code
                if status not in (200, 404):
                    failures.append(status)

    numbered = list(enumerate(paths))
    threads = [threading.Thread(target=work, args=(numbered[i::workers],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[:5]}")
    return len(paths) / elapsed


def _address(index: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"}


def http_verify(b: Bench) -> Result:
    workers = 8
    count = 1_000 if b.quick else 4_000
    codes = [row[0] for row in _rows(b, f"SELECT verification_code FROM certificates ORDER BY id LIMIT {count}")]
    with serving(b) as base:
        ours = _rate(base, [f"/v1/verify/{code.lower()}" for code in codes], workers, _address)
        bare = _rate(base, ["/healthz"] * len(codes), workers, _address)
    return Result("http_verify", "requests/s", ours, "bare_endpoint", bare, True,
                  {"workers": workers, "requests": len(codes), "goal": ">= 0.5"})  # fmt: skip


def http_enroll(b: Bench) -> Result:
    sessions_each, capacity, workers = 40, 25, 8
    attempts = 1_200 if b.quick else 3_000
    admin, over_http, in_process, plan = contended(b, sessions_each, capacity, attempts)
    library = library_enroller(b, admin, in_process)
    token = {"Authorization": "Bearer " + mint(admin.user_id, SECRET, timedelta(hours=1))}
    statuses: list[int] = []
    with serving(b) as base:

        def client() -> Callable[[tuple[int, uuid.UUID]], Any]:
            http = httpx.Client(base_url=base, timeout=30, headers=token)

            def attempt(item: tuple[int, uuid.UUID]) -> None:
                body = {"learner_id": str(item[1]), "join_waitlist": False}
                statuses.append(http.post(f"/v1/sessions/{over_http[item[0]]}/enrollments", json=body).status_code)

            return attempt

        http_rate, http_lat = contend(plan, workers, client)
    library_rate, library_lat = contend(plan, workers, lambda: library)
    unexpected = [s for s in statuses if s not in (201, 409)]
    if unexpected:
        raise RuntimeError(f"{len(unexpected)} enrolls failed over HTTP, e.g. {unexpected[:5]}")
    overbooked = b.scalar(
        "SELECT count(*) FROM (SELECT session_id FROM session_enrollments WHERE status = 'enrolled'"
        " AND session_id = ANY(:ids) GROUP BY session_id HAVING count(*) > :cap) x",
        {"ids": over_http, "cap": capacity},
    )
    return Result(
        "http_enroll", "ops/s", http_rate, "library_in_process", library_rate, True,
        {
            "workers": workers, "attempts": attempts, "goal": ">= 0.5", "overbooked_sessions": overbooked,
            "p50_ms": round(p(http_lat, 0.5), 2), "p99_ms": round(p(http_lat, 0.99), 2),
            "baseline_p50_ms": round(p(library_lat, 0.5), 2), "baseline_p99_ms": round(p(library_lat, 0.99), 2),
        },
    )  # fmt: skip
