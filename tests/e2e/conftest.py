"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from arccm.adapters.cli.main import run
from arccm.adapters.postgres.database import normalize_url
from arccm.domain.verification_code import encode


@pytest.fixture(scope="module")
def demo_schema(pg_url: str) -> Iterator[str]:
    """The demo's organization in a schema of its own (dropped afterwards), on the test server."""
    name = f"t_hostile_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCCM_DATABASE_URL", pg_url)
        patch.setenv("ARCCM_DB_SCHEMA", name)
        with pytest.raises(SystemExit) as exited:
            run(["--quiet", "demo"])
        assert exited.value.code == 0
        yield name
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


LOGS: dict[int, Callable[[], str]] = {}  # a served process's stderr so far (its last 5,000 characters), by pid


@contextmanager
def served(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``arccm serve`` in a subprocess on a free port (its public address, unless ``env`` names another), ready (it
    answers ``/readyz``); stopped with SIGTERM after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [str(Path(sys.executable).parent / "arccm"), "serve", "--port", str(port), *args]
    base = f"http://127.0.0.1:{port}"  # and the public address the certificates' QR codes point to
    environment = {**os.environ, "ARCCM_PUBLIC_URL": base, **env}
    # its log goes to a file: a pipe nobody reads fills up, and a server writing its access log blocks on it
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(command, env=environment, stderr=log, text=True)

        def said() -> str:
            log.seek(0)
            return log.read()[-5000:]

        LOGS[server.pid] = said

        try:
            deadline = time.monotonic() + 90
            while True:  # ready when it answers: polled, with a deadline
                try:
                    if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, said()
                assert time.monotonic() < deadline, "arccm serve did not become ready in 90 s"
                time.sleep(0.1)
            yield base, server
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
                raise AssertionError("arccm serve did not stop in 60 s after SIGTERM: " + said()) from None


def rows(pg_url: str, schema: str, sql: str) -> list[Any]:
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


ACTIVE_NAME = "Dana Active"
COLUMNS = (
    "completion_kind, course_id, course_name, location_id, provider_id, session_id, roster_id, instructor_ids,"
    " instructor_name, issued_by, issue_date, expiry_date, lead_instructor_id"
)


@pytest.fixture(scope="module")
def demo(pg_url: str, demo_schema: str) -> dict[str, Any]:
    """The demo's revoked certificate, and beside it an active one (written as the database holds one: the demo
    story ends with its only certificate revoked)."""
    revoked = rows(pg_url, demo_schema, "SELECT verification_code FROM certificates WHERE revoked_at IS NOT NULL")
    active = encode(secrets.randbits(60)).canonical
    rows(pg_url, demo_schema, f"""
        INSERT INTO certificates (id, verification_code, completion_id, recipient_name, recipient_user_id, {COLUMNS})
        SELECT gen_random_uuid(), '{active}', gen_random_uuid(), '{ACTIVE_NAME}',
               (SELECT id FROM profiles WHERE display_name = 'Omar Diaz'), {COLUMNS}
        FROM certificates LIMIT 1 RETURNING id""")  # fmt: skip
    people = dict(rows(pg_url, demo_schema, "SELECT email, id FROM profiles WHERE email <> ''"))
    return {"active": active, "active_name": ACTIVE_NAME, "revoked": revoked[0][0], "people": people}


JWT_SECRET = "a-test-secret-of-at-least-thirty-two-characters"  # the HTTP tests' ARCCM_JWT_SECRET


@pytest.fixture(scope="module")
def server(pg_url: str, demo_schema: str) -> Iterator[str]:
    """`arccm serve` on the module's demo schema, for the HTTP tests."""
    env = {"ARCCM_DATABASE_URL": pg_url, "ARCCM_DB_SCHEMA": demo_schema, "ARCCM_JWT_SECRET": JWT_SECRET}
    with served(env) as (base, _):
        yield base


@pytest.fixture(scope="module")
def people(pg_url: str, demo_schema: str) -> dict[str, str]:
    """The demo's people by the name before the @ of their e-mail (sam, alice, irene, lee …): their ids."""
    found = rows(pg_url, demo_schema, "SELECT email, id FROM profiles WHERE email <> ''")
    return {str(e).split("@")[0]: str(i) for e, i in found}
