"""Certificate writes under concurrency on PostgreSQL: no driver error escapes, every invariant holds.

Each scenario was found by an independent run against the public API (issue 10):
three batches for one session at once, a batch racing single issues, and one
learner certified for the same course from two sessions at the same moment.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from returns.result import Failure, Success
from sqlalchemy import text

from arccm.adapters.postgres.locks import CLASSES
from arccm.application import commands as c
from arccm.domain.access import Actor, Role
from arccm.domain.certificate import CompletionKind
from arccm.domain.training_session import TrainingSession
from tests.conftest import PgSchema
from tests.integration.test_certificate_counts import counts_drift
from tests.integration.test_concurrency import learners, run_concurrently
from tests.world import World, ok

pytestmark = pytest.mark.needs_postgres


def _class(world: World, ap: Actor, ic: Actor, people: list[uuid.UUID], days: int) -> tuple[TrainingSession, dict]:
    from datetime import timedelta

    session = world.session(ap, ic, capacity=len(people), starts_in=timedelta(days=days))
    enrollments = {p: ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, p))) for p in people}
    world.run_class(session, {e.id: (95, 95) for e in enrollments.values()})
    return session, enrollments


def _setup(pg_schema: PgSchema, count: int) -> tuple[World, Actor, Actor, list[uuid.UUID]]:
    world = World.create(pg_schema.container())
    provider = world.provider()
    return world, world.user(Role.AP, provider), world.user(Role.IC, provider, max_students=500), learners(world, count)


def _count_by(pg_schema: PgSchema, key: str, where: str) -> dict[uuid.UUID, int]:
    with pg_schema.owner.connect() as connection:
        sql = f'SELECT {key}, count(*) FROM "{pg_schema.name}".certificates WHERE {where} GROUP BY {key}'
        return {row[0]: row[1] for row in connection.execute(text(sql))}


def _live_per_completion(pg_schema: PgSchema) -> dict[uuid.UUID, int]:
    return _count_by(pg_schema, "completion_id", "revoked_at IS NULL")


def _current_per_holder(pg_schema: PgSchema) -> dict[uuid.UUID, int]:
    return _count_by(pg_schema, "recipient_user_id", "revoked_at IS NULL AND superseded_by_id IS NULL")


def test_three_batches_for_one_session_at_once_certify_each_completion_once(pg_schema: PgSchema) -> None:
    world, ap, ic, people = _setup(pg_schema, 30)
    session, enrollments = _class(world, ap, ic, people, days=7)
    batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session.id, chunk_size=4)
    outcomes = run_concurrently([lambda: world.container.batch_issue_certificates()(ap, batch)] * 3, threads=3)
    assert all(isinstance(o, Success) for o in outcomes), outcomes
    live = _live_per_completion(pg_schema)
    assert sorted(live) == sorted(e.id for e in enrollments.values())
    assert set(live.values()) == {1}
    with pg_schema.owner.connect() as connection:
        statuses = connection.execute(text(f'SELECT status FROM "{pg_schema.name}".rosters')).scalars().all()
    assert "running" not in statuses


def test_a_batch_and_single_issues_for_one_session_at_once(pg_schema: PgSchema) -> None:
    world, ap, ic, people = _setup(pg_schema, 24)
    session, enrollments = _class(world, ap, ic, people, days=7)
    batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session.id, chunk_size=3)
    singles = [c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, e.id) for e in enrollments.values()]
    jobs = [lambda: world.container.batch_issue_certificates()(ap, batch)] * 2
    jobs += [lambda cmd=cmd: world.container.issue_certificate()(ap, cmd) for cmd in singles]
    outcomes = run_concurrently(jobs, threads=8)
    assert all(isinstance(o, Success) for o in outcomes), [o for o in outcomes if isinstance(o, Failure)]
    live = _live_per_completion(pg_schema)
    assert len(live) == len(enrollments)
    assert set(live.values()) == {1}
    assert counts_drift(pg_schema) == {}  # the counts per location and provider (migration 0014) kept up


def test_one_learner_certified_from_two_sessions_at_once_holds_one_current_certificate(pg_schema: PgSchema) -> None:
    world, ap, ic, people = _setup(pg_schema, 5)
    first, first_enrollments = _class(world, ap, ic, people, days=7)
    second, second_enrollments = _class(world, ap, ic, people, days=9)
    jobs = []
    for person in people:
        for session, enrollments in ((first, first_enrollments), (second, second_enrollments)):
            cmd = c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollments[person].id)
            jobs.append(lambda cmd=cmd: world.container.issue_certificate()(ap, cmd))
    for _ in range(3):  # the race needs a few tries to show; each round certifies again from scratch
        outcomes = run_concurrently(jobs, threads=len(jobs))
        assert all(isinstance(o, Success) for o in outcomes), outcomes
        assert _current_per_holder(pg_schema) == dict.fromkeys(people, 1)
        for certificate in {o.unwrap().id: o.unwrap() for o in outcomes}.values():
            world.container.revoke_certificate()(world.admin, c.RevokeCertificate(certificate.id, "next round"))


def test_the_database_refuses_a_second_current_certificate_for_one_holder_and_course(pg_schema: PgSchema) -> None:
    world, ap, ic, people = _setup(pg_schema, 1)
    session, enrollments = _class(world, ap, ic, people, days=7)
    ok(
        world.container.issue_certificate()(
            ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollments[people[0]].id)
        )
    )
    from sqlalchemy.exc import IntegrityError

    with (
        pytest.raises(IntegrityError, match="one_current_certificate_per_holder"),
        pg_schema.owner.begin() as connection,
    ):
        connection.execute(
            text(
                f'INSERT INTO "{pg_schema.name}".certificates (id, verification_code, completion_kind, completion_id,'
                " recipient_name, recipient_user_id, course_id, course_name, location_id, issued_by, issue_date,"
                " expiry_date, instructor_ids, instructor_name, session_id, version)"
                " SELECT :id, 'ABCDEFGHJKMN' || 'P', completion_kind, :completion, recipient_name, recipient_user_id,"
                " course_id, course_name, location_id, issued_by, issue_date, expiry_date, instructor_ids, instructor_name,"
                f' session_id, 1 FROM "{pg_schema.name}".certificates LIMIT 1'
            ),
            {"id": uuid.uuid4(), "completion": uuid.uuid4()},
        )


def test_holding_twenty_thousand_holders_takes_a_bounded_number_of_locks(pg_schema: PgSchema) -> None:
    """One advisory lock per holder made a batch chunk of 20,000 fail with "out of shared memory" (PostgreSQL's
    lock table holds 6,400 by default, shared by every connection): holders hash into 512 keys."""
    container = pg_schema.container()
    holders = [(uuid.uuid4(), uuid.uuid4()) for _ in range(20_000)]
    with container.unit_of_work()(None) as uow:
        assert uow.certificates.current_for_update(holders) == {}
        held = uow.run(  # type: ignore[attr-defined]
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND classid = CAST(:kind AS bigint)::oid",
            {"kind": CLASSES["certificate holder"]},
        ).scalar_one()
    assert 400 <= held <= 512


def test_verification_never_reports_active_after_the_revocation_committed(pg_schema: PgSchema) -> None:
    """Verifiers hammer the public lookup while certificates are revoked one by one: a lookup that began after a
    revocation returned must say revoked (the lookup reads a fresh snapshot on a pooled connection; no cache)."""
    world, ap, ic, people = _setup(pg_schema, 12)
    session, _ = _class(world, ap, ic, people, days=7)
    batch = c.BatchIssueCertificates(CompletionKind.SESSION_ENROLLMENT, session.id)
    ok(world.container.batch_issue_certificates()(ap, batch))
    certificates = list(world.container.read_models().certificates(world.admin, world.clock.now().date()))
    assert len(certificates) == 12
    codes = {s.id: s.code for s in certificates}
    revoked_at: dict[uuid.UUID, float] = {}
    seen: list[tuple[uuid.UUID, float, str]] = []
    lock, done, start = threading.Lock(), threading.Event(), threading.Barrier(5)

    def revoke() -> None:
        start.wait()
        for certificate_id in codes:
            ok(world.container.revoke_certificate()(world.admin, c.RevokeCertificate(certificate_id, "race")))
            with lock:
                revoked_at[certificate_id] = time.perf_counter()  # the commit has returned
        done.set()

    def verify() -> None:
        verifier = world.container.verify_certificate()
        start.wait()
        while True:
            last = done.is_set()  # one more whole pass after the last revocation, however busy the machine
            for certificate_id, code in codes.items():
                began = time.perf_counter()
                status = ok(verifier(c.VerifyCertificate(code))).certificate.status
                with lock:
                    seen.append((certificate_id, began, status))
            if last:
                return

    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except BaseException as error:  # a thread's failure is the test's
                errors.append(error)
                done.set()

        return run

    threads = [threading.Thread(target=guarded(revoke))] + [threading.Thread(target=guarded(verify)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    after = [(cid, status) for cid, began, status in seen if cid in revoked_at and began > revoked_at[cid]]
    assert {cid for cid, _ in after} == set(codes)  # every revocation was looked up after it committed
    assert [a for a in after if a[1] != "revoked"] == []
