"""Enrollment under concurrency on PostgreSQL: no overbooking, no duplicates, promotion in order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from returns.result import Success
from sqlalchemy import text

from arccm.application import commands as c
from arccm.application.ports.change_feed import Cursor
from arccm.domain.access import Actor, Role
from arccm.domain.errors import SessionFull
from arccm.domain.people import UserProfile
from tests.conftest import PgSchema
from tests.world import World

pytestmark = pytest.mark.needs_postgres
THREADS = 16


def run_concurrently(jobs: list[Callable[[], Any]], threads: int = THREADS) -> list[Any]:
    """Run the jobs on ``threads`` threads that all start together at a barrier."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(mine: list[Callable[[], Any]]) -> None:
        barrier.wait()
        for job in mine:
            try:
                outcome = job()
            except BaseException as error:
                errors.append(error)
                return
            with lock:
                results.append(outcome)

    pool = [threading.Thread(target=worker, args=(jobs[i::threads],)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    return results


def learners(world: World, count: int) -> list[uuid.UUID]:
    profiles = [UserProfile(uuid.uuid4(), f"Learner {i}", Role.IN) for i in range(count)]
    world.container.bootstrap().load(*profiles)
    return [p.id for p in profiles]


def setup(pg_schema: PgSchema, waitlist: bool) -> tuple[World, Actor, uuid.UUID, list[uuid.UUID]]:
    world = World.create(pg_schema.container())
    provider = world.provider()
    ap = world.user(Role.AP, provider)
    ic = world.user(Role.IC, provider, max_students=100)
    session = world.session(ap, ic, capacity=25, allow_waitlist=waitlist)
    return world, ap, session.id, learners(world, 1000)


def stored_counts(pg_schema: PgSchema, session_id: uuid.UUID) -> tuple[int, int, int]:
    with pg_schema.owner.connect() as connection:
        row = connection.execute(
            text(
                f'SELECT s.seats_taken, (SELECT count(*) FROM "{pg_schema.name}".session_enrollments e'
                " WHERE e.session_id = s.id AND e.status = 'enrolled'),"
                f' s.waitlist_length FROM "{pg_schema.name}".training_sessions s WHERE s.id = :id'
            ),
            {"id": session_id},
        ).one()
    return row[0], row[1], row[2]


def test_1000_attempts_on_25_seats_without_waitlist(pg_schema: PgSchema) -> None:
    world, ap, session_id, people = setup(pg_schema, waitlist=False)
    enroll = world.container.enroll_learner()
    results = run_concurrently([lambda p=p: enroll(ap, c.EnrollLearner(session_id, p)) for p in people])
    assert sum(isinstance(r, Success) for r in results) == 25
    assert sum(not isinstance(r, Success) and r.failure() == SessionFull(session_id, 25) for r in results) == 975
    seats, rows, waiting = stored_counts(pg_schema, session_id)
    assert (seats, rows, waiting) == (25, 25, 0)


def test_waitlist_fills_in_arrival_order_and_concurrent_cancellations_promote_its_head(pg_schema: PgSchema) -> None:
    world, ap, session_id, people = setup(pg_schema, waitlist=True)
    enroll = world.container.enroll_learner()
    results = run_concurrently([lambda p=p: enroll(ap, c.EnrollLearner(session_id, p)) for p in people])
    assert all(isinstance(r, Success) for r in results)
    rows = world.container.read_models().enrollments(ap)
    waiting = sorted((r for r in rows if r.status == "waitlisted"), key=lambda r: r.waitlist_position or 0)
    assert [r.waitlist_position for r in waiting] == list(range(1, 976))
    head = [r.learner_id for r in waiting[:10]]
    seated = [r for r in rows if r.status == "enrolled"][:10]

    cancel = world.container.cancel_enrollment()
    outcomes = run_concurrently(
        [lambda e=e: cancel(ap, c.CancelEnrollment(session_id, e.id)) for e in seated], threads=10
    )
    assert all(isinstance(o, Success) for o in outcomes)

    after = {r.learner_id: r for r in world.container.read_models().enrollments(ap)}
    assert all(after[learner].status == "enrolled" for learner in head)
    still_waiting = sorted(
        (r for r in after.values() if r.status == "waitlisted"), key=lambda r: r.waitlist_position or 0
    )
    assert [r.waitlist_position for r in still_waiting] == list(range(1, 966))
    assert [r.learner_id for r in still_waiting] == [r.learner_id for r in waiting[10:]]
    feed = world.container.change_feed().read(
        world.admin, Cursor.origin(), limit=100_000, topics=frozenset({"enrollments"})
    )
    promoted = [ch.event.learner_id for ch in feed.changes if ch.event.name == "WaitlistPromoted"]  # type: ignore[attr-defined]
    assert promoted == head
    assert stored_counts(pg_schema, session_id) == (25, 25, 965)


def test_the_same_learner_enrolled_concurrently_gets_exactly_one_seat(pg_schema: PgSchema) -> None:
    world, ap, session_id, people = setup(pg_schema, waitlist=True)
    enroll = world.container.enroll_learner()
    results = run_concurrently([lambda: enroll(ap, c.EnrollLearner(session_id, people[0])) for _ in range(200)])
    assert sum(isinstance(r, Success) for r in results) == 1
    assert {r.failure().code for r in results if not isinstance(r, Success)} == {"already_enrolled"}
    assert stored_counts(pg_schema, session_id) == (1, 1, 0)
