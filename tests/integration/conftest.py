"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def bouncer(pg_url: str) -> Iterator[str]:
    """Debian's pgbouncer in transaction mode in front of the test server, 4 server connections per user."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.fail("pgbouncer is not installed (Debian package pgbouncer)")
    server = make_url(pg_url)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="arccm-pgbouncer-"))
    workdir.chmod(0o777)
    (workdir / "users.txt").write_text('"postgres" ""\n"arccm_app" ""\n')
    socket_dir = server.query.get("host") if isinstance(server.query.get("host"), str) else None
    host = server.host or socket_dir or "127.0.0.1"
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={server.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/users.txt
pool_mode = transaction
query_wait_timeout = 20
server_connect_timeout = 5
log_connections = 0
log_disconnections = 0
default_pool_size = 4
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits
pidfile = {workdir}/pgbouncer.pid
"""
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (workdir / name).chmod(0o644)
    command = [binary, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer will not run as root: run it as whoever may reach the server's socket
        user = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "nobody"
        command[1:1] = ["-u", user]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        for raw in process.stdout:  # it logs to stderr in the foreground: ready once it says it listens
            if b"listening on 127.0.0.1" in raw:
                break
        else:
            pytest.fail(f"pgbouncer exited with {process.wait()} before listening")
        drain = threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True)  # never block it
        drain.start()
        yield str(server.set(host="127.0.0.1", port=port, query={}))
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
