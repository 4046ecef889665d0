"""Shared fixtures: a real PostgreSQL for every PostgreSQL test.

``ARCCM_TEST_DATABASE_URL`` points at a server (CI uses the machine's
PostgreSQL 15); without it the tests start an embedded server of their own.
Each test gets a schema of its own, as migrated and empty, so runs cannot
interfere. Migrating one takes about 2 s (some 1,700 DDL statements), so a
schema a test leaves as migrated — the same tables, columns, indexes,
constraints, triggers, policies, functions, grants and revision — is emptied
and handed to a later test; one whose structure a test changed is dropped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from arccm.adapters.container import Container, on_postgres
from arccm.adapters.postgres.database import Database, normalize_url

# an embedded server a test's CLI starts stops when its last client leaves (the grace period has its own test)
os.environ.setdefault("ARCCM_EMBEDDED_GRACE", "0")

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=200)
settings.load_profile("default")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.nodeid or item.get_closest_marker("needs_postgres"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from arccm.adapters.runtime import server_url

    data_dir = Path(os.environ.get("ARCCM_TEST_EMBEDDED_DIR") or tmp_path_factory.mktemp("embedded"))
    # the session's embedded server stops when the session ends: pytest deletes old base temporary directories, and
    # a server whose data directory is gone before its grace period ends could no longer be stopped by its reaper
    grace = float(os.environ.get("ARCCM_EMBEDDED_GRACE", "0"))
    return server_url(os.environ.get("ARCCM_TEST_DATABASE_URL"), data_dir, grace)


# the structure of a schema, as one digest: what a test may change on purpose and a later test would notice
STRUCTURE = """
SELECT md5(replace(concat_ws('|',
  (SELECT string_agg(concat_ws(':', c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text,
                               c.reloptions::text), ',' ORDER BY c.relname)
   FROM pg_class c WHERE c.relnamespace = n.oid),
  (SELECT string_agg(concat_ws(':', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                               pg_get_expr(d.adbin, d.adrelid), a.attacl::text), ',' ORDER BY c.relname, a.attnum)
   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = n.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(concat_ws(':', pg_get_indexdef(i.indexrelid), i.indisvalid), ',' ORDER BY c.relname)
   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = n.oid),
  (SELECT string_agg(concat_ws(':', t.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated), ','
                     ORDER BY t.relname, k.conname)
   FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid WHERE t.relnamespace = n.oid),
  (SELECT string_agg(concat_ws(':', t.relname, g.tgname, g.tgenabled, pg_get_triggerdef(g.oid)), ','
                     ORDER BY t.relname, g.tgname)
   FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid WHERE t.relnamespace = n.oid AND NOT g.tgisinternal),
  (SELECT string_agg(concat_ws(':', t.relname, p.polname, p.polcmd, p.polpermissive, p.polroles::text,
                               pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)), ','
                     ORDER BY t.relname, p.polname)
   FROM pg_policy p JOIN pg_class t ON t.oid = p.polrelid WHERE t.relnamespace = n.oid),
  (SELECT string_agg(concat_ws(':', f.oid::regprocedure::text, md5(f.prosrc), f.prosecdef, f.provolatile,
                               f.proconfig::text, f.proacl::text, f.proowner), ',' ORDER BY f.oid::regprocedure::text)
   FROM pg_proc f WHERE f.pronamespace = n.oid),
  (SELECT string_agg(d.defaclacl::text, ',' ORDER BY d.defaclobjtype) FROM pg_default_acl d
   WHERE d.defaclnamespace = n.oid),
  n.nspacl::text, n.nspowner), n.nspname, '<schema>'))  -- the same structure under another name
FROM pg_namespace n WHERE n.nspname = :schema
"""


class PgSchema:
    """A migrated schema of its own (fresh, or as migrated and emptied), and containers bound to it."""

    def __init__(self, url: str, name: str | None = None) -> None:
        self.url = url
        self.name = name or f"t_{uuid.uuid4().hex[:16]}"
        self.owner = create_engine(normalize_url(url), poolclass=NullPool)
        self.containers: list[Container] = []
        self.database = Database(normalize_url(url), schema=self.name)
        if name is None:
            self.database.upgrade()

    def add_supabase_roles(self) -> None:
        """Supabase's ``anon`` and ``authenticated``, created as Supabase creates them (if the server lacks them):
        the next ``upgrade()`` grants them what docs/access.md says."""
        with self.owner.begin() as connection:
            for role in ("anon", "authenticated"):
                connection.execute(
                    text(
                        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN"
                        f" CREATE ROLE {role} NOLOGIN NOINHERIT; END IF; END $$"
                    )
                )

    def structure(self) -> str:
        with self.owner.connect() as connection:
            revision = connection.execute(
                text(f"SELECT string_agg(version_num, ',') FROM \"{self.name}\".alembic_version")
            )
            digest = connection.execute(text(STRUCTURE), {"schema": self.name}).scalar_one()
            return f"{revision.scalar_one()}:{digest}"

    def add_user(self, user_id: uuid.UUID, role: str) -> None:
        """A profile for an actor a test made up (the database acts only for users it knows, and active ones)."""
        with self.owner.begin() as connection:
            connection.execute(
                text(f'INSERT INTO "{self.name}".profiles (id, display_name, role) VALUES (:id, :name, :role)'),
                {"id": user_id, "name": f"{role} user", "role": role},
            )

    def container(self) -> Container:
        self.close_containers()
        container = on_postgres(self.url, schema=self.name)
        self.containers.append(container)
        return container

    def truncate(self) -> None:
        with self.owner.begin() as connection:
            tables = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"),
                {"s": self.name},
            ).scalars()
            names = ", ".join(f'"{self.name}"."{t}"' for t in tables)
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # no trigger audits the emptying
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    def close_containers(self) -> None:
        for container in self.containers:
            container.database().shutdown(timeout=5)
        self.containers.clear()

    def drop(self) -> None:
        self.close_containers()
        with self.owner.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.release()

    def release(self) -> None:
        self.owner.dispose()
        self.database.shutdown(timeout=1)


class SchemaPool:
    """Schemas as migrated, emptied between tests.  A schema comes back to the pool only when its structure is that
    of a freshly migrated one (STRUCTURE), after its containers are shut and every row is gone; anything else —
    a dropped index, a revoked grant, a disabled trigger, another revision — is dropped with the schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.free: list[str] = []
        self.migrated: str | None = None  # the structure of a freshly migrated schema

    def take(self) -> PgSchema:
        if self.free:
            return PgSchema(self.url, self.free.pop())
        schema = PgSchema(self.url)
        if self.migrated is None:
            self.migrated = schema.structure()
        return schema

    def give_back(self, schema: PgSchema) -> None:
        schema.close_containers()
        schema.database.shutdown(timeout=1)
        try:
            reusable = schema.structure() == self.migrated
        except Exception:  # the revision table is gone (downgraded to base), the server restarted …
            reusable = False
        if reusable:
            schema.truncate()
            schema.release()
            self.free.append(schema.name)
        else:
            schema.drop()

    def close(self) -> None:
        for name in self.free:
            PgSchema(self.url, name).drop()
        self.free.clear()


@pytest.fixture(scope="session")
def schema_pool(pg_url: str) -> Iterator[SchemaPool]:
    pool = SchemaPool(pg_url)
    yield pool
    pool.close()


@pytest.fixture
def pg_schema(schema_pool: SchemaPool) -> Iterator[PgSchema]:
    schema = schema_pool.take()
    yield schema
    schema_pool.give_back(schema)


BACKENDS = ("memory", "postgres")


@pytest.fixture(params=BACKENDS)
def make_container(request: pytest.FixtureRequest) -> Callable[[], Container]:
    """A factory of empty containers on each backend (PostgreSQL: a fresh schema, emptied per call)."""
    if request.param == "memory":
        return Container
    schema: PgSchema = request.getfixturevalue("pg_schema")

    def fresh() -> Container:
        schema.close_containers()
        schema.truncate()
        return schema.container()

    return fresh
