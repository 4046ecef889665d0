"""Stopping `arccm serve`: SIGTERM under load loses no committed work, and an event stream resumed with
``Last-Event-ID`` on the next server misses nothing and repeats nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arccm.adapters.container import on_postgres
from arccm.application import commands as c
from arccm.domain.access import Actor
from tests.e2e.conftest import rows, served
from tests.e2e.test_http import SECRET, sse
from tests.e2e.test_http_story import auth

# once per CI run: HTTP over the machine's PostgreSQL; the embedded pass repeats only test_http.py and the hostile cases
pytestmark = [pytest.mark.needs_postgres, pytest.mark.soak]


@pytest.fixture(scope="module")
def env(pg_url: str, demo_schema: str) -> dict[str, str]:
    return {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": demo_schema, "ARCCM_JWT_SECRET": SECRET}


@pytest.fixture(scope="module")
def sam(pg_url: str, demo_schema: str) -> str:
    return next(str(i) for e, i in rows(pg_url, demo_schema, "SELECT email, id FROM profiles") if e.startswith("sam"))


@pytest.fixture(scope="module")
def library(pg_url: str, demo_schema: str, sam: str) -> Iterator[tuple[Any, Actor]]:
    """The same database through the library, for writes made while no server runs."""
    container = on_postgres(pg_url, schema=demo_schema)
    admin = container.resolve_actor()(uuid.UUID(sam)).unwrap()
    yield container, admin
    container.lifecycle().shutdown()


def teams(library: tuple[Any, Actor], n: int) -> None:
    container, admin = library
    for _ in range(n):
        container.create_team()(admin, c.CreateTeam(f"Team {uuid.uuid4().hex[:8]}")).unwrap()


def events_of(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-Sent Events one at a time, as they arrive."""
    pending: list[str] = []
    for line in lines:
        pending.append(line)
        if line == "":
            yield from sse(iter(pending))
            pending = []


def test_an_event_stream_resumed_on_the_next_server_misses_nothing_and_repeats_nothing(
    env: dict[str, str], sam: str, library: tuple[Any, Actor]
) -> None:
    headers = auth(sam)
    teams(library, 5)
    first: list[dict[str, str]] = []
    with served(env) as (base, server):
        with httpx.stream("GET", base + "/v1/events", params={"topics": "teams", "since": "0:0"}, headers=headers,
                          timeout=30) as stream:  # fmt: skip
            lines = stream.iter_lines()
            for event in events_of(lines):
                first.append(event)
                if len(first) == 3:
                    break
            server.terminate()  # SIGTERM: open streams end with a retry hint, then the server exits 0
            tail = list(lines)
        assert server.wait(timeout=60) == 0
    assert any(line.startswith("retry:") for line in tail)
    first.extend(sse(iter(tail)))
    teams(library, 4)  # written while no server runs
    total = total_team_events(env)
    rest: list[dict[str, str]] = []
    with served(env) as (base, _):
        resumed = {**headers, "Last-Event-ID": first[-1]["id"]}
        with httpx.stream("GET", base + "/v1/events", params={"topics": "teams", "max_events": total - len(first)},
                          headers=resumed, timeout=30) as stream:  # fmt: skip
            rest.extend(events_of(stream.iter_lines()))
    ids = [e["id"] for e in [*first, *rest]]
    assert len(ids) == len(set(ids))  # nothing twice
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split(":")))
    assert len(ids) == total  # nothing missed: every team event there is, in order


def total_team_events(env: dict[str, str]) -> int:
    found = rows(
        env["ARCCM_DATABASE_URL"], env["ARCCM_DB_SCHEMA"], "SELECT count(*) FROM change_log WHERE topic = 'teams'"
    )
    return int(found[0][0])


def test_sigterm_under_load_loses_no_answered_work(env: dict[str, str], sam: str) -> None:
    """Eight clients create teams as fast as they can; SIGTERM mid-way.  Every team whose creation was answered
    201 is in the database, and every team in the database was answered (in-flight requests are finished, none
    is cut off after its commit)."""
    headers = auth(sam)
    answered: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    prefix = f"Load {uuid.uuid4().hex[:6]}"
    with served(env) as (base, server):
        started = threading.Barrier(9)
        loaded = threading.Event()

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                started.wait()
                for k in range(10_000):
                    name = f"{prefix} {n}-{k}"
                    try:
                        answer = http.post("/v1/teams", json={"name": name}, headers=headers)
                    except httpx.TransportError:
                        return  # the server stopped listening: not answered, so it must not be half-done
                    with lock:
                        (answered if answer.status_code == 201 else failed).append(name)
                        if len(answered) >= 80:
                            loaded.set()
                    if answer.status_code == 503:
                        return

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        started.wait()
        assert loaded.wait(timeout=120), "the load did not start"
        server.terminate()
        for thread in threads:
            thread.join(timeout=90)
        assert server.wait(timeout=60) == 0
    stored = {name for (name,) in rows(env["ARCCM_DATABASE_URL"], env["ARCCM_DB_SCHEMA"],
                                       f"SELECT name FROM teams WHERE name LIKE '{prefix} %'")}  # fmt: skip
    assert set(answered) <= stored  # no answered work lost
    assert stored <= set(answered) | set(failed)  # nothing committed without an answer to its client
    assert all(f not in stored for f in failed)
