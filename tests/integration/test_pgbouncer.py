"""No acting user leaks from one unit of work into the next — directly, and through pgbouncer in transaction mode,
where consecutive transactions of one client run on different server connections and vice versa (T8).

16 threads run 10,000 units of work for random actors over 4 server connections; each checks, inside its own
transaction, that the database's acting user is its own and that it reads exactly its own scope; transactions
with no actor in between must see nothing at all.
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from arccm.adapters.postgres.database import Database, normalize_url
from arccm.domain.access import Actor, Role
from tests.conftest import PgSchema
from tests.world import World

pytestmark = pytest.mark.needs_postgres
UNITS, THREADS = 10_000, 16


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


def expected_scopes(world: World) -> dict[uuid.UUID, set[uuid.UUID]]:
    db: Database = world.container.database()
    out: dict[uuid.UUID, set[uuid.UUID]] = {}
    for actor in world.actors.values():
        with db.transaction(actor) as connection:
            out[actor.user_id] = set(connection.execute(text("SELECT id FROM training_sessions")).scalars())
    return out


def organization(world: World) -> list[Actor]:
    providers = [world.provider(locations=1) for _ in range(3)]
    aps = [world.user(Role.AP, p) for p in providers]
    instructors = [world.user(Role.IC, p) for p in providers]
    for index, (ap, lead) in enumerate(zip(aps, instructors, strict=True)):
        for n in range(index + 1):
            world.session(ap, lead, capacity=5, starts_in=timedelta(days=3 + n))
    assert world.admin is not None
    return [world.admin, *aps, *instructors, world.user(Role.IN)]


def hammer(db: Database, actors: list[Actor], scopes: dict[uuid.UUID, set[uuid.UUID]], seed: int) -> list[str]:
    """Run ``UNITS`` units of work on ``THREADS`` threads; return every disagreement seen (none expected)."""
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        rng = random.Random(seed + index)
        start.wait()
        for n in range(UNITS // THREADS):
            try:
                if n % 10 == 9:  # no actor at all, on the runtime role: nothing is visible
                    with db.engine.connect() as connection:
                        connection.execute(text("SELECT set_config('search_path', :s, true)"), {"s": f'"{db.schema}"'})
                        seen = connection.execute(
                            text("SELECT current_setting('arccm.user_id', true), count(*) FROM training_sessions")
                        ).one()
                        connection.rollback()
                    if seen[0] not in (None, "") or seen[1] != 0:
                        raise AssertionError(f"a bare transaction saw user {seen[0]!r} and {seen[1]} sessions")
                    continue
                actor = rng.choice(actors)
                with db.transaction(actor) as connection:
                    me = connection.execute(text("SELECT arccm_uid()")).scalar_one()
                    visible = set(connection.execute(text("SELECT id FROM training_sessions")).scalars())
                    connection.commit()
                if me != actor.user_id or visible != scopes[actor.user_id]:
                    raise AssertionError(
                        f"{actor.role.value} {actor.user_id} saw user {me} and {len(visible)} sessions"
                    )
            except Exception as error:
                with lock:
                    errors.append(f"{type(error).__name__}: {error}"[:300])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.parametrize("through", ["direct", "pgbouncer"])
def test_no_acting_user_leaks_between_units_of_work(
    pg_schema: PgSchema, through: str, request: pytest.FixtureRequest
) -> None:
    world = World.create(pg_schema.container())
    actors = organization(world)
    scopes = expected_scopes(world)
    assert len({frozenset(s) for s in scopes.values()}) >= 4  # the scopes differ, so a leak would show
    if through == "direct":
        db = Database(normalize_url(pg_schema.url), schema=pg_schema.name, pool_size=4, max_overflow=0)
    else:
        url = request.getfixturevalue("bouncer")
        db = Database(
            normalize_url(url), schema=pg_schema.name, pool_size=THREADS, max_overflow=0, pool_mode="transaction"
        )
    try:
        errors = hammer(db, actors, scopes, seed=7)
    finally:
        db.shutdown(timeout=5)
    assert errors == [], f"{len(errors)} disagreements, first: {errors[:3]}"
