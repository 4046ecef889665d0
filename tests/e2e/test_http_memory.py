"""The HTTP app on the in-memory container (what a host embeds for tests and demos): the event stream tells a
client whose cursor is older than the retained feed to resync, and a quiet stream sends heartbeats."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
from fastapi.testclient import TestClient

from arccm.adapters.http.app import create_app
from arccm.adapters.http.auth import AUDIENCE
from arccm.adapters.memory.store import MemoryStore
from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from tests.world import World, ok

SECRET = "a-test-secret-of-at-least-thirty-two-characters"


def test_a_stream_from_a_pruned_cursor_is_told_to_resync_and_a_quiet_one_gets_heartbeats() -> None:
    world = World.create()
    assert world.admin is not None
    for name in ("One", "Two"):
        ok(world.container.create_team()(world.admin, c.CreateTeam(name)))
    last = world.container.change_feed().read(world.admin, Cursor.origin()).changes[-1].cursor
    store: MemoryStore = world.container.memory_store()
    assert store.prune(time.time() + 60) == 2
    claims = {"sub": str(world.admin.user_id), "aud": AUDIENCE, "exp": datetime.now(UTC) + timedelta(minutes=5)}
    headers = {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}
    try:
        with TestClient(create_app(world.container, SECRET, heartbeat_seconds=0.5)) as client:
            everything = {"topics": "teams", "since": "0:0"}  # from the start: it ends by itself after the resync
            with client.stream("GET", "/v1/events", params=everything, headers=headers) as stream:
                lines = list(stream.iter_lines())
            assert lines[0] == "retry: 2000"
            assert "event: resync" in lines, lines
            assert not [line for line in lines if line.startswith("id: ")]
            current = {**headers, "Last-Event-ID": str(last)}  # the last change before the pruning: still current
            with client.stream("GET", "/v1/events", params={"topics": "teams", "max_events": 1},
                               headers=current) as stream:  # fmt: skip
                quiet: list[str] = []
                for line in stream.iter_lines():
                    quiet.append(line)
                    if line == ": heartbeat":
                        ok(world.container.create_team()(world.admin, c.CreateTeam("Three")))
                    if line.startswith("data: "):
                        break
            assert ": heartbeat" in quiet, quiet
            assert '"team_name": "Three"' in quiet[-1], quiet
    finally:
        world.container.subscriptions().stop()


def test_a_stream_opened_without_a_cursor_follows_from_now() -> None:
    """A browser's first EventSource connection has no Last-Event-ID: it gets what happens from then on, not the
    whole retained feed (``?since=0:0`` asks for that)."""
    world = World.create()
    assert world.admin is not None
    ok(world.container.create_team()(world.admin, c.CreateTeam("Before")))
    claims = {"sub": str(world.admin.user_id), "aud": AUDIENCE, "exp": datetime.now(UTC) + timedelta(minutes=5)}
    headers = {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}
    try:
        with TestClient(create_app(world.container, SECRET, heartbeat_seconds=0.5)) as client:
            with client.stream("GET", "/v1/events", params={"topics": "teams", "max_events": 1},
                               headers=headers) as stream:  # fmt: skip
                lines: list[str] = []
                for line in stream.iter_lines():
                    lines.append(line)
                    if line == ": heartbeat" and not any('"After"' in seen for seen in lines):
                        ok(world.container.create_team()(world.admin, c.CreateTeam("After")))
            data = [line for line in lines if line.startswith("data: ")]
            assert len(data) == 1, lines
            assert '"team_name": "After"' in data[0]
    finally:
        world.container.subscriptions().stop()
