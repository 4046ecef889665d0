"""Shared fixtures: a real PostgreSQL for every PostgreSQL test.

``ARCCM_TEST_DATABASE_URL`` points at a server (CI uses the machine's
PostgreSQL 15); without it the tests start an embedded server of their own.
Each test gets its own schema, migrated from scratch and dropped afterwards, so
runs cannot interfere.
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
    return server_url(os.environ.get("ARCCM_TEST_DATABASE_URL"), data_dir)


class PgSchema:
    """A freshly migrated schema of its own, and containers bound to it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"t_{uuid.uuid4().hex[:16]}"
        self.owner = create_engine(normalize_url(url), poolclass=NullPool)
        self.containers: list[Container] = []
        self.database = Database(normalize_url(url), schema=self.name)
        self.database.upgrade()

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
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    def close_containers(self) -> None:
        for container in self.containers:
            container.database().shutdown(timeout=5)
        self.containers.clear()

    def drop(self) -> None:
        self.close_containers()
        with self.owner.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.owner.dispose()
        self.database.shutdown(timeout=1)


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[PgSchema]:
    schema = PgSchema(pg_url)
    yield schema
    schema.drop()


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
