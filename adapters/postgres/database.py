"""The PostgreSQL connection: engines, migrations, transactions acting as an actor, lifecycle.

Two roles (DESIGN §4, reliability_security.md §8 T6): migrations run as the
*owner* (the configured URL's user); the application runs as ``app_role``, a
login role that owns nothing and is neither superuser nor BYPASSRLS. Every
transaction first sets ``search_path``, ``arccm.user_id`` and ``arccm.role``
with ``set_config(..., true)`` — transaction-local, so nothing survives into the
next use of a pooled connection, and it works through a transaction-pooling
pgbouncer (no session state, no startup options).
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs
import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Connection, Engine, Row, TextClause, create_engine, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from arccm.adapters.postgres.roles import actor_group, actor_role, copy_privileges, ensure_actor_roles
from arccm.application.ports.unit_of_work import ActorNotPermitted
from arccm.domain.access import Actor

if TYPE_CHECKING:  # alembic is imported when a migration runs: a command on an up-to-date schema never loads it
    from alembic.config import Config


class DatabaseUnavailable(RuntimeError):
    """The configured server cannot be reached; the message names the URL, password masked."""


class ShuttingDown(RuntimeError):
    pass


def normalize_url(url: str) -> URL:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    return parsed.set(drivername="postgresql+psycopg")


def masked(url: URL | str) -> str:
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=True)


# advisory-lock class (first key) of "this transaction may write to the change log"; the second key is the schema's
FEED_WRITER_CLASS = 0x61726363  # "arcc"


def feed_horizon() -> str:
    """SQL for the change feed's horizon: the lowest transaction id that may still add change-log rows.

    Only rows below it are released to readers, so a transaction that commits after a later one is never skipped.
    It is the lowest of the snapshot's ``xmax`` and of every transaction still running at the snapshot — except
    those seen running without the change-log writers' lock: every arccm unit of work takes that lock before it
    writes anything (so before it has a transaction id), hence a transaction holding an id but not the lock is not
    one of ours and cannot add change-log rows (another database, a ``pg_dump``, an idle-in-transaction client).
    A transaction that ended between the snapshot and the look at ``pg_locks`` still counts (it may have
    committed rows the snapshot does not show), so nothing is ever released early.  The lock table is read once
    (``pg_locks`` is a function: two references would be two looks, and a writer committing between them would
    seem to hold its transaction id without the writers' lock).  Parameters: ``:feed_class``,
    ``:feed_key``.  When nothing is running at the snapshot the lock table is not read at all.  The body is the
    PL/pgSQL function of migration 0008, planned once per session rather than with every read."""
    # a scalar subquery: evaluated once per statement (an InitPlan), not once per row a filter looks at
    return "(SELECT feed_horizon(CAST(:feed_class AS bigint), CAST(:feed_key AS bigint)))"  # migration 0008


# the helpers the policies call: a role reading under them must be allowed to run them
POLICY_HELPERS = (
    "arccm_uid", "arccm_role", "arccm_provider", "arccm_locations", "arccm_taught_sessions",
    "arccm_taught_certificates", "arccm_my_sessions", "arccm_related_people", "arccm_roster_students",
    "arccm_email", "arccm_phone",
)  # fmt: skip


def access_grants(schema: str, app_role: str) -> list[str]:
    """What every ``arccm db upgrade`` makes true, whatever migration ran last (idempotent):

    * the actor roles (``roles.py``) hold exactly the runtime role's privileges in the schema, through their group;
    * on a database with Supabase's roles, ``authenticated`` reads what the runtime role reads (contact columns
      excepted, migration 0010) under the same generic policies, the actor being the ``sub`` of the JWT claims
      PostgREST sets; ``anon`` may only verify a certificate (by an arccm code or an imported one's old code).  Roles created after the schema are covered too."""
    statements = [ensure_actor_roles(app_role)]
    statements.append(copy_privileges(schema, app_role, actor_group(app_role)))
    statements.append(
        copy_privileges(schema, app_role, "authenticated", table_privileges=("SELECT",), functions=POLICY_HELPERS)
    )
    statements.append(
        f"""
    DO $$
    DECLARE
        p record;
    BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
            REVOKE SELECT ON "{schema}".alembic_version FROM authenticated;
            GRANT EXECUTE ON FUNCTION "{schema}".arccm_verify(text, date) TO authenticated;
            IF to_regprocedure('"{schema}".arccm_verify_legacy(text, date)') IS NOT NULL THEN  -- from 0019 on
                GRANT EXECUTE ON FUNCTION "{schema}".arccm_verify_legacy(text, date) TO authenticated;
            END IF;
            -- the generic policies (migration 0011 gave them to the runtime role alone); only those that lack it:
            -- ALTER POLICY takes an ACCESS EXCLUSIVE lock, which waits behind every open reader of the table and
            -- holds up every later one while it waits (a restart of `arccm serve` stalled a busy database)
            FOR p IN SELECT polname, polrelid::regclass AS rel FROM pg_policy
                     WHERE polrelid IN (SELECT oid FROM pg_class WHERE relnamespace = '"{schema}"'::regnamespace)
                       AND polname LIKE 'actor\\_%' AND NOT 'authenticated'::regrole = ANY(polroles)
            LOOP
                EXECUTE format('ALTER POLICY %I ON %s TO %I, authenticated', p.polname, p.rel, '{app_role}');
            END LOOP;
        END IF;
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
            GRANT USAGE ON SCHEMA "{schema}" TO anon;
            GRANT EXECUTE ON FUNCTION "{schema}".arccm_verify(text, date) TO anon;
            IF to_regprocedure('"{schema}".arccm_verify_legacy(text, date)') IS NOT NULL THEN
                GRANT EXECUTE ON FUNCTION "{schema}".arccm_verify_legacy(text, date) TO anon;
            END IF;
        END IF;
    END $$"""
    )
    return statements


@functools.lru_cache(maxsize=32)
def _driver_sql(sql: str, dialect: Dialect) -> str:
    """``:name`` placeholders as the driver's ``%(name)s``, compiled once per statement."""
    return str(text(sql).compile(dialect=dialect))


# the owner-only sequences whose values are the key of the standing's proofs (migration 0023)
GUARD_KEYS = ("arccm_guard_key_a", "arccm_guard_key_b")


@functools.lru_cache(maxsize=64)
def _begin_statement(
    schema: str, as_actor: bool, writer: bool, generic_plans: bool = False, standing: bool = True
) -> TextClause:
    """The first statement of every transaction: transaction-local settings, the writers' lock, and (for an actor,
    unless not ``standing``) who the database says the actor is — in one round trip."""
    sql = (
        "SELECT set_config('search_path', :schema, true),"
        # an actor's transaction runs as its role's database role, which has only that role's policies (roles.py)
        + (" set_config('role', :db_role, true)," if as_actor else "")
        + " set_config('arccm.user_id', :user_id, true), set_config('arccm.role', :role, true),"
        # what the actor claims to be besides: an AP's policies read these, and its guard verifies them (0015)
        " set_config('arccm.provider', :provider, true), set_config('arccm.locations', :locations, true),"
        # short statements: starting parallel workers costs more than it saves here
        " set_config('max_parallel_workers_per_gather', '0', true)"
        # a read model's statement, once psycopg has prepared it, keeps one generic plan per connection: left to
        # itself the server re-plans it at every run when a custom plan looks cheaper, and planning a statement
        # rewritten under the role's policies cost an instructor's dashboard 1.0 of its 1.5 ms (0.4 ms with them off)
        + (", set_config('plan_cache_mode', 'force_generic_plan', true)" if generic_plans else "")
        + (", pg_advisory_xact_lock_shared(:feed_class, :feed_key)" if writer else "")
    )
    if as_actor and standing:  # evaluated after the settings, left to right; named with the schema (parsed first)
        # arccm_uid() … arccm_locations() in one call (0021), which proves the claims for the guards (0023)
        sql += f', "{schema}".arccm_standing() AS standing'
    return text(sql)


def claimed_locations(actor: Actor | None) -> str:
    """An actor's locations as the ``arccm.locations`` setting: a uuid[] literal ('' for none or no actor)."""
    if actor is None:
        return ""
    return "{" + ",".join(sorted(str(location) for location in actor.location_ids)) + "}"


def _check_standing(actor: Actor, standing: dict[str, Any] | None) -> None:
    """``standing``: ``arccm_standing()``'s answer (migration 0021) — None for no active user."""
    if standing is None:
        raise ActorNotPermitted("the user is inactive, unknown, or under a provider that is not active")
    provider = standing["provider"]
    if (
        standing["role"] != actor.role.value
        or (UUID(provider) if provider else None) != actor.provider_id
        or frozenset(UUID(location) for location in standing["locations"]) != actor.location_ids
    ):
        raise ActorNotPermitted("the user's role, provider or locations changed since this actor was resolved")


@attrs.define
class Counters:
    committed: int = 0
    rolled_back: int = 0
    in_flight: int = 0


@attrs.define
class Database:
    owner_url: URL
    schema: str = "public"
    app_role: str = "arccm_app"
    app_password: str | None = None
    pool_size: int = 10
    max_overflow: int = 10
    pool_mode: str = "session"  # "transaction": behind a transaction pooler, so no server-side prepared statements
    _engine: Engine | None = None
    _public: Engine | None = None
    _system: Engine | None = None
    _counters: Counters = attrs.field(factory=Counters)
    _lock: threading.Condition = attrs.field(factory=threading.Condition)
    _closing: bool = False

    # --- engines ------------------------------------------------------------------

    @property
    def app_url(self) -> URL:
        return self.owner_url.set(username=self.app_role, password=self.app_password)

    @property
    def feed_key(self) -> int:
        """This schema's key for the change-log writers' advisory lock (``FEED_WRITER_CLASS``, key)."""
        return zlib.crc32(self.schema.encode()) & 0x7FFFFFFF

    @property
    def application_name(self) -> str:
        """Shown in pg_stat_activity, so an operator can tell which deployment a connection serves."""
        return f"arccm:{self.schema}"[:63]

    @property
    def connect_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"application_name": self.application_name}
        if self.pool_mode == "transaction":
            args["prepare_threshold"] = None  # a prepared statement lives on one server connection; we may not
        return args

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(
                self.app_url,
                pool_pre_ping=False,  # a dead connection is found by the first statement and replaced (begun)
                # the most recently used connection first: its caches are warm and its prepared statements (psycopg
                # prepares a statement on its sixth run on a connection) are used, where a FIFO pool handed the same
                # dashboard statement to each of ten connections in turn and had it parsed, rewritten under the
                # policies and planned every time; and the connections beyond the load stay idle and can be closed
                pool_use_lifo=True,
                pool_size=self.pool_size,
                max_overflow=self.max_overflow,
                pool_timeout=30,
                connect_args=self.connect_args,
            )
        return self._engine

    @property
    def public_engine(self) -> Engine:
        """For anonymous single-statement reads (verification): autocommit, no per-checkout ping.

        Disconnects are handled optimistically instead: a statement that meets a dead
        connection invalidates it and is retried once on a fresh one.
        """
        if self._public is None:
            self._public = create_engine(
                self.app_url,
                isolation_level="AUTOCOMMIT",
                pool_size=4,
                max_overflow=4,
                pool_pre_ping=False,
                connect_args=self.connect_args,
            )
        return self._public

    def read_public(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """One schema-qualified read-only statement, no acting user (the public verification page).

        Anyone may call it, as fast as they like, so it goes straight to the driver on a pooled connection: the
        statement is compiled to the driver's placeholders once, and psycopg prepares it server-side after a few
        runs. A connection that broke while idle in the pool is dropped and the read retried once on a fresh one.
        """
        driver_sql = _driver_sql(sql, self.public_engine.dialect)
        for attempt in (1, 2):
            pooled = self.public_engine.raw_connection()
            try:
                connection: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
                with connection.cursor(row_factory=dict_row) as cursor:
                    return cursor.execute(driver_sql, params).fetchall()
            except psycopg.OperationalError:
                pooled.invalidate()
                if attempt == 2:
                    raise
            finally:
                pooled.close()
        raise AssertionError("unreachable")

    @property
    def system_engine(self) -> Engine:
        """For units of work without an actor (the system: upkeep, imports, bootstrap): the owner role, pooled."""
        if self._system is None:
            self._system = create_engine(
                self.owner_url,
                pool_pre_ping=False,  # as the application's (begun)
                pool_use_lifo=True,
                pool_size=self.pool_size,  # as many as the application's: imports and upkeep run concurrently too
                max_overflow=self.max_overflow,
                pool_timeout=30,
                connect_args=self.connect_args,
            )
        return self._system

    def owner_engine(self) -> Engine:
        return create_engine(self.owner_url, poolclass=NullPool)

    def drop_schema(self) -> None:
        """Drop this database's schema and everything in it, as the owner (nothing happens if it is gone)."""
        engine = self.owner_engine()
        try:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            engine.dispose()

    def rotate_guard_key(self) -> None:
        """Draw a new key for the standing's proofs (``arccm.proof``, migration 0023), as the owner.

        Every proof made before no longer matches the settings' hash, so every transaction running now — those whose
        first statement proved the actor's standing and would keep it to their end — is checked against the database
        again at its next statement: a deactivation or suspension committed before reaches work already running.
        Fresh transactions prove their standing under the new key.  Each half is 64 bits from ``secrets``."""
        engine = self.owner_engine()
        try:
            with engine.begin() as connection:
                keys = [f'"{self.schema}".{key}' for key in GUARD_KEYS]
                if any(connection.execute(text("SELECT to_regclass(:k)"), {"k": k}).scalar() is None for k in keys):
                    raise ValueError(
                        f"schema {self.schema!r} has no guard key: it is before revision 0023; upgrade it first"
                    )
                for key in keys:  # setval is not transactional: each half changes when it is set
                    connection.execute(
                        text("SELECT setval(:key, :value)"), {"key": key, "value": secrets.randbits(64) - 2**63}
                    )
        finally:
            engine.dispose()

    def check_reachable(self) -> None:
        engine = create_engine(self.owner_url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise DatabaseUnavailable(f"cannot reach PostgreSQL at {masked(self.owner_url)}: {reason}") from None
        finally:
            engine.dispose()

    # --- migrations -------------------------------------------------------------

    def alembic_config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(files("arccm.adapters.postgres") / "migrations"))
        config.attributes.update(url=self.owner_url, schema=self.schema, app_role=self.app_role)
        return config

    def upgrade(self, revision: str = "head") -> None:
        if revision not in ("head", self.head()) or self.current() != self.head():
            from alembic import command

            command.upgrade(self.alembic_config(), revision)
        if self.current() == self.head():
            with self.owner_engine().begin() as connection:
                for statement in access_grants(self.schema, self.app_role):
                    connection.execute(text(statement))
        if self.app_password:
            with self.owner_engine().begin() as connection:
                connection.execute(text(f'ALTER ROLE "{self.app_role}" PASSWORD :p'), {"p": self.app_password})

    def downgrade(self, revision: str = "base") -> None:
        from alembic import command

        command.downgrade(self.alembic_config(), revision)

    def head(self) -> str | None:
        """The newest revision this release knows (migrations are one line, each file named after its revision;
        ``test_the_head_is_alembics`` holds this to alembic's own answer)."""
        return migration_head()

    def current(self) -> str | None:
        engine = self.owner_engine()
        try:
            with engine.connect() as connection:
                table = f'"{self.schema}".alembic_version'
                if connection.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
                    return None
                return connection.execute(text(f"SELECT max(version_num) FROM {table}")).scalar()
        finally:
            engine.dispose()

    # --- transactions -------------------------------------------------------------

    @contextmanager
    def transaction(
        self, actor: Actor | None, writer: bool = False, generic_plans: bool = False
    ) -> Iterator[Connection]:
        """A connection in one transaction, acting as ``actor``; rolled back unless committed inside.

        An actor's transaction runs as the runtime role under row-level security, and its first statement asks the
        database who the actor is now (``arccm_standing()``, migration 0021): an inactive user, a suspended provider,
        or a role, provider or locations that changed since the ``Actor`` was built raise ``ActorNotPermitted``
        before anything is read.  Where the claims are the truth the database leaves a proof of it in the
        transaction (``arccm.proof``, migration 0023), so the role policies' guards need not ask again: the standing
        checked here holds to the transaction's end.  No actor is the system (upkeep, imports, bootstrap): it runs as
        the owner role.

        ``writer``: the transaction may write to the change log, and says so before it writes anything (a shared
        advisory lock the change feed looks for, see ``feed_horizon``).

        ``generic_plans``: statements prepared on this connection run on their generic plan, never re-planned for
        the parameters of one run (read models: their parameters are an actor's identity and a few dates)."""
        self._enter()
        try:
            engine = self.engine if actor is not None else self.system_engine
            statement = _begin_statement(self.schema, actor is not None, writer, generic_plans)
            connection, standing = self.begun(engine, statement, self._settings(actor))
            with connection:
                try:
                    if actor is not None:
                        _check_standing(actor, standing.standing)
                    yield connection
                finally:
                    if connection.in_transaction():
                        connection.rollback()
                        self._count("rolled_back")
        finally:
            self._leave()

    def begun(self, engine: Engine, statement: TextClause, params: dict[str, Any]) -> tuple[Connection, Row[Any]]:
        """A pooled connection of ``engine`` in a transaction begun by ``statement``, and its first row.

        No ping before: a connection that died while idle in the pool (a server restart, a terminated backend)
        fails this first statement, before the unit of work did anything — SQLAlchemy then marks every connection
        of the pool older than the failure for replacement, and the statement is sent once more on a fresh one.
        A ping at every checkout cost a round trip per unit of work (docs/performance.md, issue 15)."""
        for attempt in (1, 2):
            connection = engine.connect()
            try:
                return connection, connection.execute(statement, params).one()
            except DBAPIError as error:
                connection.close()
                if attempt == 2 or not error.connection_invalidated:
                    raise
            except BaseException:
                connection.close()
                raise
        raise AssertionError("unreachable")

    def _settings(self, actor: Actor | None) -> dict[str, Any]:
        return {
            "schema": f'"{self.schema}"',
            "user_id": str(actor.user_id) if actor else "",
            "role": actor.role.value if actor else "system",
            "provider": str(actor.provider_id) if actor and actor.provider_id else "",
            "locations": claimed_locations(actor),
            "db_role": actor_role(self.app_role, actor.role.value) if actor else "",
            "feed_class": FEED_WRITER_CLASS,
            "feed_key": self.feed_key,
        }

    def plan(self, actor: Actor | None, sql: str, params: dict[str, Any]) -> list[str]:
        """``EXPLAIN`` of ``sql`` as ``actor``'s transaction would plan it — on the same engine, so under the
        connection's and the runtime role's settings, as the actor's database role with its settings — planned
        only: nothing runs, not even the question of who the actor is."""
        engine = self.engine if actor is not None else self.system_engine
        begin = _begin_statement(self.schema, actor is not None, False, standing=False)
        connection, _ = self.begun(engine, begin, self._settings(actor))
        with connection:
            plan = connection.execute(text("EXPLAIN (COSTS OFF) " + sql), params).scalars()
            lines = [str(line) for line in plan]
            connection.rollback()
            return lines

    def committed(self) -> None:
        self._count("committed")

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self._counters, name, getattr(self._counters, name) + 1)

    def _enter(self) -> None:
        with self._lock:
            if self._closing:
                raise ShuttingDown("the database is shutting down")
            self._counters.in_flight += 1

    def _leave(self) -> None:
        with self._lock:
            self._counters.in_flight -= 1
            self._lock.notify_all()

    # --- lifecycle -----------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"database": masked(self.owner_url), "schema": self.schema}
        try:
            started = time.perf_counter()
            with self.transaction(None) as connection:
                version = connection.execute(text("SHOW server_version")).scalar_one()
            report["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
            report["server_version"] = version
            current, head = self.current(), self.head()
        except Exception as error:
            report.update(status="error", error=str(error).splitlines()[0])
            return report
        report["migration"] = {"current": current, "head": head, "up_to_date": current == head}
        report["pool"] = self.pool_stats()
        degraded = current != head or report["pool"]["waiting"] > 0 or report["latency_ms"] > 250
        report["status"] = "degraded" if degraded else "healthy"
        return report

    def pool_stats(self) -> dict[str, int]:
        pool: Any = self.engine.pool
        with self._lock:
            in_flight = self._counters.in_flight
        return {
            "size": pool.size(),
            "in_use": pool.checkedout(),
            "idle": pool.checkedin(),
            "overflow": max(pool.overflow(), 0),
            "waiting": max(in_flight - pool.checkedout(), 0),
        }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = attrs.asdict(self._counters)
        return {"units_of_work": counters, "pool": self.pool_stats()}

    def shutdown(self, timeout: float = 30.0) -> None:
        """Refuse new units of work, let in-flight ones finish, then close the pool."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            while self._counters.in_flight > 0 and time.monotonic() < deadline:
                self._lock.wait(timeout=max(deadline - time.monotonic(), 0.0))
        for engine in (self._engine, self._public, self._system):
            if engine is not None:
                engine.dispose()
        self._engine = self._public = self._system = None


@functools.cache
def migration_revisions() -> tuple[str, ...]:
    """Every revision this release knows, oldest first (the migration files are named ``NNNN_name.py``)."""
    versions = files("arccm.adapters.postgres") / "migrations" / "versions"
    names = (p.name for p in versions.iterdir())
    return tuple(sorted(n.split("_", 1)[0] for n in names if n[:4].isdigit() and n.endswith(".py")))


def migration_head() -> str | None:
    """The highest revision among the migration files."""
    found = migration_revisions()
    return found[-1] if found else None
