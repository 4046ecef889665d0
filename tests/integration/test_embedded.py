"""The embedded server: started once, reused by a second process, the same engine as production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from arccm.adapters.embedded.server import EmbeddedServer
from arccm.adapters.postgres.database import normalize_url

pytestmark = pytest.mark.needs_postgres

PROBE = """
import sys
from sqlalchemy import create_engine, text
from arccm.adapters.embedded.server import EmbeddedServer
from arccm.adapters.postgres.database import normalize_url
server = EmbeddedServer.start(__import__("pathlib").Path(sys.argv[1]), float(sys.argv[2]))
engine = create_engine(normalize_url(server.url))
with engine.connect() as connection:
    print(connection.execute(text("SELECT pg_postmaster_start_time()")).scalar_one())
"""


def start_time(url: str) -> str:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        value = str(connection.execute(text("SELECT pg_postmaster_start_time()")).scalar_one())
    engine.dispose()
    return value


def test_a_second_process_reuses_the_running_server(tmp_path: Path) -> None:
    server = EmbeddedServer.start(tmp_path / "data")
    started = start_time(server.url)
    second = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "data"), "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert second.stdout.strip() == started
    assert start_time(server.url) == started  # the second process left, the server stayed up for us


HOLDER = """
import sys
import time
from pathlib import Path
from arccm.adapters.embedded.server import EmbeddedServer
EmbeddedServer.start(Path(sys.argv[1]))
print("up", flush=True)
sys.stdin.read()
"""


def test_a_client_killed_with_sigkill_does_not_keep_the_server_running(tmp_path: Path) -> None:
    """Its handle stays listed; the next client forgets it and, leaving last, stops the server."""
    data = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "up"  # the server is up and the holder listed
    holder.kill()
    holder.wait(timeout=60)
    postmaster = data / "pgdata" / "postmaster.pid"
    assert postmaster.exists()
    try:
        subprocess.run([sys.executable, "-c", PROBE, str(data), "0"], capture_output=True, timeout=120, check=True)
        assert not postmaster.exists()  # stopped by the last live client on its way out
    finally:
        if postmaster.exists():  # the test failed: leave no server behind
            os.kill(int(postmaster.read_text().split()[0]), signal.SIGTERM)


def test_the_server_outlives_its_last_client_by_the_grace_period_then_stops(tmp_path: Path) -> None:
    """Consecutive commands reuse one server; once nobody has used it for the grace period, it stops."""
    data = tmp_path / "data"
    postmaster = data / "pgdata" / "postmaster.pid"
    first = subprocess.run(
        [sys.executable, "-c", PROBE, str(data), "3"], capture_output=True, text=True, timeout=120, check=True
    )
    try:
        assert postmaster.exists()  # the last client left; the server stays for the next one
        second = subprocess.run(
            [sys.executable, "-c", PROBE, str(data), "3"], capture_output=True, text=True, timeout=120, check=True
        )
        assert second.stdout == first.stdout  # the same server, not a new start
        deadline = time.monotonic() + 90
        while postmaster.exists() and time.monotonic() < deadline:  # waiting for an outcome, not for a moment
            time.sleep(0.2)
        assert not postmaster.exists()  # stopped by the reaper, once the grace period passed with no client
    finally:
        if postmaster.exists():
            os.kill(int(postmaster.read_text().split()[0]), signal.SIGTERM)
