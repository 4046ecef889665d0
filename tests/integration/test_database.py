"""What only PostgreSQL does: constraints for writes that bypass arccm, migrations, roles, pooled settings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from arccm.adapters.postgres.database import Database, DatabaseUnavailable, normalize_url
from arccm.application import commands as c
from arccm.domain.access import Role
from arccm.domain.certificate import CompletionKind
from tests.conftest import PgSchema
from tests.world import NOW, World, ok

pytestmark = pytest.mark.needs_postgres
HEAD = "0026"  # the newest revision; bump with each migration


def raw(pg_schema: PgSchema, sql: str, params: dict[str, Any] | None = None, as_app: bool = False) -> Any:
    """Run SQL straight at the database, bypassing arccm (as the owner, or as the application role)."""
    url = pg_schema.database.app_url if as_app else normalize_url(pg_schema.url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'SET LOCAL search_path TO "{pg_schema.name}"'))
            result = connection.execute(text(sql), params or {})
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


@pytest.fixture
def seeded(pg_schema: PgSchema) -> tuple[World, Any, Any]:
    world = World.create(pg_schema.container())
    provider = world.provider()
    ap = world.user(Role.AP, provider)
    ic = world.user(Role.IC, provider)
    session = world.session(ap, ic, capacity=2)
    return world, ap, session


def insert_enrollment(
    pg_schema: PgSchema,
    session_id: uuid.UUID,
    learner: uuid.UUID,
    status: str = "enrolled",
    position: int | None = None,
) -> None:
    raw(
        pg_schema,
        "INSERT INTO session_enrollments (id, session_id, learner_id, status, waitlist_position, enrolled_at)"
        " VALUES (:id, :s, :l, :st, :p, now())",
        {"id": uuid.uuid4(), "s": session_id, "l": learner, "st": status, "p": position},
    )


def test_a_raw_insert_that_would_overbook_is_rejected(pg_schema: PgSchema, seeded: tuple[World, Any, Any]) -> None:
    world, _, session = seeded
    people = [world.user(Role.IN).user_id for _ in range(3)]
    insert_enrollment(pg_schema, session.id, people[0])
    insert_enrollment(pg_schema, session.id, people[1])
    with pytest.raises(IntegrityError, match="seats_within_capacity"):
        insert_enrollment(pg_schema, session.id, people[2])
    assert raw(pg_schema, "SELECT seats_taken FROM training_sessions")[0][0] == 2
    with pytest.raises(IntegrityError, match="seats_within_capacity"):
        raw(pg_schema, "UPDATE training_sessions SET max_capacity = 1")


def test_a_raw_duplicate_active_enrollment_is_rejected(pg_schema: PgSchema, seeded: tuple[World, Any, Any]) -> None:
    world, _, session = seeded
    learner = world.user(Role.IN).user_id
    insert_enrollment(pg_schema, session.id, learner)
    with pytest.raises(IntegrityError, match="one_active_enrollment"):
        insert_enrollment(pg_schema, session.id, learner, "waitlisted", 1)


def test_waitlist_positions_are_unique_per_session(pg_schema: PgSchema, seeded: tuple[World, Any, Any]) -> None:
    world, _, session = seeded
    a, b = world.user(Role.IN).user_id, world.user(Role.IN).user_id
    insert_enrollment(pg_schema, session.id, a, "waitlisted", 1)
    with pytest.raises(IntegrityError, match="one_waitlist_position"):
        insert_enrollment(pg_schema, session.id, b, "waitlisted", 1)
    with pytest.raises(IntegrityError, match="waitlist_position_iff_waitlisted"):
        insert_enrollment(pg_schema, session.id, b, "enrolled", 3)


BROKEN_WRITES = [
    ("UPDATE training_sessions SET max_capacity = 0", IntegrityError, "max_capacity"),
    ("UPDATE training_sessions SET ends_at = starts_at", IntegrityError, "session_window"),
    ("UPDATE training_sessions SET status = 'postponed'", IntegrityError, "status"),
    ("UPDATE certificates SET verification_code = 'abc'", IntegrityError, "verification_code_check"),
    ("DELETE FROM certificates", DBAPIError, "never deleted"),
    ("UPDATE certificates SET expiry_date = issue_date", IntegrityError, "expiry_after_issue"),
    ("UPDATE certificates SET revoked_at = now()", IntegrityError, "revocation_complete"),
]


@pytest.mark.parametrize(("statement", "error", "constraint"), BROKEN_WRITES, ids=[w[2] for w in BROKEN_WRITES])
def test_raw_writes_that_break_an_invariant_are_rejected(
    pg_schema: PgSchema, seeded: tuple[World, Any, Any], statement: str, error: type[Exception], constraint: str
) -> None:
    world, ap, session = seeded
    enrollment = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, world.user(Role.IN).user_id)))
    world.run_class(session, {enrollment.id: (95, 95)})
    ok(
        world.container.issue_certificate()(
            ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
        )
    )
    with pytest.raises(error, match=constraint):
        raw(pg_schema, statement)


def test_certificates_one_live_per_completion_and_unique_codes(
    pg_schema: PgSchema, seeded: tuple[World, Any, Any]
) -> None:
    world, ap, session = seeded
    enrollment = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, world.user(Role.IN).user_id)))
    world.run_class(session, {enrollment.id: (95, 95)})
    cert = ok(
        world.container.issue_certificate()(
            ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
        )
    )
    copy_live = (
        "INSERT INTO certificates (id, verification_code, completion_kind, completion_id, recipient_name, recipient_user_id,"
        " course_id, course_name, location_id, session_id, issued_by, issue_date, expiry_date)"
        " SELECT :id, :code, completion_kind, completion_id, recipient_name, recipient_user_id, course_id, course_name,"
        " location_id, session_id, issued_by, issue_date, expiry_date FROM certificates WHERE id = :src"
    )
    with pytest.raises(IntegrityError, match="one_live_certificate_per_completion"):
        raw(pg_schema, copy_live, {"id": uuid.uuid4(), "code": "0000000000000", "src": cert.id})
    with pytest.raises(IntegrityError, match="certificates_verification_code_key"):
        raw(
            pg_schema,
            copy_live.replace(
                "SELECT :id, :code, completion_kind, completion_id",
                "SELECT :id, :code, completion_kind, gen_random_uuid()",
            ),
            {"id": uuid.uuid4(), "code": cert.code.canonical, "src": cert.id},
        )


def test_the_application_role_owns_nothing_and_cannot_rewrite_history(
    pg_schema: PgSchema, seeded: tuple[World, Any, Any]
) -> None:
    role = pg_schema.database.app_role
    (flags,) = raw(
        pg_schema,
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :r",
        {"r": role},
    )
    assert tuple(flags) == (False, False, False, False)
    owned = raw(
        pg_schema,
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = :r",
        {"r": role},
    )
    assert owned[0][0] == 0
    assert raw(pg_schema, "SELECT current_user", as_app=True)[0][0] == role
    for statement in (
        "DELETE FROM certificates",
        "UPDATE change_log SET topic = 'x'",
        "DELETE FROM audit_log",
        "DROP TABLE certificates",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
            raw(pg_schema, statement, as_app=True)


def test_acting_user_is_transaction_local_and_never_leaks_through_the_pool(pg_schema: PgSchema) -> None:
    database = Database(normalize_url(pg_schema.url), schema=pg_schema.name, pool_size=1, max_overflow=0)
    world = World.create(pg_schema.container())
    actors = [world.user(role) for role in (Role.AP, Role.IC, Role.IN)]
    seen_backends = set()
    read = "SELECT current_setting('arccm.user_id', true), current_setting('arccm.role', true), pg_backend_pid()"
    try:
        for actor in actors * 20:
            with database.transaction(actor) as connection:
                user, role, pid = connection.execute(text(read)).one()
                assert (user, role) == (str(actor.user_id), actor.role.value)
                seen_backends.add(pid)
            with database.engine.connect() as bare:  # the same pooled connection, outside any unit of work
                user, role, pid = bare.execute(text(read)).one()
                assert user in (None, "")
                assert role in (None, "")
                seen_backends.add(pid)
        assert len(seen_backends) == 1  # one physical connection served every identity
    finally:
        database.shutdown(timeout=1)


def test_repeated_reads_keep_their_prepared_statements(pg_schema: PgSchema) -> None:
    """A read ends with a commit, not a rollback: psycopg deallocates every prepared statement of the connection at
    a rollback, so a read model run again and again was parsed, rewritten under the policies and planned each time."""
    from arccm.adapters.postgres.read_models import PostgresReadModels

    database = Database(normalize_url(pg_schema.url), schema=pg_schema.name, pool_size=1, max_overflow=0)
    world = World.create(pg_schema.container())
    actor = world.user(Role.AP, world.provider())
    reads = PostgresReadModels(database)
    try:
        for _ in range(8):  # psycopg prepares a statement on its sixth run on a connection
            reads.dashboard(actor, NOW.date())
        with database.engine.connect() as bare:  # the one pooled connection
            prepared = bare.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        assert any("certificates_issued_7d" in statement for statement in prepared), prepared
    finally:
        database.shutdown(timeout=1)


def test_upgrade_downgrade_upgrade_leaves_the_same_schema(pg_url: str) -> None:
    schema = f"t_mig_{uuid.uuid4().hex[:10]}"
    database = Database(normalize_url(pg_url), schema=schema)
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    catalog = """
        SELECT 'column', c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = :s AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL SELECT 'constraint', conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = :s)
        UNION ALL SELECT 'index', indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = :s
        UNION ALL SELECT 'trigger', tgname || ':' || pg_get_triggerdef(t.oid) FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = :s AND NOT t.tgisinternal
        UNION ALL SELECT 'grant', table_name || ':' || privilege_type FROM information_schema.role_table_grants
          WHERE table_schema = :s AND grantee = 'arccm_app'
        UNION ALL SELECT 'function', p.oid::regprocedure::text || ':' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p
          WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = :s)
    """

    def snapshot() -> set[tuple[str, str]]:
        with engine.connect() as connection:
            return {
                (kind, what.replace(f"{schema}.", ""))
                for kind, what in connection.execute(text(catalog), {"s": schema})
            }

    try:
        database.upgrade()
        first = snapshot()
        assert database.current() == database.head() == HEAD
        assert len([k for k, _ in first if k == "index"]) >= 40
        database.downgrade("base")
        assert {
            what for _, what in snapshot() if "alembic_version" not in what
        } == set()  # only alembic's table is left
        assert database.current() is None
        database.upgrade()
        assert snapshot() == first
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        database.shutdown(timeout=1)


def test_on_a_supabase_database_the_change_log_is_published_to_realtime(pg_url: str) -> None:
    """Supabase streams only tables in its ``supabase_realtime`` publication; elsewhere there is none to join."""
    schema = f"t_pub_{uuid.uuid4().hex[:10]}"
    database = Database(normalize_url(pg_url), schema=schema)
    engine = create_engine(normalize_url(pg_url), poolclass=NullPool)
    published = text(
        "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'supabase_realtime' AND schemaname = :s"
        " AND tablename = 'change_log'"
    )
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE PUBLICATION supabase_realtime"))
        database.upgrade()
        with engine.connect() as connection:
            assert connection.execute(published, {"s": schema}).scalar_one() == 1
        database.downgrade("0005")
        with engine.connect() as connection:
            assert connection.execute(published, {"s": schema}).scalar_one() == 0
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP PUBLICATION IF EXISTS supabase_realtime"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        database.shutdown(timeout=1)


def test_an_unreachable_server_is_one_line_naming_the_url_without_the_password() -> None:
    database = Database(normalize_url("postgresql://arccm:s3cret@127.0.0.1:1/nowhere"))
    with pytest.raises(DatabaseUnavailable) as caught:
        database.check_reachable()
    message = str(caught.value)
    assert "\n" not in message
    assert "127.0.0.1:1/nowhere" in message
    assert "s3cret" not in message
    assert "***" in message


def test_health_reports_real_figures(pg_schema: PgSchema) -> None:
    container = pg_schema.container()
    container.lifecycle().health()  # the pool's first connection is made here, not timed below
    report = container.lifecycle().health()
    assert report["migration"] == {"current": HEAD, "head": HEAD, "up_to_date": True}
    assert report["pool"]["waiting"] == 0
    # up to date and nobody waiting: healthy unless the probe itself was slow (a busy machine may make it so)
    assert report["status"] == ("degraded" if report["latency_ms"] > 250 else "healthy"), report
    assert report["latency_ms"] > 0
    assert set(report["pool"]) == {"size", "in_use", "idle", "overflow", "waiting"}
    stats = container.lifecycle().stats()
    assert stats["units_of_work"]["rolled_back"] >= 1  # the health probe itself never commits
    container.lifecycle().shutdown()
    with pytest.raises(RuntimeError, match="shutting down"):
        container.read_models().sessions(World.create(container).admin)  # type: ignore[arg-type]


def test_pooled_connections_killed_under_the_application_are_replaced(
    pg_schema: PgSchema, seeded: tuple[World, Any, Any]
) -> None:
    """Units of work ping before use; the public lookup retries once on a dead connection. Either way: no error."""
    world, ap, session = seeded
    enrollment = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, world.user(Role.IN).user_id)))
    world.run_class(session, {enrollment.id: (95, 95)})
    cert = ok(
        world.container.issue_certificate()(
            ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, enrollment.id)
        )
    )
    verify = world.container.verify_certificate()
    assert ok(verify(c.VerifyCertificate(cert.code.display))).certificate.status == "active"
    killed = raw(
        pg_schema,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :a",
        {"a": f"arccm:{pg_schema.name}"},
    )
    assert killed[0][0] >= 1
    for _ in range(3):
        assert ok(verify(c.VerifyCertificate(cert.code.display))).certificate.status == "active"
        assert len(world.container.read_models().sessions(ap)) == 1


def test_a_connection_killed_inside_a_unit_of_work_raises_what_sqlalchemy_raises(
    pg_schema: PgSchema, seeded: tuple[World, Any, Any]
) -> None:
    """A unit of work's fixed statements go through the driver's cursor (adapters/postgres/driver.py); a server
    gone mid-transaction still raises ``sqlalchemy.exc.OperationalError`` (the HTTP edge's 503), and the next unit
    of work runs on a fresh connection."""
    world, ap, session = seeded
    with world.container.unit_of_work()(ap) as uow:
        assert uow.sessions.get_for_update(session.id) is not None
        pid = uow.run("SELECT pg_backend_pid()").scalar()
        assert raw(pg_schema, "SELECT pg_terminate_backend(:p)", {"p": pid})[0][0] is True
        with pytest.raises(OperationalError):
            uow.profiles.exists(ap.user_id)
    with world.container.unit_of_work()(ap) as uow:
        assert uow.sessions.get_for_update(session.id) is not None


def test_an_aps_dashboard_counts_its_providers_certificates_at_a_location_it_no_longer_has(pg_schema: PgSchema) -> None:
    """A location leaves the provider (its certificates keep the provider): the AP reads them by the provider arm of
    its scope, and the dashboard finds them by its loose scan of the provider's locations, as its list and a count
    by docs/access.md's rule do."""
    from tests.contract.test_read_models import dashboard_figures, recount

    world = World.create(pg_schema.container())
    provider = world.provider(locations=2)
    ap, ic = world.user(Role.AP, provider), world.user(Role.IC, provider)
    for days, location in enumerate(world.locations[-2:], start=3):
        session = world.session(ap, ic, location=location, starts_in=timedelta(days=days))
        seat = ok(world.container.enroll_learner()(ap, c.EnrollLearner(session.id, world.user(Role.IN).user_id)))
        world.run_class(session, {seat.id: (95, 95)})
        ok(
            world.container.issue_certificate()(
                ap, c.IssueCertificate(CompletionKind.SESSION_ENROLLMENT, session.id, seat.id)
            )
        )
    gone = world.locations[-1].id
    with pg_schema.owner.begin() as connection:
        connection.execute(text(f'SET LOCAL search_path TO "{pg_schema.name}"'))
        connection.execute(text("DELETE FROM provider_locations WHERE location_id = :l"), {"l": gone})
        by_rule = connection.execute(
            text(
                "SELECT count(*) FROM certificates WHERE location_id = ANY(:locs) OR provider_id = :p OR issued_by = :me"
            ),
            {"locs": [world.locations[-2].id], "p": provider.id, "me": ap.user_id},
        ).scalar_one()
    ap = ok(world.container.resolve_actor()(ap.user_id))
    assert ap.location_ids == {world.locations[-2].id}
    today = world.clock.now().date()
    assert by_rule == 2
    assert dashboard_figures(world, ap, today) == recount(world, ap, today)
    assert dashboard_figures(world, ap, today)["certificates_total"] == by_rule


def test_the_head_is_alembics() -> None:
    """The head read from the migration files' names is the one alembic computes from their revision chain."""
    from alembic.script import ScriptDirectory

    database = Database("postgresql://nobody@127.0.0.1:1/none", "public")
    assert database.head() == ScriptDirectory.from_config(database.alembic_config()).get_current_head() == HEAD


def test_an_up_to_date_upgrade_waits_for_no_reader(pg_schema: PgSchema) -> None:
    """``arccm serve``, ``seed`` and ``import`` call ``upgrade()`` at every start.  On a database with Supabase's
    roles it altered every generic policy again — an ACCESS EXCLUSIVE lock per table, which waited behind every
    open reader and held up every later reader of the table while it waited.  Up to date, it takes no such lock."""
    import threading

    pg_schema.add_supabase_roles()
    database = pg_schema.database
    database.upgrade()  # grants the roles: the policies now name them
    finished = threading.Event()
    failed: list[BaseException] = []

    def upgrade() -> None:
        try:
            database.upgrade()
        except BaseException as error:  # reported below
            failed.append(error)
        finally:
            finished.set()

    with pg_schema.owner.connect() as reader:  # a reader of every table, its transaction left open
        tables = (
            reader.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"),
                {"s": pg_schema.name},
            )
            .scalars()
            .all()
        )
        for table in tables:
            reader.execute(text(f'SELECT 1 FROM "{pg_schema.name}"."{table}" LIMIT 1')).all()
        threading.Thread(target=upgrade, daemon=True).start()
        # a deadline, not a sleep: the upgrade ends in well under a second, or waits for this reader for ever
        ended = finished.wait(timeout=120)
        reader.rollback()
    finished.wait(timeout=120)
    assert ended, "an up-to-date upgrade waited behind an open reader"
    assert failed == []
