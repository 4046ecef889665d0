"""The embedded server: started once, reused by a second process, the same engine as production."""

from __future__ import annotations

import subprocess
import sys
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
server = EmbeddedServer.start(__import__("pathlib").Path(sys.argv[1]))
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
        [sys.executable, "-c", PROBE, str(tmp_path / "data")], capture_output=True, text=True, timeout=120, check=True
    )
    assert second.stdout.strip() == started
    assert start_time(server.url) == started  # the second process left, the server stayed up for us
