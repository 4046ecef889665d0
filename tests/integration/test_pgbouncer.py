"""No acting user leaks from one unit of work into the next — directly, and through pgbouncer in transaction mode,
where consecutive transactions of one client run on different server connections and vice versa (T8).

16 threads run 10,000 units of work for random actors over 4 server connections; each checks, inside its own
transaction, that the database's acting user is its own and that it reads exactly its own scope; transactions
with no actor in between must see nothing at all.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from arccm.adapters.postgres.database import Database, normalize_url
from arccm.domain.access import Actor, Role
from tests.conftest import PgSchema
from tests.world import World

pytestmark = pytest.mark.needs_postgres
UNITS, THREADS = 10_000, 16


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
