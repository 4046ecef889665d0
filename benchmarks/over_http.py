"""The HTTP adapter's cost (issue 12): `arccm serve` in a subprocess on the benchmark's schema, driven by httpx
clients on this machine.

* ``http_verify`` — verification lookups per second through the server (``GET /v1/verify/{code}``) against the same
  server's bare constant endpoint (``GET /healthz``), same clients, same connections: what the lookup adds to the
  HTTP path.  Each request names a client address of its own (``X-Forwarded-For``, which uvicorn trusts from
  127.0.0.1), as many phones scanning QR codes do — the per-address rate limit is a separate concern.
* ``http_enroll`` — contended enrolls per second through HTTP against the same enrolls as in-process library calls
  (the library's figure is enroll_contended's): what the HTTP layer costs on a write.
* ``sse_fanout`` — 1,000 event streams (``GET /v1/events``) of users of every role, held by one asyncio client
  process (sse_client.py), while enrollments commit at 100 a second: commit-to-client latency of every delivery
  (p50, p99) against the same workload's commit-to-handler latency of 1,000 in-process subscriptions of the same
  users; every subscriber's events checked against a read of the feed in its own scope (lost, duplicated, or not
  theirs at all); the server's memory per stream.
"""

from __future__ import annotations

import json
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
import psutil

from arccm.adapters.http.auth import mint
from arccm.adapters.postgres.baselines import add_sessions, contend
from arccm.application import commands as c
from arccm.application.ports.change_feed import Change, Cursor
from arccm.application.ports.subscriptions import TOPICS
from arccm.domain.access import Actor, Role
from benchmarks.suite import Bench, Result, _rows, contended, library_enroller, p

SECRET = secrets.token_hex(32)


@contextmanager
def serving(b: Bench) -> Iterator[str]:
    with serving_process(b) as (base, _):
        yield base


@contextmanager
def serving_process(b: Bench) -> Iterator[tuple[str, int]]:
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
            yield base, server.pid
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
    paths = [f"/v1/verify/{code.lower()}" for code in codes]
    slices = 4  # in turns, a quarter each time: both sides see the same moments of a busy machine
    ours_seconds = bare_seconds = 0.0
    with serving(b) as base:
        for turn in range(slices):
            part = paths[turn::slices]
            ours_seconds += len(part) / _rate(base, part, workers, _address)
            bare_seconds += len(part) / _rate(base, ["/healthz"] * len(part), workers, _address)
    ours, bare = len(paths) / ours_seconds, len(paths) / bare_seconds
    return Result("http_verify", "requests/s", ours, "bare_endpoint", bare, True,
                  {"workers": workers, "requests": len(codes), "turns": slices, "goal": ">= 0.5"})  # fmt: skip


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


# --- sse_fanout ---------------------------------------------------------------------------------------------------

MIX = {"SA": 10, "AD": 10, "AP": 80, "IC": 150, "IP": 50, "IT": 500, "IN": 200}  # 1,000 subscribers in all


def _subscribers(b: Bench) -> list[Actor]:
    """Up to ``MIX[role]`` active users of each role (under active providers), learners topped up to 1,000."""
    chosen: list[uuid.UUID] = []
    for role, count in MIX.items():
        chosen += [row[0] for row in _rows(b, (
            "SELECT p.id FROM profiles p LEFT JOIN authorized_providers ap ON ap.id = p.provider_id"
            f" WHERE p.role = '{role}' AND p.status = 'active' AND (p.provider_id IS NULL OR ap.status = 'active')"
            f" ORDER BY p.id LIMIT {count}"))]  # fmt: skip
    if len(chosen) < 1000:
        taken = ",".join(f"'{u}'" for u in chosen)
        chosen += [row[0] for row in _rows(b, (
            "SELECT id FROM profiles WHERE role IN ('IT','IN') AND status = 'active' AND provider_id IS NULL"
            f" AND id NOT IN ({taken}) ORDER BY id LIMIT {1000 - len(chosen)}"))]  # fmt: skip
    resolve = b.container.resolve_actor()
    return [resolve(user).unwrap() for user in chosen]


def _fanout_plan(b: Bench, actors: list[Actor], count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``count`` (session, learner) enrollments: fresh sessions led by subscribed instructors at subscribed APs'
    locations, subscribed learners — so every role has something of its own to receive."""
    leads = [a.user_id for a in actors if a.role.value in ("IC", "IP")][:40]
    locations = sorted({loc for a in actors if a.role.value == "AP" for loc in a.location_ids})
    course = b.scalar("SELECT id FROM course_templates WHERE code = 'CPR-C'")
    admin = b.actor(Role.SA)
    sessions = [
        add_sessions(b.owner, b.schema, 1, 10_000, lead, locations[i % len(locations)], course, admin.user_id)[0]
        for i, lead in enumerate(leads)
    ]
    learners = [a.user_id for a in actors if a.role.value in ("IT", "IN")]
    pairs = {(session, learner) for session in sessions for learner in learners}
    return b.rng.sample(sorted(pairs), count)


def _paced_enrolls(b: Bench, plan: list[tuple[uuid.UUID, uuid.UUID]], rate: float, warm_up: int) -> dict[str, float]:
    """Enroll ``plan`` at ``rate`` a second through the library; each enrollment's commit time (CLOCK_MONOTONIC),
    but for the first ``warm_up`` (delivered and checked like the rest, not timed)."""
    admin = b.actor(Role.SA)
    enroll = b.container.enroll_learner()
    committed: dict[str, float] = {}
    began = time.monotonic()
    for index, (session, learner) in enumerate(plan):
        delay = began + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing the writer: the workload's rate, not a synchronisation
        enrollment = enroll(admin, c.EnrollLearner(session, learner, join_waitlist=False)).unwrap()
        if index >= warm_up:
            committed[str(enrollment.id)] = time.monotonic()
    return committed


def _all_shared(base: str, count: int) -> None:
    """Wait until the server's pump serves every stream from its shared read (each caught up in its own scope
    first: a thousand reads, seconds at scale m): the measured part is the steady state."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = httpx.get(base + "/metrics", timeout=10).text
        if f'arccm_feed_subscriptions{{served="shared"}} {float(count)}' in text:
            return
        time.sleep(0.2)  # polling the server's own figure, with a deadline
    raise RuntimeError("the server's pump did not serve every stream from its shared read within 300 s")


def _expected(b: Bench, actors: list[Actor], start: Cursor) -> list[list[str]]:
    feed = b.container.change_feed()
    out = []
    for actor in actors:
        cursors, since = [], start
        while batch := feed.read(actor, since, 500).changes:
            cursors += [str(change.cursor) for change in batch]
            since = batch[-1].cursor
        out.append(cursors)
    return out


def _tally(
    got: list[list[tuple[str, float, str | None]]], expected: list[list[str]], committed: dict[str, float]
) -> dict[str, Any]:
    lost = duplicated = foreign = 0
    latencies = []
    for received, wanted in zip(got, expected, strict=True):
        cursors = [cursor for cursor, _, _ in received]
        duplicated += len(cursors) - len(set(cursors))
        lost += len(set(wanted) - set(cursors))
        foreign += len(set(cursors) - set(wanted))
        latencies += [(arrival - committed[key]) * 1000 for _, arrival, key in received if key in committed]
    return {"lost": lost, "duplicated": duplicated, "not_theirs": foreign, "latencies": latencies,
            "deliveries": sum(len(r) for r in got)}  # fmt: skip


def sse_fanout(b: Bench) -> Result:
    seconds, rate, warm_up = (5.0, 100.0, 100) if b.quick else (15.0, 100.0, 100)
    actors = _subscribers(b)
    plan = _fanout_plan(b, actors, 2 * (int(seconds * rate) + warm_up))
    first, second = plan[: len(plan) // 2], plan[len(plan) // 2 :]
    feed = b.container.change_feed()
    tokens = [mint(a.user_id, SECRET, timedelta(hours=2)) for a in actors]
    with serving_process(b) as (base, pid):
        server = psutil.Process(pid)
        idle_rss = server.memory_info().rss
        host, port = base.removeprefix("http://").split(":")
        client = subprocess.Popen([sys.executable, "-m", "benchmarks.sse_client", host, port], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert client.stdin is not None
        assert client.stdout is not None
        client.stdin.write(json.dumps({"path": "/v1/events", "tokens": tokens}) + "\n")
        client.stdin.flush()
        ready = json.loads(client.stdout.readline())
        if ready["failures"]:
            client.kill()
            raise RuntimeError(f"{ready['failures']} event streams did not open, e.g. {ready['failed']}")
        _all_shared(base, len(actors))
        streams_rss = server.memory_info().rss
        start = feed.head()
        committed = _paced_enrolls(b, first, rate, warm_up)
        expected = _expected(b, actors, start)
        client.stdin.write(f"drain {sum(len(e) for e in expected)}\n")
        client.stdin.flush()
        over_http = _tally(json.loads(client.stdout.readline())["got"], expected, committed)
        client.wait(timeout=60)
    # the same users subscribed in process, the same kind of workload
    inboxes: list[list[tuple[str, float, str | None]]] = [[] for _ in actors]

    def handler(inbox: list[tuple[str, float, str | None]]) -> Callable[[Change], None]:
        def arrived(change: Change) -> None:
            inbox.append((str(change.cursor), time.monotonic(), str(getattr(change.event, "enrollment_id", ""))))

        return arrived

    pump = b.container.subscriptions()
    start = feed.head()
    subscriptions = [
        pump.subscribe(a, TOPICS, handler(inbox), since=start) for a, inbox in zip(actors, inboxes, strict=True)
    ]
    for subscription in subscriptions:  # the steady state, as over HTTP
        subscription.wait_for(lambda s: s.shared, timeout=300)
    committed = _paced_enrolls(b, second, rate, warm_up)
    expected = _expected(b, actors, start)
    for subscription, wanted in zip(subscriptions, expected, strict=True):
        if wanted:
            last = Cursor.parse(wanted[-1])
            subscription.wait_for(lambda s, last=last: s.cursor >= last, timeout=30)
        subscription.close()
    in_process = _tally(inboxes, expected, committed)
    http_lat, own_lat = over_http.pop("latencies"), in_process.pop("latencies")
    roles: dict[str, int] = {}
    for actor in actors:
        roles[actor.role.value] = roles.get(actor.role.value, 0) + 1
    return Result(
        "sse_fanout", "ms (p99 commit to client)", p(http_lat, 0.99), "in_process_handler", p(own_lat, 0.99), False,
        {
            "subscribers": len(actors), "roles": roles, "events_per_second": rate, "seconds": seconds,
            "warm_up_events": warm_up,
            "goal": "p99 < 100 ms, 0 lost, 0 duplicated",
            "p50_ms": round(p(http_lat, 0.5), 2), "p99_ms": round(p(http_lat, 0.99), 2),
            "baseline_p50_ms": round(p(own_lat, 0.5), 2), "baseline_p99_ms": round(p(own_lat, 0.99), 2),
            **{f"http_{k}": v for k, v in over_http.items()}, **{f"in_process_{k}": v for k, v in in_process.items()},
            "server_kib_per_stream": round((streams_rss - idle_rss) / len(actors) / 1024, 1),
        },
    )  # fmt: skip
